"""The equipment dashboard's figures on a small hand-made world (seed 000, sections 8 and 11)."""

from __future__ import annotations

import datetime as dt

from app.core.registry import PANELS
from app.core.auth import SYSTEM
from app.panels.equipment import dashboard
from models.equipment import ProductKind, StockItem
from models.equipment import Asset, Condition, EqProduct, Location, Process, Shipment, ShipmentStatus, Store, Warehouse

NOW = dt.datetime.now(dt.timezone.utc)


def world(db) -> None:
    p = EqProduct(sku="R1", name="Роутер")
    w = Warehouse(code="W1", name="Склад 1")
    s = Store(code="S1", name="Магазин на Ленина")
    db.add_all([p, w, s])
    db.flush()
    sh = Shipment(warehouse_id=w.id, store_id=s.id, status=ShipmentStatus.IN_TRANSIT, due_at=NOW - dt.timedelta(hours=5))
    db.add(sh)
    db.flush()

    def a(sn, process, location, condition=Condition.WORKING, delivered=None):
        db.add(Asset(sn=sn, product_id=p.id, process=process, location=location, condition=condition,
                     warehouse_id=w.id if location in (Location.MAIN_WAREHOUSE, Location.BIN) else None,
                     store_id=s.id if location == Location.STORE else None, delivered_at=delivered))

    a("F1", Process.FREE, Location.MAIN_WAREHOUSE)
    a("F2", Process.FREE, Location.BIN)
    a("F3", Process.FREE, Location.BIN, Condition.DEFECTIVE)  # free but not available
    a("R1", Process.RESERVED, Location.MAIN_WAREHOUSE)
    a("P1", Process.PICKED, Location.MAIN_WAREHOUSE)
    a("X1", Process.IN_REPAIR, Location.SERVICE_CENTER, Condition.REQUIRES_REPAIR)
    a("T1", Process.IN_SHIPMENT, Location.IN_TRANSIT)
    a("N1", Process.NOT_INSTALLED, Location.STORE, delivered=NOW - dt.timedelta(days=3))
    a("N2", Process.NOT_INSTALLED, Location.STORE, delivered=NOW - dt.timedelta(hours=2))
    a("I1", Process.INSTALLED, Location.STORE)
    db.commit()


def test_dashboard_counts_and_alerts(db, users):
    import app.panels.equipment  # noqa: F401 - registered

    world(db)
    dash = next(p for p in PANELS["equipment"].pages if p.name == "dashboard")
    data = dash.run(db, users["admin"])
    got = {k: v["value"] for k, v in data.items() if isinstance(v, dict) and "value" in v}
    assert got == {"available": 2, "reserved": 2, "in_repair": 1, "in_transit": 1, "at_stores": 3, "not_installed": 2}
    texts = [a["text"] for a in data["overdue"]]
    assert any("просрочена на 5 ч" in x for x in texts)  # the shipment due 5 hours ago
    assert any(x.startswith("Магазин на Ленина: 1 шт.") for x in texts)  # N1 only: N2 is within the SLA
    shown = dash.shown(data, "ru")
    assert shown["stats"]["not_installed"]["value"] == "2"


def test_dashboard_counts_each_state_once(db):
    wh = Warehouse(code="W", name="Склад")
    router = EqProduct(sku="R", name="Роутер")
    cable = EqProduct(sku="C", name="Кабель", kind=ProductKind.CONSUMABLE)
    db.add_all([wh, router, cable])
    db.flush()
    states = [
        (Location.MAIN_WAREHOUSE, Condition.WORKING, Process.FREE),
        (Location.BIN, Condition.WORKING, Process.FREE),
        (Location.MAIN_WAREHOUSE, Condition.DEFECTIVE, Process.FREE),  # not available: defective
        (Location.MAIN_WAREHOUSE, Condition.WORKING, Process.RESERVED),
        (Location.SERVICE_CENTER, Condition.REQUIRES_REPAIR, Process.IN_REPAIR),
        (Location.IN_TRANSIT, Condition.WORKING, Process.IN_SHIPMENT),
        (Location.STORE, Condition.WORKING, Process.NOT_INSTALLED),
        (Location.STORE, Condition.WORKING, Process.NOT_INSTALLED),
        (Location.STORE, Condition.WORKING, Process.INSTALLED),
    ]
    db.add_all([Asset(sn=f"D{i}", product_id=router.id, location=loc, condition=cond, process=proc, warehouse_id=wh.id)
                for i, (loc, cond, proc) in enumerate(states)])
    db.add(StockItem(product_id=cable.id, warehouse_id=wh.id, qty_on_hand=3, min_qty=10))
    db.commit()
    figures = {name: getattr(dashboard, name)(db, SYSTEM)[0]
               for name in ("available", "reserved", "in_repair", "in_transit", "at_stores", "not_installed")}
    assert figures == {"available": 2, "reserved": 1, "in_repair": 1, "in_transit": 1, "at_stores": 3, "not_installed": 2}
    [alert] = dashboard.low_stock(db, SYSTEM)
    assert alert["text"] == "Кабель: 3 / 10" and alert["tone"] == "orange"
    # support sees the figures, not the forecast's reorders (storekeeper's and chief's)
    support_perms = frozenset({"equipment.assets.view", "equipment.stock.view"})
    from app.core.principal import CurrentUser

    support = CurrentUser(id=None, username="s", roles=("equipment.support",), permissions=support_perms)
    shown = {w.name for w in dashboard.DASHBOARD.visible(support)}
    assert "not_installed" in shown and "low_stock" in shown and "reorders" not in shown
