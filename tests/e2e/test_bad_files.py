"""Files that are not tables, as a user meets them in a browser: the kit's import page and the
numbers import page say what is wrong with the file (no traceback, no "fix the form"), nothing
starts; a failed numbers import shows its reason in the exchange log; the error file of an import
is a download link on the transfer's page and on the job's page."""

from __future__ import annotations

import random
import secrets

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" + bytes(200)
STATUS_FAILED = "ошибка"
NO_TRACE = ("Traceback", "Исправьте ошибки в форме", "error.form", "BadZipFile", "ValidationFailed")


def _no_trace(page) -> None:
    body = page.locator("body").inner_text()
    assert not [w for w in NO_TRACE if w in body], body[:2000]


def test_the_kit_import_page_says_what_is_wrong_with_a_file(page, tmp_path):
    login(page, "manager", "manager")
    page.goto("/stock/products/import")
    upload = page.locator("#import-upload input[type=file]")
    expect(upload).to_be_attached()
    picture = tmp_path / "products.csv"
    picture.write_bytes(PNG)
    upload.set_input_files(str(picture))
    expect(page.locator("#import-problem-file")).to_have_text("Это картинка PNG, а не таблица: загрузите CSV или XLSX")
    expect(page.locator("#import-start")).to_have_count(0)  # no mapping, no preview, nothing to start
    _no_trace(page)
    shot(page, "import-bad-file")

    header = tmp_path / "header.csv"
    header.write_text("Название;Цена, ₽\n", encoding="utf-8")
    upload.set_input_files(str(header))
    expect(page.locator("#import-problem-file")).to_have_text("В файле нет строк с данными")
    broken = tmp_path / "book.xlsx"
    broken.write_bytes(b"PK\x03\x04" + bytes(100))  # a truncated workbook
    upload.set_input_files(str(broken))
    expect(page.locator("#import-problem-file")).to_contain_text("Файл не открывается как книга XLSX")
    _no_trace(page)


def test_the_numbers_import_page_says_what_is_wrong_with_a_file(page, tmp_path):
    login(page, "manager", "manager")
    page.goto("/numbers/import")
    expect(page.locator("#import-param-provider_id button[role=combobox]")).to_be_visible()
    upload = page.locator("#import-upload input[type=file]")
    picture = tmp_path / "numbers.csv"
    picture.write_bytes(PNG)
    upload.set_input_files(str(picture))
    expect(page.locator("#import-problem-file")).to_have_text("Это картинка PNG, а не таблица: загрузите CSV или XLSX")
    expect(page.locator("#import-filename")).to_have_count(0)
    _no_trace(page)
    shot(page, "numbers-import-bad-file")
    header = tmp_path / "header.csv"
    header.write_text("Телефон\n", encoding="utf-8")
    upload.set_input_files(str(header))
    expect(page.locator("#import-problem-file")).to_have_text("В файле нет строк с данными")
    page.locator("#import-start").click()  # nothing was kept: the start asks for a file
    expect(page.locator("#import-problem-file")).to_have_text("Сначала загрузите файл")
    _no_trace(page)


def test_a_failed_numbers_import_shows_its_reason_in_the_log(page, e2e_engine, server_services, tmp_path):
    """A file that reached the job unchecked (as SFTP files do): the transfer's page says why, in
    Russian, and the job's page shows the same sentence without a traceback."""
    from app.core import importer, jobs
    from app.core.auth import current_user_for
    from app.core.db import session_scope
    from openpyxl import Workbook
    from sqlmodel import select

    from app.panels.numbers import transfers
    from models.core import User

    wb = Workbook()
    wb.active.append(["Телефон"])
    wb.active.append(['="+7999"&"1234567"'])
    with session_scope() as db:
        admin = current_user_for(db, db.exec(select(User).where(User.username == "admin")).one())
        token = f"{secrets.token_urlsafe(18)}.xlsx"
        folder = importer.UPLOADS / str(admin.id)
        folder.mkdir(parents=True, exist_ok=True)
        wb.save(folder / token)
        provider = db.exec(text("SELECT id FROM provider ORDER BY id LIMIT 1")).scalar()
        transfer = transfers.start_transfer(db, admin, "import", "file", "formulas.xlsx", provider_id=provider)
        db.commit()
        run = jobs.enqueue(db, admin, "numbers.import", {"transfer_id": transfer.id, "upload": token, "provider_id": provider, "lang": "ru"})
        transfer_id, run_id = transfer.id, run.id
    login(page, "admin", "admin")
    page.goto(f"/numbers/transfers/{transfer_id}")
    expect(page.locator("#value-message")).to_contain_text("В ячейке A2 формула", timeout=60_000)
    expect(page.locator("#value-status")).to_have_text(STATUS_FAILED)
    _no_trace(page)
    shot(page, "numbers-transfer-failed")
    page.goto(f"/admin/jobs/{run_id}")
    expect(page.locator("#value-error")).to_contain_text("В ячейке A2 формула")
    _no_trace(page)


def test_the_error_file_is_a_download_link_on_the_transfer_and_job_pages(page, e2e_engine, tmp_path):
    with e2e_engine.connect() as c:
        provider = c.execute(text("SELECT name FROM provider WHERE group_name = 'Север' ORDER BY id LIMIT 1")).scalar()
    stem = f"9{random.randrange(10_000, 99_999)}"
    path = tmp_path / "with-errors.csv"
    path.write_text(f"Телефон\n+7{stem}0001\n12345\n=HYPERLINK(\"http://evil.example\")\n", encoding="utf-8")
    login(page, "manager", "manager")
    page.goto("/numbers/import")
    expect(page.locator("#import-param-provider_id button[role=combobox]")).to_be_visible()
    page.locator("#import-upload input[type=file]").set_input_files(str(path))
    expect(page.locator("#import-filename")).to_have_text("with-errors.csv")
    page.locator("#import-param-provider_id button[role=combobox]").click()
    page.get_by_role("option", name=provider, exact=True).click()
    page.locator("#import-start").click()
    expect(page.locator("#import-summary")).to_contain_text("ошибок 2", timeout=60_000)
    with e2e_engine.connect() as c:
        transfer_id, run_id = c.execute(text("SELECT id, job_run_id FROM number_transfer WHERE filename = 'with-errors.csv' ORDER BY id DESC LIMIT 1")).one()

    page.goto(f"/numbers/transfers/{transfer_id}")
    link = page.locator("a#value-job_run_id")
    expect(link).to_have_text("ошибки и дубли")
    assert link.get_attribute("href") == f"/api/jobs/{run_id}/file"
    shot(page, "numbers-transfer-file-link")
    report = page.request.get(link.get_attribute("href"))
    assert report.status == 200
    body = report.text()
    assert "неверный номер" in body and "'=HYPERLINK" in body  # in Russian, the formula neutralised

    page.goto(f"/admin/jobs/{run_id}")
    job_link = page.locator("a#value-result_file")
    expect(job_link).to_have_text("errors.csv")
    assert job_link.get_attribute("href") == f"/api/jobs/{run_id}/file"
    shot(page, "job-file-link")
