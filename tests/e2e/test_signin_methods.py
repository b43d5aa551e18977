"""A login page with two sign-in methods, in Chromium (issue 9): the page is generated from the
registry, so the session's server is built with a second method registered — the test-only
``approve`` method of :mod:`tests.login_fakes` (a username, then the page waits while the request
is approved elsewhere; the kit's poll step, which Telegram approve-login does not use: it is
signed in by server-sent events). tests/e2e/conftest.py loads it with ``PULT_JOB_MODULES``, so
this needs no build of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import redis
from playwright.sync_api import expect

from tests.e2e.conftest import server_redis_url

ORDERS = re.compile(r"^https?://[^/?]+/stock/orders/?$")


@pytest.fixture()
def tab(browser, app_url) -> Iterator:
    ctx = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    yield page
    ctx.close()


def test_two_methods_switch_and_the_password_still_signs_in(tab):
    page = tab
    page.goto("/login?next=/stock/orders")
    expect(page.locator("#login-method-password")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#login-approve-username")).to_be_hidden()
    page.click("#login-method-approve")
    expect(page.locator("#login-approve-username")).to_be_visible()
    expect(page.locator("#login-username")).to_be_hidden()
    expect(page.locator("#login-method-approve")).to_have_attribute("aria-pressed", "true")
    page.click("#login-method-password")
    page.fill("#login-username", "manager")
    page.fill("#login-password", "manager")
    page.click("#login-submit")
    page.wait_for_url(ORDERS)
    expect(page.locator("#current-user")).to_have_text("Менеджер Демо")


def test_approve_method_waits_then_signs_in(tab):
    page = tab
    page.goto("/login?next=/stock/orders")
    page.click("#login-method-approve")
    page.fill("#login-approve-username", "manager")
    with page.expect_response(lambda r: r.url.endswith("/api/auth/login") and r.request.method == "POST") as info:
        page.click("#login-approve-submit")
    body = info.value.json()
    assert info.value.status == 202 and body["step"] == "poll"
    expect(page.locator("#login-approve-step-message")).to_have_text("Нажмите «Подтвердить» в сообщении")
    expect(page.locator("#login-approve-step-submit")).to_be_hidden()  # nothing to fill in: it waits
    polls: list[int] = []
    page.on("response", lambda r: polls.append(r.status) if f"/api/auth/login/{body['challenge']}" in r.url else None)
    page.wait_for_timeout(1500)
    assert polls and set(polls) <= {202, 429}  # asking, not signed in yet
    assert not any(c["name"] == "pult_session" for c in page.context.cookies())
    # "Approve" pressed elsewhere: the ticket the fake messenger carried is in the challenge
    r = redis.Redis.from_url(server_redis_url(), decode_responses=True)
    ticket = json.loads(r.get(f"pult:login:challenge:{body['challenge']}"))["data"]["ticket"]
    r.set(f"test:approved:{ticket}", 1, ex=60)
    page.wait_for_url(ORDERS)
    expect(page.locator("#current-user")).to_have_text("Менеджер Демо")
