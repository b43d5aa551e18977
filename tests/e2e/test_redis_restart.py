"""Open pages keep updating after the Redis they use restarts: once with its data kept (append-only
file) and once with everything lost (no persistence: the tabs' states, Reflex's socket records and
the server's keyspace-notification setting are gone).

The test starts a redis-server of its own on a free port and a Pult server on it
(``tests/e2e/servers.py``), opens a list page and a detail page in Chromium, changes the record
from this process (another process, as a worker or a second server would), kills Redis and keeps
it down longer than Reflex's own Redis tasks survive (five failures in a row), starts it again, and
changes the record again: both pages must show each change without a reload by the user.
"""

from __future__ import annotations

import contextlib
import time
import uuid

import pytest
import redis
from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login
from tests.e2e.servers import explained, extra_server
from tests.redis_server import RedisServer

#: How long Redis stays down: longer than the ~5 s after which Reflex's tasks give up.
OUTAGE_SECONDS = 7
#: Generous: the subscriber reconnects with backoff (up to 5 s) and the tabs reload their data.
RECOVERY_TIMEOUT = 45_000
LIVE_TIMEOUT = 15_000


@contextlib.contextmanager
def kit_on(engine, redis_url: str):
    """This process's kit on the server's database and Redis: a change made here is published
    where the server listens."""
    from app.core import db as dbm
    from app.core import redis as redis_mod
    from app.boot import boot

    boot()
    old_engine, old_redis = dbm._engine, redis_mod._client
    dbm.set_engine(engine)
    redis_mod.set_redis(redis.Redis.from_url(redis_url, decode_responses=True))
    try:
        yield
    finally:
        dbm.set_engine(old_engine)
        redis_mod.set_redis(old_redis)


def change(engine, pid: int, supplier: str, min_stock: int) -> None:
    """Change the product through the services, as another process would (commit, then publish)."""
    from sqlmodel import Session

    from app.core import crud
    from app.core.auth import SYSTEM
    from app.core.registry import resource

    with Session(engine) as db:
        crud.update_record(db, resource("stock.products"), SYSTEM, pid, {"supplier_name": supplier, "min_stock": str(min_stock)})


@pytest.mark.parametrize("persistence", ["aof", "none"])
def test_open_pages_update_after_their_redis_restarts(persistence, browser, app_url, e2e_db, e2e_engine, tmp_path):
    store = RedisServer(tmp_path, persist=persistence == "aof")
    store.start()
    tag = uuid.uuid4().hex[:6]
    name = f"Fault {tag}"
    with e2e_engine.begin() as c:
        pid = c.execute(text("""INSERT INTO product (name, quantity, issued_qty, min_stock, sell_price_rub, supplier_name, created_at)
                                VALUES (:n, 5, 0, 0, 100, 'Старый', now()) RETURNING id"""), {"n": name}).scalar()
    try:
        with extra_server(app_url, e2e_db, store.url, f"redis-{persistence}") as server, explained(server), kit_on(e2e_engine, store.url):
            ctx = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, locale="ru-RU")
            try:
                listing, detail = ctx.new_page(), ctx.new_page()
                for p in (listing, detail):
                    p.set_default_timeout(30_000)
                login(listing, "admin", "admin")
                listing.goto(f"/stock/products?q={name}")
                row = listing.locator(f"#row-{pid}")
                expect(row).to_contain_text("Старый")
                detail.goto(f"/stock/products/{pid}")
                expect(detail.locator("#value-supplier_name")).to_have_text("Старый")

                change(e2e_engine, pid, f"До {tag}", 1)  # live updates work to begin with
                expect(row).to_contain_text(f"До {tag}", timeout=LIVE_TIMEOUT)
                expect(detail.locator("#value-min_stock")).to_have_text("1", timeout=LIVE_TIMEOUT)

                # what was there before the outage: the app's own keys, and a marker of the test's
                # (the server may write a new key the moment Redis is back, so count only these)
                store.client().set("test:before-outage", "1")
                before = set(store.client().keys("*"))
                store.kill()
                time.sleep(OUTAGE_SECONDS)
                store.start()
                kept = before & set(store.client().keys("*"))
                if persistence == "none":
                    assert not kept  # really everything lost
                else:
                    assert kept  # the append-only file brought them back (the newest second may be lost)

                change(e2e_engine, pid, f"После {tag}", 2)
                expect(row).to_contain_text(f"После {tag}", timeout=RECOVERY_TIMEOUT)
                expect(detail.locator("#value-supplier_name")).to_have_text(f"После {tag}", timeout=RECOVERY_TIMEOUT)
                expect(detail.locator("#value-min_stock")).to_have_text("2", timeout=RECOVERY_TIMEOUT)

                change(e2e_engine, pid, f"Дальше {tag}", 3)  # and they keep updating
                expect(row).to_contain_text(f"Дальше {tag}", timeout=LIVE_TIMEOUT)
                expect(detail.locator("#value-min_stock")).to_have_text("3", timeout=LIVE_TIMEOUT)
                expect(detail.locator("#current-user")).to_be_visible()  # still signed in
                log = server.log.read_text(errors="replace")
                assert "KeyError" not in log, server.tail()
            finally:
                ctx.close()
    finally:
        store.kill()
