"""Report and Dashboard pages' API twins (app/core/report_api.py) for the stock panel's declarations."""

from __future__ import annotations

from decimal import Decimal

from app.core import crud
from app.core.registry import resource
from app.core.report import DASHBOARDS, REPORTS


def test_the_panels_reports_through_the_api(client, users, stock_data, login):
    """Registered reports answer at /api/<panel>/reports/<name>, documented in OpenAPI."""
    h = login("manager")
    r = client.get("/api/stock/reports/analytics", headers=h, params={"product_id": stock_data["cable"].id})
    assert r.status_code == 200 and r.json()["params"]["product_id"] == stock_data["cable"].id
    r = client.get("/api/stock/reports/analytics", headers=h, params={"from": "nope"})
    assert r.status_code == 422 and "from" in r.json()["errors"]
    paths = client.get("/api/openapi.json").json()["paths"]
    names = {p["name"] for p in paths["/api/stock/reports/analytics"]["get"]["parameters"]}
    assert {"from", "to", "product_id", "bucket"} <= names
    assert "/api/numbers/reports/conversion.csv" in paths and "/api/stock/dashboards/overview" in paths
    assert "/stock/analytics" in REPORTS and "/stock/overview" in DASHBOARDS


def test_stock_overview_dashboard(db, users, stock_data, client, login):
    """Today's orders against yesterday's, the low-stock alerts, each widget behind its permission."""
    dash = DASHBOARDS["/stock/overview"]
    orders = resource("stock.orders")
    crud.create_record(db, orders, users["admin"], {"phone": "+7 999 123-45-67", "product_id": str(stock_data["router"].id), "qty": "1"})
    data = dash.run(db, users["manager"])
    assert data["orders_today"] == {"value": 1, "previous": 0}
    assert data["revenue_today"]["value"] == Decimal("6500.00")
    assert [a["link"] for a in data["low_stock"]] == [f"/stock/products/{stock_data['router'].id}"]  # 2 left of 5
    assert len(data["revenue_trend"]) == 14 and data["revenue_trend"][-1]["revenue"] == Decimal("6500.00")
    shown = dash.shown(data, "ru")
    assert shown["stats"]["orders_today"] == {"value": "1", "change": "+1", "tone": "green", "previous": "0"}
    operator = dash.run(db, users["user"])
    assert "revenue_today" not in operator and "revenue_trend" not in operator and "orders_today" in operator
    body = client.get("/api/stock/dashboards/overview", headers=login("user")).json()
    assert set(body["widgets"]) == set(operator)
