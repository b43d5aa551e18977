"""Import as a user does it: list → Import → upload a CSV → the preview shows the bad row's
message under its field → start → the progress bar runs to the summary and the error report;
the imported rows are in the list. An operator (no create permission) gets neither button nor page."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot


def test_import_products_with_a_bad_row(page, e2e_engine, tmp_path):
    tag = uuid.uuid4().hex[:6]
    path = tmp_path / "products.csv"
    path.write_text(
        "Название,\"Цена, ₽\",Мин. остаток,Поставщик\n"
        f"Импорт {tag} A,150,1,Альфа\n"
        f"Импорт {tag} B,сто,1,Альфа\n"
        f"Импорт {tag} C,300,2,Бета\n",
        encoding="utf-8-sig",
    )
    login(page, "manager", "manager")
    page.goto("/stock/products")
    page.locator("#import-link").click()
    expect(page).to_have_url(re.compile(r"/stock/products/import$"))
    page.locator("#import-upload input[type=file]").set_input_files(str(path))
    expect(page.locator("#import-filename")).to_have_text("products.csv")
    expect(page.locator("#import-preview tbody tr")).to_have_count(3)
    expect(page.locator("#import-bad-count")).to_contain_text("1")
    bad = page.locator(".import-row-error")
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("Введите число")
    expect(bad).to_contain_text("сто")
    shot(page, "import-preview")

    page.locator("#import-start").click()
    expect(page.locator("#import-summary")).to_contain_text("добавлено 2", timeout=60_000)
    expect(page.locator("#import-summary")).to_contain_text("ошибок 1")
    expect(page.locator("#import-report")).to_be_visible()
    expect(page.locator("#import-progress")).to_have_attribute("data-value", "100")
    shot(page, "import-done")
    with e2e_engine.connect() as c:
        names = sorted(r[0] for r in c.execute(text("SELECT name FROM product WHERE name LIKE :p"), {"p": f"Импорт {tag}%"}))
    assert names == [f"Импорт {tag} A", f"Импорт {tag} C"]

    # The report downloads with this browser's session.
    href = page.locator("#import-report").get_attribute("href")
    report = page.request.get(href)
    assert report.status == 200 and "Введите число" in report.text()

    page.goto(f"/stock/products?q=Импорт {tag}")
    expect(page.locator("#list-table tbody tr")).to_have_count(2)


def test_operator_cannot_import_products(page):
    login(page, "user", "user")
    page.goto("/stock/products")
    expect(page.locator("#list-table tbody tr").first).to_be_visible()
    expect(page.locator("#import-link")).to_have_count(0)
    page.goto("/stock/products/import")
    expect(page.locator("#forbidden")).to_be_visible()
