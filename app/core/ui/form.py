"""Generated create/edit forms: validation under each field, relation pickers, unsaved-change guard."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import reflex as rx

from app.core import crud, links, rows
from app.core import files as file_store
from app.core.kinds import field_of, field_options, kind_for
from app.core.display import CURRENCY_SIGNS, form_value
from app.core.errors import NotAuthenticated, NotFound, PermissionDenied, PultError, ValidationFailed
from app.core.i18n import has
from app.core.registry import RESOURCES
from app.core.resource import ActionContext, FormField, Resource
from app.core.ui.base import ERROR_TOAST, AuthState, tr, ui_session
from app.core.ui.widgets import forbidden_box
from app.core.ui.widgets import confirm_dialog, label, page_header, relation_picker, resource_label

GUARD_ON = "window.__pultDirty = true"
GUARD_OFF = "window.__pultDirty = false"


class FormState(AuthState):
    res_key: str = ""
    record_id: str = ""
    values: dict[str, str] = {}
    labels: dict[str, str] = {}  # relation fields: title of the chosen record
    errors: dict[str, str] = {}
    form_error: str = ""
    dirty: bool = False
    forbidden: bool = False
    missing: bool = False
    title: str = ""
    leave_open: bool = False
    #: Secret fields that have a stored value (shown as ***, never sent).
    secrets_set: list[str] = []
    #: Select fields whose options are narrowed for this user (``Resource.field_choices``).
    allowed: dict[str, list[str]] = {}
    #: Many-to-many fields (``fields.many``): the chosen records as [id, title] chips.
    chips: dict[str, list[list[str]]] = {}
    #: Child rows (``fields.rows``): each row's id ("" for a new one) and cell strings.
    grid: dict[str, list[dict[str, str]]] = {}
    #: File and photo fields (``fields.file`` / ``fields.photo``): the chosen file's presigned URL
    #: (a photo's thumbnail) and its name. The value itself is the ``stored_file`` id.
    file_urls: dict[str, str] = {}
    file_names: dict[str, str] = {}

    def _res(self) -> Resource:
        return RESOURCES[self.res_key]()

    @rx.event
    def load(self, res_key: str, editing: bool):
        self.res_key = res_key
        res = self._res()
        self.record_id = str(self.router.page.params.get("id", "")) if editing else ""
        self.errors, self.form_error, self.dirty, self.forbidden, self.missing = {}, "", False, False, False
        self.values, self.labels, self.chips, self.grid = {}, {}, {}, {}
        self.file_urls, self.file_names = {}, {}
        try:
            with ui_session() as db:
                user = self.current_user()
                self.allowed = {f.name: list(v) for f in res.form_fields() if (v := res.field_choices(user, f.name)) is not None}
                if editing:
                    record = crud.get_record(db, res, user, self.record_id)
                    self.forbidden = not res.can(user, "update", record)
                    self.title = res.title(record)
                    self.secrets_set = [f.name for f in res.form_fields() if kind_for(res.model, f).write_only and getattr(record, f.name, None)]
                    for f in links.many_fields(res):  # what the user may see linked, by title
                        pairs = links.shown(db, user, res.model, f, [crud.pk_of(record)], self.lang)[crud.pk_of(record)]
                        self.chips[f.name] = [[str(i), t] for i, t in pairs]
                    for f in rows.rows_fields(res):  # the children the user may see, as the table starts
                        self.grid[f.name] = rows.form_rows(rows.children(db, user, f, [crud.pk_of(record)])[crud.pk_of(record)], f)
                    for f in res.form_fields():
                        if f.name in self.grid:
                            self.values[f.name] = json.dumps(self.grid[f.name])
                            continue
                        if f.name in self.chips:
                            self.values[f.name] = ",".join(i for i, _t in self.chips[f.name])
                            continue
                        self.values[f.name] = form_value(record, f)
                        if kind_for(res.model, f).links_file and self.values[f.name]:
                            self._show_file(db, user, f.name, self.values[f.name])
                        if f.resource and self.values[f.name]:
                            target = RESOURCES[f.resource]()
                            self.labels[f.name] = _title(db, target, user, self.values[f.name])
                else:
                    self.forbidden = not res.can(user, "create")
                    self.title = ""
                    self.secrets_set = []
                    for f in res.form_fields():
                        self.values[f.name] = kind_for(res.model, f).initial(field_of(res.model, f))
                    for k, v in self.router.url.query_parameters.items():  # prefill from links such as ?product_id=5
                        if k in self.values:
                            self.values[k] = v
                            spec = next(f for f in res.form_fields() if f.name == k)
                            if spec.resource:
                                self.labels[k] = _title(db, RESOURCES[spec.resource](), user, v)
        except NotFound:
            self.missing = True
        except PermissionDenied:
            self.forbidden = True
        except PultError as exc:
            return self.fail(exc)
        return rx.call_script(GUARD_OFF)

    @rx.event
    def set_value(self, name: str, value: str):
        self.values[name] = value
        self.errors.pop(name, None)
        self.dirty = True
        self._form_changed(name)
        return rx.call_script(GUARD_ON)

    def _form_changed(self, name: str) -> None:
        """Let the resource prefill dependent fields (an order's price from its product)."""
        try:
            with ui_session() as db:
                user = self.current_user()
                updates = self._res().form_changed(ActionContext(db, user, self.lang), name, dict(self.values))
        except PultError:
            return
        self.values.update(updates)

    def _show_file(self, db: Any, user: Any, name: str, file_id: Any) -> None:
        """Show the field's file (when the user may see it): a photo's thumbnail, a file's name."""
        try:
            f = file_store.get(db, user, file_id)
            self.file_urls[name] = file_store.presign(f, thumb=f.content_type in file_store.IMAGE_TYPES)
            self.file_names[name] = f.name
        except PultError:
            self.file_urls.pop(name, None)
            self.file_names.pop(name, None)

    def _file_field(self, name: str) -> FormField | None:
        res = self._res()
        return next((f for f in res.form_fields() if f.name == name and kind_for(res.model, f).links_file), None)

    @rx.event
    async def upload_file(self, field: str, files: list[rx.UploadFile]):
        """A file dropped on (or chosen in) a file/photo field: checked and stored at once (by its
        bytes: size, type, an image that opens), then the field holds it until the form is saved.
        A refused file leaves a message under the field and nothing stored."""
        spec = self._file_field(field)
        if spec is None or not files:
            return None
        res, record_id, upload = self._res(), self.record_id, files[0]

        def store(user) -> tuple[int, str, str]:
            with ui_session() as db:
                if record_id:  # only who may change the record (or create one) uploads into its form
                    crud.require(res, user, "update", crud.get_record(db, res, user, record_id))
                else:
                    crud.require(res, user, "create")
                stored = file_store.put(db, user, upload.file, upload.name or "file", limits=file_store.limits_of(spec))
                return stored.id, file_store.presign(stored, thumb=stored.content_type in file_store.IMAGE_TYPES), stored.name

        try:
            user = self.current_user()
            file_id, url, name = await asyncio.to_thread(store, user)
        except ValidationFailed as exc:
            self.errors[field] = next(iter(exc.messages(self.lang).values()), self.t("error.form"))
            return None
        except NotAuthenticated as exc:
            return self.fail(exc)
        except PultError as exc:
            self.errors[field] = exc.message(self.lang)
            return None
        self.file_urls[field], self.file_names[field] = url, name
        return self.set_value(field, str(file_id))

    @rx.event
    def remove_file(self, field: str):
        """Clear the field. An upload of this form that no record owns yet is deleted at once; a
        record's own file stays until the record is saved without it."""
        value = self.values.get(field, "")
        if value and self._file_field(field) is not None:
            try:
                with ui_session() as db:
                    user = self.current_user()
                    if file_store.get(db, user, value).owner_resource is None:
                        file_store.delete(db, user, value)
            except PultError:
                pass
        self.file_urls.pop(field, None)
        self.file_names.pop(field, None)
        return self.set_value(field, "")

    @rx.event
    def pick(self, name: str, value: str, title: str):
        self.labels[name] = title
        return self.set_value(name, value)

    @rx.event
    def add_link(self, name: str, value: str, title: str):
        """A many-to-many field: the record picked in its search becomes a chip."""
        if not value:
            return None
        self.chips[name] = [*[c for c in self.chips.get(name, []) if c[0] != value], [value, title]]
        return self.set_value(name, ",".join(c[0] for c in self.chips[name]))

    @rx.event
    def drop_link(self, name: str, value: str):
        self.chips[name] = [c for c in self.chips.get(name, []) if c[0] != value]
        return self.set_value(name, ",".join(c[0] for c in self.chips[name]))

    def _grid_changed(self, name: str):
        return self.set_value(name, json.dumps(self.grid.get(name, [])))

    @rx.event
    def add_row(self, name: str):
        """A child-rows table: one more row, with its columns' declared defaults."""
        f = next(f for f in self._res().form_fields() if f.name == name)
        child = rows.child_of(f)
        blank = {"id": "", **{c.name: kind_for(child.model, c).initial(field_of(child.model, c)) for c in rows.columns(f)}}
        self.grid[name] = [*self.grid.get(name, []), blank]
        return self._grid_changed(name)

    @rx.event
    def remove_row(self, name: str, index: int):
        self.grid[name] = [r for i, r in enumerate(self.grid.get(name, [])) if i != index]
        self.errors = {k: v for k, v in self.errors.items() if not k.startswith(f"{name}.")}  # the indexes moved
        return self._grid_changed(name)

    @rx.event
    def set_cell(self, name: str, index: int, column: str, value: str):
        table = [dict(r) for r in self.grid.get(name, [])]
        if 0 <= index < len(table):
            table[index][column] = value
        self.grid[name] = table
        self.errors.pop(f"{name}.{index}.{column}", None)
        return self._grid_changed(name)

    @rx.event
    def toggle_multi(self, name: str, option: str):
        have = [v for v in self.values.get(name, "").split(",") if v]
        have = [v for v in have if v != option] if option in have else [*have, option]
        return self.set_value(name, ",".join(have))

    @rx.event
    def save(self):
        res = self._res()
        raw = dict(self.values)
        try:
            with ui_session() as db:
                user = self.current_user()
                if self.record_id:
                    record = crud.update_record(db, res, user, self.record_id, raw, self.lang)
                else:
                    record = crud.create_record(db, res, user, raw, self.lang)
        except ValidationFailed as exc:
            messages = exc.messages(self.lang)
            self.form_error = messages.pop("", "")
            self.errors = messages
            return rx.toast.error(self.form_error or self.t("error.form"), id=ERROR_TOAST)
        except NotAuthenticated as exc:
            return self.fail(exc)
        except PultError as exc:
            self.form_error = exc.message(self.lang)
            return rx.toast.error(self.form_error, id=ERROR_TOAST)
        self.dirty = False
        message = self.t("saved" if self.record_id else "created")
        return [rx.call_script(GUARD_OFF), *self.ok(message), rx.redirect(f"{res.url()}/{crud.pk_of(record)}")]

    @rx.event
    def cancel(self):
        if self.dirty:
            self.leave_open = True
            return None
        return self._leave()

    @rx.event
    def leave(self):
        self.leave_open, self.dirty = False, False
        return [rx.call_script(GUARD_OFF), self._leave()]

    @rx.event
    def stay(self):
        self.leave_open = False

    def _leave(self):
        res = self._res()
        return rx.redirect(f"{res.url()}/{self.record_id}" if self.record_id else res.url())


def _title(db, res: Resource, user, value: str) -> str:
    try:
        return res.title(crud.get_record(db, res, user, value))
    except PultError:
        return ""


def _option_label(key: str) -> rx.Var | str:
    return tr(key) if has(key) else key


class Control:
    """What a form control is built from: the field, its kind, and the state bindings."""

    def __init__(self, res: type[Resource], f: FormField) -> None:
        self.res, self.f = res, f
        self.kind = kind_for(res.model, f)
        self.value = FormState.values.get(f.name, "").to(str)
        self.on_change = lambda v: FormState.set_value(f.name, v)  # noqa: E731
        self.disabled = bool(f.create_only) & (FormState.record_id != "")
        self.common = {"name": f.name, "id": f"field-{f.name}", "width": "100%"}


def _input(c: Control) -> rx.Component:
    f, kind = c.f, c.kind
    extra = {"input_mode": kind.input_mode} if kind.input_mode else {}
    slot = [rx.input.slot(CURRENCY_SIGNS.get(f.currency, f.currency))] if f.currency else []
    return rx.input(*slot, value=c.value, on_change=c.on_change, type=kind.input_type, disabled=c.disabled,
                    auto_complete="new-password" if kind.write_only else "off", **extra, **c.common)


def _textarea(c: Control) -> rx.Component:
    return rx.text_area(value=c.value, on_change=c.on_change, rows="4", disabled=c.disabled, **c.common)


def _switch(c: Control) -> rx.Component:
    name = c.f.name
    return rx.switch(checked=c.value == "1", on_change=lambda v: FormState.set_value(name, rx.cond(v, "1", "")), disabled=c.disabled, id=f"field-{name}")


def _select(c: Control) -> rx.Component:
    f = c.f
    options = field_options(c.res.model, f)
    offered = FormState.allowed.contains(f.name)
    return rx.select.root(
        rx.select.trigger(width="100%"),
        rx.select.content(*[
            rx.cond(offered & ~FormState.allowed[f.name].contains(v), rx.fragment(), rx.select.item(_option_label(k), value=v))
            for v, k in options
        ]),
        value=c.value, on_change=c.on_change, disabled=c.disabled, name=f.name,
    )


def _checkboxes(c: Control) -> rx.Component:
    f = c.f
    chosen = c.value.split(",")

    def box(v: str, k: str) -> rx.Component:
        return rx.checkbox(_option_label(k), checked=chosen.contains(v), on_change=lambda _c, v=v: FormState.toggle_multi(f.name, v),
                           size="1", custom_attrs={"data-value": v})

    labels = dict(f.options or ())
    if not f.groups:
        return rx.flex(*[box(v, k) for v, k in (f.options or ())], wrap="wrap", spacing="3", id=f"field-{f.name}")
    # Grouped (permissions): a wildcard option ("*", "stock.*") implies the values below it —
    # they show ticked and cannot be unticked while it is.
    wildcards = [w for w, _k in (f.options or ()) if w == "*" or w.endswith(".*")]

    def implied_box(v: str) -> rx.Component:
        by = [w for w in wildcards if w != v and (w == "*" or v.startswith(w[:-1]))]
        if not by:
            return box(v, labels.get(v, v))
        implied = chosen.contains(by[0])
        for w in by[1:]:
            implied = implied | chosen.contains(w)
        return rx.checkbox(_option_label(labels.get(v, v)), checked=chosen.contains(v) | implied, disabled=implied,
                           on_change=lambda _c, v=v: FormState.toggle_multi(f.name, v), size="1", custom_attrs={"data-value": v})

    grouped = {v for _head, values in f.groups for v in values}
    loose = [box(v, k) for v, k in (f.options or ()) if v not in grouped]
    blocks = [rx.flex(*loose, wrap="wrap", spacing="3")] if loose else []
    for head, values in f.groups:  # one heading per panel / resource: "Склад › Товары"
        title = []
        for i, key in enumerate(head):
            title += ([" › "] if i else []) + [_option_label(key)]
        blocks.append(rx.box(
            rx.text(*title, size="2", weight="medium" if len(head) > 1 else "bold", color_scheme=None if len(head) > 1 else "gray"),
            rx.flex(*[implied_box(v) for v in values], wrap="wrap", spacing="3", padding_top="0.25em"),
            padding_left="0.75em" if len(head) > 1 else "0", width="100%",
        ))
    return rx.vstack(*blocks, spacing="2", id=f"field-{f.name}", width="100%")


def _relation(c: Control) -> rx.Component:
    name = c.f.name
    return relation_picker(f"form:{name}", c.f.resource, FormState.labels.get(name, "").to(str), lambda i, t: FormState.pick(name, i, t))


def _many(c: Control) -> rx.Component:
    """Chips of the linked records (each with its ×) above a search that adds one more."""
    name = c.f.name
    chips = FormState.chips.get(name, []).to(list[list[str]])
    return rx.vstack(
        rx.flex(rx.foreach(chips, lambda ch: rx.badge(
            ch[1],
            rx.icon_button(rx.icon("x", size=12), size="1", variant="ghost", type="button", on_click=FormState.drop_link(name, ch[0]),
                           aria_label=tr("many.remove"), custom_attrs={"data-remove": ch[0]}),
            variant="soft", size="2", custom_attrs={"data-id": ch[0]},
        )), wrap="wrap", spacing="2", id=f"field-{name}"),
        relation_picker(f"form:{name}", c.f.resource, "", lambda i, t: FormState.add_link(name, i, t), placeholder=tr("many.add")),
        spacing="2", width="100%",
    )


def _rows(c: Control) -> rx.Component:
    """Child rows as a table: one input per child field, its message under it, × per row, "Add row"."""
    f = c.f
    name = f.name
    child = rows.child_of(f)
    cols = rows.columns(f)

    def cell(row: rx.Var, i: rx.Var, col: FormField) -> rx.Component:
        kind = kind_for(child.model, col)
        value = row[col.name].to(str)
        change = lambda v: FormState.set_cell(name, i, col.name, v)  # noqa: E731
        if kind.widget == "select":
            control = rx.select.root(
                rx.select.trigger(width="100%"),
                rx.select.content(*[rx.select.item(_option_label(k), value=v) for v, k in field_options(child.model, col)]),
                value=value, on_change=change, size="2",
            )
        elif kind.widget == "switch":
            control = rx.switch(checked=value == "1", on_change=lambda v: FormState.set_cell(name, i, col.name, rx.cond(v, "1", "")))
        else:
            control = rx.input(value=value, on_change=change, type=kind.input_type, size="2", width="100%",
                               custom_attrs={"data-cell": col.name})
        key = name + "." + i.to(str) + "." + col.name
        return rx.table.cell(rx.vstack(
            control,
            rx.cond(FormState.errors.contains(key), rx.text(FormState.errors.get(key, ""), color_scheme="red", size="1", white_space="normal")),
            spacing="1",
        ), min_width="8em")

    def row(r: rx.Var, i: rx.Var) -> rx.Component:
        whole = name + "." + i.to(str)
        return rx.table.row(
            *[cell(r, i, col) for col in cols],
            rx.table.cell(rx.vstack(
                rx.icon_button(rx.icon("x", size=14), size="1", variant="ghost", color_scheme="red", type="button",
                               on_click=FormState.remove_row(name, i), aria_label=tr("rows.remove"), custom_attrs={"data-remove-row": i.to(str)}),
                rx.cond(FormState.errors.contains(whole), rx.text(FormState.errors.get(whole, ""), color_scheme="red", size="1")),
            ), width="2.5em"),
            custom_attrs={"data-row": i.to(str)},
        )

    table = rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(label(child, col.name, col.label)) for col in cols], rx.table.column_header_cell(""))),
        rx.table.body(rx.foreach(FormState.grid.get(name, []).to(list[dict[str, str]]), row)),
        size="1", variant="ghost", width="100%",
    )
    return rx.vstack(
        rx.box(table, width="100%", overflow_x="auto"),
        rx.button(rx.icon("plus", size=14), tr("rows.add"), size="1", variant="soft", type="button", on_click=FormState.add_row(name), id=f"add-row-{name}"),
        spacing="2", width="100%", id=f"field-{name}",
    )


def _file(c: Control) -> rx.Component:
    """A drop zone (click to choose) with the chosen file above it: a photo's thumbnail or a file's
    name, with × to clear the field. The server decides what it accepts (size, type by the bytes)
    and says why under the field when it does not."""
    f, photo = c.f, c.kind.cell == "photo"
    name, upload_id = f.name, f"upload-{f.name}"
    limits = file_store.limits_of(f)
    url = FormState.file_urls.get(name, "").to(str)
    shown = (rx.image(src=url, alt=FormState.file_names.get(name, "").to(str), height="96px", max_width="200px", object_fit="cover",
                      border_radius="var(--radius-2)", id=f"preview-{name}")
             if photo else rx.hstack(rx.icon("paperclip", size=14), rx.text(FormState.file_names.get(name, ""), size="2"), spacing="1",
                                     align="center", id=f"preview-{name}"))
    chosen = rx.cond(url != "", rx.hstack(
        rx.link(shown, href=url, is_external=True),
        rx.icon_button(rx.icon("x", size=14), size="1", variant="soft", color_scheme="red", type="button", on_click=FormState.remove_file(name),
                       aria_label=tr("files.remove"), title=tr("files.remove"), id=f"remove-{name}"),
        spacing="2", align="center",
    ))
    zone = rx.upload.root(
        rx.vstack(
            rx.icon("image-up" if photo else "upload", size=20, color=rx.color("gray", 10)),
            rx.text(tr("files.upload"), size="1", color_scheme="gray", text_align="center"),
            rx.text(f"{limits.type_names()} · ≤ {limits.max_mb} ", tr("files.mb"), size="1", color_scheme="gray"),
            align="center", spacing="1",
        ),
        id=upload_id, multiple=False, max_files=1,
        on_drop=FormState.upload_file(name, rx.upload_files(upload_id=upload_id)),
        border=f"1px dashed {rx.color('gray', 8)}", border_radius="var(--radius-3)", padding="0.75em", width="100%", cursor="pointer",
    )
    return rx.vstack(chosen, zone, spacing="2", width="100%", id=f"field-{name}")


def _secret_placeholder(c: Control) -> rx.Var:
    return rx.cond(FormState.secrets_set.contains(c.f.name), tr("secret.set_placeholder"), "")


def _secret(c: Control) -> rx.Component:
    if c.f.multiline:  # declared FormField(kind="secret", multiline=True): as secret_text
        return _secret_text(c)
    return rx.input(value=c.value, on_change=c.on_change, type="password", auto_complete="new-password", placeholder=_secret_placeholder(c), **c.common)


def _secret_text(c: Control) -> rx.Component:
    # A private key: its line breaks matter, a password input would drop them.
    return rx.text_area(value=c.value, on_change=c.on_change, rows="6", placeholder=_secret_placeholder(c), auto_complete=False,
                        spell_check=False, font_family="monospace", font_size="12px", **c.common)


#: Form controls by the name a field kind gives in ``Kind.widget``. The kinds stay free of Reflex
#: (the workers import them); a kind that needs a control of its own (a photo upload) adds it here.
WIDGETS: dict[str, Callable[[Control], rx.Component]] = {
    "input": _input,
    "textarea": _textarea,
    "switch": _switch,
    "select": _select,
    "checkboxes": _checkboxes,
    "relation": _relation,
    "many": _many,
    "rows": _rows,
    "secret": _secret,
    "secret_text": _secret_text,
    "file": _file,
    "photo": _file,
}


def field_control(res: type[Resource], f: FormField) -> rx.Component:
    c = Control(res, f)
    return WIDGETS[c.kind.widget](c)


def field_marks(res: type[Resource], f: FormField, editing: bool) -> tuple[bool, bool]:
    """(required star, help text shown) of a field on the create or the edit form.

    A password is needed for a new account and kept on an edit when left empty: the star on one
    form, the "leave empty to keep" hint on the other (the new-user form said both)."""
    return kind_for(res.model, f).marks(field_of(res.model, f), editing)


def form_field(res: type[Resource], f: FormField, editing: bool = False) -> rx.Component:
    required, show_help = field_marks(res, f, editing)
    return rx.vstack(
        rx.text(label(res, f.name, f.label), rx.cond(required, rx.text.span(" *", color=rx.color("red", 9)), ""), size="2", weight="medium"),
        field_control(res, f),
        rx.cond(FormState.errors.contains(f.name), rx.text(FormState.errors.get(f.name, ""), color_scheme="red", size="1", id=f"error-{f.name}")),
        rx.text(tr(f.help), size="1", color_scheme="gray") if show_help else rx.fragment(),
        spacing="1", width="100%", align="stretch",
        **({"grid_column": "1 / -1"} if kind_for(res.model, f).holds_rows else {}),  # a table takes the whole row
    )


def form_page(res: type[Resource], editing: bool) -> rx.Component:
    sections = []
    for s in res.form_sections():
        sections.append(rx.card(
            rx.vstack(
                rx.heading(tr(s.title) if has(s.title) else resource_label(res.key(), one=True), size="3"),
                rx.grid(*[form_field(res, f, editing) for f in s.fields], columns=rx.breakpoints(initial="1", md="2"), spacing="4", width="100%"),
                spacing="3", width="100%",
            ),
            # The relation picker's list opens below its input: the card must not clip it.
            width="100%", overflow="visible", contain="none",
        ))
    heading = rx.hstack(resource_label(res.key(), one=True), rx.text("·", color_scheme="gray"), rx.cond(FormState.record_id != "", FormState.title, tr("create")))
    body = rx.form(
        rx.vstack(
            page_header(heading, rx.cond(FormState.dirty, rx.badge(tr("unsaved.warning"), color_scheme="amber"))),
            rx.cond(FormState.form_error != "", rx.callout(FormState.form_error, color_scheme="red", icon="triangle-alert", width="100%", id="form-error")),
            *sections,
            rx.hstack(
                rx.button(tr("save"), type="submit", size="3", id="form-save"),
                rx.button(tr("cancel"), type="button", variant="soft", color_scheme="gray", size="3", on_click=FormState.cancel),
                spacing="3",
            ),
            spacing="4", width="100%", max_width="960px",
        ),
        on_submit=lambda _data: FormState.save, prevent_default=True, width="100%",
    )
    return rx.fragment(
        rx.cond(FormState.forbidden, forbidden_box(), rx.cond(FormState.missing, rx.heading(tr("not_found")), body)),
        confirm_dialog(FormState.leave_open, tr("unsaved.leave"), FormState.leave, FormState.stay),
    )
