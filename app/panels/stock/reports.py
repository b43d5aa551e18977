"""Sales analytics (seed 001, 6.5) as a declared report: by day/week/month in pieces and roubles,
by product, profit; date and product filters, a chart and CSV export — the page, its JSON twin
(``/api/stock/reports/analytics``, and the seed's ``/api/analytics/summary``) and the CSV come
from this one declaration. The EUR→RUB rate input beside the filters is :func:`pages.rate_block`."""

from __future__ import annotations

from app.core import FormField, Report, blocks, fields
from app.panels.stock import services
from app.panels.stock.routes import ANALYTICS as ROUTE

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
