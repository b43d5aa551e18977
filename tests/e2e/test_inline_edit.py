"""Many-to-many fields and cells edited in place, in a browser: an admin picks a provider on a
project's form and sees it saved; a min_stock cell is edited in the product list (a bad value
shows its message at the cell, a good one saves and reaches a second browser); the operator, who
may not update products, gets no pencil."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot


def test_pick_providers_on_the_project_form(page, e2e_engine):
    with e2e_engine.connect() as c:
        project_id = c.execute(text("SELECT id FROM project WHERE deleted_at IS NULL ORDER BY id LIMIT 1")).scalar()
        provider_id, provider = c.execute(text(
            "SELECT id, name FROM provider WHERE id NOT IN (SELECT provider_id FROM project_provider WHERE project_id = :p) ORDER BY id LIMIT 1"),
            {"p": project_id}).one()
    login(page, "admin", "admin")
    page.goto(f"/numbers/projects/{project_id}/edit")
    field = page.locator("#field-providers")
    expect(page.locator("input[name='form:providers']")).to_be_visible()
    page.locator("input[name='form:providers']").fill(provider)
    page.locator("[data-picker='form:providers'] button", has_text=provider).first.click()
    expect(field.locator(f"[data-id='{provider_id}']")).to_contain_text(provider)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"project-form-many-{width}")
    page.set_viewport_size({"width": 1400, "height": 900})
    page.locator("#form-save").click()
    page.wait_for_url(f"**/numbers/projects/{project_id}")
    expect(page.locator("#value-providers")).to_contain_text(provider)
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM project_provider WHERE project_id = :p AND provider_id = :v"),
                         {"p": project_id, "v": provider_id}).scalar() == 1
    # taking it off again: its chip's ×, save, the link is gone
    page.goto(f"/numbers/projects/{project_id}/edit")
    page.locator(f"#field-providers [data-remove='{provider_id}']").click()
    expect(page.locator(f"#field-providers [data-id='{provider_id}']")).to_have_count(0)
    page.locator("#form-save").click()
    page.wait_for_url(f"**/numbers/projects/{project_id}")
    expect(page.locator("#value-providers")).not_to_contain_text(provider)
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM project_provider WHERE project_id = :p AND provider_id = :v"),
                         {"p": project_id, "v": provider_id}).scalar() == 0


def test_working_windows_are_rows_of_the_project_form(page, e2e_engine):
    """Child rows: add a window, a refused time gets its message under that cell (row and field),
    fixed, it is saved with the project; removing the row deletes the window."""
    with e2e_engine.connect() as c:
        project_id = c.execute(text("SELECT id FROM project WHERE deleted_at IS NULL ORDER BY id LIMIT 1")).scalar()
        before = c.execute(text("SELECT count(*) FROM project_schedule WHERE project_id = :p"), {"p": project_id}).scalar()
    login(page, "admin", "admin")
    page.goto(f"/numbers/projects/{project_id}/edit")
    table = page.locator("#field-windows")
    expect(table.locator("[data-row]")).to_have_count(before)
    page.locator("#add-row-windows").click()
    new = table.locator(f"[data-row='{before}']")
    expect(new).to_be_visible()
    new.locator("button[role=combobox]").click()
    page.get_by_role("option", name="Воскресенье", exact=True).click()
    new.locator("input[data-cell=start_time]").fill("15:00")
    new.locator("input[data-cell=end_time]").fill("11:00")
    page.locator("#form-save").click()
    expect(new).to_contain_text("позже начала")  # "must end after it starts", under that row's end time
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"project-form-rows-{width}")
    page.set_viewport_size({"width": 1400, "height": 900})
    new.locator("input[data-cell=end_time]").fill("17:00")
    page.locator("#form-save").click()
    page.wait_for_url(f"**/numbers/projects/{project_id}")
    expect(page.locator("#value-windows")).to_contain_text("15:00 · 17:00")
    shot(page, "project-detail-pool-and-windows")
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM project_schedule WHERE project_id = :p AND weekday = 6 AND start_time = '15:00'"),
                         {"p": project_id}).scalar() == 1
    page.goto(f"/numbers/projects/{project_id}/edit")
    expect(table.locator("[data-row]")).to_have_count(before + 1)
    table.locator(f"[data-remove-row='{before}']").click()
    expect(table.locator("[data-row]")).to_have_count(before)
    page.locator("#form-save").click()
    page.wait_for_url(f"**/numbers/projects/{project_id}")
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM project_schedule WHERE project_id = :p"), {"p": project_id}).scalar() == before


def _product(e2e_engine):
    with e2e_engine.connect() as c:
        return c.execute(text("SELECT id, name, min_stock FROM product WHERE deleted_at IS NULL ORDER BY name LIMIT 1")).one()


def test_edit_min_stock_in_the_list(browser, app_url, e2e_engine):
    product_id, _name, old = _product(e2e_engine)
    new = old + 3
    pages = []
    for _ in range(2):
        ctx = browser.new_context(base_url=app_url, viewport={"width": 1400, "height": 900}, locale="ru-RU")
        p = ctx.new_page()
        p.set_default_timeout(20_000)
        login(p, "admin", "admin")
        p.goto("/stock/products?sort=name")
        expect(p.locator(f"#row-{product_id}")).to_be_visible()
        pages.append(p)
    page, other = pages
    row = page.locator(f"#row-{product_id}")
    row.locator(f"[data-edit^='{product_id}:']").click()
    cell = row.locator("[id^=cell-input-]")
    expect(cell).to_be_focused()
    cell.fill("-5")
    cell.press("Enter")
    expect(row.locator("#cell-error")).to_contain_text("0")  # "не меньше 0": the message at the cell
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"products-cell-edit-{width}")
    page.set_viewport_size({"width": 1400, "height": 900})
    cell.press("Escape")  # cancels: the old value is back
    expect(row.locator("[id^=cell-input-]")).to_have_count(0)
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT min_stock FROM product WHERE id = :i"), {"i": product_id}).scalar() == old
    row.locator(f"[data-edit^='{product_id}:']").locator("..").dblclick()  # a double-click opens it too
    cell = row.locator("[id^=cell-input-]")
    cell.fill(str(new))
    cell.press("Enter")
    expect(row.locator("[id^=cell-input-]")).to_have_count(0)
    expect(row).to_contain_text(str(new))
    expect(other.locator(f"#row-{product_id}")).to_contain_text(str(new))  # the live refresh reached the other browser
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT min_stock FROM product WHERE id = :i"), {"i": product_id}).scalar() == new
        entry = c.execute(text("SELECT action, diff FROM audit_log WHERE entity_type = 'stock.products' AND entity_id = :i ORDER BY id DESC LIMIT 1"),
                          {"i": str(product_id)}).one()
        assert entry[0] == "update" and entry[1]["min_stock"] == [old, new]
        c.execute(text("UPDATE product SET min_stock = :v WHERE id = :i"), {"v": old, "i": product_id})
        c.commit()
    for p in pages:
        p.context.close()


def test_the_operator_cannot_edit_cells(page, e2e_engine):
    product_id, _name, _old = _product(e2e_engine)
    login(page, "user", "user")
    page.goto("/stock/products?sort=name")
    expect(page.locator(f"#row-{product_id}")).to_be_visible()
    expect(page.locator("[data-edit]")).to_have_count(0)
    page.locator(f"#row-{product_id} td").nth(4).dblclick()  # min. stock (after the checkbox, photo, name, stock)
    expect(page.locator("[id^=cell-input-]")).to_have_count(0)
