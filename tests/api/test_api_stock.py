"""The stock panel through the REST API: sessions, products, supplies, orders, lists, audit, analytics."""

from __future__ import annotations

from app.core.registry import all_roles

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.core import crud
from app.core.auth import SYSTEM
from app.core.registry import resource
from models.core import AuditLog, UserSession
from models.jobs import JobRun
from models.stock import Order, OrderStatus, Product

PRODUCTS = "/api/stock/products"
SUPPLIES = "/api/stock/supplies"
ORDERS = "/api/stock/orders"
EN = {"Accept-Language": "en-US,en;q=0.9"}


def fresh(db):
    """Forget what the test's session cached: the API changed rows in its own transactions."""
    db.rollback()
    db.expire_all()
    return db


def audit_rows(db, entity_type: str | None = None, action: str | None = None) -> list[AuditLog]:
    stmt = select(AuditLog).order_by(AuditLog.id)
    if entity_type:
        stmt = stmt.where(AuditLog.entity_type == entity_type)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return list(fresh(db).exec(stmt).all())


def make_order(db, product, qty=1, phone="+79161234567", price=None, user=SYSTEM, **extra):
    raw = {"phone": phone, "product_id": product.id, "qty": qty, **extra}
    if price is not None:
        raw["unit_price_rub"] = price
    return crud.create_record(db, resource("stock.orders"), user, raw)


# --------------------------------------------------------------------------- sessions
def test_login_me_logout(client, db, users):
    r = client.post("/api/auth/login", json={"username": "manager", "password": "manager-pass"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["username"] == "manager" and body["user"]["roles"] == ["stock.manager", "numbers.manager"]
    assert "stock.*" in body["user"]["permissions"]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("pult_session=") and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    token = body["token"]

    # The cookie alone authenticates (a browser), and so does the bearer token alone (a script).
    assert client.get("/api/auth/me").json()["username"] == "manager"
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/me", headers=bearer).json()["username"] == "manager"

    r = client.post("/api/auth/logout", headers=bearer)
    assert r.status_code == 204
    r = client.get("/api/auth/me", headers=bearer)
    assert r.status_code == 401
    assert r.json()["detail"] == "Сессия истекла, войдите снова"
    assert client.get(PRODUCTS, headers=bearer).status_code == 401
    # Signing in and out through the API is in the operation log as coming from the API.
    trail = [(a.action, a.username, a.source) for a in audit_rows(db, "user")]
    assert trail == [("login", "manager", "api"), ("logout", "manager", "api")]


def test_anonymous_and_garbage_tokens_get_401(client, users):
    assert client.get(PRODUCTS).status_code == 401
    r = client.get(PRODUCTS, headers={"Authorization": "Bearer nonsense", **EN})
    assert r.status_code == 401
    assert r.json() == {"detail": "Your session has expired, please sign in again", "errors": {}}
    assert r.headers["www-authenticate"] == "Bearer"
    assert client.get(PRODUCTS, cookies={"pult_session": "nonsense"}).status_code == 401


def test_bad_password_message_and_throttling(client, db, users):
    for _ in range(5):
        r = client.post("/api/auth/login", json={"username": "user", "password": "wrong"})
        assert r.status_code == 401
        assert r.json()["detail"] == "Неверный логин или пароль"
    r = client.post("/api/auth/login", json={"username": "user", "password": "wrong"}, headers=EN)
    assert r.status_code == 429
    assert r.json()["detail"].startswith("Too many sign-in attempts")
    # Even the right password is refused while throttled.
    r = client.post("/api/auth/login", json={"username": "user", "password": "user-pass"})
    assert r.status_code == 429
    assert "Слишком много попыток" in r.json()["detail"]
    # Another account from the same address is not locked by this one.
    assert client.post("/api/auth/login", json={"username": "admin", "password": "admin-pass"}).status_code == 200
    failed = audit_rows(db, "user", "login_failed")
    assert len(failed) == 5 and {(a.source, a.diff["username"], a.diff["ip"]) for a in failed} == {("api", "user", "testclient")}


def test_unknown_user_gets_the_same_message(client, users):
    r = client.post("/api/auth/login", json={"username": "nobody", "password": "x"})
    assert r.status_code == 401 and r.json()["detail"] == "Неверный логин или пароль"


def test_expired_session_is_refused(client, db, login):
    headers = login("user")
    assert client.get(PRODUCTS, headers=headers).status_code == 200
    fresh(db).exec(text("UPDATE user_session SET expires_at = now() - interval '1 minute'"))
    db.commit()
    assert client.get(PRODUCTS, headers=headers).status_code == 401


def test_idle_session_is_refused_and_revoked(client, db, login):
    headers = login("user")
    fresh(db).exec(text("UPDATE user_session SET last_seen_at = now() - interval '3 days'"))
    db.commit()
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert all(s.revoked_at is not None for s in fresh(db).exec(select(UserSession)))


# --------------------------------------------------------------------------- products and supplies
def test_create_product_with_initial_qty_then_supply(client, db, login):
    h = login("manager")
    r = client.post(PRODUCTS, headers=h, json={"name": "Мышь", "buy_price_eur": "3.5", "sell_price_rub": "450", "min_stock": 2, "initial_qty": 7})
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["quantity"] == 7 and p["stock"] == 7 and p["is_low_stock"] is False
    assert p["buy_price_eur"] == "3.50" and p["sell_price_rub"] == "450.00"
    assert isinstance(p["created_at"], str) and dt.datetime.fromisoformat(p["created_at"])

    r = client.get(f"{PRODUCTS}/{p['id']}/stock", headers=h)
    assert r.json() == {"product_id": p["id"], "quantity": 7, "issued_qty": 0, "stock": 7, "min_stock": 2, "is_low_stock": False}

    r = client.post(SUPPLIES, headers=h, json={"product_id": p["id"], "qty": 5, "supplier_name": "Гамма"})
    assert r.status_code == 201, r.text
    assert r.json()["qty"] == 5 and r.json()["buy_price_eur"] == "3.50"
    r = client.get(f"{PRODUCTS}/{p['id']}", headers=h)
    assert r.json()["quantity"] == 12 and r.json()["stock"] == 12

    # Two supplies: the initial one and ours, both visible filtered by product.
    r = client.get(SUPPLIES, headers=h, params={"product_id": p["id"]})
    assert sorted(s["qty"] for s in r.json()["items"]) == [5, 7]


def test_product_validation_and_unique_name(client, stock_data, login):
    h = login("admin")
    r = client.post(PRODUCTS, headers={**h, **EN}, json={"name": "", "min_stock": -1, "sell_price_rub": "abc"})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert errors["name"] == "This field is required"
    assert errors["min_stock"] == "Must be at least 0"
    assert errors["sell_price_rub"] == "Enter a number"
    assert r.json()["detail"] == "Please fix the errors in the form"
    r = client.post(PRODUCTS, headers=h, json={"name": "Кабель USB-C"})
    assert r.status_code == 422 and r.json()["errors"] == {"name": "Такое значение уже есть"}


def test_user_cannot_create_products_but_sees_stock(client, stock_data, login):
    h = login("user")
    r = client.post(PRODUCTS, headers=h, json={"name": "Х"})
    assert r.status_code == 403 and r.json()["detail"] == "Недостаточно прав"
    r = client.get(f"{PRODUCTS}/{stock_data['cable'].id}/stock", headers=h)
    assert r.status_code == 200 and r.json()["stock"] == 10


def test_soft_delete_trash_and_restore(client, db, stock_data, login):
    h = login("manager")
    pid = stock_data["router"].id
    assert client.delete(f"{PRODUCTS}/{pid}", headers=h).status_code == 204
    names = [p["name"] for p in client.get(PRODUCTS, headers=h).json()["items"]]
    assert names == ["Кабель USB-C"]
    trash = client.get(PRODUCTS, headers=h, params={"trash": "true"}).json()["items"]
    assert [p["id"] for p in trash] == [pid] and trash[0]["deleted_at"]
    r = client.post(f"{PRODUCTS}/{pid}/restore", headers=h)
    assert r.status_code == 200 and r.json()["deleted_at"] is None
    assert len(client.get(PRODUCTS, headers=h).json()["items"]) == 2
    assert client.get(PRODUCTS, headers=h, params={"trash": "true"}).json()["items"] == []
    assert client.get(f"{PRODUCTS}/999999", headers=h).status_code == 404
    assert client.get(f"{PRODUCTS}/abc", headers=h).status_code == 404


def test_secret_columns_never_leave_the_server(client, users, login):
    r = client.get("/api/admin/users", headers=login("admin"))
    assert r.status_code == 200
    items = r.json()["items"]
    assert {u["username"] for u in items} == {"admin", "manager", "user"}
    assert all(not any(k in key for k in ("password", "secret", "token")) for u in items for key in u)
    r = client.get(f"/api/admin/users/{items[0]['id']}", headers=login("admin"))
    assert "hashed_password" not in r.json()


# --------------------------------------------------------------------------- orders
def test_order_with_bad_phone_saves_nothing(client, db, stock_data, login):
    h = login("user")
    r = client.post(ORDERS, headers=h, json={"phone": "12", "product_id": stock_data["cable"].id, "qty": 1})
    assert r.status_code == 422
    assert r.json()["errors"] == {"phone": "Неверный номер телефона"}
    r = client.post(ORDERS, headers=h, json={"phone": "+7 916 123-45-67", "product_id": 999999, "qty": 0})
    assert r.status_code == 422
    assert set(r.json()["errors"]) == {"product_id", "qty"}
    assert fresh(db).exec(select(Order)).all() == []
    assert audit_rows(db, "stock.orders") == []


def test_order_price_defaults_and_discount_is_kept(client, stock_data, login):
    h = login("user")
    cable = stock_data["cable"].id
    r = client.post(ORDERS, headers=h, json={"phone": "8 (916) 123-45-67", "product_id": cable, "qty": 2})
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["unit_price_rub"] == "900.00" and o["phone"] == "+79161234567"
    assert o["status"] == "paid_not_issued" and o["product_name"] == "Кабель USB-C"
    r = client.post(ORDERS, headers=h, json={"phone": "+79161234567", "product_id": cable, "qty": 1, "unit_price_rub": "750"})
    assert r.status_code == 201
    assert r.json()["unit_price_rub"] == "750.00"
    r = client.get(f"{ORDERS}/{r.json()['id']}", headers=h)
    assert r.json()["unit_price_rub"] == "750.00"


def test_issue_lowers_stock_and_overselling_is_refused(client, db, stock_data, login):
    h = login("user")
    cable = stock_data["cable"]
    o1 = client.post(ORDERS, headers=h, json={"phone": "+79161234567", "product_id": cable.id, "qty": 4}).json()
    o2 = client.post(ORDERS, headers=h, json={"phone": "+79161234568", "product_id": cable.id, "qty": 7}).json()

    r = client.post(f"{ORDERS}/{o1['id']}/actions/issue", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["detail"] == "Заказ выдан"
    assert r.json()["item"]["status"] == "paid_issued" and r.json()["item"]["issued_at"]
    assert client.get(f"{PRODUCTS}/{cable.id}/stock", headers=h).json()["stock"] == 6

    r = client.post(f"{ORDERS}/{o2['id']}/actions/issue", headers=h)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "Кабель USB-C" in detail and "6" in detail and "7" in detail
    assert r.json()["errors"]["qty"] == detail
    r = client.post(f"{ORDERS}/{o2['id']}/actions/issue", headers={**h, **EN})
    assert "Not enough “Кабель USB-C”" in r.json()["detail"]
    assert client.get(f"{ORDERS}/{o2['id']}", headers=h).json()["status"] == "paid_not_issued"
    assert client.get(f"{PRODUCTS}/{cable.id}/stock", headers=h).json()["stock"] == 6
    assert len(audit_rows(db, "stock.orders", "issue")) == 1

    # Issuing twice is refused with a message, not silently repeated.
    r = client.post(f"{ORDERS}/{o1['id']}/issue", headers=h)
    assert r.status_code == 422 and f"№{o1['id']}" in r.json()["detail"]


def test_deny_needs_manager_and_returns_goods(client, db, stock_data, login):
    cable = stock_data["cable"]
    order = make_order(db, cable, qty=3)
    assert client.post(f"{ORDERS}/{order.id}/actions/issue", headers=login("user")).status_code == 200
    r = client.post(f"{ORDERS}/{order.id}/actions/deny", headers=login("user"))
    assert r.status_code == 403
    assert client.post(f"{ORDERS}/{order.id}/deny", headers=login("user")).status_code == 403
    assert client.post(f"{ORDERS}/actions/deny", headers=login("user"), json={"ids": [order.id]}).status_code == 403
    r = client.post(f"{ORDERS}/{order.id}/deny", headers=login("manager"))
    assert r.status_code == 200 and r.json()["item"]["status"] == "paid_denied"
    assert client.get(f"{PRODUCTS}/{cable.id}/stock", headers=login("user")).json()["stock"] == 10


def test_issued_order_cannot_be_edited(client, db, stock_data, login):
    order = make_order(db, stock_data["cable"])
    h = login("manager")
    assert client.patch(f"{ORDERS}/{order.id}", headers=h, json={"customer_name": "Анна"}).json()["customer_name"] == "Анна"
    assert client.post(f"{ORDERS}/{order.id}/issue", headers=h).status_code == 200
    assert client.put(f"{ORDERS}/{order.id}", headers=h, json={"customer_name": "Борис"}).status_code == 403


def test_bulk_deny_is_all_or_nothing(client, db, stock_data, login):
    a = make_order(db, stock_data["router"])
    b = make_order(db, stock_data["router"])
    h = login("manager")
    assert client.post(f"{ORDERS}/{b.id}/deny", headers=h).status_code == 200
    r = client.post(f"{ORDERS}/actions/deny", headers=h, json={"ids": [a.id, b.id]})  # b is denied already
    assert r.status_code == 422
    assert fresh(db).get(Order, a.id).status == OrderStatus.paid_not_issued
    assert client.post(f"{ORDERS}/actions/deny", headers=h, json={"ids": [a.id]}).status_code == 200


def test_bulk_issue_is_a_background_job(client, db, stock_data, login):
    """``issue`` is declared with job=True: a bulk issue is queued (202) for a worker (tests/jobs
    runs it), checked for permission first, and changes nothing until the worker runs."""
    router = stock_data["router"]
    a = make_order(db, router, qty=2)
    b = make_order(db, router, qty=2)
    r = client.post(f"{ORDERS}/actions/issue", headers=login("user"), json={"ids": [a.id, b.id]})
    assert r.status_code == 202, r.text
    run = fresh(db).get(JobRun, r.json()["job_id"])
    assert (run.kind, run.username, run.args["ids"], run.args["action"]) == ("kit.action", "user", [str(a.id), str(b.id)], "issue")
    assert {o.status for o in fresh(db).exec(select(Order))} == {OrderStatus.paid_not_issued}
    # a single-row issue stays immediate
    r = client.post(f"{ORDERS}/{a.id}/actions/issue", headers=login("user"))
    assert r.status_code == 200 and r.json()["item"]["status"] == "paid_issued"
    assert client.post(f"{ORDERS}/actions/issue", headers=login("user"), json={"ids": "x"}).status_code == 422


# --------------------------------------------------------------------------- lists
@pytest.fixture()
def many_orders(db, stock_data):
    """60 orders over both products: three phones, three statuses, created one a day over 60 days.

    Inserted directly (the list tests read them; the services are tested elsewhere): one order in
    three is issued, one in three denied.
    """
    products = [stock_data["cable"], stock_data["router"]]
    statuses = [OrderStatus.paid_not_issued, OrderStatus.paid_issued, OrderStatus.paid_denied]
    now = dt.datetime.now(dt.timezone.utc)
    rows = [
        Order(
            phone=f"+7916123450{i % 3}",
            customer_name=f"Клиент {i}",
            product_id=products[i % 2].id,
            product_name=products[i % 2].name,
            qty=1,
            unit_price_rub=products[i % 2].sell_price_rub,
            status=statuses[i % 3],
            created_at=now - dt.timedelta(days=i),
        )
        for i in range(60)
    ]
    db.add_all(rows)
    db.commit()
    return [o.id for o in rows]


def walk(client, headers, params, direction="next"):
    """Every page from the first (or the last, backwards); returns the ids in order and the page count."""
    ids, pages = [], 0
    cursor = "" if direction == "next" else "last"
    while True:
        r = client.get(ORDERS, headers=headers, params={**params, "cursor": cursor})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["page_info"]["keyset"] is True
        pages += 1
        chunk = [o["id"] for o in body["items"]]
        ids = ids + chunk if direction == "next" else chunk + ids
        more = body["page_info"]["has_next"] if direction == "next" else body["page_info"]["has_prev"]
        if not more:
            return ids, pages
        cursor = body["page_info"]["next_cursor" if direction == "next" else "prev_cursor"]
        assert pages < 100


@pytest.mark.parametrize("sort", ["-id", "phone", "-created_at", "status"])
def test_keyset_paging_returns_every_row_once(client, many_orders, login, sort):
    h = login("user")
    forward, pages = walk(client, h, {"sort": sort, "page_size": 7})
    assert len(forward) == 60 and set(forward) == set(many_orders)
    assert pages == 9
    backward, _ = walk(client, h, {"sort": sort, "page_size": 7}, direction="back")
    assert backward == forward


def test_sorting(client, many_orders, login):
    h = login("user")

    def column(sort, name):
        r = client.get(ORDERS, headers=h, params={"sort": sort, "page_size": 500})
        assert r.json()["page_info"]["sort"] == sort
        return [o[name] for o in r.json()["items"]]

    phones = column("phone", "phone")
    assert phones == sorted(phones) and len(set(phones)) == 3
    assert column("-phone", "phone") == sorted(phones, reverse=True)
    statuses = column("status", "status")
    assert statuses == sorted(statuses)
    created = [dt.datetime.fromisoformat(x) for x in column("created_at", "created_at")]
    assert created == sorted(created)
    created_desc = [dt.datetime.fromisoformat(x) for x in column("-created_at", "created_at")]
    assert created_desc == sorted(created, reverse=True)
    # An unknown sort falls back to the default instead of failing.
    r = client.get(ORDERS, headers=h, params={"sort": "hashed_password"})
    assert r.status_code == 200 and r.json()["page_info"]["sort"] == "-id"


def test_filters_and_search(client, many_orders, stock_data, login):
    h = login("user")

    def ids(**params):
        r = client.get(ORDERS, headers=h, params={"page_size": 500, **params})
        assert r.status_code == 200, r.text
        return r.json()["items"], r.json()["page_info"]

    items, info = ids(status="paid_issued")
    assert len(items) == 20 and {o["status"] for o in items} == {"paid_issued"}
    assert info["total"] == 20 and info["total_is_estimate"] is False
    items, _ = ids(status="paid_issued,paid_denied")
    assert len(items) == 40
    items, _ = ids(product_id=str(stock_data["router"].id))
    assert len(items) == 30 and {o["product_id"] for o in items} == {stock_data["router"].id}

    today = dt.datetime.now(dt.timezone.utc).date()
    items, _ = ids(created_at=f"{(today - dt.timedelta(days=9)).isoformat()}..")
    assert len(items) in (9, 10, 11)  # the day boundary is in the server's timezone
    items, _ = ids(created_at=f"{(today - dt.timedelta(days=40)).isoformat()}..{(today - dt.timedelta(days=31)).isoformat()}")
    assert 9 <= len(items) <= 11
    r = client.get(ORDERS, headers=h, params={"created_at": "not-a-date"})  # a malformed filter is refused, with a message
    assert r.status_code == 422 and r.json()["errors"] == {"created_at": "Введите дату ГГГГ-ММ-ДД"}

    # Orders i = 0, 6, 12 … 54: phone …4500, cable, not issued.
    items, _ = ids(phone="4500", status="paid_not_issued", product_id=str(stock_data["cable"].id))
    assert len(items) == 10
    assert all(o["phone"].endswith("4500") and o["status"] == "paid_not_issued" and o["product_id"] == stock_data["cable"].id for o in items)
    items, _ = ids(q="Клиент 42")
    assert [o["customer_name"] for o in items] == ["Клиент 42"]
    items, _ = ids(q=str(many_orders[5]))
    assert many_orders[5] in [o["id"] for o in items]

    # Product filters: computed columns and ranges.
    r = client.get(PRODUCTS, headers=h, params={"is_low_stock": "1"})
    assert [p["name"] for p in r.json()["items"]] == ["Роутер Pro"]  # stock 3 < min 5
    r = client.get(PRODUCTS, headers=h, params={"is_low_stock": "0"})
    assert [p["name"] for p in r.json()["items"]] == ["Кабель USB-C"]
    r = client.get(PRODUCTS, headers=h, params={"sell_price_rub": "1000.."})
    assert [p["name"] for p in r.json()["items"]] == ["Роутер Pro"]
    r = client.get(f"{PRODUCTS}/options", headers=h, params={"q": "каб"})
    assert r.json() == {"items": [{"id": stock_data["cable"].id, "title": "Кабель USB-C"}]}


def test_offset_paging_and_exact_count(client, users, login):
    h = login("admin")
    r = client.get("/api/admin/roles", headers=h, params={"page_size": 2})
    info = r.json()["page_info"]
    assert info["keyset"] is False and info["has_next"] is True and info["total"] == 7
    assert [x["name"] for x in r.json()["items"]] == ["admin", "equipment.chief"]
    r = client.get("/api/admin/roles", headers=h, params={"page_size": 2, "page": 3, "exact_count": "true"})
    assert [x["name"] for x in r.json()["items"]] == ["stock.user"] and r.json()["page_info"]["has_prev"] is True
    assert client.get("/api/admin/roles/stock.manager", headers=h).json()["permissions"] == all_roles()["stock.manager"][1]


# --------------------------------------------------------------------------- audit
def test_every_api_mutation_is_audited_with_source_api(client, db, stock_data, login):
    h = login("manager")
    before = {a.id for a in audit_rows(db)}
    p = client.post(PRODUCTS, headers=h, json={"name": "Клавиатура", "sell_price_rub": "2000", "initial_qty": 5}).json()
    client.patch(f"{PRODUCTS}/{p['id']}", headers=h, json={"min_stock": 3})
    s = client.post(SUPPLIES, headers=h, json={"product_id": p["id"], "qty": 2}).json()
    o = client.post(ORDERS, headers=h, json={"phone": "+79161234567", "product_id": p["id"], "qty": 1}).json()
    client.post(f"{ORDERS}/{o['id']}/actions/issue", headers=h)
    client.put("/api/stock/analytics/rate", headers=h, json={"rate": "95"})
    client.delete(f"{SUPPLIES}/{s['id']}", headers=h)
    client.delete(f"{PRODUCTS}/{p['id']}", headers=h)
    client.post(f"{PRODUCTS}/{p['id']}/restore", headers=h)

    rows = [a for a in audit_rows(db) if a.id not in before and a.action not in ("login", "login_failed", "logout")]
    seen = [(a.action, a.entity_type) for a in rows]
    assert seen == [
        ("create", "stock.products"),
        ("update", "stock.products"),
        ("create", "stock.supplies"),
        ("create", "stock.orders"),
        ("issue", "stock.orders"),
        ("update", "setting"),
        ("delete", "stock.supplies"),
        ("soft_delete", "stock.products"),
        ("restore", "stock.products"),
    ]
    assert {a.source for a in rows} == {"api"}
    assert {a.username for a in rows} == {"manager"}
    assert rows[1].diff == {"min_stock": [0, 3]}


def test_failed_mutations_leave_no_audit_row(client, db, stock_data, login):
    h = login("manager")
    o = make_order(db, stock_data["router"], qty=50)
    before = {a.id for a in audit_rows(db)}
    assert client.post(PRODUCTS, headers=h, json={"name": "Кабель USB-C"}).status_code == 422  # unique name
    assert client.post(ORDERS, headers=h, json={"phone": "x", "product_id": stock_data["cable"].id, "qty": 1}).status_code == 422
    assert client.post(f"{ORDERS}/{o.id}/actions/issue", headers=h).status_code == 422  # not enough stock
    assert client.post(f"{PRODUCTS}/{stock_data['cable'].id}/actions/nope", headers=h).status_code in (404, 405)
    assert client.put("/api/stock/analytics/rate", headers=h, json={"rate": "-1"}).status_code == 422
    assert client.post(PRODUCTS, headers=login("user"), json={"name": "Новый"}).status_code == 403
    new_rows = [(a.action, a.entity_type) for a in audit_rows(db) if a.id not in before and a.action not in ("login", "login_failed")]
    assert new_rows == []
    assert [a.action for a in audit_rows(db) if a.source == "api"] == ["login", "login"]  # manager, user
    assert len(fresh(db).exec(select(Product)).all()) == 2
    assert fresh(db).get(Order, o.id).status == OrderStatus.paid_not_issued


# --------------------------------------------------------------------------- docs, health, errors
def test_openapi_and_docs(client):
    spec = client.get("/api/openapi.json").json()
    assert spec["info"]["title"] == "Pult API"
    paths = spec["paths"]
    for path in ("/api/stock/products", "/api/stock/products/{id}", "/api/stock/orders/{id}/actions/issue", "/api/stock/orders/actions/issue",
                 "/api/stock/products/{id}/stock", "/api/stock/reports/analytics", "/api/stock/reports/analytics.csv", "/api/stock/orders/{id}/issue", "/api/auth/login", "/health"):
        assert path in paths, path
    assert "/api/stock/supplies/{id}/restore" not in paths  # supplies are hard-deleted
    assert "patch" not in paths["/api/stock/supplies/{id}"]  # supplies are not editable
    assert paths["/api/stock/products"]["get"]["tags"] == ["stock.products"]
    params = {p["name"] for p in paths["/api/stock/orders"]["get"]["parameters"]}
    assert {"sort", "q", "cursor", "page", "page_size", "trash", "exact_count", "status", "product_id", "created_at", "phone"} <= params
    example = paths["/api/stock/orders"]["post"]["requestBody"]["content"]["application/json"]["examples"]["example"]["value"]
    assert example["phone"] and "product_id" in example
    schemas = spec["components"]["schemas"]
    assert "hashed_password" not in schemas["AdminUsersItem"]["properties"]
    r = client.get("/api/docs")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"] and "swagger" in r.text.lower()


def test_health(client, monkeypatch):
    r = client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    import redis

    from app.core import api

    class DeadRedis:
        def ping(self):
            raise redis.ConnectionError("connection refused")

    monkeypatch.setattr(api, "redis_client", DeadRedis)
    r = client.get("/health")
    assert r.status_code == 503 and r.json() == {"status": "error", "database": "ok", "redis": "error"}


def test_unexpected_errors_hide_the_details(api_app, clean, login, client, monkeypatch):
    from fastapi.testclient import TestClient

    from app.core import crud as crud_module

    headers = login("admin")

    def boom(*a, **kw):
        raise RuntimeError("secret connection string postgres://x:y@z")

    monkeypatch.setattr(crud_module, "list_records", boom)
    with TestClient(api_app, raise_server_exceptions=False) as c:
        r = c.get(PRODUCTS, headers=headers)
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error"}


def test_malformed_bodies_get_json_422(client, login):
    h = login("admin")
    r = client.post(PRODUCTS, headers={**h, "Content-Type": "application/json"}, content=b"[1, 2]")
    assert r.status_code == 422 and "detail" in r.json() and isinstance(r.json()["errors"], dict)
    r = client.post("/api/auth/login", json={"username": "admin"})
    assert r.status_code == 422 and "password" in r.json()["errors"]
    r = client.get(ORDERS, headers=h, params={"page_size": 0})
    assert r.status_code == 422 and "page_size" in r.json()["errors"]


# --------------------------------------------------------------------------- analytics
@pytest.fixture()
def sales(db, stock_data):
    """Two cable orders (3 × 900 and 1 × 800, one of them issued) and one denied router order."""
    cable, router = stock_data["cable"], stock_data["router"]
    a = make_order(db, cable, qty=3)
    make_order(db, cable, qty=1, price="800")
    c = make_order(db, router, qty=1)
    orders = resource("stock.orders")
    crud.run_action(db, orders, SYSTEM, "issue", [a.id])
    crud.run_action(db, orders, SYSTEM, "deny", [c.id])
    return stock_data


REPORT = "/api/stock/reports/analytics"


def test_analytics_summary_numbers(client, sales, login):
    """The analytics report's JSON twin (and its seed-001 alias /analytics/summary): the same
    parameters as the page, the totals as KPIs, the periods as the series and a table."""
    h = login("manager")
    r = client.get(REPORT, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    today = dt.datetime.now(dt.timezone.utc).date()
    assert body["params"] == {"from": (today - dt.timedelta(days=29)).isoformat(), "to": today.isoformat(), "product_id": None, "bucket": "day"}
    # cost = pieces × buy_price_eur × rate = 4 × 5 € × 100 (the default rate)
    assert body["kpis"] == {"pieces": 4, "revenue": "3500.00", "cost": "2000.00", "profit": "1500.00"}
    assert body["tables"]["products"] == [
        {"product_id": sales["cable"].id, "name": "Кабель USB-C", "pieces": 4, "revenue": "3500.00", "cost": "2000.00", "profit": "1500.00"}
    ]
    assert body["tables"]["periods"] == [{"period": today.isoformat(), "pieces": 4, "revenue": "3500.00", "cost": "2000.00", "profit": "1500.00"}]
    assert body["series"] == body["tables"]["periods"]
    assert client.get("/api/stock/analytics/summary", headers=h).json() == body  # the seed's spelling

    assert client.put("/api/stock/analytics/rate", headers=h, json={"rate": "90,5"}).json() == {"rate": "90.5000"}
    body = client.get(REPORT, headers=h, params={"bucket": "month"}).json()
    assert body["kpis"]["cost"] == "2000.00"  # the sales made keep the rate of their day (100)
    assert body["kpis"]["profit"] == "1500.00"
    assert body["tables"]["periods"][0]["period"] == max(today.replace(day=1), today - dt.timedelta(days=29)).replace(day=1).isoformat()

    r = client.get(REPORT, headers=h, params={"product_id": sales["router"].id})
    assert r.json()["kpis"]["pieces"] == 0 and r.json()["tables"]["products"] == []
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    r = client.get(REPORT, headers=h, params={"from": tomorrow, "to": ""})
    assert r.json()["kpis"]["revenue"] == "0.00"
    r = client.get(REPORT, headers=h, params={"from": (today - dt.timedelta(days=1)).isoformat(), "to": tomorrow})
    assert r.json()["kpis"]["pieces"] == 4
    r = client.get(REPORT, headers=h, params={"bucket": "year"})
    assert r.status_code == 422 and "bucket" in r.json()["errors"]
    r = client.get(REPORT, headers=h, params={"from": tomorrow, "to": today.isoformat()})
    assert r.status_code == 422 and "from" in r.json()["errors"]


def test_analytics_csv_export(client, sales, login):
    r = client.get(f"{REPORT}.csv", headers=login("admin"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0] == ["По товарам"]
    assert rows[1] == ["Товар", "Продано, шт", "Выручка, ₽", "Себестоимость, ₽", "Прибыль, ₽"]
    assert rows[2] == ["Кабель USB-C", "4", "3500.00", "2000.00", "1500.00"]
    today = dt.datetime.now(dt.timezone.utc).date()
    assert [today.isoformat(), "4", "3500.00", "1500.00"] in rows  # the periods' table below
    english = list(csv.reader(io.StringIO(client.get(f"{REPORT}.csv", headers={**login("admin"), "Accept-Language": "en"}).text.lstrip("\ufeff"))))
    assert english[1][0] == "Product"


def test_analytics_permissions_and_rate_validation(client, sales, login):
    user = login("user")
    assert client.get(REPORT, headers=user).status_code == 403
    assert client.get(f"{REPORT}.csv", headers=user).status_code == 403
    assert client.get("/api/stock/analytics/summary", headers=user).status_code == 403
    r = client.put("/api/stock/analytics/rate", headers=user, json={"rate": "95"})
    assert r.status_code == 403
    assert client.get("/api/stock/analytics/rate", headers=login("manager")).json() == {"rate": "100.00"}

    admin = login("admin")
    for bad in ("abc", "0", "-3", "NaN", ""):
        r = client.put("/api/stock/analytics/rate", headers=admin, json={"rate": bad})
        assert r.status_code == 422, bad
        assert "rate" in r.json()["errors"], bad
    assert client.put("/api/stock/analytics/rate", headers=admin, json={"rate": 97.25}).json() == {"rate": "97.2500"}
    assert client.get("/api/stock/analytics/rate", headers=admin).json() == {"rate": "97.2500"}


def test_issue_sees_stock_changed_by_another_session(client, engine, db, stock_data, login):
    """A session that cached the product earlier must not oversell (regression: FOR UPDATE without re-read)."""
    from sqlmodel import Session

    cable = stock_data["cable"]  # stock 10, cached in ``db``
    big = make_order(db, cable, qty=8)
    small = make_order(db, cable, qty=5)
    assert client.post(f"{ORDERS}/{big.id}/issue", headers=login("user")).status_code == 200  # another session
    with pytest.raises(Exception) as exc:
        crud.run_action(db, resource("stock.orders"), SYSTEM, "issue", [small.id])
    assert "Кабель USB-C" in exc.value.messages()["qty"]
    db.rollback()
    with Session(engine) as s:
        product = s.get(Product, cable.id)
        assert (product.issued_qty, product.stock) == (8, 2)


def test_creating_an_issued_order_needs_the_issue_permission(client, db, stock_data, login):
    """Creating an order as already issued is issuing it (regression: it skipped the issue permission)."""
    from app.core import auth
    from models.core import Role, User

    db.add(Role(name="clerk", label="Clerk", permissions=["stock.products.view", "stock.orders.view", "stock.orders.create"]))
    db.add(User(username="clerk", hashed_password=auth.hash_password("clerk-pass"), roles=["clerk"]))
    db.commit()
    token = client.post("/api/auth/login", json={"username": "clerk", "password": "clerk-pass"}).json()["token"]
    client.cookies.clear()
    clerk = {"Authorization": f"Bearer {token}"}
    order = {"phone": "+79161234567", "product_id": stock_data["cable"].id, "qty": 2, "status": "paid_issued"}
    assert client.post(ORDERS, headers=clerk, json=order).status_code == 403
    assert client.post(ORDERS, headers=clerk, json={**order, "status": "paid_not_issued"}).status_code == 201
    r = client.post(ORDERS, headers=login("user"), json=order)  # the operator may issue
    assert r.status_code == 201 and r.json()["status"] == "paid_issued"
    assert client.get(f"{PRODUCTS}/{stock_data['cable'].id}/stock", headers=login("user")).json()["stock"] == 8


def test_seed_paths_without_the_panel_prefix(client, login, stock_data):
    """Seed 001, section 7 names the routes without /stock: they answer the same, with the same rules."""
    admin, user = login("admin"), login("user")
    pid = stock_data["cable"].id
    r = client.get("/api/products", headers=user)
    assert r.status_code == 200 and {i["name"] for i in r.json()["items"]} >= {"Кабель USB-C"}
    assert client.get(f"/api/products/{pid}/stock", headers=user).json()["stock"] == 10
    assert client.post("/api/products", headers=user, json={"name": "x", "sell_price_rub": "1"}).status_code == 403
    r = client.post("/api/supplies", headers=admin, json={"product_id": pid, "qty": 5})
    assert r.status_code == 201, r.text
    r = client.post("/api/orders", headers=user, json={"phone": "+79991112233", "product_id": pid, "qty": 2})
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    assert client.post(f"/api/orders/{oid}/deny", headers=user).status_code == 403
    assert client.post(f"/api/orders/{oid}/issue", headers=user).status_code == 200
    assert client.get(f"/api/products/{pid}/stock", headers=user).json()["stock"] == 13
    assert client.get("/api/analytics/summary", headers=user).status_code == 403
    assert client.get("/api/analytics/summary", headers=admin).status_code == 200
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/stock/products" in paths and "/api/products" not in paths
