"""Seed 001's end-to-end journey in a real browser: product → supply → discounted order → issue →
stock falls → the sale shows in analytics; a bad phone is refused under the field; the operator
role is refused an admin page."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot


def _pick(page, field_id: str, query: str, option: str) -> None:
    box = page.locator(f"input[name='form:{field_id}']")
    box.click()
    box.fill(query)
    page.get_by_role("button", name=option, exact=True).click()


def _confirm(page) -> None:
    page.locator("#confirm-ok").click()


def test_product_supply_order_issue_analytics(page, e2e_engine):
    name = f"E2E Товар {uuid.uuid4().hex[:6]}"
    login(page, "admin", "admin")
    shot(page, "home")

    # 1. a new product, no initial stock
    page.goto("/stock/products/new")
    page.locator("#field-name").fill(name)
    page.locator("#field-buy_price_eur").fill("5")
    page.locator("#field-sell_price_rub").fill("1000")
    page.locator("#field-min_stock").fill("2")
    shot(page, "product-form")
    page.locator("#form-save").click()
    expect(page.locator("#value-stock")).to_have_text("0")
    product_id = page.url.rstrip("/").split("/")[-1]

    # 2. a supply of 10 from the product's page
    page.goto(f"/stock/supplies/new?product_id={product_id}")
    expect(page.locator("input[name='form:product_id']")).to_have_value(name)
    page.locator("#field-qty").fill("10")
    page.locator("#form-save").click()
    expect(page.locator("#value-qty")).to_have_text("10")
    page.goto(f"/stock/products/{product_id}")
    expect(page.locator("#value-stock")).to_have_text("10")
    page.goto("/stock/supplies?sort=-id")
    expect(page.locator("#list-table tbody tr").first).to_contain_text(name)  # the product's name, not its id

    # 3. an order: price prefilled from the product, then discounted
    page.goto("/stock/orders/new")
    page.locator("#field-phone").fill("+7 999 123-45-67")
    _pick(page, "product_id", name[:10], name)
    expect(page.locator("#field-unit_price_rub")).to_have_value("1000.00")
    page.locator("#field-unit_price_rub").fill("900")
    page.locator("#field-qty").fill("3")
    shot(page, "order-form")
    page.locator("#form-save").click()
    expect(page.locator("#value-unit_price_rub")).to_contain_text("900,00")
    expect(page.locator("#value-phone")).to_have_text("+7 999 123-45-67")  # as the softphone card writes it

    # 4. issue it: stock falls by 3
    page.locator("#action-issue").click()
    _confirm(page)
    expect(page.locator("#value-status")).to_have_text("Выдан")
    shot(page, "order-detail")
    page.goto(f"/stock/products/{product_id}")
    expect(page.locator("#value-stock")).to_have_text("7")
    shot(page, "product-detail")

    # 5. the sale is in analytics for that product: 3 pcs, 2 700 ₽
    page.goto(f"/stock/analytics?product_id={product_id}")
    expect(page.locator("#an-products")).to_contain_text(name)
    expect(page.locator("#an-kpis")).to_contain_text(re.compile(r"2\s700,00"))
    shot(page, "analytics")

    with e2e_engine.connect() as c:
        n = c.execute(text('SELECT count(*) FROM "order" WHERE product_id = :p'), {"p": int(product_id)}).scalar()
        audit = c.execute(text("SELECT count(*) FROM audit_log WHERE source = 'ui' AND entity_type = 'stock.orders'")).scalar()
    assert n == 1 and audit >= 2


def test_bad_phone_is_refused_under_the_field(page, e2e_engine):
    with e2e_engine.connect() as c:
        before = c.execute(text('SELECT count(*) FROM "order"')).scalar()
        product = c.execute(text("SELECT name FROM product WHERE deleted_at IS NULL ORDER BY id LIMIT 1")).scalar()
    login(page, "user", "user")
    page.goto("/stock/orders/new")
    page.locator("#field-phone").fill("12345")
    _pick(page, "product_id", product[:6], product)
    page.locator("#field-qty").fill("1")
    page.locator("#form-save").click()
    expect(page.locator("#error-phone")).to_have_text("Неверный номер телефона")
    shot(page, "order-bad-phone")
    # the form keeps what was typed, nothing was saved
    expect(page.locator("#field-qty")).to_have_value("1")
    with e2e_engine.connect() as c:
        assert c.execute(text('SELECT count(*) FROM "order"')).scalar() == before


def test_operator_is_refused_admin_pages(page):
    login(page, "user", "user")
    page.goto("/admin/users")
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#list-table")).to_have_count(0)
    # and the sidebar does not offer it
    expect(page.get_by_role("link", name="Пользователи")).to_have_count(0)
    shot(page, "forbidden")
    # A panel page the role lacks (stock.analytics.view): the kit refuses it before the page's own
    # on_load runs, so no figure of it reaches the browser.
    page.goto("/stock/analytics")
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#an-kpis")).to_have_count(0)
    page.goto("/stock/products")
    expect(page.locator("#create-link")).to_have_count(0)


def test_register_then_sign_in(page):
    """Seed 001's minimal E2E starts with registration: a new operator account, signed in at once."""
    username = f"e2e_{uuid.uuid4().hex[:8]}"
    page.goto("/login")
    page.locator("#register-link").click()
    page.wait_for_selector("#register-username")
    page.fill("#register-username", username)
    page.fill("#register-password", "short")
    page.fill("#register-password2", "short")
    page.click("#register-submit")
    expect(page.locator("#register-error-password")).to_contain_text("8")
    page.fill("#register-full_name", "Новый Оператор")
    page.fill("#register-password", "long-enough-1")
    page.fill("#register-password2", "long-enough-1")
    page.click("#register-submit")
    expect(page.locator("#current-user")).to_have_text("Новый Оператор")
    page.locator("#logout").click()
    expect(page.locator("#login-username")).to_be_visible()  # the sign-out has landed on /login
    login(page, username, "long-enough-1")
    page.goto("/stock/products")
    expect(page.locator("#list-table")).to_be_visible()
    expect(page.locator("#create-link")).to_have_count(0)
