"""Telegram approve-login (seed 000, section 6.2) through the app's HTTP API, the bot talking to
the Telegram sandbox over real sockets, the presses coming back through the webhook with its
secret token: approve, deny, expiry, replay, a press from another chat, floods; and linking by
the /start code. Real PostgreSQL and Redis."""

from __future__ import annotations

import json
import threading

import pytest
from sqlmodel import select

from app.core import crypto
from app.panels.telegram import login as tglogin
from app.panels.telegram.bot import API_URL_KEY, BOT_TOKEN_KEY, WEBHOOK_SECRET_KEY, put_setting
from app.panels.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH
from models.core import AuditLog, User, UserSession

TOKEN = "4242:LOGIN-sandbox-token"
SECRET = "tg-login-Secret_0123456789"
CHAT = 5550001
OTHER = 5550002
LOGIN = "/api/auth/login"


@pytest.fixture(scope="module")
def tg():
    from integrations.sandbox.telegram import start_sandbox

    handle = start_sandbox()
    yield handle
    handle.stop()


@pytest.fixture()
def bot(tg, db, users, redis_conn):
    """The sandbox bot saved as the app's bot, the webhook secret saved; the admin linked to ``CHAT``."""
    tg.reset()
    tg.add_bot(TOKEN, "pult_login_bot")
    tg.add_chat(CHAT, username="ivan_tg", first_name="Иван")
    tg.add_chat(OTHER, username="mallory", first_name="Мэллори")
    put_setting(db, BOT_TOKEN_KEY, crypto.encrypt(TOKEN), "test")
    put_setting(db, API_URL_KEY, tg.url, "test")
    put_setting(db, WEBHOOK_SECRET_KEY, crypto.encrypt(SECRET), "test")
    admin = db.exec(select(User).where(User.username == "admin")).one()
    admin.telegram_chat_id, admin.telegram_username = str(CHAT), "ivan_tg"
    db.add(admin)
    db.commit()
    return tg


def _ask(client, who: str) -> dict:
    r = client.post(LOGIN, json={"method": "telegram", "telegram": who})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["step"] == "push" and body["fields"] == [] and 60 <= body["expires_in"] <= 120
    return body


def _request_message(tg) -> dict:
    msg = tg.sent(CHAT)[-1]
    assert msg["text"].startswith("🔐 Запрос входа в панель")
    return msg


def _buttons(msg) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in msg["reply_markup"]["inline_keyboard"] for b in row}


def _press(client, tg, msg, label: str, from_user: int = CHAT, chat: int = CHAT) -> dict:
    update = tg.press_button(chat, msg["message_id"], _buttons(msg)[label], from_user=from_user)
    r = client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET})
    assert r.status_code == 200, r.text
    return update


def _sessions(db) -> int:
    db.expire_all()
    return len(db.exec(select(UserSession)).all())


def test_approve_signs_the_waiting_browser_in_once(client, bot, db):
    body = _ask(client, str(CHAT))
    msg = _request_message(bot)
    assert "IP: testclient" in msg["text"] and "Браузер:" in msg["text"] and "Время:" in msg["text"]
    assert set(_buttons(msg)) == {"✅ Принять", "❌ Отклонить"}
    # Nothing yet: the stream is waiting, an early ask is still 202.
    assert client.post(f"{LOGIN}/{body['challenge']}", json={}).status_code == 202

    seen: list[str] = []

    def listen() -> None:
        with client.stream("GET", f"{LOGIN}/{body['challenge']}/events") as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith("event:"):
                    seen.append(line.split(":", 1)[1].strip())
                    return

    listener = threading.Thread(target=listen)
    listener.start()
    import time
    time.sleep(0.5)
    pressed = _press(client, bot, msg, "✅ Принять")
    listener.join(10)
    assert seen == ["ready"]  # pushed, not polled
    assert bot.sent(CHAT)[-1]["text"].startswith("✅ Вход подтверждён") and "reply_markup" not in bot.sent(CHAT)[-1]
    assert [a["text"] for a in bot.callback_answers()] == ["Вход подтверждён"]

    import time as _t
    _t.sleep(0.6)  # the step's ask interval
    r = client.post(f"{LOGIN}/{body['challenge']}", json={})
    assert r.status_code == 200 and r.json()["user"]["username"] == "admin"
    assert client.cookies.get("pult_session")
    assert client.get("/api/auth/me").json()["username"] == "admin"
    assert _sessions(db) == 1
    # Replay: the same exchange again, and the same button again.
    assert client.post(f"{LOGIN}/{body['challenge']}", json={}).status_code == 401
    replay = json.loads(json.dumps(pressed))  # the press sent again (its buttons are gone: only a forged repeat can)
    replay["update_id"] += 1000
    client.cookies.clear()  # Telegram sends no session cookie
    assert client.post(WEBHOOK_PATH, json=replay, headers={SECRET_HEADER: SECRET}).status_code == 200
    assert _sessions(db) == 1
    assert len(db.exec(select(AuditLog).where(AuditLog.action == "login_approved")).all()) == 1
    actions = [a.action for a in db.exec(select(AuditLog).order_by(AuditLog.id)).all()]
    assert ["login_requested", "login_approved", "login"] == [a for a in actions if a.startswith("login")]
    row = db.exec(select(AuditLog).where(AuditLog.action == "login")).one()
    assert row.diff["method"] == "telegram"


def test_username_works_only_through_the_stored_link(client, bot, db):
    _ask(client, "@ivan_tg")
    assert len(bot.sent(CHAT)) == 1
    _ask(client, "@mallory")  # a Telegram user, but linked to no account: the same answer, nothing sent
    _ask(client, str(OTHER))
    assert bot.sent(OTHER) == []


def test_deny_refuses_the_browser(client, bot, db):
    body = _ask(client, str(CHAT))
    _press(client, bot, _request_message(bot), "❌ Отклонить")
    assert bot.sent(CHAT)[-1]["text"].startswith("❌ Вход отклонён")
    r = client.post(f"{LOGIN}/{body['challenge']}", json={})
    assert r.status_code == 401 and r.json()["detail"] == "Вход отклонён в Telegram"
    assert _sessions(db) == 0
    assert db.exec(select(AuditLog).where(AuditLog.action == "login_denied")).first() is not None


def test_a_press_from_another_chat_or_user_is_refused(client, bot, db):
    body = _ask(client, str(CHAT))
    msg = _request_message(bot)
    _press(client, bot, msg, "✅ Принять", from_user=OTHER)  # someone else pressing (a forwarded message)
    assert bot.callback_answers()[-1]["text"] == "Эта кнопка не для вас"
    forged = bot.press_button(CHAT, msg["message_id"], _buttons(msg)["✅ Принять"], from_user=CHAT)
    forged["callback_query"]["message"]["chat"]["id"] = OTHER
    forged["callback_query"]["from"]["id"] = OTHER
    forged["update_id"] += 1000
    assert client.post(WEBHOOK_PATH, json=forged, headers={SECRET_HEADER: SECRET}).status_code == 200
    assert client.post(f"{LOGIN}/{body['challenge']}", json={}).status_code == 202  # still waiting
    # and an unauthenticated webhook call changes nothing either
    assert client.post(WEBHOOK_PATH, json=forged, headers={SECRET_HEADER: "wrong"}).status_code == 401
    assert tglogin.attempt(json.loads(json.dumps(_buttons(msg)["✅ Принять"])).split(":")[2])["status"] == "PENDING"
    assert _sessions(db) == 0


def test_an_expired_attempt_is_refused(client, bot, db, redis_conn):
    body = _ask(client, str(CHAT))
    msg = _request_message(bot)
    attempt_id = _buttons(msg)["✅ Принять"].split(":")[2]
    redis_conn.delete(f"{tglogin.PREFIX}:{attempt_id}")  # what the TTL does after 90 s
    _press(client, bot, msg, "✅ Принять")
    assert bot.callback_answers()[-1]["text"] == "Запрос уже обработан или устарел"
    assert bot.sent(CHAT)[-1]["text"] == "⌛ Запрос входа устарел"
    assert client.post(f"{LOGIN}/{body['challenge']}", json={}).status_code == 401
    assert _sessions(db) == 0


def test_floods_are_refused_per_account_and_per_address(client, bot, db, redis_conn):
    for _ in range(tglogin.PER_USER):
        _ask(client, str(CHAT))
    r = client.post(LOGIN, json={"method": "telegram", "telegram": str(CHAT)})
    assert r.status_code == 429 and r.headers.get("Retry-After")
    assert len(bot.sent(CHAT)) == tglogin.PER_USER
    for key in redis_conn.scan_iter("pult:tg:login:user:*"):
        redis_conn.delete(key)
    # per client address, whatever the account: the kit's first-step limit
    statuses = [client.post(LOGIN, json={"method": "telegram", "telegram": "@nobody_here"}).status_code for _ in range(25)]
    assert 429 in statuses


def test_link_by_start_code(client, bot, db, login):
    update = bot.user_message(OTHER, "/start", from_user=OTHER)
    assert client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET}).status_code == 200
    reply = bot.sent(OTHER)[-1]["text"]
    code = reply.split("Код привязки: ")[1].split()[0]
    headers = login("manager")
    assert client.post("/api/auth/telegram/link", json={"code": "WRONG123"}, headers=headers).status_code == 422
    r = client.post("/api/auth/telegram/link", json={"code": code}, headers=headers)
    assert r.status_code == 200 and r.json() == {"linked": True, "username": "mallory"}
    assert client.post("/api/auth/telegram/link", json={"code": code}, headers=headers).status_code == 422  # once
    db.expire_all()
    manager = db.exec(select(User).where(User.username == "manager")).one()
    assert manager.telegram_chat_id == str(OTHER) and manager.telegram_username == "mallory"
    raw = db.exec(select(User.telegram_chat_id)).all()
    assert str(OTHER) in raw  # decrypted by the column type; the stored text is not the id:
    from sqlalchemy import text
    stored = db.execute(text("SELECT telegram_chat_id FROM \"user\" WHERE username = 'manager'")).scalar()
    assert str(OTHER) not in stored
    # now @mallory is a linked username
    _ask(client, "@mallory")
    assert bot.sent(OTHER)[-1]["text"].startswith("🔐 Запрос входа в панель")


def test_without_a_bot_everyone_hears_it_is_not_set_up(client, users, db):
    r = client.post(LOGIN, json={"method": "telegram", "telegram": "@whoever"})
    assert r.status_code == 400 and r.json()["detail"] == "Вход через Telegram не настроен"
    r = client.post(LOGIN, json={"method": "telegram", "telegram": "x" * 65})
    assert r.status_code == 422 and set(r.json()["errors"]) == {"telegram"}
