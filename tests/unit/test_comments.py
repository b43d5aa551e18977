"""The comment wall and the timeline (kit blocks of the detail page) on the stock orders that
declare them: mentions, permissions, audit, notifications, readable history, domain events."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core import comments, crud, record_timeline
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.principal import CurrentUser
from app.core.registry import resource
from models.comments import Comment
from models.core import AuditLog, Notification, User
from models.jobs import JobRun


@pytest.fixture()
def orders():
    return resource("stock.orders")


@pytest.fixture()
def order(db, users, stock_data, orders):
    return crud.create_record(db, orders, users["manager"], {"phone": "+7 999 123-45-67", "product_id": str(stock_data["cable"].id), "qty": "2"})


def mentions_of(db, username: str) -> list[Notification]:
    uid = db.exec(select(User.id).where(User.username == username)).one()
    return list(db.exec(select(Notification).where(Notification.user_id == uid, Notification.kind == comments.MENTION_KIND)).all())


# --------------------------------------------------------------------------- mentions
@pytest.mark.parametrize("body,names", [
    ("@user посмотри", ["user"]),
    ("привет, @admin и @manager.", ["admin", "manager"]),
    ("(@user) и ещё раз @User", ["user"]),
    ("почта a@b.ru не упоминание", []),
    ("@@ и @ одни", []),
    ("@ivan.petrov-2, проверь", ["ivan.petrov-2"]),
])
def test_parse_mentions(body, names):
    assert comments.parse_mentions(body) == names


def test_mention_notifies_the_mentioned_user_only(db, users, order, orders):
    c = comments.add(db, orders, users["manager"], order.id, "@user выдай, пожалуйста; @nobody нет такого")
    assert c.mentions == [users["user"].id]
    (n,) = mentions_of(db, "user")
    assert n.link == f"/stock/orders/{order.id}#comment-{c.id}"
    assert "Manager" in n.title and "@user выдай" in n.body
    assert mentions_of(db, "admin") == [] and mentions_of(db, "manager") == []


def test_author_mentioning_themselves_is_not_notified(db, users, order, orders):
    comments.add(db, orders, users["manager"], order.id, "заметка себе @manager")
    assert mentions_of(db, "manager") == []


def test_mentioned_user_who_cannot_see_the_record_is_not_notified(db, users, order, orders):
    db.add(User(username="outsider", hashed_password="x", roles=["numbers.manager"]))
    db.commit()
    c = comments.add(db, orders, users["manager"], order.id, "@outsider глянь")
    assert c.mentions == [] and mentions_of(db, "outsider") == []


def test_edit_notifies_only_the_newly_mentioned(db, users, order, orders):
    c = comments.add(db, orders, users["manager"], order.id, "@user проверь")
    comments.edit(db, orders, users["manager"], order.id, c.id, "@user проверь, и @admin тоже")
    assert len(mentions_of(db, "user")) == 1 and len(mentions_of(db, "admin")) == 1


def test_mention_reaches_telegram_when_the_chat_is_linked(db, users, order, orders):
    u = db.get(User, users["user"].id)
    u.telegram_chat_id = "123456"
    db.commit()
    comments.add(db, orders, users["manager"], order.id, "@user срочно")
    runs = db.exec(select(JobRun).where(JobRun.kind == "kit.telegram_send")).all()
    assert [r.args["user_id"] for r in runs] == [users["user"].id]
    assert "срочно" in runs[0].args["text"]


# --------------------------------------------------------------------------- permissions
def test_who_may_see_reads_and_who_may_comment_writes(db, users, order, orders):
    comments.add(db, orders, users["user"], order.id, "оператор пишет")
    reader = CurrentUser(id=users["user"].id, username="user", permissions=frozenset({"stock.orders.view"}))
    assert [c.body for c in comments.thread(db, orders, reader, order.id)] == ["оператор пишет"]
    with pytest.raises(PermissionDenied):
        comments.add(db, orders, reader, order.id, "а мне нельзя")
    nobody = CurrentUser(id=None, username="ghost", permissions=frozenset())
    with pytest.raises(PermissionDenied):
        comments.thread(db, orders, nobody, order.id)
    with pytest.raises(NotFound):
        comments.add(db, orders, users["manager"], 999999, "нет такого заказа")
    assert orders().can(users["user"], "comment", order) and not orders().can(reader, "comment", order)


def test_a_resource_without_a_wall_has_no_comments(db, users, stock_data):
    products = resource("stock.products")
    with pytest.raises(NotFound):
        comments.add(db, products, users["admin"], stock_data["cable"].id, "нет стены")
    assert not products().can(users["admin"], "comment") or "stock.products.comment" not in products.permissions()


def test_only_the_author_edits_and_deletes_an_admin_may_delete(db, users, order, orders):
    c = comments.add(db, orders, users["user"], order.id, "моё")
    with pytest.raises(PermissionDenied):
        comments.edit(db, orders, users["manager"], order.id, c.id, "чужое")
    with pytest.raises(PermissionDenied):
        comments.delete(db, orders, users["manager"], order.id, c.id)
    comments.delete(db, orders, users["admin"], order.id, c.id)
    db.refresh(c)
    assert c.deleted_at is not None and c.body == "моё"
    with pytest.raises(NotFound):
        comments.edit(db, orders, users["user"], order.id, c.id, "поздно")


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("body,key", [("", "comments.empty"), ("   \n ", "comments.empty"), (None, "comments.empty"),
                                      ("x" * 4001, "comments.too_long"), ("a\x00b", "error.value")])
def test_bad_body_is_refused_under_the_field_and_saves_nothing(db, users, order, orders, body, key):
    with pytest.raises(ValidationFailed) as e:
        comments.add(db, orders, users["manager"], order.id, body)
    assert e.value.errors["body"][0] == key
    assert db.exec(select(Comment)).all() == []


def test_too_long_says_how_long(db, users, order, orders):
    with pytest.raises(ValidationFailed) as e:
        comments.add(db, orders, users["manager"], order.id, "я" * 4001)
    assert e.value.messages("ru")["body"] == "Слишком длинный комментарий: 4001 символов, можно не больше 4000"


def test_attachments_must_be_the_authors_own_uploads(db, users, order, orders):
    """(The files themselves: tests/api/test_record_files_api.py, against the object store.)"""
    with pytest.raises(ValidationFailed) as e:
        comments.add(db, orders, users["manager"], order.id, "фото", attachments=["f1"])
    assert e.value.messages("ru")["attachments"] == "Файл не найден"
    assert db.exec(select(Comment)).all() == []


# --------------------------------------------------------------------------- replies and audit
def test_replies_are_one_level_and_threaded(db, users, order, orders):
    a = comments.add(db, orders, users["manager"], order.id, "первый")
    b = comments.add(db, orders, users["manager"], order.id, "второй")
    r1 = comments.add(db, orders, users["user"], order.id, "ответ на первый", parent_id=a.id)
    r2 = comments.add(db, orders, users["manager"], order.id, "ответ на ответ", parent_id=r1.id)
    assert r2.parent_id == a.id
    assert [c.id for c in comments.thread(db, orders, users["user"], order.id)] == [a.id, r1.id, r2.id, b.id]
    with pytest.raises(ValidationFailed) as e:
        comments.add(db, orders, users["manager"], order.id, "куда?", parent_id=10**12)
    assert "parent_id" in e.value.errors


def test_every_change_is_audited_about_the_record(db, users, order, orders):
    c = comments.add(db, orders, users["manager"], order.id, "было")
    comments.edit(db, orders, users["manager"], order.id, c.id, "стало")
    comments.delete(db, orders, users["manager"], order.id, c.id)
    rows = db.exec(select(AuditLog).where(AuditLog.action.like("comment.%")).order_by(AuditLog.id)).all()
    assert [(a.action, a.entity_type, a.entity_id, a.username) for a in rows] == [
        ("comment.create", "stock.orders", str(order.id), "manager"),
        ("comment.edit", "stock.orders", str(order.id), "manager"),
        ("comment.delete", "stock.orders", str(order.id), "manager"),
    ]
    assert rows[1].diff["body"] == ["было", "стало"] and rows[2].diff["body"] == "стало"


def test_changes_are_published_on_the_bus_after_commit(db, users, order, orders, redis_conn):
    from app.core.bus import channel_for

    sub = redis_conn.pubsub()
    sub.subscribe(channel_for(redis_conn))
    sub.get_message(timeout=1)
    comments.add(db, orders, users["manager"], order.id, "живой")
    seen = []
    for _ in range(10):
        m = sub.get_message(timeout=1)
        if m and m["type"] == "message":
            seen.append(m["data"])
    sub.close()
    assert any('"model": "comment"' in s for s in seen)


# --------------------------------------------------------------------------- timeline
def test_timeline_merges_audit_events_and_comments_newest_first(db, users, order, orders, stock_data):
    supplies = resource("stock.supplies")
    crud.create_record(db, supplies, users["manager"], {"product_id": str(stock_data["cable"].id), "qty": "4"})
    comments.add(db, orders, users["user"], order.id, "клиент позвонит")
    crud.run_action(db, orders, users["manager"], "issue", [str(order.id)])
    db.refresh(order)
    items = record_timeline.entries(db, orders, users["manager"], order, "ru")
    assert [(e["kind"], e["title"]) for e in items] == [
        ("audit", "выдача"), ("comment", "Комментарий"), ("supply", "Поступила поставка товара"), ("audit", "создание"),
    ]
    assert [e["at"] for e in items] == sorted((e["at"] for e in items), reverse=True)
    assert (items[1]["details"], items[1]["who"]) == ("клиент позвонит", "user")
    assert items[2]["details"] == "+4 · Альфа" and items[2]["kind_label"] == "Поставки"
    only = record_timeline.entries(db, orders, users["manager"], order, "ru", kind="supply")
    assert [e["kind"] for e in only] == ["supply"]
    assert [e["kind"] for e in record_timeline.entries(db, orders, users["manager"], order, "ru", kind="comment")] == ["comment"]


def test_a_supply_after_the_order_was_issued_is_not_its_event(db, users, order, orders, stock_data):
    crud.run_action(db, orders, users["manager"], "issue", [str(order.id)])
    crud.create_record(db, resource("stock.supplies"), users["manager"], {"product_id": str(stock_data["cable"].id), "qty": "4"})
    db.refresh(order)
    assert record_timeline.entries(db, orders, users["manager"], order, "ru", kind="supply") == []


def test_audit_lines_are_readable_not_raw_dicts(db, users, order, orders):
    crud.update_record(db, orders, users["manager"], str(order.id), {"customer_name": "Иван", "qty": "3"})
    update, create = record_timeline.entries(db, orders, users["manager"], order, "ru", kind="audit")
    assert update["details"] == "Количество: 2 → 3\nПокупатель: — → Иван"
    lines = create["details"].split("\n")
    assert "Статус: Оплачен, не выдан" in lines and "Товар: Кабель USB-C" in lines  # the option's label, the product by name
    assert not any("{" in line or "Eur rub rate" in line or line.startswith("Пользователь") for line in lines)  # no bookkeeping columns
    en = record_timeline.entries(db, orders, users["manager"], order, "en", kind="audit")
    assert (en[0]["title"], en[0]["details"]) == ("update", "Quantity: 2 → 3\nCustomer: — → Иван")
    assert "Status: Paid, not issued" in en[1]["details"].split("\n")


def test_child_rows_in_the_history_read_as_rows(db):
    """A ``fields.rows`` change (a project's working hours) reads "Пн · 09:00 · 18:00", not a dict."""
    projects = resource("numbers.projects")
    f = next(f for f in projects.form_fields() if f.name == "windows")
    from app.core import rows

    cols = rows.columns(f)
    row = {"id": 7, **{c.name: None for c in cols}}
    row.update({c.name: v for c, v in zip(cols, (1, "09:00:00", "18:00:00"))})
    text = record_timeline.describe(projects, "update", {"windows": [[], [row]]}, "ru")
    assert text == "Окна по дням недели: — → Вторник · 09:00 · 18:00", text


def test_timeline_declaration_is_checked():
    from app.core.resource import ImproperlyConfigured, check_resource
    from app.core.registry import resource as res_of

    base = res_of("stock.orders")

    class Bad(base):
        detail_blocks = [record_timeline.timeline(events="not callable")]

    with pytest.raises(ImproperlyConfigured, match="callable"):
        check_resource(Bad)

    class Twice(base):
        detail_blocks = [comments.comment_wall(), comments.comment_wall()]

    with pytest.raises(ImproperlyConfigured, match="more than one comment_wall"):
        check_resource(Twice)

    class Junk(base):
        detail_blocks = ["timeline"]

    with pytest.raises(ImproperlyConfigured, match="not a detail block"):
        check_resource(Junk)
