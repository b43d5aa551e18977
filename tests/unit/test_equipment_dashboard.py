"""The equipment dashboard's figures and alerts on a hand-made stock."""

from __future__ import annotations

from app.core.auth import SYSTEM
from app.panels.equipment import dashboard
from models.equipment import Asset, Condition, EqProduct, Location, Process, ProductKind, StockItem, Warehouse


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
    shown = {w.name for w in dashboard.OVERVIEW.visible(support)}
    assert "not_installed" in shown and "low_stock" in shown and "reorders" not in shown
