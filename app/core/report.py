"""Page kinds ``Report`` and ``Dashboard``: a declaration gives the page, its JSON twin in the API
and (a report) its CSV, with the permission checked by the kit in every one of them.

A report is typed parameters (form fields: the field kinds parse and check them), a ``compute``
function (the panel's service), and how its answer reads: KPI cards, a chart over a series and
tables. The page (:mod:`app.core.ui.report_page`), ``GET /api/<panel>/reports/<name>`` and
``GET /api/<panel>/reports/<name>.csv`` all go through :meth:`Report.run`, so they parse the same
way, refuse the same way (a message by the parameter / 422, never a 500) and show the same numbers::

    ANALYTICS = Report(
        "analytics", "/stock/analytics", "stock.analytics", perm="stock.analytics.view",
        params=[*blocks.period(days=30), fields.relation("product_id", "stock.products", label="stock.product")],
        compute=services.analytics_report,           # (db, user, params[, lang]) -> ReportResult
        kpis=[blocks.kpi("revenue", "analytics.revenue", "money", currency="RUB")],
        chart=blocks.chart("period", [("revenue", "analytics.revenue")]),
        tables=[blocks.table("products", "analytics.by_product", [blocks.column("name", "stock.product"), ...])],
        live={"order", "product"},
    )
    Panel(..., pages=[ANALYTICS])                     # the page, its menu entry and its API routes

A dashboard is widgets, each with its own ``compute(db, user)``: a stat with its trend against the
previous period, a chart, a table, a list of alerts; the page refreshes when the change bus says
one of its models changed. Its JSON twin is ``GET /api/<panel>/dashboards/<name>``.

This module imports no Reflex: a worker that boots the panels never loads the UI. The page's
component is resolved in the web process only (:meth:`Report.component`).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.core.display import fmt_money, fmt_number, fmt_percent, fmt_datetime, today
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.i18n import t
from app.core.registry import Page
from app.core.resource import FormField, ImproperlyConfigured

#: Route -> the report or dashboard on it (filled when a declaration is made; read by the page's
#: state, which finds its declaration by the URL, and by the API, which mounts their twins).
REPORTS: dict[str, "Report"] = {}
DASHBOARDS: dict[str, "Dashboard"] = {}


def page_key(route: str) -> str:
    """A route as an attribute name (``/stock/analytics`` → ``stock__analytics``): how a page's
    reference (``app.core.ui.report_page:PAGES.<key>``) names its declaration."""
    return route.strip("/").replace("/", "__").replace("-", "_") or "root"

#: How a value of a KPI / column / stat reads: ``text``, ``int``, ``number``, ``money`` (with a
#: currency), ``percent`` (a share, 0.125 → 12,5 %), ``date``.
VALUE_KINDS = ("text", "int", "number", "money", "percent", "date")


def fmt(value: Any, kind: str, lang: str, currency: str | None = None) -> str:
    """A value as the page and the CSV show it (``—`` for a share of nothing)."""
    if value is None:
        return "—" if kind == "percent" else ""
    if kind == "money":
        return fmt_money(value, currency, lang)
    if kind == "percent":
        return fmt_percent(value, lang, 1)
    if kind in ("int", "number"):
        return fmt_number(value, lang)
    if kind == "date":
        return fmt_datetime(value, False)
    return str(value)


def csv_value(value: Any, kind: str, lang: str, currency: str | None = None) -> Any:
    """A value in a CSV cell: numbers as numbers (a spreadsheet sums them), dates ISO, shares as
    people write them."""
    if value is None:
        return ""
    if kind == "percent":
        return fmt_percent(value, lang, 1)
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------- what a report shows
@dataclass(frozen=True)
class Kpi:
    """A figure on a card: ``result.kpis[key]`` under the label ``title`` (an i18n key)."""

    key: str
    title: str
    kind: str = "int"
    currency: str | None = None
    #: A Radix colour for the figure ("green" for profit), or None.
    color: str | None = None


@dataclass(frozen=True)
class Column:
    """A table column: ``row[key]`` under the label ``title``. ``signed``: red below zero, green otherwise."""

    key: str
    title: str
    kind: str = "text"
    currency: str | None = None
    signed: bool = False


@dataclass(frozen=True)
class Table:
    """A table of ``result.tables[name]``; ``id`` is its HTML id (``<report>-<name>`` by default)."""

    name: str
    title: str | None
    columns: tuple[Column, ...]
    id: str | None = None
    #: In the CSV export (and the order there: the tables' order).
    csv: bool = True


@dataclass(frozen=True)
class Chart:
    """A bar or line chart of ``result.series``: x from ``row[x]`` (a date reads ``dd.mm``), one
    bar/line per ``(key, i18n label, colour)``."""

    x: str
    series: tuple[tuple[str, str, str], ...]
    kind: str = "bar"
    height: int = 260


def kpi(key: str, title: str, kind: str = "int", *, currency: str | None = None, color: str | None = None) -> Kpi:
    return Kpi(key, title, kind, currency, color)


def column(key: str, title: str, kind: str = "text", *, currency: str | None = None, signed: bool = False) -> Column:
    return Column(key, title, kind, currency, signed)


def table(name: str, title: str | None, columns: Iterable[Column], *, id: str | None = None, csv: bool = True) -> Table:  # noqa: A002
    return Table(name, title, tuple(columns), id, csv)


_COLOURS = ("#3e63dd", "#30a46c", "#f76b15", "#8e4ec6", "#e5484d")


def chart(x: str, series: Iterable[tuple[str, str] | tuple[str, str, str]], kind: str = "bar", height: int = 260) -> Chart:
    items = tuple((s[0], s[1], s[2] if len(s) > 2 else _COLOURS[i % len(_COLOURS)]) for i, s in enumerate(series))  # type: ignore[misc]
    if kind not in ("bar", "line"):
        raise ImproperlyConfigured(f"chart kind {kind!r}: bar or line")
    return Chart(x, items, kind, height)


def period(days: int = 30, start: str = "from", end: str = "to") -> list[FormField]:
    """Two date parameters, the last ``days`` days by default; a report refuses ``start`` after ``end``."""
    return [
        FormField(start, "date", label="from", default=lambda: today() - dt.timedelta(days=days - 1)),
        FormField(end, "date", label="to", default=today),
    ]


@dataclass
class ReportResult:
    """What ``compute`` answers: raw values (Decimal, int, date …), formatted by the kit."""

    kpis: dict[str, Any] = field(default_factory=dict)
    series: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _takes_lang(compute: Callable[..., Any]) -> bool:
    """Whether a report's ``compute`` takes the reader's language (a ``lang`` parameter or ``**kw``)."""
    import inspect

    try:
        parameters = inspect.signature(compute).parameters.values()
    except (TypeError, ValueError):  # a builtin or a C callable: the plain three arguments
        return False
    return any((p.name == "lang" and p.kind is not p.POSITIONAL_ONLY) or p.kind is p.VAR_KEYWORD for p in parameters)


# --------------------------------------------------------------------------- parameters
def _field(spec: FormField) -> Any:
    from app.core.kinds import Field

    return Field(None, spec.name, spec)


def param_default(spec: FormField) -> Any:
    return spec.default() if callable(spec.default) else spec.default


def raw_default(spec: FormField) -> str:
    """The parameter's default as the URL / an input carries it."""
    value = param_default(spec)
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def parse_params(specs: Iterable[FormField], raw: dict[str, Any], user: Any = None, db: Any = None) -> dict[str, Any]:
    """Submitted parameters (the page's inputs, the API's query string) → typed values, by the
    field kinds; a missing one takes its default. Raises :class:`ValidationFailed` with a message
    by each refused parameter. A relation must name a record ``user`` may see. Two ``date``
    parameters ``from``/``to`` (see :func:`period`) must not run backwards."""
    from app.core.kinds import kind_named

    values: dict[str, Any] = {}
    errors: dict[str, tuple[str, dict]] = {}
    for spec in specs:
        given = raw.get(spec.name)
        if given is None:
            values[spec.name] = param_default(spec)
            continue
        value, error = kind_named(spec.kind).parse(_field(spec), given)
        if error is not None:
            errors[spec.name] = error
        elif value is not None and spec.kind == "relation" and db is not None and user is not None:
            from app.core.query import get_many
            from app.core.registry import resource

            if value not in get_many(db, resource(spec.resource or ""), user, [value]):
                errors[spec.name] = ("error.relation", {})
            else:
                values[spec.name] = value
        else:
            values[spec.name] = value
    dates = [s.name for s in specs if s.kind == "date"]
    if len(dates) == 2 and not errors:
        lo, hi = values.get(dates[0]), values.get(dates[1])
        if lo and hi and lo > hi:
            errors[dates[0]] = ("report.bad_range", {})
    if errors:
        raise ValidationFailed(errors)
    return values


# --------------------------------------------------------------------------- the report
class Report(Page):
    """A report page: see the module's docstring. A :class:`~app.core.registry.Page`, so a panel
    lists it in ``Panel(pages=[...])`` like any page; the kit adds its API routes.

    ``compute(db, user, params)`` answers raw values the kit formats in the reader's language; a
    compute that writes text itself (a sentence of advice in a table cell) declares a ``lang``
    keyword and gets the reader's language in it: the page's, the API request's.

    ``extra`` is a component factory (``"module:function"``) shown beside the parameters, for what
    the page does that is not the report (stock analytics' EUR→RUB rate input). ``api_aliases``
    serve the JSON twin at more paths under the panel's API (a seed's own spelling)."""

    def __init__(
        self,
        name: str,
        route: str,
        title: str,
        *,
        compute: Callable[[Any, Any, dict[str, Any]], ReportResult],
        params: Iterable[FormField] = (),
        kpis: Iterable[Kpi] = (),
        chart: Chart | None = None,
        tables: Iterable[Table] = (),
        perm: str | None = None,
        icon: str = "chart-column",
        live: Iterable[str] = (),
        extra: str | None = None,
        id_prefix: str | None = None,
        api_aliases: Iterable[str] = (),
        menu: bool = True,
    ) -> None:
        # The page by reference (app.core.ui.report_page resolves it in the web process only).
        super().__init__(route, title, f"app.core.ui.report_page:PAGES.{page_key(route)}", perm=perm, icon=icon,
                         on_load="app.core.ui.report_page:ReportState.load", menu=menu)
        self.name = name
        self.compute = compute
        self._compute_takes_lang = _takes_lang(compute)
        self.params = list(params)
        self.kpis = list(kpis)
        self.chart = chart
        self.tables = list(tables)
        self.live = frozenset(live)
        self.extra = extra
        self.id_prefix = id_prefix or name
        self.api_aliases = list(api_aliases)
        self._check()
        REPORTS[route] = self

    def _check(self) -> None:
        from app.core.kinds import KINDS

        where = f"report {self.name!r}"
        for p in self.params:
            if p.kind not in KINDS:
                raise ImproperlyConfigured(f"{where}: parameter {p.name!r} has unknown kind {p.kind!r}")
            if p.kind == "relation" and not p.resource:
                raise ImproperlyConfigured(f"{where}: relation parameter {p.name!r} names no resource")
        for item in [*self.kpis, *(c for tb in self.tables for c in tb.columns)]:
            if item.kind not in VALUE_KINDS:
                raise ImproperlyConfigured(f"{where}: {item.key!r} has kind {item.kind!r} (one of {', '.join(VALUE_KINDS)})")
        names = [tb.name for tb in self.tables]
        if len(set(names)) != len(names):
            raise ImproperlyConfigured(f"{where}: two tables named alike")

    def table_id(self, tb: Table) -> str:
        return tb.id or f"{self.id_prefix}-{tb.name}"

    # -- running ----------------------------------------------------------
    def allowed(self, user: Any) -> bool:
        return self.perm is None or user.has_perm(self.perm)

    def run(self, db: Any, user: Any, raw: dict[str, Any], lang: str = "ru") -> tuple[dict[str, Any], ReportResult]:
        """Check the permission, parse ``raw`` parameters, compute for a reader of ``lang``:
        ``(params, result)``. Raises PermissionDenied / ValidationFailed (403 / 422, a message by
        the parameter)."""
        if not self.allowed(user):
            raise PermissionDenied()
        params = parse_params(self.params, raw, user, db)
        if self._compute_takes_lang:
            return params, self.compute(db, user, params, lang=lang)
        return params, self.compute(db, user, params)

    def as_json(self, params: dict[str, Any], result: ReportResult) -> dict[str, Any]:
        """The API twin: the parameters as understood, the KPIs, the chart's series and the tables."""
        from app.core.api_base import jsonable

        return jsonable({"report": self.name, "params": params, "kpis": result.kpis, "series": result.series, "tables": result.tables})

    def shown(self, result: ReportResult, lang: str) -> dict[str, Any]:
        """What the page shows: every KPI and cell formatted in ``lang``; a signed cell's tone in
        ``<key>__tone`` ("red" below zero, "green" otherwise); the chart's x as ``dd.mm``."""
        kpis = {k.key: fmt(result.kpis.get(k.key), k.kind, lang, k.currency) for k in self.kpis}
        tables: dict[str, list[dict[str, str]]] = {}
        for tb in self.tables:
            rows = []
            for row in result.tables.get(tb.name, []):
                out = {}
                for c in tb.columns:
                    out[c.key] = fmt(row.get(c.key), c.kind, lang, c.currency)
                    if c.signed:
                        out[f"{c.key}__tone"] = "red" if (row.get(c.key) or 0) < 0 else "green"
                rows.append(out)
            tables[tb.name] = rows
        series = []
        if self.chart is not None:
            for row in result.series:
                x = row.get(self.chart.x)
                point: dict[str, Any] = {self.chart.x: x.strftime("%d.%m") if isinstance(x, dt.date) else str(x)}
                for key, _, _ in self.chart.series:
                    v = row.get(key)
                    point[key] = float(v) if isinstance(v, Decimal) else (v or 0)
                series.append(point)
        return {"kpis": kpis, "tables": tables, "series": series}

    def csv(self, result: ReportResult, lang: str) -> str:
        """The tables marked ``csv`` one under another (a title line, a header, the rows, a blank
        line), headers in ``lang``; every cell neutralised against formula injection."""
        from app.core import safe_cells

        out = io.StringIO()
        w = safe_cells.writer(out)
        parts = [tb for tb in self.tables if tb.csv]
        for i, tb in enumerate(parts):
            if i:
                w.writerow([])
            if len(parts) > 1 and tb.title:
                w.writerow([t(tb.title, lang)])
            w.writerow([t(c.title, lang) for c in tb.columns])
            for row in result.tables.get(tb.name, []):
                w.writerow([csv_value(row.get(c.key), c.kind, lang, c.currency) for c in tb.columns])
        return "\ufeff" + out.getvalue()  # a BOM: spreadsheets then read the Cyrillic right

    def csv_filename(self, params: dict[str, Any]) -> str:
        dates = [params[p.name].isoformat() for p in self.params if p.kind == "date" and params.get(p.name)]
        return "_".join([self.name, *dates]) + ".csv"


# --------------------------------------------------------------------------- the dashboard
@dataclass(frozen=True)
class Widget:
    """One dashboard widget. ``kind``: ``stat`` (``compute`` answers ``(now, before)``: the figure
    and the previous period's, the trend is their difference), ``chart`` (a series, see
    :class:`Chart`), ``table`` (rows, see :class:`Table`'s columns), ``alerts`` (a list of
    ``{"text", "link", "tone"}``). ``perm``: shown only to those who have it."""

    name: str
    kind: str
    title: str
    compute: Callable[[Any, Any], Any]
    value_kind: str = "int"
    currency: str | None = None
    #: For a stat: what the previous figure was ("vs yesterday"), an i18n key.
    compare: str | None = None
    chart: Chart | None = None
    columns: tuple[Column, ...] = ()
    perm: str | None = None
    #: Grid columns the widget spans on a wide screen (of the dashboard's ``columns``).
    span: int = 1
    #: For alerts: the text shown when there are none.
    empty: str = "dashboard.no_alerts"


def stat(name: str, title: str, compute: Callable[[Any, Any], tuple[Any, Any]], kind: str = "int", *, currency: str | None = None,
         compare: str | None = None, perm: str | None = None) -> Widget:
    return Widget(name, "stat", title, compute, kind, currency, compare, perm=perm)


def chart_widget(name: str, title: str, compute: Callable[[Any, Any], list[dict[str, Any]]], spec: Chart, *, perm: str | None = None, span: int = 2) -> Widget:
    return Widget(name, "chart", title, compute, chart=spec, perm=perm, span=span)


def table_widget(name: str, title: str, compute: Callable[[Any, Any], list[dict[str, Any]]], columns: Iterable[Column], *, perm: str | None = None, span: int = 2) -> Widget:
    return Widget(name, "table", title, compute, columns=tuple(columns), perm=perm, span=span)


def alerts(name: str, title: str, compute: Callable[[Any, Any], list[dict[str, str]]], *, empty: str = "dashboard.no_alerts", perm: str | None = None, span: int = 2) -> Widget:
    return Widget(name, "alerts", title, compute, perm=perm, span=span, empty=empty)


def trend(now: Any, before: Any, kind: str, lang: str, currency: str | None = None) -> tuple[str, str]:
    """(the change as text, its tone) of a stat: ``+3`` green, ``−250,00 ₽`` red, ``0`` gray."""
    if now is None or before is None:
        return "", "gray"
    diff = now - before
    if kind == "percent":
        text = fmt_number(Decimal(str(diff)) * 100, lang, 1) + " п.п." if lang == "ru" else fmt_number(Decimal(str(diff)) * 100, lang, 1) + " pp"
    else:
        text = fmt(abs(diff), kind, lang, currency)
        text = ("+" if diff > 0 else "−" if diff < 0 else "") + text
    return text, "green" if diff > 0 else "red" if diff < 0 else "gray"


class Dashboard(Page):
    """A page of widgets, live: see the module's docstring. ``live`` names the models whose changes
    refresh it (the change bus's ``model`` names)."""

    def __init__(self, name: str, route: str, title: str, *, widgets: Iterable[Widget], perm: str | None = None,
                 icon: str = "layout-dashboard", live: Iterable[str] = (), menu: bool = True, columns: int = 3) -> None:
        super().__init__(route, title, f"app.core.ui.report_page:PAGES.{page_key(route)}", perm=perm, icon=icon,
                         on_load="app.core.ui.report_page:DashboardState.load", menu=menu)
        self.name = name
        self.widgets = list(widgets)
        self.live = frozenset(live)
        #: Widgets across on a wide screen; a widget's ``span`` is how many of them it takes.
        self.columns = columns
        for w in self.widgets:
            if w.kind not in ("stat", "chart", "table", "alerts"):
                raise ImproperlyConfigured(f"dashboard {name!r}: widget {w.name!r} has kind {w.kind!r}")
            if w.kind == "stat" and w.value_kind not in VALUE_KINDS:
                raise ImproperlyConfigured(f"dashboard {name!r}: stat {w.name!r} has kind {w.value_kind!r}")
        if len({w.name for w in self.widgets}) != len(self.widgets):
            raise ImproperlyConfigured(f"dashboard {name!r}: two widgets named alike")
        DASHBOARDS[route] = self

    def visible(self, user: Any) -> list[Widget]:
        return [w for w in self.widgets if w.perm is None or user.has_perm(w.perm)]

    def run(self, db: Any, user: Any) -> dict[str, Any]:
        """Every widget the user may see: ``{name: raw answer}`` (a stat: ``{"value", "previous"}``)."""
        if self.perm is not None and not user.has_perm(self.perm):
            raise PermissionDenied()
        out: dict[str, Any] = {}
        for w in self.visible(user):
            value = w.compute(db, user)
            out[w.name] = {"value": value[0], "previous": value[1]} if w.kind == "stat" else value
        return out

    def shown(self, data: dict[str, Any], lang: str) -> dict[str, Any]:
        """What the page shows, formatted in ``lang``."""
        stats: dict[str, dict[str, str]] = {}
        series: dict[str, list[dict[str, Any]]] = {}
        tables: dict[str, list[dict[str, str]]] = {}
        notes: dict[str, list[dict[str, str]]] = {}
        for w in self.widgets:
            if w.name not in data:
                continue
            value = data[w.name]
            if w.kind == "stat":
                change, tone = trend(value["value"], value["previous"], w.value_kind, lang, w.currency)
                stats[w.name] = {"value": fmt(value["value"], w.value_kind, lang, w.currency), "change": change, "tone": tone,
                                 "previous": fmt(value["previous"], w.value_kind, lang, w.currency)}
            elif w.kind == "chart" and w.chart is not None:
                series[w.name] = [
                    {w.chart.x: (r[w.chart.x].strftime("%d.%m") if isinstance(r[w.chart.x], dt.date) else str(r[w.chart.x])),
                     **{k: float(r.get(k) or 0) for k, _, _ in w.chart.series}} for r in value
                ]
            elif w.kind == "table":
                tables[w.name] = [{c.key: fmt(r.get(c.key), c.kind, lang, c.currency) for c in w.columns} | {"link": str(r.get("link", ""))} for r in value]
            else:
                notes[w.name] = [{"text": str(a.get("text", "")), "link": str(a.get("link", "")), "tone": str(a.get("tone", "orange"))} for a in value]
        return {"stats": stats, "series": series, "tables": tables, "alerts": notes}


class blocks:  # noqa: N801 - a namespace, like ``fields`` and ``filters``
    """The builders a report or dashboard declaration uses: ``blocks.kpi(...)``, ``blocks.table(...)``."""

    kpi = staticmethod(kpi)
    column = staticmethod(column)
    table = staticmethod(table)
    chart = staticmethod(chart)
    period = staticmethod(period)
    stat = staticmethod(stat)
    chart_widget = staticmethod(chart_widget)
    table_widget = staticmethod(table_widget)
    alerts = staticmethod(alerts)
