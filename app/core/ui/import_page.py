"""The import page every resource gets at ``/<panel>/<slug>/import``.

Upload a CSV/XLSX → map file columns to fields (pre-filled by name or label) → choose the key that
finds existing records → the preview shows the first rows as the import will treat them (new,
updates, or the error under the field) → start the job and watch its progress here; the error
report downloads from the same place. See :mod:`app.core.importer` for the rules.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.core import importer, jobs, live
from app.core.errors import PultError, ValidationFailed
from app.core.registry import RESOURCES
from app.core.resource import Resource
from app.core.ui.base import AuthState, tr, ui_session
from app.core.ui.job_run import JobRunMixin, job_run_card
from app.core.ui.widgets import page_header

NONE = "__none__"  # a Radix select item cannot have an empty value
UPLOAD_ID = "import-upload"


class ImportState(JobRunMixin, AuthState):
    res_key: str = ""
    title: str = ""
    back_url: str = ""
    forbidden: bool = False
    filename: str = ""
    headers: list[str] = []
    fields: list[dict[str, str]] = []  # name, label, required ("1" / "")
    labels: dict[str, str] = {}
    mapping: dict[str, str] = {}  # field -> file column
    key: str = ""
    key_options: list[list[str]] = []  # [value, label]
    rows: list[dict[str, str]] = []  # line, op, op_label, v_<field>, e_<field>, err
    n_ok: int = 0
    n_bad: int = 0
    problems: dict[str, str] = {}  # file | mapping | key -> message
    _upload: str = ""  # the stored file's token (backend only)
    #: A resource that declares ``bulk_import``: no mapping or preview, its params instead.
    bulk: bool = False
    bulk_options: dict[str, list[list[str]]] = {}  # param -> [[value, label], ...]
    bulk_values: dict[str, str] = {}  # param -> chosen value ("" none)

    def _res(self) -> Resource:
        return RESOURCES[self.res_key]()

    @rx.event
    def load(self, res_key: str):
        self.res_key = res_key
        res = self._res()
        self.title = self.t("import.title", what=self.t(res.label or res.slug))
        self.back_url = res.url()
        self.filename, self.headers, self.mapping, self.rows, self.problems = "", [], {}, [], {}
        self.n_ok = self.n_bad = self.run_id = 0
        self.run, self._upload, self.busy = {}, "", False
        try:
            user = self.current_user()
        except PultError as exc:
            return self.fail(exc)
        self.bulk = getattr(res, "bulk_import", None) is not None
        if self.bulk:
            return self._load_bulk(res, user)
        self.forbidden = "create" not in res.operations or not res.can(user, "create")
        self.fields = [
            {"name": f.name, "label": importer.field_label(res, f.name, self.lang),
             "required": "1" if _required(res, f) else ""}
            for f in importer.importable_fields(res)
        ]
        self.labels = {f["name"]: f["label"] for f in self.fields}
        can_update = "update" in res.operations and res.can(user, "update")
        keys = importer.key_fields(res) if can_update else []
        self.key_options = [[NONE, self.t("import.key_none")]] + [[k, importer.field_label(res, k, self.lang) if k != "id" else "ID"] for k in keys]
        self.key = ""
        live.watch(self, {jobs.MODEL})
        return None

    @rx.event
    def load_here(self):
        """``on_load`` of a declared bulk import's own address (``BulkImport(url=...)``)."""
        path = "/" + str(self.router.page.path).strip("/")
        key = next((k for k, r in RESOURCES.items() if getattr(getattr(r, "bulk_import", None), "url", None) == path), "")
        return self.load(key) if key else None

    def _load_bulk(self, res: Resource, user: Any):
        """The declared bulk import: who may, and the options of its params (relation pickers)."""
        from app.core import bulk_import
        from app.core.crud import search_options
        from app.core.registry import resource

        spec = res.bulk_import
        self.title = self.t(spec.title) if spec.title else self.title
        self.forbidden = not bulk_import.may_import(res, user)
        if self.forbidden:
            return None
        self.bulk_values = {p.name: "" for p in spec.params}
        options: dict[str, list[list[str]]] = {}
        try:
            with ui_session() as db:
                for p in spec.params:
                    if p.resource:
                        options[p.name] = [[str(i), title] for i, title in search_options(db, resource(p.resource), user, "", limit=1000)]
                    else:
                        options[p.name] = [[str(v), self.t(label)] for v, label in (p.options or ())]
        except PultError as exc:
            return self.fail(exc)
        self.bulk_options = options
        live.watch(self, {jobs.MODEL})
        return None

    @rx.event
    def pick(self, name: str, value: str | list[str]):
        value = value if isinstance(value, str) else (value[0] if value else "")
        self.bulk_values = {**self.bulk_values, name: "" if value == NONE else value}
        self.problems = {k: v for k, v in self.problems.items() if k != name}

    @rx.event
    async def handle_upload(self, files: list[rx.UploadFile]):
        if not files:
            return None
        file = files[0]
        data = await file.read()
        self.problems = {}
        if self.bulk:
            return self._upload_bulk(file.name or "", data)
        try:
            user = self.current_user()
            res = self._res()
            importer.require_import(res, user, "")
            self._upload = importer.save_upload(user, file.name or "", data)
            headers, _ = importer.read_head(importer.upload_path(user, self._upload))
        except ValidationFailed as exc:
            self.problems = exc.messages(self.lang)
            self.filename, self.headers, self.rows = "", [], []
            return None
        except PultError as exc:
            return self.fail(exc)
        self.filename, self.headers = file.name or "", headers
        self.mapping = importer.auto_map(res, headers)
        self.run_id, self.run = 0, {}
        key = next((k for k, _ in self.key_options if k != NONE and k != "id" and k in self.mapping), "")
        if not key and "id" in self.mapping and any(k == "id" for k, _ in self.key_options):
            key = "id"
        self.key = key
        return self._preview()

    @rx.event
    def set_map(self, field: str, column: str | list[str]):
        column = column if isinstance(column, str) else (column[0] if column else "")
        mapping = {f: c for f, c in self.mapping.items() if c != column or column == NONE}  # a column feeds one field
        mapping[field] = "" if column == NONE else column
        self.mapping = {f: c for f, c in mapping.items() if c}
        return self._preview()

    @rx.event
    def set_key(self, value: str | list[str]):
        value = value if isinstance(value, str) else (value[0] if value else NONE)
        self.key = "" if value == NONE else value
        return self._preview()

    def _preview(self):
        self.problems, self.rows, self.n_ok, self.n_bad = {}, [], 0, 0
        if not self._upload:
            return None
        try:
            with ui_session() as db:
                user = self.current_user()
                path = importer.upload_path(user, self._upload)
                _, outcomes, raws = importer.preview(db, self._res(), user, path, self.mapping, self.key, self.lang)
        except ValidationFailed as exc:
            self.problems = exc.messages(self.lang)
            return None
        except PultError as exc:
            return self.fail(exc)
        rows = []
        for outcome, raw in zip(outcomes, raws):
            row = {"line": str(outcome.line), "op": outcome.op, "op_label": self.t(f"import.op.{outcome.op}"), "err": outcome.errors.get("", "")}
            for name, value in raw.items():
                row[f"v_{name}"] = value
            for name, message in outcome.errors.items():
                if name:
                    row[f"e_{name}"] = message
            rows.append(row)
        self.rows = rows
        self.n_bad = sum(1 for o in outcomes if o.op == "error")
        self.n_ok = len(outcomes) - self.n_bad
        return None

    def _upload_bulk(self, filename: str, data: bytes):
        """The same upload, checked as the bulk import will read it (a header without values: said now)."""
        from app.core import bulk_import

        try:
            user = self.current_user()
            res = self._res()
            bulk_import.require(res, user)
            self._upload = ""
            token = importer.save_upload(user, filename, data)
            bulk_import.check_file(importer.upload_path(user, token), res.bulk_import)
            self._upload = token
        except ValidationFailed as exc:
            self.problems, self.filename = exc.messages(self.lang), ""
            return None
        except PultError as exc:
            return self.fail(exc)
        self.filename = filename
        return None

    def _start_bulk(self):
        from app.core import bulk_import

        if not self._upload:
            self.problems = {"file": self.t("bulk.no_file")}
            return None
        try:
            with ui_session() as db:
                user = self.current_user()
                run, _row = bulk_import.start(db, self._res(), user, self._upload, self.filename, self.bulk_values, self.lang)
                self.run_id = run.id
        except ValidationFailed as exc:
            self.problems = exc.messages(self.lang)
            return None
        except PultError as exc:
            return self.fail(exc)
        self.busy = True
        self._read_run()
        return rx.toast.info(self.t("import.queued"))

    @rx.event
    def start(self):
        if self.bulk and not self.busy:
            return self._start_bulk()
        if not self._upload or self.busy:
            return None
        self.busy = True
        try:
            with ui_session() as db:
                user = self.current_user()
                res = self._res()
                path = importer.upload_path(user, self._upload)
                headers, _ = importer.read_head(path, 1)
                mapping = importer.check_mapping(res, headers, self.mapping, self.key, self.lang)
                importer.require_import(res, user, self.key)
                run = jobs.enqueue(db, user, "kit.import", {
                    "resource": self.res_key, "upload": self._upload, "mapping": mapping, "key": self.key, "lang": self.lang,
                })
                self.run_id = run.id
        except ValidationFailed as exc:
            self.busy = False
            self.problems = exc.messages(self.lang)
            return None
        except PultError as exc:
            self.busy = False
            return self.fail(exc)
        self._read_run()
        return rx.toast.info(self.t("import.queued"))

    def run_has_file(self, result: dict[str, Any]) -> bool:
        spec = getattr(self._res(), "bulk_import", None)
        return spec.has_report(result) if spec is not None else True

    def run_summary(self, result: dict[str, Any]) -> str:
        res = self._res()
        spec = getattr(res, "bulk_import", None)
        if spec is not None:  # counts as people read them: 1 234 567
            return self.t(spec.done, **{k: f"{v:,}".replace(",", "\u00a0") if isinstance(v, int) else v for k, v in result.items()})
        return self.t("import.done", what=self.t(res.label or res.slug), created=result.get("created", 0),
                      updated=result.get("updated", 0), failed=result.get("failed", 0))


def _required(res: Resource, f: Any) -> bool:
    from app.core.kinds import field_required

    return f.name in res.model.model_fields and field_required(res.model, f)


# --------------------------------------------------------------------------- components
def _problem(name: str) -> rx.Component:
    return rx.cond(ImportState.problems.contains(name), rx.text(ImportState.problems.get(name, ""), color_scheme="red", size="2", id=f"import-problem-{name}"))


def _mapping_row(f: rx.Var) -> rx.Component:
    items = [rx.select.item("—", value=NONE)]
    return rx.table.row(
        rx.table.cell(rx.hstack(rx.text(f["label"]), rx.cond(f["required"] == "1", rx.text("*", color_scheme="red")), spacing="1")),
        rx.table.cell(rx.select.root(
            rx.select.trigger(placeholder="—", width="100%"),
            rx.select.content(*items, rx.foreach(ImportState.headers, lambda h: rx.select.item(h, value=h))),
            value=ImportState.mapping.get(f["name"], NONE),
            on_change=lambda v: ImportState.set_map(f["name"].to(str), v),
            size="2", name="map-" + f["name"].to(str),
        ), id="map-" + f["name"].to(str)),
    )


def _preview_table(res: type[Resource]) -> rx.Component:
    names = [f.name for f in importer.importable_fields(res())]
    mapped = {n: ImportState.mapping.contains(n) for n in names}

    def cell(row: rx.Var, name: str) -> rx.Component:
        return rx.cond(mapped[name], rx.table.cell(rx.vstack(
            rx.text(row.get(f"v_{name}", ""), size="2"),
            rx.cond(row.get(f"e_{name}", "") != "", rx.text(row.get(f"e_{name}", ""), color_scheme="red", size="1")),
            spacing="0",
        )))

    return rx.table.root(
        rx.table.header(rx.table.row(
            rx.table.column_header_cell(tr("import.report.row")),
            rx.table.column_header_cell(""),
            *[rx.cond(mapped[n], rx.table.column_header_cell(ImportState.labels.get(n, n))) for n in names],
        )),
        rx.table.body(rx.foreach(ImportState.rows, lambda row: rx.table.row(
            rx.table.cell(row["line"]),
            rx.table.cell(rx.vstack(
                rx.badge(row["op_label"], color_scheme=rx.match(row["op"], ("error", "red"), ("update", "blue"), "green")),
                rx.cond(row.get("err", "") != "", rx.text(row.get("err", ""), color_scheme="red", size="1")),
                spacing="1",
            )),
            *[cell(row, n) for n in names],
            class_name="import-row-" + row["op"].to(str),
        ))),
        variant="surface", size="1", width="100%", id="import-preview",
    )


def _bulk_picker(p: Any) -> rx.Component:
    return rx.vstack(
        rx.text(tr(p.label or p.name), size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(placeholder="—", width="100%"),
            rx.select.content(rx.select.item("—", value=NONE), rx.foreach(ImportState.bulk_options.get(p.name, []), lambda o: rx.select.item(o[1], value=o[0]))),
            value=rx.cond(ImportState.bulk_values.get(p.name, "") == "", NONE, ImportState.bulk_values.get(p.name, "")),
            on_change=lambda v: ImportState.pick(p.name, v),
        ),
        _problem(p.name),
        spacing="1", width="100%", id=f"import-param-{p.name}",
    )


def _bulk_section(res: type[Resource]) -> rx.Component:
    """Below the upload: the declared params, the start button, where the history lives."""
    spec = res.bulk_import
    return rx.vstack(
        rx.grid(*[_bulk_picker(p) for p in spec.params], columns=rx.breakpoints(initial="1", sm=str(min(3, max(1, len(spec.params))))),
                spacing="4", width="100%"),
        rx.hstack(
            rx.button(rx.icon("play", size=14), tr("import.start"), on_click=ImportState.start, loading=ImportState.busy, disabled=ImportState.busy, id="import-start"),
            *([rx.text(tr(spec.hint), size="2", color_scheme="gray")] if spec.hint else []),
            spacing="3", align="center", wrap="wrap",
        ),
        spacing="4", width="100%",
    )


def _log_links(res: type[Resource]) -> list[rx.Component]:
    """Links to the resource's list and, when the import keeps a log, to the log's list."""
    spec = res.bulk_import
    links = []
    log_res = next((r for r in RESOURCES.values() if spec.log is not None and r.model is spec.log), None)
    if log_res is not None:
        links.append(rx.link(rx.button(rx.icon("history", size=14), tr(log_res.label or log_res.slug), variant="soft", size="2"), href=log_res.url(), id="import-log-link"))
    links.append(rx.link(rx.button(tr(res.label or res.slug), variant="soft", size="2"), href=res.url()))
    return links


def import_page(res: type[Resource]) -> rx.Component:
    upload = rx.upload(
        rx.vstack(
            rx.icon("upload", size=28, color=rx.color("gray", 10)),
            rx.text(tr(getattr(getattr(res, "bulk_import", None), "drop", "import.drop")), size="2"),
            rx.cond(ImportState.filename != "", rx.badge(ImportState.filename, size="2", id="import-filename")),
            align="center", spacing="2",
        ),
        id=UPLOAD_ID,
        multiple=False,
        accept={"text/csv": [".csv"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": [".xlsx"]},
        max_size=importer.MAX_UPLOAD_BYTES,
        on_drop=ImportState.handle_upload(rx.upload_files(upload_id=UPLOAD_ID)),
        border=f"1px dashed {rx.color('gray', 7)}", border_radius="8px", padding="1.5em", width="100%", cursor="pointer",
    )
    if getattr(res, "bulk_import", None) is not None:
        spec = res.bulk_import
        body = rx.vstack(
            page_header(ImportState.title, *_log_links(res)[:1]),
            *([rx.text(tr(spec.help), size="2", color_scheme="gray")] if spec.help else []),
            rx.cond(ImportState.res_key == res.key(), upload, rx.center(rx.spinner(size="3"), padding="2em", width="100%")),
            _problem("file"),
            _bulk_section(res),
            job_run_card(ImportState, "import", spec.report, *_log_links(res)),
            spacing="4", width="100%", max_width="1100px",
        )
        from app.core.ui.widgets import forbidden_box

        return rx.cond(ImportState.forbidden, forbidden_box(), body)
    run_box = job_run_card(ImportState, "import", "import.report",
                           rx.link(rx.button(tr("import.to_list"), variant="soft", size="2"), href=ImportState.back_url))
    body = rx.vstack(
        page_header(ImportState.title, rx.link(rx.button(tr("import.to_list"), variant="soft", size="2"), href=ImportState.back_url)),
        rx.text(tr("import.help"), size="2", color_scheme="gray"),
        # The file goes up by HTTP, beside the WebSocket's queue of events: offer the drop zone only
        # once this page's ``load`` has run, or the upload could be read for the wrong resource.
        rx.cond(ImportState.res_key == res.key(), upload, rx.center(rx.spinner(size="3"), padding="2em", width="100%")),
        _problem("file"),
        rx.cond(ImportState.headers.length() > 0, rx.vstack(
            rx.grid(
                rx.vstack(
                    rx.heading(tr("import.mapping"), size="3"),
                    rx.table.root(rx.table.body(rx.foreach(ImportState.fields, _mapping_row)), size="1", width="100%", variant="surface"),
                    _problem("mapping"),
                    spacing="2", width="100%",
                ),
                rx.vstack(
                    rx.heading(tr("import.key"), size="3"),
                    rx.text(tr("import.key_help"), size="2", color_scheme="gray"),
                    rx.select.root(
                        rx.select.trigger(width="100%"),
                        rx.select.content(rx.foreach(ImportState.key_options, lambda o: rx.select.item(o[1], value=o[0]))),
                        value=rx.cond(ImportState.key == "", NONE, ImportState.key),
                        on_change=ImportState.set_key, id="import-key",
                    ),
                    _problem("key"),
                    spacing="2", width="100%",
                ),
                columns="2", spacing="5", width="100%",
            ),
            rx.hstack(
                rx.heading(tr("import.preview"), size="3"),
                rx.badge(tr("import.preview_ok"), ": ", ImportState.n_ok, color_scheme="green"),
                rx.badge(tr("import.preview_bad"), ": ", ImportState.n_bad, color_scheme="red", id="import-bad-count"),
                spacing="2", align="center",
            ),
            rx.box(_preview_table(res), width="100%", overflow_x="auto"),
            rx.hstack(
                rx.button(rx.icon("play", size=14), tr("import.start"), on_click=ImportState.start, disabled=ImportState.busy | (ImportState.rows.length() == 0), loading=ImportState.busy, id="import-start"),
                rx.text(tr("import.start_help"), size="2", color_scheme="gray"),
                spacing="3", align="center",
            ),
            spacing="3", width="100%",
        )),
        run_box,
        spacing="4", width="100%", max_width="1200px",
    )
    from app.core.ui.widgets import forbidden_box

    return rx.cond(ImportState.forbidden, forbidden_box(), body)
