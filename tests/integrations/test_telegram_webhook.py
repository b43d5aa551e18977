"""``POST /api/integrations/telegram/webhook``: the secret check and button-press dispatch.

Updates come from the sandbox (a real button press on a real sent message); the answer to the
callback query goes back to the sandbox over a socket.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.panels.telegram import webhook as tw
from app.core.errors import PermissionDenied
from integrations.sandbox.server import serve
from integrations.telegram import inline_keyboard
from tests.integrations.conftest import BOT_USERNAME, CHAT

SECRET = "webhook-Secret_0123456789"
PATH = tw.WEBHOOK_PATH


@pytest.fixture()
def ran():
    """Register test handlers for ``t:ok:``, ``t:edit:`` and ``t:fail:``; yields what they saw."""
    seen: list[dict] = []

    @tw.on_callback("t:ok:")
    def ok(ctx: tw.CallbackContext):
        seen.append({"payload": ctx.payload, "user": ctx.user.id, "chat": ctx.chat_id, "message": ctx.message_id})
        return "Принято"

    @tw.on_callback("t:edit:")
    def edit(ctx: tw.CallbackContext):
        seen.append({"payload": ctx.payload})
        ctx.edit_text(f"Выдано: {ctx.payload}")
        return tw.CallbackAnswer("Готово", show_alert=True)

    @tw.on_callback("t:fail:")
    def fail(ctx: tw.CallbackContext):
        seen.append({"payload": ctx.payload})
        raise PermissionDenied()

    yield seen
    for prefix in ("t:ok:", "t:edit:", "t:fail:"):
        tw.remove_callback(prefix)


@pytest.fixture()
def app(bot, redis_conn):
    for key in redis_conn.scan_iter("pult:telegram:update:*"):
        redis_conn.delete(key)
    api = FastAPI()
    api.include_router(tw.telegram_router(secret=SECRET, bot=bot))
    return api


@pytest.fixture()
def client(app):
    with TestClient(app) as c:
        yield c


def press(bot, sandbox, data: str) -> dict:
    """Send a message with a button carrying ``data``, press it, return the queued update."""
    msg = bot.send_message(CHAT, "Заявка #7", reply_markup=inline_keyboard([[("Да", data)]]))
    return sandbox.press_button(CHAT, msg["message_id"], data, from_user=CHAT)


def test_right_secret_runs_the_handler_and_answers_the_query(client, bot, sandbox, ran):
    update = press(bot, sandbox, "t:ok:7")
    r = client.post(PATH, json=update, headers={tw.SECRET_HEADER: SECRET})
    assert r.status_code == 200, r.text
    assert ran == [{"payload": "7", "user": CHAT, "chat": CHAT, "message": update["callback_query"]["message"]["message_id"]}]
    answers = sandbox.callback_answers()
    assert [(a["callback_query_id"], a["text"], a["show_alert"]) for a in answers] == [(update["callback_query"]["id"], "Принято", False)]


@pytest.mark.parametrize("headers", [{}, {tw.SECRET_HEADER: "wrong"}, {tw.SECRET_HEADER: SECRET + "x"}, {tw.SECRET_HEADER: ""}])
def test_wrong_or_missing_secret_is_401_and_nothing_runs(client, bot, sandbox, ran, headers):
    update = press(bot, sandbox, "t:ok:7")
    r = client.post(PATH, json=update, headers=headers)
    assert r.status_code == 401
    assert ran == [] and sandbox.callback_answers() == []


def test_no_configured_secret_refuses_everything(bot, sandbox, ran, redis_conn):
    api = FastAPI()
    api.include_router(tw.telegram_router(secret="", bot=bot))
    with TestClient(api) as c:
        update = press(bot, sandbox, "t:ok:7")
        assert c.post(PATH, json=update, headers={tw.SECRET_HEADER: ""}).status_code == 401
    assert ran == []


def test_secret_and_bot_come_from_the_saved_settings_the_environment_only_as_fallback(monkeypatch, db, users, bot, sandbox, ran, redis_conn):
    """One source of truth: the secret generated when the admin switched the webhook on and the
    token saved on the page; ``PULT_TELEGRAM_*`` only while nothing is saved."""
    import dataclasses

    from app.panels.telegram import bot as telegram_bot, receiving as telegram_receiving
    from app.panels.telegram import settings as telegram_settings
    from tests.integrations.conftest import TOKEN

    env_token = "555000:ENV-bot-token"
    sandbox.add_bot(env_token, "env_bot")
    env = dataclasses.replace(telegram_bot.settings, telegram_webhook_secret="from-env", telegram_bot_token=env_token,
                              telegram_api_url=sandbox.url, public_url="http://127.0.0.1:9")
    monkeypatch.setattr(telegram_bot, "settings", env)
    monkeypatch.setattr(telegram_receiving, "settings", env)
    api = FastAPI()
    api.include_router(tw.telegram_router())
    with TestClient(api) as c:
        update = press(bot, sandbox, "t:ok:1")
        assert c.post(PATH, json=update, headers={tw.SECRET_HEADER: SECRET}).status_code == 401
        assert c.post(PATH, json=update, headers={tw.SECRET_HEADER: "from-env"}).status_code == 200
        assert [a["bot"] for a in sandbox.calls("answerCallbackQuery")] == ["env_bot"]  # nothing saved: the environment's bot

        telegram_settings.save_bot_config(db, users["admin"], token=TOKEN, api_url=sandbox.url)
        telegram_receiving.set_receive_mode(db, users["admin"], "webhook")
        saved_secret = sandbox._bots[TOKEN].webhook_secret
        assert saved_secret and saved_secret != "from-env"
        update = press(bot, sandbox, "t:ok:2")
        assert c.post(PATH, json=update, headers={tw.SECRET_HEADER: "from-env"}).status_code == 401
        assert c.post(PATH, json=update, headers={tw.SECRET_HEADER: saved_secret}).status_code == 200
        assert [a["bot"] for a in sandbox.calls("answerCallbackQuery")][-1] == BOT_USERNAME  # the saved bot answers
    assert [r["payload"] for r in ran] == ["1", "2"]


def test_handler_may_edit_the_message_and_answer_with_an_alert(client, bot, sandbox, ran):
    update = press(bot, sandbox, "t:edit:42")
    assert client.post(PATH, json=update, headers={tw.SECRET_HEADER: SECRET}).status_code == 200
    message = sandbox.sent(CHAT)[-1]
    assert message["text"] == "Выдано: 42" and "reply_markup" not in message
    assert [(a["text"], a["show_alert"]) for a in sandbox.callback_answers()] == [("Готово", True)]


def test_failing_handler_still_answers_and_returns_200(client, bot, sandbox, ran):
    update = press(bot, sandbox, "t:fail:1")
    assert client.post(PATH, json=update, headers={tw.SECRET_HEADER: SECRET}).status_code == 200
    assert ran == [{"payload": "1"}]
    assert [(a["text"], a["show_alert"]) for a in sandbox.callback_answers()] == [("Недостаточно прав", True)]


def test_unknown_prefix_is_answered_silently_and_redeliveries_are_skipped(client, bot, sandbox, ran):
    update = press(bot, sandbox, "other:1")
    assert client.post(PATH, json=update, headers={tw.SECRET_HEADER: SECRET}).status_code == 200
    assert [a["text"] for a in sandbox.callback_answers()] == [None]

    update = press(bot, sandbox, "t:ok:2")
    for _ in range(2):  # Telegram re-sends an update it thinks was not received
        assert client.post(PATH, json=update, headers={tw.SECRET_HEADER: SECRET}).status_code == 200
    assert len(ran) == 1


def test_not_an_update_is_400(client, ran):
    assert client.post(PATH, json={"hello": 1}, headers={tw.SECRET_HEADER: SECRET}).status_code == 400
    assert client.post(PATH, content=b"{", headers={tw.SECRET_HEADER: SECRET, "content-type": "application/json"}).status_code == 400


def test_end_to_end_over_sockets(app, bot, sandbox, ran):
    """setWebhook to the served endpoint; a press in the sandbox reaches the handler and is answered."""
    with serve(app, name="pult-api") as served:
        bot.set_webhook(served.url + PATH, SECRET)
        msg = bot.send_message(CHAT, "Заявка #9", reply_markup=inline_keyboard([[("Да", "t:ok:9")]]))
        sandbox.press_button(CHAT, msg["message_id"], "t:ok:9", from_user=CHAT)
        assert [d["status"] for d in sandbox.webhook_deliveries()] == [200]
        assert [r["payload"] for r in ran] == ["9"]
        assert [a["text"] for a in sandbox.callback_answers()] == ["Принято"]

        bot.set_webhook(served.url + PATH, "another-secret")  # the app does not know this one
        sandbox.press_button(CHAT, msg["message_id"], "t:ok:9", from_user=CHAT)
        assert sandbox.webhook_deliveries()[-1]["status"] == 401
        assert len(ran) == 1
        assert bot.get_webhook_info()["last_error_message"] == "Wrong response from the webhook: 401 Unauthorized"


def test_registry_refuses_duplicates_and_prefers_the_longest_prefix(ran):
    with pytest.raises(ValueError, match="already registered"):
        tw.on_callback("t:ok:")(lambda ctx: None)

    def generic(ctx):
        return None

    tw.on_callback("t:")(generic)
    try:
        assert tw.find_handler("t:ok:1")[0] == "t:ok:"
        assert tw.find_handler("t:other")[1] is generic
        assert tw.find_handler("x:1") is None
    finally:
        tw.remove_callback("t:")
