"""The ``Settings`` page kind: a few stored settings, a "check" button, named actions and a status.

A declaration, free of any UI (a worker may import it)::

    BOT = Settings(
        "telegram.telegram", title="telegram.title", perm="telegram.settings", id_prefix="tg",
        fields=[fields.secret("token", label="telegram.token"), fields.url("api_url", label="telegram.api_url")],
        store={"token": "telegram.bot_token"},
        check=check_bot,                      # (ctx) -> CheckResult, its result shows next to the button
        actions=[SettingsAction("send_test", "telegram.send_test", send_test, slow=True)],
        status=receive_status,                # (ctx) -> Status, computed on load and on "refresh"
    )
    Panel(..., pages=[BOT.page("/admin/telegram", icon="send")])

The kit turns it into the Reflex page (:mod:`app.core.ui.settings_page`) and the API
(:mod:`app.core.settings_api`: ``GET/PUT /api/<panel>/settings/<name>``, ``POST .../check``,
``POST .../actions/<action>``, for every declared settings page of a booted panel).
Both go through the services below: one permission (``perm``), values parsed by their field kind
(a message under the field), secrets Fernet-encrypted and never read back (``***``), a diff in the
audit log with secrets masked, all in one transaction, and a change notice on the bus.

The pieces (fields, a check that can stop with a message, a green/amber/red status) are what a
``Wizard`` step is made of: a wizard will reuse :func:`save`, :func:`run` and :func:`status`.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Optional

from sqlmodel import Session

from app.core import audit, bus, crypto, i18n
from app.core.errors import PermissionDenied, PultError, ValidationFailed
from app.core.kinds import Field, kind_named
from app.core.principal import CurrentUser
from app.core.resource import FormField, ImproperlyConfigured
from models.core import Setting

#: Outcome levels of a check or an action, and the status colours (a wizard step's green/yellow/red).
LEVELS = ("ok", "warn", "fail")
STATUS_COLORS = ("green", "amber", "red", "gray")


@dataclass(frozen=True)
class CheckResult:
    """What a check or an action answers: ``ok`` (green), ``warn`` (amber) or ``fail`` (red), and a
    message already in the user's language. ``secret`` is a value shown once (a generated key)."""

    level: str
    message: str
    secret: str = ""

    @classmethod
    def ok(cls, message: str, secret: str = "") -> "CheckResult":
        return cls("ok", message, secret)

    @classmethod
    def warn(cls, message: str) -> "CheckResult":
        return cls("warn", message)

    @classmethod
    def fail(cls, message: str) -> "CheckResult":
        return cls("fail", message)

    def json(self) -> dict[str, Any]:
        return {"level": self.level, "message": self.message, **({"secret": self.secret} if self.secret else {})}


@dataclass(frozen=True)
class Line:
    """One line of a status block: its text, an optional caption (i18n key) before it, an element id
    (``<id_prefix>-<id>``), a link, or shown as code (an address to copy)."""

    text: str
    label: str = ""
    id: str = ""
    href: str = ""
    code: bool = False


@dataclass
class Status:
    """The status block: a colour (green / amber / red / gray) and its lines; ``notes`` put a line
    under a field (when the stored secret was set, and by whom)."""

    color: str = "gray"
    lines: list[Line] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        return {"color": self.color, "lines": [{"text": ln.text, **({"label": ln.label} if ln.label else {})} for ln in self.lines],
                "notes": dict(self.notes)}


@dataclass
class SettingsContext:
    """What a check, an action, a status or a validator is handed."""

    db: Session
    user: CurrentUser
    lang: str
    settings: "Settings"
    #: The saved values (secrets decrypted: server side only).
    values: dict[str, Any]
    #: Say how it goes while it runs ("retrying in 3 s"): shown on the page in amber.
    report: Callable[[str], None] = lambda _text: None
    #: The status was asked for by the "refresh" button (ask the outside system, not only the database).
    refresh: bool = False
    #: The address the browser (or API client) reached Pult at, e.g. ``https://pult.example``.
    origin: str = ""

    def t(self, key: str, **params: Any) -> str:
        return i18n.t(key, self.lang, **params)


@dataclass(frozen=True)
class SettingsAction:
    """A button of a settings page: ``run(ctx) -> CheckResult | str | None``.

    ``confirm`` asks the question (an i18n key) first; ``when`` shows the button only when the
    named field is set (``"secret"``) or not (``"!secret"``); ``slow`` runs it in the background
    (it talks to an outside system and may ``ctx.report``); ``reveal``: the result's ``secret`` is
    shown once. ``id`` names the button's element (default: the name)."""

    name: str
    label: str
    run: Callable[[SettingsContext], Any]
    confirm: Optional[str] = None
    when: Optional[str] = None
    slow: bool = False
    color: Optional[str] = None
    id: Optional[str] = None

    @property
    def element(self) -> str:
        return (self.id or self.name).replace("_", "-")

    def shown(self, set_fields: Iterable[str]) -> bool:
        if not self.when:
            return True
        name = self.when.lstrip("!")
        return (name in set(set_fields)) != self.when.startswith("!")


@dataclass(frozen=True)
class Block:
    """A declared custom part of the page (what only this page has, e.g. Telegram's receiving mode):
    a component factory and an optional ``on_load``, both as ``"module:attr"`` references."""

    component: str
    on_load: Optional[str] = None
    #: Where it goes: "after_fields" (in the main card, under the buttons), "after_status" or "end".
    place: str = "end"


#: Every declared settings page by key (``panel.name``).
SETTINGS: dict[str, "Settings"] = {}


class Settings:
    """The declaration (see the module's docstring). ``key`` is ``"<panel>.<name>"``."""

    def __init__(
        self,
        key: str,
        *,
        title: str,
        perm: str,
        fields: Iterable[FormField] = (),
        check: Callable[[SettingsContext], Any] | SettingsAction | None = None,
        actions: Iterable[SettingsAction] = (),
        status: Callable[[SettingsContext], Status] | None = None,
        store: dict[str, str] | None = None,
        validate: Callable[[SettingsContext, dict[str, Any]], None] | None = None,
        after_save: Callable[[SettingsContext, list[str]], Any] | None = None,
        blocks: Iterable[Block] = (),
        id_prefix: str | None = None,
        enabled_when: dict[str, str] | None = None,
        readonly: Iterable[str] = (),
        help: str | None = None,
        section: str | None = None,
        placeholders: dict[str, tuple[str, str]] | None = None,
        status_title: str | None = None,
        status_help: str | None = None,
        refreshable: bool = False,
        refresh_on_load: bool = False,
        live: bool = True,
        max_width: str = "720px",
    ) -> None:
        panel, dot, name = key.partition(".")
        if not dot or not panel or not name or "." in name or not name.isidentifier():
            raise ImproperlyConfigured(f"Settings {key!r}: the key is '<panel>.<name>'")
        self.key, self.panel, self.name = key, panel, name
        self.title, self.perm, self.help, self.section = title, perm, help, section
        #: Per field: (placeholder when a value is stored, placeholder when not), i18n keys or text.
        self.placeholders = dict(placeholders or {})
        self.status_title, self.status_help, self.refreshable = status_title, status_help, refreshable
        self.fields: tuple[FormField, ...] = tuple(fields)
        if isinstance(check, SettingsAction) or check is None:
            self.check = check
        else:
            self.check = SettingsAction("check", "settings.check", check, slow=True)
        self.actions: tuple[SettingsAction, ...] = tuple(actions)
        self.status, self.validate, self.after_save = status, validate, after_save
        self.store = {f.name: (store or {}).get(f.name, f"{key}.{f.name}") for f in self.fields}
        self.blocks = tuple(blocks)
        self.id_prefix = id_prefix or name.replace("_", "-")
        self.enabled_when = dict(enabled_when or {})
        self.readonly = frozenset(readonly)
        self.refresh_on_load, self.live, self.max_width = refresh_on_load, live, max_width
        self._check_declaration()
        if key in SETTINGS and SETTINGS[key] is not self:
            raise ImproperlyConfigured(f"Settings {key!r}: declared twice")
        SETTINGS[key] = self
        # Who may read this page's audit rows ("setting" / name): whoever may change it.
        audit.setting_readers(name, perm)

    def _check_declaration(self) -> None:
        names = [f.name for f in self.fields]
        for f in self.fields:
            try:
                kind_named(f.kind)
            except KeyError as exc:
                raise ImproperlyConfigured(f"Settings {self.key}: field '{f.name}': {exc.args[0]}") from None
            if not f.name.isidentifier() or f.name in _RESERVED:
                raise ImproperlyConfigured(f"Settings {self.key}: field name '{f.name}' is not allowed")
        if len(set(names)) != len(names):
            raise ImproperlyConfigured(f"Settings {self.key}: a field is declared twice")
        buttons = [a.name for a in self.all_actions()]
        if len(set(buttons)) != len(buttons):
            raise ImproperlyConfigured(f"Settings {self.key}: an action is declared twice")
        for a in self.all_actions():
            if a.when and a.when.lstrip("!") not in names:
                raise ImproperlyConfigured(f"Settings {self.key}: action '{a.name}' depends on unknown field '{a.when}'")
        for name, other in self.enabled_when.items():
            if name not in names or other not in names:
                raise ImproperlyConfigured(f"Settings {self.key}: enabled_when names an unknown field ({name} → {other})")
        for name in self.readonly:
            if name not in names:
                raise ImproperlyConfigured(f"Settings {self.key}: readonly names an unknown field '{name}'")

    # -- what the kit asks of it -------------------------------------------------
    def all_actions(self) -> list[SettingsAction]:
        return ([self.check] if self.check else []) + list(self.actions)

    def action(self, name: str) -> SettingsAction:
        for a in self.all_actions():
            if a.name == name:
                return a
        raise ValidationFailed.one("", "settings.no_action")

    def field(self, name: str) -> FormField:
        return next(f for f in self.fields if f.name == name)

    def stored(self, db: Session) -> dict[str, Any]:
        """The saved values (declared defaults where none is saved), secrets decrypted: for the
        panel's own services on the server (a provider client's token). Never hand it to a browser."""
        return stored_values(db, self)

    def is_secret(self, f: FormField) -> bool:
        return kind_named(f.kind).write_only

    def editable(self) -> list[FormField]:
        return [f for f in self.fields if f.name not in self.readonly]

    def page(self, route: str, icon: str = "settings", menu: bool = True, title: str | None = None) -> Any:
        """The panel's :class:`~app.core.registry.Page`: the generated page, by reference (a worker
        that boots the panel never imports Reflex). ``title``: the menu's label, when shorter."""
        from app.core.registry import Page

        ref = f"app.core.ui.settings_page:PAGES.{self.panel}.{self.name}"
        return Page(route, title or self.title, f"{ref}.page", perm=self.perm, icon=icon, on_load=f"{ref}.state.load", menu=menu)

    def __repr__(self) -> str:
        return f"<Settings {self.key}>"


#: Names a field cannot take: the generated page's state has vars of its own.
_RESERVED = frozenset({
    "errors", "check_text", "check_level", "busy", "forbidden", "loaded", "status_color", "status_lines", "notes",
    "secrets_set", "secret_shown", "confirm", "lang", "username", "full_name", "roles", "menu", "signed_in",
    "boot_error", "page_denied", "dirty", "router", "labels", "pick", "save", "load", "act", "hide", "cancel", "refresh",
})


# --------------------------------------------------------------------------- the services
def require(decl: Settings, user: CurrentUser) -> None:
    if not user.has_perm(decl.perm):
        raise PermissionDenied()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _default(f: FormField) -> Any:
    return f.default() if callable(f.default) else f.default


def stored_values(db: Session, decl: Settings) -> dict[str, Any]:
    """Every field's saved value (its declared default when none is saved); secrets decrypted.
    Server side only: never hand this to a browser or an API answer (:func:`public_values`)."""
    keys = list(decl.store.values())
    from sqlmodel import select

    rows = {r.key: r.value for r in db.exec(select(Setting).where(Setting.key.in_(keys)))}
    out: dict[str, Any] = {}
    for f in decl.fields:
        raw = rows.get(decl.store[f.name])
        if raw is None or raw == "":
            out[f.name] = _default(f) if not decl.is_secret(f) else None
        elif decl.is_secret(f):
            out[f.name] = crypto.decrypt(raw) if isinstance(raw, str) else None
        else:
            out[f.name] = raw
    return out


def public_values(values: dict[str, Any], decl: Settings) -> dict[str, Any]:
    """What a browser or an API client may see: a secret is ``***`` when set, else None."""
    return {f.name: (crypto.MASK if values.get(f.name) else None) if decl.is_secret(f) else values.get(f.name) for f in decl.fields}


def context(db: Session, decl: Settings, user: CurrentUser, lang: str, **kw: Any) -> SettingsContext:
    return SettingsContext(db=db, user=user, lang=lang, settings=decl, values=stored_values(db, decl), **kw)


def read(db: Session, decl: Settings, user: CurrentUser) -> dict[str, Any]:
    """The page's values as shown: checked against ``perm``, secrets masked."""
    require(decl, user)
    return public_values(stored_values(db, decl), decl)


def parse(decl: Settings, raw: dict[str, Any], ctx: SettingsContext | None = None) -> dict[str, Any]:
    """Submitted values → parsed ones, by each field's kind. Only the fields given are changed; an
    empty secret keeps the stored one (left out). Raises :class:`ValidationFailed` (per field)."""
    unknown = [k for k in raw if k not in {f.name for f in decl.editable()}]
    if unknown:
        raise ValidationFailed({name: ("settings.unknown_field", {}) for name in unknown})
    errors: dict[str, tuple[str, dict]] = {}
    out: dict[str, Any] = {}
    for f in decl.editable():
        if f.name not in raw:
            continue
        kind = kind_named(f.kind)
        value, error = kind.parse(Field(None, f.name, f), raw[f.name])
        if error:
            errors[f.name] = error
        elif kind.keeps_when_empty and value is None:
            continue
        else:
            out[f.name] = value
    if errors:
        raise ValidationFailed(errors)
    if ctx is not None:
        _check_links(ctx, decl, out)
    return out


def _check_links(ctx: SettingsContext, decl: Settings, values: dict[str, Any]) -> None:
    """A relation field names a record the user may see."""
    from app.core import crud
    from app.core.registry import RESOURCES

    for f in decl.fields:
        if f.name in values and values[f.name] is not None and kind_named(f.kind).links_record and f.resource:
            try:
                crud.get_record(ctx.db, RESOURCES[f.resource](), ctx.user, str(values[f.name]))
            except PultError:
                raise ValidationFailed.one(f.name, "error.relation") from None


def _as_json(value: Any) -> Any:
    """A parsed value as the JSONB column holds it: a number field's Decimal as a JSON number (an
    int when whole), moments as ISO text, enums by value."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return audit.jsonable(value)


def save(db: Session, decl: Settings, user: CurrentUser, raw: dict[str, Any], lang: str = "ru") -> list[str]:
    """Check the permission, parse and validate, store (secrets encrypted), audit the diff with
    secrets masked and mark the change on the bus, in one transaction. Returns the changed fields."""
    require(decl, user)
    ctx = context(db, decl, user, lang)
    values = parse(decl, raw, ctx)
    if decl.validate is not None:
        decl.validate(ctx, {**ctx.values, **values})
    before = ctx.values
    changes: dict[str, list[Any]] = {}
    now = _now()
    for f in decl.editable():
        if f.name not in values:
            continue
        new, old = values[f.name], before.get(f.name)
        secret = decl.is_secret(f)
        if new == old or (not secret and new in (None, "") and old in (None, "")):
            continue
        key = decl.store[f.name]
        row = db.get(Setting, key)
        if new is None or new == "":
            if row is not None:
                db.delete(row)
        else:
            row = row or Setting(key=key)
            row.value, row.updated_at, row.updated_by = (crypto.encrypt(new) if secret else _as_json(new)), now, user.username
            db.add(row)
        changes[f.name] = [crypto.MASK if old else None, crypto.MASK if new else None] if secret else [old, new]
    if changes:
        audit.record(db, user, "update", "setting", decl.name, changes)
        bus.mark(db, "setting", [decl.store[n] for n in changes], "update")
    db.commit()
    return list(changes)


def run(db: Session, decl: Settings, user: CurrentUser, name: str, lang: str = "ru", **kw: Any) -> CheckResult:
    """Run the check or a named action (the permission first). A service's refusal (a bad value,
    a missing token) is a ``fail`` with its message, never an exception; the caller's session
    ended or the permission is missing raise as usual."""
    require(decl, user)
    spec = decl.action(name)
    ctx = context(db, decl, user, lang, **kw)
    try:
        result = spec.run(ctx)
    except ValidationFailed as exc:
        messages = exc.messages(lang)
        return CheckResult.fail(messages.get("") or next(iter(messages.values()), exc.message(lang)))
    except PermissionDenied:
        raise
    except PultError as exc:
        if type(exc).__name__ == "NotAuthenticated":
            raise
        return CheckResult.fail(exc.message(lang))
    if isinstance(result, CheckResult):
        return result
    return CheckResult.ok(result if isinstance(result, str) else i18n.t("done", lang))


def status(db: Session, decl: Settings, user: CurrentUser, lang: str = "ru", **kw: Any) -> Status:
    """The status block (none declared: an empty gray one)."""
    require(decl, user)
    if decl.status is None:
        return Status()
    return decl.status(context(db, decl, user, lang, **kw))


def secret_set_note(db: Session, decl: Settings, name: str, lang: str) -> str:
    """"Set 07.12.2026 10:00 by admin" for a stored secret field ('' when it is not set)."""
    from app.core.display import fmt_datetime

    row = db.get(Setting, decl.store[name])
    if row is None or not row.value:
        return ""
    return i18n.t("settings.set_when", lang, when=fmt_datetime(row.updated_at) if row.updated_at else "?", who=row.updated_by or "?")


def settings_for(key: str) -> Settings:
    try:
        return SETTINGS[key]
    except KeyError:
        raise KeyError(f"unknown settings page {key!r}") from None


__all__ = [
    "Block", "CheckResult", "Line", "SETTINGS", "Settings", "SettingsAction", "SettingsContext", "Status",
    "context", "parse", "public_values", "read", "require", "run", "save", "secret_set_note", "settings_for", "status",
    "stored_values",
]
