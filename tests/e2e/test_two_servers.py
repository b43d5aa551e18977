"""Live updates and tab state across two backend servers that share one PostgreSQL and one Redis.

Two browsers on two servers see each other's edits live, and a tab's Reflex state follows it from
one server to the other (the issue's "live updates work with the Redis state manager and two
backend processes").

Server 1 is the session's ``app_url`` server (``reflex run --env prod --single-port``). Server 2 is
a second OS process on another port with its own copy of server 1's build
(``tests/e2e/servers.py`` says how and why). Every page records its WebSocket URLs and the tests
assert the port.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.e2e.conftest import login, server_redis_url
from tests.e2e.servers import Server, explained, extra_server

#: Far above the sub-second norm: a change that is not pushed never shows without a reload, so a
#: generous wait cannot hide a failure, and the two-core CI machine is often busy.
LIVE_TIMEOUT = 10_000


@pytest.fixture(scope="module")
def second_server(app_url, e2e_db) -> Iterator[Server]:
    """A second Pult backend process on its own port: same database, same Redis db, same build."""
    with extra_server(app_url, e2e_db, server_redis_url(), "server2") as server:
        yield server


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
