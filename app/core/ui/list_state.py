"""State of every generated list page: paging, sort, filters, search, selection, actions.

One state class serves all resources: ``res_key`` says which one is on screen. The URL carries
``q``, ``sort``, ``cursor``/``page``, ``trash`` and ``f_<filter>`` so a filtered view can be
bookmarked, shared and reloaded (a filter's bare name, as the REST API takes it, is read too:
:func:`app.core.query.filters_from_query`).
"""

from __future__ import annotations

from typing import Any

import reflex as rx


from app.core import crud, live
from app.core.display import fmt_cell, form_value
from app.core.errors import NotAuthenticated, PermissionDenied, PultError, ValidationFailed
from app.core.query import (
    EXACT_COUNT_BELOW, ListParams, base_query, distinct_values, filters_from_query, pk_column, relation_text, relation_titles,
)
from app.core.registry import RESOURCES
from app.core.resource import Resource
from app.core.ui.action_params import ActionParamsMixin
from app.core.ui.base import ERROR_TOAST, AuthState, push_url, ui_session

#: The background exact count of a list gives up after this long (the estimate stays).
REFINE_TIMEOUT_MS = 3000

#: "Select all matching" runs an in-process action on at most this many rows; more is refused with a
#: message. Actions declared with ``job=True`` have no limit: a worker runs them in chunks.
MAX_BULK = 10_000


def row_dict(res: Resource, user: Any, record: Any, lang: str, titles: dict[str, dict[Any, str]] | None = None) -> dict[str, str]:
    """A record as the table shows it: id, formatted cells ``c<j>``, badge colours ``b<j>``, allowed actions.

    ``titles`` are the page's relation titles (:func:`app.core.query.relation_titles`, read once
    for the whole page): a relation column shows the related record's title from them."""
    d = {"id": str(crud.pk_of(record))}
    for j, column in enumerate(res.columns):
        if f"file:{column.name}" in (titles or {}):  # a file/photo: its presigned URL (see file_urls)
            d[f"c{j}"] = titles[f"file:{column.name}"].get(getattr(record, column.name, None), "")
        elif column.resource:
            d[f"c{j}"] = relation_text(getattr(record, column.name, None), (titles or {}).get(column.name, {}))
        else:
            d[f"c{j}"] = fmt_cell(column, record, lang)
        if column.badge_fn is not None:
            d[f"b{j}"] = column.badge_fn(record) or ""
        if column.href_fn is not None:
            d[f"h{j}"] = column.href_fn(record) or ""
        if column.is_editable:  # the value as its form field starts with, for the in-place input
            d[f"e{j}"] = form_value(record, next(f for f in res.form_fields() if f.name == column.name))
    for name, spec in res.actions.items():
        ok = (spec.visible is None or spec.visible(record)) and res.can(user, name, record)
        d[f"a_{name}"] = "1" if ok else ""
    d["can_update"] = "1" if "update" in res.operations and res.can(user, "update", record) else ""
    return d


def file_urls(db: Any, res: Resource, records: list[Any]) -> dict[str, dict[Any, str]]:
    """The presigned URLs a page of ``records`` shows in its file/photo columns, as
    ``{"file:<column>": {file id: URL}}`` for :func:`row_dict` (a photo's thumbnail, a file's
    download). The records were read for this user, so the user may see their files. No store
    configured: the cells stay empty rather than the page failing."""
    from app.core import files
    from app.core.kinds import kind_named

    kinds = {c.name: kind_named(c.kind) for c in res.columns if kind_named(c.kind).links_file}
    if not kinds:
        return {}
    try:
        urls = files.urls_for(db, res, records, list(kinds)) if records else {n: {} for n in kinds}
    except PultError:
        urls = {n: {} for n in kinds}
    return {f"file:{n}": {i: (thumb if kinds[n].cell == "photo" else full) for i, (thumb, full) in m.items()} for n, m in urls.items()}


def file_pair(db: Any, res: Resource, record: Any, name: str) -> tuple[str, str]:
    """(thumbnail URL, URL) of the file in ``record``'s field ``name`` (read for this user), or ("", "")."""
    from app.core import files

    value = getattr(record, name, None)
    if value is None:
        return "", ""
    try:
        return files.urls_for(db, res, [record], [name])[name].get(value, ("", ""))
    except PultError:
        return "", ""


class ListState(ActionParamsMixin, AuthState):
    res_key: str = ""
    rows: list[dict[str, str]] = []
    sort: str = ""
    search: str = ""
    filters: dict[str, str] = {}
    trash: bool = False
    cursor: str = ""
    page: int = 0
    keyset: bool = True
    has_next: bool = False
    has_prev: bool = False
    next_cursor: str = ""
    prev_cursor: str = ""
    total: int = 0
    total_is_estimate: bool = False
    total_text: str = ""
    #: The total as a number people read ("1 234"; "≈ 1 234" while it is an estimate).
    total_number: str = ""
    selected: list[str] = []
    all_matching: bool = False
    hidden: list[str] = []
    loading: bool = False
    forbidden: bool = False
    error: str = ""
    #: A select filter's options without a fixed list: [value, label] of the values in the table.
    select_options: dict[str, list[list[str]]] = {}
    filter_labels: dict[str, str] = {}
    can_create: bool = False
    can_delete: bool = False
    bulk_allowed: list[str] = []
    # confirmation dialog
    confirm_open: bool = False
    confirm_text: str = ""
    pending: str = ""
    pending_ids: list[str] = []
    # a cell edited in place (``col(...).editable()``): "<row id>:<column index>", its text, its message
    editing: str = ""
    edit_value: str = ""
    edit_error: str = ""

    # -- loading ------------------------------------------------------------------
    def _res(self) -> Resource:
        return RESOURCES[self.res_key]()

    def _params(self) -> ListParams:
        return ListParams(
            sort=self.sort, filters=dict(self.filters), search=self.search, trash=self.trash,
            page_size=self._res().page_size, cursor=self.cursor, page=self.page,
            count_mode="estimate",  # the page shows at once; refine_total counts in the background
            lang=self.lang,
        )

    @rx.event
    def load(self, res_key: str):
        """``on_load``: read the view from the URL, then query."""
        q = dict(self.router.url.query_parameters)
        self.res_key = res_key
        res = self._res()
        self.search = q.get("q", "")
        self.sort = q.get("sort", "")
        self.cursor = q.get("cursor", "")
        self.page = int(q["page"]) if q.get("page", "").isdecimal() and len(q["page"]) < 19 else 0
        self.trash = q.get("trash") == "1" and res.has_soft_delete()
        self.filters = filters_from_query(res, q)
        self.hidden = [c.name for c in res.columns if c.hidden]
        self.selected, self.all_matching, self.confirm_open = [], False, False
        self.editing, self.edit_error = "", ""
        live.watch(self, {res.model.__tablename__})
        return self._reload(sync_url=False)

    def live_refresh(self):
        """Called by app.core.live when the table changed: same page, sort, filters and selection.
        Returns the reload's events (the background recount): app.core.live sends them on."""
        return self._reload(sync_url=False)

    def _reload(self, sync_url: bool = True):
        res = self._res()
        self.error = ""
        try:
            with ui_session() as db:
                user = self.current_user()
                self.forbidden = not res.can(user, "view")
                if self.forbidden:
                    self.rows = []
                    return None
                page = crud.list_records(db, res, user, self._params())
                titles = relation_titles(db, res, user, page.rows, self.lang)  # one query per related resource
                titles.update(file_urls(db, res, page.rows))
                self.rows = [row_dict(res, user, r, self.lang, titles) for r in page.rows]
                self.sort, self.keyset, self.page = page.sort, page.keyset, page.page
                self.has_next, self.has_prev = page.has_next, page.has_prev
                self.next_cursor, self.prev_cursor = page.next_cursor, page.prev_cursor
                self._set_total(page.total or 0, page.total_is_estimate)
                self.can_create = "create" in res.operations and res.can(user, "create")
                self.can_delete = "delete" in res.operations and res.can(user, "delete")
                self.bulk_allowed = [n for n, s in res.actions.items() if s.bulk and res.can(user, n)]
                for f in res.filters:
                    if f.kind == "select" and f.options is None and not _enum_filter(res, f.name):
                        self.select_options[f.name] = [[v, option_label(res, f.name, v, self.lang)] for v in distinct_values(db, res, user, f.name)]
                    if f.kind == "relation":
                        self.filter_labels[f.name] = _relation_title(db, user, f.resource, self.filters.get(f.name, ""))
        except NotAuthenticated as exc:
            return self.fail(exc)
        except ValidationFailed as exc:  # a filter or search value the columns cannot take: say which
            self.rows, self.error = [], bad_view_message(res, exc, self.lang)
            return [self._sync_url()] if sync_url else None
        except PultError as exc:
            self.rows, self.error = [], exc.message(self.lang)
            return None
        events = [self._sync_url()] if sync_url else []
        if self.total_is_estimate and self.total < EXACT_COUNT_BELOW:
            events.append(ListState.refine_total)
        return events or None

    @rx.event(background=True)
    async def refine_total(self):
        """Replace a small estimate by the exact count once it is known (the page did not wait)."""
        import asyncio

        async with self:
            res, params, token, ip = self._res(), self._params(), self.session_token(), self.client_ip()
        view = (params.sort, tuple(sorted(params.filters.items())), params.search, params.trash)

        def run() -> int | None:
            from app.core.query import bounded_count

            with ui_session() as db:
                from app.core import auth as auth_service

                user = auth_service.resolve(db, token, ip=ip)
                if not res.can(user, "view"):
                    return None
                return bounded_count(db, base_query(res, user, params), timeout_ms=REFINE_TIMEOUT_MS)

        try:
            n = await asyncio.to_thread(run)
        except PultError:
            return
        if n is None:
            return
        async with self:
            p = self._params()
            if (p.sort, tuple(sorted(p.filters.items())), p.search, p.trash) == view and self.res_key == res.key():
                self._set_total(n, False)

    def _set_total(self, n: int, estimate: bool) -> None:
        self.total, self.total_is_estimate = n, estimate
        self.total_text = self._total_text()
        exact = f"{n:,}".replace(",", "\u00a0")
        self.total_number = f"≈ {exact}" if estimate else exact

    def _total_text(self) -> str:
        if self.total_is_estimate:
            n = self.total
            approx = f"≈ {n / 1_000_000:.1f} M" if n >= 1_000_000 else f"≈ {n / 1000:.0f} K" if n >= 1000 else f"≈ {n}"
            return self.t("rows.total", n=approx.replace(".", "," if self.lang == "ru" else "."))
        return self.t("rows.total", n=f"{self.total:,}".replace(",", "\u00a0"))

    def _url_query(self) -> dict[str, str]:
        """The view on screen as the URL's query (only the values that are set)."""
        res = self._res()
        query = {"q": self.search, "sort": self.sort if self.sort != res.default_sort else "", "trash": "1" if self.trash else ""}
        if self.keyset:
            query["cursor"] = self.cursor
        elif self.page:
            query["page"] = str(self.page)
        query.update({f"f_{k}": v for k, v in self.filters.items()})
        return {k: v for k, v in query.items() if v not in ("", None)}

    def _sync_url(self):
        """A new history entry for the view on screen: paging, sort, search and filters each
        make one, so Back returns to the page and filters before."""
        return push_url(self._res().url(), self._url_query())

    @rx.event
    def follow_url(self):
        """Back or Forward between this list's own entries (``popstate``, see
        :func:`app.core.ui.list_page.head_script`): show the view of the entry's URL. The router
        runs ``on_load`` for most of them, but not for the entry it last navigated to itself
        (it never saw the entries pushed since), so the page checks too; a view already on
        screen is not queried again."""
        if not self.res_key or self.router.url.path.rstrip("/") != self._res().url():
            return None
        q = {k: v for k, v in dict(self.router.url.query_parameters).items() if v != ""}
        if q == self._url_query():
            return None
        return self.load(self.res_key)

    def _restart(self):
        self.cursor, self.page = "", 0
        self.selected, self.all_matching = [], False
        return self._reload()

    # -- view controls ------------------------------------------------------------
    @rx.event
    def set_search(self, value: str):
        self.search = value
        return self._restart()

    @rx.event
    def set_filter(self, name: str, value: str):
        self.filters[name] = "" if value == "__any__" else value
        return self._restart()

    @rx.event
    def set_relation_filter(self, name: str, value: str, title: str):
        self.filter_labels[name] = title
        return self.set_filter(name, value)

    @rx.event
    def set_range(self, name: str, side: str, value: str):
        lo, _, hi = self.filters.get(name, "").partition("..")
        lo, hi = (value, hi) if side == "lo" else (lo, value)
        self.filters[name] = f"{lo}..{hi}" if (lo or hi) else ""
        return self._restart()

    @rx.event
    def reset_filters(self):
        self.filters = {k: "" for k in self.filters}
        self.search = ""
        return self._restart()

    @rx.event
    def toggle_trash(self):
        self.trash = not self.trash
        return self._restart()

    @rx.event
    def sort_by(self, name: str):
        self.sort = f"-{name}" if self.sort == name else name
        return self._restart()

    @rx.event
    def toggle_column(self, name: str):
        self.hidden = [h for h in self.hidden if h != name] if name in self.hidden else [*self.hidden, name]

    @rx.event
    def go(self, where: str):
        if self.keyset:
            self.cursor = {"first": "", "last": "last", "next": self.next_cursor, "prev": self.prev_cursor}[where]
        else:
            self.cursor = "last" if where == "last" else ""
            self.page = {"first": 0, "last": self.page, "next": self.page + 1, "prev": max(0, self.page - 1)}[where]
        self.selected, self.all_matching = [], False
        return self._reload()

    @rx.event
    def count_exact(self):
        try:
            with ui_session() as db:
                user = self.current_user()
                from app.core.query import count

                self._set_total(count(db, base_query(self._res(), user, self._params())), False)
        except PultError as exc:
            return self.fail(exc)

    @rx.event
    def refresh(self):
        return self._reload(sync_url=False)

    # -- selection ------------------------------------------------------------------
    @rx.event
    def toggle_row(self, row_id: str):
        self.all_matching = False
        self.selected = [s for s in self.selected if s != row_id] if row_id in self.selected else [*self.selected, row_id]

    @rx.event
    def toggle_page(self, checked: bool):
        self.all_matching = False
        self.selected = [r["id"] for r in self.rows] if checked else []

    @rx.event
    def select_all_matching(self):
        """Select every row the view's filters match (not only this page); the bar and the
        confirmation then show their exact number when it can be counted in a moment."""
        self.all_matching = True
        self.selected = [r["id"] for r in self.rows]
        if not self.total_is_estimate:
            return None
        try:
            with ui_session() as db:
                from app.core.query import bounded_count

                user = self.current_user()
                n = bounded_count(db, base_query(self._res(), user, self._params()), timeout_ms=REFINE_TIMEOUT_MS)
        except PultError as exc:
            return self.fail(exc)
        if n is not None:
            self._set_total(n, False)
        return None

    def _target_ids(self, db: Any, user: Any) -> list[str]:
        if not self.all_matching:
            return list(self.selected)
        stmt = base_query(self._res(), user, self._params()).with_only_columns(pk_column(self._res().model)).limit(MAX_BULK + 1)
        ids = [str(i) for i in db.exec(stmt).all()]
        if len(ids) > MAX_BULK:
            raise ValidationFailed.one("", "bulk.too_many", n=f"{MAX_BULK:,}".replace(",", "\u00a0"))
        return ids

    def _view(self) -> dict[str, Any]:
        p = self._params()
        return {"sort": p.sort, "filters": p.filters, "search": p.search, "trash": p.trash}

    # -- actions --------------------------------------------------------------------
    @rx.event
    def ask(self, name: str, row_id: str):
        """Open the confirmation for action ``name`` on one row (``row_id``) or the selection ("")."""
        res = self._res()
        self.pending = name
        self.pending_ids = [row_id] if row_id else []
        if name == "delete":
            self.confirm_text = self.t("confirm.soft_delete" if res.has_soft_delete() else "confirm.delete")
        elif row_id:
            self.confirm_text = self.t("confirm.action_one", action=self.t(res.actions[name].label))
        else:
            n = self.total if self.all_matching else len(self.selected)
            self.confirm_text = self.t("confirm.action", action=self.t(res.actions[name].label), n=n)
        spec = res.actions.get(name)
        try:
            has_params = self._load_params(res, name)
        except PultError as exc:
            return self.fail(exc)
        if not has_params and spec is not None and not spec.confirm:
            return ListState.run_pending
        self.confirm_open = True

    @rx.event
    def cancel_confirm(self):
        self.confirm_open = False
        self.pending, self.pending_ids = "", []
        self._discard_param_file()
        self._clear_params()

    @rx.event
    def run_pending(self):
        res = self._res()
        name = self.pending
        self.confirm_open = False
        spec = res.actions.get(name)
        params = dict(self.param_values)
        try:
            with ui_session() as db:
                user = self.current_user()
                if spec is not None and spec.job and not self.pending_ids:
                    from app.core.kit_jobs import enqueue_action

                    enqueue_action(db, user, self.res_key, name, None if self.all_matching else list(self.selected), self._view(), self.lang, params)
                    self.pending, self.selected, self.all_matching = "", [], False
                    self._clear_params()
                    return rx.toast.info(self.t("jobs.action.queued"))
                ids = self.pending_ids or self._target_ids(db, user)
                if name == "delete":
                    for i in ids:
                        crud.delete_record(db, res, user, i, self.lang)
                    message = self.t("deleted")
                elif name == "restore":
                    for i in ids:
                        crud.restore_record(db, res, user, i)
                    message = self.t("restored")
                else:
                    result = crud.run_action(db, res, user, name, ids, self.lang, params)
                    message = self.t(result) if result else self.t("done")
        except ValidationFailed as exc:
            if self._keep_params_open(exc):  # the message under the input, the dialog still open
                self.confirm_open = True
                return None
            self.pending, self.pending_ids = "", []
            return [self.fail(exc), ListState.refresh]
        except PultError as exc:
            self.pending, self.pending_ids = "", []
            return [self.fail(exc), ListState.refresh]
        self._clear_params()
        self.pending, self.pending_ids = "", []
        self.selected, self.all_matching = [], False
        return [*self.ok(message), ListState.refresh]

    @rx.event
    def export(self, fmt: str):
        """Start an export job of exactly this view; the file arrives as a notification."""
        from app.core import jobs

        try:
            with ui_session() as db:
                user = self.current_user()
                if not self._res().can(user, "view"):
                    raise PermissionDenied()
                base_query(self._res(), user, self._params())  # a view the list refused is not exported either
                if fmt == "xlsx":
                    from app.core import exporter

                    exporter.check_xlsx_size(db, self._res(), user, self._params())
                jobs.enqueue(db, user, "kit.export", {"resource": self.res_key, "fmt": fmt, "lang": self.lang, **self._view()})
        except PultError as exc:
            return self.fail(exc)
        return rx.toast.info(self.t("export.queued"))

    # -- cells edited in place ---------------------------------------------------------
    @rx.event
    def start_edit(self, row_id: str, j: int, value: str):
        self.editing, self.edit_value, self.edit_error = f"{row_id}:{j}", value, ""

    @rx.event
    def set_edit_value(self, value: str):
        self.edit_value, self.edit_error = value, ""

    @rx.event
    def cancel_edit(self):
        self.editing, self.edit_error = "", ""

    @rx.event
    def edit_key(self, key: str):
        """Enter saves the cell, Escape puts the old value back."""
        if key == "Enter":
            return ListState.save_edit
        if key == "Escape":
            return ListState.cancel_edit
        return None

    @rx.event
    def save_edit(self):
        """Save the edited cell through the resource's update service: the same permission,
        parsing, ``validate``, hooks, audit row and live refresh as the edit form."""
        if not self.editing:
            return None
        row_id, _, j = self.editing.rpartition(":")
        res = self._res()
        column = res.columns[int(j)]
        if not column.is_editable:
            return self.cancel_edit()
        try:
            with ui_session() as db:
                crud.update_record(db, res, self.current_user(), row_id, {column.name: self.edit_value}, self.lang)
        except ValidationFailed as exc:
            messages = exc.messages(self.lang)
            self.edit_error = messages.get(column.name) or next(iter(messages.values()), "") or self.t("error.form")
            return rx.toast.error(self.edit_error, id=ERROR_TOAST)
        except NotAuthenticated as exc:
            return self.fail(exc)
        except PultError as exc:
            self.edit_error = exc.message(self.lang)
            return rx.toast.error(self.edit_error, id=ERROR_TOAST)
        self.editing, self.edit_error = "", ""
        more = self._reload(sync_url=False)
        return [*self.ok(self.t("saved")), *(more if isinstance(more, list) else [more] if more else [])]

    @rx.event
    def restore(self, row_id: str):
        self.pending, self.pending_ids = "restore", [row_id]
        return ListState.run_pending


_VIEW_PARAMS = {"q": "search", "page": "page.number"}


def bad_view_message(res: Resource, exc: ValidationFailed, lang: str) -> str:
    """What the list says when a value of its view (filter, search, page) is refused: "Фильтр «Цена»: Введите число"."""
    from app.core.display import label_for
    from app.core.i18n import t

    by_name = {f.name: f for f in res.filters}
    parts = []
    for name, message in exc.messages(lang).items():
        if name in by_name:
            parts.append(t("filters.invalid", lang, field=label_for(type(res), name, by_name[name].label, lang), message=message))
        else:
            parts.append(f"{t(_VIEW_PARAMS.get(name, name), lang)}: {message}" if name else message)
    return "; ".join(parts)


def option_label(res: Resource, name: str, value: str, lang: str) -> str:
    """A filter option as its column shows the value: translated through the column's
    ``choices`` key when it has one ("set_status" → "Сменить статус"), else as stored."""
    from app.core.i18n import has, t

    column = next((c for c in res.columns if c.name == name), None)
    key = f"{column.choices_key}.{value}" if column is not None and column.choices_key else ""
    return t(key, lang) if key and has(key) else value


def _relation_title(db: Any, user: Any, target: str | None, value: str) -> str:
    if not value or not target:
        return ""
    target_res = RESOURCES[target]()
    try:
        return target_res.title(crud.get_record(db, target_res, user, value))
    except PultError:
        return value


def _enum_filter(res: Resource, name: str) -> bool:
    from app.core.resource import field_python_type, is_enum

    return is_enum(field_python_type(res.model, name))


