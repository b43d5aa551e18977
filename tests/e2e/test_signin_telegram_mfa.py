"""Sign in with Telegram approve-login and with a TOTP code, in Chromium against the running app
(prod build), the bot being the Telegram sandbox over real HTTP.

Telegram: the page asks, the bot's message arrives in the sandbox with ✅/❌; the test presses ✅
*in the sandbox*, which POSTs the callback to the app's webhook with its secret token; the waiting
page — which polls nothing: it listens on ``/api/auth/login/{id}/events`` — is told and signs in
with the normal HttpOnly session cookie. Denied: the page says so and stays signed out.
TOTP: the password, then the code (a wrong one under the field), then the list; a user whose role
requires MFA is led through enrolment (QR code, code, recovery codes) before any session.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect
from sqlmodel import delete, select

from integrations.sandbox.telegram import start_sandbox
from tests.e2e.conftest import shot

TOKEN = "777123:E2E-login-token"
SECRET = "e2e-login-Secret_0123456789"
CHAT = 7770001
VERA_CHAT = 7770002
ORDERS = re.compile(r"^https?://[^/?]+/stock/orders/?$")
USERS = ("tg_anna", "totp_boris", "enrol_vera")


@pytest.fixture(scope="module")
def tg():
    handle = start_sandbox()
    yield handle
    handle.stop()


@pytest.fixture()
def setup(tg, server_services, app_url):
    """The sandbox as the app's bot with the webhook set to the app (secret saved on both sides);
    tg_anna linked to CHAT; totp_boris with a TOTP secret; enrol_vera whose role will require MFA."""
    from app.core import auth, crypto
    from app.core import db as dbm
    from app.core.redis import redis_client
    from app.panels.telegram.bot import API_URL_KEY, BOT_TOKEN_KEY, RECEIVE_KEY, WEBHOOK_SECRET_KEY, put_setting
    from app.panels.telegram.webhook import WEBHOOK_PATH
    from integrations.telegram import TelegramClient
    from models.core import RecoveryCode, Setting, User

    tg.reset()
    tg.add_bot(TOKEN, "pult_e2e_login_bot")
    tg.add_chat(CHAT, username="anna_tg", first_name="Анна")
    secret = pyotp.random_base32()
    with dbm.session_scope() as db:
        put_setting(db, BOT_TOKEN_KEY, crypto.encrypt(TOKEN), "test")
        put_setting(db, API_URL_KEY, tg.url, "test")
        put_setting(db, WEBHOOK_SECRET_KEY, crypto.encrypt(SECRET), "test")
        put_setting(db, RECEIVE_KEY, {"mode": "webhook", "url": app_url + WEBHOOK_PATH}, "test")
        db.exec(delete(Setting).where(Setting.key == "security.mfa_roles"))
        for name, roles in (("tg_anna", ["stock.manager"]), ("totp_boris", ["stock.manager"]), ("enrol_vera", ["stock.user"])):
            user = db.exec(select(User).where(User.username == name)).first() or User(username=name, hashed_password="")
            user.hashed_password, user.roles, user.full_name, user.is_active = auth.hash_password(f"{name}-pass"), roles, name.split("_")[1].title(), True
            user.telegram_chat_id = str(CHAT) if name == "tg_anna" else None
            user.telegram_username = "anna_tg" if name == "tg_anna" else None
            user.totp_secret, user.totp_enabled_at, user.totp_last_step = (secret, auth._now(), None) if name == "totp_boris" else (None, None, None)
            db.add(user)
        db.commit()
        db.exec(delete(RecoveryCode))
        db.commit()
    for key in redis_client().scan_iter("pult:login*"):
        redis_client().delete(key)
    for key in redis_client().scan_iter("pult:tg:login:*"):
        redis_client().delete(key)
    with TelegramClient(TOKEN, base_url=tg.url) as bot:
        bot.set_webhook(app_url + WEBHOOK_PATH, SECRET)
    yield {"sandbox": tg, "secret": secret}
    with dbm.session_scope() as db:
        db.exec(delete(Setting).where(Setting.key.in_(["security.mfa_roles", RECEIVE_KEY, WEBHOOK_SECRET_KEY, BOT_TOKEN_KEY, API_URL_KEY])))
        db.commit()


def _context(browser, app_url, width: int):
    ctx = browser.new_context(base_url=app_url, viewport={"width": width, "height": 900 if width > 500 else 780}, locale="ru-RU")
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    return ctx, page


def _signed_in(page) -> bool:
    return any(c["name"] == "pult_session" and c["httpOnly"] for c in page.context.cookies())


def _ask_telegram(page, who: str) -> None:
    page.goto("/login?next=/stock/orders")
    page.click("#login-method-telegram")
    page.fill("#login-telegram-telegram", who)
    page.click("#login-telegram-submit")
    expect(page.locator("#login-telegram-step-message")).to_contain_text("Ждём подтверждения")


def _request(sandbox, after: int = 0) -> dict:
    deadline = time.time() + 10
    while time.time() < deadline:
        sent = [m for m in sandbox.sent(CHAT) if m["text"].startswith("🔐 Запрос входа в панель")]
        if len(sent) > after:
            return sent[-1]
        time.sleep(0.1)
    raise AssertionError("the bot sent no sign-in request")


def _button(msg, label: str) -> str:
    return next(b["callback_data"] for row in msg["reply_markup"]["inline_keyboard"] for b in row if b["text"] == label)


def test_telegram_approve_signs_the_waiting_page_in_live(browser, app_url, setup):
    sandbox = setup["sandbox"]
    ctx, page = _context(browser, app_url, 1280)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if re.search(r"/api/auth/login/[^/]+$", r.url) else None)
    try:
        _ask_telegram(page, "@anna_tg")
        msg = _request(sandbox)
        assert "Браузер: Chrome" in msg["text"] and "IP: 127.0.0.1" in msg["text"]
        expect(page.locator("#login-telegram-step-message")).to_be_visible()
        page.screenshot(path="/tmp/signin-telegram-wait-1280.png", full_page=True)
        shot(page, "signin-telegram-wait")
        page.wait_for_timeout(2500)
        assert polls == []  # waiting is listening, not polling
        sandbox.press_button(CHAT, msg["message_id"], _button(msg, "✅ Принять"), from_user=CHAT)  # → the app's webhook
        page.wait_for_url(ORDERS)
        expect(page.locator("#current-user")).to_have_text("Anna")
        assert _signed_in(page) and len(polls) == 1  # one exchange after the push
        assert sandbox.sent(CHAT)[-1]["text"].startswith("✅ Вход подтверждён")
        assert [a["text"] for a in sandbox.callback_answers()] == ["Вход подтверждён"]
    finally:
        ctx.close()


def test_telegram_deny_keeps_the_page_signed_out_and_phone_width(browser, app_url, setup):
    sandbox = setup["sandbox"]
    ctx, page = _context(browser, app_url, 390)
    try:
        _ask_telegram(page, str(CHAT))
        msg = _request(sandbox)
        page.screenshot(path="/tmp/signin-telegram-wait-390.png", full_page=True)
        shot(page, "signin-telegram-wait-phone")
        sandbox.press_button(CHAT, msg["message_id"], _button(msg, "❌ Отклонить"), from_user=CHAT)
        expect(page.locator("#login-telegram-error")).to_have_text("Вход отклонён в Telegram")
        expect(page.locator("#login-telegram-telegram")).to_be_visible()  # back at the first form
        assert not _signed_in(page)
        assert sandbox.sent(CHAT)[-1]["text"].startswith("❌ Вход отклонён")
    finally:
        ctx.close()


def test_totp_code_step_signs_in(browser, app_url, setup):
    ctx, page = _context(browser, app_url, 1280)
    try:
        page.goto("/login?next=/stock/orders")
        page.fill("#login-username", "totp_boris")
        page.fill("#login-password", "totp_boris-pass")
        page.click("#login-submit")
        expect(page.locator("#login-step-message")).to_have_text("Введите 6-значный код из приложения-аутентификатора")
        page.fill("#login-step-code", "000000")
        page.click("#login-step-submit")
        expect(page.locator("#login-step-code-error")).to_have_text("Неверный или уже использованный код")
        assert not _signed_in(page)
        page.screenshot(path="/tmp/signin-totp-1280.png", full_page=True)
        shot(page, "signin-totp")
        page.fill("#login-step-code", pyotp.TOTP(setup["secret"]).now())
        page.click("#login-step-submit")
        page.wait_for_url(ORDERS)
        expect(page.locator("#current-user")).to_have_text("Boris")
        assert _signed_in(page)
    finally:
        ctx.close()


def test_required_mfa_is_enrolled_at_sign_in_then_profile_shows_it(browser, app_url, setup):
    from app.core import db as dbm
    from app.panels.telegram.bot import put_setting

    with dbm.session_scope() as db:
        put_setting(db, "security.mfa_roles", ["stock.user"], "test")
        db.commit()
    ctx, page = _context(browser, app_url, 390)
    try:
        page.goto("/login?next=/stock/orders")
        page.fill("#login-username", "enrol_vera")
        page.fill("#login-password", "enrol_vera-pass")
        page.click("#login-submit")
        expect(page.locator("#login-step-qr")).to_be_visible()
        secret = page.locator("#login-step-show").inner_text().replace(" ", "").strip()
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        page.screenshot(path="/tmp/signin-enrol-390.png", full_page=True)
        shot(page, "signin-totp-enrol-phone")
        page.fill("#login-step-code", pyotp.TOTP(secret).now())
        page.click("#login-step-submit")
        expect(page.locator("#login-step-show")).to_contain_text("-")
        codes = page.locator("#login-step-show").inner_text().split()
        assert len(codes) == 10
        assert not _signed_in(page)  # the codes are shown before the session
        page.screenshot(path="/tmp/signin-codes-390.png", full_page=True)
        page.click("#login-step-submit")
        page.wait_for_url(ORDERS)
        assert _signed_in(page)
        page.goto("/profile")
        expect(page.locator("#profile-mfa-status")).to_have_text("Включена")
        expect(page.locator("#profile-codes-left")).to_contain_text("10")
        page.screenshot(path="/tmp/profile-390.png", full_page=True)
        shot(page, "profile-phone")
        # link Telegram: /start to the bot (through the sandbox and the app's webhook) gives the code
        sandbox = setup["sandbox"]
        sandbox.add_chat(VERA_CHAT, username="vera_tg", first_name="Вера")
        page.fill("#profile-link-code", "WRONG123")
        page.click("#profile-tg-link")
        expect(page.locator("#profile-link-error")).to_have_text("Код неверный или устарел — напишите боту /start ещё раз")
        sandbox.user_message(VERA_CHAT, "/start", from_user=VERA_CHAT)
        reply = sandbox.sent(VERA_CHAT)[-1]["text"]
        code = reply.split("Код привязки: ")[1].split()[0]
        page.fill("#profile-link-code", code)
        page.click("#profile-tg-link")
        expect(page.locator("#profile-tg-status")).to_have_text("Привязан Telegram @vera_tg")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path="/tmp/profile-1280.png", full_page=True)
        shot(page, "profile")
    finally:
        ctx.close()
