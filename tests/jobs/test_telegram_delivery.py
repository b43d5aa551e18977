"""Notifications on the Telegram channel: a rule names the role, the commit enqueues a send job,
a real worker delivers it to the Bot API sandbox over HTTP; a 429 is waited out, a rollback sends
nothing, and the bot token is stored encrypted."""

from __future__ import annotations

import pytest
from jobtools import wait_for
from sqlalchemy import text
from sqlmodel import select

from app.core import notify
from app.panels.telegram.delivery import BOT_TOKEN_KEY, SEND_KIND, bot_config
from app.panels.telegram.settings import save_bot_config
from integrations.sandbox.telegram import start_sandbox
from models.core import NotificationRule, User
from models.jobs import JobRun, JobStatus

TOKEN = "123456:TEST-token-for-the-sandbox"
CHAT = 424242


@pytest.fixture()
def sandbox():
    handle = start_sandbox()
    handle.add_bot(TOKEN, "pult_test_bot")
    handle.add_chat(CHAT)
    yield handle
    handle.stop()


@pytest.fixture()
def telegram_rule(db, users, sandbox):
    save_bot_config(db, users["admin"], token=TOKEN, api_url=sandbox.url)
    manager = db.get(User, users["manager"].id)
    manager.telegram_chat_id = str(CHAT)
    db.add(NotificationRule(event="stock.low_stock", role="stock.manager", channel="telegram"))
    db.commit()


def _runs(db):
    db.expire_all()
    return db.exec(select(JobRun).where(JobRun.kind == SEND_KIND)).all()


def test_a_rule_sends_after_commit_and_the_worker_delivers(db, users, start_worker, redis_conn, sandbox, telegram_rule):
    start_worker()
    notify.notify(db, "stock.low_stock", "Низкий остаток: Кабель", "Остаток 1 при пороге 2")
    assert _runs(db) == []  # nothing leaves before the commit
    db.commit()
    wait_for(lambda: sandbox.sent(CHAT), 20, "the message to reach the sandbox")
    assert sandbox.sent(CHAT)[0]["text"] == "Низкий остаток: Кабель\nОстаток 1 при пороге 2"
    run = wait_for(lambda: next((r for r in _runs(db) if r.status == JobStatus.succeeded), None), 10, "the run to succeed")
    assert run.result["chat_id"] == str(CHAT)


def test_rate_limit_is_waited_out_and_sent_once(db, users, start_worker, redis_conn, sandbox, telegram_rule):
    sandbox.force_429("sendMessage", times=1, retry_after=1)
    start_worker()
    notify.notify(db, "stock.low_stock", "Второе уведомление")
    db.commit()
    wait_for(lambda: sandbox.sent(CHAT), 20, "the message after the 429")
    wait_for(lambda: all(r.status == JobStatus.succeeded for r in _runs(db)) and _runs(db), 10, "the run to succeed")
    assert len(sandbox.sent(CHAT)) == 1


def test_a_rolled_back_change_notifies_nobody(db, users, redis_conn, sandbox, telegram_rule):
    notify.notify(db, "stock.low_stock", "Не случилось")
    db.rollback()
    assert _runs(db) == []


def test_the_bot_token_is_encrypted_at_rest_and_needs_the_permission(db, users, telegram_rule):
    raw = db.exec(text("SELECT value FROM setting WHERE key = :k"), params={"k": BOT_TOKEN_KEY}).one()[0]
    assert TOKEN not in str(raw) and str(raw).startswith("gAAAA")
    assert bot_config(db)[0] == TOKEN
    from app.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        save_bot_config(db, users["manager"], token="1:x")
