"""Equipment through the REST API: the axes' transitions at ``POST /api/equipment/assets/{id}/actions/<name>``
(allowed, refused by role, refused as illegal with a message), warehouse documents with their lines
(a duplicate serial number answered 422 under its cell), posting refused to support."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core.setup import ensure_user
from models.core import AuditLog
from models.equipment import Asset, EqProduct, ProductKind, Warehouse


@pytest.fixture()
def eq(db, client):
    wh = Warehouse(code="MSK", name="Москва")
    router = EqProduct(sku="RT", name="Router X", kind=ProductKind.SERIAL)
    db.add_all([wh, router])
    for role in ("storekeeper", "support", "chief"):
        ensure_user(db, role, f"{role}-pass-1", [f"equipment.{role}"])
    db.commit()
    headers = {}
    for role in ("storekeeper", "support", "chief"):
        r = client.post("/api/auth/login", json={"username": role, "password": f"{role}-pass-1"})
        assert r.status_code == 200, r.text
        client.cookies.clear()
        headers[role] = {"Authorization": f"Bearer {r.json()['token']}"}
    return {"wh": wh, "router": router, "h": headers}


def receipt(client, eq, sns, role="storekeeper"):
    body = {"kind": "RECEIPT", "warehouse_id": eq["wh"].id, "lines": [{"sku": "RT", "sn": sn, "qty": 1} for sn in sns]}
    return client.post("/api/equipment/documents", json=body, headers=eq["h"][role])


def test_documents_and_transitions_through_the_api(db, client, eq):
    r = receipt(client, eq, ["A-1", "A-1"])
    assert r.status_code == 422 and "lines.1.sn" in r.json()["errors"], r.text
    r = receipt(client, eq, ["A-1", "A-2"])
    assert r.status_code == 201, r.text
    doc = r.json()["id"]
    assert client.post(f"/api/equipment/documents/{doc}/actions/post", headers=eq["h"]["support"]).status_code == 403
    r = client.post(f"/api/equipment/documents/{doc}/actions/post", headers=eq["h"]["storekeeper"])
    assert r.status_code == 200, r.text
    assert receipt(client, eq, ["A-2"]).json()["errors"]["lines.0.sn"] == "Серийный номер уже есть в системе"
    assert client.get("/api/equipment/assets?q=A-2", headers=eq["h"]["support"]).json()["items"][0]["sn"] == "A-2"
    # a choice filter by its value in any letter case (the list page's URL reads the same way)
    for value in ("FREE", "free"):
        r = client.get(f"/api/equipment/assets?process={value}", headers=eq["h"]["support"])
        assert r.status_code == 200 and sorted(i["sn"] for i in r.json()["items"]) == ["A-1", "A-2"], r.text

    a = db.exec(select(Asset).where(Asset.sn == "A-1")).one()
    url = f"/api/equipment/assets/{a.id}/actions"
    assert client.post(f"{url}/needs_repair", headers=eq["h"]["support"]).status_code == 403
    r = client.post(f"{url}/needs_repair", headers=eq["h"]["storekeeper"])
    assert r.status_code == 200 and r.json()["item"]["condition"] == "REQUIRES_REPAIR", r.text
    r = client.post(f"{url}/needs_repair", headers=eq["h"]["storekeeper"])  # already there: illegal, with a message
    assert r.status_code == 409 and "Требует ремонта" in r.json()["detail"], r.text
    # a system transition is no action at all
    assert client.post(f"{url}/dispatch", headers=eq["h"]["chief"]).status_code in (404, 405)
    assert db.exec(select(AuditLog).where(AuditLog.action == "equipment.assets.condition", AuditLog.entity_id == str(a.id))).first()
    # the posted document is read-only
    assert client.patch(f"/api/equipment/documents/{doc}", json={"comment": "x"}, headers=eq["h"]["chief"]).status_code == 403


def test_the_forecast_advises_in_the_readers_language(db, client, eq):
    """``GET /api/equipment/reports/forecast`` (and its CSV) write the advice line in the request's
    language, like the page does in the user's."""
    import datetime as dt

    from models.equipment import MoveKind, StockItem, StockMove

    cable = EqProduct(sku="CB", name="Cable X", kind=ProductKind.CONSUMABLE, lead_time_days=5)
    db.add(cable)
    db.flush()
    db.add(StockItem(product_id=cable.id, warehouse_id=eq["wh"].id, qty_on_hand=8))
    db.add(StockMove(product_id=cable.id, warehouse_id=eq["wh"].id, kind=MoveKind.SHIPMENT, qty=-14, at=dt.datetime.now(dt.timezone.utc)))
    db.commit()
    expected = {"ru": "Пополнить Cable X: сейчас 8 шт, прогноз 0 через 4 дн., рекомендуем +76",
                "en": "Reorder Cable X: 8 now, 0 in 4 days, order +76"}
    for lang, line in expected.items():
        headers = {**eq["h"]["storekeeper"], "Accept-Language": lang}
        r = client.get("/api/equipment/reports/forecast", headers=headers)
        assert r.status_code == 200, r.text
        assert [row["advice"] for row in r.json()["tables"]["forecast"] if row["name"] == "Cable X"] == [line]
        assert line in client.get("/api/equipment/reports/forecast.csv", headers=headers).text
