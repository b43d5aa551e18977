"""Seed 000's journey in a real browser: support creates a request from the "new store" template →
the storekeeper's automatic reservation is refused while cables are short (a message, nothing
saved) → after a receipt it reserves, picks with the checklist (a wrong scan is refused under the
input) and confirms the shipment; support is offered no confirmation → support orders a courier
(Yandex Delivery, the sandbox over HTTP) → the claim advances and the chief's second browser sees
the timeline and the status move live, and support's comment with a photo → delivered → the store
card shows the assets not installed → support confirms the installation with a photo → the
dashboard's "delivered, not installed" falls."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import text
from sqlmodel import Session, select

from tests.e2e.conftest import SHOTS, login

YD_TOKEN = "y0_journey"


@pytest.fixture(scope="module")
def yandex(e2e_engine):
    """The Yandex Delivery sandbox over HTTP, and the server's integration settings pointing at it."""
    import app.boot
    from app.core import auth, settings_page
    from integrations.sandbox.yandex_delivery import start_sandbox
    from models.core import User

    app.boot.boot()
    from app.panels.equipment import delivery

    handle = start_sandbox()
    handle.add_token(YD_TOKEN)
    with Session(e2e_engine) as db:
        admin = auth.current_user_for(db, db.exec(select(User).where(User.username == "admin")).one())
        settings_page.save(db, delivery.INTEGRATIONS, admin, {"yandex_enabled": True, "yandex_token": YD_TOKEN, "yandex_url": handle.url})
    yield handle
    handle.stop()


def _photo(path, colour=(30, 110, 200)) -> str:
    img = Image.new("RGB", (900, 600), colour)
    for x in range(0, 900, 60):  # stripes: a thumbnail that is visibly a picture
        img.paste((240, 180, 40), (x, 0, x + 30, 600))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return str(path)


def _loaded(img) -> None:
    """The <img> really loaded from the object store (a broken image has naturalWidth 0)."""
    expect(img).to_be_visible()
    img.page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle(), timeout=15_000)


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
        store = c.execute(text("INSERT INTO eq_store (code, name, city, address, lat, lon, contact_name, contact_phone, is_active, created_at) "
                               "VALUES (:c, :n, 'Москва', 'Тверская ул., 7', 55.758, 37.613, 'Анна', '+79990000012', true, now()) RETURNING id"),
                          {"c": f"S{tag}", "n": f"Магазин {tag}"}).scalar()
        c.execute(text("UPDATE eq_warehouse SET city = 'Москва', address = 'Складочная ул., 1с1', lat = 55.804, lon = 37.590 WHERE id = :w"),
                  {"w": wh})
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
    return {"tag": tag, "sns": sns, "stock": stock, "store_id": store, "store": f"Магазин {tag}", "wh": f"Склад {tag}", "tpl": f"Новый магазин {tag}",
            "cable": f"Кабель {tag}"}


def test_the_seed_journey_from_request_to_installed_with_a_photo(page, browser, app_url, e2e_engine, server_services, yandex, tmp_path):
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

    # 6. support orders the courier: a claim at Yandex Delivery (the sandbox, over HTTP), on the timeline
    page.locator("#action-order_courier").click()
    page.locator("#confirm-ok").click()
    expect(page.locator("#timeline")).to_contain_text("Заказ доставки оформлен")
    assert len(yandex.claims()) == 1
    with e2e_engine.connect() as c:
        order_id, claim_id = c.execute(text("SELECT id, external_id FROM eq_delivery_order WHERE shipment_id = :s"), {"s": shipment_id}).one()

    # 7. the chief watches the shipment in a second browser while the claim walks (the sync is the
    #    worker's: run here, in "another process", it reaches the browsers through the change bus)
    from app.panels.equipment import delivery

    ctx2 = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 900}, locale="ru-RU")
    chief = ctx2.new_page()
    chief.set_default_timeout(20_000)
    login(chief, "eq_chief", "chief-pass")
    chief.goto(f"/equipment/shipments/{shipment_id}")
    expect(chief.locator("#value-status")).to_have_text("Подтверждена")

    def walk(status: str) -> None:
        yandex.advance(claim_id, status)
        with Session(e2e_engine) as db:
            delivery.sync_order(db, order_id)

    walk("ready_for_approval")
    walk("pickuped")
    expect(chief.locator("#value-status")).to_have_text("Передана курьеру")  # live: no reload
    expect(chief.locator("#timeline")).to_contain_text("Курьер забрал")
    _shots(chief, "shipment-timeline-live")

    # 8. support comments with a photo, mentioning the chief: it arrives live in the chief's browser
    page.locator("#comment-body").fill("@eq_chief курьер забрал, фото погрузки")
    page.locator("#comment-attach input[type=file]").set_input_files(_photo(tmp_path / "погрузка.png"))
    _loaded(page.locator("#comment-wall .comment-file img").first)
    page.locator("#comment-body-send").click()
    arrived = chief.locator("#comment-wall .comment").filter(has_text="курьер забрал")
    expect(arrived.locator(".mention")).to_have_text("@eq_chief")
    _loaded(arrived.locator(".comment-file img"))
    _shots(chief, "comment-photo")

    # 9. delivered: the assets are at the store, not installed (section 8)
    walk("delivered_finish")
    expect(chief.locator("#value-status")).to_have_text("Доставлена")
    with e2e_engine.connect() as c:
        assert {r[0] for r in c.execute(text("SELECT process FROM eq_asset WHERE request_id = :r"), {"r": request_id})} == {"NOT_INSTALLED"}
    chief.goto(f"/equipment/stores/{w['store_id']}/card")
    expect(chief.locator("#card-not-installed")).to_have_text("2")
    expect(chief.locator("#card-shipments")).to_contain_text("Доставлена")
    _shots(chief, "store-card-not-installed")
    chief.goto("/equipment/dashboard")
    count = chief.locator("#stat-not_installed")
    expect(count).to_have_text(re.compile(r"^\d+$"))
    before = int(count.inner_text())
    assert before >= 2

    # 10. support confirms the installation with a photo; a file that is no picture is refused first
    page.goto(f"/equipment/shipments/{shipment_id}")
    page.locator("#action-install").click()
    dialog = page.get_by_role("alertdialog")
    zone = dialog.locator("#upload-param input[type=file]")
    fake = tmp_path / "фото.jpg"
    fake.write_bytes(b"%PDF-1.7\n%fake\n" * 20)
    zone.set_input_files(str(fake))
    expect(dialog.locator("#param-photo")).to_contain_text("Такой тип файла не принимается")
    zone.set_input_files(_photo(tmp_path / "установлено.png", (20, 160, 60)))
    _loaded(dialog.locator("#param-file-preview"))
    _shots(page, "install-photo")
    page.locator("#confirm-ok").click()
    expect(dialog).to_be_hidden()
    _loaded(page.locator("#value-install_photo_id img"))
    with e2e_engine.connect() as c:
        assert {r[0] for r in c.execute(text("SELECT process FROM eq_asset WHERE request_id = :r"), {"r": request_id})} == {"INSTALLED"}
        owner = c.execute(text("SELECT f.owner_resource || ':' || f.owner_id FROM eq_shipment s JOIN stored_file f ON f.id = s.install_photo_id "
                               "WHERE s.id = :s"), {"s": shipment_id}).scalar()
    assert owner == f"equipment.shipments:{shipment_id}"
    _shots(page, "shipment-installed")

    # 11. the chief's dashboard: two fewer delivered-but-not-installed, live
    expect(count).to_have_text(str(before - 2))
    _shots(chief, "dashboard-after-install")
    ctx2.close()


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
