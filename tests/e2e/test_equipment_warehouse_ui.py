"""Equipment, the warehouse side, in a browser (seed 000, stage 1): the storekeeper writes a receipt
by SKU and serial numbers — a duplicate serial number gets its message under the cell and nothing
is saved — posts it and finds the assets in the list with their three axes; support is refused a
warehouse operation and sees no transitions of the storekeeper's, nor "+ Создать" in a warehouse's
bins (the storekeeper does); ``?process=FREE`` filters the assets; the forecast page reads
"Пополнить …" ("Reorder …" once the user switches to English). Screenshots at 1280 and 390 px."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot


def _pick(page, field_id: str, query: str, option: str) -> None:
    box = page.locator(f"input[name='form:{field_id}']")
    box.click()
    box.fill(query)
    page.get_by_role("button", name=option, exact=True).click()


def _cell(page, row: int, name: str):
    return page.locator(f"#field-lines [data-row='{row}'] input[data-cell='{name}']")


def _shots(page, name: str) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        shot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1400, "height": 900})


def _warehouse(engine) -> int:
    with engine.connect() as c:
        return c.execute(text("SELECT id FROM eq_warehouse ORDER BY id LIMIT 1")).scalar()


def test_storekeeper_posts_a_receipt_and_sees_the_assets(page, e2e_engine):
    tag = uuid.uuid4().hex[:6].upper()
    sn1, sn2 = f"E2E-{tag}-1", f"E2E-{tag}-2"
    with e2e_engine.connect() as c:
        docs_before = c.execute(text("SELECT count(*) FROM eq_document")).scalar()
    login(page, "storekeeper", "storekeeper")
    page.goto("/equipment/documents/new")
    _pick(page, "warehouse_id", "Москва", "Москва, основной склад")
    for i in range(3):
        page.locator("#add-row-lines").click()
        expect(page.locator(f"#field-lines [data-row='{i}']")).to_be_visible()
    for i, (sku, sn, qty) in enumerate([("RT-HAP", sn1, "1"), ("RT-HAP", sn1, "1"), ("CB-UTP3", "", "25")]):
        _cell(page, i, "sku").fill(sku)
        if sn:
            _cell(page, i, "sn").fill(sn)
        _cell(page, i, "qty").fill(qty)
    page.locator("#form-save").click()
    # the duplicate serial number: a message under its cell, nothing saved, what was typed kept
    expect(page.locator("#field-lines [data-row='1']")).to_contain_text("Этот серийный номер уже есть в документе")
    expect(_cell(page, 2, "qty")).to_have_value("25")
    _shots(page, "equipment-receipt-duplicate-sn")
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM eq_document")).scalar() == docs_before

    _cell(page, 1, "sn").fill(sn2)
    page.locator("#form-save").click()
    expect(page.locator("#value-status")).to_have_text("Черновик")
    page.locator("#action-post").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#value-status")).to_have_text("Проведён")
    _shots(page, "equipment-receipt-posted")

    page.goto(f"/equipment/assets?q=E2E-{tag}")
    rows = page.locator("#list-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Роутер MikroTik hAP ac2")
    expect(rows.first).to_contain_text("Основной склад")
    expect(rows.first).to_contain_text("Исправно")
    expect(rows.first).to_contain_text("Свободно")
    _shots(page, "equipment-assets")
    with e2e_engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM eq_asset WHERE sn IN (:a, :b)"), {"a": sn1, "b": sn2}).scalar()
        moves = c.execute(text("SELECT count(*) FROM eq_stock_move m JOIN eq_asset a ON a.id = m.asset_id WHERE a.sn IN (:a, :b)"),
                          {"a": sn1, "b": sn2}).scalar()
    assert (n, moves) == (2, 2)

    page.goto("/equipment/stock")
    expect(page.locator("#list-table")).to_contain_text("Кабель UTP Cat5e, 3 м")
    _shots(page, "equipment-stock")
    page.goto("/equipment/dashboard")
    expect(page.get_by_text("Доставлено, но не установлено")).to_be_visible()
    expect(page.get_by_text("Пора пополнить")).to_be_visible()
    _shots(page, "equipment-overview")
    page.goto("/equipment/forecast")
    expect(page.locator("#fc-forecast")).to_contain_text("Пополнить")
    _shots(page, "equipment-forecast")
    # the advice is a sentence the report writes: in English once the user switches to English
    page.get_by_role("button", name="EN", exact=True).click()
    expect(page.locator("#fc-forecast")).to_contain_text("Reorder")
    expect(page.locator("#fc-forecast")).not_to_contain_text("Пополнить")
    shot(page, "equipment-forecast-en")
    page.get_by_role("button", name="RU", exact=True).click()
    expect(page.locator("#fc-forecast")).to_contain_text("Пополнить")

    # the warehouse's bins: the storekeeper keeps the places, so the block offers a new one
    page.goto(f"/equipment/warehouses/{_warehouse(e2e_engine)}")
    expect(page.locator("#related-create-equipment-bins")).to_be_visible()


def test_support_is_refused_a_warehouse_operation(page, e2e_engine):
    with e2e_engine.connect() as c:
        free, others = c.execute(text("SELECT count(*) FILTER (WHERE process = 'FREE'), count(*) FILTER (WHERE process <> 'FREE') "
                                      "FROM eq_asset")).one()
    assert free and others  # the filter has something to leave out
    login(page, "support", "support")
    page.goto("/equipment/documents/new")
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#form-save")).to_have_count(0)
    page.goto("/equipment/documents")
    expect(page.locator("#forbidden")).to_be_visible()
    # availability is theirs to see: the assets, without the storekeeper's transitions
    page.goto("/equipment/assets?process=FREE")  # the REST API's spelling of the filter: it applies here too
    rows = page.locator("#list-table tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("#list-total")).to_have_text("Всего: " + f"{free:,}".replace(",", "\u00a0"))
    expect(rows.filter(has_not_text="Свободно")).to_have_count(0)
    expect(page.locator("#filter-process")).to_contain_text("Свободно")
    expect(page.get_by_role("button", name="Требует ремонта")).to_have_count(0)
    expect(page.locator("#create-link")).to_have_count(0)
    shot(page, "equipment-support-assets")
    # a warehouse's bins are theirs to see, not to create: no "+ Создать" in the block
    page.goto(f"/equipment/warehouses/{_warehouse(e2e_engine)}")
    expect(page.get_by_role("heading", name="Ячейки")).to_be_visible()
    expect(page.locator("#related-create-equipment-bins")).to_have_count(0)
    expect(page.get_by_role("button", name="Создать")).to_have_count(0)
    shot(page, "equipment-support-warehouse")
