"""The store card (seed 000, sections 8, 9 and 11): what is installed, what arrived but is not
installed, the shipments, and the map with the route from the sending warehouse — live, with the
tiles from the configured host and the route from the OSRM sandbox; refused to a stock user."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from tests.e2e.conftest import login, shot

NOW = dt.datetime.now(dt.timezone.utc)

# Where Leaflet drew the two places (the centres of their circles, by colour: app.core.ui.map.COLOURS),
# the map's box, and the zoom levels of the tiles it shows (their URLs end in /{z}/{x}/{y}.png).
_MAP_FIT_JS = """() => {
  const map = document.querySelector('#card-map .leaflet-container');
  const at = (colour) => {
    const el = document.querySelector(`#card-map path.leaflet-interactive[stroke="${colour}"]`);
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return [r.x + r.width / 2, r.y + r.height / 2];
  };
  const b = map.getBoundingClientRect();
  const zooms = [...map.querySelectorAll('img.leaflet-tile-loaded')].map((i) => Number(i.src.split('/').slice(-3)[0]));
  return {box: [b.left, b.top, b.right, b.bottom], store: at('#2563eb'), warehouse: at('#16a34a'), zooms};
}"""


def _assert_map_fits(page, min_apart: float) -> dict:
    """The map is fitted to its two places: both are drawn inside its box (not in a corner, not
    off it) and at least ``min_apart`` pixels from each other — not two dots at the default zoom."""
    page.wait_for_function(f"""() => {{
      const f = ({_MAP_FIT_JS})();
      if (!f.store || !f.warehouse) return false;
      const inside = (p) => p[0] > f.box[0] && p[0] < f.box[2] && p[1] > f.box[1] && p[1] < f.box[3];
      return inside(f.store) && inside(f.warehouse) && Math.hypot(f.store[0] - f.warehouse[0], f.store[1] - f.warehouse[1]) >= {min_apart};
    }}""", timeout=10_000)
    return page.evaluate(_MAP_FIT_JS)


@pytest.fixture()
def osrm():
    from integrations.sandbox.osrm import start_osrm_sandbox

    handle = start_osrm_sandbox()
    yield handle
    handle.stop()


@pytest.fixture()
def store_world(e2e_engine, server_services, osrm):
    from app.core import SYSTEM, bus, settings_page
    from app.panels.equipment.delivery import INTEGRATIONS
    from models.equipment import Asset, EqProduct, Location, Process, Shipment, ShipmentItem, ShipmentStatus, Store, Warehouse

    tag = uuid.uuid4().hex[:6]
    with Session(e2e_engine, expire_on_commit=False) as db:
        settings_page.save(db, INTEGRATIONS, SYSTEM, {"routing_url": osrm.url, "courier_margin_min": "20"})
        wh = Warehouse(code=f"WH-{tag}", name=f"Склад Север {tag}", city="Москва", address="Складочная ул., 1", lat=55.804, lon=37.590)
        st = Store(code=f"ST-{tag}", name=f"Магазин на Тверской {tag}", city="Москва", address="Тверская ул., 7", lat=55.758, lon=37.613,
                   contact_name="Анна", contact_phone="+79990000012")
        p = EqProduct(sku=f"R-{tag}", name="Роутер X")
        db.add_all([wh, st, p])
        db.flush()
        sh = Shipment(warehouse_id=wh.id, store_id=st.id, status=ShipmentStatus.DELIVERED, delivered_at=NOW)
        db.add(sh)
        db.flush()
        waiting = Asset(sn=f"SN-W-{tag}", product_id=p.id, process=Process.NOT_INSTALLED, location=Location.STORE, store_id=st.id,
                        shipment_id=sh.id, delivered_at=NOW)
        done = Asset(sn=f"SN-I-{tag}", product_id=p.id, process=Process.INSTALLED, location=Location.STORE, store_id=st.id,
                     shipment_id=sh.id, delivered_at=NOW, installed_at=NOW)
        db.add_all([waiting, done])
        db.flush()
        db.add(ShipmentItem(shipment_id=sh.id, asset_id=waiting.id, product_id=p.id, qty=1))
        db.commit()
    yield {"store": st, "waiting": waiting, "tag": tag}
    with Session(e2e_engine) as db:
        settings_page.save(db, INTEGRATIONS, SYSTEM, {"routing_url": "", "courier_margin_min": "15"})
        a = db.get(Asset, waiting.id)
        bus.mark(db, "eq_asset", [a.id], "update")


def test_store_card_shows_the_store_live_with_its_map(browser, app_url, page, store_world, tile_server, e2e_engine, osrm):
    from app.core import bus
    from models.equipment import Asset, Process, Store

    st, waiting = store_world["store"], store_world["waiting"]
    login(page, "admin", "admin")
    page.goto(f"/equipment/stores/{st.id}/card")
    expect(page.locator("h1, h2").filter(has_text=st.name).first).to_be_visible()
    expect(page.locator("#card-not-installed")).to_have_text("1")
    expect(page.locator("#card-installed-count")).to_have_text("1")
    expect(page.locator("#card-installed")).to_contain_text(waiting.sn)
    expect(page.locator("#card-installed")).to_contain_text("Не установлено")
    # the route from the OSRM sandbox, with the courier-search margin, not an estimate
    expect(page.locator("#card-route")).to_contain_text(re.compile(r"км, в пути ~\d+ мин \+ 20 мин на поиск курьера"))
    expect(page.locator("#card-route")).not_to_contain_text("оценка")
    # the map: Leaflet drew the two places and the route, with tiles from the configured host
    expect(page.locator("#card-map .leaflet-container")).to_be_visible()
    expect(page.locator("#card-map path.leaflet-interactive")).to_have_count(3)  # store, warehouse, route
    expect(page.locator("#card-map .leaflet-tooltip").filter(has_text=st.name)).to_be_visible()
    page.wait_for_function("document.querySelectorAll('#card-map img.leaflet-tile-loaded').length > 0")
    assert tile_server.requests and all(r.endswith(".png") for r in tile_server.requests)
    # fitted to the two places 6.9 km apart, in a 300 px-high map: zoom ~12, not the default 10
    fit = _assert_map_fits(page, min_apart=150)
    assert fit["zooms"] and min(fit["zooms"]) >= 11, fit
    shot(page, "equipment-store-card")
    page.set_viewport_size({"width": 390, "height": 844})
    _assert_map_fits(page, min_apart=100)  # refitted to the narrower box
    shot(page, "equipment-store-card-390")
    page.set_viewport_size({"width": 1400, "height": 900})
    _assert_map_fits(page, min_apart=150)

    # installed elsewhere (another process): the card follows without a reload
    with Session(e2e_engine) as db:
        a = db.get(Asset, waiting.id)
        a.process = Process.INSTALLED
        a.installed_at = NOW
        db.add(a)
        bus.mark(db, "eq_asset", [a.id], "update")
        db.commit()
    expect(page.locator("#card-not-installed")).to_have_text("0")
    expect(page.locator("#card-installed-count")).to_have_text("2")

    # the store moves 14 km away (another process): the same map refits to the new places live
    page.evaluate("document.querySelector('#card-map .leaflet-container').dataset.before = '1'")
    before = page.evaluate(_MAP_FIT_JS)
    with Session(e2e_engine) as db:
        s = db.get(Store, st.id)
        s.lat, s.lon = 55.700, 37.750
        db.add(s)
        bus.mark(db, "eq_store", [s.id], "update")
        db.commit()
    page.wait_for_function(f"() => {{ const f = ({_MAP_FIT_JS})(); return f.store && Math.abs(f.store[1] - {before['store'][1]}) > 5; }}")
    _assert_map_fits(page, min_apart=150)
    # zoomed out to show both: the tiles now on the map are of a lower level than before
    page.wait_for_function(f"() => {{ const z = ({_MAP_FIT_JS})().zooms; return z.length > 0 && Math.max(...z) < {min(before['zooms'])}; }}")
    assert page.evaluate("document.querySelector('#card-map .leaflet-container').dataset.before") == "1"  # not re-created


def test_store_card_refuses_a_user_without_the_panel(browser, app_url, store_world):
    ctx = browser.new_context(base_url=app_url, viewport={"width": 1280, "height": 900}, locale="ru-RU")
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    try:
        login(page, "user", "user")
        page.goto(f"/equipment/stores/{store_world['store'].id}/card")
        expect(page.locator("#forbidden")).to_be_visible()
        expect(page.locator("body")).not_to_contain_text(store_world["waiting"].sn)
    finally:
        ctx.close()
