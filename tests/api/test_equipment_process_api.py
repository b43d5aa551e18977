"""The process side through the REST API: a request from a template (its lines copied), reserving
by SN and by quantity as action parameters, more than available refused under the field with
nothing saved, confirmation refused to support, the SLA settings page's twin."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core import auth
from models.core import User
from models.equipment import (
    Asset,
    EqProduct,
    Process,
    ProductKind,
    RequestKind,
    RequestLine,
    RequestTemplate,
    RequestTemplateLine,
    Reservation,
    StockItem,
    Store,
    Warehouse,
)


@pytest.fixture()
def eq(db, client):
    router = EqProduct(sku="RT-1", name="Роутер", kind=ProductKind.SERIAL)
    cable = EqProduct(sku="CB-1", name="Кабель", kind=ProductKind.CONSUMABLE)
    wh, store = Warehouse(code="MSK", name="Склад"), Store(code="S1", name="Магазин")
    db.add_all([router, cable, wh, store])
    db.flush()
    db.add_all([Asset(sn=f"SN-{i}", product_id=router.id, warehouse_id=wh.id) for i in (1, 2)])
    stock = StockItem(product_id=cable.id, warehouse_id=wh.id, qty_on_hand=4)
    tpl = RequestTemplate(name="Новый магазин", kind=RequestKind.NEW_STORE, checklist=["Проверить"])
    db.add_all([stock, tpl])
    db.flush()
    db.add_all([RequestTemplateLine(template_id=tpl.id, product_id=router.id, qty=1),
                RequestTemplateLine(template_id=tpl.id, product_id=cable.id, qty=5)])
    headers = {}
    for role in ("storekeeper", "support", "chief"):
        db.add(User(username=role, hashed_password=auth.hash_password(f"{role}-pass"), roles=[f"equipment.{role}"]))
        db.commit()
        r = client.post("/api/auth/login", json={"username": role, "password": f"{role}-pass"})
        headers[role] = {"Authorization": f"Bearer {r.json()['token']}"}
    client.cookies.clear()
    return {"router": router.id, "cable": cable.id, "wh": wh.id, "store": store.id, "tpl": tpl.id, "stock": stock.id, "h": headers}


def test_request_from_template_reserve_and_refusals(db, client, eq):
    h = eq["h"]
    r = client.post("/api/equipment/requests", headers=h["support"], json={"template_id": eq["tpl"], "store_id": eq["store"], "warehouse_id": eq["wh"]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["status"], body["kind"], body["title"]) == ("NEW", "NEW_STORE", "Новый магазин")
    rid = body["id"]
    lines = db.exec(select(RequestLine).where(RequestLine.request_id == rid).order_by(RequestLine.id)).all()
    assert [(x.product_id, x.qty) for x in lines] == [(eq["router"], 1), (eq["cable"], 5)]
    # neither title nor template: a message under the title
    r = client.post("/api/equipment/requests", headers=h["support"], json={"store_id": eq["store"], "lines": [{"product_id": eq["router"], "qty": 1}]})
    assert r.status_code == 422 and r.json()["errors"]["title"] == "Укажите название или выберите шаблон"
    # the storekeeper creates no request; support reserves nothing
    assert client.post("/api/equipment/requests", headers=h["storekeeper"], json={"template_id": eq["tpl"], "store_id": eq["store"]}).status_code == 403
    assert client.post(f"/api/equipment/requests/{rid}/actions/reserve_sn", headers=h["support"], json={"params": {"sn": "SN-1"}}).status_code == 403

    r = client.post(f"/api/equipment/requests/{rid}/actions/reserve_sn", headers=h["storekeeper"], json={"params": {"sn": "SN-2"}})
    assert r.status_code == 200, r.text
    assert db.exec(select(Asset).where(Asset.sn == "SN-2")).one().process is Process.RESERVED
    # 5 cables wanted, 4 on hand: refused under the quantity, nothing reserved
    r = client.post(f"/api/equipment/requests/{rid}/actions/reserve_qty", headers=h["storekeeper"],
                    json={"params": {"product_id": eq["cable"], "qty": 5}})
    assert r.status_code == 422
    assert r.json()["errors"]["qty"] == "Недостаточно «Кабель»: нужно 5, доступно 4"
    db.expire_all()
    assert db.get(StockItem, eq["stock"]).qty_reserved == 0
    assert len(db.exec(select(Reservation).where(Reservation.stock_item_id.is_not(None))).all()) == 0
    r = client.post(f"/api/equipment/requests/{rid}/actions/reserve_auto", headers=h["storekeeper"], json={})
    assert r.status_code == 422 and "доступно 4" in r.text


def test_support_cannot_confirm_a_shipment(db, client, eq):
    from app.core.principal import SYSTEM
    from app.panels.equipment import process

    h = eq["h"]
    db.exec(select(StockItem)).one().qty_on_hand = 10
    db.commit()
    req = process.create_request(db, SYSTEM, store_id=eq["store"], warehouse_id=eq["wh"], template_id=eq["tpl"])
    process.reserve_auto(db, SYSTEM, req)
    sh = process.start_picking(db, SYSTEM, req)
    for code in ("1", "SN-1", "3"):
        process.tick(db, SYSTEM, sh, code)
    db.commit()
    assert client.post(f"/api/equipment/shipments/{sh.id}/actions/confirm", headers=h["support"], json={}).status_code == 403
    r = client.post(f"/api/equipment/shipments/{sh.id}/actions/pick", headers=h["storekeeper"], json={"params": {"code": "9"}})
    assert r.status_code == 422  # not picking any more
    r = client.post(f"/api/equipment/shipments/{sh.id}/actions/confirm", headers=h["storekeeper"], json={})
    assert r.status_code == 200, r.text
    assert client.get(f"/api/equipment/shipments/{sh.id}", headers=h["support"]).json()["status"] == "CONFIRMED"


def test_sla_settings(db, client, eq):
    h = eq["h"]
    assert client.put("/api/equipment/settings/sla", headers=h["support"], json={"install_hours": 10}).status_code == 403
    r = client.put("/api/equipment/settings/sla", headers=h["chief"], json={"install_hours": 0})
    assert r.status_code == 422 and "install_hours" in r.json()["errors"]
    r = client.put("/api/equipment/settings/sla", headers=h["chief"], json={"install_hours": 12, "delivery_hours": 6})
    assert r.status_code == 200, r.text
    from app.panels.equipment import process

    db.expire_all()
    assert process._setting_int(db, process.INSTALL_HOURS_KEY, 0) == 12
    assert process._setting_int(db, process.DELIVERY_HOURS_KEY, 0) == 6
