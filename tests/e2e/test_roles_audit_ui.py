"""Issue 8 in the browser: roles read as names in the user's language, the role editor groups its
permissions by section and table, the manager's operation log holds no administrator's secrets,
the per-period analytics has a profit column, and the SFTP private key is a multi-line box."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot

PHONE_WIDTH = {"width": 390, "height": 844}


def _both_widths(page, name: str) -> None:
    shot(page, name)
    page.set_viewport_size(PHONE_WIDTH)
    shot(page, f"{name}-phone")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_role_editor_groups_permissions_and_roles_read_translated(page):
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "admin", "admin")
    page.goto("/admin/roles/stock.manager/edit")
    perms = page.locator("#field-permissions")
    expect(perms.get_by_text("Склад › Товары", exact=True)).to_be_visible()
    expect(perms.get_by_text("Номера › Номера", exact=True)).to_be_visible()
    # a readable operation under its table, ticked as the role holds it ("stock.*" is the section's box)
    expect(perms.locator('[data-value="stock.*"]')).to_have_attribute("data-state", "checked")
    expect(perms.locator('[data-value="numbers.numbers.view"]')).to_have_attribute("data-state", "unchecked")
    # what the section's wildcard grants shows ticked, and cannot be unticked on its own
    implied = perms.locator('[data-value="stock.products.create"]')
    expect(implied).to_have_attribute("data-state", "checked")
    expect(implied).to_be_disabled()
    expect(perms.get_by_text("stock.products.create", exact=True)).to_have_count(0)  # no raw code on the page
    _both_widths(page, "role-editor")

    page.goto("/admin/users")
    row = page.locator("#list-table tbody tr").filter(has_text="manager")
    expect(row.first).to_contain_text("Менеджер склада, Менеджер номеров")
    expect(page.locator("#current-roles")).to_have_text("Администратор")
    page.goto("/admin/users/new")
    expect(page.locator("h1, h2").filter(has_text="Создать").first).to_be_visible()  # the page's own state has loaded
    expect(page.locator("#field-roles")).to_contain_text("Оператор склада")
    expect(page.locator("#field-roles")).not_to_contain_text("stock.user")
    _both_widths(page, "user-form-roles")


def test_the_managers_audit_log_has_no_admin_secrets(page, e2e_engine):
    with e2e_engine.begin() as c:  # the admin's SFTP host and SoftPhone secret, written as the app writes them
        c.execute(text("INSERT INTO audit_log (created_at, username, action, entity_type, entity_id, diff, source) VALUES "
                       "(now(), 'admin', 'update', 'numbers.sftp', '77', '{\"password\": [\"***\", \"***\"]}', 'ui'), "
                       "(now(), 'admin', 'rotate', 'setting', 'softphone', '{\"secret\": [\"***\", \"***\"]}', 'ui')"))
        ids = [r[0] for r in c.execute(text("SELECT id FROM audit_log WHERE entity_type IN ('numbers.sftp', 'setting') ORDER BY id"))]
        product = c.execute(text("SELECT min(id) FROM product")).scalar()
        stock_row = c.execute(text("INSERT INTO audit_log (created_at, username, action, entity_type, entity_id, diff, source) VALUES "
                                   "(now(), 'admin', 'update', 'stock.products', :p, '{\"min_stock\": [0, 1]}', 'ui') RETURNING id"),
                              {"p": str(product)}).scalar()
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "manager", "manager")
    page.goto("/admin/audit")
    expect(page.locator(f"#row-{stock_row}")).to_be_visible()  # a stock change: the manager's to read
    for i in ids:
        expect(page.locator(f"#row-{i}")).to_have_count(0)
    expect(page.locator("#list-table")).not_to_contain_text("numbers.sftp")
    shot(page, "audit-manager")
    page.goto(f"/admin/audit/{ids[-1]}")
    expect(page.get_by_text("softphone")).to_have_count(0)


def test_analytics_per_period_profit_and_the_sftp_key_box(page):
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "admin", "admin")
    page.goto("/stock/analytics")
    periods = page.locator("#an-periods")
    expect(periods.locator("thead")).to_contain_text("Прибыль")
    expect(periods.locator("tbody tr").first).to_contain_text("₽")
    assert periods.locator("tbody tr").first.locator("td").count() == 4
    # the by-product table's last column (profit) is inside its card at 1280 px, not cut off
    card = page.locator("#an-products").locator("xpath=ancestor::div[contains(@class,'rt-Card')][1]").bounding_box()
    last = page.locator("#an-products thead th").last.bounding_box()
    assert last["x"] + last["width"] <= card["x"] + card["width"] + 1, (last, card)
    _both_widths(page, "analytics-period-profit")

    page.goto("/numbers/sftp/new")
    box = page.locator("textarea#field-private_key")
    expect(box).to_be_visible()
    box.fill("-----BEGIN OPENSSH PRIVATE KEY-----\nline-one\nline-two\n-----END OPENSSH PRIVATE KEY-----")
    assert box.input_value().count("\n") == 3  # the line breaks stay (a password input drops them)
    _both_widths(page, "sftp-private-key")
