"""The generated pages as a user drives them: filters kept in the URL, sorting, keyset paging,
trash and restore, bulk actions with confirmation, global search, the unsaved-changes guard."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot


def _ids(page) -> list[str]:
    return page.locator("#list-table tbody tr").evaluate_all("rows => rows.map(r => r.id)")


def test_filters_sort_and_paging_live_in_the_url(page, e2e_engine):
    with e2e_engine.connect() as c:
        supplier = c.execute(text("SELECT supplier_name FROM product WHERE deleted_at IS NULL AND supplier_name IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar()
        expected = c.execute(text("SELECT count(*) FROM product WHERE deleted_at IS NULL AND supplier_name = :s"), {"s": supplier}).scalar()
    login(page, "manager", "manager")
    page.goto("/stock/products")
    expect(page.locator("#list-table tbody tr")).to_have_count(25)
    first_page = _ids(page)
    page.locator("#page-next").click()
    expect(page).to_have_url(re.compile(r"cursor=after"))
    assert set(_ids(page)).isdisjoint(first_page)
    page.locator("#page-prev").click()
    expect(page.locator("#list-table tbody tr").first).to_have_id(first_page[0])

    page.locator("#filter-supplier_name button").click()
    page.get_by_role("option", name=supplier, exact=True).click()
    expect(page).to_have_url(re.compile(r"f_supplier_name="))
    expect(page.locator("#list-total")).to_contain_text(str(expected))
    page.get_by_role("button", name="Остаток", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=stock"))
    shot(page, "products-filtered")

    # the same URL in a fresh page shows the same view
    url = page.url
    page.goto(url)
    expect(page.locator("#list-total")).to_contain_text(str(expected))
    stocks = page.locator("#list-table tbody tr td:nth-child(4)").all_inner_texts()  # checkbox, photo, name, stock
    assert stocks == sorted(stocks, key=lambda s: int(s.replace("\u00a0", "") or 0))


def test_trash_and_restore(page, e2e_engine):
    name = f"Удаляемый {uuid.uuid4().hex[:6]}"
    login(page, "admin", "admin")
    page.goto("/stock/products/new")
    page.locator("#field-name").fill(name)
    page.locator("#form-save").click()
    expect(page.locator("#value-name")).to_have_text(name)
    page.get_by_role("button", name="Удалить").click()
    page.locator("#confirm-ok").click()
    expect(page).to_have_url(re.compile(r"/stock/products$"))
    page.locator("#list-search").fill(name)
    expect(page.get_by_text("Ничего не найдено")).to_be_visible()
    page.locator("#trash-toggle").click()
    expect(page.get_by_role("link", name=name)).to_be_visible()
    shot(page, "products-trash")
    page.get_by_role("button", name="Восстановить").click()
    expect(page.get_by_text("Ничего не найдено")).to_be_visible()
    # back in the ordinary list (opened by its URL, which also carries the search)
    page.goto("/stock/products?" + urlencode({"q": name}))
    expect(page.get_by_role("link", name=name)).to_be_visible()
    with e2e_engine.connect() as c:
        actions = [r[0] for r in c.execute(text("SELECT action FROM audit_log WHERE entity_type = 'stock.products' AND diff->>'title' = :n ORDER BY id"), {"n": name})]
    assert actions == ["soft_delete", "restore"]


def test_bulk_issue_with_confirmation(page, e2e_engine):
    with e2e_engine.begin() as c:
        pid = c.execute(text("INSERT INTO product (name, quantity, issued_qty, min_stock, sell_price_rub, created_at) VALUES (:n, 50, 0, 0, 100, now()) RETURNING id"), {"n": f"Bulk {uuid.uuid4().hex[:6]}"}).scalar()
        ids = [c.execute(text("""INSERT INTO "order" (phone, product_id, product_name, qty, unit_price_rub, status, created_at)
                                 VALUES ('+79990000000', :p, 'bulk', 2, 100, 'paid_not_issued', now()) RETURNING id"""), {"p": pid}).scalar() for _ in range(3)]
    login(page, "manager", "manager")
    page.goto(f"/stock/orders?f_product_id={pid}")
    expect(page.locator("#list-table tbody tr")).to_have_count(3)
    for i in ids[:2]:
        page.locator(f"#row-{i} button[role=checkbox]").click()
    page.locator("#bulk-issue").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("(2)")
    page.locator("#confirm-ok").click()
    expect(page.locator(f"#row-{ids[0]}")).to_contain_text("Выдан")
    expect(page.locator(f"#row-{ids[2]}")).to_contain_text("Оплачен, не выдан")
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT issued_qty FROM product WHERE id = :p"), {"p": pid}).scalar() == 4


def test_global_search_and_unsaved_guard(page, e2e_engine):
    with e2e_engine.connect() as c:
        pid, name = c.execute(text("SELECT id, name FROM product WHERE deleted_at IS NULL ORDER BY id LIMIT 1")).one()
    login(page, "admin", "admin")
    page.locator("#global-search").fill(name)
    page.get_by_role("link", name=re.compile(re.escape(name))).first.click()
    expect(page).to_have_url(re.compile(rf"/stock/products/{pid}$"))

    page.goto(f"/stock/products/{pid}/edit")
    expect(page.locator("#field-min_stock")).not_to_have_value("")
    page.locator("#field-min_stock").fill("7")
    expect(page.get_by_text("Есть несохранённые изменения")).to_be_visible()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.get_by_role("link", name="Заказы").click()
    expect(page).to_have_url(re.compile(rf"/stock/products/{pid}/edit$"))
    assert dialogs and "сохранения" in dialogs[0]
    expect(page.locator("#field-min_stock")).to_have_value("7")


def test_export_runs_as_a_job_and_arrives_as_a_notification(page, e2e_engine):
    with e2e_engine.connect() as c:
        supplier = c.execute(text("SELECT supplier_name FROM product WHERE deleted_at IS NULL AND supplier_name IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")).scalar()
        expected = c.execute(text("SELECT count(*) FROM product WHERE deleted_at IS NULL AND supplier_name = :s"), {"s": supplier}).scalar()
    login(page, "manager", "manager")
    page.goto("/stock/products?" + urlencode({"f_supplier_name": supplier}))
    expect(page.locator("#list-total")).to_contain_text(str(expected))
    page.locator("#export-menu").click()
    page.locator("#export-csv").click()
    expect(page.get_by_text("Экспорт запущен")).to_be_visible()
    # the worker writes the file; the toast and the bell say so without a reload
    expect(page.get_by_text(re.compile(r"Экспорт готов: Товары, строк: \d+"))).to_be_visible(timeout=30_000)
    page.locator("#bell").click()
    item = page.locator(".bell-item", has_text="Экспорт готов").first
    expect(item).to_be_visible()
    with e2e_engine.connect() as c:
        link = c.execute(text("""SELECT n.link FROM notification n JOIN "user" u ON u.id = n.user_id
                                 WHERE u.username = 'manager' AND n.kind = 'job.done' ORDER BY n.id DESC LIMIT 1""")).scalar()
    body = page.request.get(link).text()
    lines = [line for line in body.lstrip("\ufeff").splitlines() if line]
    assert len(lines) == expected + 1 and lines[0].startswith('"Название"')  # every field quoted (safe_cells)


def test_schedule_editor_checks_the_cron_under_the_field(page, e2e_engine):
    name = f"Ночной экспорт {uuid.uuid4().hex[:4]}"
    login(page, "admin", "admin")
    page.goto("/admin/schedules/new")
    page.locator("#field-name").fill(name)
    page.locator("button[role=combobox]").first.click()
    page.get_by_role("option", name="Экспорт", exact=True).click()  # kinds are offered by their names
    page.locator("#field-cron").fill("99 * * * *")
    page.locator("#field-args_json").fill('{"resource": "stock.products"}')
    page.locator("#form-save").click()
    expect(page.locator("#error-cron")).to_have_text("Неверное cron-выражение")
    page.locator("#field-cron").fill("0 3 * * *")
    page.locator("#form-save").click()
    expect(page.locator("#value-cron")).to_have_text("0 3 * * *")
    expect(page.locator("#value-next_fire_at")).not_to_be_empty()
    with e2e_engine.connect() as c:
        args = c.execute(text("SELECT args FROM schedule WHERE name = :n"), {"n": name}).scalar()
    assert args == {"resource": "stock.products"}
