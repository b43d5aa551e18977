"""Generated detail page: fields, row actions, related lists and the record's history timeline."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.core import comments as comment_service
from app.core import crud, links, live, record_timeline, rows
from app.core.display import display_kind, fmt_value
from app.core.errors import NotFound, PermissionDenied, PultError, ValidationFailed
from app.core.kinds import field_options, kind_for
from app.core.query import ListParams, get_many, relation_text, relation_titles
from app.core.registry import RESOURCES
from app.core.resource import Resource
from app.core.ui.action_params import ActionParamsMixin, action_params
from app.core.ui.record_blocks import RecordBlocksMixin, comment_wall_card, timeline_card
from app.core.ui.base import AuthState, tr, ui_session
from app.core.ui.widgets import forbidden_box
from app.core.ui.list_state import file_pair, file_urls, row_dict
from app.core.ui.widgets import confirm_dialog, label, page_header, resource_label

RELATED_LIMIT = 10


def detail_names(res: type[Resource]) -> list[str]:
    if res.detail_fields is not None:
        return list(res.detail_fields)
    names = [c.name for c in res.columns]
    names += [f.name for f in res.form_fields() if f.name not in names and (not f.virtual and kind_for(res.model, f).stored or f.through is not None or f.fk is not None)]
    return names


def fk_targets(res: Resource) -> dict[str, str]:
    """Field -> key of the resource whose table a foreign key of ``res``'s model points to."""
    by_table: dict[str, str] = {}
    for key, r in RESOURCES.items():  # the first resource of a table (projects, not deleted projects)
        by_table.setdefault(r.model.__tablename__, key)
    out = {}
    for column in res.model.__table__.columns:
        for fk in column.foreign_keys:
            key = by_table.get(fk.column.table.name)
            if key is not None:
                out[column.name] = key
    return out


def _cell_text(child: Resource, c: Any, record: Any, lang: str) -> str:
    """A child row's cell on the detail page: an option by its label, anything else as its kind shows it."""
    from app.core.i18n import t as translate

    value = getattr(record, c.name, None)
    if value is None:
        return ""
    options = dict(field_options(child.model, c))
    if options:
        key = options.get(str(getattr(value, "value", value)))
        return translate(key, lang) if key else str(value)
    return kind_for(child.model, c).display(value, lang)


def related_title(db: Any, user: Any, target: str, value: Any) -> str:
    """The name of the record ``value`` of resource ``target`` as ``user`` may see it; its id
    otherwise (out of scope, deleted, or not viewable)."""
    res = RESOURCES[target]()
    try:
        if not res.can(user, "view"):
            return str(value)
        return res.title(crud.get_record(db, res, user, str(value)))
    except PultError:
        return str(value)


class DetailState(RecordBlocksMixin, ActionParamsMixin, AuthState):
    res_key: str = ""
    record_id: str = ""
    title: str = ""
    values: dict[str, str] = {}
    hrefs: dict[str, str] = {}  # field -> link of a column declared with .href() (e.g. a job's file)
    actions: list[str] = []
    can_update: bool = False
    can_delete: bool = False
    deleted: bool = False
    missing: bool = False
    forbidden: bool = False
    related: dict[str, list[dict[str, str]]] = {}
    #: The related resources whose block offers "+ Создать": those this user may create records of
    #: (``can(user, "create")``), decided here on the server like every other button of the page.
    related_create: list[str] = []
    confirm_open: bool = False
    confirm_text: str = ""
    pending: str = ""

    def _res(self) -> Resource:
        return RESOURCES[self.res_key]()

    @rx.event
    def load(self, res_key: str):
        self.res_key = res_key
        self.record_id = str(self.router.page.params.get("id", ""))
        self.confirm_open = False
        self.timeline_kind = self.reply_to = self.edit_id = self.delete_id = self.comment_error = ""
        res = self._res()
        live.watch(self, {res.model.__tablename__} | {RESOURCES[key].model.__tablename__ for _t, key, _fk in res.related}
                   | record_timeline.watched_tables(type(res))  # the timeline (audit log, comments, declared events)
                   | {f.through.__tablename__ for f in links.many_fields(res)}
                   | {RESOURCES[f.resource].model.__tablename__ for f in rows.rows_fields(res)})
        return self._reload()

    def live_refresh(self) -> None:
        if self.res_key in RESOURCES:  # a state whose Redis copy vanished has no page to reload (live.py resyncs the tab)
            self._reload()

    def _reload(self):
        res = self._res()
        self.missing = self.forbidden = False
        try:
            with ui_session() as db:
                user = self.current_user()
                record = crud.get_record(db, res, user, self.record_id)
                self.title = res.title(record)
                columns = {c.name: c for c in res.columns}
                secret = {f.name for f in res.form_fields() if kind_for(res.model, f).write_only}
                targets = fk_targets(res)
                values, hrefs = {}, {}
                many = {f.name: f for f in links.many_fields(res)}
                kids = {f.name: f for f in rows.rows_fields(res)}
                for name in detail_names(res):
                    if name in kids:  # child rows, one per line: "Пн · 09:00 · 18:00"
                        child, f = rows.child_of(kids[name]), kids[name]
                        records = rows.children(db, user, f, [crud.pk_of(record)])[crud.pk_of(record)]
                        values[name] = "\n".join(" · ".join(_cell_text(child, c, r, self.lang) for c in rows.columns(f)) for r in records)
                        continue
                    if name in many:  # the linked records the user may see, by title
                        pairs = links.shown(db, user, res.model, many[name], [crud.pk_of(record)], self.lang)[crud.pk_of(record)]
                        values[name] = ", ".join(t for _i, t in pairs)
                        continue
                    if name in secret:
                        values[name] = "***" if getattr(record, name, None) else ""
                        continue
                    c = columns.get(name)
                    raw = c.value_fn(record) if c is not None and c.value_fn else getattr(record, name, None)
                    if c is not None and c.resource:  # a relation column: the title as the list shows it
                        values[name] = relation_text(raw, get_many(db, RESOURCES[c.resource], user, [raw], self.lang))
                        continue
                    kind = res.kind_of(name)
                    if kind.links_file:  # a photo's thumbnail (a file: its link), the file itself behind it
                        thumb, full = file_pair(db, res, record, name)
                        values[name], hrefs[name] = (thumb if kind.cell == "photo" else full), full
                        continue
                    if c is None and raw is not None and name in targets:  # a bare foreign key: the record's name, not its id
                        values[name] = related_title(db, user, targets[name], raw)
                        continue
                    values[name] = fmt_value(raw, self.lang, display_kind(name, kind.name), c.currency if c else None, c.choices_key if c else None)
                    if kind.unit and values[name]:
                        values[name] += kind.unit
                    if c is not None and c.href_fn is not None:
                        hrefs[name] = c.href_fn(record) or ""
                self.values, self.hrefs = values, hrefs
                self.deleted = bool(getattr(record, "deleted_at", None))
                self.can_update = "update" in res.operations and res.can(user, "update", record) and not self.deleted
                self.can_delete = "delete" in res.operations and res.can(user, "delete", record) and not self.deleted
                self.actions = [n for n, s in res.actions.items() if s.row and (s.visible is None or s.visible(record)) and res.can(user, n, record)]
                self._load_blocks(db, res, user, record)
                self.related, self.related_create = {}, []
                for _title, key, fk in res.related:
                    target = RESOURCES[key]()
                    if not target.can(user, "view"):
                        continue
                    if "create" in target.operations and target.can(user, "create"):
                        self.related_create.append(key)
                    page = crud.list_records(db, target, user, ListParams(filters={fk: str(crud.pk_of(record))}, page_size=RELATED_LIMIT))
                    titles = relation_titles(db, target, user, page.rows, self.lang)
                    titles.update(file_urls(db, target, page.rows))
                    self.related[key] = [row_dict(target, user, r, self.lang, titles) for r in page.rows]
        except NotFound:
            self.missing = True
        except PermissionDenied:
            self.forbidden = True
        except PultError as exc:
            return self.fail(exc)

    @rx.event
    def ask(self, name: str):
        res = self._res()
        self.pending = name
        self.confirm_text = self.t("confirm.soft_delete" if res.has_soft_delete() else "confirm.delete") if name == "delete" else self.t("confirm.action_one", action=self.t(res.actions[name].label))
        try:
            has_params = self._load_params(res, name)  # e.g. the new status: asked in the dialog
        except PultError as exc:
            return self.fail(exc)
        spec = res.actions.get(name)
        if not has_params and spec is not None and not spec.confirm:
            return DetailState.run_pending
        self.confirm_open = True

    @rx.event
    def cancel_confirm(self):
        self.confirm_open, self.pending = False, ""
        self._discard_param_file()
        self._clear_params()

    @rx.event
    def run_pending(self):
        res = self._res()
        name, self.confirm_open = self.pending, False
        params = dict(self.param_values)
        try:
            with ui_session() as db:
                user = self.current_user()
                if name == "delete":
                    crud.delete_record(db, res, user, self.record_id, self.lang)
                    return [*self.ok(self.t("deleted")), rx.redirect(res.url())]
                if name == "restore":
                    crud.restore_record(db, res, user, self.record_id)
                    message = self.t("restored")
                else:
                    result = crud.run_action(db, res, user, name, [self.record_id], self.lang, params)
                    message = self.t(result) if result else self.t("done")
        except ValidationFailed as exc:
            if self._keep_params_open(exc):  # the message under the input, the dialog still open
                self.confirm_open = True
                return None
            outcome = self.fail(exc)
        except PultError as exc:
            outcome = self.fail(exc)
        else:
            outcome = self.ok(message)
        self.pending = ""
        self._clear_params()
        return [*(outcome if isinstance(outcome, list) else [outcome]), DetailState.refresh]

    @rx.event
    def restore(self):
        self.pending = "restore"
        return DetailState.run_pending

    @rx.event
    def refresh(self):
        return self._reload()


def _related_block(res: type[Resource], title_key: str, key: str, fk: str) -> rx.Component:
    target = RESOURCES[key]
    cols = [(j, c) for j, c in enumerate(target.columns) if not c.hidden][:6]
    return rx.cond(
        DetailState.related.contains(key),
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading(tr(title_key), size="3"), rx.spacer(),
                    rx.link(tr("details"), href=f"{target.url()}?f_{fk}=" + DetailState.record_id, size="2"),
                    rx.cond(DetailState.related_create.contains(key),
                            rx.link(rx.button(rx.icon("plus", size=12), tr("create"), size="1", variant="soft"),
                                    href=f"{target.url()}/new?{fk}=" + DetailState.record_id, id=f"related-create-{key.replace('.', '-')}"))
                    if "create" in target.operations else rx.fragment(),
                    width="100%", align="center",
                ),
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(label(target, c.name, c.label)) for _j, c in cols])),
                    rx.table.body(rx.foreach(DetailState.related.get(key, []).to(list[dict[str, str]]), lambda row: rx.table.row(*[
                        rx.table.cell(rx.link(row[f"c{j}"], href=f"{target.url()}/" + row["id"].to(str)) if c.is_link else row[f"c{j}"]) for j, c in cols
                    ]))),
                    size="1", width="100%",
                ),
                width="100%",
            ),
            width="100%",
        ),
    )


def detail_page(res: type[Resource]) -> rx.Component:
    names = detail_names(res)
    buttons = [
        rx.cond(DetailState.actions.contains(name), rx.button(tr(spec.label), **_color(spec), on_click=DetailState.ask(name), id=f"action-{name}"))
        for name, spec in res.actions.items() if spec.row
    ]
    if "update" in res.operations:
        buttons.append(rx.cond(DetailState.can_update, rx.link(rx.button(rx.icon("pencil", size=14), tr("edit"), variant="soft"), href=f"{res.url()}/" + DetailState.record_id + "/edit")))
    if "delete" in res.operations:
        buttons.append(rx.cond(DetailState.can_delete, rx.button(rx.icon("trash-2", size=14), tr("delete"), variant="soft", color_scheme="red", on_click=DetailState.ask("delete"))))
    if res.has_soft_delete():
        buttons.append(rx.cond(DetailState.deleted, rx.button(tr("restore"), on_click=DetailState.restore)))
    linked = {c.name for c in res.columns if c.href_fn is not None}

    def value(n: str) -> rx.Component:
        kind = res.kind_of(n)
        if kind.links_file:  # the photo's thumbnail (a file: "Открыть"), opening the file in a new tab
            url, href = DetailState.values.get(n, "").to(str), DetailState.hrefs.get(n, "").to(str)
            shown_file = (rx.image(src=url, alt=label(res, n, None), max_width="240px", max_height="240px", border_radius="var(--radius-2)")
                          if kind.cell == "photo" else rx.hstack(rx.icon("paperclip", size=14), tr("files.open"), spacing="1", align="center"))
            return rx.cond(url != "", rx.link(shown_file, href=href, is_external=True, id=f"value-{n}"),
                           rx.text("—", size="3", color_scheme="gray", id=f"value-{n}"))
        shown = rx.text(DetailState.values.get(n, ""), size="3", id=f"value-{n}", white_space="pre-line")
        if n not in linked:
            return shown
        return rx.cond(DetailState.hrefs.get(n, "") != "",
                       rx.link(DetailState.values.get(n, ""), href=DetailState.hrefs.get(n, ""), is_external=True, size="3", id=f"value-{n}"),
                       shown)

    fields_card = rx.card(
        rx.grid(
            *[rx.vstack(rx.text(label(res, n, next((c.label for c in res.columns if c.name == n), None)), size="1", color_scheme="gray"), value(n), spacing="1") for n in names],
            columns=rx.breakpoints(initial="1", sm="2", lg="3"), spacing="4", width="100%",
        ),
        width="100%",
    )
    blocks = [comment_wall_card(DetailState, res) if b is comment_service.wall_of(res) else timeline_card(DetailState, res) for b in res.detail_blocks]
    if record_timeline.timeline_of(res) is None:  # the audit history every record has
        blocks.append(timeline_card(DetailState, res))
    body = rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=14), resource_label(res.key())), href=res.url(), size="2"),
        page_header(rx.hstack(resource_label(res.key(), one=True), rx.text("·", color_scheme="gray"), DetailState.title), *buttons),
        rx.cond(DetailState.deleted, rx.callout(tr("trash"), color_scheme="gray", icon="trash-2")),
        fields_card,
        *[_related_block(res, t, k, fk) for t, k, fk in res.related],
        *blocks,
        confirm_dialog(DetailState.confirm_open, DetailState.confirm_text, DetailState.run_pending, DetailState.cancel_confirm, action_params(DetailState)),
        spacing="4", width="100%",
    )
    return rx.cond(DetailState.forbidden, forbidden_box(), rx.cond(DetailState.missing, rx.heading(tr("not_found")), body))


def _color(spec) -> dict:
    """``color_scheme`` only when the action names one (else the theme's accent colour)."""
    return {"color_scheme": spec.color} if spec.color else {}
