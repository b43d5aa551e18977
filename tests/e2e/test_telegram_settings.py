"""Administration → Telegram in the browser: bad input under the field, a wrong token reported by
the (sandbox) Bot API, a right one answered by the bot; the token never comes back to the page;
a manager is refused the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from integrations.sandbox.telegram import start_sandbox
from tests.e2e.conftest import login, shot

TOKEN = "777001:E2E-sandbox-token"


@pytest.fixture()
def sandbox():
    handle = start_sandbox()
    handle.add_bot(TOKEN, "pult_e2e_bot")
    yield handle
    handle.stop()


def test_telegram_settings_check_against_the_sandbox(page, sandbox, e2e_engine):
    login(page, "admin", "admin")
    page.goto("/admin/telegram")
    page.locator("#tg-token").fill("not-a-token")
    page.locator("#tg-api-url").fill(sandbox.url)
    page.locator("#tg-save").click()
    expect(page.locator("#tg-token-error")).to_contain_text("123456:ABC")

    page.locator("#tg-token").fill("111:wrong-but-well-formed")
    page.locator("#tg-save").click()
    expect(page.get_by_text("Сохранено")).to_be_visible()
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
