"""Browser tests: the real app (``reflex run --env prod``) on a database of its own, driven by
Playwright in Debian's Chromium.

The server starts once per session (the first frontend build takes a minute or two); it gets
``<db>_e2e`` migrated and loaded with the demo data, so admin/admin, manager/manager, user/user
exist. Screenshots land in ``docs/screenshots/`` when ``PULT_SCREENSHOTS=1``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url

from tests.conftest import TEST_DB_URL, migrate, recreate_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIMEOUT = int(os.environ.get("PULT_E2E_START_TIMEOUT", "600"))
SHOTS = ROOT / "docs" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a server started with ``start_new_session=True``: SIGTERM to its process group, SIGKILL
    after ``timeout``, and SIGKILL again for workers (granian's) left in the group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _e2e_db_url() -> str:
    url = make_url(TEST_DB_URL)
    return url.set(database=url.database.replace("_test", "") + "_e2e").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def e2e_db() -> str:
    if os.environ.get("PULT_E2E_DATABASE_URL"):
        return os.environ["PULT_E2E_DATABASE_URL"]
    url = _e2e_db_url()
    recreate_database(make_url(url).database)
    migrate(url)
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "app.demo"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    return url


@pytest.fixture(scope="session")
def e2e_engine(e2e_db):
    eng = create_engine(os.environ.get("PULT_E2E_DATABASE_URL", e2e_db))
    yield eng
    eng.dispose()


def server_redis_url() -> str:
    """The Redis the app server under test uses (its change bus)."""
    if os.environ.get("PULT_E2E_REDIS_URL"):
        return os.environ["PULT_E2E_REDIS_URL"]
    return os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/10"


@pytest.fixture()
def server_services(e2e_engine):
    """Point the kit in this test process at the server's database and Redis, so a service call
    here is "another process" changing data (like a worker or a second server)."""
    import redis

    from app.core import db as dbm
    from app.core import redis as redis_mod
    from app.boot import boot

    boot()
    old_engine, old_redis = dbm._engine, redis_mod._client
    dbm.set_engine(e2e_engine)
    redis_mod.set_redis(redis.Redis.from_url(server_redis_url(), decode_responses=True))
    yield
    dbm.set_engine(old_engine)
    redis_mod.set_redis(old_redis)


@pytest.fixture(scope="session")
def tile_server():
    """Map tiles for the session's server (``PULT_MAP_TILE_URL``): pages never reach OpenStreetMap."""
    from tests.e2e.tiles import TileServer

    server = TileServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app_url(e2e_db, tile_server):
    """Base URL of a running Pult server (prod build, one port).

    ``PULT_E2E_URL`` points the tests at a server you already run (its database must hold the demo data).
    """
    if os.environ.get("PULT_E2E_URL"):
        yield os.environ["PULT_E2E_URL"]
        return
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: scripts/test installs it (apt-get install chromium)")
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": e2e_db,
        "REDIS_URL": server_redis_url(),
        "PULT_PORT": str(port),
        # Its own address, as a deployment sets it: the Telegram webhook points here (the sandbox POSTs to it).
        "PULT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GRANIAN_WORKERS": "2",
        "REFLEX_USE_SYSTEM_BUN": "1",
        "PULT_MAP_TILE_URL": tile_server.template,
        # The test-only "approve" sign-in method (tests/e2e/test_signin_methods.py): the login page is
        # built from the registered methods, so the session's one build carries it (no second build).
        "PULT_JOB_MODULES": ",".join(filter(None, [os.environ.get("PULT_JOB_MODULES", ""), "tests.e2e.approve_method"])),
    }
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    log = open(ROOT / ".data" / "e2e-server.log", "w") if (ROOT / ".data").exists() else open("/tmp/pult-e2e-server.log", "w")
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/reflex"), "run", "--env", "prod", "--single-port", "--frontend-port", str(port), "--backend-port", str(port), "--loglevel", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    # One RQ worker beside the app, so pages that start jobs (exports) see them run.
    worker_log = open(Path(log.name).with_name("e2e-worker.log"), "w")
    worker = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "jobs.worker"], cwd=ROOT, env=env,
                              stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + START_TIMEOUT
    ready = False
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200 and httpx.get(f"{base}/login", timeout=5, follow_redirects=True).status_code == 200:
                ready = True
                break
        except httpx.HTTPError:
            pass
        time.sleep(1)
    if not ready:
        for p in (proc, worker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
        log.flush()
        raise RuntimeError(f"Pult did not start; see {log.name}:\n" + Path(log.name).read_text()[-3000:])
    yield base
    for p in (worker, proc):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.wait(timeout=10)
    worker_log.close()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, app_url):
    ctx = browser.new_context(base_url=app_url, viewport={"width": 1400, "height": 900}, locale="ru-RU")
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    ctx.close()


def login(page, username: str, password: str) -> None:
    """Sign in through the form (it posts over HTTP; no need to wait for the WebSocket)."""
    from playwright.sync_api import Error

    for attempt in range(3):
        try:
            page.goto("/login")
            break
        except Error as exc:  # a sign-out just clicked navigates to /login itself and aborts this one
            if "ERR_ABORTED" not in str(exc) or attempt == 2:
                raise
            page.wait_for_timeout(300)  # let that navigation settle; waiting for its URL can abort too
    page.wait_for_selector("#login-username")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_selector("#current-user", state="attached", timeout=30_000)  # hidden at phone width


def shot(page, name: str) -> None:
    if os.environ.get("PULT_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
