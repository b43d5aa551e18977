"""Receiving by long polling, the poller driven round by round in this process against the sandbox:
each update runs once and its offset is stored; a crash between running an update and storing the
offset, a restart, or Redis losing its data do not run an update twice; one poller at a time;
a stop abandons the long poll without losing what it would have returned.

(Real poller processes, restarted and killed, are in ``tests/jobs/test_telegram_poller.py``.)
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from app.panels.telegram import poller as tp
from app.panels.telegram.bot import put_setting
from app.panels.telegram.settings import save_bot_config
from app.panels.telegram.receiving import POLLER_STATUS_KEY, poller_heartbeat, set_receive_mode
from app.panels.telegram.updates import CallbackContext, MessageContext, on_callback, on_command, remove_callback, remove_command
from integrations.sandbox.telegram import CONFLICT_WEBHOOK
from integrations.telegram import inline_keyboard
from tests.integrations.conftest import CHAT, TOKEN

BOT_ID = int(TOKEN.split(":")[0])


@pytest.fixture()
def seen():
    got: list[str] = []

    @on_callback("pl:")
    def pressed(ctx: CallbackContext):
        assert ctx.source == "polling"
        got.append(ctx.payload)
        return "ok"

    @on_command("echo")
    def echo(ctx: MessageContext):
        got.append(f"echo {ctx.args}")
        ctx.reply(ctx.args or "…")

    yield got
    remove_callback("pl:")
    remove_command("echo")


@pytest.fixture()
def polling(db, users, sandbox, bot, redis_conn):
    """The bot saved, a webhook left over from before, then receiving switched to polling."""
    save_bot_config(db, users["admin"], token=TOKEN, api_url=sandbox.url)
    bot.set_webhook("https://old.example.com/hook", "old-secret")
    set_receive_mode(db, users["admin"], "polling")
    return users["admin"]


def press(bot, sandbox, *payloads: str) -> list[dict]:
    msg = bot.send_message(CHAT, "?", reply_markup=inline_keyboard([[(p, f"pl:{p}")] for p in payloads]))
    return [sandbox.press_button(CHAT, msg["message_id"], f"pl:{p}", from_user=CHAT) for p in payloads]


def poller(**kw) -> tp.TelegramPoller:
    return tp.TelegramPoller(poll_timeout=1, idle_seconds=0.05, error_seconds=0.05, lock_ttl=10, **kw)


def test_switching_to_polling_deletes_the_webhook(polling, bot, sandbox):
    assert bot.get_webhook_info()["url"] == ""
    assert [c["status"] for c in sandbox.calls("deleteWebhook")] == [200]


def test_each_update_runs_once_and_the_offset_is_stored(polling, db, bot, sandbox, seen):
    updates = press(bot, sandbox, "a", "b", "c")
    echo = sandbox.user_message(CHAT, "/echo привет")
    p, stop = poller(name="p1"), threading.Event()
    assert p.step(stop) == 0
    assert seen == ["a", "b", "c", "echo привет"]
    assert sandbox.sent(CHAT)[-1]["text"] == "привет"
    assert [a["text"] for a in sandbox.callback_answers()] == ["ok"] * 3
    assert echo["update_id"] > updates[-1]["update_id"]
    assert tp.load_offset(BOT_ID) == echo["update_id"] + 1
    assert len(sandbox.pending_updates(TOKEN)) == 4  # confirmed to Telegram only by the next getUpdates

    p.step(stop)
    assert sandbox.pending_updates(TOKEN) == [] and seen == ["a", "b", "c", "echo привет"]
    assert sandbox.calls("getUpdates")[-1]["params"]["offset"] == tp.load_offset(BOT_ID)
    beat = poller_heartbeat()
    assert beat["id"] == "p1" and beat["state"] == "polling" and beat["processed"] == 4


def test_a_crash_before_the_offset_is_stored_does_not_run_an_update_twice(polling, bot, sandbox, seen, monkeypatch, redis_conn):
    press(bot, sandbox, "x")
    real = tp.save_offset

    def crash(*args):
        raise RuntimeError("killed between running the handler and storing the offset")

    monkeypatch.setattr(tp, "save_offset", crash)
    with pytest.raises(RuntimeError):
        poller().step(threading.Event())
    assert seen == ["x"] and tp.load_offset(BOT_ID) is None

    monkeypatch.setattr(tp, "save_offset", real)
    redis_conn.delete(tp.LOCK_KEY)  # the dead process's lock expired
    restarted = poller()  # a new process: Telegram offers the unconfirmed update again
    restarted.step(threading.Event())
    assert seen == ["x"]  # the dispatcher's claim says it ran
    assert tp.load_offset(BOT_ID) is not None
    restarted.step(threading.Event())
    assert sandbox.pending_updates(TOKEN) == []


def test_an_update_whose_poller_died_in_its_handler_runs_again_at_once(polling, bot, sandbox, seen, redis_conn):
    """The dead holder's claim is taken over by the new lock holder (at least once, not never)."""
    next_id = sandbox._bots[TOKEN].next_update_id
    redis_conn.set(f"pult:telegram:update:{BOT_ID}:{next_id}", "running:polling:dead-host:1:abc", ex=100)
    redis_conn.set(f"pult:telegram:update:{BOT_ID}:{next_id + 1}", "running:webhook:app-host:7", ex=100)
    press(bot, sandbox, "interrupted", "on-the-webhook")
    p = poller()
    assert p.step(threading.Event()) == p.error_seconds  # the second is still running in a web worker: later
    assert seen == ["interrupted"]
    assert tp.load_offset(BOT_ID) == next_id + 1
    redis_conn.set(f"pult:telegram:update:{BOT_ID}:{next_id + 1}", "done")  # the web worker finished it
    p.step(threading.Event())
    assert seen == ["interrupted"] and tp.load_offset(BOT_ID) == next_id + 2


def test_a_restart_resumes_from_the_stored_offset_even_when_redis_lost_its_data(polling, bot, sandbox, seen, redis_conn):
    press(bot, sandbox, "1", "2")
    first = poller()
    first.step(threading.Event())
    assert seen == ["1", "2"]
    # The process dies before confirming; Redis restarts empty (the claims and the lock are gone).
    for key in redis_conn.scan_iter("pult:telegram:*"):
        redis_conn.delete(key)
    press(bot, sandbox, "3")
    again = poller()
    again.step(threading.Event())
    assert seen == ["1", "2", "3"]  # the stored offset skipped 1 and 2
    assert sandbox.calls("getUpdates")[-1]["params"]["offset"] < tp.load_offset(BOT_ID)


def test_one_poller_at_a_time(polling, bot, sandbox, seen, db, users):
    a, b, stop = poller(name="a"), poller(name="b"), threading.Event()
    a.step(stop)
    calls = len(sandbox.calls("getUpdates"))
    press(bot, sandbox, "1")
    assert b.step(stop) == b.idle_seconds  # stands by: a holds the lock
    assert len(sandbox.calls("getUpdates")) == calls and seen == []
    a.step(stop)
    assert seen == ["1"]

    set_receive_mode(db, users["admin"], "off")  # a stands down, freeing the lock ...
    a.step(stop)
    assert poller_heartbeat()["state"] == "idle"
    press(bot, sandbox, "2")
    b.step(stop)
    assert seen == ["1"] and len(sandbox.pending_updates(TOKEN)) == 1  # nobody polls while off
    set_receive_mode(db, users["admin"], "polling")
    b.step(stop)  # ... so b takes over
    assert seen == ["1", "2"] and poller_heartbeat()["id"] == "b"


def test_a_webhook_set_elsewhere_is_reported_not_fought(polling, bot, sandbox, seen):
    p, stop = poller(), threading.Event()
    p.step(stop)
    bot.set_webhook("https://elsewhere.example.com/hook", "theirs")
    p.step(stop)
    beat = poller_heartbeat()
    assert beat["state"] == "error" and CONFLICT_WEBHOOK in beat["last_error"]
    assert bot.get_webhook_info()["url"] == "https://elsewhere.example.com/hook"


def test_a_stale_or_foreign_offset_is_not_sent(db):
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7)
    put_setting(db, tp.OFFSET_KEY, {"bot_id": BOT_ID, "offset": 500, "at": old.isoformat()}, "telegram")
    db.commit()
    assert tp.load_offset(BOT_ID) is None  # update ids may restart after a week: 500 could drop new ones
    tp.save_offset(BOT_ID, 600)
    assert tp.load_offset(BOT_ID) == 600
    assert tp.load_offset(BOT_ID + 1) is None  # another bot's


def test_stop_abandons_the_long_poll_and_loses_nothing(polling, bot, sandbox, seen, redis_conn):
    p, stop = tp.TelegramPoller(poll_timeout=3, idle_seconds=0.05, lock_ttl=10, name="runner"), threading.Event()
    thread = threading.Thread(target=p.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = dt.datetime.now() + dt.timedelta(seconds=10)
        while (poller_heartbeat() or {}).get("state") != "polling":
            assert dt.datetime.now() < deadline, "the poller did not start polling"
            threading.Event().wait(0.05)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert redis_conn.get(tp.LOCK_KEY) is None and redis_conn.get(POLLER_STATUS_KEY) is None  # lock freed, heartbeat gone
    press(bot, sandbox, "after")
    poller().step(threading.Event())
    assert seen == ["after"]
