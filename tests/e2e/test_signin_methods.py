"""A login page with two sign-in methods, in Chromium (issue 9): the page is generated from the
registry, so this needs a server that *built* its frontend with a second method registered — the
test-only ``approve`` method of :mod:`tests.login_fakes` (a username, then the page waits while
the request is approved elsewhere, as Telegram approve-login does).

That server builds in a copy of the session server's ``.web`` (``REFLEX_WEB_WORKDIR``; the copy
keeps ``node_modules``, so nothing is downloaded), never in ``.web`` itself, which the session's
server is serving.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, _free_port, server_redis_url, stop_group
from tests.e2e.servers import Server, _web_dir, explained, wait_until_up

ORDERS = re.compile(r"^https?://[^/?]+/stock/orders/?$")
START_TIMEOUT = int(os.environ.get("PULT_E2E_START_TIMEOUT", "600"))


@pytest.fixture(scope="module")
def methods_server(app_url, e2e_db) -> Iterator[Server]:
    from reflex.utils import path_ops

    port = _free_port()
    web = Path(tempfile.mkdtemp(prefix="pult-e2e-web-methods-"))
    log_path = (ROOT / ".data" / "e2e-methods.log") if (ROOT / ".data").exists() else Path("/tmp/pult-e2e-methods.log")
    server = Server(f"http://127.0.0.1:{port}", port, log_path)
    proc = None
    try:
        src = _web_dir()
        with path_ops.file_lock(src):
            shutil.copytree(src, web, symlinks=True, dirs_exist_ok=True)
        env = {**os.environ, "DATABASE_URL": e2e_db, "REDIS_URL": server_redis_url(), "PULT_PORT": str(port),
               "PULT_PUBLIC_URL": server.url, "GRANIAN_WORKERS": "1", "REFLEX_USE_SYSTEM_BUN": "1",
               "REFLEX_WEB_WORKDIR": str(web), "PULT_JOB_MODULES": "tests.e2e.approve_method"}
        env.pop("PULT_BACKEND_PORT", None)
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [str(ROOT / ".venv/bin/reflex"), "run", "--env", "prod", "--single-port", "--frontend-port", str(port),
                 "--backend-port", str(port), "--loglevel", "warning"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        wait_until_up(proc, server, "the methods server")
        yield server
    finally:
        if proc is not None:
            stop_group(proc)
        shutil.rmtree(web, ignore_errors=True)


@pytest.fixture()
def tab(browser, methods_server):
    ctx = browser.new_context(base_url=methods_server.url, viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    with explained(methods_server):
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
