"""The equipment panel's delivery against the Yandex Delivery sandbox, over real HTTP and on the
real database: claim created once per key, statuses normalised into a timeline, the provider log,
the process's effects, cancel, and what a support user / a wrong role / bad data get."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core import settings_page
from app.core.errors import PermissionDenied, PultError
from app.core.principal import CurrentUser
from models.core import AuditLog
from models.equipment import (
    DeliveryEvent,
    DeliveryOrder,
    DeliveryProviderLog,
    DeliveryStatus,
    EqProduct,
    Shipment,
    ShipmentItem,
    ShipmentStatus,
    StockItem,
    Store,
    Warehouse,
)
from models.jobs import Schedule

TOKEN = "y0_AgAAAAAequipment-SECRET-token-0123456789"
SUPPORT = CurrentUser(id=None, username="support", roles=("equipment.support",), permissions=frozenset({"equipment.delivery.create"}))
STOREKEEPER = CurrentUser(id=None, username="sk", roles=("equipment.storekeeper",), permissions=frozenset({"equipment.shipments.pick"}))


@pytest.fixture(scope="module")
def yd_server():
    from integrations.sandbox.yandex_delivery import start_sandbox

    handle = start_sandbox()
    yield handle
    handle.stop()


@pytest.fixture()
def sandbox(yd_server):
    yd_server.reset()
    yd_server.add_token(TOKEN)
    return yd_server


@pytest.fixture()
def delivery(db, users, sandbox, monkeypatch):
    """The delivery module configured for the sandbox. Its process effects are switched off here
    (these shipments are hand-made, with no request behind them): ``test_the_whole_way`` keeps them."""
    import app.boot

    app.boot.boot()
    from app.panels.equipment import delivery as mod

    settings_page.save(db, mod.INTEGRATIONS, users["admin"], {"yandex_enabled": True, "yandex_token": TOKEN, "yandex_url": sandbox.url})
    monkeypatch.setattr(mod, "ON_STATUS", {})
    return mod


@pytest.fixture()
def shipment(db) -> Shipment:
    wh = Warehouse(code="W1", name="Склад Север", city="Москва", address="Складочная ул., 1с1", lat=55.804, lon=37.590)
    st = Store(code="S12", name="Магазин №12", city="Москва", address="Тверская ул., 7", lat=55.758, lon=37.613,
               contact_name="Анна", contact_phone="+79990000012")
    router = EqProduct(sku="R-X", name="Роутер X", weight_kg=0.8, length_cm=30, width_cm=20, height_cm=8)
    db.add_all([wh, st, router])
    db.flush()
    s = Shipment(warehouse_id=wh.id, store_id=st.id, status=ShipmentStatus.CONFIRMED)
    db.add(s)
    db.flush()
    item = StockItem(product_id=router.id, warehouse_id=wh.id, qty_on_hand=10)
    db.add(item)
    db.flush()
    db.add(ShipmentItem(shipment_id=s.id, product_id=router.id, stock_item_id=item.id, qty=2))
    db.commit()
    return s


def test_claim_is_created_once_and_its_walk_becomes_a_timeline(db, users, sandbox, delivery, shipment, monkeypatch):
    delivered: list[int] = []
    delivery.on_status("DELIVERED")(lambda s, order, sh: delivered.append(sh.id))
    order = delivery.create_delivery(db, SUPPORT, shipment.id)
    assert order.external_id and order.tariff == "express"  # 2 routers, 1.6 kg: a passenger car
    assert len(sandbox.claims()) == 1
    # asking again while it is active returns the same order and makes no second claim
    again = delivery.create_delivery(db, SUPPORT, shipment.id)
    assert again.id == order.id and len(sandbox.calls("claims/create")) == 1
    # the schedule the order owns
    assert db.exec(select(Schedule).where(Schedule.name == f"delivery:{order.id}")).one().cron == delivery.SYNC_CRON

    sandbox.advance(order.external_id, "ready_for_approval")
    delivery.sync_order(db, order.id)  # accepted automatically, then read back
    sandbox.advance(order.external_id, "performer_found")
    assert delivery.sync_order(db, order.id).status == DeliveryStatus.COURIER_ASSIGNED
    sandbox.advance(order.external_id, "pickuped")
    assert delivery.sync_order(db, order.id).status == DeliveryStatus.PICKED_UP
    assert delivered == []
    sandbox.advance(order.external_id, "delivered_finish")
    done = delivery.sync_order(db, order.id)
    assert done.status == DeliveryStatus.DELIVERED and done.raw_payload["status"] == "delivered_finish"
    assert delivered == [shipment.id]  # the process's effect ran once
    assert db.exec(select(Schedule).where(Schedule.name == f"delivery:{order.id}")).first() is None
    events = db.exec(select(DeliveryEvent).where(DeliveryEvent.delivery_order_id == order.id).order_by(DeliveryEvent.id)).all()
    assert [e.status for e in events][:2] == ["CREATED", "CREATED"]
    assert events[-1].status == "DELIVERED" and "Доставлено" in events[-1].title
    statuses = [a.diff["status"] for a in db.exec(select(AuditLog).where(AuditLog.action == "eq_delivery_order.status"))]
    assert ["PICKED_UP", "DELIVERED"] in statuses
    # every call is in the provider log, and the token never is
    logs = db.exec(select(DeliveryProviderLog).where(DeliveryProviderLog.delivery_order_id == order.id)).all()
    assert any("claims/create" in row.path for row in logs) and any("claims/accept" in row.path for row in logs)
    assert all(TOKEN not in str(row.request) + str(row.response) + row.path for row in logs)


def test_a_lost_answer_after_the_claim_was_stored_costs_no_second_claim(db, sandbox, delivery, shipment):
    sandbox.fail_next("claims/create", status=500, after_commit=True, times=1)
    order = delivery.create_delivery(db, SUPPORT, shipment.id)  # the client retries with the same request_id
    assert order.external_id
    assert len(sandbox.claims()) == 1 and len(sandbox.calls("claims/create")) == 2


def test_provider_down_keeps_the_order_and_the_sync_sends_the_same_key(db, sandbox, delivery, shipment, monkeypatch):
    sandbox.fail_next("claims/create", status=503, times=10)
    with pytest.raises(PultError) as exc:
        delivery.create_delivery(db, SUPPORT, shipment.id)
    assert exc.value.key == "equipment.delivery.unavailable"
    order = db.exec(select(DeliveryOrder)).one()
    assert order.external_id is None and order.status == DeliveryStatus.CREATED
    sandbox.reset()
    sandbox.add_token(TOKEN)
    synced = delivery.sync_order(db, order.id)
    assert synced.external_id and len(sandbox.claims()) == 1
    assert {c["query"].get("request_id") for c in sandbox.calls("claims/create")} == {order.request_key}


def test_cancel_is_free_before_the_courier_and_ends_the_order(db, sandbox, delivery, shipment):
    order = delivery.create_delivery(db, SUPPORT, shipment.id)
    cancelled = delivery.cancel_delivery(db, SUPPORT, order.id)
    assert cancelled.status == DeliveryStatus.CANCELLED
    assert sandbox.claim(order.external_id)["status"] == "cancelled"
    with pytest.raises(PultError):
        delivery.cancel_delivery(db, SUPPORT, order.id)
    # a new delivery can be ordered for the same shipment now
    assert delivery.create_delivery(db, SUPPORT, shipment.id).id != order.id


def test_refusals(db, users, sandbox, delivery, shipment):
    with pytest.raises(PermissionDenied):
        delivery.create_delivery(db, STOREKEEPER, shipment.id)
    shipment.status = ShipmentStatus.PICKING
    db.add(shipment)
    db.commit()
    with pytest.raises(PultError) as exc:
        delivery.create_delivery(db, SUPPORT, shipment.id)
    assert exc.value.key == "equipment.delivery.not_ready"
    shipment.status = ShipmentStatus.CONFIRMED
    store = db.get(Store, shipment.store_id)
    store.lat = None
    db.add_all([shipment, store])
    db.commit()
    with pytest.raises(PultError) as exc:
        delivery.create_delivery(db, SUPPORT, shipment.id)
    assert exc.value.key == "equipment.delivery.no_coordinates"
    assert db.exec(select(DeliveryOrder)).all() == []  # nothing stored for a shipment that cannot go
    assert sandbox.calls("claims/create") == []


def test_a_wrong_token_is_a_message_and_the_settings_never_show_it(db, users, sandbox, delivery, shipment):
    settings_page.save(db, delivery.INTEGRATIONS, users["admin"], {"yandex_token": "y0_wrong"})
    shown = settings_page.read(db, delivery.INTEGRATIONS, users["admin"])
    assert shown["yandex_token"] == "***"
    with pytest.raises(PultError) as exc:
        delivery.create_delivery(db, SUPPORT, shipment.id)
    assert exc.value.key == "equipment.delivery.bad_token"
    result = settings_page.run(db, delivery.INTEGRATIONS, users["admin"], "check")
    assert result.level == "fail" and "Not authorized" in result.message


def test_the_check_button_and_that_only_an_admin_reaches_the_settings(db, users, sandbox, delivery):
    result = settings_page.run(db, delivery.INTEGRATIONS, users["admin"], "check")
    assert result.level == "ok", result.message
    chief = CurrentUser(id=None, username="chief", roles=("equipment.chief",), permissions=frozenset({"equipment.*"}))
    with pytest.raises(PermissionDenied):
        settings_page.read(db, delivery.INTEGRATIONS, chief)


def test_journal_syncs_the_claims_it_names(db, sandbox, delivery, shipment):
    order = delivery.create_delivery(db, SUPPORT, shipment.id)
    sandbox.advance(order.external_id, "ready_for_approval")
    assert delivery.sync_journal(db) == 1
    db.refresh(order)
    assert order.provider_status in ("accepted", "performer_lookup", "ready_for_approval")
    assert delivery.sync_journal(db) == 0  # the cursor moved on


def test_the_whole_way_from_request_to_not_installed_to_installed(db, users, sandbox):
    """Support's request → storekeeper reserves, picks, confirms → support orders the courier →
    the sandbox walks the claim → the pickup hands the shipment over, the delivery leaves its
    assets delivered but not installed (section 8) → support confirms them installed."""
    import app.boot

    app.boot.boot()
    from app.panels.equipment import delivery, process
    from app.panels.equipment.roles import ROLES
    from models.equipment import (
        Asset,
        EqRequest,
        Location,
        Process,
        ProductKind,
        RequestKind,
        RequestStatus,
        RequestTemplate,
        RequestTemplateLine,
    )

    def as_user(role: str) -> CurrentUser:
        return CurrentUser(id=None, username=role, roles=(f"equipment.{role}",), permissions=frozenset(ROLES[role][1]))

    keeper, support = as_user("storekeeper"), as_user("support")
    settings_page.save(db, delivery.INTEGRATIONS, users["admin"], {"yandex_enabled": True, "yandex_token": TOKEN, "yandex_url": sandbox.url})
    wh = Warehouse(code="W1", name="Склад Север", city="Москва", address="Складочная ул., 1с1", lat=55.804, lon=37.590)
    st = Store(code="S12", name="Магазин №12", city="Москва", address="Тверская ул., 7", lat=55.758, lon=37.613,
               contact_name="Анна", contact_phone="+79990000012")
    router = EqProduct(sku="R-X", name="Роутер X", weight_kg=0.8, length_cm=30, width_cm=20, height_cm=8)
    cable = EqProduct(sku="C-1", name="Кабель", kind=ProductKind.CONSUMABLE, weight_kg=0.1, length_cm=20, width_cm=10, height_cm=5)
    db.add_all([wh, st, router, cable])
    db.flush()
    db.add_all([Asset(sn=f"SN-{i}", product_id=router.id, warehouse_id=wh.id) for i in (1, 2)])
    db.add(StockItem(product_id=cable.id, warehouse_id=wh.id, qty_on_hand=10))
    tpl = RequestTemplate(name="Новый магазин", kind=RequestKind.NEW_STORE, checklist=["Всё на месте"])
    db.add(tpl)
    db.flush()
    db.add_all([RequestTemplateLine(template_id=tpl.id, product_id=router.id, qty=2),
                RequestTemplateLine(template_id=tpl.id, product_id=cable.id, qty=3)])
    db.commit()

    req = process.create_request(db, support, store_id=st.id, warehouse_id=wh.id, template_id=tpl.id)
    db.commit()
    process.reserve_auto(db, keeper, req)
    sh = process.start_picking(db, keeper, req)
    db.commit()
    for i, line in enumerate(list(sh.checklist), start=1):  # scan each asset's SN, tick the other lines
        process.tick(db, keeper, sh, line.get("sn") or str(i))
    process.confirm_shipment(db, keeper, sh)
    db.commit()

    order = delivery.create_delivery(db, support, sh.id)
    sandbox.advance(order.external_id, "ready_for_approval")
    delivery.sync_order(db, order.id)
    sandbox.advance(order.external_id, "pickuped")
    delivery.sync_order(db, order.id)
    db.refresh(sh)
    assert sh.status == ShipmentStatus.HANDED_OVER  # the courier's pickup handed it over
    assets = db.exec(select(Asset).order_by(Asset.sn)).all()
    assert {(a.process, a.location) for a in assets} == {(Process.IN_SHIPMENT, Location.IN_TRANSIT)}
    sandbox.advance(order.external_id, "delivered_finish")
    delivery.sync_order(db, order.id)
    for a in assets:
        db.refresh(a)
    assert {(a.process, a.location, a.store_id) for a in assets} == {(Process.NOT_INSTALLED, Location.STORE, st.id)}
    assert db.get(EqRequest, req.id).status == RequestStatus.DELIVERED
    # the timeline of the shipment: ours and the provider's
    titles = [e.title for e in delivery.timeline_events(db, support, sh)]
    assert any("Доставлено" in x for x in titles) and any("Заказ доставки оформлен" in x for x in titles)
    assert process.confirm_installed(db, support, sh) == 2
    db.commit()
    assert db.get(EqRequest, req.id).status in (RequestStatus.INSTALLED, RequestStatus.DONE)
