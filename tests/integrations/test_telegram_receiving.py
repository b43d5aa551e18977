"""Receiving by webhook, end to end: the admin switches it on (setWebhook with a generated secret),
a user presses a button in the sandbox, the sandbox POSTs the update over a real socket to Pult's
whole API app, the registered handler runs once and the press is answered.

Also: the secret is the only way in, a press from a chat other than the expected one is refused,
an update still running elsewhere is answered 503 and re-sent by the sandbox as Telegram does,
switching off deletes the webhook, and who may switch.
"""

from __future__ import annotations

import dataclasses
import time

import httpx
import pytest
from sqlmodel import select

from app.panels.telegram import receiving as telegram_receiving
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.i18n import t
from app.panels.telegram.bot import RECEIVE_KEY, WEBHOOK_NEXT_SECRET_KEY, WEBHOOK_SECRET_KEY
from app.panels.telegram.settings import save_bot_config
from app.panels.telegram.handlers import PING_PREFIX, last_ping, ping_keyboard
from app.panels.telegram.receiving import set_receive_mode, webhook_unavailable
from app.panels.telegram.updates import CallbackContext, on_callback, remove_callback
from app.panels.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH
from integrations.sandbox.server import serve
from integrations.telegram import DEFAULT_BASE_URL, inline_keyboard
from models.core import AuditLog, Setting, User
from tests.integrations.conftest import CHAT, TOKEN

OTHER = 777001  # another Telegram user, not linked to anyone


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return value


@pytest.fixture(scope="module")
def app_server(engine, redis_conn):
    """Pult's whole API (every router and middleware) on a real socket."""
    from app.core.api import build_api

    with serve(build_api(), name="pult-api") as served:
        yield served


@pytest.fixture()
def admin(monkeypatch, app_server, db, users, sandbox):
    """The bot saved on the settings page, the app's public URL = the served API, the admin's chat linked."""
    monkeypatch.setattr(telegram_receiving, "settings", dataclasses.replace(telegram_receiving.settings, public_url=app_server.url))
    save_bot_config(db, users["admin"], token=TOKEN, api_url=sandbox.url)
    row = db.get(User, users["admin"].id)
    row.telegram_chat_id = str(CHAT)
    db.commit()
    sandbox.add_chat(OTHER, first_name="Чужой")
    return users["admin"]


@pytest.fixture()
def seen():
    """A panel's handler for ``it:`` presses; yields what it got."""
    got: list[tuple[str, str]] = []

    @on_callback("it:")
    def handler(ctx: CallbackContext):
        got.append((ctx.payload, ctx.source))
        return "Принято"

    yield got
    remove_callback("it:")


def _secret(sandbox) -> str:
    return sandbox.calls("setWebhook")[-1]["params"]["secret_token"]


def test_a_press_reaches_the_registered_handler_by_webhook_exactly_once(admin, db, sandbox, bot, app_server, seen):
    record = set_receive_mode(db, admin, "webhook")
    url = app_server.url + WEBHOOK_PATH
    assert record["url"] == url
    info = bot.get_webhook_info()
    assert info["url"] == url and info["allowed_updates"] == ["message", "callback_query"]
    secret = _secret(sandbox)
    assert len(secret) >= 32
    raw = db.get(Setting, WEBHOOK_SECRET_KEY).value
    assert secret not in str(raw)  # stored encrypted

    msg = bot.send_message(CHAT, "Заявка #5", reply_markup=inline_keyboard([[("Принять", "it:5")]]))
    update = sandbox.press_button(CHAT, msg["message_id"], "it:5", from_user=CHAT)
    assert [d["status"] for d in sandbox.webhook_deliveries()] == [200]  # a real POST to the app
    assert seen == [("5", "webhook")]
    assert [(a["text"], a["show_alert"]) for a in sandbox.callback_answers()] == [("Принято", False)]

    # Telegram re-sends an update whose answer it did not see: the handler does not run again.
    r = httpx.post(url, json=update, headers={SECRET_HEADER: secret})
    assert r.status_code == 200
    assert seen == [("5", "webhook")] and len(sandbox.callback_answers()) == 1
    assert sandbox.pending_updates(TOKEN) == []


def test_the_test_message_button_and_start_command_prove_the_path(admin, db, sandbox, bot):
    set_receive_mode(db, admin, "webhook")
    msg = bot.send_message(CHAT, t("telegram.test_message"), reply_markup=ping_keyboard(admin.id, "ru"))
    sandbox.press_button(CHAT, msg["message_id"], f"{PING_PREFIX}{admin.id}", from_user=CHAT)
    db.expire_all()
    ping = last_ping(db)
    assert ping["user"] == "admin" and ping["via"] == "webhook"
    assert sandbox.sent(CHAT)[-1]["text"] == t("telegram.ping_received")  # the message says so, its button gone
    assert "reply_markup" not in sandbox.sent(CHAT)[-1]
    assert [a["text"] for a in sandbox.callback_answers()] == [t("telegram.ping_answer")]

    sandbox.user_message(OTHER, "/start")
    reply = sandbox.sent(OTHER)[-1]["text"]
    # the telegram panel's /start: a link code for the profile, and the id for an admin
    assert reply.startswith("Код привязки: ") and reply.endswith(f"Ваш Telegram ID: {OTHER}")


def test_a_press_from_an_unexpected_chat_is_refused(admin, db, sandbox, bot):
    set_receive_mode(db, admin, "webhook")
    data = f"{PING_PREFIX}{admin.id}"
    # the admin's test button, in a group where anyone can press it
    sandbox.add_chat(-100500, "group", title="Склад")
    in_group = bot.send_message(-100500, "test", reply_markup=ping_keyboard(admin.id, "ru"))
    sandbox.press_button(-100500, in_group["message_id"], data, from_user=CHAT)
    # ... in someone else's private chat
    elsewhere = bot.send_message(OTHER, "test", reply_markup=ping_keyboard(admin.id, "ru"))
    sandbox.press_button(OTHER, elsewhere["message_id"], data, from_user=OTHER)
    # ... and in the admin's chat but by another user (a client could not do it; the check holds anyway)
    own = bot.send_message(CHAT, "test", reply_markup=ping_keyboard(admin.id, "ru"))
    sandbox.press_button(CHAT, own["message_id"], data, from_user=OTHER)

    assert [d["status"] for d in sandbox.webhook_deliveries()] == [200, 200, 200]
    db.expire_all()
    assert last_ping(db) is None  # the handler never ran
    assert [(a["text"], a["show_alert"]) for a in sandbox.callback_answers()] == [(t("telegram.wrong_chat"), True)] * 3
    assert all("reply_markup" in m for m in sandbox.sent(CHAT) + sandbox.sent(OTHER))  # nothing edited


def test_only_the_current_secret_gets_in(admin, db, sandbox, bot, app_server, seen):
    url = app_server.url + WEBHOOK_PATH
    set_receive_mode(db, admin, "webhook")
    first = _secret(sandbox)
    msg = bot.send_message(CHAT, "?", reply_markup=inline_keyboard([[("Да", "it:1")]]))
    set_receive_mode(db, admin, "off")  # queue the press instead of delivering it
    update = sandbox.press_button(CHAT, msg["message_id"], "it:1", from_user=CHAT)
    set_receive_mode(db, admin, "webhook")  # a new secret; Telegram delivers the queued press with it at once
    second = _secret(sandbox)
    assert second != first
    wait_for(lambda: seen, 10, "the queued press")  # accepted though it may come before the switch is saved
    # the sandbox notes a delivery's status once our reply reached it, a moment after the handler ran
    wait_for(lambda: sandbox.webhook_deliveries(), 10, "the sandbox to note the delivery")
    assert seen == [("1", "webhook")] and [d["status"] for d in sandbox.webhook_deliveries()] == [200]

    for headers in ({}, {SECRET_HEADER: ""}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: first}, {SECRET_HEADER: second + "x"}):
        fake = {**update, "update_id": update["update_id"] + 1000}
        assert httpx.post(url, json=fake, headers=headers).status_code == 401
    assert seen == [("1", "webhook")]

    set_receive_mode(db, admin, "off")
    assert bot.get_webhook_info()["url"] == ""
    assert db.get(Setting, WEBHOOK_SECRET_KEY) is None
    assert httpx.post(url, json={**update, "update_id": update["update_id"] + 2000}, headers={SECRET_HEADER: second}).status_code == 401


def test_an_update_running_elsewhere_is_refused_with_503_and_redelivered_once(admin, db, sandbox, bot, redis_conn, seen):
    set_receive_mode(db, admin, "webhook")
    msg = bot.send_message(CHAT, "?", reply_markup=inline_keyboard([[("Да", "it:9")]]))
    bot_id = int(TOKEN.split(":")[0])
    next_id = sandbox._bots[TOKEN].next_update_id
    claim = f"pult:telegram:update:{bot_id}:{next_id}"
    redis_conn.set(claim, "running", ex=60)  # another process is on this very update

    sandbox.press_button(CHAT, msg["message_id"], "it:9", from_user=CHAT)
    assert [d["status"] for d in sandbox.webhook_deliveries()] == [503]
    assert seen == [] and bot.get_webhook_info()["pending_update_count"] == 1

    redis_conn.delete(claim)  # ... and it died before finishing: the claim is gone
    wait_for(lambda: seen, 15, "the sandbox to re-POST the update")
    wait_for(lambda: sandbox.pending_updates(TOKEN) == [], 5, "the update to be accepted")
    assert seen == [("9", "webhook")]
    assert sandbox.webhook_deliveries()[-1]["status"] == 200


def test_webhook_needs_a_public_url_and_https_for_telegram(admin, db, monkeypatch):
    monkeypatch.setattr(telegram_receiving, "settings", dataclasses.replace(telegram_receiving.settings, public_url=""))
    with pytest.raises(ValidationFailed) as info:
        set_receive_mode(db, admin, "webhook")
    assert info.value.errors == {"mode": ("telegram.webhook_no_public_url", {})}
    assert db.get(Setting, RECEIVE_KEY) is None  # nothing saved

    monkeypatch.setattr(telegram_receiving, "settings", dataclasses.replace(telegram_receiving.settings, public_url="http://pult.example.com"))
    assert webhook_unavailable(DEFAULT_BASE_URL) == "telegram.webhook_needs_https"  # Telegram's own server
    assert webhook_unavailable("http://127.0.0.1:8081") is None  # a local Bot API server takes http
    monkeypatch.setattr(telegram_receiving, "settings", dataclasses.replace(telegram_receiving.settings, public_url="https://pult.example.com"))
    assert webhook_unavailable(DEFAULT_BASE_URL) is None


def test_switching_is_for_the_telegram_permission_and_audited(admin, db, users, sandbox, bot):
    with pytest.raises(PermissionDenied):
        set_receive_mode(db, users["manager"], "polling")
    with pytest.raises(ValidationFailed):
        set_receive_mode(db, admin, "carrier-pigeon")
    set_receive_mode(db, admin, "webhook")
    set_receive_mode(db, admin, "polling")
    assert bot.get_webhook_info()["url"] == ""  # polling needs the webhook gone
    rows = db.exec(select(AuditLog).where(AuditLog.entity_type == "setting").order_by(AuditLog.id)).all()
    assert [r.diff["receive"] for r in rows if "receive" in r.diff] == [["off", "webhook"], ["webhook", "polling"]]
    assert db.get(Setting, RECEIVE_KEY).value["mode"] == "polling"


def test_a_refusing_bot_api_saves_nothing(admin, db, sandbox):
    sandbox.force_error("setWebhook", error_code=400, description="Bad Request: bad webhook: Failed to resolve host")
    from integrations.telegram import TelegramError

    with pytest.raises(TelegramError):
        set_receive_mode(db, admin, "webhook")
    db.rollback()
    assert db.get(Setting, RECEIVE_KEY) is None and db.get(Setting, WEBHOOK_SECRET_KEY) is None
    assert db.get(Setting, WEBHOOK_NEXT_SECRET_KEY) is None
