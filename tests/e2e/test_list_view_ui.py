"""The list page's view in a browser (issue 8): "select all matching" on a filtered numbers list
changes exactly the rows the filters match, "exact count" keeps the filters, a live update
leaves an exact total, and paging, search and filters are browser history entries."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot

#: Expectations after a server round trip wait this long (a shared 2-core host under load; not a speed check).
WAIT = 20_000


def _pick(page, container: str, option: str) -> None:
    page.locator(f"{container} button[role=combobox]").click()
    page.get_by_role("option", name=option, exact=True).click()


def _view(url: str) -> tuple[str, dict]:
    """Path (without the trailing slash the static build adds) and query of a URL."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    return parts.path.rstrip("/"), parse_qs(parts.query)


def _ids(c, where: str, **params) -> set[int]:
    return set(c.execute(text(f"SELECT id FROM phone_number WHERE {where}"), params).scalars())


def _wait_job(engine, since_id: int) -> str:
    """The status of the first job run after ``since_id`` once it finished (the worker beside the app runs it)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with engine.connect() as c:
            row = c.execute(text("SELECT status FROM job_run WHERE id > :i ORDER BY id LIMIT 1"), {"i": since_id}).first()
        if row is not None and row[0] not in ("queued", "running"):
            return row[0]
        time.sleep(0.5)
    pytest.fail("the bulk job did not finish")


def test_select_all_matching_changes_exactly_the_filtered_rows(page, e2e_engine):
    with e2e_engine.connect() as c:
        project, status, n = c.execute(text(
            """SELECT n.project_id, n.status_id, count(*) FROM phone_number n JOIN project p ON p.id = n.project_id
               WHERE p.deleted_at IS NULL GROUP BY 1, 2 HAVING count(*) BETWEEN 60 AND 1000 ORDER BY 3 DESC LIMIT 1""")).one()
        target_id, target = c.execute(text("SELECT id, name FROM number_status WHERE id <> :s AND code IN ('bad_number', 'refusal') ORDER BY code LIMIT 1"), {"s": status}).one()
        matching = _ids(c, "project_id = :p AND status_id = :s", p=project, s=status)
        had_target = _ids(c, "status_id = :t", t=target_id)
        job_before = c.execute(text("SELECT coalesce(max(id), 0) FROM job_run")).scalar()
    assert len(matching) == n > 50  # more than one page: the bar offers "select all matching"

    login(page, "admin", "admin")
    url = f"/numbers/numbers?f_project_id={project}&f_status_id={status}"
    page.goto(url)
    rows = page.locator("#list-table tbody tr")
    expect(rows).to_have_count(50, timeout=WAIT)
    page.locator("#list-table thead button[role=checkbox]").click()
    page.locator("#select-all-matching").click()
    expect(page.locator("#selected-count")).to_have_text(f"Выбрано: {n}", timeout=WAIT)  # every matching row, counted exactly
    assert _view(page.url) == _view(url)  # the filters stayed
    expect(rows).to_have_count(50, timeout=WAIT)
    shot(page, "numbers-select-all-matching")

    page.locator("#bulk-set_status").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"({n})", timeout=WAIT)
    _pick(page, "#param-status_id", target)
    page.locator("#confirm-ok").click()
    assert _wait_job(e2e_engine, job_before) == "succeeded"
    expect(page.get_by_text("Ничего не найдено")).to_be_visible(timeout=30_000)  # none match the old status any more
    assert _view(page.url) == _view(url)

    with e2e_engine.connect() as c:
        assert _ids(c, "project_id = :p AND status_id = :s", p=project, s=status) == set()
        assert _ids(c, "status_id = :t", t=target_id) == had_target | matching  # exactly those rows, no others


@pytest.fixture()
def big_project(e2e_engine):
    """A project with more numbers than are counted exactly on sight (the list shows an estimate)."""
    from app.core.query import EXACT_COUNT_BELOW

    n = EXACT_COUNT_BELOW + 20_000
    with e2e_engine.begin() as c:
        project = c.execute(text("INSERT INTO project (name, description, is_active, created_at) VALUES ('Большой проект', '', true, now()) RETURNING id")).scalar()
        status = c.execute(text("SELECT id FROM number_status WHERE code = 'new'")).scalar()
        c.execute(text("""INSERT INTO phone_number (phone, project_id, status_id, created_at, status_changed_at)
                          SELECT '+7000' || lpad(g::text, 7, '0'), :p, :s, now(), now() FROM generate_series(1, :n) g"""),
                  {"p": project, "s": status, "n": n})
    with e2e_engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE phone_number"))
    yield project, n
    with e2e_engine.begin() as c:
        c.execute(text("DELETE FROM phone_number WHERE project_id = :p"), {"p": project})
        c.execute(text("DELETE FROM project WHERE id = :p"), {"p": project})
    with e2e_engine.connect() as c:  # the planner's numbers back to the demo's size (other tests read estimates)
        c.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE phone_number"))


def test_exact_count_keeps_the_filters(page, big_project):
    project, n = big_project
    login(page, "admin", "admin")
    url = f"/numbers/numbers?f_project_id={project}"
    page.goto(url)
    expect(page.locator("#list-total")).to_contain_text("≈", timeout=WAIT)
    page.locator("#count-exact").click()
    expect(page.locator("#list-total")).to_have_text(f"Всего: {n:,}".replace(",", "\u00a0"), timeout=WAIT)
    assert _view(page.url) == _view(url)
    expect(page.locator("#list-table tbody tr")).to_have_count(50, timeout=WAIT)


def test_a_live_update_leaves_the_total_exact(page, e2e_engine, server_services):
    from app.core import bus

    with e2e_engine.connect() as c:
        project, n = c.execute(text(
            """SELECT n.project_id, count(*) FROM phone_number n JOIN project p ON p.id = n.project_id
               WHERE p.deleted_at IS NULL GROUP BY 1 HAVING count(*) > 60 ORDER BY 1 LIMIT 1""")).one()
    login(page, "admin", "admin")
    page.goto(f"/numbers/numbers?f_project_id={project}")
    total = page.locator("#list-total")
    expect(total).to_have_text(f"Всего: {n}", timeout=WAIT)
    with e2e_engine.begin() as c:
        new_id = c.execute(text("""INSERT INTO phone_number (phone, project_id, status_id, created_at, status_changed_at)
                                   SELECT '+7000999' || lpad((:p)::text, 4, '0'), :p, id, now(), now() FROM number_status WHERE code = 'new' RETURNING id"""),
                           {"p": project}).scalar()
    try:
        bus.publish({"model": "phone_number", "ids": [str(new_id)], "op": "create"})
        expect(page.locator(f"#row-{new_id}")).to_be_visible(timeout=WAIT)  # the live refresh arrived ...
        expect(total).to_have_text(f"Всего: {n + 1}", timeout=WAIT)  # ... and the recount after it (was "Всего: ≈ …")
    finally:
        with e2e_engine.begin() as c:
            c.execute(text("DELETE FROM phone_number WHERE id = :i"), {"i": new_id})


def test_paging_search_and_filters_are_history_entries(page):
    login(page, "admin", "admin")
    page.goto("/numbers/numbers")
    rows = page.locator("#list-table tbody tr")
    expect(rows).to_have_count(50, timeout=WAIT)
    first = rows.first.get_attribute("id")
    page.locator("#page-next").click()
    expect(page).to_have_url(re.compile(r"/numbers/numbers/?\?cursor="), timeout=WAIT)
    expect(rows.first).not_to_have_attribute("id", first, timeout=WAIT)
    second = rows.first.get_attribute("id")
    page.locator("#list-search").fill("+7916")
    expect(page).to_have_url(re.compile(r"q=%2B7916"), timeout=WAIT)
    expect(rows.first).to_contain_text("+7 916", timeout=WAIT)  # the searched view is on screen
    page.go_back()
    expect(page).to_have_url(re.compile(r"/numbers/numbers/?\?cursor=[^&]+$"), timeout=WAIT)
    expect(rows.first).to_have_attribute("id", second, timeout=WAIT)
    expect(page.locator("#list-search")).to_have_value("", timeout=WAIT)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/numbers/numbers/?$"), timeout=WAIT)
    expect(rows.first).to_have_attribute("id", first, timeout=WAIT)

    page.goto("/stock/orders")
    expect(rows.first).to_be_visible(timeout=WAIT)
    _pick(page, "#filter-status", "Выдан")
    expect(page).to_have_url(re.compile(r"f_status=paid_issued"), timeout=WAIT)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/stock/orders/?$"), timeout=WAIT)
    expect(page.locator("#filter-status button[role=combobox]")).to_have_text("Любой", timeout=WAIT)
    page.go_forward()
    expect(page).to_have_url(re.compile(r"f_status=paid_issued"), timeout=WAIT)
    expect(page.locator("#filter-status button[role=combobox]")).to_have_text("Выдан", timeout=WAIT)
