"""The comment wall and timeline over REST: ``/api/stock/orders/{id}/comments`` and ``/timeline``,
with the resource's ``can()`` and the services' messages."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core import crud
from app.core.registry import resource
from models.core import Notification, Role


@pytest.fixture()
def order_id(db, users, stock_data):
    o = crud.create_record(db, resource("stock.orders"), users["manager"], {"phone": "+7 999 123-45-67", "product_id": str(stock_data["cable"].id), "qty": "1"})
    return o.id


def url(order_id, tail=""):
    return f"/api/stock/orders/{order_id}/comments{tail}"


def test_post_list_reply_edit_delete(client, login, order_id, db, users):
    r = client.post(url(order_id), json={"body": "@user проверь оплату"}, headers=login("manager"))
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["author"], first["body"], first["mentions"], first["mine"]) == ("manager", "@user проверь оплату", [users["user"].id], True)
    r = client.post(url(order_id), json={"body": "оплачено", "parent_id": first["id"]}, headers=login("user"))
    assert r.status_code == 201 and r.json()["parent_id"] == first["id"]
    listed = client.get(url(order_id), headers=login("user")).json()
    assert [c["body"] for c in listed["items"]] == ["@user проверь оплату", "оплачено"] and listed["can_comment"] is True
    assert db.exec(select(Notification).where(Notification.user_id == users["user"].id, Notification.kind == "comment.mention")).first() is not None
    r = client.patch(url(order_id, f"/{first['id']}"), json={"body": "исправлено"}, headers=login("manager"))
    assert r.status_code == 200 and r.json()["edited_at"]
    assert client.patch(url(order_id, f"/{first['id']}"), json={"body": "чужое"}, headers=login("user")).status_code == 403
    assert client.delete(url(order_id, f"/{first['id']}"), headers=login("user")).status_code == 403
    assert client.delete(url(order_id, f"/{first['id']}"), headers=login("manager")).status_code == 204
    items = client.get(url(order_id), headers=login("manager")).json()["items"]
    assert items[0]["deleted"] is True and items[0]["body"] == ""


def test_bad_input_gets_a_message_per_field(client, login, order_id):
    r = client.post(url(order_id), json={"body": "   "}, headers=login("manager"))
    assert r.status_code == 422 and r.json()["errors"]["body"] == "Напишите текст комментария"
    r = client.post(url(order_id), json={"body": "x" * 4001}, headers=login("manager"))
    assert r.status_code == 422 and "4001" in r.json()["errors"]["body"]
    r = client.post(url(order_id), json={"body": "ok", "parent_id": 2_000_000_000}, headers=login("manager"))
    assert r.status_code == 422 and "parent_id" in r.json()["errors"]
    r = client.post(url(order_id), json={"body": "ok", "attachments": ["f1"]}, headers=login("manager"))
    assert r.status_code == 422 and "attachments" in r.json()["errors"]
    assert client.post(url(order_id), json={}, headers=login("manager")).status_code == 422
    assert client.post(url(999999), json={"body": "нет заказа"}, headers=login("manager")).status_code == 404
    assert client.patch(url(order_id, "/99999999999"), json={"body": "x"}, headers=login("manager")).status_code == 422


def test_reader_without_the_comment_permission_reads_but_cannot_write(client, login, order_id, db):
    role = db.get(Role, "stock.user")
    role.permissions = [p for p in role.permissions if p != "stock.orders.comment"]
    db.commit()
    listed = client.get(url(order_id), headers=login("user"))
    assert listed.status_code == 200 and listed.json()["can_comment"] is False
    r = client.post(url(order_id), json={"body": "можно?"}, headers=login("user"))
    assert r.status_code == 403


def test_without_sign_in_nothing(client, order_id):
    assert client.get(url(order_id)).status_code == 401
    assert client.post(url(order_id), json={"body": "аноним"}).status_code in (401, 403)


def test_timeline_route(client, login, order_id):
    client.post(url(order_id), json={"body": "заметка"}, headers=login("manager"))
    items = client.get(f"/api/stock/orders/{order_id}/timeline", headers=login("user")).json()["items"]
    assert [i["kind"] for i in items] == ["comment", "audit"]
    only = client.get(f"/api/stock/orders/{order_id}/timeline?kind=comment", headers=login("user")).json()["items"]
    assert [i["details"] for i in only] == ["заметка"]
    assert client.get("/api/stock/products/1/comments", headers=login("admin")).status_code in (404, 405)
