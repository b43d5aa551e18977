"""Live updates and tab state across two backend servers that share one PostgreSQL and one Redis.

Two browsers on two servers see each other's edits live, and a tab's Reflex state follows it from
one server to the other (the issue's "live updates work with the Redis state manager and two
backend processes").

Server 1 is the session's ``app_url`` server (``reflex run --env prod --single-port``). Server 2 is
a second OS process on another port, started here the way Reflex's prod single-port mode starts
its backend (``reflex.utils.exec.run_backend_prod``): Granian serving the ASGI factory
``app.app:app`` with compilation skipped and the compiled frontend mounted on the same port. We
launch Granian directly because ``reflex run --single-port`` always recompiles and rebuilds the
frontend in ``.web`` (it would rewrite the bundle server 1 is serving), and ``--backend-only``
serves no frontend at all.

The prebuilt bundle does not work on another port as it is: ``.web/env.json`` is inlined into a
``reflex-env`` chunk holding absolute URLs (``ws://localhost:<port 1>/_event``), and the browser
only swaps ``localhost`` for ``window.location.hostname`` (``getBackendURL`` in Reflex's
``state.js``); the port stays. A browser on server 2 would therefore open its WebSocket to server
1, and the test would prove nothing. So server 2 gets its own copy of the build (``build/client``
and ``backend/``, copied under Reflex's own ``.web`` lock, through ``REFLEX_WEB_WORKDIR``) whose
URLs name server 2's port, which is what building the frontend for server 2 would produce. Every
page records its WebSocket URLs and the tests assert the port. The copy also means that a server 2
which compiled by mistake would write into its own directory, never into server 1's ``.web``.

Server 2 imports the app when the fixture starts it; if the app's states were edited after server
1 built its frontend, Reflex reports a state schema mismatch and the failure message says so.
Server 2's output goes to ``.data/e2e-server2.log`` (``/tmp/pult-e2e-server2.log`` without
``.data``); failures quote its tail.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.e2e.conftest import ROOT, _free_port, login, server_redis_url, stop_group

#: Far above the sub-second norm: a change that is not pushed never shows without a reload, so a
#: generous wait cannot hide a failure, and the two-core CI machine is often busy.
LIVE_TIMEOUT = 10_000
SERVER2_START_TIMEOUT = 180
#: Printed by Reflex when a page was built for another state tree than the backend imported.
SCHEMA_MISMATCH = "does not match the backend state schema"


@dataclass
class Server:
    url: str
    port: int
    log: Path

    def tail(self, chars: int = 3000) -> str:
        try:
            out = self.log.read_text(errors="replace")[-chars:]
        except OSError as exc:
            return f"(no log: {exc})"
        hint = ""
        if SCHEMA_MISMATCH in out:
            hint = ("\nNOTE: server 2 imported other app code than server 1 built its frontend from "
                    "(was the app edited while the session ran?).")
        return f"--- server 2 ({self.url}) log {self.log}, tail ---\n{out}{hint}"


@contextlib.contextmanager
def explained(server: Server) -> Iterator[None]:
    """Re-raise any failure inside with server 2's log tail attached."""
    try:
        yield
    except Exception as exc:
        raise AssertionError(f"{exc}\n\n{server.tail()}") from exc


def _web_dir() -> Path:
    """Where ``reflex run`` built server 1's frontend (``.web`` unless REFLEX_WEB_WORKDIR says otherwise)."""
    from reflex_base.environment import environment

    path = environment.REFLEX_WEB_WORKDIR.get()
    return path if path.is_absolute() else ROOT / path


def _copy_frontend(src: Path, dst: Path, port1: int, port2: int) -> list[str]:
    """Copy server 1's built frontend into ``dst`` with its backend URLs pointing at ``port2``.

    Returns the files rewritten (the compressed twins of a rewritten file are dropped, so the
    static server sends the rewritten original)."""
    from reflex.utils import path_ops

    with path_ops.file_lock(src):  # the lock ``reflex run`` holds while it compiles and builds
        shutil.copytree(src / "build" / "client", dst / "build" / "client")
        if (src / "backend").exists():  # which pages create states: saves evaluating every page
            shutil.copytree(src / "backend", dst / "backend")
    url = re.compile(rb"((?:ws|http)s?://[^/:\s`'\"]+):%d/" % port1)
    rewritten = []
    for f in (dst / "build" / "client").rglob("*"):
        if not f.is_file() or f.suffix in (".gz", ".br", ".zst"):
            continue
        data, n = url.subn(rb"\g<1>:%d/" % port2, f.read_bytes())
        if n:
            f.write_bytes(data)
            for twin in (".gz", ".br", ".zst"):
                Path(f"{f}{twin}").unlink(missing_ok=True)
            rewritten.append(str(f.relative_to(dst)))
    return rewritten


@pytest.fixture(scope="module")
def second_server(app_url, e2e_db) -> Iterator[Server]:
    """A second Pult backend process on its own port: same database, same Redis db, same build."""
    from reflex_base.environment import environment

    port1 = urlsplit(app_url).port
    if urlsplit(app_url).hostname not in ("127.0.0.1", "localhost") or port1 is None:
        pytest.skip("needs the session's local server (PULT_E2E_URL points elsewhere)")
    port2 = _free_port()
    web2 = Path(tempfile.mkdtemp(prefix="pult-e2e-web2-"))
    log_path = (ROOT / ".data" / "e2e-server2.log") if (ROOT / ".data").exists() else Path("/tmp/pult-e2e-server2.log")
    server = Server(f"http://127.0.0.1:{port2}", port2, log_path)
    proc = None
    try:
        rewritten = _copy_frontend(_web_dir(), web2, port1, port2)
        if not rewritten:
            pytest.fail(f"no file of the built frontend in {_web_dir()} names server 1's port {port1}: "
                        "cannot point a copy at server 2 (did Reflex change how it bakes in the backend URL?)")
        env = {
            **os.environ,
            "DATABASE_URL": e2e_db,
            "REDIS_URL": server_redis_url(),
            "PULT_PORT": str(port2),
            "REFLEX_ENV_MODE": "prod",
            "REFLEX_WEB_WORKDIR": str(web2),
            # What ``reflex run --env prod --single-port`` sets for its backend (internal names,
            # taken from Reflex so a rename follows): never compile, serve build/client.
            environment.REFLEX_SKIP_COMPILE.name: "true",
            environment.REFLEX_MOUNT_FRONTEND_COMPILED_APP.name: "true",
        }
        env.pop("PULT_BACKEND_PORT", None)
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [str(ROOT / ".venv/bin/python"), "-m", "granian", "--interface", "asgi", "--factory",
                 "--host", "127.0.0.1", "--port", str(port2), "--workers", "1", "--log-level", "warning",
                 "app.app:app"],  # rxconfig's app_name "app" -> module app.app, object app
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.time() + SERVER2_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server 2 exited with {proc.returncode}\n{server.tail()}")
            if time.time() > deadline:
                pytest.fail(f"server 2 did not answer within {SERVER2_START_TIMEOUT} s\n{server.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (httpx.get(f"{server.url}/health", timeout=2).status_code == 200
                        and httpx.get(f"{server.url}/login", timeout=5, follow_redirects=True).status_code == 200):
                    break
            time.sleep(1)
        yield server
    finally:
        if proc is not None:
            stop_group(proc)  # granian's worker is in the same process group: nothing of it survives
        shutil.rmtree(web2, ignore_errors=True)


# ------------------------------------------------------------------------------------ helpers
@dataclass
class Tab:
    """A page that remembers every WebSocket it opened."""

    page: Page
    sockets: list[str] = field(default_factory=list)

    def socket_ports(self) -> set[int | None]:
        return {urlsplit(u).port for u in self.sockets if "/_event" in u}


def _assert_sockets(tabs: list[Tab], port: int) -> None:
    """Every Reflex WebSocket these tabs opened went to ``port`` (and there was at least one)."""
    for tab in tabs:
        assert tab.socket_ports() == {port}, f"{tab.page.url}: event sockets {tab.sockets}, expected port {port}"


def _context(browser, base_url: str):
    return browser.new_context(base_url=base_url, viewport={"width": 1400, "height": 900}, locale="ru-RU")


def _tab(ctx) -> Tab:
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    tab = Tab(page)
    page.on("websocket", lambda ws: tab.sockets.append(ws.url))
    return tab


def _products(engine, tag: str, n: int) -> dict[int, int]:
    """``n`` products named ``Duo <tag> 01``..``NN``: number -> id."""
    ids = {}
    with engine.begin() as c:
        for i in range(1, n + 1):
            ids[i] = c.execute(text("""INSERT INTO product (name, quantity, issued_qty, min_stock, sell_price_rub, supplier_name, created_at)
                                       VALUES (:n, 5, 0, 0, 100, 'Старый', now()) RETURNING id"""), {"n": f"Duo {tag} {i:02d}"}).scalar()
    return ids


def _edit_supplier(editor: Page, pid: int, name: str, supplier: str) -> None:
    """Change a product's supplier through the edit form, as a user would."""
    editor.goto(f"/stock/products/{pid}/edit")
    expect(editor.locator("#field-name")).to_have_value(name)  # loaded by the backend, not the prerender
    editor.locator("#field-supplier_name").fill(supplier)
    editor.locator("#form-save").click()
    expect(editor.locator("#value-supplier_name")).to_have_text(supplier)


def _mark_no_reload(page: Page) -> None:
    page.evaluate("() => { window.__pultNoReload = true; }")


def _assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("() => window.__pultNoReload === true"), "the page was reloaded"


def _row_ids(page: Page) -> list[str]:
    return [r.get_attribute("id") for r in page.locator("#list-table tbody tr").all()]


# -------------------------------------------------------------------------------------- tests
def test_change_on_one_server_reaches_a_browser_on_the_other(browser, app_url, second_server, e2e_engine):
    """A on server 1 and B on server 2 watch the products list; each one's edit shows in the other's
    list without a reload, and the viewer keeps its page, sort and selection.

    This fails if a change only refreshed tabs of the process that made it: B's list socket lives
    in server 2, which never handles A's save (and vice versa), so only the Redis channel that
    every backend process subscribes to (app.core.live) can bring the change across. It also fails
    if server 2 did not run the subscriber at all (checked: with server 2's subscription muted, B
    never sees A's edit). The socket-port checks make sure B's tab is not simply served by
    server 1, where the change would arrive without crossing servers."""
    tag = uuid.uuid4().hex[:6]
    ids = _products(e2e_engine, tag, 30)  # two pages of 25 on the list
    ctx_a, ctx_b = _context(browser, app_url), _context(browser, second_server.url)
    try:
        with explained(second_server):
            viewer_a, editor_a = _tab(ctx_a), _tab(ctx_a)
            viewer_b, editor_b = _tab(ctx_b), _tab(ctx_b)
            login(viewer_a.page, "admin", "admin")
            login(viewer_b.page, "manager", "manager")

            # B on server 2: sorted by name descending, second page (05..01), row 01 selected
            b = viewer_b.page
            b.goto("/stock/products?" + urlencode({"q": f"Duo {tag}", "sort": "-name"}))
            expect(b.locator(f"#row-{ids[30]}")).to_be_visible()
            b.locator("#page-next").click()
            expect(b).to_have_url(re.compile(r"cursor="))
            expect(b.locator("#list-table tbody tr")).to_have_count(5)
            b.locator(f"#row-{ids[1]} button[role=checkbox]").click()
            expect(b.locator(f"#row-{ids[1]} button[role=checkbox]")).to_have_attribute("data-state", "checked")
            page_b = _row_ids(b)
            assert page_b == [f"row-{ids[i]}" for i in (5, 4, 3, 2, 1)]
            url_b = b.url
            _mark_no_reload(b)

            # A on server 1: name ascending, first page (01..25), row 04 selected
            a = viewer_a.page
            a.goto("/stock/products?" + urlencode({"q": f"Duo {tag}"}))
            expect(a.locator("#list-table tbody tr")).to_have_count(25)
            a.locator(f"#row-{ids[4]} button[role=checkbox]").click()
            expect(a.locator(f"#row-{ids[4]} button[role=checkbox]")).to_have_attribute("data-state", "checked")
            page_a = _row_ids(a)
            url_a = a.url
            _mark_no_reload(a)
            # Each browser talks to its own server: otherwise the rest would prove nothing.
            port1 = urlsplit(app_url).port
            _assert_sockets([viewer_a], port1)
            _assert_sockets([viewer_b], second_server.port)

            # server 1 -> server 2
            supplier_a = f"Поставщик {tag} A"
            _edit_supplier(editor_a.page, ids[2], f"Duo {tag} 02", supplier_a)
            expect(b.locator(f"#row-{ids[2]}")).to_contain_text(supplier_a, timeout=LIVE_TIMEOUT)
            _assert_not_reloaded(b)
            expect(b).to_have_url(url_b)
            assert _row_ids(b) == page_b
            expect(b.locator(f"#row-{ids[1]} button[role=checkbox]")).to_have_attribute("data-state", "checked")

            # server 2 -> server 1
            supplier_b = f"Поставщик {tag} B"
            _edit_supplier(editor_b.page, ids[3], f"Duo {tag} 03", supplier_b)
            expect(a.locator(f"#row-{ids[3]}")).to_contain_text(supplier_b, timeout=LIVE_TIMEOUT)
            _assert_not_reloaded(a)
            expect(a).to_have_url(url_a)
            assert _row_ids(a) == page_a
            expect(a.locator(f"#row-{ids[4]} button[role=checkbox]")).to_have_attribute("data-state", "checked")
            # and B, on server 2, saw its own server's change too (its tab was not broken by the first push)
            expect(b.locator(f"#row-{ids[3]}")).to_contain_text(supplier_b, timeout=LIVE_TIMEOUT)

            # ... and so did the editors, for the whole test
            _assert_sockets([viewer_a, editor_a], port1)
            _assert_sockets([viewer_b, editor_b], second_server.port)
    finally:
        ctx_a.close()
        ctx_b.close()


def test_a_tab_keeps_its_state_when_it_reconnects_to_the_other_server(browser, app_url, second_server, e2e_engine):
    """The Reflex state is shared through Redis, not kept in one process: a tab whose socket
    reconnects to server 2 (as behind a load balancer) finds what server 1 left in its state.

    The global search box's text and hits live only in the tab's ``SearchState`` (no URL, no
    browser storage, no load handler resets them). They are set through server 1; server 2 then
    serves the same tab token and must show them. With a per-process state manager server 2
    would start that token from scratch: an empty box and no hits."""
    import redis
    from reflex.utils.token_manager import RedisTokenManager

    tag = uuid.uuid4().hex[:6]
    _products(e2e_engine, tag, 2)
    r = redis.Redis.from_url(server_redis_url())
    ctx = _context(browser, app_url)  # the session cookie is per host, so it also signs in on server 2
    try:
        with explained(second_server):
            first = _tab(ctx)
            login(first.page, "admin", "admin")
            # the home page: cards only, so a product name on screen can only be a search hit
            first.page.goto("/")
            first.page.locator("#global-search").fill(tag)
            expect(first.page.get_by_role("link", name=f"Duo {tag} 01")).to_be_visible()
            token = first.page.evaluate("() => window.sessionStorage.getItem('token')")
            assert token
            _assert_sockets([first], urlsplit(app_url).port)
            assert r.keys(f"{token}_*"), "server 1 keeps this tab's state outside Redis"

            # The tab goes away; server 1 drops its socket record. Reconnecting with the token while
            # server 1 still claims it would (rightly) get a fresh token from server 2.
            first.page.close()
            record = RedisTokenManager._token_socket_record_prefix + token
            deadline = time.time() + 30
            while r.exists(record) and time.time() < deadline:
                time.sleep(0.2)
            assert not r.exists(record), "server 1 kept the closed tab's socket record"

            # The same tab (same token in its session storage) now opens server 2.
            ctx.add_init_script(f"if (location.port === '{second_server.port}') window.sessionStorage.setItem('token', '{token}');")
            moved = _tab(ctx)
            page = moved.page
            page.goto(f"{second_server.url}/")
            expect(page.locator("#current-user")).to_have_text("Администратор Демо")
            expect(page.locator("#global-search")).to_have_value(tag)
            expect(page.get_by_role("link", name=f"Duo {tag} 01")).to_be_visible()
            expect(page.get_by_role("link", name=f"Duo {tag} 02")).to_be_visible()
            _assert_sockets([moved], second_server.port)
            assert all(f"token={token}" in u for u in moved.sockets if "/_event" in u), moved.sockets
            assert page.evaluate("() => window.sessionStorage.getItem('token')") == token
    finally:
        ctx.close()
