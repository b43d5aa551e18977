"""Seed 000's process in a real browser: support creates a request from the "new store" template →
the storekeeper's automatic reservation is refused while cables are short (a message, nothing
saved) → after a receipt it reserves, picks with the checklist (a wrong scan is refused under the
input) and confirms the shipment; support is offered no confirmation."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import SHOTS, login


def _pick(page, field_id: str, query: str, option: str) -> None:
    box = page.locator(f"input[name='form:{field_id}']")
    box.click()
    box.fill(query)
    page.get_by_role("button", name=option, exact=True).click()


def _shots(page, name: str) -> None:
    """The page at 1280 and 390 px (docs/screenshots/equipment-<name>-<width>.png), then back."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / f"equipment-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})


def _world(e2e_engine) -> dict:
    """Two users of the equipment roles, a warehouse with 3 routers and 2 cables, a store and the
    "new store" template (2 routers, 3 cables, a two-item checklist) — as a warehouse would have them."""
    from app.core.auth import hash_password

    tag = uuid.uuid4().hex[:6]
    from sqlmodel import Session, select

    from models.core import User

    with Session(e2e_engine) as db:
        for role in ("storekeeper", "support", "chief"):
            if db.exec(select(User).where(User.username == f"eq_{role}")).first() is None:
                db.add(User(username=f"eq_{role}", hashed_password=hash_password(f"{role}-pass"), roles=[f"equipment.{role}"],
                            full_name=role.title()))
        db.commit()
    with e2e_engine.begin() as c:
        router = c.execute(text("INSERT INTO eq_product (sku, name, kind, lead_time_days, min_qty, is_active, created_at) "
                                "VALUES (:s, :n, 'SERIAL', 7, 0, true, now()) RETURNING id"), {"s": f"RT-{tag}", "n": f"Роутер {tag}"}).scalar()
        cable = c.execute(text("INSERT INTO eq_product (sku, name, kind, lead_time_days, min_qty, is_active, created_at) "
                               "VALUES (:s, :n, 'CONSUMABLE', 7, 0, true, now()) RETURNING id"), {"s": f"CB-{tag}", "n": f"Кабель {tag}"}).scalar()
        wh = c.execute(text("INSERT INTO eq_warehouse (code, name, is_active, created_at) VALUES (:c, :n, true, now()) RETURNING id"),
                       {"c": f"W{tag}", "n": f"Склад {tag}"}).scalar()
        c.execute(text("INSERT INTO eq_store (code, name, city, is_active, created_at) VALUES (:c, :n, 'Москва', true, now()) RETURNING id"),
                          {"c": f"S{tag}", "n": f"Магазин {tag}"}).scalar()
        sns = [f"SN{tag}{i}" for i in range(1, 4)]
        for sn in sns:
            c.execute(text("INSERT INTO eq_asset (sn, product_id, warehouse_id, location, condition, process, created_at) "
                           "VALUES (:sn, :p, :w, 'MAIN_WAREHOUSE', 'WORKING', 'FREE', now())"), {"sn": sn, "p": router, "w": wh})
        stock = c.execute(text("INSERT INTO eq_stock_item (product_id, warehouse_id, qty_on_hand, qty_reserved, min_qty) "
                               "VALUES (:p, :w, 2, 0, 0) RETURNING id"), {"p": cable, "w": wh}).scalar()
        tpl = c.execute(text("INSERT INTO eq_request_template (name, kind, checklist, is_active, created_at) "
                             "VALUES (:n, 'NEW_STORE', CAST(:c AS JSONB), true, now()) RETURNING id"),
                        {"n": f"Новый магазин {tag}", "c": '["Проверить комплектность", "Вложить накладную"]'}).scalar()
        c.execute(text("INSERT INTO eq_request_template_line (template_id, product_id, qty) VALUES (:t, :r, 2), (:t, :c, 3)"),
                  {"t": tpl, "r": router, "c": cable})
    return {"tag": tag, "sns": sns, "stock": stock, "store": f"Магазин {tag}", "wh": f"Склад {tag}", "tpl": f"Новый магазин {tag}",
            "cable": f"Кабель {tag}"}


def test_new_store_request_reserved_picked_and_confirmed(page, e2e_engine):
    w = _world(e2e_engine)

    # 1. support: a request from the "new store" template, for the store, from the warehouse
    login(page, "eq_support", "support-pass")
    page.goto("/equipment/requests/new")
    _pick(page, "template_id", w["tpl"][:14], w["tpl"])
    _pick(page, "store_id", w["store"], w["store"])
    _pick(page, "warehouse_id", w["wh"], w["wh"])
    _shots(page, "request-form")
    page.locator("#form-save").click()
    expect(page.locator("#value-status")).to_have_text("Новая")
    expect(page.locator("#value-kind")).to_have_text("Новый магазин")
    expect(page.locator("#value-checklist")).to_contain_text("Проверить комплектность")
    request_id = int(page.url.rstrip("/").split("/")[-1])
    expect(page.locator("#action-reserve_auto")).to_have_count(0)  # support does not reserve
    page.locator("#logout").click()
    expect(page.locator("#login-username")).to_be_visible()

    # 2. the storekeeper: 3 cables wanted, 2 on hand — refused with a message, nothing reserved
    login(page, "eq_storekeeper", "storekeeper-pass")
    page.goto(f"/equipment/requests/{request_id}")
    expect(page.locator("#value-status")).to_have_text("Новая")
    page.locator("#action-reserve_auto").click()
    expect(page.get_by_text(f"Недостаточно «{w['cable']}»: нужно 3, доступно 2")).to_be_visible()
    _shots(page, "reserve-refused")
    expect(page.locator("#value-status")).to_have_text("Новая")
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM eq_reservation WHERE request_id = :r"), {"r": request_id}).scalar() == 0
        assert c.execute(text("SELECT count(*) FROM eq_asset WHERE sn LIKE :t AND process <> 'FREE'"), {"t": f"SN{w['tag']}%"}).scalar() == 0
        assert c.execute(text("SELECT qty_reserved FROM eq_stock_item WHERE id = :i"), {"i": w["stock"]}).scalar() == 0

    # a receipt of 10 cables lands (the warehouse side, another process); now it reserves
    with e2e_engine.begin() as c:
        c.execute(text("UPDATE eq_stock_item SET qty_on_hand = 12 WHERE id = :i"), {"i": w["stock"]})
    page.locator("#action-reserve_auto").click()
    expect(page.locator("#value-status")).to_have_text("Зарезервирована")
    page.locator("#action-start_picking").click()
    expect(page.locator("#value-status")).to_have_text("Сборка")
    _shots(page, "request-picking")
    with e2e_engine.connect() as c:
        shipment_id = c.execute(text("SELECT id FROM eq_shipment WHERE request_id = :r"), {"r": request_id}).scalar()
        picked_sns = [r[0] for r in c.execute(text("SELECT sn FROM eq_asset WHERE request_id = :r ORDER BY id"), {"r": request_id})]

    # 3. picking with the checklist: a wrong scan is refused under the input; SNs and item numbers tick lines
    page.goto(f"/equipment/shipments/{shipment_id}")
    expect(page.locator("#value-status")).to_have_text("Сборка")
    expect(page.locator("#value-checklist")).to_contain_text(f"SN {picked_sns[0]}")

    def scan(code: str) -> None:
        page.locator("#action-pick").click()
        page.locator("#param-input-code").fill(code)
        page.locator("#confirm-ok").click()

    scan("NO-SUCH-SN")
    dialog = page.get_by_role("alertdialog")
    expect(dialog.locator("#param-code")).to_contain_text("нет такого SN в отгрузке")
    _shots(page, "pick-refused")
    page.locator("#param-input-code").fill(picked_sns[0])
    page.locator("#confirm-ok").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#value-checklist")).to_contain_text(f"✓ Роутер {w['tag']} · SN {picked_sns[0]}")
    for code in ("1", "2", picked_sns[1], "5"):
        scan(code)
        expect(dialog).to_be_hidden()
    expect(page.locator("#value-status")).to_have_text("Собрана")
    _shots(page, "shipment-picked")

    # 4. the storekeeper confirms; the assets wait for the courier
    page.locator("#action-confirm").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#value-status")).to_have_text("Подтверждена")
    expect(page.locator("#action-hand_over")).to_be_visible()
    _shots(page, "shipment-confirmed")
    with e2e_engine.connect() as c:
        states = {r[0] for r in c.execute(text("SELECT process FROM eq_asset WHERE request_id = :r"), {"r": request_id})}
        assert states == {"WAITING_SHIPMENT"}
        assert c.execute(text("SELECT qty_reserved FROM eq_stock_item WHERE id = :i"), {"i": w["stock"]}).scalar() == 3

    # 5. support sees the shipment but is offered no confirmation (the server refuses it too: unit and API tests)
    page.locator("#logout").click()
    expect(page.locator("#login-username")).to_be_visible()
    login(page, "eq_support", "support-pass")
    page.goto(f"/equipment/shipments/{shipment_id}")
    expect(page.locator("#value-status")).to_have_text("Подтверждена")
    expect(page.locator("#action-hand_over")).to_have_count(0)
    expect(page.locator("#action-confirm")).to_have_count(0)


def test_chief_sets_the_sla_hours(page, e2e_engine):
    _world(e2e_engine)
    login(page, "eq_chief", "chief-pass")
    page.goto("/equipment/sla")
    page.locator("#sla-install-hours").fill("0")
    page.locator("#sla-save").click()
    expect(page.locator("#sla-install-hours-error")).to_be_visible()
    page.locator("#sla-install-hours").fill("12")
    page.locator("#sla-save").click()
    expect(page.locator("#sla-install-hours-error")).to_have_count(0)
    _shots(page, "sla-settings")
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT value FROM setting WHERE key = 'equipment.sla.install_hours'")).scalar() in (12, "12")
