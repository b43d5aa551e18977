"""A sign-in with a further step, in the real login page (issue 9, pluggable sign-in methods).

An extra server (the session server's build, so the very same login page) loads the test-only
``sms`` second factor of :mod:`tests.login_fakes` through ``PULT_JOB_MODULES``: accounts named
``sms_…`` are asked for a code after their password. Nothing about that step is in the page: the
page's script draws the fields the API's 202 answer names and posts them to
``/api/auth/login/{challenge}``. A wrong code shows under its field and opens no session; an expired
or reused challenge is refused; repeated wrong codes are throttled.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from app.core.login_methods import MAX_TRIES
from tests.e2e.conftest import server_redis_url, shot
from tests.e2e.servers import Server, explained, extra_server
from tests.login_fakes import CODE, SHORT_TTL

ORDERS = re.compile(r"^https?://[^/?]+/stock/orders/?$")
GONE = "Подтверждение входа устарело — войдите снова"


@pytest.fixture(scope="module")
def steps_server(app_url, e2e_db, e2e_engine) -> Iterator[Server]:
    from app.core import auth

    with e2e_engine.begin() as c:
        for name in ("sms_anna", "sms_boris", "sms_vera", "sms_short"):
            c.execute(text("""INSERT INTO "user" (username, hashed_password, full_name, roles, is_active, pending, created_at)
                              VALUES (:u, :h, :f, '["stock.manager"]', true, false, now())
                              ON CONFLICT (username) DO UPDATE SET hashed_password = EXCLUDED.hashed_password"""),
                      {"u": name, "h": auth.hash_password(f"{name}-pass"), "f": f"СМС {name}"})
    with extra_server(app_url, e2e_db, server_redis_url(), "steps", env={"PULT_JOB_MODULES": "tests.e2e.sms_factor"}) as server:
        yield server


@pytest.fixture()
def tab(browser, steps_server):
    ctx = browser.new_context(base_url=steps_server.url, viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    with explained(steps_server):
        yield page
    ctx.close()


def _password(page, username: str) -> str:
    """Submit the first step; returns the challenge id of the 202 answer."""
    page.goto("/login?next=/stock/orders")
    page.fill("#login-username", username)
    page.fill("#login-password", f"{username}-pass")
    with page.expect_response(lambda r: r.url.endswith("/api/auth/login") and r.request.method == "POST") as info:
        page.click("#login-submit")
    assert info.value.status == 202
    expect(page.locator("#login-step-message")).to_have_text("Мы отправили код на +7 *** ***-**-12")
    expect(page.locator("#login-step-code")).to_be_visible()
    expect(page.locator("#login-username")).to_be_hidden()
    return info.value.json()["challenge"]


def _signed_in(page) -> bool:
    return any(c["name"] == "pult_session" for c in page.context.cookies())


def test_the_code_step_signs_in_and_a_wrong_code_shows_under_the_field(tab, browser, steps_server):
    page = tab
    _password(page, "sms_anna")
    page.fill("#login-step-code", "000000")
    page.click("#login-step-submit")
    expect(page.locator("#login-step-code-error")).to_have_text("Неверный код")
    expect(page.locator("#login-error")).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/login"))
    assert not _signed_in(page)
    page.screenshot(path="/tmp/login-step-1280.png", full_page=True)
    shot(page, "signin-code-step")
    phone = browser.new_context(base_url=steps_server.url, viewport={"width": 390, "height": 780}, locale="ru-RU")
    try:
        p2 = phone.new_page()
        _password(p2, "sms_vera")
        p2.fill("#login-step-code", "1")
        p2.click("#login-step-submit")
        expect(p2.locator("#login-step-code-error")).to_have_text("Неверный код")
        p2.screenshot(path="/tmp/login-step-390.png", full_page=True)
        shot(p2, "signin-code-step-phone")
    finally:
        phone.close()
    page.fill("#login-step-code", CODE)
    page.click("#login-step-submit")
    page.wait_for_url(ORDERS)
    expect(page.locator("#current-user")).to_have_text("СМС sms_anna")
    assert _signed_in(page)


def test_a_used_challenge_is_refused(tab):
    page = tab
    challenge = _password(page, "sms_boris")
    page.fill("#login-step-code", CODE)
    page.click("#login-step-submit")
    page.wait_for_url(ORDERS)
    status = page.evaluate("""async (id) => (await fetch('/api/auth/login/' + id, {method: 'POST',
        headers: {'Content-Type': 'application/json', 'X-Pult-Request': '1'}, body: JSON.stringify({code: '%s'})})).status""" % CODE, challenge)
    assert status == 401


def test_an_expired_challenge_starts_over(tab):
    page = tab
    _password(page, "sms_short")
    time.sleep(SHORT_TTL + 1)
    page.fill("#login-step-code", CODE)
    page.click("#login-step-submit")
    expect(page.locator("#login-error")).to_have_text(GONE)
    expect(page.locator("#login-username")).to_be_visible()  # back at the password
    expect(page.locator("#login-step-code")).to_have_count(0)
    assert not _signed_in(page)


def test_start_over_link_returns_to_the_password(tab):
    page = tab
    _password(page, "sms_vera")
    page.click("#login-step-back")
    expect(page.locator("#login-username")).to_be_visible()
    expect(page.locator("#login-step-submit")).to_be_hidden()


def test_wrong_codes_are_throttled(tab):
    page = tab
    _password(page, "sms_vera")
    for i in range(MAX_TRIES):
        page.fill("#login-step-code", f"{i:06d}")
        page.click("#login-step-submit")
        expect(page.locator("#login-step-submit")).to_be_enabled()
    page.fill("#login-step-code", CODE)  # too late: even the right code is refused now
    page.click("#login-step-submit")
    expect(page.locator("#login-error")).to_have_text(re.compile(r"Слишком много|Подождите|попыт"))
    assert not _signed_in(page)
