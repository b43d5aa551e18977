"""Layout at the widths people use (issue 8): a phone (390 px) gets a menu instead of a sidebar
and no sideways scrolling; at 1280 px the list's row buttons and the project setup's schedule are
in view; the relation picker's list is not clipped and closes on leaving it; toasts keep off the
action buttons and an old error toast goes once a save succeeds. Screenshots when
``PULT_SCREENSHOTS=1``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot


@pytest.fixture()
def sized(browser, app_url):
    contexts = []

    def make(width: int, height: int = 900):
        ctx = browser.new_context(base_url=app_url, viewport={"width": width, "height": height}, locale="ru-RU")
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.set_default_timeout(20_000)
        return pg

    yield make
    for ctx in contexts:
        ctx.close()


def _box(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None
    return box


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_phone_width_has_a_menu_and_no_sideways_scrolling(sized):
    page = sized(390, 844)
    login(page, "manager", "manager")
    page.goto("/stock/orders")
    expect(page.locator("#list-table tbody tr").first).to_be_visible()
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(page.locator("#menu-button")).to_be_visible()
    expect(page.locator("#logout")).to_be_visible()
    _no_sideways_scroll(page)  # the wide table scrolls inside its own box, not the page
    assert _box(page.locator("#create-link"))["x"] + _box(page.locator("#create-link"))["width"] <= 390
    shot(page, "layout-phone-orders")

    page.locator("#menu-button").click()
    drawer = page.locator("#menu-drawer")
    expect(drawer).to_be_visible()
    page.wait_for_timeout(500)  # the slide-in, for the picture only
    shot(page, "layout-phone-menu")
    drawer.get_by_role("link", name="Номера", exact=True).click()
    expect(page).to_have_url(re.compile(r"/numbers/numbers"))
    expect(drawer).to_be_hidden()
    expect(page.locator("#list-table tbody tr").first).to_be_visible()
    _no_sideways_scroll(page)
    shot(page, "layout-phone-numbers")


def test_row_buttons_are_in_view_at_1280(sized):
    page = sized(1280)
    login(page, "admin", "admin")
    page.goto("/stock/orders")
    button = page.locator("#list-table tbody tr").get_by_role("button", name="Выдать").first
    expect(button).to_be_visible()
    box, table = _box(button), _box(page.locator("#list-table"))
    assert box["x"] + box["width"] <= min(1280, table["x"] + table["width"])
    # nothing on top of it: a click there reaches the button
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.closest('button')?.textContent", [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert hit == "Выдать"
    _no_sideways_scroll(page)
    shot(page, "layout-orders-1280")


@pytest.mark.parametrize("width", [1280, 1440])
def test_project_setup_schedule_fits_its_card(sized, e2e_engine, width):
    """The project's working windows (once the setup page's, now rows of the project's form):
    every time input inside its card and readable."""
    from sqlalchemy import text

    with e2e_engine.connect() as c:
        project_id = c.execute(text("SELECT project_id FROM project_schedule GROUP BY project_id ORDER BY count(*) DESC, project_id LIMIT 1")).scalar()
    page = sized(width)
    login(page, "admin", "admin")
    page.goto(f"/numbers/projects/{project_id}/edit")
    day = page.locator("#field-windows [data-row]").first
    expect(day).to_be_visible()
    card = page.locator("#field-windows").locator("xpath=ancestor::div[contains(@class,'rt-Card')][1]")
    card_box = _box(card)
    for inp in page.locator("#field-windows input[type=time]").all():
        b = _box(inp)
        assert b["x"] >= card_box["x"] and b["x"] + b["width"] <= card_box["x"] + card_box["width"], (b, card_box)
        assert b["width"] >= 100  # "09:00 AM" readable, not squeezed
    _no_sideways_scroll(page)
    shot(page, f"layout-setup-{width}")


def test_relation_picker_is_not_clipped_and_closes_on_leaving(sized):
    page = sized(1280)
    login(page, "admin", "admin")
    page.goto("/numbers/sftp/new")
    picker = page.locator("input[name='form:provider_id']")
    expect(picker).to_be_visible()
    picker.click()
    options = page.locator("[data-picker='form:provider_id']").get_by_role("button")
    expect(options.first).to_be_visible()
    last = options.last
    last.scroll_into_view_if_needed()
    b = _box(last)
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.closest('button')?.textContent", [b["x"] + b["width"] / 2, b["y"] + b["height"] / 2])
    assert hit == last.inner_text()  # the list's last option is on top, not cut off by the card
    shot(page, "layout-relation-picker")
    page.locator("#field-file_mask").click()  # leaving the picker closes its list
    expect(options.first).to_be_hidden()
    picker.click()
    name = options.first.inner_text()
    options.first.click()
    expect(picker).to_have_value(name)


def test_toasts_keep_off_the_buttons_and_an_old_error_goes_after_a_save(sized, e2e_engine):
    page = sized(1280)
    login(page, "admin", "admin")
    page.goto("/numbers/sftp/new")
    expect(page.locator("#form-save")).to_be_visible()
    page.locator("#form-save").click()  # empty: refused
    error = page.locator("[data-sonner-toast][data-type=error]")
    expect(error).to_be_visible()
    for button in (page.locator("#form-save"), page.get_by_role("button", name="Отмена"), page.locator("#logout")):
        t, b = _box(error), _box(button)
        overlap = not (t["x"] + t["width"] <= b["x"] or b["x"] + b["width"] <= t["x"] or t["y"] + t["height"] <= b["y"] or b["y"] + b["height"] <= t["y"])
        assert not overlap, (t, b)
    shot(page, "layout-toast-error")
    name = "Тестовый сервер раскладки"
    page.locator("#field-name").fill(name)
    page.locator("#field-host").fill("sftp.example.org")
    page.locator("#field-username").fill("upload")
    page.locator("#form-save").click()
    expect(page.locator("[data-sonner-toast][data-type=success]")).to_be_visible()
    expect(error).to_have_count(0)  # the "could not save" toast went with the successful save
    with e2e_engine.begin() as c:
        c.execute(text("DELETE FROM sftp_host WHERE name = :n"), {"n": name})
