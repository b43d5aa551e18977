"""The stock overview (a declared Dashboard) follows a change made in another session live: an
order taken by an operator in another browser moves the manager's "orders today" and puts a
product that ran short into the low-stock alerts, without a reload."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.e2e.conftest import login, shot


def _number(page, selector: str) -> int:
    return int(re.sub(r"\D", "", page.locator(selector).inner_text()) or 0)


def test_overview_moves_when_another_session_takes_an_order(browser, app_url):
    name = f"E2E Дашборд {uuid.uuid4().hex[:6]}"
    viewer = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 900}, locale="ru-RU")
    board = viewer.new_page()
    board.set_default_timeout(20_000)
    login(board, "manager", "manager")
    board.goto("/stock/overview")
    expect(board.locator("#widget-low_stock")).to_be_visible()
    expect(board.locator("#stat-orders_today")).to_have_text(re.compile(r"\d"))
    before = _number(board, "#stat-orders_today")
    expect(board.locator("#alerts-low_stock")).not_to_contain_text(name)

    other = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = other.new_page()
    page.set_default_timeout(20_000)
    try:
        login(page, "admin", "admin")
        page.goto("/stock/products/new")
        page.locator("#field-name").fill(name)
        page.locator("#field-sell_price_rub").fill("100")
        page.locator("#field-min_stock").fill("5")
        page.locator("#form-save").click()
        expect(page.locator("#value-stock")).to_have_text("0")
        # the new product (0 of 5) shows among the alerts, live
        expect(board.locator("#alerts-low_stock")).to_contain_text(name, timeout=30_000)

        page.goto("/stock/orders/new")
        page.locator("#field-phone").fill("+7 999 123-45-67")
        box = page.locator("input[name='form:product_id']")
        box.click()
        box.fill(name[:12])
        page.get_by_role("button", name=name, exact=True).click()
        page.locator("#field-qty").fill("1")
        page.locator("#form-save").click()
        expect(page.locator("#value-phone")).to_have_text("+7 999 123-45-67")

        expect(board.locator("#stat-orders_today")).to_have_text(re.compile(rf"^{before + 1}$"), timeout=30_000)
        expect(board.locator("#table-latest_orders")).to_contain_text(name)
        shot(board, "stock-overview-1280")
        board.set_viewport_size({"width": 390, "height": 844})
        shot(board, "stock-overview-390")
        # on a phone the widgets stack and wide tables scroll inside their cards, not the page
        for route, ready in (("/stock/overview", "#table-latest_orders"), ("/stock/analytics", "#an-products"), ("/numbers/conversion", "#conv-table")):
            board.goto(route)
            expect(board.locator(ready)).to_be_visible()
            board.wait_for_timeout(500)
            assert board.evaluate("document.documentElement.scrollWidth") <= 390, route
    finally:
        other.close()
        viewer.close()
