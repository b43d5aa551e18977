"""The stock panel's declared pages: the overview dashboard and the sales analytics report.

Sales analytics (seed 001, 6.5) as a declared report: by day/week/month in pieces and roubles,
by product, profit; date and product filters, a chart and CSV export — the page, its JSON twin
(``/api/stock/reports/analytics``, and the seed's ``/api/analytics/summary``) and the CSV come
from this one declaration. The EUR→RUB rate input beside the filters is :func:`pages.rate_block`."""

from __future__ import annotations

from app.core import Dashboard, FormField, Report, blocks, fields
from app.panels.stock import services
from app.panels.stock.routes import ANALYTICS as ROUTE
from app.panels.stock.routes import OVERVIEW as OVERVIEW_ROUTE

money = {"currency": "RUB"}

ANALYTICS = Report(
    "analytics", ROUTE, "stock.analytics", perm="stock.analytics.view", id_prefix="an",
    params=[
        *blocks.period(days=30),
        fields.relation("product_id", "stock.products", label="stock.product", help="analytics.all_products"),
        FormField("bucket", "select", label="analytics.bucket", default="day",
                  options=(("day", "analytics.day"), ("week", "analytics.week"), ("month", "analytics.month"))),
    ],
    compute=services.analytics_report,
    kpis=[
        blocks.kpi("pieces", "analytics.pieces"),
        blocks.kpi("revenue", "analytics.revenue", "money", **money),
        blocks.kpi("cost", "analytics.cost", "money", **money),
        blocks.kpi("profit", "analytics.profit", "money", color="green", **money),
    ],
    chart=blocks.chart("period", [("revenue", "analytics.revenue", "#3e63dd")]),
    tables=[
        blocks.table("products", "analytics.by_product", [
            blocks.column("name", "stock.product"), blocks.column("pieces", "analytics.pieces", "int"),
            blocks.column("revenue", "analytics.revenue", "money", **money), blocks.column("cost", "analytics.cost", "money", **money),
            blocks.column("profit", "analytics.profit", "money", signed=True, **money),
        ]),
        blocks.table("periods", "analytics.period", [
            blocks.column("period", "analytics.period", "date"), blocks.column("pieces", "analytics.pieces", "int"),
            blocks.column("revenue", "analytics.revenue", "money", **money),
            blocks.column("profit", "analytics.profit", "money", signed=True, **money),
        ]),
    ],
    live={"order", "product", "setting"},
    extra="app.panels.stock.pages:rate_block",
    api_aliases=["/analytics/summary"],  # seed 001, section 7
)

# What a manager or an operator looks at first: today against yesterday, what waits to be handed
# out, what runs short, the last two weeks' revenue and the latest orders; live.
OVERVIEW = Dashboard(
    "overview", OVERVIEW_ROUTE, "stock.overview", perm="stock.orders.view", icon="layout-dashboard",
    widgets=[
        blocks.stat("orders_today", "overview.orders_today", services.orders_today, compare="overview.vs_yesterday"),
        blocks.stat("revenue_today", "overview.revenue_today", services.revenue_today, "money", currency="RUB", compare="overview.vs_yesterday",
                    perm="stock.analytics.view"),
        blocks.stat("to_issue", "overview.to_issue", services.orders_to_issue),
        blocks.chart_widget("revenue_trend", "overview.revenue_trend", services.revenue_by_day,
                            blocks.chart("day", [("revenue", "analytics.revenue", "#3e63dd")], kind="line", height=220), perm="stock.analytics.view"),
        blocks.alerts("low_stock", "overview.low_stock", services.low_stock_alerts, empty="overview.no_low_stock", perm="stock.products.view", span=1),
        blocks.table_widget("latest_orders", "overview.latest_orders", services.latest_orders, span=3, columns=[
            blocks.column("id", "overview.order_no"), blocks.column("product", "stock.product"), blocks.column("qty", "overview.qty", "int"),
            blocks.column("total", "overview.total", "money", currency="RUB"), blocks.column("created_at", "overview.created", "date"),
        ]),
    ],
    live={"order", "product"},
)
