"""The Bot API client against the sandbox, over real sockets."""

from __future__ import annotations

import logging
import socket
import threading
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations.sandbox.server import serve
from integrations.sandbox.telegram import CONFLICT_TERMINATED, CONFLICT_WEBHOOK, SECRET_HEADER
from integrations.telegram import (
    TelegramClient,
    TelegramError,
    TelegramRetryLater,
    TelegramUnavailable,
    inline_keyboard,
)
from tests.integrations.conftest import BOT_USERNAME, CHAT, TOKEN

SECRET_PART = TOKEN.partition(":")[2]


def keyboard(n: int = 7):
    return inline_keyboard([[("Выдать", f"issue:{n}"), ("Отказать", f"deny:{n}")], [{"text": "Открыть", "url": "https://example.org/o/7"}]])


def test_get_me(bot):
    me = bot.get_me()
    assert me["is_bot"] is True
    assert me["username"] == BOT_USERNAME
    assert me["id"] == 123456789 == bot.bot_id


def test_send_message_with_inline_keyboard(bot, sandbox):
    first = bot.send_message(CHAT, "Заказ #7 оплачен", reply_markup=keyboard(), disable_notification=True)
    second = bot.send_message(CHAT, "<b>Второе</b>", parse_mode="HTML")

    assert first["message_id"] == 1 and second["message_id"] == 2
    assert first["chat"] == {"id": CHAT, "type": "private", "first_name": "Иван", "username": "ivanov"}
    assert first["from"]["username"] == BOT_USERNAME and first["from"]["is_bot"] is True
    assert abs(first["date"] - time.time()) < 5
    assert first["reply_markup"]["inline_keyboard"][0] == [
        {"text": "Выдать", "callback_data": "issue:7"},
        {"text": "Отказать", "callback_data": "deny:7"},
    ]
    assert "reply_markup" not in second
    assert [m["text"] for m in sandbox.sent(CHAT)] == ["Заказ #7 оплачен", "<b>Второе</b>"]
    assert sandbox.calls("sendMessage")[0]["params"]["disable_notification"] is True


def test_inline_keyboard_helper_checks_callback_data():
    assert inline_keyboard([[("A", "a")]]) == {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    with pytest.raises(ValueError):
        inline_keyboard([[("A", "x" * 65)]])
    with pytest.raises(ValueError):
        inline_keyboard([[("", "a")]])


def test_bad_token_is_401_without_the_token_anywhere(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    bad = "123456789:wrong-" + SECRET_PART
    with TelegramClient(bad, base_url=sandbox.url, backoff=0.01) as client:
        with pytest.raises(TelegramError) as info:
            client.get_me()
        assert "wrong-" not in repr(client)
    err = info.value
    assert (err.error_code, err.description) == (401, "Unauthorized")
    assert not err.retryable
    for text in (str(err), repr(err), caplog.text):
        assert SECRET_PART not in text
    assert "/bot123456789:***/getMe" in caplog.text  # httpx's request log, masked
    assert len(sandbox.calls("getMe")) == 1  # not retried


def test_unknown_chat_and_empty_text_are_400_not_retried(bot, sandbox):
    with pytest.raises(TelegramError) as info:
        bot.send_message(777, "hello")
    assert (info.value.error_code, info.value.description) == (400, "Bad Request: chat not found")
    with pytest.raises(TelegramError) as info:
        bot.send_message(CHAT, "   ")
    assert info.value.description == "Bad Request: message text is empty"
    assert [c["status"] for c in sandbox.calls("sendMessage")] == [400, 400]
    assert sandbox.sent(CHAT) == []


def test_blocked_user_is_403_not_retried(bot, sandbox):
    sandbox.add_chat(555, blocked=True)
    with pytest.raises(TelegramError) as info:
        bot.send_message(555, "hi")
    assert (info.value.error_code, info.value.description) == (403, "Forbidden: bot was blocked by the user")
    assert len(sandbox.calls("sendMessage")) == 1


def test_rate_limit_is_waited_out_and_the_message_delivered_once(bot, sandbox):
    sandbox.force_429("sendMessage", times=1, retry_after=1)
    started = time.monotonic()
    msg = bot.send_message(CHAT, "после паузы")
    assert time.monotonic() - started >= 0.95
    assert msg["text"] == "после паузы"
    assert [m["text"] for m in sandbox.sent(CHAT)] == ["после паузы"]
    assert [c["status"] for c in sandbox.calls("sendMessage")] == [429, 200]


def test_rate_limit_beyond_max_wait_raises_retry_later(bot, sandbox):
    sandbox.force_429("sendMessage", times=1, retry_after=30)
    started = time.monotonic()
    with pytest.raises(TelegramRetryLater) as info:
        bot.send_message(CHAT, "не сейчас")
    assert time.monotonic() - started < 1  # gave up at once: waiting 30 s is over max_retry_wait
    assert info.value.retry_after == 30 and info.value.error_code == 429 and info.value.retryable
    assert info.value.description == "Too Many Requests: retry after 30"
    assert sandbox.sent(CHAT) == []


def test_rate_limit_retries_are_bounded(sandbox):
    sandbox.force_429("getMe", times=10, retry_after=0)
    with TelegramClient(TOKEN, base_url=sandbox.url, max_rate_limit_retries=2) as client:
        with pytest.raises(TelegramRetryLater):
            client.get_me()
    assert len(sandbox.calls("getMe")) == 3


def test_server_errors_are_retried_with_backoff(bot, sandbox):
    sandbox.force_error("sendMessage", times=2, error_code=502)
    assert bot.send_message(CHAT, "дошло")["message_id"] == 1
    assert [c["status"] for c in sandbox.calls("sendMessage")] == [502, 502, 200]

    sandbox.force_error("getMe", times=5, error_code=500)
    with pytest.raises(TelegramUnavailable) as info:
        bot.get_me()
    assert info.value.error_code == 500 and info.value.retryable
    assert len(sandbox.calls("getMe")) == 3  # max_attempts


def test_network_errors_are_retried_then_raised_without_the_token():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    slept = []
    client = TelegramClient(TOKEN, base_url=f"http://127.0.0.1:{port}", max_attempts=3, backoff=0.2, sleep=slept.append)
    with pytest.raises(TelegramUnavailable) as info:
        client.get_me()
    assert info.value.error_code == 0
    assert slept == [0.2, 0.4]
    assert SECRET_PART not in str(info.value) and info.value.__cause__ is None


def test_answer_and_edit(bot, sandbox):
    msg = bot.send_message(CHAT, "Подтвердить вход?", reply_markup=keyboard())
    update = sandbox.press_button(CHAT, msg["message_id"], "issue:7", from_user=CHAT)
    query = update["callback_query"]
    assert query["from"]["id"] == CHAT and query["data"] == "issue:7"
    assert query["message"]["message_id"] == msg["message_id"]

    assert bot.answer_callback_query(query["id"], text="Готово") is True
    assert sandbox.callback_answers()[0]["text"] == "Готово"
    with pytest.raises(TelegramError) as info:  # a query is answered once
        bot.answer_callback_query(query["id"])
    assert "query is too old" in info.value.description

    edited = bot.edit_message_text(CHAT, msg["message_id"], "Вход подтверждён")
    assert edited["text"] == "Вход подтверждён" and "reply_markup" not in edited and "edit_date" in edited
    assert sandbox.sent(CHAT)[0]["text"] == "Вход подтверждён"
    with pytest.raises(TelegramError) as info:
        bot.edit_message_text(CHAT, msg["message_id"], "Вход подтверждён")
    assert info.value.description.startswith("Bad Request: message is not modified")
    with pytest.raises(ValueError):  # no such button any more
        sandbox.press_button(CHAT, msg["message_id"], "issue:7", from_user=CHAT)


def test_get_updates_offset_semantics_and_long_polling(bot, sandbox):
    msg = bot.send_message(CHAT, "?", reply_markup=keyboard())
    ids = [sandbox.press_button(CHAT, msg["message_id"], "issue:7", from_user=CHAT)["update_id"] for _ in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3

    assert [u["update_id"] for u in bot.get_updates()] == ids  # nothing confirmed yet
    assert [u["update_id"] for u in bot.get_updates(offset=ids[1])] == ids[1:]  # confirms ids[0]
    assert [u["update_id"] for u in bot.get_updates()] == ids[1:]
    assert bot.get_updates(offset=ids[-1] + 1) == []
    assert sandbox.pending_updates(TOKEN) == []

    # long polling: the call waits until an update arrives
    timer = threading.Timer(0.3, lambda: sandbox.press_button(CHAT, msg["message_id"], "deny:7", from_user=CHAT))
    timer.start()
    started = time.monotonic()
    got = bot.get_updates(offset=ids[-1] + 1, timeout=2)
    timer.join()
    assert 0.2 < time.monotonic() - started < 1.5
    assert [u["callback_query"]["data"] for u in got] == ["deny:7"]
    # and gives up after its timeout with nothing
    started = time.monotonic()
    assert bot.get_updates(offset=got[0]["update_id"] + 1, timeout=1) == []
    assert 0.9 < time.monotonic() - started < 2


@pytest.fixture()
def receiver():
    """A webhook receiver on a real socket that records what it gets and answers 200."""
    got: list[dict] = []

    async def hook(request: Request) -> JSONResponse:
        got.append({"headers": dict(request.headers), "json": await request.json()})
        return JSONResponse({"ok": True})

    served = serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])]), name="receiver")
    served.got = got
    yield served
    served.stop()


def test_webhook_delivery_with_the_secret_and_getupdates_conflict(bot, sandbox, receiver):
    msg = bot.send_message(CHAT, "?", reply_markup=keyboard())
    assert bot.set_webhook(receiver.url + "/hook", "s3cret_Token-1", allowed_updates=["callback_query", "message"]) is True
    assert bot.get_webhook_info()["url"] == receiver.url + "/hook"

    update = sandbox.press_button(CHAT, msg["message_id"], "deny:7", from_user={"id": CHAT, "first_name": "Иван"})
    assert len(receiver.got) == 1
    delivered = receiver.got[0]
    assert delivered["headers"][SECRET_HEADER.lower()] == "s3cret_Token-1"
    assert delivered["json"] == update
    assert delivered["json"]["callback_query"]["data"] == "deny:7"
    assert sandbox.pending_updates(TOKEN) == [] and bot.get_webhook_info()["pending_update_count"] == 0

    with pytest.raises(TelegramError) as info:
        bot.get_updates()
    assert (info.value.error_code, info.value.description) == (409, CONFLICT_WEBHOOK)

    assert bot.delete_webhook() is True
    update2 = sandbox.press_button(CHAT, msg["message_id"], "issue:7", from_user=CHAT)
    assert len(receiver.got) == 1
    assert bot.get_updates() == [update2]


def test_webhook_that_refuses_keeps_the_update_pending(bot, sandbox, receiver):
    msg = bot.send_message(CHAT, "?", reply_markup=keyboard())
    bot.set_webhook(receiver.url + "/missing", "abc")
    sandbox.press_button(CHAT, msg["message_id"], "deny:7", from_user=CHAT)
    info = bot.get_webhook_info()
    assert info["pending_update_count"] == 1
    assert info["last_error_message"] == "Wrong response from the webhook: 404 Not Found"


def test_a_refused_update_is_posted_again_until_accepted(bot, sandbox):
    """As Telegram does: a non-2xx answer keeps the update pending and it is re-sent with backoff."""
    answers = [503, 500]
    got: list[int] = []

    async def hook(request: Request) -> JSONResponse:
        got.append((await request.json())["update_id"])
        status = answers.pop(0) if answers else 200
        return JSONResponse({}, status_code=status)

    with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])]), name="flaky") as served:
        bot.set_webhook(served.url + "/hook", "s3cret")
        msg = bot.send_message(CHAT, "?", reply_markup=keyboard())
        update = sandbox.press_button(CHAT, msg["message_id"], "issue:7", from_user=CHAT)
        deadline = time.monotonic() + 15
        while sandbox.pending_updates(TOKEN):
            assert time.monotonic() < deadline, "the sandbox did not re-send the refused update"
            time.sleep(0.05)
    assert got == [update["update_id"]] * 3
    assert [d["status"] for d in sandbox.webhook_deliveries()] == [503, 500, 200]
    assert bot.get_webhook_info()["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"


def test_a_second_get_updates_ends_the_waiting_one_with_409(bot, sandbox):
    """Two pollers of one bot: Telegram answers the older long poll 409 "terminated by other getUpdates"."""
    other = TelegramClient(TOKEN, base_url=sandbox.url, timeout=5)
    errors: list[TelegramError] = []

    def first() -> None:
        try:
            bot.get_updates(timeout=3)
        except TelegramError as e:
            errors.append(e)

    thread = threading.Thread(target=first)
    thread.start()
    deadline = time.monotonic() + 5
    while sandbox._bots[TOKEN].poll_generation == 0:  # the first long poll is waiting
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert other.get_updates(timeout=0) == []
    thread.join()
    other.close()
    assert [(e.error_code, e.description) for e in errors] == [(409, CONFLICT_TERMINATED)]


def test_protocol_details(sandbox):
    """GET and form-encoded calls, method names in any case, unknown method, bad setWebhook input."""
    base = f"{sandbox.url}/bot{TOKEN}"
    with httpx.Client() as http:
        r = http.get(f"{base}/getme")
        assert r.status_code == 200 and r.json()["result"]["username"] == BOT_USERNAME
        r = http.post(f"{base}/sendMessage", data={"chat_id": str(CHAT), "text": "form", "reply_markup": '{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}'})
        assert r.json()["result"]["reply_markup"] == {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
        r = http.get(f"{base}/sendMessage", params={"chat_id": "@ivanov", "text": "by username"})
        assert r.json()["result"]["chat"]["id"] == CHAT
        r = http.post(f"{base}/sendMessage", json={"text": "no chat"})
        assert (r.status_code, r.json()) == (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat_id is empty"})
        r = http.post(f"{base}/sendMessage", json={"chat_id": CHAT, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "x" * 65}]]}})
        assert r.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"
        r = http.post(f"{base}/sendSticker", json={})
        assert (r.status_code, r.json()) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
        r = http.post(f"{sandbox.url}/botnope/getMe")
        assert (r.status_code, r.json()) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        r = http.post(f"{base}/setWebhook", json={"url": "https://example.org/h", "secret_token": "bad secret!"})
        assert r.json()["description"] == "Bad Request: secret token contains unallowed characters"
        r = http.post(f"{base}/setWebhook", json={"url": "ftp://example.org/h"})
        assert r.json()["description"] == "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
