"""The Reflex page of a ``Settings`` declaration (:mod:`app.core.settings_page`), generated.

One state class per declaration (a direct substate of :class:`AuthState`, with one var per field
and a ``set_<field>`` handler), built the first time the page is asked for:
``PAGES.<panel>.<name>.page`` / ``.state`` — what :meth:`Settings.page` names by reference.

Secrets never reach the browser: a secret field's var holds only what the user types (emptied after
saving); whether one is stored is ``secrets_set``; a generated secret is shown once
(``secret_shown``) and forgotten on "hide", on leaving and on the next load. Element ids follow the
declaration: ``<id_prefix>-<field>`` (``_`` as ``-``), ``-<field>-error``, ``-save``, ``-<action>``,
``-check-result``, ``-status``, ``-refresh``, ``-new-secret``, ``-hide``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import reflex as rx

from app.core import auth as auth_service
from app.core import live
from app.core import settings_page as svc
from app.core.errors import PultError, ValidationFailed
from app.core.i18n import has
from app.core.kinds import kind_named
from app.core.registry import import_ref
from app.core.resource import FormField
from app.core.ui.base import ERROR_TOAST, AuthState, tr, ui_session
from app.core.ui.widgets import confirm_dialog, forbidden_box, page_header

#: state class -> its declaration
_DECLS: dict[type, svc.Settings] = {}


class SettingsMixin(rx.State, mixin=True):
    """What every generated settings state has besides its fields."""

    errors: dict[str, str] = {}
    #: The last check's / action's outcome: "ok" | "warn" | "fail" | "wait" (a slow call reporting).
    check_level: str = ""
    check_text: str = ""
    busy: bool = False
    forbidden: bool = False
    loaded: bool = False
    status_color: str = "gray"
    status_lines: list[dict[str, str]] = []
    notes: dict[str, str] = {}
    #: Secret fields with a stored value (shown as ***, never sent).
    secrets_set: list[str] = []
    #: A generated secret, shown once.
    secret_shown: str = ""
    #: The action waiting for "yes" in the confirmation ('' none).
    confirm: str = ""
    #: Relation fields: the chosen record's title.
    labels: dict[str, str] = {}

    def _decl(self) -> svc.Settings:
        return _DECLS[self.__class__]  # not type(): a background event's self is a proxy

    # -- reading ------------------------------------------------------------------
    @rx.event
    def load(self):
        decl = self._decl()
        self.errors, self.check_text, self.check_level, self.confirm, self.secret_shown = {}, "", "", "", ""
        try:
            with ui_session() as db:
                user = self.current_user()
                self.forbidden = not user.has_perm(decl.perm)
                if self.forbidden:
                    return None
                self._read(db, user, values=True)
        except PultError as exc:
            return self.fail(exc)
        self.loaded = True
        if decl.live:
            live.watch(self, {"setting"})
        events: list[Any] = [import_ref(b.on_load) for b in decl.blocks if b.on_load]
        if decl.refresh_on_load and decl.status is not None:
            events.append(self.__class__.refresh)
        return events or None

    def _origin(self) -> str:
        try:
            return self.router.url.origin
        except AttributeError:
            return ""

    def _read(self, db: Any, user: Any, values: bool = False, status: svc.Status | None = None) -> None:
        decl = self._decl()
        stored = svc.stored_values(db, decl)
        self.secrets_set = [f.name for f in decl.fields if decl.is_secret(f) and stored.get(f.name)]
        if values:
            self.labels = _titles(db, user, decl, stored)
            for f in decl.editable():
                if decl.is_secret(f):
                    setattr(self, f.name, "")
                elif _is_bool(f):
                    setattr(self, f.name, bool(stored.get(f.name)))
                else:
                    value = stored.get(f.name)
                    setattr(self, f.name, "" if value is None else kind_named(f.kind).form_value(value))
        if status is None:
            status = svc.status(db, decl, user, self.lang, origin=self._origin())
        self._show_status(db, status)

    def _show_status(self, db: Any, status: svc.Status) -> None:
        decl = self._decl()
        self.status_color = status.color if status.color in svc.STATUS_COLORS else "gray"
        self.status_lines = [{"text": ln.text, "label": self.t(ln.label) if ln.label else "", "id": _element(decl, ln.id) if ln.id else "",
                              "href": ln.href, "code": "1" if ln.code else ""} for ln in status.lines]
        notes = dict(status.notes)
        for name in self.secrets_set:
            notes.setdefault(name, svc.secret_set_note(db, decl, name, self.lang))
        self.notes = notes

    def live_refresh(self) -> None:
        """The change bus saw a setting change (another admin, an outside event): the status again
        (the fields keep what the user is typing)."""
        if self.forbidden or not self.loaded:
            return
        try:
            with ui_session() as db:
                user = self.current_user()
                if user.has_perm(self._decl().perm):
                    self._read(db, user)
        except PultError:
            pass

    # -- the form -------------------------------------------------------------------
    @rx.event
    def set_field(self, name: str, value: Any):
        self._set(name, value)

    def _set(self, name: str, value: Any) -> None:
        f = self._decl().field(name)
        setattr(self, name, bool(value) if _is_bool(f) else str(value))
        self.errors = {k: v for k, v in self.errors.items() if k != name}

    @rx.event
    def pick(self, name: str, value: str, title: str):
        """A relation picker's choice: the record's key, and its title to show."""
        self.labels = {**self.labels, name: title}
        self._set(name, value)

    @rx.event
    def save(self):
        decl = self._decl()
        raw = {f.name: getattr(self, f.name) for f in decl.editable()}
        try:
            with ui_session() as db:
                user = self.current_user()
                changed = svc.save(db, decl, user, raw, self.lang)
                self._read(db, user, values=True)
        except ValidationFailed as exc:
            messages = exc.messages(self.lang)
            self.errors = messages
            return rx.toast.error(messages.get("") or self.t("error.form"), id=ERROR_TOAST)
        except PultError as exc:
            return self.fail(exc)
        self.errors = {}
        events: list[Any] = [*self.ok(self.t("saved"))]
        if changed and decl.after_save is not None:
            events.append(self.__class__.after_saved(changed))
        return events

    # -- the check and the actions -----------------------------------------------------
    @rx.event
    def act(self, name: str):
        """A button: ask first when the action says so, then run it (in the background when slow)."""
        spec = self._decl().action(name)
        if spec.confirm and self.confirm != name:
            self.confirm = name
            return None
        self.confirm = ""
        if spec.slow:
            return self.__class__.act_slow(name)
        try:
            with ui_session() as db:
                user = self.current_user()
                result = svc.run(db, self._decl(), user, name, self.lang, origin=self._origin())
                self._read(db, user)
        except PultError as exc:
            return self.fail(exc)
        return self._outcome(result)

    @rx.event
    def confirm_ok(self):
        return self.__class__.act(self.confirm) if self.confirm else None

    @rx.event
    def cancel(self):
        self.confirm = ""

    @rx.event
    def hide(self):
        self.secret_shown = ""

    def _outcome(self, result: svc.CheckResult):
        self.check_level, self.check_text = result.level, result.message
        if result.secret:
            self.secret_shown = result.secret  # shown this once: "hide", leaving or reloading forgets it
        return None

    async def _in_thread(self, work, clear: bool = True) -> tuple[bool, Any]:
        """Run ``work(db, user, report)`` in a thread while the page says what it reports.
        Returns (True, result) or (False, event) when the session ended or the user may not."""
        async with self:
            token, decl, ip = self.session_token(), self._decl(), self.client_ip()
            self.busy = True
            if clear:
                self.check_text, self.check_level = "", ""
        loop = asyncio.get_running_loop()

        async def show(text: str) -> None:
            async with self:
                self.check_level, self.check_text = "wait", text

        def report(text: str) -> None:
            asyncio.run_coroutine_threadsafe(show(text), loop).result(timeout=10)

        def call() -> Any:
            with ui_session() as db:
                user = auth_service.resolve(db, token, ip=ip)
                svc.require(decl, user)
                return work(db, user, report)

        try:
            return True, await asyncio.to_thread(call)
        except PultError as exc:
            async with self:
                return False, self.fail(exc)
        finally:
            async with self:
                self.busy = False

    @rx.event(background=True)
    async def act_slow(self, name: str):
        async with self:
            lang, origin, decl = self.lang, self._origin(), self._decl()
        ok, result = await self._in_thread(lambda db, user, report: svc.run(db, decl, user, name, lang, report=report, origin=origin))
        if not ok:
            return result
        async with self:
            self._outcome(result)
            with ui_session() as db:
                self._read(db, self.current_user())
        return None

    @rx.event(background=True)
    async def after_saved(self, changed: list[str]):
        async with self:
            lang, origin, decl = self.lang, self._origin(), self._decl()

        def work(db: Any, user: Any, report: Any) -> Any:
            ctx = svc.context(db, decl, user, lang, report=report, origin=origin)
            try:
                return decl.after_save(ctx, changed)
            except PultError as exc:
                return svc.CheckResult.fail(exc.message(lang))

        ok, result = await self._in_thread(work)
        if not ok:
            return result
        async with self:
            if isinstance(result, svc.CheckResult):
                self._outcome(result)
            with ui_session() as db:
                self._read(db, self.current_user())
        return None

    @rx.event(background=True)
    async def refresh(self):
        """The status again, asking the outside system (``ctx.refresh``)."""
        async with self:
            lang, origin, decl = self.lang, self._origin(), self._decl()
        ok, result = await self._in_thread(lambda db, user, report: svc.status(db, decl, user, lang, refresh=True, report=report, origin=origin), clear=False)
        if not ok:
            return result
        async with self:
            with ui_session() as db:
                self._read(db, self.current_user(), status=result)
            if self.check_level == "wait":
                self.check_text, self.check_level = "", ""
        return None


def _titles(db: Any, user: Any, decl: svc.Settings, stored: dict[str, Any]) -> dict[str, str]:
    """The titles of the records relation fields point at (those the user may see)."""
    from app.core import crud
    from app.core.registry import RESOURCES

    out: dict[str, str] = {}
    for f in decl.fields:
        if kind_named(f.kind).links_record and f.resource in RESOURCES and stored.get(f.name) not in (None, ""):
            res = RESOURCES[f.resource]()
            try:
                out[f.name] = res.title(crud.get_record(db, res, user, str(stored[f.name])))
            except PultError:
                out[f.name] = str(stored[f.name])
    return out


def _is_bool(f: FormField) -> bool:
    return kind_named(f.kind).widget == "switch"


def _element(decl: svc.Settings, name: str) -> str:
    return f"{decl.id_prefix}-{name.replace('_', '-')}"


def _setter(name: str):
    def setter(self, value: Any):
        self._set(name, value)

    setter.__name__ = setter.__qualname__ = f"set_{name}"
    return setter


def _class_name(decl: svc.Settings) -> str:
    return "".join(p.capitalize() for p in f"{decl.panel}_{decl.name}".split("_")) + "SettingsState"


_STATES: dict[str, type] = {}


def state_of(key: str) -> type:
    """The generated state class of the settings page ``key`` (``"admin.security"``)."""
    if key in _STATES:
        return _STATES[key]
    decl = svc.settings_for(key)
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": __name__, "__qualname__": _class_name(decl)}
    for f in decl.editable():
        if _is_bool(f):
            annotations[f.name], namespace[f.name] = bool, False
        else:
            annotations[f.name], namespace[f.name] = str, ""
        namespace[f"set_{f.name}"] = _setter(f.name)
    namespace["__annotations__"] = annotations
    cls = type(_class_name(decl), (SettingsMixin, AuthState), namespace)
    _DECLS[cls] = decl
    _STATES[key] = cls
    globals()[cls.__name__] = cls  # pickled by name with the session's state (Redis)
    return cls


def __getattr__(name: str) -> type:
    """A generated state class by its name (unpickling a session's state in a fresh process)."""
    for key, decl in svc.SETTINGS.items():
        if _class_name(decl) == name:
            return state_of(key)
    raise AttributeError(name)


# --------------------------------------------------------------------------- the components
def _text(key_or_text: str) -> rx.Var | str:
    return tr(key_or_text) if has(key_or_text) else key_or_text


def _label(f: FormField) -> rx.Var | str:
    if f.label:
        return _text(f.label)
    return tr(f"field.{f.name}") if has(f"field.{f.name}") else f.name


def _control(S: type, decl: svc.Settings, f: FormField) -> rx.Component:
    kind = kind_named(f.kind)
    element = _element(decl, f.name)
    value = getattr(S, f.name)
    on_change = getattr(S, f"set_{f.name}")
    disabled: Any = False
    if f.name in decl.enabled_when:
        disabled = ~getattr(S, decl.enabled_when[f.name])
    placeholder: Any = ""
    if f.name in decl.placeholders:
        when_set, when_empty = decl.placeholders[f.name]
        placeholder = rx.cond(S.secrets_set.contains(f.name), _text(when_set), _text(when_empty)) if kind.write_only else _text(when_empty)
    elif kind.write_only:
        placeholder = rx.cond(S.secrets_set.contains(f.name), tr("secret.set_placeholder"), "")
    if kind.widget == "switch":
        return rx.switch(checked=value, on_change=on_change, id=element, disabled=disabled)
    if kind.widget == "select":
        return rx.select.root(
            rx.select.trigger(width="100%", id=element),
            rx.select.content(*[rx.select.item(_text(k), value=v) for v, k in (f.options or ())]),
            value=value, on_change=on_change, disabled=disabled, name=f.name,
        )
    if kind.widget in ("textarea", "secret_text") or f.multiline:
        return rx.text_area(value=value, on_change=on_change, rows="5", placeholder=placeholder, id=element, width="100%", disabled=disabled,
                            spell_check=False, **({"font_family": "monospace", "font_size": "12px"} if kind.write_only else {}))
    if kind.widget == "relation":
        from app.core.ui.widgets import relation_picker

        name = f.name
        return relation_picker(f"settings:{decl.key}:{name}", f.resource, S.labels.get(name, "").to(str), lambda i, title: S.pick(name, i, title))
    return rx.input(value=value, on_change=on_change, type="password" if kind.write_only else kind.input_type, id=element, width="100%",
                    auto_complete="new-password" if kind.write_only else "off", placeholder=placeholder, disabled=disabled)


def _error(S: type, decl: svc.Settings, f: FormField) -> rx.Component:
    return rx.cond(S.errors.contains(f.name), rx.text(S.errors.get(f.name, ""), color_scheme="red", size="1", id=f"{_element(decl, f.name)}-error"))


def _field(S: type, decl: svc.Settings, f: FormField) -> rx.Component:
    kind = kind_named(f.kind)
    help_text = rx.text(_text(f.help), size="1", color_scheme="gray") if f.help else rx.fragment()
    note = rx.cond(S.notes.contains(f.name), rx.text(S.notes.get(f.name, ""), size="1", color_scheme="gray"))
    if f.name in decl.readonly:  # a stored secret set by an action (generated), never typed
        return rx.vstack(
            rx.text(_label(f), size="2", weight="medium"),
            rx.cond(
                S.secrets_set.contains(f.name),
                rx.hstack(rx.code("***", id=f"{_element(decl, f.name)}-mask"), note, align="center", spacing="2", wrap="wrap"),
                rx.callout(_text(f.help) if f.help else tr("settings.not_set"), color_scheme="red", icon="triangle-alert",
                           id=f"{decl.id_prefix}-no-{f.name.replace('_', '-')}", width="100%"),
            ),
            spacing="2", width="100%",
        )
    if kind.widget == "switch":
        element = _element(decl, f.name)
        return rx.vstack(
            rx.hstack(
                _control(S, decl, f),
                rx.vstack(rx.text(_label(f), size="2", weight="medium", as_="label", html_for=element), help_text, spacing="1"),
                align="start", spacing="3", width="100%",
            ),
            _error(S, decl, f),
            spacing="1", width="100%",
        )
    return rx.vstack(
        rx.text(_label(f), size="2", weight="medium"),
        _control(S, decl, f),
        help_text,
        _error(S, decl, f),
        note if kind.write_only else rx.fragment(),
        spacing="1", width="100%",
    )


def _button(S: type, decl: svc.Settings, spec: svc.SettingsAction, first: bool) -> rx.Component:
    extra = {"color_scheme": spec.color} if spec.color else {}
    button = rx.button(_text(spec.label), on_click=S.act(spec.name), variant="solid" if first else "soft", loading=S.busy if spec.slow else False,
                       id=_element(decl, spec.element), **extra)
    if not spec.when:
        return button
    name = spec.when.lstrip("!")
    shown = S.secrets_set.contains(name) if not spec.when.startswith("!") else ~S.secrets_set.contains(name)
    return rx.cond(shown, button)


def _result(S: type, decl: svc.Settings) -> rx.Component:
    color = rx.match(S.check_level, ("ok", "green"), ("warn", "amber"), ("wait", "amber"), "red")
    icon = rx.match(S.check_level, ("ok", "circle-check"), ("wait", "hourglass"), "triangle-alert")
    return rx.cond(S.check_text != "", rx.callout(S.check_text, color_scheme=color, icon=icon, id=f"{decl.id_prefix}-check-result", width="100%"))


def _revealed(S: type, decl: svc.Settings) -> rx.Component:
    return rx.cond(
        S.secret_shown != "",
        rx.callout(
            rx.vstack(
                rx.text(tr("settings.shown_once"), size="2", weight="medium"),
                rx.hstack(
                    rx.code(S.secret_shown, id=f"{decl.id_prefix}-new-secret", size="2", style={"word_break": "break-all"}),
                    rx.icon_button(rx.icon("copy", size=14), variant="soft", size="1", on_click=rx.set_clipboard(S.secret_shown), title=tr("settings.copy")),
                    align="center", spacing="2", width="100%",
                ),
                rx.button(tr("settings.hide"), size="1", variant="soft", on_click=S.hide, id=f"{decl.id_prefix}-hide"),
                spacing="2", width="100%", on_unmount=S.hide,  # leaving the page forgets it too
            ),
            color_scheme="amber", icon="key-round", width="100%",
        ),
    )


def _status_line(line: rx.Var) -> rx.Component:
    value = rx.cond(
        line["href"] != "",
        rx.link(line["text"], href=line["href"].to(str), size="2", id=line["id"].to(str)),
        rx.cond(line["code"] != "", rx.code(line["text"], id=line["id"].to(str), style={"word_break": "break-all"}),
                rx.text(line["text"], size="2", id=line["id"].to(str))),
    )
    return rx.hstack(
        rx.cond(line["label"] != "", rx.text(line["label"], size="2", color_scheme="gray")),
        value,
        spacing="2", align="center", wrap="wrap",
    )


def _blocks(decl: svc.Settings, place: str) -> list[rx.Component]:
    return [import_ref(b.component)() for b in decl.blocks if b.place == place]


def _status(S: type, decl: svc.Settings) -> rx.Component:
    if decl.status is None:
        return rx.fragment(*_blocks(decl, "in_status"))
    head = [rx.heading(_text(decl.status_title), size="3")] if decl.status_title else []
    if decl.status_help:
        head.append(rx.text(_text(decl.status_help), size="1", color_scheme="gray"))
    footer = []
    if decl.refreshable:
        footer.append(rx.hstack(
            rx.spacer(),
            rx.button(rx.icon("refresh-cw", size=14), tr("settings.refresh"), size="1", variant="soft", on_click=S.refresh, loading=S.busy,
                      id=f"{decl.id_prefix}-refresh"),
            width="100%",
        ))
    return rx.card(
        rx.vstack(
            *head,
            *_blocks(decl, "in_status"),
            rx.callout(
                rx.vstack(rx.foreach(S.status_lines, _status_line), spacing="1", width="100%"),
                color_scheme=S.status_color, icon="info", width="100%", id=f"{decl.id_prefix}-status",
            ),
            *footer,
            spacing="3", width="100%",
        ),
        width="100%", max_width=decl.max_width,
    )


def settings_page(decl: svc.Settings) -> rx.Component:
    S = state_of(decl.key)
    editable = decl.editable()
    buttons: list[rx.Component] = []
    if editable:
        buttons.append(rx.button(tr("save"), on_click=S.save, id=f"{decl.id_prefix}-save", disabled=~S.loaded))
    for i, spec in enumerate(decl.all_actions()):
        buttons.append(_button(S, decl, spec, first=not editable and i == 0))
    main = rx.card(
        rx.vstack(
            *([rx.heading(_text(decl.section), size="3")] if decl.section else []),
            *([rx.text(_text(decl.help), size="2", color_scheme="gray")] if decl.help else []),
            *[_field(S, decl, f) for f in decl.fields],
            _revealed(S, decl),
            rx.hstack(*buttons, spacing="3", wrap="wrap", align="center") if buttons else rx.fragment(),
            _result(S, decl),
            *_blocks(decl, "after_fields"),
            spacing="3", width="100%",
        ),
        width="100%", max_width=decl.max_width,
    )
    dialogs = [confirm_dialog(S.confirm == spec.name, _text(spec.confirm), S.confirm_ok, S.cancel) for spec in decl.all_actions() if spec.confirm]
    body = rx.vstack(
        page_header(_text(decl.title)),
        main,
        *_blocks(decl, "after_main"),
        _status(S, decl),
        *_blocks(decl, "end"),
        *dialogs,
        spacing="4", width="100%",
    )
    return rx.cond(S.forbidden, forbidden_box(), body)


class _Generated:
    """``PAGES.<panel>.<name>``: the page factory and the state of one declaration."""

    def __init__(self, key: str) -> None:
        self.key = key

    @property
    def state(self) -> type:
        return state_of(self.key)

    def page(self) -> rx.Component:
        return settings_page(svc.settings_for(self.key))


class _Panel:
    def __init__(self, panel: str) -> None:
        self.panel = panel

    def __getattr__(self, name: str) -> _Generated:
        key = f"{self.panel}.{name}"
        if key not in svc.SETTINGS:
            raise AttributeError(f"no settings page {key!r}")
        return _Generated(key)


class _Pages:
    def __getattr__(self, panel: str) -> _Panel:
        if panel.startswith("__"):
            raise AttributeError(panel)
        return _Panel(panel)


#: ``PAGES.<panel>.<name>.page`` / ``.state``: what ``Settings.page()`` refers to.
PAGES = _Pages()


__all__ = ["PAGES", "SettingsMixin", "settings_page", "state_of"]
