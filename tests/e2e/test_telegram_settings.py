"""Administration → Telegram in the browser: bad input under the field, a wrong token reported by
the (sandbox) Bot API, a right one answered by the bot; the token never comes back to the page;
a manager is refused the page."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from integrations.sandbox.telegram import start_sandbox
from tests.e2e.conftest import login, shot

TOKEN = "777001:E2E-sandbox-token"


def open_settings(page) -> None:
    """Open the page and wait until its load ran (the status is set by the backend only): typing
    into the server-rendered inputs before that is lost."""
    page.goto("/admin/telegram")
    expect(page.locator("#tg-status")).to_contain_text("Приём")


@pytest.fixture()
def sandbox():
    handle = start_sandbox()
    handle.add_bot(TOKEN, "pult_e2e_bot")
    yield handle
    handle.stop()


def test_telegram_settings_check_against_the_sandbox(page, sandbox, e2e_engine):
    login(page, "admin", "admin")
    open_settings(page)
    page.locator("#tg-token").fill("not-a-token")
    page.locator("#tg-api-url").fill(sandbox.url)
    page.locator("#tg-save").click()
    expect(page.locator("#tg-token-error")).to_contain_text("123456:ABC")

    page.locator("#tg-token").fill("111:wrong-but-well-formed")
    page.locator("#tg-save").click()
    # saved: the field empties and says a token is set (what stays; the toast may come and go
    # before a busy host's test looks)
    expect(page.locator("#tg-token")).to_have_value("")
    expect(page.locator("#tg-token")).to_have_attribute("placeholder", "*** (задан, оставьте пустым)")
    page.locator("#tg-check").click()
    expect(page.locator("#tg-check-result")).to_contain_text("Unauthorized")

    page.locator("#tg-token").fill(TOKEN)
    page.locator("#tg-save").click()
    expect(page.locator("#tg-token")).to_have_value("")  # the token never comes back
    expect(page.locator("#tg-token")).to_have_attribute("placeholder", "*** (задан, оставьте пустым)")
    page.locator("#tg-check").click()
    expect(page.locator("#tg-check-result")).to_contain_text("@pult_e2e_bot")
    shot(page, "telegram-settings")
    with e2e_engine.connect() as c:
        raw = c.execute(text("SELECT value FROM setting WHERE key = 'telegram.bot_token'")).scalar()
    assert TOKEN not in str(raw)


def test_manager_is_refused_the_telegram_page(page):
    login(page, "manager", "manager")
    page.goto("/admin/telegram")
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#tg-token")).to_have_count(0)


# --------------------------------------------------------------------------- receiving presses
ADMIN_CHAT = 880011


@pytest.fixture()
def receiving(sandbox, server_services, e2e_db):
    """The admin's chat linked; a poller process beside the app (as scripts/run starts one); the
    receiving settings wiped before and after."""
    import os
    import subprocess
    import sys

    from sqlmodel import delete, select

    from app.core import db as dbm
    from models.core import Setting, User
    from tests.e2e.conftest import ROOT, server_redis_url

    def wipe() -> None:
        with dbm.session_scope() as db:
            db.exec(delete(Setting).where(Setting.key.in_(["telegram.receive", "telegram.webhook_secret", "telegram.last_ping", "telegram.poll_offset"])))
            db.commit()

    sandbox.add_chat(ADMIN_CHAT, first_name="Админ")
    wipe()
    with dbm.session_scope() as db:
        admin = db.exec(select(User).where(User.username == "admin")).one()
        admin.telegram_chat_id = str(ADMIN_CHAT)
        db.commit()
    env = {**os.environ, "DATABASE_URL": e2e_db, "REDIS_URL": server_redis_url()}
    log = open(ROOT / ".data" / "e2e-telegram-poller.log" if (ROOT / ".data").exists() else "/tmp/pult-e2e-telegram-poller.log", "w")
    poller = subprocess.Popen([sys.executable, "-m", "jobs.telegram_poller", "--poll-timeout", "1", "--idle", "0.3", "--lock-ttl", "5"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield sandbox
    poller.terminate()
    try:
        poller.wait(timeout=15)
    except subprocess.TimeoutExpired:
        poller.kill()
    log.close()
    wipe()


def save_the_bot(page, sandbox) -> None:
    """As admin, save the sandbox bot on the page."""
    login(page, "admin", "admin")
    open_settings(page)
    page.locator("#tg-token").fill(TOKEN)
    page.locator("#tg-api-url").fill(sandbox.url)
    page.locator("#tg-save").click()
    expect(page.get_by_text("Сохранено")).to_be_visible()


def _press_the_test_button(page, sandbox) -> None:
    before = len(sandbox.sent(ADMIN_CHAT))
    page.locator("#tg-send-test").click()
    deadline = time.monotonic() + 20
    while len(sandbox.sent(ADMIN_CHAT)) == before:
        assert time.monotonic() < deadline, "the test message was not sent"
        time.sleep(0.05)
    expect(page.locator("#tg-check-result")).to_contain_text("Тестовое сообщение отправлено")
    msg = sandbox.sent(ADMIN_CHAT)[-1]
    data = msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    sandbox.press_button(ADMIN_CHAT, msg["message_id"], data, from_user=ADMIN_CHAT)


def test_receiving_switches_between_webhook_polling_and_off(page, receiving, app_url):
    sandbox = receiving
    save_the_bot(page, sandbox)
    expect(page.locator("#tg-status")).to_contain_text("Приём выключен")
    expect(page.locator("#tg-last-ping")).to_contain_text("ещё не нажимали")

    # Webhook: Telegram (the sandbox) POSTs the press to the app's public address.
    page.locator("#tg-mode-webhook").click()
    expect(page.get_by_text("Режим приёма: Webhook")).to_be_visible()
    hook = f"{app_url}/api/integrations/telegram/webhook"
    expect(page.locator("#tg-status")).to_contain_text(f"Webhook установлен: {hook}")
    assert sandbox._bots[TOKEN].webhook_url == hook
    _press_the_test_button(page, sandbox)
    expect(page.locator("#tg-last-ping")).to_contain_text("admin, через webhook")  # arrives live
    assert sandbox.sent(ADMIN_CHAT)[-1]["text"].startswith("✅")
    assert [d["status"] for d in sandbox.webhook_deliveries()] == [200]
    shot(page, "telegram-receiving-webhook")

    # A delivery Pult refuses (the update is busy in another worker): getWebhookInfo shows it.
    from app.core.redis import redis_client

    claim = f"pult:telegram:update:{TOKEN.split(':')[0]}:{sandbox._bots[TOKEN].next_update_id}"
    redis_client().set(claim, "running:webhook:elsewhere", ex=120)
    _press_the_test_button(page, sandbox)
    page.locator("#tg-refresh").click()
    expect(page.locator("#tg-status")).to_contain_text("Ждут доставки: 1")
    expect(page.locator("#tg-status")).to_contain_text("Wrong response from the webhook: 503")
    shot(page, "telegram-receiving-webhook-error")
    redis_client().delete(claim)  # ... the sandbox re-sends it, as Telegram does
    deadline = time.monotonic() + 30
    while sandbox.pending_updates(TOKEN):
        assert time.monotonic() < deadline, "the refused update was not re-sent"
        time.sleep(0.1)

    # Long polling: the webhook goes, the poller process takes over.
    page.locator("#tg-mode-polling").click()
    expect(page.locator("#tg-status")).to_contain_text("Опрос работает", timeout=30_000)
    assert sandbox._bots[TOKEN].webhook_url == ""
    _press_the_test_button(page, sandbox)
    expect(page.locator("#tg-last-ping")).to_contain_text("admin, через опрос", timeout=30_000)
    expect(page.locator("#tg-status")).to_contain_text("Обработано обновлений этим процессом: 1")
    assert len(sandbox.callback_answers()) == 3
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, "telegram-receiving-polling")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "telegram-receiving-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # Off: nothing is received any more.
    page.locator("#tg-mode-off").click()
    expect(page.locator("#tg-status")).to_contain_text("Приём выключен")
    from app.panels.telegram.receiving import poller_heartbeat

    deadline = time.monotonic() + 30
    while (poller_heartbeat() or {}).get("state") != "idle":  # the poller has stood down
        assert time.monotonic() < deadline, "the poller did not stand down"
        time.sleep(0.1)
    _press_the_test_button(page, sandbox)
    expect(page.locator("#tg-last-ping")).to_contain_text("через опрос")  # unchanged
    assert len(sandbox.pending_updates(TOKEN)) == 1


def test_check_waits_out_a_rate_limit(page, sandbox):
    save_the_bot(page, sandbox)
    sandbox.force_429("getMe", times=1, retry_after=3)
    page.locator("#tg-check").click()
    expect(page.locator("#tg-check-result")).to_contain_text("повторяю через 3 с")
    shot(page, "telegram-check-429")
    expect(page.locator("#tg-check-result")).to_contain_text("Бот @pult_e2e_bot отвечает", timeout=15_000)
    assert [c["status"] for c in sandbox.calls("getMe")] == [429, 200]

    sandbox.force_429("getMe", times=1, retry_after=300)
    page.locator("#tg-check").click()
    expect(page.locator("#tg-check-result")).to_contain_text("подождать 300 с (429) — попробуйте позже")
