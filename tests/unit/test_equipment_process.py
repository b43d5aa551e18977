"""The equipment panel's process side (seed 000, sections 3, 8, 13.2, 13.5, 14) against real PostgreSQL:
requests from templates, reservations (and their race), picking with a checklist, confirmation refused
to support, delivered → not installed → installed, the new-store progress, SLA notices sent once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlmodel import Session, func, select

from app.core.errors import PermissionDenied, ValidationFailed
from app.core.machine import IllegalTransition
from app.core.principal import SYSTEM, CurrentUser
from app.panels.equipment import process
from app.panels.equipment.roles import ROLES
from models.core import Notification, Setting, User
from models.equipment import (
    Asset,
    AssetEvent,
    Condition,
    DeliveryOrder,
    DeliveryProvider,
    EqProduct,
    EqRequest,
    Location,
    MoveKind,
    Process,
    ProductKind,
    RequestKind,
    RequestLine,
    RequestStatus,
    RequestTemplate,
    RequestTemplateLine,
    Reservation,
    ReservationStatus,
    Shipment,
    ShipmentStatus,
    StockItem,
    StockMove,
    Store,
    Warehouse,
)


def as_user(role: str) -> CurrentUser:
    return CurrentUser(id=None, username=role, roles=(f"equipment.{role}",), permissions=frozenset(ROLES[role][1]))


KEEPER, SUPPORT, CHIEF = as_user("storekeeper"), as_user("support"), as_user("chief")


@pytest.fixture()
def world(db) -> dict:
    """A warehouse with 5 routers and 10 cables, a store, and the "new store" template (2 routers, 3 cables)."""
    router = EqProduct(sku="RT-1", name="Роутер", kind=ProductKind.SERIAL)
    cable = EqProduct(sku="CB-1", name="Кабель", kind=ProductKind.CONSUMABLE)
    wh = Warehouse(code="MSK", name="Склад Москва")
    store = Store(code="S1", name="Магазин на Тверской")
    db.add_all([router, cable, wh, store])
    db.flush()
    assets = [Asset(sn=f"SN-{i}", product_id=router.id, warehouse_id=wh.id) for i in range(1, 6)]
    stock = StockItem(product_id=cable.id, warehouse_id=wh.id, qty_on_hand=10)
    tpl = RequestTemplate(name="Новый магазин", kind=RequestKind.NEW_STORE, checklist=["Проверить комплектность", "Роутер настроен"])
    db.add_all([*assets, stock, tpl])
    db.flush()
    db.add_all([RequestTemplateLine(template_id=tpl.id, product_id=router.id, qty=2),
                RequestTemplateLine(template_id=tpl.id, product_id=cable.id, qty=3)])
    db.commit()
    return {"router": router, "cable": cable, "wh": wh, "store": store, "assets": assets, "stock": stock, "tpl": tpl}


def new_store_request(db, w) -> EqRequest:
    req = process.create_request(db, SUPPORT, store_id=w["store"].id, warehouse_id=w["wh"].id, template_id=w["tpl"].id)
    db.commit()
    return req


def refreshed(db, *rows):
    for r in rows:
        db.refresh(r)
    return rows


# ---------------------------------------------------------------- requests and templates


def test_a_request_from_the_template_copies_its_lines_checklist_and_kind(db, world):
    req = new_store_request(db, world)
    assert (req.kind, req.status, req.title) == (RequestKind.NEW_STORE, RequestStatus.NEW, "Новый магазин")
    assert [c["item"] for c in req.checklist] == ["Проверить комплектность", "Роутер настроен"]
    assert not any(c["done"] for c in req.checklist)
    lines = db.exec(select(RequestLine).where(RequestLine.request_id == req.id).order_by(RequestLine.id)).all()
    assert [(x.product_id, x.qty, x.qty_reserved) for x in lines] == [(world["router"].id, 2, 0), (world["cable"].id, 3, 0)]


def test_a_request_by_hand_and_who_may_create_one(db, world):
    req = process.create_request(db, CHIEF, store_id=world["store"].id, warehouse_id=world["wh"].id, title="Замена роутера",
                                 lines=[(world["router"].id, 1)])
    db.commit()
    assert req.kind is RequestKind.REGULAR and req.checklist == []
    with pytest.raises(PermissionDenied):
        process.create_request(db, KEEPER, store_id=world["store"].id, warehouse_id=world["wh"].id, title="x", lines=[(world["router"].id, 1)])
    with pytest.raises(ValidationFailed) as exc:
        process.create_request(db, SUPPORT, store_id=world["store"].id, warehouse_id=world["wh"].id, title="Пусто", lines=[])
    assert exc.value.messages()["lines"] == "Добавьте хотя бы одну строку"
    db.rollback()


# ---------------------------------------------------------------- reservations


def test_reserve_automatically_takes_free_working_assets_and_quantities(db, world):
    world["assets"][0].condition = Condition.DEFECTIVE  # SN-1 is broken: never reserved
    db.commit()
    req = new_store_request(db, world)
    assert process.reserve_auto(db, KEEPER, req) == 5
    db.commit()
    assert req.status is RequestStatus.RESERVED
    reserved = db.exec(select(Asset).where(Asset.request_id == req.id).order_by(Asset.id)).all()
    assert [a.sn for a in reserved] == ["SN-2", "SN-3"] and all(a.process is Process.RESERVED for a in reserved)
    (stock,) = refreshed(db, world["stock"])
    assert (stock.qty_on_hand, stock.qty_reserved, stock.qty_available) == (10, 3, 7)
    assert db.exec(select(func.count()).select_from(Reservation).where(Reservation.status == ReservationStatus.ACTIVE)).one() == 3
    events = db.exec(select(AssetEvent).where(AssetEvent.asset_id == reserved[0].id)).all()
    assert [(e.axis, e.from_value, e.to_value) for e in events] == [("process", "FREE", "RESERVED")]


def test_reserving_more_than_available_names_the_product_and_saves_nothing(db, world):
    req = process.create_request(db, SUPPORT, store_id=world["store"].id, warehouse_id=world["wh"].id, title="Много",
                                 lines=[(world["cable"].id, 2), (world["router"].id, 9)])
    db.commit()
    with pytest.raises(ValidationFailed) as exc:
        process.reserve_auto(db, KEEPER, req)
    assert exc.value.messages()[""] == "Недостаточно «Роутер»: нужно 9, доступно 5"
    db.rollback()
    (stock,) = refreshed(db, world["stock"])
    assert stock.qty_reserved == 0  # the cables reserved before the routers failed went back too
    assert db.exec(select(func.count()).select_from(Reservation)).one() == 0
    assert all(a.process is Process.FREE for a in db.exec(select(Asset)).all())
    # by quantity: the same message under the quantity
    req2 = process.create_request(db, SUPPORT, store_id=world["store"].id, warehouse_id=world["wh"].id, title="Кабели",
                                  lines=[(world["cable"].id, 20)])
    db.commit()
    with pytest.raises(ValidationFailed) as exc:
        process.reserve_quantity(db, KEEPER, req2, world["cable"].id, 11)
    assert exc.value.messages()["qty"] == "Недостаточно «Кабель»: нужно 11, доступно 10"
    db.rollback()
    assert refreshed(db, world["stock"])[0].qty_reserved == 0


def test_reserve_by_sn_refusals(db, world):
    req = new_store_request(db, world)
    with pytest.raises(PermissionDenied):
        process.reserve_asset(db, SUPPORT, req, "SN-1")
    db.rollback()
    process.reserve_asset(db, KEEPER, req, "SN-1")
    db.commit()
    other = new_store_request(db, world)
    with pytest.raises(ValidationFailed) as exc:
        process.reserve_asset(db, KEEPER, other, "SN-1")
    assert "SN-1" in str(exc.value.messages())
    db.rollback()
    with pytest.raises(ValidationFailed) as exc:
        process.reserve_asset(db, KEEPER, other, "NOPE")
    assert exc.value.messages()["sn"] == "Серийный номер NOPE не найден"
    db.rollback()
    world["assets"][4].condition = Condition.DEFECTIVE
    db.commit()
    with pytest.raises(IllegalTransition) as exc:  # the machine's guard: only working equipment
        process.reserve_asset(db, KEEPER, other, "SN-5")
    assert exc.value.message() == "Зарезервировать можно только исправное оборудование"
    db.rollback()
    process.reserve_asset(db, KEEPER, req, "SN-2")
    db.commit()
    with pytest.raises(ValidationFailed) as exc:  # the request asks for 2 routers: a third is refused
        process.reserve_asset(db, KEEPER, req, "SN-3")
    assert exc.value.messages()[""] == "«Роутер» уже зарезервировано полностью"
    db.rollback()
    assert db.get(Asset, world["assets"][2].id).process is Process.FREE


@pytest.fixture()
def wide_engine(engine):
    """An engine whose pool holds a connection per racing thread (the default 5 + 10 would make
    the 16th thread wait for a connection while the others wait for it at the barrier)."""
    from sqlalchemy import create_engine

    eng = create_engine(engine.url.render_as_string(hide_password=False), pool_size=25, max_overflow=0)
    yield eng
    eng.dispose()


def test_twenty_threads_never_reserve_twice(wide_engine, db, world):
    """20 requests (2 routers + 3 cables each) reserved automatically at once, and 20 threads
    reserving the same SN: 5 routers fill two requests, one SN goes to one request, nothing twice."""
    engine = wide_engine
    reqs = [process.create_request(db, SUPPORT, store_id=world["store"].id, warehouse_id=world["wh"].id, template_id=world["tpl"].id)
            for _ in range(20)]
    db.commit()
    ids = [r.id for r in reqs]
    barrier = threading.Barrier(20)
    outcome: list[str] = []

    def auto(request_id: int) -> None:
        with Session(engine, expire_on_commit=False) as s:
            req = s.get(EqRequest, request_id)
            barrier.wait(timeout=60)
            try:
                process.reserve_auto(s, KEEPER, req)
                s.commit()
                outcome.append("ok")
            except ValidationFailed as exc:
                s.rollback()
                outcome.append(exc.messages()[""])

    threads = [threading.Thread(target=auto, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcome.count("ok") == 2, outcome
    assert all(o == "ok" or o.startswith("Недостаточно «Роутер»") for o in outcome)
    active = db.exec(select(Reservation).where(Reservation.status == ReservationStatus.ACTIVE)).all()
    asset_ids = [r.asset_id for r in active if r.asset_id]
    assert len(asset_ids) == len(set(asset_ids)) == 4
    assert db.exec(select(func.count()).select_from(Asset).where(Asset.process == Process.RESERVED)).one() == 4
    stock = db.exec(select(StockItem).execution_options(populate_existing=True)).one()
    assert stock.qty_reserved == 6 == sum(r.qty for r in active if r.stock_item_id)
    done = db.exec(select(EqRequest).where(EqRequest.status == RequestStatus.RESERVED)).all()
    assert len(done) == 2
    assert all(x.qty_reserved == 0 for x in db.exec(select(RequestLine).where(RequestLine.request_id.not_in([r.id for r in done]))).all())

    # the one free router left, wanted by 20 at once by its SN
    free = db.exec(select(Asset).where(Asset.process == Process.FREE)).one()
    rest = [i for i in ids if i not in {r.id for r in done}]
    barrier2 = threading.Barrier(len(rest))
    won: list[int] = []

    def by_sn(request_id: int) -> None:
        with Session(engine, expire_on_commit=False) as s:
            req = s.get(EqRequest, request_id)
            barrier2.wait(timeout=60)
            try:
                process.reserve_asset(s, KEEPER, req, free.sn)
                s.commit()
                won.append(request_id)
            except ValidationFailed:
                s.rollback()

    threads = [threading.Thread(target=by_sn, args=(i,)) for i in rest]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert db.exec(select(func.count()).select_from(Reservation).where(Reservation.asset_id == free.id)).one() == 1
    # and consumables by quantity: 18 threads want 2 of the 4 cables left → exactly 2 succeed
    barrier3 = threading.Barrier(len(rest))
    got: list[int] = []

    def by_qty(request_id: int) -> None:
        with Session(engine, expire_on_commit=False) as s:
            req = s.get(EqRequest, request_id)
            barrier3.wait(timeout=60)
            try:
                process.reserve_quantity(s, KEEPER, req, world["cable"].id, 2)
                s.commit()
                got.append(request_id)
            except ValidationFailed:
                s.rollback()

    threads = [threading.Thread(target=by_qty, args=(i,)) for i in rest]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stock = db.exec(select(StockItem).execution_options(populate_existing=True)).one()
    assert len(got) == 2 and stock.qty_reserved == stock.qty_on_hand == 10


# ---------------------------------------------------------------- picking, confirmation, hand-over


def picked_shipment(db, w) -> tuple[EqRequest, Shipment]:
    req = new_store_request(db, w)
    process.reserve_auto(db, KEEPER, req)
    sh = process.start_picking(db, KEEPER, req)
    db.commit()
    return req, sh


def test_picking_with_the_checklist(db, world):
    req, sh = picked_shipment(db, world)
    assert req.status is RequestStatus.PICKING and sh.status is ShipmentStatus.PICKING
    assert [c["item"] for c in sh.checklist] == ["Проверить комплектность", "Роутер настроен",
                                                 "Роутер · SN SN-1", "Роутер · SN SN-2", "Кабель × 3"]
    with pytest.raises(ValidationFailed) as exc:
        process.tick(db, KEEPER, sh, "SN-99")
    assert exc.value.messages()["code"] == "«SN-99»: нет такого SN в отгрузке и нет пункта с таким номером (пунктов: 5)"
    with pytest.raises(ValidationFailed) as exc:
        process.tick(db, KEEPER, sh, "3")
    assert exc.value.messages()["code"] == "«Роутер · SN SN-1»: отсканируйте серийный номер"
    with pytest.raises(PermissionDenied):
        process.tick(db, SUPPORT, sh, "1")
    db.rollback()
    process.tick(db, KEEPER, sh, "sn-1")  # a scanner's case does not matter
    db.commit()
    assert db.get(Asset, world["assets"][0].id).process is Process.PICKED
    with pytest.raises(ValidationFailed):
        process.tick(db, KEEPER, sh, "SN-1")  # ticked already
    db.rollback()
    with pytest.raises(IllegalTransition):  # not picked yet: nothing to confirm
        process.confirm_shipment(db, KEEPER, sh)
    db.rollback()
    for code in ("1", "2", "SN-2", "5"):
        process.tick(db, KEEPER, sh, code)
    db.commit()
    assert sh.status is ShipmentStatus.PICKED and all(c["done"] and c["by"] == "storekeeper" for c in sh.checklist)


def test_confirm_is_refused_to_support_and_hand_over_moves_everything(db, world):
    req, sh = picked_shipment(db, world)
    for code in ("1", "2", "SN-1", "SN-2", "5"):
        process.tick(db, KEEPER, sh, code)
    db.commit()
    with pytest.raises(PermissionDenied):
        process.confirm_shipment(db, SUPPORT, sh)
    db.rollback()
    process.confirm_shipment(db, KEEPER, sh)
    db.commit()
    assert sh.status is ShipmentStatus.CONFIRMED
    a1, a2 = db.exec(select(Asset).where(Asset.request_id == req.id).order_by(Asset.id)).all()
    assert a1.process is Process.WAITING_SHIPMENT
    with pytest.raises(PermissionDenied):
        process.hand_over(db, SUPPORT, sh)
    db.rollback()
    process.hand_over(db, KEEPER, sh)
    db.commit()
    refreshed(db, a1, a2, req, world["stock"])
    assert (a1.process, a1.location, sh.status, req.status) == (Process.IN_SHIPMENT, Location.IN_TRANSIT, ShipmentStatus.HANDED_OVER,
                                                                RequestStatus.SHIPPED)
    stock = world["stock"]
    assert (stock.qty_on_hand, stock.qty_reserved) == (7, 0)
    moves = db.exec(select(StockMove).where(StockMove.kind == MoveKind.SHIPMENT).order_by(StockMove.id)).all()
    assert sorted((m.product_id, m.qty) for m in moves) == sorted([(world["router"].id, -1), (world["router"].id, -1), (world["cable"].id, -3)])
    assert sh.due_at is not None and sh.shipped_at is not None
    axes = [(e.axis, e.to_value) for e in db.exec(select(AssetEvent).where(AssetEvent.asset_id == a1.id).order_by(AssetEvent.id)).all()]
    assert axes == [("process", "RESERVED"), ("process", "PICKED"), ("process", "WAITING_SHIPMENT"), ("process", "IN_SHIPMENT"),
                    ("location", "IN_TRANSIT")]
    assert all(r.status is ReservationStatus.SHIPPED for r in db.exec(select(Reservation)).all())
    with pytest.raises(IllegalTransition):  # handed over twice
        process.hand_over(db, KEEPER, sh)
    db.rollback()


def shipped(db, w) -> tuple[EqRequest, Shipment]:
    req, sh = picked_shipment(db, w)
    for code in ("1", "2", "SN-1", "SN-2", "5"):
        process.tick(db, KEEPER, sh, code)
    process.confirm_shipment(db, KEEPER, sh)
    process.hand_over(db, KEEPER, sh)
    db.commit()
    return req, sh


# ---------------------------------------------------------------- delivered ≠ installed


def test_delivered_then_not_installed_then_installed(db, world):
    req, sh = shipped(db, world)
    with pytest.raises(ValidationFailed):  # not delivered: nothing to install
        process.confirm_installed(db, SUPPORT, sh)
    db.rollback()
    with pytest.raises(PermissionDenied):  # only a chief marks a manual delivery delivered
        process.mark_delivered(db, KEEPER, sh)
    db.rollback()
    yandex = DeliveryOrder(shipment_id=sh.id, provider=DeliveryProvider.YANDEX_DELIVERY, request_key=f"k{sh.id}")
    db.add(yandex)
    db.commit()
    with pytest.raises(ValidationFailed) as exc:  # a provider's delivery is the provider's to report
        process.mark_delivered(db, CHIEF, sh)
    assert "служба доставки" in exc.value.messages()[""]
    db.rollback()
    process.mark_delivered(db, SYSTEM, sh, system=True)  # what the delivery sync does
    db.commit()
    a1, a2 = db.exec(select(Asset).where(Asset.request_id == req.id).order_by(Asset.id)).all()
    assert (a1.process, a1.location, a1.store_id, a1.warehouse_id) == (Process.NOT_INSTALLED, Location.STORE, world["store"].id, None)
    assert a1.delivered_at is not None and req.status is RequestStatus.DELIVERED and sh.status is ShipmentStatus.DELIVERED
    passed = [e.to_value for e in db.exec(select(AssetEvent).where(AssetEvent.asset_id == a1.id, AssetEvent.axis == "process")).all()]
    assert passed[-2:] == ["DELIVERED", "NOT_INSTALLED"]
    with pytest.raises(PermissionDenied):
        process.confirm_installed(db, KEEPER, sh)
    db.rollback()
    assert process.confirm_installed(db, SUPPORT, sh, ["SN-1"]) == 1
    db.commit()
    refreshed(db, a1, a2, req)
    assert (a1.process, a2.process, req.status) == (Process.INSTALLED, Process.NOT_INSTALLED, RequestStatus.DELIVERED)
    assert a1.installed_at is not None
    with pytest.raises(ValidationFailed):
        process.confirm_installed(db, SUPPORT, sh, ["SN-1"])  # installed already
    db.rollback()
    process.confirm_installed(db, SUPPORT, sh)  # the rest of the shipment
    db.commit()
    assert req.status is RequestStatus.INSTALLED  # the installation checklist is still open
    process.tick_request(db, SUPPORT, req, 1)
    db.commit()
    assert req.status is RequestStatus.INSTALLED
    process.tick_request(db, SUPPORT, req, 2)
    db.commit()
    assert req.status is RequestStatus.DONE and req.closed_at is not None


def test_a_chief_marks_a_manual_delivery_delivered(db, world):
    _req, sh = shipped(db, world)
    process.mark_delivered(db, CHIEF, sh)
    db.commit()
    assert sh.status is ShipmentStatus.DELIVERED
    with pytest.raises(ValidationFailed):  # twice: it is not on its way any more
        process.mark_delivered(db, CHIEF, sh)
    db.rollback()


def test_request_statuses_move_only_by_the_services(db, world):
    req = new_store_request(db, world)
    with pytest.raises(IllegalTransition) as exc:
        process.REQUEST.move(db, CHIEF, req, RequestStatus.RESERVED)  # a person asking directly
    assert exc.value.message() == "Статус заявки: «Зарезервирована» ставит только система (из «Новая»)"
    with pytest.raises(IllegalTransition):
        process.REQUEST.move(db, SYSTEM, req, RequestStatus.DONE, system=True)  # NEW → DONE is no transition
    with pytest.raises(ValidationFailed):
        process.start_picking(db, KEEPER, req)  # nothing reserved yet
    db.rollback()


def test_cancel_releases_everything(db, world):
    req, sh = picked_shipment(db, world)
    process.tick(db, KEEPER, sh, "SN-1")
    db.commit()
    with pytest.raises(PermissionDenied):
        process.cancel_request(db, KEEPER, req)
    db.rollback()
    process.cancel_request(db, SUPPORT, req)
    db.commit()
    refreshed(db, sh, world["stock"])
    assert req.status is RequestStatus.CANCELLED and sh.status is ShipmentStatus.CANCELLED
    assert all(a.process is Process.FREE and a.request_id is None for a in db.exec(select(Asset)).all())
    assert world["stock"].qty_reserved == 0
    assert {r.status for r in db.exec(select(Reservation)).all()} == {ReservationStatus.RELEASED}
    assert all(x.qty_reserved == 0 for x in db.exec(select(RequestLine)).all())


# ---------------------------------------------------------------- new store progress


def test_new_store_progress_counts_every_stage(db, world):
    store = world["store"].id
    assert process.store_progress(db, store) is None
    req = new_store_request(db, world)
    p = process.store_progress(db, store)
    assert (p["total"], p["reserved"], p["installed"], p["done"]) == (5, 0, 0, False)
    process.reserve_auto(db, KEEPER, req)
    sh = process.start_picking(db, KEEPER, req)
    db.commit()
    assert {k: process.store_progress(db, store)[k] for k in process.STAGES} == {"reserved": 5, "picked": 0, "shipped": 0, "delivered": 0, "installed": 0}
    process.tick(db, KEEPER, sh, "SN-1")
    process.tick(db, KEEPER, sh, "5")
    db.commit()
    assert process.store_progress(db, store)["picked"] == 4
    for code in ("1", "2", "SN-2"):
        process.tick(db, KEEPER, sh, code)
    process.confirm_shipment(db, KEEPER, sh)
    process.hand_over(db, KEEPER, sh)
    db.commit()
    assert {k: process.store_progress(db, store)[k] for k in process.STAGES} == {"reserved": 5, "picked": 5, "shipped": 5, "delivered": 0, "installed": 0}
    process.mark_delivered(db, CHIEF, sh)
    process.confirm_installed(db, SUPPORT, sh, ["SN-2"])
    db.commit()
    p = process.store_progress(db, store)
    assert {k: p[k] for k in process.STAGES} == {"reserved": 5, "picked": 5, "shipped": 5, "delivered": 5, "installed": 4}
    assert not p["done"] and p["link"] == f"/equipment/requests/{req.id}"
    process.confirm_installed(db, SUPPORT, sh)
    db.commit()
    assert process.store_progress(db, store)["done"] is True


# ---------------------------------------------------------------- SLA


def test_sla_notifies_once_per_overdue_shipment(db, world):
    db.add(User(username="boss", hashed_password="-", roles=["equipment.chief"]))
    db.commit()
    _req, sh = shipped(db, world)
    assert process.check_sla(db) == {"equipment.delivery_overdue": [], "equipment.install_overdue": []}  # due tomorrow
    sh.due_at = process.now() - dt.timedelta(hours=1)
    db.commit()
    assert process.check_sla(db)["equipment.delivery_overdue"] == [sh.id]
    db.commit()
    assert process.check_sla(db)["equipment.delivery_overdue"] == []  # once
    db.commit()
    notes = db.exec(select(Notification).where(Notification.kind == "equipment.delivery_overdue")).all()
    assert len(notes) == 1 and notes[0].link == f"/equipment/shipments/{sh.id}"
    # delivered 50 hours ago, nothing installed: overdue by the default 48 h; not with 100 h set
    process.mark_delivered(db, CHIEF, sh, at=process.now() - dt.timedelta(hours=50))
    db.add(Setting(key=process.INSTALL_HOURS_KEY, value=100))
    db.commit()
    assert process.check_sla(db)["equipment.install_overdue"] == []
    db.get(Setting, process.INSTALL_HOURS_KEY).value = 48
    db.commit()
    assert process.check_sla(db)["equipment.install_overdue"] == [sh.id]
    db.commit()
    assert process.check_sla(db)["equipment.install_overdue"] == []
    db.commit()
    assert len(db.exec(select(Notification).where(Notification.kind == "equipment.install_overdue")).all()) == 1


def test_the_sla_check_is_a_scheduled_job(db):
    from app.core.jobs import KINDS
    from models.jobs import Schedule

    assert process.SLA_KIND in KINDS
    process.ensure_sla_schedule(db)
    db.commit()
    row = db.exec(select(Schedule).where(Schedule.name == process.SLA_SCHEDULE)).one()
    assert (row.kind, row.cron, row.enabled, row.system) == (process.SLA_KIND, process.SLA_CRON, True, True)


def test_releasing_one_reservation_puts_the_request_back_to_new(db, world):
    req = new_store_request(db, world)
    process.reserve_auto(db, KEEPER, req)
    db.commit()
    res = db.exec(select(Reservation).where(Reservation.asset_id.is_not(None)).order_by(Reservation.id)).first()
    with pytest.raises(PermissionDenied):
        process.release_reservation(db, SUPPORT, res)
    db.rollback()
    process.release_reservation(db, KEEPER, res)
    db.commit()
    asset = db.get(Asset, res.asset_id)
    db.refresh(asset)
    assert (asset.process, asset.request_id, res.status, req.status) == (Process.FREE, None, ReservationStatus.RELEASED, RequestStatus.NEW)
    assert [x.qty_reserved for x in db.exec(select(RequestLine).order_by(RequestLine.id)).all()] == [1, 3]
    process.reserve_auto(db, KEEPER, req)  # the one missing router again
    db.commit()
    assert req.status is RequestStatus.RESERVED
