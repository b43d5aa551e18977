"""Seed 001 (Sirius) rules: supplies, orders, issuing, low stock, analytics, the demo loader."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import Session, func, select

from app.core import crud
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.registry import resource
from app.panels.stock import services
from models.core import AuditLog, Notification, Setting
from models.stock import Order, OrderStatus, Product, Supply

UTC = dt.timezone.utc


@pytest.fixture()
def R():
    return {name: resource(f"stock.{name}") for name in ("products", "supplies", "orders")}


def fresh(db, obj):
    db.refresh(obj)
    return obj


def order(db, R, user, product, qty=1, **extra):
    raw = {"phone": "+7 999 123-45-67", "product_id": str(product.id), "qty": str(qty), **extra}
    return crud.create_record(db, R["orders"], user, raw)


def low_notifications(db) -> list[Notification]:
    return list(db.exec(select(Notification).where(Notification.kind == "stock.low_stock").order_by(Notification.id)).all())


# --------------------------------------------------------------------------- products and supplies
def test_product_with_initial_qty_creates_one_supply(db, users, R):
    p = crud.create_record(db, R["products"], users["manager"], {"name": "Мышь", "supplier_name": "Альфа", "buy_price_eur": "3,50", "sell_price_rub": "590", "initial_qty": "12"})
    p = fresh(db, p)
    assert (p.quantity, p.issued_qty, p.stock) == (12, 0, 12)
    (s,) = db.exec(select(Supply).where(Supply.product_id == p.id)).all()
    assert (s.qty, s.supplier_name, s.buy_price_eur, s.user_id) == (12, "Альфа", Decimal("3.50"), users["manager"].id)
    bare = fresh(db, crud.create_record(db, R["products"], users["manager"], {"name": "Коврик"}))
    assert (bare.quantity, bare.stock) == (0, 0)
    assert db.exec(select(Supply).where(Supply.product_id == bare.id)).all() == []


def test_supply_adds_quantity_and_fills_supplier_and_price_from_product(db, users, stock_data, R):
    cable = stock_data["cable"]
    s = crud.create_record(db, R["supplies"], users["manager"], {"product_id": str(cable.id), "qty": "5"})
    assert (s.supplier_name, s.buy_price_eur) == ("Альфа", Decimal("5.00"))
    assert fresh(db, cable).quantity == 15 and cable.stock == 15
    # a supply that names its own supplier and price keeps them; the price becomes the product's purchase price
    s2 = crud.create_record(db, R["supplies"], users["manager"], {"product_id": str(cable.id), "qty": "1", "supplier_name": "Гамма", "buy_price_eur": "4,20"})
    assert (s2.supplier_name, s2.buy_price_eur) == ("Гамма", Decimal("4.20"))
    cable = fresh(db, cable)
    assert cable.quantity == 16 and cable.buy_price_eur == Decimal("4.20") and cable.supplier_name == "Альфа"
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, R["supplies"], users["manager"], {"product_id": str(cable.id), "qty": "0"})
    assert info.value.errors == {"qty": ("error.min", {"min": "1"})}
    with pytest.raises(PermissionDenied):
        crud.create_record(db, R["supplies"], users["user"], {"product_id": str(cable.id), "qty": "1"})


def test_supplies_cannot_be_edited(db, users, stock_data, R):
    s = db.exec(select(Supply)).first()
    with pytest.raises(PermissionDenied):
        crud.update_record(db, R["supplies"], users["admin"], s.id, {"qty": "100"})


def test_deleting_a_supply_whose_goods_were_issued_is_refused(db, users, stock_data, R):
    router = stock_data["router"]  # one supply of 3
    (first,) = db.exec(select(Supply).where(Supply.product_id == router.id)).all()
    extra = crud.create_record(db, R["supplies"], users["admin"], {"product_id": str(router.id), "qty": "2"})
    o = order(db, R, users["user"], router, qty=4)
    crud.run_action(db, R["orders"], users["user"], "issue", [o.id])  # 4 of 5 handed out
    with pytest.raises(ValidationFailed) as info:
        crud.delete_record(db, R["supplies"], users["admin"], first.id)
    assert info.value.errors == {"": ("stock.supply_in_use", {})}
    with pytest.raises(ValidationFailed):
        crud.delete_record(db, R["supplies"], users["admin"], extra.id)
    assert fresh(db, router).quantity == 5
    # once the order is denied the goods are back and the supply may go
    crud.run_action(db, R["orders"], users["admin"], "deny", [o.id])
    crud.delete_record(db, R["supplies"], users["admin"], extra.id)
    assert fresh(db, router).quantity == 3 and db.get(Supply, extra.id) is None


def test_supply_uses_the_current_quantity_even_if_the_session_holds_an_old_copy(db, users, stock_data, R, engine):
    """Another transaction adds stock after this session loaded the product: nothing may be lost."""
    cable = stock_data["cable"]  # loaded in ``db`` with quantity 10
    with Session(engine) as other:
        crud.create_record(other, R["supplies"], users["admin"], {"product_id": str(cable.id), "qty": "5"})
    crud.create_record(db, R["supplies"], users["admin"], {"product_id": str(cable.id), "qty": "2"})
    with Session(engine) as check:
        assert check.get(Product, cable.id).quantity == 17


# --------------------------------------------------------------------------- orders
def test_order_price_prefilled_unless_a_discount_is_given(db, users, stock_data, R):
    cable = stock_data["cable"]
    o = order(db, R, users["user"], cable, qty=2)
    assert o.unit_price_rub == Decimal("900.00")
    assert o.product_name == "Кабель USB-C"
    assert o.phone == "+79991234567"
    assert o.status == OrderStatus.paid_not_issued and o.user_id == users["user"].id
    d = order(db, R, users["user"], cable, unit_price_rub="750,00")
    assert d.unit_price_rub == Decimal("750.00")
    # the order keeps its price when the product's price changes later
    crud.update_record(db, R["products"], users["admin"], cable.id, {"sell_price_rub": "1000"})
    assert fresh(db, o).unit_price_rub == Decimal("900.00") and fresh(db, d).unit_price_rub == Decimal("750.00")


def test_product_name_stays_as_it_was_sold(db, users, stock_data, R):
    cable = stock_data["cable"]
    o = order(db, R, users["user"], cable)
    crud.update_record(db, R["products"], users["admin"], cable.id, {"name": "Кабель USB-C 2 м"})
    assert fresh(db, o).product_name == "Кабель USB-C"


def test_order_without_any_price_is_refused(db, users, R):
    p = crud.create_record(db, R["products"], users["admin"], {"name": "Без цены", "initial_qty": "1"})
    with pytest.raises(ValidationFailed) as info:
        order(db, R, users["user"], p)
    assert info.value.errors == {"unit_price_rub": ("error.required", {})}
    assert db.exec(select(func.count()).select_from(Order)).one() == 0


def test_order_needs_a_valid_phone_and_positive_qty(db, users, stock_data, R):
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, R["orders"], users["user"], {"phone": "123", "product_id": str(stock_data["cable"].id), "qty": "0"})
    assert info.value.errors == {"phone": ("error.phone", {}), "qty": ("error.min", {"min": "1"})}


def test_issue_reduces_stock_and_refuses_twice(db, users, stock_data, R):
    cable = stock_data["cable"]
    o = order(db, R, users["user"], cable, qty=4)
    assert fresh(db, cable).stock == 10  # an open order does not take stock yet
    result = crud.run_action(db, R["orders"], users["user"], "issue", [o.id])
    assert result == "stock.issued"
    o, cable = fresh(db, o), fresh(db, cable)
    assert o.status == OrderStatus.paid_issued
    assert o.issued_at is not None and abs(o.issued_at - dt.datetime.now(UTC)) < dt.timedelta(minutes=1)
    assert (cable.quantity, cable.issued_qty, cable.stock) == (10, 4, 6)
    audit = db.exec(select(AuditLog).where(AuditLog.action == "issue")).one()
    assert audit.entity_id == str(o.id) and audit.username == "user"
    with pytest.raises(ValidationFailed) as info:
        crud.run_action(db, R["orders"], users["user"], "issue", [o.id])
    assert info.value.errors == {"": ("stock.order_not_open", {"id": o.id})}
    assert fresh(db, cable).stock == 6


def test_issue_refuses_more_than_stock_naming_product_stock_and_qty(db, users, stock_data, R):
    router = stock_data["router"]  # stock 3
    o = order(db, R, users["user"], router, qty=5)
    with pytest.raises(ValidationFailed) as info:
        crud.run_action(db, R["orders"], users["user"], "issue", [o.id])
    assert info.value.errors == {"qty": ("stock.not_enough", {"name": "Роутер Pro", "stock": 3, "qty": 5})}
    assert info.value.messages("ru")["qty"] == "Недостаточно товара «Роутер Pro»: на складе 3, в заказе 5"
    assert info.value.messages("en")["qty"] == "Not enough “Роутер Pro” in stock: 3 left, 5 ordered"
    assert fresh(db, o).status == OrderStatus.paid_not_issued and fresh(db, router).stock == 3


def test_bulk_issue_is_all_or_nothing(db, users, stock_data, R):
    router = stock_data["router"]  # stock 3
    a = order(db, R, users["user"], router, qty=2)
    b = order(db, R, users["user"], router, qty=2)
    n_audit = db.exec(select(func.count()).select_from(AuditLog)).one()
    with pytest.raises(ValidationFailed):
        crud.run_action(db, R["orders"], users["user"], "issue", [a.id, b.id])
    with Session(db.get_bind()) as check:  # what is really in the database
        assert check.get(Order, a.id).status == OrderStatus.paid_not_issued
        assert check.get(Product, router.id).issued_qty == 0
        assert check.exec(select(func.count()).select_from(AuditLog)).one() == n_audit


def test_created_as_issued_takes_stock_at_once(db, users, stock_data, R):
    o = order(db, R, users["user"], stock_data["cable"], qty=3, status="paid_issued")
    assert fresh(db, o).status == OrderStatus.paid_issued and o.issued_at is not None
    assert fresh(db, stock_data["cable"]).stock == 7
    with pytest.raises(ValidationFailed) as info:
        order(db, R, users["user"], stock_data["cable"], status="paid_denied")
    assert info.value.errors == {"status": ("error.choice", {})}


def test_deny_of_an_issued_order_returns_stock(db, users, stock_data, R):
    cable = stock_data["cable"]
    o = order(db, R, users["user"], cable, qty=4)
    crud.run_action(db, R["orders"], users["user"], "issue", [o.id])
    assert fresh(db, cable).stock == 6
    assert crud.run_action(db, R["orders"], users["manager"], "deny", [o.id]) == "stock.denied"
    assert fresh(db, o).status == OrderStatus.paid_denied
    assert fresh(db, cable).stock == 10 and cable.issued_qty == 0
    with pytest.raises(ValidationFailed) as info:
        crud.run_action(db, R["orders"], users["manager"], "deny", [o.id])
    assert info.value.errors == {"": ("stock.order_not_open", {"id": o.id})}
    with pytest.raises(ValidationFailed):
        crud.run_action(db, R["orders"], users["manager"], "issue", [o.id])
    # denying an open order changes no stock
    o2 = order(db, R, users["user"], cable, qty=1)
    crud.run_action(db, R["orders"], users["admin"], "deny", [o2.id])
    assert fresh(db, cable).stock == 10


def test_user_role_can_issue_but_cannot_deny(db, users, stock_data, R):
    o = order(db, R, users["user"], stock_data["cable"])
    with pytest.raises(PermissionDenied):
        crud.run_action(db, R["orders"], users["user"], "deny", [o.id])
    assert fresh(db, o).status == OrderStatus.paid_not_issued
    with pytest.raises(PermissionDenied):
        crud.delete_record(db, R["orders"], users["user"], o.id)


def test_editing_an_issued_or_denied_order_is_refused(db, users, stock_data, R):
    orders = R["orders"]()
    o = order(db, R, users["user"], stock_data["cable"], qty=2)
    assert orders.can(users["admin"], "update", o) is True
    crud.update_record(db, R["orders"], users["admin"], o.id, {"customer_name": "Иван", "qty": "3"})
    assert fresh(db, o).qty == 3
    crud.run_action(db, R["orders"], users["user"], "issue", [o.id])
    o = fresh(db, o)
    assert orders.can(users["admin"], "update", o) is False
    with pytest.raises(PermissionDenied):
        crud.update_record(db, R["orders"], users["admin"], o.id, {"qty": "1"})
    assert fresh(db, o).qty == 3 and fresh(db, stock_data["cable"]).stock == 7
    crud.run_action(db, R["orders"], users["admin"], "deny", [o.id])
    with pytest.raises(PermissionDenied):
        crud.update_record(db, R["orders"], users["admin"], o.id, {"customer_name": "Пётр"})


# --------------------------------------------------------------------------- low stock
def test_low_stock_notification_once_when_crossing_the_threshold(db, users, stock_data, R):
    cable = stock_data["cable"]  # stock 10, min 2
    base = len(low_notifications(db))
    big = order(db, R, users["user"], cable, qty=8)
    crud.run_action(db, R["orders"], users["user"], "issue", [big.id])
    assert fresh(db, cable).stock == 2 and len(low_notifications(db)) == base  # 2 is not below 2
    one = order(db, R, users["user"], cable, qty=1)
    crud.run_action(db, R["orders"], users["user"], "issue", [one.id])
    new = low_notifications(db)[base:]
    # the default rule notifies the admin and manager roles: one row per person, so each reads their own
    assert sorted(n.user_id for n in new) == sorted([users["admin"].id, users["manager"].id])
    assert new[0].data == {"product_id": cable.id, "stock": 1, "min_stock": 2}
    assert "Кабель USB-C" in new[0].title and new[0].link == f"/stock/products/{cable.id}"
    # still low: no more notifications
    again = order(db, R, users["user"], cable, qty=1)
    crud.run_action(db, R["orders"], users["user"], "issue", [again.id])
    assert fresh(db, cable).stock == 0 and len(low_notifications(db)) == base + 2
    crud.update_record(db, R["products"], users["admin"], cable.id, {"min_stock": "3"})  # still low, threshold moved
    assert len(low_notifications(db)) == base + 2
    # back above the threshold, then down again: a new crossing, a new notification
    crud.create_record(db, R["supplies"], users["admin"], {"product_id": str(cable.id), "qty": "10"})
    assert fresh(db, cable).is_low_stock is False and len(low_notifications(db)) == base + 2
    last = order(db, R, users["user"], cable, qty=8)
    crud.run_action(db, R["orders"], users["user"], "issue", [last.id])
    assert fresh(db, cable).stock == 2 and len(low_notifications(db)) == base + 4


def test_raising_min_stock_above_stock_notifies(db, users, stock_data, R):
    cable = stock_data["cable"]
    base = len(low_notifications(db))
    crud.update_record(db, R["products"], users["admin"], cable.id, {"min_stock": "11"})
    assert len(low_notifications(db)) == base + 2
    crud.update_record(db, R["products"], users["admin"], cable.id, {"min_stock": "12"})
    assert len(low_notifications(db)) == base + 2


def test_product_created_below_its_threshold_notifies(db, users, R):
    crud.create_record(db, R["products"], users["admin"], {"name": "Наушники", "min_stock": "5", "initial_qty": "3"})
    assert len(low_notifications(db)) == 2
    crud.create_record(db, R["products"], users["admin"], {"name": "Колонка", "min_stock": "5", "initial_qty": "5"})
    crud.create_record(db, R["products"], users["admin"], {"name": "Чехол"})
    assert len(low_notifications(db)) == 2


# --------------------------------------------------------------------------- analytics
@pytest.fixture()
def sales(db, users, stock_data, R):
    """Orders on known dates. cable: buy 5 €, sell 900 ₽; router: buy 40 €, sell 6500 ₽."""
    cable, router = stock_data["cable"], stock_data["router"]
    spec = [
        (cable, 2, None, dt.datetime(2026, 1, 5, 10, 0, tzinfo=UTC), None),  # Monday
        (cable, 1, "800", dt.datetime(2026, 1, 7, 12, 0, tzinfo=UTC), "issue"),  # a discount
        (router, 1, None, dt.datetime(2026, 1, 20, 23, 30, tzinfo=UTC), None),  # late on the 20th (UTC)
        (router, 1, None, dt.datetime(2026, 2, 2, 9, 0, tzinfo=UTC), "issue"),
        (cable, 3, None, dt.datetime(2026, 1, 6, 9, 0, tzinfo=UTC), "deny"),  # denied: not a sale
    ]
    out = []
    for product, qty, price, when, act in spec:
        extra = {"unit_price_rub": price} if price else {}
        o = order(db, R, users["user"], product, qty=qty, **extra)
        if act:
            crud.run_action(db, R["orders"], users["admin"], act, [o.id])
        db.exec(text('UPDATE "order" SET created_at = :w WHERE id = :i').bindparams(w=when, i=o.id))
        out.append(o)
    db.commit()
    return {"cable": cable, "router": router, "orders": out}


def _periods(result):
    return [(p["period"], p["pieces"], p["revenue"]) for p in result.periods]


def test_analytics_by_period(db, users, sales):
    admin = users["admin"]
    day = services.analytics(db, admin, bucket="day")
    assert _periods(day) == [
        (dt.date(2026, 1, 5), 2, Decimal("1800.00")),
        (dt.date(2026, 1, 7), 1, Decimal("800.00")),
        (dt.date(2026, 1, 20), 1, Decimal("6500.00")),
        (dt.date(2026, 2, 2), 1, Decimal("6500.00")),
    ]
    week = services.analytics(db, admin, bucket="week")
    assert _periods(week) == [
        (dt.date(2026, 1, 5), 3, Decimal("2600.00")),
        (dt.date(2026, 1, 19), 1, Decimal("6500.00")),
        (dt.date(2026, 2, 2), 1, Decimal("6500.00")),
    ]
    month = services.analytics(db, admin, bucket="month")
    assert _periods(month) == [(dt.date(2026, 1, 1), 4, Decimal("9100.00")), (dt.date(2026, 2, 1), 1, Decimal("6500.00"))]
    assert _periods(services.analytics(db, admin, bucket="year")) == _periods(day)  # unknown bucket: by day


def test_analytics_by_product_cost_and_profit(db, users, sales):
    r = services.analytics(db, users["manager"])
    assert r.rate == Decimal("100.00")
    assert r.products == [
        {"product_id": sales["router"].id, "name": "Роутер Pro", "pieces": 2, "revenue": Decimal("13000.00"), "cost": Decimal("8000.00"), "profit": Decimal("5000.00")},
        {"product_id": sales["cable"].id, "name": "Кабель USB-C", "pieces": 3, "revenue": Decimal("2600.00"), "cost": Decimal("1500.00"), "profit": Decimal("1100.00")},
    ]
    assert r.totals == {"pieces": 5, "revenue": Decimal("15600.00"), "cost": Decimal("9500.00"), "profit": Decimal("6100.00")}
    # every order kept the rate of its sale: a rate given for orders without one changes nothing here
    explicit = services.analytics(db, users["manager"], rate=Decimal("90"))
    assert explicit.totals["cost"] == Decimal("9500.00")
    db.exec(text('UPDATE "order" SET eur_rub_rate = NULL, unit_cost_eur = NULL'))  # made before they were kept
    fallback = services.analytics(db, users["manager"], rate=Decimal("90"))
    assert fallback.totals["cost"] == Decimal("8550.00") and fallback.totals["profit"] == Decimal("7050.00")
    db.rollback()


def test_analytics_filters(db, users, sales):
    admin = users["admin"]
    r = services.analytics(db, admin, date_from=dt.date(2026, 1, 6), date_to=dt.date(2026, 1, 20))
    assert r.totals["pieces"] == 2 and r.totals["revenue"] == Decimal("7300.00")  # the 20th counts whole
    r = services.analytics(db, admin, date_from=dt.date(2026, 1, 21))
    assert _periods(r) == [(dt.date(2026, 2, 2), 1, Decimal("6500.00"))]
    r = services.analytics(db, admin, product_id=sales["cable"].id)
    assert [p["name"] for p in r.products] == ["Кабель USB-C"] and r.totals["pieces"] == 3
    r = services.analytics(db, admin, product_id=sales["cable"].id, date_to=dt.date(2026, 1, 5))
    assert r.totals["pieces"] == 2
    empty = services.analytics(db, admin, date_from=dt.date(2030, 1, 1))
    assert empty.products == [] and empty.periods == [] and empty.totals["revenue"] == Decimal("0.00")


def test_analytics_dates_are_utc_whatever_the_database_time_zone(db, users, sales):
    db.exec(text("SET LOCAL TIME ZONE 'Asia/Vladivostok'"))  # UTC+10, this transaction only
    r = services.analytics(db, users["admin"], date_from=dt.date(2026, 1, 20), date_to=dt.date(2026, 1, 20))
    assert _periods(r) == [(dt.date(2026, 1, 20), 1, Decimal("6500.00"))]
    db.rollback()


def test_rate_saved_audited_and_used_by_default(db, users, sales):
    rate = services.set_eur_rub_rate(db, users["manager"], " 95,5 ")
    assert rate == Decimal("95.5000")
    assert db.get(Setting, services.EUR_RUB_KEY).updated_by == "manager"
    row = db.exec(select(AuditLog).where(AuditLog.entity_type == "setting")).one()
    assert row.diff == {"value": [None, "95.5000"]} and row.username == "manager"
    r = services.analytics(db, users["admin"])
    assert r.rate == Decimal("95.5000")
    assert r.totals["cost"] == Decimal("9500.00")  # (3×5 + 2×40) € × 100, the rate of the day they were sold
    services.set_eur_rub_rate(db, users["admin"], "101")
    rows = db.exec(select(AuditLog).where(AuditLog.entity_type == "setting").order_by(AuditLog.id)).all()
    assert rows[-1].diff == {"value": ["95.5000", "101.0000"]}
    for bad, key in (("abc", "error.number"), ("0", "error.min"), ("-3", "error.min"), ("NaN", "error.min")):
        with pytest.raises(ValidationFailed) as info:
            services.set_eur_rub_rate(db, users["admin"], bad)
        assert info.value.errors["rate"][0] == key
    assert services.eur_rub_rate(db) == Decimal("101.0000")


def test_changing_todays_rate_keeps_the_profit_of_past_sales(db, users, sales, R):
    """Issue 8: the profit of sales made was recomputed at today's EUR rate (and purchase price)."""
    admin = users["admin"]
    before = services.analytics(db, admin, bucket="month")
    assert [(p["period"], p["profit"]) for p in before.periods] == [(dt.date(2026, 1, 1), Decimal("3600.00")), (dt.date(2026, 2, 1), Decimal("2500.00"))]
    kept = {o.id: (o.eur_rub_rate, o.unit_cost_eur) for o in db.exec(select(Order)).all()}
    assert set(kept.values()) == {(Decimal("100.0000"), Decimal("5.00")), (Decimal("100.0000"), Decimal("40.00"))}

    services.set_eur_rub_rate(db, admin, "120")
    router = db.get(Product, sales["router"].id)
    router.buy_price_eur = Decimal("50")
    db.commit()
    after = services.analytics(db, admin, bucket="month")
    assert after.periods == before.periods and after.products == before.products and after.totals == before.totals

    # a sale made now is costed at today's rate and price: 6500 − 50 € × 120
    new = order(db, R, users["user"], router, qty=1)
    assert (new.eur_rub_rate, new.unit_cost_eur) == (Decimal("120.0000"), Decimal("50.00"))
    now = services.analytics(db, admin, product_id=router.id)
    assert now.totals["profit"] == Decimal("5000.00") + Decimal("500.00")
    this_month = [p for p in now.periods if p["period"] == dt.datetime.now(dt.timezone.utc).date()]
    assert this_month and this_month[0]["profit"] == Decimal("500.00")


def test_analytics_permissions(db, users, sales):
    with pytest.raises(PermissionDenied):
        services.analytics(db, users["user"])
    with pytest.raises(PermissionDenied):
        services.set_eur_rub_rate(db, users["user"], "90")
    assert services.eur_rub_rate(db) == services.DEFAULT_EUR_RUB


def test_analytics_csv(db, users, sales):
    """The analytics report's CSV (the declaration's tables, headers in the reader's language)."""
    from app.panels.stock.reports import ANALYTICS

    params, result = ANALYTICS.run(db, users["admin"], {"from": "2026-01-01", "to": "2026-02-28", "bucket": "month"})
    rows = list(csv.reader(io.StringIO(ANALYTICS.csv(result, "en").lstrip("\ufeff"))))
    assert rows[0] == ["By product"]
    assert rows[1] == ["Product", "Sold, pcs", "Revenue, ₽", "Cost, ₽", "Profit, ₽"]
    assert rows[2] == ["Роутер Pro", "2", "13000.00", "8000.00", "5000.00"]
    assert rows[3] == ["Кабель USB-C", "3", "2600.00", "1500.00", "1100.00"]
    assert rows[4] == []
    assert rows[5] == ["Period"] and rows[6] == ["Period", "Sold, pcs", "Revenue, ₽", "Profit, ₽"]
    assert rows[7:9] == [["2026-01-01", "4", "9100.00", "3600.00"], ["2026-02-01", "1", "6500.00", "2500.00"]]
    assert ANALYTICS.csv_filename(params) == "analytics_2026-01-01_2026-02-28.csv"


# --------------------------------------------------------------------------- demo data
def _row_counts(db) -> dict[str, int]:
    names = [r[0] for r in db.exec(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))]
    return {n: db.exec(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


def test_demo_loader_is_idempotent_and_consistent(clean, engine):
    from app import demo

    first = demo.load()
    assert first["products"] == 40 and first["numbers"] == 3000
    with Session(engine) as db:
        counts = _row_counts(db)
        assert counts["product"] == 40 and counts["order"] == 400 and counts["user"] == 6  # + the equipment panel's three
        # every product's counters agree with its supplies and issued orders
        for p in db.exec(select(Product)).all():
            supplied = db.exec(select(func.coalesce(func.sum(Supply.qty), 0)).where(Supply.product_id == p.id)).one()
            issued = db.exec(
                select(func.coalesce(func.sum(Order.qty), 0)).where(Order.product_id == p.id, Order.status == OrderStatus.paid_issued)
            ).one()
            assert (p.quantity, p.issued_qty) == (supplied, issued), p.name
            assert p.stock >= 0
    assert demo.load() == {"products": 0, "numbers": 0, "assets": 0}
    with Session(engine) as db:
        assert _row_counts(db) == counts


def test_an_orders_title_shows_the_phone_as_people_read_it(db, users, stock_data, R):
    o = order(db, R, users["user"], stock_data["cable"])
    assert o.phone == "+79991234567"
    assert R["orders"]().title(o) == f"№{o.id} · +7 999 123-45-67"
