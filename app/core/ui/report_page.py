"""The Reflex pages of the ``Report`` and ``Dashboard`` page kinds (:mod:`app.core.report`).

One state per kind serves every declared page: it finds its declaration by the page's route, keeps
the parameters' raw values (in the URL too), runs the declaration (permission, parsing, compute —
the same call the API twin makes) and holds what the page shows, already formatted. A refused
parameter shows its message under its input; the figures are then cleared, never stale.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.core import live
from app.core.errors import PultError, ValidationFailed
from app.core.registry import import_ref
from app.core.report import DASHBOARDS, REPORTS, Dashboard, Report, Widget, page_key, raw_default
from app.core.ui.base import AuthState, set_url, tr, ui_session
from app.core.ui.widgets import page_header, relation_picker

_CARD_MIN = "11em"


def _route(state: rx.State) -> str:
    return (state.router.page.path or state.router.url.path or "").rstrip("/") or "/"


# --------------------------------------------------------------------------- report
class ReportState(AuthState):
    route: str = ""
    #: Each parameter's raw value, as its input and the URL carry it.
    values: dict[str, str] = {}
    #: A relation parameter's chosen record's title.
    labels: dict[str, str] = {}
    #: A refused parameter's message.
    errors: dict[str, str] = {}
    kpis: dict[str, str] = {}
    series: list[dict[str, Any]] = []
    tables: dict[str, list[dict[str, str]]] = {}

    def _report(self) -> Report:
        return REPORTS[self.route]

    @rx.event
    def load(self):
        self.route = _route(self)
        rep = self._report()
        q = self.router.url.query_parameters
        self.values = {p.name: q.get(p.name, raw_default(p)) for p in rep.params}
        self.labels, self.errors = {}, {}
        live.watch(self, rep.live)
        return self._reload(sync=False)

    def live_refresh(self) -> None:
        if self.route in REPORTS:
            self._reload(sync=False)

    def _raw(self) -> dict[str, Any]:
        return dict(self.values)

    def _run(self) -> Any:
        rep = self._report()
        with ui_session() as db:
            user = self.current_user()
            params, result = rep.run(db, user, self._raw(), self.lang)
            for p in rep.params:
                value = params.get(p.name)
                if p.kind == "relation" and value is not None and not self.labels.get(p.name):
                    from app.core.query import get_many
                    from app.core.registry import resource

                    self.labels[p.name] = get_many(db, resource(p.resource or ""), user, [value], self.lang).get(value, "")
        return params, result

    def _reload(self, sync: bool = True):
        rep = self._report()
        try:
            _, result = self._run()
        except ValidationFailed as exc:
            self.errors = exc.messages(self.lang)
            self.kpis, self.series, self.tables = {}, [], {tb.name: [] for tb in rep.tables}
            return self._url() if sync else None
        except PultError as exc:
            return self.fail(exc)
        self.errors = {}
        shown = rep.shown(result, self.lang)
        self.kpis, self.series, self.tables = shown["kpis"], shown["series"], shown["tables"]
        return self._url() if sync else None

    def _url(self) -> rx.event.EventSpec:
        return set_url(self.route, self.values)

    @rx.event
    def set_param(self, name: str, value: str | list[str]):
        value = value if isinstance(value, str) else (value[0] if value else "")
        self.values[name] = value
        return self._reload()

    @rx.event
    def pick(self, name: str, key: str, label: str):
        self.values[name], self.labels[name] = key, label
        return self._reload()

    @rx.event
    def refresh(self):
        return self._reload(sync=False)

    @rx.event
    def export_csv(self):
        rep = self._report()
        try:
            params, result = self._run()
        except PultError as exc:
            return self.fail(exc)
        return rx.download(data=rep.csv(result, self.lang), filename=rep.csv_filename(params))


def _labelled(label_key: str, control: rx.Component, name: str) -> rx.Component:
    S = ReportState
    return rx.vstack(
        rx.text(tr(label_key), size="1", color_scheme="gray"),
        control,
        rx.cond(S.errors.contains(name), rx.text(S.errors.get(name, "").to(str), color_scheme="red", size="1", id=f"param-error-{name}")),
        spacing="1",
    )


def _param(rep: Report, p: Any) -> rx.Component:
    S = ReportState
    pid = f"{rep.id_prefix}-{p.name}"
    label = p.label or p.name
    value = S.values.get(p.name, "").to(str)
    if p.kind == "relation":
        control = relation_picker(f"report:{pid}", p.resource, S.labels.get(p.name, "").to(str), lambda key, text, n=p.name: S.pick(n, key, text),
                                  placeholder=tr(p.help or "report.all"), width="16em")
        return rx.box(_labelled(label, control, p.name), id=pid)
    if p.kind == "select":
        options = list(p.options or ())
        if len(options) <= 4:
            control = rx.segmented_control.root(*[rx.segmented_control.item(tr(k), value=v) for v, k in options], value=value,
                                                on_change=lambda v, n=p.name: S.set_param(n, v))
        else:
            control = rx.select.root(rx.select.trigger(width="12em"), rx.select.content(*[rx.select.item(tr(k), value=v) for v, k in options]),
                                     value=value, on_change=lambda v, n=p.name: S.set_param(n, v))
        return rx.box(_labelled(label, control, p.name), id=pid)
    kind = {"date": "date", "int": "number", "number": "number"}.get(p.kind, "text")
    control = rx.input(type=kind, value=value, on_change=lambda v, n=p.name: S.set_param(n, v), id=pid, width="10em" if kind != "date" else None)
    return _labelled(label, control, p.name)


def _cell(row: rx.Var, c: Any) -> rx.Component:
    if c.signed:
        return rx.table.cell(rx.text(row[c.key], color_scheme=rx.cond(row[f"{c.key}__tone"] == "red", "red", "green")))
    return rx.table.cell(row[c.key], text_align="right" if c.kind in ("int", "number", "money", "percent") else "left")


def _table(rows: rx.Var, columns: Any, table_id: str, link: bool = False) -> rx.Component:
    def row(r: rx.Var) -> rx.Component:
        cells = [_cell(r, c) for c in columns]
        if link:
            cells[0] = rx.table.cell(rx.cond(r["link"] != "", rx.link(r[columns[0].key], href=r["link"]), rx.text(r[columns[0].key])))
        return rx.table.row(*cells)

    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(c.title)) for c in columns])),
            rx.table.body(rx.foreach(rows.to(list[dict[str, str]]), row)),
            size="1", width="100%", id=table_id,
        ),
        rx.cond(rows.to(list[dict[str, str]]).length() == 0, rx.center(rx.text(tr("rows.empty"), color_scheme="gray", size="2"), padding="1.5em", width="100%")),
        overflow_x="auto", width="100%",
    )


def _chart(spec: Any, data: rx.Var) -> rx.Component:
    if spec.kind == "line":
        items = [rx.recharts.line(data_key=k, stroke=colour, name=tr(label), type_="monotone") for k, label, colour in spec.series]
        make = rx.recharts.line_chart
    else:
        items = [rx.recharts.bar(data_key=k, fill=colour, name=tr(label)) for k, label, colour in spec.series]
        make = rx.recharts.bar_chart
    return make(*items, rx.recharts.x_axis(data_key=spec.x), rx.recharts.y_axis(), rx.recharts.tooltip(),
                *([rx.recharts.legend()] if len(spec.series) > 1 else []), rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                data=data, height=spec.height, width="100%")


def report_page(rep: Report) -> rx.Component:
    """The page of a :class:`~app.core.report.Report`: parameters (and the declaration's ``extra``
    block), KPI cards, the chart, the tables; CSV export in the header."""
    S = ReportState
    extra = [import_ref(rep.extra)()] if rep.extra else []
    params = rx.hstack(*[_param(rep, p) for p in rep.params], *extra, wrap="wrap", spacing="4", align="start", width="100%")
    kpis = rx.grid(
        *[rx.card(rx.vstack(rx.text(tr(k.title), size="2", color_scheme="gray"),
                            rx.heading(S.kpis.get(k.key, "").to(str), size="6", color_scheme=k.color or "gray", id=f"kpi-{k.key}"), spacing="1"), width="100%")
          for k in rep.kpis],
        columns=rx.breakpoints(initial="2", md=str(min(len(rep.kpis), 5) or 1)), spacing="3", width="100%", id=f"{rep.id_prefix}-kpis",
    )
    parts: list[rx.Component] = [kpis] if rep.kpis else []
    if rep.chart is not None:
        parts.append(rx.card(_chart(rep.chart, S.series), width="100%", id=f"{rep.id_prefix}-chart"))
    cards = [
        rx.card(rx.vstack(*([rx.heading(tr(tb.title), size="3")] if tb.title else []), _table(S.tables.get(tb.name, []), tb.columns, rep.table_id(tb)), width="100%"), min_width="0", width="100%")
        for tb in rep.tables
    ]
    if len(cards) == 2:  # the first (usually the wider) gets the larger share on a wide screen
        parts.append(rx.grid(*cards, grid_template_columns=rx.breakpoints(initial="minmax(0, 1fr)", lg="minmax(0, 3fr) minmax(0, 2fr)"), spacing="4", width="100%"))
    else:
        parts.extend(cards)
    export = rx.button(rx.icon("download", size=14), tr("export.csv"), on_click=S.export_csv, variant="soft", id=f"{rep.id_prefix}-export")
    return rx.vstack(page_header(tr(rep.title), export), params, *parts, spacing="4", width="100%")


# --------------------------------------------------------------------------- dashboard
class DashboardState(AuthState):
    route: str = ""
    stat_value: dict[str, str] = {}
    stat_change: dict[str, str] = {}
    stat_tone: dict[str, str] = {}
    stat_previous: dict[str, str] = {}
    series: dict[str, list[dict[str, Any]]] = {}
    tables: dict[str, list[dict[str, str]]] = {}
    alerts: dict[str, list[dict[str, str]]] = {}
    #: Widgets the user may not see (a widget's own ``perm``).
    hidden: list[str] = []

    @rx.event
    def load(self):
        self.route = _route(self)
        live.watch(self, DASHBOARDS[self.route].live)
        return self._reload()

    def live_refresh(self) -> None:
        if self.route in DASHBOARDS:
            self._reload()

    def _reload(self):
        dash: Dashboard = DASHBOARDS[self.route]
        try:
            with ui_session() as db:
                user = self.current_user()
                data = dash.run(db, user)
        except PultError as exc:
            return self.fail(exc)
        shown = dash.shown(data, self.lang)
        stats = shown["stats"]
        self.stat_value = {k: v["value"] for k, v in stats.items()}
        self.stat_change = {k: v["change"] for k, v in stats.items()}
        self.stat_tone = {k: v["tone"] for k, v in stats.items()}
        self.stat_previous = {k: v["previous"] for k, v in stats.items()}
        self.series, self.tables, self.alerts = shown["series"], shown["tables"], shown["alerts"]
        self.hidden = [w.name for w in dash.widgets if w.name not in data]
        return None

    @rx.event
    def refresh(self):
        return self._reload()


def _widget(w: Widget, columns: int) -> rx.Component:
    S = DashboardState
    head = rx.text(tr(w.title), size="2", color_scheme="gray", weight="medium")
    if w.kind == "stat":
        tone = S.stat_tone.get(w.name, "gray").to(str)
        body = rx.vstack(
            head,
            rx.heading(S.stat_value.get(w.name, "").to(str), size="7", id=f"stat-{w.name}"),
            rx.hstack(
                rx.cond(S.stat_change.get(w.name, "").to(str) != "",
                        rx.badge(S.stat_change.get(w.name, "").to(str), color_scheme=rx.match(tone, ("green", "green"), ("red", "red"), "gray"), id=f"trend-{w.name}")),
                rx.cond(S.stat_previous.get(w.name, "").to(str) != "",
                        rx.text(tr(w.compare or "dashboard.previous"), " ", S.stat_previous.get(w.name, "").to(str), size="1", color_scheme="gray")),
                spacing="2", align="center", wrap="wrap",
            ),
            spacing="1",
        )
    elif w.kind == "chart" and w.chart is not None:
        body = rx.vstack(head, rx.box(_chart(w.chart, S.series.get(w.name, [])), width="100%", min_width="0", overflow="hidden"), width="100%")
    elif w.kind == "table":
        body = rx.vstack(head, _table(S.tables.get(w.name, []), w.columns, f"table-{w.name}", link=True), width="100%")
    else:
        items = S.alerts.get(w.name, []).to(list[dict[str, str]])
        body = rx.vstack(
            head,
            rx.foreach(items, lambda a: rx.callout(
                rx.cond(a["link"] != "", rx.link(a["text"], href=a["link"]), rx.text(a["text"])),
                icon="triangle-alert", color_scheme=rx.match(a["tone"], ("red", "red"), ("orange", "orange"), "gray"), size="1", width="100%")),
            rx.cond(items.length() == 0, rx.text(tr(w.empty), size="2", color_scheme="gray")),
            spacing="2", width="100%", id=f"alerts-{w.name}", max_height="18em", overflow_y="auto",
        )
    span = rx.breakpoints(initial="span 1", md=f"span {min(w.span, 2)}", lg=f"span {min(w.span, columns)}")
    return rx.cond(S.hidden.contains(w.name), rx.fragment(), rx.card(body, width="100%", min_width="0", grid_column=span, id=f"widget-{w.name}"))


def dashboard_page(dash: Dashboard) -> rx.Component:
    """The page of a :class:`~app.core.report.Dashboard`: its widgets on a grid (``columns`` across
    on a wide screen, two on a tablet, one on a phone)."""
    return rx.vstack(
        page_header(tr(dash.title)),
        rx.grid(*[_widget(w, dash.columns) for w in dash.widgets], columns=rx.breakpoints(initial="1", md="2", lg=str(dash.columns)), spacing="4", width="100%", align_items="start"),
        spacing="4", width="100%", id=f"dashboard-{dash.name}",
    )


class _Pages:
    """``PAGES.<key>``: the page factory of the report or dashboard at that route (see
    :func:`app.core.report.page_key`), what a declaration's ``Page.component`` reference names."""

    def __getattr__(self, key: str):
        if key.startswith("__"):
            raise AttributeError(key)
        for route, rep in REPORTS.items():
            if page_key(route) == key:
                return lambda: report_page(rep)
        for route, dash in DASHBOARDS.items():
            if page_key(route) == key:
                return lambda: dashboard_page(dash)
        raise AttributeError(key)


PAGES = _Pages()
