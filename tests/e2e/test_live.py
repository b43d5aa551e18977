"""Live updates: what one browser, the API or another process changes appears in every open
browser within about a second, without a reload and without losing the viewer's place."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login


def _new_page(browser, app_url):
    ctx = browser.new_context(base_url=app_url, viewport={"width": 1400, "height": 900}, locale="ru-RU")
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    return ctx, page


def test_change_in_one_browser_shows_in_another(browser, app_url, e2e_engine):
    name = f"Live {uuid.uuid4().hex[:6]}"
    with e2e_engine.begin() as c:
        pid = c.execute(text("INSERT INTO product (name, quantity, issued_qty, min_stock, sell_price_rub, created_at) VALUES (:n, 5, 0, 0, 100, now()) RETURNING id"), {"n": name}).scalar()
    ctx_a, viewer = _new_page(browser, app_url)
    ctx_b, editor = _new_page(browser, app_url)
    try:
        login(viewer, "user", "user")
        viewer.goto(f"/stock/products?q={name}")
        row = viewer.locator(f"#row-{pid}")
        expect(row).to_contain_text("5")
        # the viewer has the row selected: it must stay selected after the live refresh
        row.locator("button[role=checkbox]").click()

        login(editor, "manager", "manager")
        editor.goto(f"/stock/supplies/new?product_id={pid}")
        expect(editor.locator("input[name='form:product_id']")).to_have_value(name)
        editor.locator("#field-qty").fill("7")
        editor.locator("#form-save").click()
        expect(editor.locator("#value-qty")).to_have_text("7")

        expect(row.locator("td").nth(3)).to_have_text("12", timeout=3000)  # stock (after the checkbox, photo, name)
        expect(row.locator("button[role=checkbox]")).to_have_attribute("data-state", "checked")
        expect(viewer).to_have_url(re.compile(r"q=Live"))
    finally:
        ctx_a.close()
        ctx_b.close()


def test_change_from_another_process_shows_without_reload(page, e2e_engine, server_services):
    from app.core import crud
    from app.core.auth import SYSTEM
    from app.core.registry import resource

    name = f"Live2 {uuid.uuid4().hex[:6]}"
    with e2e_engine.begin() as c:
        pid = c.execute(text("INSERT INTO product (name, quantity, issued_qty, min_stock, sell_price_rub, created_at) VALUES (:n, 9, 0, 0, 100, now()) RETURNING id"), {"n": name}).scalar()
    login(page, "admin", "admin")
    page.goto(f"/stock/products/{pid}")
    expect(page.locator("#value-min_stock")).to_have_text("0")
    from sqlmodel import Session

    with Session(e2e_engine) as db:
        crud.update_record(db, resource("stock.products"), SYSTEM, pid, {"min_stock": "20"})
    expect(page.locator("#value-min_stock")).to_have_text("20", timeout=3000)
    expect(page.locator("#value-stock")).to_have_text("9")


def test_bell_counts_a_low_stock_event_live_and_marks_it_read(page, e2e_engine, server_services):
    from sqlmodel import Session

    from app.core import crud
    from app.core.auth import SYSTEM
    from app.core.registry import resource

    name = f"Bell {uuid.uuid4().hex[:6]}"
    with e2e_engine.begin() as c:
        pid = c.execute(text("INSERT INTO product (name, quantity, issued_qty, min_stock, sell_price_rub, created_at) VALUES (:n, 3, 0, 2, 100, now()) RETURNING id"), {"n": name}).scalar()
        before = c.execute(text("""SELECT count(*) FROM notification n JOIN "user" u ON u.id = n.user_id
                                    WHERE u.username = 'manager' AND n.read_at IS NULL""")).scalar()
    login(page, "manager", "manager")
    page.goto("/stock/orders")
    count = page.locator("#bell-count")
    if before:
        expect(count).to_have_text(str(before))
    with Session(e2e_engine) as db:
        order = crud.create_record(db, resource("stock.orders"), SYSTEM, {"phone": "+79990001111", "product_id": str(pid), "qty": "2"})
        crud.run_action(db, resource("stock.orders"), SYSTEM, "issue", [order.id])
    # low stock (1 < 2) and the order status: two new notifications for the manager, no reload
    expect(count).to_have_text(str(before + 2), timeout=3000)
    page.locator("#bell").click()
    item = page.locator(".bell-item", has_text=f"Низкий остаток: {name}")
    expect(item).to_be_visible()
    item.click()
    expect(page).to_have_url(re.compile(rf"/stock/products/{pid}$"))
    expect(count).to_have_text(str(before + 1))
