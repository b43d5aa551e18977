"""Seed 004 in a browser: a manager imports a file of numbers, finds them in the table, changes
their status in bulk (a job), and the conversion page open in another tab follows live."""

from __future__ import annotations

import random
import re

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot


def _pick(page, container: str, option: str) -> None:
    page.locator(f"{container} button[role=combobox]").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_import_table_bulk_status_and_live_conversion(browser, app_url, e2e_engine, tmp_path):
    with e2e_engine.connect() as c:
        provider, project = c.execute(text(
            """SELECT pr.name, p.name FROM provider pr JOIN project_provider pp ON pp.provider_id = pr.id JOIN project p ON p.id = pp.project_id
               WHERE pr.group_name = 'Север' AND p.deleted_at IS NULL ORDER BY p.id LIMIT 1""")).one()
    stem = f"9{random.randrange(10_000, 99_999)}"  # +7 9xxxxx 00 0n
    ours = stem + "000"  # nine digits: the demo data's numbers share it with odds of about 1 in 10^4 (six gave 1 in 5)
    lines = ["Телефон", f"+7 {stem[:3]} {stem[3:]} 00-01", f"8{stem}0002", f"+7{stem}0003", "12345", f"8 {stem[:3]} {stem[3:]} 00 01"]
    path = tmp_path / "numbers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    viewer = browser.new_context(base_url=app_url, viewport={"width": 1400, "height": 900}, locale="ru-RU")
    conv = viewer.new_page()
    conv.set_default_timeout(20_000)
    login(conv, "manager", "manager")
    conv.goto("/numbers/conversion")
    expect(conv.locator("#conv-table")).to_be_visible()

    ctx = browser.new_context(base_url=app_url, viewport={"width": 1400, "height": 900}, locale="ru-RU")
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    try:
        login(page, "manager", "manager")
        page.goto("/numbers/import")
        expect(page.locator("#import-param-provider_id button[role=combobox]")).to_be_visible()  # the page's state has loaded
        page.locator("#import-upload input[type=file]").set_input_files(str(path))
        expect(page.locator("#import-filename")).to_have_text("numbers.csv")
        _pick(page, "#import-param-project_id", project)
        _pick(page, "#import-param-provider_id", provider)
        page.locator("#import-start").click()
        expect(page.locator("#import-summary")).to_contain_text("принято 3", timeout=60_000)
        expect(page.locator("#import-summary")).to_contain_text("дублей 1")
        expect(page.locator("#import-summary")).to_contain_text("ошибок 1")
        expect(page.locator("#import-report")).to_be_visible()
        shot(page, "numbers-import")

        before = int(re.sub(r"\D", "", conv.locator("#kpi-success").inner_text()) or 0)
        page.goto(f"/numbers/numbers?q={ours}")
        rows = page.locator("#list-table tbody tr")
        expect(rows).to_have_count(3)
        expect(rows.first).to_contain_text("Новый")
        expect(rows.first).to_contain_text(project)  # relation columns: names, not ids
        expect(rows.first).to_contain_text(provider)
        shot(page, "numbers-table")

        page.locator("#list-table thead button[role=checkbox]").click()
        page.locator("#bulk-set_status").click()
        dialog = page.get_by_role("alertdialog")
        expect(dialog).to_contain_text("(3)")
        _pick(page, "#param-status_id", "Успешно")
        shot(page, "numbers-bulk-status")
        page.locator("#confirm-ok").click()
        for i in range(3):
            expect(rows.nth(i)).to_contain_text("Успешно", timeout=60_000)  # the job ran; the list refreshed itself

        # a number typed the way people say it finds the stored +7…
        page.locator("#list-search").fill(f"8 ({stem[:3]}) {stem[3:]}-00-02")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(f"+7 {stem[:3]} {stem[3:]}-00-02")  # shown formatted, as on the card
        shot(page, "numbers-search-typed")

        # the other tab's conversion page moved without a reload
        expect(conv.locator("#kpi-success")).not_to_have_text(str(before), timeout=30_000)
        after = int(re.sub(r"\D", "", conv.locator("#kpi-success").inner_text()))
        assert after == before + 3
        shot(conv, "numbers-conversion")
    finally:
        ctx.close()
        viewer.close()
    with e2e_engine.connect() as c:
        statuses = c.execute(text("SELECT s.code FROM phone_number n JOIN number_status s ON s.id = n.status_id WHERE n.phone LIKE :p"),
                             {"p": f"+7{ours}%"}).scalars().all()
        assert sorted(statuses) == ["success"] * 3


def test_manager_cannot_open_admin_pages_of_numbers(page):
    login(page, "manager", "manager")
    page.goto("/numbers/sftp")
    expect(page.locator("#forbidden")).to_be_visible()
    page.goto("/numbers/scopes")
    expect(page.locator("#forbidden")).to_be_visible()


def test_status_change_on_a_numbers_page_asks_for_the_status(page, e2e_engine):
    with e2e_engine.connect() as c:
        number_id, phone = c.execute(text(
            """SELECT n.id, n.phone FROM phone_number n JOIN provider pr ON pr.id = n.provider_id JOIN number_status s ON s.id = n.status_id
               WHERE pr.group_name = 'Север' AND s.code <> 'callback' ORDER BY n.id DESC LIMIT 1""")).one()
    login(page, "manager", "manager")
    page.goto(f"/numbers/numbers/{number_id}")
    expect(page.get_by_text(phone).first).to_be_visible()
    page.locator("#action-set_status").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog.locator("#param-status_id")).to_be_visible()
    page.locator("#confirm-ok").click()  # nothing chosen: the message goes under the input
    expect(dialog.locator("#param-status_id")).to_contain_text("Обязательное поле")
    _pick(page, "#param-status_id", "Перезвонить")
    shot(page, "numbers-detail-set-status")
    page.locator("#confirm-ok").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Перезвонить").first).to_be_visible()
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT s.code FROM phone_number n JOIN number_status s ON s.id = n.status_id WHERE n.id = :i"),
                         {"i": number_id}).scalar() == "callback"
