"""``python -m jobs.telegram_poller`` as real processes against the Bot API sandbox: each button
press reaches the handler exactly once across a clean restart, a second and third poller running
beside the first, and a holder killed with SIGKILL (a standby takes over); switching receiving off
makes the pollers stand down, switching it on again delivers what waited."""

from __future__ import annotations

import json

import pytest
from jobtools import wait_for

from app.panels.telegram.settings import save_bot_config
from app.panels.telegram.poller import LOCK_KEY, load_offset
from app.panels.telegram.receiving import POLLER_STATUS_KEY, set_receive_mode
from integrations.sandbox.telegram import start_sandbox
from integrations.telegram import TelegramClient, inline_keyboard
from tghandlers import SEEN

TOKEN = "123456:TEST-token-for-the-poller"
BOT_ID = 123456
CHAT = 424242
LOCK_TTL = 3


@pytest.fixture()
def sandbox():
    handle = start_sandbox(max_poll_timeout=2)
    handle.add_bot(TOKEN, "pult_poll_bot")
    handle.add_chat(CHAT)
    yield handle
    handle.stop()


@pytest.fixture()
def polling(db, users, sandbox, redis_conn):
    save_bot_config(db, users["admin"], token=TOKEN, api_url=sandbox.url)
    set_receive_mode(db, users["admin"], "polling")
    redis_conn.delete(SEEN, LOCK_KEY, POLLER_STATUS_KEY)
    with TelegramClient(TOKEN, base_url=sandbox.url) as bot:
        yield bot


@pytest.fixture()
def start_poller(procs, tmp_path):
    from conftest import Proc, subprocess_env

    def start(name: str) -> Proc:
        p = Proc(name, ["-m", "jobs.telegram_poller", "--name", name, "--poll-timeout", "1", "--idle", "0.2", "--lock-ttl", str(LOCK_TTL)],
                 tmp_path / f"{name}.log", subprocess_env(PULT_JOB_MODULES="jobkinds,tghandlers"))
        procs.append(p)
        return p

    return start


def press(bot, sandbox, *payloads: str) -> list[dict]:
    msg = bot.send_message(CHAT, "?", reply_markup=inline_keyboard([[(p, f"job:{p}")] for p in payloads]))
    return [sandbox.press_button(CHAT, msg["message_id"], f"job:{p}", from_user=CHAT) for p in payloads]


def seen(redis_conn) -> list[str]:
    return redis_conn.lrange(SEEN, 0, -1)


def heartbeat(redis_conn) -> dict:
    raw = redis_conn.get(POLLER_STATUS_KEY)
    return json.loads(raw) if raw else {}


def test_each_press_is_handled_once_across_restarts_and_several_pollers(polling, sandbox, start_poller, redis_conn):
    bot = polling
    first = start_poller("poller-1")
    press(bot, sandbox, "1", "2", "3")
    wait_for(lambda: len(seen(redis_conn)) >= 3, 30, "the first poller to handle three presses")

    first.stop(timeout=10)  # SIGTERM: a clean stop frees the lock and clears the heartbeat
    assert first.popen.returncode == 0, first.output()
    assert redis_conn.get(LOCK_KEY) is None and redis_conn.get(POLLER_STATUS_KEY) is None
    press(bot, sandbox, "4", "5")  # pressed while no poller runs: Telegram keeps them

    second, third = start_poller("poller-2"), start_poller("poller-3")
    wait_for(lambda: len(seen(redis_conn)) >= 5, 30, "a restarted poller to handle the presses that waited")
    holder = wait_for(lambda: redis_conn.get(LOCK_KEY), 10, "a lock holder")
    assert holder in ("poller-2", "poller-3")
    (sixth,) = press(bot, sandbox, "6")
    wait_for(lambda: len(seen(redis_conn)) >= 6, 30, "the sixth press")
    # Kill between updates (a kill inside a handler runs that update again: tests/integrations).
    wait_for(lambda: (load_offset(BOT_ID) or 0) > sixth["update_id"], 10, "the sixth press's offset to be stored")

    killed, standby = (second, third) if holder == "poller-2" else (third, second)
    killed.kill_tree()  # SIGKILL: the lock stays until it expires, then the standby takes over
    press(bot, sandbox, "7")
    wait_for(lambda: redis_conn.get(LOCK_KEY) == standby.name, 30, "the standby to take the lock")
    wait_for(lambda: len(seen(redis_conn)) >= 7, 30, "the press after the holder was killed")
    wait_for(lambda: sandbox.pending_updates(TOKEN) == [], 30, "every update to be confirmed")

    assert sorted(seen(redis_conn)) == [f"{n}@polling" for n in "1234567"]  # each exactly once
    assert len(sandbox.callback_answers()) == 7
    assert sandbox.calls("deleteWebhook")  # each new holder made sure no webhook blocks getUpdates


def test_switching_off_makes_the_pollers_stand_down(polling, db, users, sandbox, start_poller, redis_conn):
    bot = polling
    start_poller("poller-a")
    wait_for(lambda: heartbeat(redis_conn).get("state") == "polling", 30, "the poller to poll")
    set_receive_mode(db, users["admin"], "off")
    wait_for(lambda: heartbeat(redis_conn).get("state") == "idle", 30, "the poller to stand down")
    assert redis_conn.get(LOCK_KEY) is None
    press(bot, sandbox, "late")
    assert len(sandbox.pending_updates(TOKEN)) == 1 and seen(redis_conn) == []  # kept by Telegram, not received

    set_receive_mode(db, users["admin"], "polling")
    wait_for(lambda: seen(redis_conn), 30, "the waiting press after switching on again")
    assert seen(redis_conn) == ["late@polling"]
