"""The numbers import is the kit's page for the declared ``Numbers.bulk_import``: upload a file on
it (at 1280 px and on a 390 px phone), pick the provider, start, see the counts, then the rows in
the numbers list; the list's own import address ``/numbers/numbers/import`` is the same page."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot


def _pick(page, container: str, option: str) -> None:
    page.locator(f"{container} button[role=combobox]").click()
    page.get_by_role("option", name=option, exact=True).click()


@pytest.mark.parametrize("width,route", [(1280, "/numbers/import"), (390, "/numbers/numbers/import")])
def test_upload_numbers_on_the_declared_page_and_see_the_rows(browser, app_url, e2e_engine, tmp_path, width, route):
    with e2e_engine.connect() as c:
        provider = c.execute(text("SELECT name FROM provider WHERE group_name = 'Север' ORDER BY id LIMIT 1")).scalar()
    stem = f"9{random.randrange(10_000, 99_999)}"
    ours = stem + "000"
    path = tmp_path / f"bulk-{width}.csv"
    path.write_text(f"Номер\n+7{stem}0001\n8 {stem[:3]} {stem[3:]} 00 02\nнет\n+7{stem}0001\n", encoding="utf-8")
    ctx = browser.new_context(base_url=app_url, viewport={"width": width, "height": 900}, locale="ru-RU")
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    try:
        login(page, "manager", "manager")
        page.goto(route)
        expect(page.locator("#import-param-provider_id button[role=combobox]")).to_be_visible()
        expect(page.get_by_role("heading", name="Загрузка номеров")).to_be_visible()
        page.locator("#import-upload input[type=file]").set_input_files(str(path))
        expect(page.locator("#import-filename")).to_have_text(path.name)
        _pick(page, "#import-param-provider_id", provider)
        page.locator("#import-start").click()
        expect(page.locator("#import-summary")).to_contain_text("принято 2", timeout=60_000)
        expect(page.locator("#import-summary")).to_contain_text("дублей 1")
        expect(page.locator("#import-summary")).to_contain_text("ошибок 1")
        expect(page.locator("#import-report")).to_be_visible()
        shot(page, f"numbers-bulk-import-{width}")
        with e2e_engine.connect() as c:
            status, accepted = c.execute(text("SELECT status, accepted FROM number_transfer WHERE filename = :f ORDER BY id DESC LIMIT 1"), {"f": path.name}).one()
        assert (status, accepted) == ("done", 2)
        page.goto(f"/numbers/numbers?q={ours}")
        rows = page.locator("#list-table tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text(provider)
        shot(page, f"numbers-bulk-import-rows-{width}")
    finally:
        ctx.close()
