"""Generic CRUD services: audit rows and diffs, validation, parsing, relations and the change bus,
on the fixture panel (``tests/kitpanel``)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from decimal import Decimal

import pytest
from sqlmodel import func, select

from app.core import bus, crud
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.kinds import kind_for
from app.core.registry import resource
from app.core.resource import FormField, Resource, fields
from models.core import AuditLog
from tests.kitpanel.models import Delivery, Item, Order, OrderStatus

pytestmark = pytest.mark.usefixtures("kitpanel")


def counts(db) -> dict[str, int]:
    return {m.__tablename__: db.exec(select(func.count()).select_from(m)).one() for m in (Item, Delivery, Order, AuditLog)}


def audit_rows(db, **where) -> list[AuditLog]:
    stmt = select(AuditLog).order_by(AuditLog.id)
    for k, v in where.items():
        stmt = stmt.where(getattr(AuditLog, k) == v)
    return list(db.exec(stmt).all())


@pytest.fixture()
def items():
    return resource("kitpanel.items")


@pytest.fixture()
def orders():
    return resource("kitpanel.orders")


# --------------------------------------------------------------------------- audit
def test_create_writes_one_audit_row_with_the_values(db, users, items):
    before = counts(db)
    p = crud.create_record(db, items, users["manager"], {"name": "Флешка 64 ГБ", "price_rub": "1 490,00", "min_stock": "2", "vendor": ""})
    after = counts(db)
    assert after["audit_log"] == before["audit_log"] + 1
    assert after["kit_item"] == before["kit_item"] + 1
    assert after["kit_delivery"] == before["kit_delivery"]  # no initial quantity: no delivery
    (row,) = audit_rows(db, action="create", entity_type="kitpanel.items")
    assert (row.entity_type, row.entity_id, row.username, row.user_id) == ("kitpanel.items", str(p.id), "manager", users["manager"].id)
    assert row.diff["name"] == "Флешка 64 ГБ"
    assert row.diff["price_rub"] == "1490.00"
    assert row.diff["min_stock"] == 2
    assert "vendor" not in row.diff and "description" not in row.diff  # empty values are left out
    assert row.source == "system"


def test_update_diff_lists_only_changed_fields(db, users, kit_data, items):
    cable = kit_data["cable"]
    n = len(audit_rows(db))
    crud.update_record(db, items, users["admin"], cable.id, {"name": cable.name, "price_rub": "950", "vendor": "Гамма", "min_stock": "2"})
    rows = audit_rows(db)
    assert len(rows) == n + 1
    row = rows[-1]
    assert row.action == "update" and row.entity_id == str(cable.id)
    assert row.diff == {"price_rub": ["900.00", "950.00"], "vendor": ["Альфа", "Гамма"]}
    # nothing changed: no audit row at all
    crud.update_record(db, items, users["admin"], cable.id, {"price_rub": "950,00"})
    assert len(audit_rows(db)) == n + 1


def test_update_diff_includes_computed_columns_that_changed(db, users, kit_data, items):
    cable = kit_data["cable"]  # stock 10, min 2
    crud.update_record(db, items, users["admin"], cable.id, {"min_stock": "11"})
    row = audit_rows(db, action="update")[-1]
    assert row.diff == {"min_stock": [2, 11], "is_low": [False, True]}


def test_soft_delete_and_restore_write_one_audit_row_each(db, users, kit_data, items):
    router = kit_data["router"]
    n = len(audit_rows(db))
    crud.delete_record(db, items, users["admin"], router.id)
    db.refresh(router)
    assert router.deleted_at is not None
    assert db.get(Item, router.id) is not None  # still there, in the trash
    rows = audit_rows(db)
    assert len(rows) == n + 1 and rows[-1].action == "soft_delete" and rows[-1].diff == {"title": "Роутер Pro"}
    # deleting again changes nothing and writes nothing
    crud.delete_record(db, items, users["admin"], router.id)
    assert len(audit_rows(db)) == n + 1
    crud.restore_record(db, items, users["admin"], router.id)
    db.refresh(router)
    assert router.deleted_at is None
    rows = audit_rows(db)
    assert len(rows) == n + 2 and rows[-1].action == "restore" and rows[-1].entity_id == str(router.id)


def test_hard_delete_audits_the_deleted_values(db, users, kit_data):
    supplies = resource("kitpanel.deliveries")
    s = crud.create_record(db, supplies, users["admin"], {"item_id": str(kit_data["cable"].id), "qty": "4"})
    crud.delete_record(db, supplies, users["admin"], s.id)
    assert db.get(Delivery, s.id) is None
    row = audit_rows(db, action="delete")[-1]
    assert row.entity_type == "kitpanel.deliveries" and row.diff["qty"] == 4 and row.diff["item_id"] == kit_data["cable"].id


# --------------------------------------------------------------------------- failures write nothing
def test_failing_validation_writes_nothing(db, users, items):
    before = counts(db)
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, items, users["admin"], {"name": "", "price_rub": "abc", "min_stock": "-1", "initial_qty": "5"})
    assert info.value.errors == {
        "name": ("error.required", {}),
        "price_rub": ("error.number", {}),
        "min_stock": ("error.min", {"min": "0"}),
    }
    assert info.value.messages("en")["name"] == "This field is required"
    assert counts(db) == before


def test_failure_inside_a_hook_leaves_nothing_behind_even_if_the_session_is_reused(db, users, kit_data, orders):
    """An order created as issued with more than the stock is refused after it was flushed; the
    half-written order must not reach the database with the caller's next commit."""
    router = kit_data["router"]  # stock 3
    before = counts(db)
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, orders, users["admin"], {"phone": "+79991234567", "item_id": str(router.id), "qty": "5", "status": "issued"})
    assert info.value.errors["qty"][0] == "kitpanel.not_enough"
    # the same session goes on to do something that succeeds
    crud.create_record(db, orders, users["admin"], {"phone": "+79991234568", "item_id": str(router.id), "qty": "1"})
    after = counts(db)
    assert after["kit_order"] == before["kit_order"] + 1
    assert after["audit_log"] == before["audit_log"] + 1
    assert {o.phone for o in db.exec(select(Order)).all()} == {"+79991234568"}
    db.refresh(router)
    assert router.issued_qty == 0


def test_permission_denied_writes_nothing(db, users, items):
    before = counts(db)
    with pytest.raises(PermissionDenied):
        crud.create_record(db, items, users["user"], {"name": "Нельзя"})
    assert counts(db) == before


def test_unique_name_becomes_a_field_error(db, users, kit_data, items):
    before = counts(db)
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, items, users["admin"], {"name": "Кабель USB-C", "initial_qty": "3"})
    assert info.value.errors == {"name": ("error.unique", {})}
    assert counts(db) == before
    # on update too, and the session stays usable afterwards
    with pytest.raises(ValidationFailed) as info:
        crud.update_record(db, items, users["admin"], kit_data["router"].id, {"name": "Кабель USB-C"})
    assert info.value.errors == {"name": ("error.unique", {})}
    assert db.get(Item, kit_data["router"].id).name == "Роутер Pro"
    crud.update_record(db, items, users["admin"], kit_data["router"].id, {"name": "Роутер Max"})
    assert db.get(Item, kit_data["router"].id).name == "Роутер Max"


def test_missing_bool_on_create_takes_the_model_default(db, users, monkeypatch):
    """An API client that leaves out ``is_active`` gets an active user, as the model says."""
    from passlib.context import CryptContext

    from app.core import auth

    monkeypatch.setattr(auth, "pwd_context", CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=64, argon2__rounds=1))
    u = crud.create_record(db, resource("admin.users"), users["admin"], {"username": "bob", "password": "long-enough", "roles": "kitpanel.user"})
    assert u.is_active is True
    u2 = crud.create_record(db, resource("admin.users"), users["admin"], {"username": "eve", "password": "long-enough", "roles": "kitpanel.user", "is_active": ""})
    assert u2.is_active is False


# --------------------------------------------------------------------------- parse_value
def parse(model, f: FormField, raw):
    return crud.parse_value(model, f, raw)


def test_parse_integers():
    f = fields.integer("min_stock", min=0, max=10_000)
    assert parse(Item, f, "1 234") == (1234, None)
    assert parse(Item, f, " 7 ") == (7, None)
    assert parse(Item, f, 42) == (42, None)
    assert parse(Item, f, "1.5") == (None, ("error.int", {}))
    assert parse(Item, f, "12a") == (None, ("error.int", {}))
    assert parse(Item, f, True) == (None, ("error.int", {}))
    assert parse(Item, f, "-1") == (None, ("error.min", {"min": "0"}))
    assert parse(Item, f, "10 001") == (None, ("error.max", {"max": "10000"}))
    assert parse(Item, f, "") == (None, None)  # has a default: not required


def test_parse_money_and_numbers():
    f = fields.money("price_rub", "RUB")
    assert parse(Item, f, "1 234,50") == (Decimal("1234.50"), None)
    assert parse(Item, f, "1\u00a0234,5") == (Decimal("1234.50"), None)
    assert parse(Item, f, "99.999") == (Decimal("100.00"), None)
    assert parse(Item, f, 10) == (Decimal("10.00"), None)
    assert parse(Item, f, "abc") == (None, ("error.number", {}))
    assert parse(Item, f, "NaN") == (None, ("error.number", {}))
    assert parse(Item, f, "Infinity") == (None, ("error.number", {}))
    assert parse(Item, f, "-0,01") == (None, ("error.min", {"min": "0"}))
    g = fields.number("cost_eur", min=0.5)
    assert parse(Item, g, "0,25") == (None, ("error.min", {"min": "0.5"}))
    assert parse(Item, FormField("cost_eur"), "3,333") == (Decimal("3.333"), None)  # auto: number, not rounded


def test_parse_dates():
    f = FormField("created_at")  # a datetime column: a date field
    assert kind_for(Item, f).name == "date"
    assert parse(Item, f, "2026-02-03") == (dt.date(2026, 2, 3), None)
    assert parse(Item, f, "2026-02-30") == (None, ("error.date", {}))
    assert parse(Item, f, "03.02.2026") == (None, ("error.date", {}))


def test_parse_enum_choice():
    f = FormField("status")
    assert kind_for(Order, f).name == "select"
    assert parse(Order, f, "issued") == (OrderStatus.issued, None)
    assert parse(Order, f, "shipped") == (None, ("error.choice", {}))
    declared = fields.select("vendor", [("a", "A"), ("b", "B")])
    assert parse(Item, declared, "b") == ("b", None)
    assert parse(Item, declared, "c") == (None, ("error.choice", {}))


def test_parse_phone_to_e164():
    f = fields.phone("phone")
    assert parse(Order, f, "8 (999) 123-45-67") == ("+79991234567", None)
    assert parse(Order, f, "+7 999 123 45 67") == ("+79991234567", None)
    assert parse(Order, f, "+44 20 7946 0958") == ("+442079460958", None)
    assert parse(Order, f, "123") == (None, ("error.phone", {}))
    assert parse(Order, f, "call me") == (None, ("error.phone", {}))
    assert parse(Order, f, "") == (None, ("error.required", {}))


def test_parse_required_text_and_length():
    assert parse(Item, FormField("name"), "  ") == (None, ("error.required", {}))
    assert parse(Item, FormField("name"), "  Мышь  ") == ("Мышь", None)
    assert parse(Item, FormField("description"), "") == (None, None)
    assert parse(Item, FormField("name"), "x" * 201) == (None, ("error.max_length", {"n": 200}))
    assert parse(Item, FormField("name", required=False), "") == (None, None)


def test_parse_bool():
    f = FormField("is_active")
    from models.core import User

    assert parse(User, f, "on") == (True, None)
    assert parse(User, f, "1") == (True, None)
    assert parse(User, f, "да") == (True, None)
    assert parse(User, f, "") == (False, None)
    assert parse(User, f, False) == (False, None)


# --------------------------------------------------------------------------- relations
def test_relation_to_a_missing_product_is_rejected(db, users, orders):
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, orders, users["admin"], {"phone": "+79991234567", "item_id": "999999", "qty": "1", "unit_price": "10"})
    assert info.value.errors == {"item_id": ("error.relation", {})}
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, orders, users["admin"], {"phone": "+79991234567", "item_id": "abc", "qty": "1", "unit_price": "10"})
    assert info.value.errors == {"item_id": ("error.relation", {})}
    assert counts(db)["kit_order"] == 0


def test_relation_to_a_soft_deleted_product_is_rejected(db, users, kit_data, orders, items):
    router = kit_data["router"]
    crud.delete_record(db, items, users["admin"], router.id)
    before = counts(db)
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, orders, users["admin"], {"phone": "+79991234567", "item_id": str(router.id), "qty": "1"})
    assert list(info.value.errors) == ["item_id"]
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, resource("kitpanel.deliveries"), users["admin"], {"item_id": str(router.id), "qty": "5"})
    assert list(info.value.errors) == ["item_id"]
    assert counts(db) == before


class PlainSupplies(Resource, model=Delivery):
    """A resource with a relation field and no hooks: the kit alone must refuse trashed targets."""

    slug = "plainsupplies"
    form = [fields.section("main", [fields.relation("item_id", "kitpanel.items"), fields.integer("qty", min=1)])]


def test_kit_rejects_relation_to_a_trashed_record_without_any_hook(db, users, kit_data, items):
    router = kit_data["router"]
    ok = crud.create_record(db, PlainSupplies, users["admin"], {"item_id": str(router.id), "qty": "1"})
    assert ok.item_id == router.id
    crud.delete_record(db, items, users["admin"], router.id)
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, PlainSupplies, users["admin"], {"item_id": str(router.id), "qty": "1"})
    assert info.value.errors == {"item_id": ("error.relation", {})}


# --------------------------------------------------------------------------- change bus
class Listener:
    def __init__(self, redis_conn):
        self.ps = redis_conn.pubsub()
        self.ps.subscribe(bus.channel_for(redis_conn))
        deadline = time.time() + 5
        while time.time() < deadline:  # wait until the server confirms the subscription
            m = self.ps.get_message(timeout=0.1)
            if m and m["type"] == "subscribe":
                break
        else:
            raise AssertionError("no subscription confirmation from Redis")

    def messages(self, wait: float = 0.3) -> list[dict]:
        out, deadline = [], time.time() + wait
        while time.time() < deadline:
            m = self.ps.get_message(timeout=0.05)
            if m and m["type"] == "message":
                out.append(json.loads(m["data"]))
        return out

    def close(self):
        self.ps.close()


@pytest.fixture()
def listener(redis_conn):
    lst = Listener(redis_conn)
    yield lst
    lst.close()


def test_create_publishes_after_commit(db, users, items, listener):
    p = crud.create_record(db, items, users["admin"], {"name": "Мышь", "initial_qty": "3"})
    got = listener.messages()
    assert {"model": "kit_item", "ids": [str(p.id)], "op": "create"} in got


def test_mark_publishes_only_after_commit_and_never_after_rollback(db, listener):
    model = f"probe-{uuid.uuid4().hex[:8]}"
    bus.mark(db, model, [1, 2], "update")
    assert [m for m in listener.messages(0.2) if m["model"] == model] == []  # not before the commit
    db.commit()
    assert [m for m in listener.messages() if m["model"] == model] == [{"model": model, "ids": ["1", "2"], "op": "update"}]

    bus.mark(db, model, [3], "delete")
    db.rollback()
    db.commit()  # a later commit must not publish what was rolled back
    assert [m for m in listener.messages() if m["model"] == model] == []


def test_failed_create_publishes_nothing(db, users, kit_data, orders, listener):
    with pytest.raises(ValidationFailed):
        crud.create_record(db, orders, users["admin"], {"phone": "+79991234567", "item_id": str(kit_data["router"].id), "qty": "50", "status": "issued"})
    db.commit()  # the caller's next commit must not carry the failed call's notices
    assert [m for m in listener.messages() if m["model"] in ("kit_order", "kit_item")] == []
