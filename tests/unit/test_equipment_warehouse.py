"""Equipment, the warehouse side: documents posted and reversed (receipt, move, write-off, repair,
inventory), bad input refused under its field with nothing saved, the roles, and the asset axes'
transitions as row actions (the kit's ``Resource.machines``) through the UI's row state and the
services."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core import auth, crud
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.machine import IllegalTransition
from app.core.query import ListParams
from app.core.registry import resource
from app.panels.equipment import warehouse
from models.core import AuditLog, User
from models.equipment import (
    Asset,
    AssetEvent,
    Condition,
    DocumentStatus,
    EqProduct,
    Location,
    MoveKind,
    Process,
    ProductKind,
    StockDocument,
    StockDocumentLine,
    StockItem,
    StockMove,
    Warehouse,
    WarehouseBin,
)

DOCS = "equipment.documents"


@pytest.fixture()
def eq(db):
    """Two warehouses (one with a bin), a serial router, a consumable cable, and one user per equipment role."""
    main = Warehouse(code="MSK", name="Москва, основной")
    spb = Warehouse(code="SPB", name="Санкт-Петербург")
    db.add_all([main, spb])
    db.flush()
    b1 = WarehouseBin(warehouse_id=main.id, code="A-01")
    router = EqProduct(sku="RT-1", name="Router X", kind=ProductKind.SERIAL, lead_time_days=5)
    cable = EqProduct(sku="CB-1", name="Кабель UTP", kind=ProductKind.CONSUMABLE, lead_time_days=3)
    db.add_all([b1, router, cable])
    users = {}
    for role in ("storekeeper", "support", "chief"):
        u = User(username=role, hashed_password="-", roles=[f"equipment.{role}"])
        db.add(u)
        db.flush()
        users[role] = u
    db.commit()
    cu = {role: auth.current_user_for(db, u) for role, u in users.items()}
    return {"main": main, "spb": spb, "bin": b1, "router": router, "cable": cable, **cu}


def create(db, eq, user, kind, lines, **kw):
    raw = {"kind": kind, "warehouse_id": eq["main"].id, "lines": [{k: str(v) for k, v in line.items()} for line in lines], **kw}
    return crud.create_record(db, resource(DOCS), user, raw)


def post(db, user, doc):
    return crud.run_action(db, resource(DOCS), user, "post", [doc.id])


def receive(db, eq, sns=("SN-1", "SN-2", "SN-3"), cables=10, user=None):
    user = user or eq["storekeeper"]
    lines = [{"sku": "RT-1", "sn": sn, "qty": 1} for sn in sns]
    if cables:
        lines.append({"sku": "cb-1", "qty": cables})
    doc = create(db, eq, user, "RECEIPT", lines)
    post(db, user, doc)
    return doc


def asset(db, sn) -> Asset:
    db.expire_all()
    return db.exec(select(Asset).where(Asset.sn == sn)).one()


def cables(db, eq, warehouse_id=None) -> StockItem | None:
    db.expire_all()
    return db.exec(select(StockItem).where(StockItem.product_id == eq["cable"].id,
                                           StockItem.warehouse_id == (warehouse_id or eq["main"].id))).first()


# --------------------------------------------------------------------------- receipt
def test_a_posted_receipt_brings_assets_and_consumables_in_with_ledger_events_and_audit(db, eq):
    doc = receive(db, eq)
    db.expire_all()
    doc = db.get(StockDocument, doc.id)
    assert doc.status is DocumentStatus.POSTED and doc.posted_by_id == eq["storekeeper"].id and doc.posted_at is not None
    a = asset(db, "SN-2")
    assert (a.location, a.condition, a.process, a.warehouse_id) == (Location.MAIN_WAREHOUSE, Condition.WORKING, Process.FREE, eq["main"].id)
    item = cables(db, eq)
    assert (item.qty_on_hand, item.qty_reserved, item.qty_available) == (10, 0, 10)
    moves = db.exec(select(StockMove).where(StockMove.document_id == doc.id)).all()
    assert sorted(m.qty for m in moves) == [1, 1, 1, 10] and {m.kind for m in moves} == {MoveKind.RECEIPT}
    assert db.exec(select(AssetEvent).where(AssetEvent.document_id == doc.id)).all()
    assert db.exec(select(AuditLog).where(AuditLog.action == "post", AuditLog.entity_id == str(doc.id))).first() is not None
    lines = db.exec(select(StockDocumentLine).where(StockDocumentLine.document_id == doc.id)).all()
    assert all(line.asset_id for line in lines if line.sn)


def test_a_receipt_into_a_bin_puts_assets_in_the_bin(db, eq):
    doc = create(db, eq, eq["storekeeper"], "RECEIPT", [{"sku": "RT-1", "sn": "B-1", "qty": 1}], bin_id=str(eq["bin"].id))
    post(db, eq["storekeeper"], doc)
    a = asset(db, "B-1")
    assert (a.location, a.bin_id) == (Location.BIN, eq["bin"].id)


@pytest.mark.parametrize("lines, key, message", [
    ([{"sn": "D-1"}, {"sn": "D-1"}], "lines.1.sn", "equipment.sn_duplicate"),
    ([{"sn": "SN-1"}], "lines.0.sn", "equipment.sn_exists"),
    ([{"sn": ""}], "lines.0.sn", "equipment.sn_required"),
])
def test_a_bad_receipt_gets_a_message_under_the_cell_and_saves_nothing(db, eq, lines, key, message):
    receive(db, eq, sns=("SN-1",), cables=0)
    before = (db.exec(select(StockDocument)).all(), db.exec(select(Asset)).all())
    rows = [{"sku": "RT-1", "qty": 1, **line} for line in lines]
    with pytest.raises(ValidationFailed) as exc:
        create(db, eq, eq["storekeeper"], "RECEIPT", rows)
    assert exc.value.errors[key][0] == message
    assert (len(db.exec(select(StockDocument)).all()), len(db.exec(select(Asset)).all())) == (len(before[0]), len(before[1]))


def test_a_negative_quantity_is_refused_under_its_cell(db, eq):
    with pytest.raises(ValidationFailed) as exc:
        create(db, eq, eq["storekeeper"], "RECEIPT", [{"sku": "cb-1", "qty": -5}])
    assert "lines.0.qty" in exc.value.errors
    assert db.exec(select(StockDocument)).first() is None


def test_a_bin_of_another_warehouse_is_refused(db, eq):
    with pytest.raises(ValidationFailed) as exc:
        create(db, eq, eq["storekeeper"], "RECEIPT", [{"sku": "cb-1", "qty": 1}],
               warehouse_id=str(eq["spb"].id), bin_id=str(eq["bin"].id))
    assert exc.value.errors["bin_id"][0] == "equipment.bin_elsewhere"


# --------------------------------------------------------------------------- move, write-off, unknown SN
def test_move_takes_assets_and_quantities_to_another_warehouse_and_reverses(db, eq):
    receive(db, eq)
    sk = eq["storekeeper"]
    doc = create(db, eq, sk, "MOVE", [{"sn": "SN-1", "qty": 1}, {"sku": "cb-1", "qty": 4}], to_warehouse_id=str(eq["spb"].id))
    post(db, sk, doc)
    assert asset(db, "SN-1").warehouse_id == eq["spb"].id
    assert cables(db, eq).qty_on_hand == 6 and cables(db, eq, eq["spb"].id).qty_on_hand == 4
    crud.run_action(db, resource(DOCS), sk, "reverse", [doc.id])
    assert asset(db, "SN-1").warehouse_id == eq["main"].id
    assert cables(db, eq).qty_on_hand == 10 and cables(db, eq, eq["spb"].id).qty_on_hand == 0
    db.expire_all()
    assert db.get(StockDocument, doc.id).status is DocumentStatus.REVERSED
    counter = db.exec(select(StockDocument).where(StockDocument.reverses_id == doc.id)).one()
    assert counter.status is DocumentStatus.POSTED
    # a counter-document is not reversed in turn, nor is the original twice
    with pytest.raises(ValidationFailed):
        crud.run_action(db, resource(DOCS), sk, "reverse", [doc.id])


def test_unknown_sn_and_writing_off_more_than_available_are_refused(db, eq):
    receive(db, eq, cables=3)
    with pytest.raises(ValidationFailed) as exc:
        create(db, eq, eq["storekeeper"], "WRITE_OFF", [{"sn": "NOPE", "qty": 1}, {"sku": "cb-1", "qty": 5}])
    assert exc.value.errors["lines.0.sn"][0] == "equipment.sn_unknown"
    assert exc.value.errors["lines.1.qty"] == ("equipment.qty_over", {"n": 3})
    assert db.exec(select(StockDocument).where(StockDocument.kind == "WRITE_OFF")).first() is None


def test_write_off_moves_the_asset_through_its_machine_and_the_ledger_records_consumption(db, eq):
    receive(db, eq)
    doc = create(db, eq, eq["storekeeper"], "WRITE_OFF", [{"sn": "SN-3", "qty": 1}, {"sku": "cb-1", "qty": 2}])
    post(db, eq["storekeeper"], doc)
    assert asset(db, "SN-3").process is Process.WRITTEN_OFF
    assert cables(db, eq).qty_on_hand == 8
    kinds = {(m.kind, m.qty) for m in db.exec(select(StockMove).where(StockMove.document_id == doc.id))}
    assert kinds == {(MoveKind.WRITE_OFF, -1), (MoveKind.WRITE_OFF, -2)}
    events = db.exec(select(AssetEvent).where(AssetEvent.document_id == doc.id, AssetEvent.axis == "process")).all()
    assert [(e.from_value, e.to_value) for e in events] == [("FREE", "WRITE_OFF_IN_PROGRESS"), ("WRITE_OFF_IN_PROGRESS", "WRITTEN_OFF")]
    # an asset written off cannot be written off again
    with pytest.raises(ValidationFailed) as exc:
        create(db, eq, eq["storekeeper"], "WRITE_OFF", [{"sn": "SN-3", "qty": 1}])
    assert exc.value.errors["lines.0.sn"][0] == "equipment.sn_busy"


def test_a_posted_document_is_never_edited_or_deleted(db, eq):
    doc = receive(db, eq, sns=("SN-1",), cables=0)
    with pytest.raises(PermissionDenied):
        crud.update_record(db, resource(DOCS), eq["chief"], doc.id, {"comment": "исправлю"})
    with pytest.raises(PermissionDenied):
        crud.delete_record(db, resource(DOCS), eq["chief"], doc.id)
    line = db.exec(select(StockDocumentLine).where(StockDocumentLine.document_id == doc.id)).first()
    with pytest.raises(ValidationFailed):
        crud.update_record(db, resource("equipment.document_lines"), eq["chief"], line.id, {"qty": "5"})
    with pytest.raises(ValidationFailed):
        post(db, eq["chief"], doc)  # posted once


# --------------------------------------------------------------------------- reversal refused when later moves forbid it
def test_a_receipt_cannot_be_reversed_after_its_asset_moved_on(db, eq):
    doc = receive(db, eq, sns=("SN-1", "SN-2"), cables=5)
    crud.run_action(db, resource("equipment.assets"), eq["storekeeper"], "reserve", [asset(db, "SN-1").id])
    with pytest.raises(ValidationFailed) as exc:
        crud.run_action(db, resource(DOCS), eq["storekeeper"], "reverse", [doc.id])
    assert exc.value.errors[""][0] == "equipment.reverse_moved"
    db.expire_all()
    assert db.get(StockDocument, doc.id).status is DocumentStatus.POSTED  # nothing changed
    assert cables(db, eq).qty_on_hand == 5


def test_a_receipt_reversed_removes_its_assets_and_quantities(db, eq):
    doc = receive(db, eq, sns=("SN-1",), cables=5)
    crud.run_action(db, resource(DOCS), eq["storekeeper"], "reverse", [doc.id])
    db.expire_all()
    assert db.exec(select(Asset).where(Asset.sn == "SN-1")).first() is None
    assert cables(db, eq).qty_on_hand == 0
    receive(db, eq, sns=("SN-1",), cables=0)  # the serial number is free again for a corrected receipt


def test_a_receipt_whose_consumables_were_used_cannot_be_reversed(db, eq):
    doc = receive(db, eq, sns=(), cables=5)
    post(db, eq["storekeeper"], create(db, eq, eq["storekeeper"], "WRITE_OFF", [{"sku": "cb-1", "qty": 3}]))
    with pytest.raises(ValidationFailed) as exc:
        crud.run_action(db, resource(DOCS), eq["storekeeper"], "reverse", [doc.id])
    assert exc.value.errors[""][0] == "equipment.reverse_used"
    assert cables(db, eq).qty_on_hand == 2


# --------------------------------------------------------------------------- repair, inventory
def test_repair_send_and_return(db, eq):
    receive(db, eq, sns=("SN-1",), cables=0)
    sk = eq["storekeeper"]
    post(db, sk, create(db, eq, sk, "REPAIR_SEND", [{"sn": "SN-1", "qty": 1}]))
    a = asset(db, "SN-1")
    assert (a.location, a.process) == (Location.SERVICE_CENTER, Process.IN_REPAIR)
    back = create(db, eq, sk, "REPAIR_RETURN", [{"sn": "SN-1", "qty": 1}], bin_id=str(eq["bin"].id))
    post(db, sk, back)
    a = asset(db, "SN-1")
    assert (a.location, a.process, a.bin_id) == (Location.BIN, Process.FREE, eq["bin"].id)
    crud.run_action(db, resource(DOCS), sk, "reverse", [back.id])
    a = asset(db, "SN-1")
    assert (a.location, a.process, a.bin_id) == (Location.SERVICE_CENTER, Process.IN_REPAIR, None)


def test_inventory_records_discrepancies_and_reverses(db, eq):
    receive(db, eq, sns=("SN-1", "SN-2", "SN-3"), cables=10)
    sk = eq["storekeeper"]
    doc = create(db, eq, sk, "INVENTORY", [{"sn": "SN-1", "qty": 1}, {"sn": "SN-2", "qty": 1}, {"sku": "cb-1", "qty": 7}])
    post(db, sk, doc)
    assert asset(db, "SN-3").location is Location.UNKNOWN
    assert cables(db, eq).qty_on_hand == 7
    lines = {(line.sn, line.product_id): (line.expected_qty, line.qty) for line in db.exec(select(StockDocumentLine).where(StockDocumentLine.document_id == doc.id))}
    assert lines[("SN-3", eq["router"].id)] == (1, 0)
    assert lines[(None, eq["cable"].id)] == (10, 7)
    moves = {(m.asset_id is not None, m.qty) for m in db.exec(select(StockMove).where(StockMove.document_id == doc.id))}
    assert moves == {(True, -1), (False, -3)}
    # found again by the next count
    post(db, sk, create(db, eq, sk, "INVENTORY", [{"sn": "SN-3", "qty": 1}, {"sn": "SN-1", "qty": 1}, {"sn": "SN-2", "qty": 1}]))
    assert asset(db, "SN-3").location is Location.MAIN_WAREHOUSE


def test_inventory_reversed_puts_the_books_back(db, eq):
    receive(db, eq, sns=("SN-1", "SN-2"), cables=10)
    sk = eq["storekeeper"]
    doc = create(db, eq, sk, "INVENTORY", [{"sn": "SN-1", "qty": 1}, {"sku": "cb-1", "qty": 12}])
    post(db, sk, doc)
    assert (asset(db, "SN-2").location, cables(db, eq).qty_on_hand) == (Location.UNKNOWN, 12)
    crud.run_action(db, resource(DOCS), sk, "reverse", [doc.id])
    assert (asset(db, "SN-2").location, cables(db, eq).qty_on_hand) == (Location.MAIN_WAREHOUSE, 10)


# --------------------------------------------------------------------------- roles
def test_support_may_not_create_or_post_a_warehouse_operation(db, eq):
    with pytest.raises(PermissionDenied):
        create(db, eq, eq["support"], "RECEIPT", [{"sku": "cb-1", "qty": 1}])
    doc = create(db, eq, eq["storekeeper"], "RECEIPT", [{"sku": "cb-1", "qty": 1}])
    with pytest.raises(PermissionDenied):
        post(db, eq["support"], doc)
    with pytest.raises(PermissionDenied):  # the service itself refuses too, whoever calls it
        warehouse.post(db, eq["support"], db.get(StockDocument, doc.id))
    db.rollback()
    assert db.get(StockDocument, doc.id).status is DocumentStatus.DRAFT
    # support sees availability, and changes none of it
    post(db, eq["storekeeper"], db.get(StockDocument, doc.id))
    assert crud.get_record(db, resource("equipment.stock"), eq["support"], cables(db, eq).id).qty_available == 1
    assert crud.list_records(db, resource("equipment.assets"), eq["support"], ListParams()) is not None
    with pytest.raises(PermissionDenied):
        crud.update_record(db, resource("equipment.stock"), eq["support"], cables(db, eq).id, {"min_qty": "3"})


def test_chief_posts_too(db, eq):
    receive(db, eq, sns=("C-1",), cables=0, user=eq["chief"])
    assert asset(db, "C-1").process is Process.FREE


# --------------------------------------------------------------------------- the axes' transitions as row actions
def row_actions(user, record) -> set[str]:
    from app.core.ui.list_state import row_dict

    d = row_dict(resource("equipment.assets")(), user, record, "ru")
    return {k[2:] for k, v in d.items() if k.startswith("a_") and v}


def test_row_actions_follow_state_role_and_guard(db, eq):
    receive(db, eq, sns=("SN-1",), cables=0)
    a = asset(db, "SN-1")
    sk, support, chief = eq["storekeeper"], eq["support"], eq["chief"]
    assert row_actions(sk, a) == {"mark_defective", "send_to_test", "needs_repair", "reserve", "to_repair", "start_write_off"}
    assert row_actions(support, a) == set()  # install needs NOT_INSTALLED
    assert "mark_lost" in row_actions(chief, a) and "mark_lost" not in row_actions(sk, a)
    # confirm=True transitions ask first; system transitions are never actions
    actions = resource("equipment.assets").actions
    assert actions["mark_lost"].confirm and actions["not_repairable"].confirm and not actions["reserve"].confirm
    assert not {"dispatch", "arrive", "deliver", "written_off", "to_bin"} & set(resource("equipment.assets").actions)
    # a guard hides reserve for an asset that is not working
    crud.run_action(db, resource("equipment.assets"), sk, "mark_defective", [a.id])
    a = asset(db, "SN-1")
    assert a.condition is Condition.DEFECTIVE and "reserve" not in row_actions(sk, a)
    assert db.exec(select(AuditLog).where(AuditLog.action == "equipment.assets.condition")).first() is not None
    event = db.exec(select(AssetEvent).where(AssetEvent.asset_id == a.id, AssetEvent.axis == "condition")).one()
    assert (event.from_value, event.to_value, event.user_id, event.note) == ("WORKING", "DEFECTIVE", sk.id, "mark_defective")


def test_illegal_or_unpermitted_transitions_are_refused_on_the_server(db, eq):
    receive(db, eq, sns=("SN-1",), cables=0)
    a = asset(db, "SN-1")
    assets = resource("equipment.assets")
    with pytest.raises(IllegalTransition) as exc:
        crud.run_action(db, assets, eq["storekeeper"], "mark_working", [a.id])  # already working
    assert "Исправно" in exc.value.message("ru")
    with pytest.raises(PermissionDenied):
        crud.run_action(db, assets, eq["support"], "needs_repair", [a.id])
    with pytest.raises(IllegalTransition):  # not an action at all: the services refuse a system move asked by a person
        from app.panels.equipment.machines import LOCATION

        LOCATION.fire(db, eq["chief"], asset(db, "SN-1"), "dispatch")
    db.rollback()
    assert asset(db, "SN-1").condition is Condition.WORKING



def test_an_unknown_sku_is_refused_under_its_cell_and_a_draft_keeps_its_lines_products(db, eq):
    with pytest.raises(ValidationFailed) as exc:
        create(db, eq, eq["storekeeper"], "RECEIPT", [{"sku": "NOPE", "qty": 3}])
    assert exc.value.errors["lines.0.sku"][0] == "equipment.sku_unknown"
    doc = create(db, eq, eq["storekeeper"], "RECEIPT", [{"sku": "CB-1", "qty": 3}])
    line = db.exec(select(StockDocumentLine).where(StockDocumentLine.document_id == doc.id)).one()
    assert line.product_id == eq["cable"].id
    # the form sends the row back with its id and an empty SKU cell: the line keeps its product
    crud.update_record(db, resource(DOCS), eq["storekeeper"], doc.id, {"lines": [{"id": str(line.id), "sku": "", "sn": "", "qty": "4"}]})
    db.expire_all()
    line = db.get(StockDocumentLine, line.id)
    assert (line.product_id, line.qty) == (eq["cable"].id, 4)
    post(db, eq["storekeeper"], doc)
    assert cables(db, eq).qty_on_hand == 4


def test_concurrent_receipts_of_a_new_consumable_make_one_stock_row(db, eq, engine):
    """Two receipts posted at once into a place with no stock row yet: one row holding both."""
    import threading

    from sqlmodel import Session

    sk = eq["storekeeper"]
    docs = [create(db, eq, sk, "RECEIPT", [{"sku": "CB-1", "qty": q}]).id for q in (3, 4)]
    barrier = threading.Barrier(2)
    errors = []

    def run(doc_id):
        with Session(engine) as s:
            try:
                barrier.wait()
                crud.run_action(s, resource(DOCS), sk, "post", [doc_id])
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in docs]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert not errors
    db.expire_all()
    rows = db.exec(select(StockItem).where(StockItem.product_id == eq["cable"].id)).all()
    assert [(r.qty_on_hand, r.bin_id) for r in rows] == [(7, None)]
