"""Sales analytics (seed 001, 6.5): by day/week/month in pieces and roubles, by product, profit with
an editable EUR→RUB rate, date and product filters, a chart and CSV export."""

from __future__ import annotations


import reflex as rx

from app.core import live
from app.core.display import fmt_datetime, fmt_money, fmt_number
from app.core.errors import PultError, ValidationFailed
from app.core.ui import ERROR_TOAST, AuthState, set_url, tr, ui_session
from app.core.ui import DateRangeMixin, date_range_inputs
from app.core.ui import forbidden_box
from app.core.ui import page_header, relation_picker
from app.panels.stock import services

from app.panels.stock.routes import ANALYTICS as ROUTE


class AnalyticsState(DateRangeMixin, AuthState):
    product_id: str = ""
    product_label: str = ""
    bucket: str = "day"
    rate: str = ""
    rate_error: str = ""
    periods: list[dict[str, str]] = []
    chart: list[dict[str, float | str]] = []
    products: list[dict[str, str]] = []
    totals: dict[str, str] = {}
    forbidden: bool = False
    can_edit_rate: bool = False

    @rx.event
    def load(self):
        q = self.router.url.query_parameters
        self._read_range(q)
        self.bucket = q.get("bucket", "day") if q.get("bucket") in ("day", "week", "month") else "day"
        self.product_id = q.get("product_id", "") if q.get("product_id", "").isdigit() else ""
        self.product_label = ""
        live.watch(self, {"order", "product", "setting"})
        return self._reload(sync=False)

    def live_refresh(self) -> None:
        self._reload(sync=False)

    def _reload(self, sync: bool = True):
        try:
            with ui_session() as db:
                user = self.current_user()
                self.forbidden = not user.has_perm("stock.analytics.view")
                if self.forbidden:
                    return None
                self.can_edit_rate = user.has_perm("stock.analytics.rate")
                if self.product_id and not self.product_label:
                    from models.stock import Product

                    p = db.get(Product, int(self.product_id))
                    self.product_label = p.name if p else ""
                result = services.analytics(db, user, self._date(self.date_from), self._date(self.date_to), int(self.product_id) if self.product_id else None, self.bucket)
        except PultError as exc:
            return self.fail(exc)
        lang = self.lang
        self.rate = format(result.rate.normalize(), "f")
        self.periods = [{"period": fmt_datetime(p["period"], False), "pieces": fmt_number(p["pieces"], lang), "revenue": fmt_money(p["revenue"], "RUB", lang),
                         "profit": fmt_money(p["profit"], "RUB", lang), "negative": "1" if p["profit"] < 0 else ""} for p in result.periods]
        self.chart = [{"period": p["period"].strftime("%d.%m"), "revenue": float(p["revenue"]), "pieces": p["pieces"]} for p in result.periods]
        self.products = [
            {"name": p["name"], "pieces": fmt_number(p["pieces"], lang), "revenue": fmt_money(p["revenue"], "RUB", lang), "cost": fmt_money(p["cost"], "RUB", lang), "profit": fmt_money(p["profit"], "RUB", lang), "negative": "1" if p["profit"] < 0 else ""}
            for p in result.products
        ]
        t = result.totals
        self.totals = {"pieces": fmt_number(t["pieces"], lang), "revenue": fmt_money(t["revenue"], "RUB", lang), "cost": fmt_money(t["cost"], "RUB", lang), "profit": fmt_money(t["profit"], "RUB", lang)}
        if sync:
            return set_url(ROUTE, {"from": self.date_from, "to": self.date_to, "bucket": self.bucket, "product_id": self.product_id})
        return None

    @rx.event
    def set_bucket(self, v: str | list[str]):
        self.bucket = v if isinstance(v, str) else (v[0] if v else "day")
        return self._reload()

    @rx.event
    def pick_product(self, pid: str, label: str):
        self.product_id, self.product_label = pid, label
        return self._reload()

    @rx.event
    def set_rate_text(self, v: str):
        self.rate = v
        self.rate_error = ""

    @rx.event
    def save_rate(self):
        try:
            with ui_session() as db:
                services.set_eur_rub_rate(db, self.current_user(), self.rate)
        except ValidationFailed as exc:
            self.rate_error = exc.messages(self.lang).get("rate", exc.message(self.lang))
            return rx.toast.error(self.rate_error, id=ERROR_TOAST)
        except PultError as exc:
            return self.fail(exc)
        self.rate_error = ""
        return [*self.ok(self.t("analytics.rate_saved")), AnalyticsState.refresh]

    @rx.event
    def refresh(self):
        return self._reload(sync=False)

    @rx.event
    def export_csv(self):
        try:
            with ui_session() as db:
                user = self.current_user()
                result = services.analytics(db, user, self._date(self.date_from), self._date(self.date_to), int(self.product_id) if self.product_id else None, self.bucket)
        except PultError as exc:
            return self.fail(exc)
        return rx.download(data=services.analytics_csv(result), filename=f"sales_{self.date_from}_{self.date_to}.csv")


def _kpi(title_key: str, value: rx.Var, color: str = "gray") -> rx.Component:
    return rx.card(rx.vstack(rx.text(tr(title_key), size="2", color_scheme="gray"), rx.heading(value, size="6", color_scheme=color), spacing="1"), width="100%")


def analytics_page() -> rx.Component:
    S = AnalyticsState
    filters_row = rx.hstack(
        *date_range_inputs(S, "an"),
        rx.vstack(rx.text(tr("stock.product"), size="1", color_scheme="gray"), relation_picker("analytics:product", "stock.products", S.product_label, S.pick_product, placeholder=tr("analytics.all_products"), width="16em"), spacing="1"),
        rx.vstack(rx.text(tr("analytics.bucket"), size="1", color_scheme="gray"), rx.segmented_control.root(
            rx.segmented_control.item(tr("analytics.day"), value="day"), rx.segmented_control.item(tr("analytics.week"), value="week"), rx.segmented_control.item(tr("analytics.month"), value="month"),
            value=S.bucket, on_change=S.set_bucket), spacing="1"),
        rx.vstack(
            rx.text(tr("analytics.rate"), size="1", color_scheme="gray"),
            rx.hstack(rx.input(value=S.rate, on_change=S.set_rate_text, width="7em", id="an-rate", disabled=~S.can_edit_rate), rx.cond(S.can_edit_rate, rx.button(tr("save"), on_click=S.save_rate, variant="soft", id="an-rate-save")), spacing="1"),
            rx.cond(S.rate_error != "", rx.text(S.rate_error, color_scheme="red", size="1")),
            spacing="1",
        ),
        wrap="wrap", spacing="4", align="end",
    )
    kpis = rx.grid(_kpi("analytics.pieces", S.totals.get("pieces", "")), _kpi("analytics.revenue", S.totals.get("revenue", "")), _kpi("analytics.cost", S.totals.get("cost", "")), _kpi("analytics.profit", S.totals.get("profit", ""), "green"), columns=rx.breakpoints(initial="2", md="4"), spacing="3", width="100%", id="an-kpis")
    chart = rx.card(rx.recharts.bar_chart(
        rx.recharts.bar(data_key="revenue", fill="#3e63dd", name="₽"),
        rx.recharts.x_axis(data_key="period"), rx.recharts.y_axis(), rx.recharts.tooltip(), rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        data=S.chart, height=260, width="100%",
    ), width="100%")
    by_period = rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(k)) for k in ("analytics.period", "analytics.pieces", "analytics.revenue", "analytics.profit")])),
        rx.table.body(rx.foreach(S.periods, lambda p: rx.table.row(
            rx.table.cell(p["period"]), rx.table.cell(p["pieces"]), rx.table.cell(p["revenue"]),
            rx.table.cell(rx.text(p["profit"], color_scheme=rx.cond(p["negative"] == "1", "red", "green")))))),
        size="1", width="100%", id="an-periods",
    )
    by_product = rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(k)) for k in ("stock.product", "analytics.pieces", "analytics.revenue", "analytics.cost", "analytics.profit")])),
        rx.table.body(rx.foreach(S.products, lambda p: rx.table.row(rx.table.cell(p["name"]), rx.table.cell(p["pieces"]), rx.table.cell(p["revenue"]), rx.table.cell(p["cost"]), rx.table.cell(rx.text(p["profit"], color_scheme=rx.cond(p["negative"] == "1", "red", "green")))))),
        size="1", width="100%", id="an-products",
    )
    body = rx.vstack(
        page_header(tr("stock.analytics"), rx.button(rx.icon("download", size=14), tr("analytics.export"), on_click=S.export_csv, variant="soft", id="an-export")),
        filters_row, kpis, chart,
        # the by-product table has more columns: it gets the wider share, and either scrolls rather than being cut off
        rx.grid(rx.card(rx.vstack(rx.heading(tr("analytics.by_product"), size="3"), rx.box(by_product, overflow_x="auto", width="100%"), width="100%"), min_width="0"),
                rx.card(rx.vstack(rx.heading(tr("analytics.period"), size="3"), rx.box(by_period, overflow_x="auto", width="100%"), width="100%"), min_width="0"),
                grid_template_columns=rx.breakpoints(initial="minmax(0, 1fr)", lg="minmax(0, 3fr) minmax(0, 2fr)"), spacing="4", width="100%"),
        spacing="4", width="100%",
    )
    return rx.cond(S.forbidden, forbidden_box(), body)
