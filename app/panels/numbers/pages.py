"""Custom pages of the numbers panel (seed 004, 2.3): project conversion and number import/export.
A project's setup (providers, geo, working windows) is on its own form."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.core import MAX_UPLOAD_BYTES, get_resource, jobs, live, save_upload, search_options, upload_path
from app.core.errors import PermissionDenied, PultError, ValidationFailed
from app.core.ui import AuthState, set_url, tr, ui_session
from app.core.ui import DateRangeMixin, date_range_inputs
from app.core.ui import JobRunMixin, job_run_card
from app.core.ui import forbidden_box
from app.core.ui import page_header
from app.panels.numbers import services, transfers

from app.panels.numbers.routes import CONVERSION
NONE = "__none__"


def _pct(part: int, whole: int, lang: str = "ru") -> str:
    """A rate as people write it in ``lang``: "12,5 %" in Russian (it was "12.5 %"), "12.5%" in English."""
    from app.core.display import fmt_percent

    return fmt_percent(part / whole, lang, 1) if whole else "—"


def _num(n: int) -> str:
    return f"{n:,}".replace(",", "\u00a0")


def _options(db: Any, user: Any, key: str, limit: int = 500) -> list[list[str]]:
    return [[str(i), title] for i, title in search_options(db, get_resource(key), user, "", limit=limit)]


# --------------------------------------------------------------------------- conversion
class ConversionState(DateRangeMixin, AuthState):
    provider_id: str = ""
    providers: list[list[str]] = []
    rows: list[dict[str, str]] = []
    totals: dict[str, str] = {}
    chart: list[dict[str, Any]] = []
    forbidden: bool = False
    error: str = ""

    @rx.event
    def load(self):
        q = self.router.url.query_parameters
        self._read_range(q)
        self.provider_id = q.get("provider_id", "") if q.get("provider_id", "").isdigit() else ""
        live.watch(self, {"phone_number", "number_stat", "project"})
        return self._reload(sync=False)

    def live_refresh(self) -> None:
        self._reload(sync=False)

    def _reload(self, sync: bool = True):
        self.error = ""
        try:
            with ui_session() as db:
                user = self.current_user()
                self.forbidden = not user.has_perm("numbers.conversion.view")
                if self.forbidden:
                    return None
                d_from, d_to = self._date(self.date_from), self._date(self.date_to)
                if d_from and d_to and d_from > d_to:
                    self.error = self.t("numbers.conversion.bad_range")
                    return None
                self.providers = _options(db, user, "numbers.providers")
                provider = int(self.provider_id) if self.provider_id else None
                rows = services.conversion(db, user, d_from, d_to, provider)
                days = services.conversion_by_day(db, user, d_from, d_to, provider)
        except PultError as exc:
            return self.fail(exc)
        self.rows = [{
            "project": r.project, "processed": _num(r.processed), "success": _num(r.success), "refusal": _num(r.refusal),
            "no_answer": _num(r.no_answer), "success_rate": _pct(r.success, r.processed, self.lang), "refusal_rate": _pct(r.refusal, r.processed, self.lang),
            "no_answer_rate": _pct(r.no_answer, r.processed, self.lang),
        } for r in rows]
        total = {k: sum(getattr(r, k) for r in rows) for k in ("processed", "success", "refusal", "no_answer")}
        self.totals = {k: _num(v) for k, v in total.items()} | {"success_rate": _pct(total["success"], total["processed"], self.lang)}
        self.chart = [{"day": d.strftime("%d.%m"), "processed": p, "success": s} for d, p, s in days]
        if sync:
            return set_url(CONVERSION, {"from": self.date_from, "to": self.date_to, "provider_id": self.provider_id})
        return None

    @rx.event
    def set_provider(self, value: str | list[str]):
        value = value if isinstance(value, str) else (value[0] if value else "")
        self.provider_id = "" if value == NONE else value
        return self._reload()


def conversion_page() -> rx.Component:
    S = ConversionState
    cols = ["numbers.project", "numbers.processed", "numbers.kind.success", "numbers.success_rate", "numbers.kind.refusal",
            "numbers.refusal_rate", "numbers.kind.no_answer", "numbers.no_answer_rate"]
    keys = ["project", "processed", "success", "success_rate", "refusal", "refusal_rate", "no_answer", "no_answer_rate"]
    filters = rx.hstack(
        *date_range_inputs(S, "conv"),
        rx.vstack(
            rx.text(tr("numbers.provider"), size="1", color_scheme="gray"),
            rx.select.root(
                rx.select.trigger(placeholder=tr("numbers.all_providers"), width="16em"),
                rx.select.content(rx.select.item(tr("numbers.all_providers"), value=NONE), rx.foreach(S.providers, lambda o: rx.select.item(o[1], value=o[0]))),
                value=rx.cond(S.provider_id == "", NONE, S.provider_id), on_change=S.set_provider,
            ),
            spacing="1", id="conv-provider",
        ),
        rx.spacer(),
        rx.link(rx.button(rx.icon("download", size=14), tr("export.csv"), variant="soft"),
                href="/api/numbers/conversion.csv?from=" + S.date_from + "&to=" + S.date_to + "&provider_id=" + S.provider_id, is_external=True, id="conv-csv"),
        align="end", spacing="4", width="100%", wrap="wrap",
    )
    kpis = rx.hstack(*[
        rx.card(rx.vstack(rx.text(tr(label), size="1", color_scheme="gray"), rx.heading(S.totals.get(key, "0"), size="6", id=f"kpi-{key}"), spacing="1"), min_width="11em")
        for key, label in (("processed", "numbers.processed"), ("success", "numbers.kind.success"), ("success_rate", "numbers.success_rate"),
                           ("refusal", "numbers.kind.refusal"), ("no_answer", "numbers.kind.no_answer"))
    ], spacing="3", wrap="wrap")
    chart = rx.card(rx.recharts.bar_chart(
        rx.recharts.bar(data_key="processed", fill="#8da4ef", name=tr("numbers.processed")),
        rx.recharts.bar(data_key="success", fill="#30a46c", name=tr("numbers.kind.success")),
        rx.recharts.x_axis(data_key="day"), rx.recharts.y_axis(), rx.recharts.tooltip(), rx.recharts.legend(),
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"), data=S.chart, height=260, width="100%",
    ), width="100%")
    table = rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(c)) for c in cols])),
        rx.table.body(rx.foreach(S.rows, lambda r: rx.table.row(*[rx.table.cell(r[k]) for k in keys]))),
        variant="surface", size="1", width="100%", id="conv-table",
    )
    body = rx.vstack(
        page_header(tr("numbers.conversion")),
        filters,
        rx.cond(S.error != "", rx.callout(S.error, color_scheme="red", icon="triangle-alert")),
        kpis, chart, table,
        rx.cond(S.rows.length() == 0, rx.center(rx.text(tr("rows.empty"), color_scheme="gray"), padding="2em", width="100%")),
        spacing="4", width="100%",
    )
    return rx.cond(S.forbidden, forbidden_box(), body)


# --------------------------------------------------------------------------- import / export
class TransferState(JobRunMixin, AuthState):
    forbidden: bool = False
    filename: str = ""
    projects: list[list[str]] = []
    providers: list[list[str]] = []
    geos: list[list[str]] = []
    project_id: str = ""
    provider_id: str = ""
    geo_id: str = ""
    problems: dict[str, str] = {}
    _upload: str = ""

    @rx.event
    def load(self):
        # A file uploaded already stays chosen (the upload may even land before this on_load does).
        if not self.busy:
            self.run_id, self.run, self.run_progress = 0, {}, 0
        try:
            with ui_session() as db:
                user = self.current_user()
                self.forbidden = not (user.has_perm("numbers.import") and get_resource("numbers.numbers")().can(user, "create"))
                if self.forbidden:
                    return None
                self.projects = _options(db, user, "numbers.projects")
                self.providers = _options(db, user, "numbers.providers")
                self.geos = _options(db, user, "numbers.geo", limit=1000)
        except PultError as exc:
            return self.fail(exc)
        live.watch(self, {jobs.MODEL})
        return None

    @rx.event
    async def handle_upload(self, files: list[rx.UploadFile]):
        if not files:
            return None
        file = files[0]
        data = await file.read()
        self.problems = {}
        try:
            user = self.current_user()
            self._upload = ""
            token = save_upload(user, file.name or "", data)
            transfers.check_file(upload_path(user, token))  # header only, no numbers: said now
            self._upload = token
        except ValidationFailed as exc:
            self.problems, self.filename = exc.messages(self.lang), ""
            return None
        except PultError as exc:
            return self.fail(exc)
        self.filename = file.name or ""
        return None

    @rx.event
    def pick(self, name: str, value: str | list[str]):
        value = value if isinstance(value, str) else (value[0] if value else "")
        setattr(self, name, "" if value == NONE else value)
        self.problems.pop(name, None)

    @rx.event
    def start(self):
        if self.busy:
            return None
        if not self._upload:
            self.problems = {"file": self.t("numbers.import.no_file")}
            return None
        ids = {k: (int(v) if v else None) for k, v in (("project_id", self.project_id), ("provider_id", self.provider_id), ("geo_id", self.geo_id))}
        try:
            with ui_session() as db:
                user = self.current_user()
                upload_path(user, self._upload)
                if not user.has_perm("numbers.import"):
                    raise PermissionDenied()
                transfers.check_targets(db, user, **ids)
                row = transfers.start_transfer(db, user, "import", "file", self.filename, project_id=ids["project_id"], provider_id=ids["provider_id"])
                run = jobs.enqueue(db, user, "numbers.import", {"transfer_id": row.id, "upload": self._upload, **ids, "lang": self.lang})
                self.run_id = run.id
        except ValidationFailed as exc:
            self.problems = exc.messages(self.lang)
            return None
        except PultError as exc:
            return self.fail(exc)
        self.busy = True
        self._read_run()
        return rx.toast.info(self.t("import.queued"))

    def run_summary(self, result: dict[str, Any]) -> str:
        return self.t("numbers.import_done", accepted=_num(result.get("accepted", 0)), duplicates=_num(result.get("duplicates", 0)),
                      invalid=_num(result.get("invalid", 0)))

    def run_has_file(self, result: dict[str, Any]) -> bool:
        return bool(result.get("duplicates") or result.get("invalid"))


def _picker(label: str, name: str, options: rx.Var, value: rx.Var) -> rx.Component:
    S = TransferState
    return rx.vstack(
        rx.text(tr(label), size="2", weight="medium"),
        rx.select.root(
            rx.select.trigger(placeholder="—", width="100%"),
            rx.select.content(rx.select.item("—", value=NONE), rx.foreach(options, lambda o: rx.select.item(o[1], value=o[0]))),
            value=rx.cond(value == "", NONE, value), on_change=lambda v: S.pick(name, v),
        ),
        rx.cond(S.problems.contains(name), rx.text(S.problems.get(name, ""), color_scheme="red", size="1", id=f"imp-problem-{name}")),
        spacing="1", width="100%", id=f"imp-{name}",
    )


def transfer_page() -> rx.Component:
    S = TransferState
    upload = rx.upload(
        rx.vstack(rx.icon("upload", size=28, color=rx.color("gray", 10)), rx.text(tr("numbers.import.drop"), size="2"),
                  rx.cond(S.filename != "", rx.badge(S.filename, size="2", id="imp-filename")), align="center", spacing="2"),
        id="numbers-upload", multiple=False, max_size=MAX_UPLOAD_BYTES,
        accept={"text/csv": [".csv"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": [".xlsx"]},
        on_drop=S.handle_upload(rx.upload_files(upload_id="numbers-upload")),
        border=f"1px dashed {rx.color('gray', 7)}", border_radius="8px", padding="1.5em", width="100%", cursor="pointer",
    )
    run_box = job_run_card(S, "imp", "numbers.import.report",
                           rx.link(rx.button(tr("numbers.transfers"), variant="soft"), href="/numbers/transfers"),
                           rx.link(rx.button(tr("numbers.numbers"), variant="soft"), href="/numbers/numbers"))
    body = rx.vstack(
        page_header(tr("numbers.import.title"), rx.link(rx.button(rx.icon("history", size=14), tr("numbers.transfers"), variant="soft"), href="/numbers/transfers")),
        rx.text(tr("numbers.import.help"), size="2", color_scheme="gray"),
        upload,
        rx.cond(S.problems.contains("file"), rx.text(S.problems.get("file", ""), color_scheme="red", size="2", id="imp-problem-file")),
        rx.grid(
            _picker("numbers.project", "project_id", S.projects, S.project_id),
            _picker("numbers.provider", "provider_id", S.providers, S.provider_id),
            _picker("numbers.geo", "geo_id", S.geos, S.geo_id),
            columns="3", spacing="4", width="100%",
        ),
        rx.hstack(rx.button(rx.icon("play", size=14), tr("import.start"), on_click=S.start, loading=S.busy, disabled=S.busy, id="imp-start"),
                  rx.text(tr("numbers.import.export_hint"), size="2", color_scheme="gray"), spacing="3", align="center"),
        run_box,
        spacing="4", width="100%", max_width="1100px",
    )
    return rx.cond(S.forbidden, forbidden_box(), body)
