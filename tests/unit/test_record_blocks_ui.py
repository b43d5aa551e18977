"""The detail page's comment wall and timeline through their own Reflex handlers: what a user
sees after posting, replying, editing, deleting and filtering, and the message under the box."""

from __future__ import annotations

import pytest
import reflex as rx

from app.core import auth, crud
from app.core.registry import resource
from app.core.ui.base import AuthState
from app.core.ui.detail import DetailState
from tests.uistate import sign_in


def _detail(token: str, record_id: str) -> DetailState:
    root = rx.State(_reflex_internal_init=True)
    state = sign_in(root.substates[AuthState.get_name()].substates[DetailState.get_name()], token)
    state.res_key, state.record_id = "stock.orders", record_id
    assert state._reload() is None
    return state


@pytest.fixture()
def order(db, users, stock_data):
    return crud.create_record(db, resource("stock.orders"), users["admin"], {"phone": "+7 999 000-11-22", "product_id": str(stock_data["cable"].id), "qty": "1"})


def _valid(events) -> list:
    out = events if isinstance(events, list) else [events]
    assert all(e is not None for e in out), out  # Reflex refuses a None inside a returned list
    return out


def test_post_reply_edit_delete_and_filter(db, users, order):
    manager = _detail(auth.login(db, "manager", "manager-pass"), str(order.id))
    assert manager.can_comment and manager.comments == []
    assert [e["kind"] for e in manager.timeline] == ["audit"] and manager.timeline_kinds[0][0] == "audit"

    manager.post_comment({"body": "  "})
    assert manager.comment_error == "Напишите текст комментария" and manager.comments == []
    manager.typed("comment-body", "x")
    assert manager.comment_error == ""

    _valid(manager.post_comment({"body": "@user глянь"}))
    assert [(c["who"], c["body"], c["mine"]) for c in manager.comments] == [("manager", "@user глянь", "1")]
    assert manager.timeline[0]["kind"] == "comment"

    user = _detail(auth.login(db, "user", "user-pass"), str(order.id))
    first = user.comments[0]["id"]
    assert user.comments[0]["mine"] == ""
    user.start_reply(first, "manager")
    user.post_reply({"body": ""})
    assert user.reply_error == "Напишите текст комментария" and user.reply_to == first
    user.post_reply({"body": "ок"})
    assert user.reply_to == "" and [(c["body"], c["reply"]) for c in user.comments] == [("@user глянь", ""), ("ок", "1")]

    manager._reload()
    manager.start_edit(first, "@user глянь")
    manager.save_edit({"body": "я" * 4001})
    assert manager.edit_error.startswith("Слишком длинный") and manager.edit_id == first
    manager.save_edit({"body": "@user глянь, срочно"})
    assert manager.edit_id == "" and manager.comments[0]["edited"] == "1"

    manager.ask_delete(first)
    manager.delete_comment()
    assert manager.comments[0]["deleted"] == "1" and manager.comments[0]["body"] == "Комментарий удалён"

    manager.set_timeline_kind("comment")
    assert {e["kind"] for e in manager.timeline} == {"comment"}
    manager.set_timeline_kind("all")
    assert {e["kind"] for e in manager.timeline} == {"comment", "audit"}


def test_mention_autocomplete_completes_in_place(db, users, order):
    manager = _detail(auth.login(db, "manager", "manager-pass"), str(order.id))
    manager.typed("comment-body", "Привет, @us")
    assert [o[0] for o in manager.mention_options] == ["user"]
    events = _valid(manager.pick_mention("user"))
    assert len(events) == 2 and manager.mention_options == []
    assert manager._draft == "Привет, @user "
    manager.typed("comment-body", "без упоминаний")
    assert manager.mention_options == []


def test_a_reader_without_the_permission_sees_no_box_and_is_refused(db, users, order):
    from models.core import Role

    role = db.get(Role, "stock.user")
    role.permissions = [p for p in role.permissions if p != "stock.orders.comment"]
    db.commit()
    user = _detail(auth.login(db, "user", "user-pass"), str(order.id))
    assert user.can_comment is False
    out = user.post_comment({"body": "можно?"})
    assert out is not None and user.comments == []  # an error toast, nothing saved
