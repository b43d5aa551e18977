"""The equipment panel's dashboard (seed 000, section 11 "Dashboard (KPI + алерты)", section 8):
what is available, reserved, in repair, in transit, at the stores, delivered but not installed;
consumables below their minimum and the forecast's reorders — live on every asset, stock and
ledger change. The process side (requests, shipments, SLAs) adds its own widgets beside these."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from app.core import CurrentUser, Dashboard, blocks
from app.panels.equipment import forecast
from models.equipment import Asset, Condition, EqProduct, Location, Process, StockItem

ROUTE = "/equipment/overview"
IN_WAREHOUSE = (Location.MAIN_WAREHOUSE, Location.BIN)


def _count(db: Session, *where: Any) -> int:
    return int(db.exec(select(func.count()).select_from(Asset).where(*where)).one() or 0)


def available(db: Session, user: CurrentUser) -> tuple[int, None]:
    """Working, free assets in a warehouse: what can be reserved now."""
    return _count(db, Asset.process == Process.FREE, Asset.condition == Condition.WORKING, Asset.location.in_(IN_WAREHOUSE)), None


def reserved(db: Session, user: CurrentUser) -> tuple[int, None]:
    return _count(db, Asset.process.in_([Process.RESERVED, Process.PICKED, Process.WAITING_SHIPMENT])), None


def in_repair(db: Session, user: CurrentUser) -> tuple[int, None]:
    return _count(db, Asset.process.in_([Process.WAITING_REPAIR_SHIPMENT, Process.IN_REPAIR])), None


def in_transit(db: Session, user: CurrentUser) -> tuple[int, None]:
    return _count(db, Asset.location == Location.IN_TRANSIT), None


def at_stores(db: Session, user: CurrentUser) -> tuple[int, None]:
    return _count(db, Asset.location == Location.STORE), None


def not_installed(db: Session, user: CurrentUser) -> tuple[int, None]:
    """Section 8: delivered ≠ installed — delivered assets still waiting for their installation."""
    return _count(db, Asset.process.in_([Process.DELIVERED, Process.NOT_INSTALLED])), None


def low_stock(db: Session, user: CurrentUser) -> list[dict[str, str]]:
    """A line per consumable stock below its minimum, empty ones first."""
    rows = db.exec(
        select(StockItem, EqProduct.name).join(EqProduct, EqProduct.id == StockItem.product_id)
        .where(StockItem.min_qty > 0, StockItem.qty_available < StockItem.min_qty)
        .order_by(StockItem.qty_available, EqProduct.name).limit(30)
    ).all()
    return [{"text": f"{name}: {item.qty_available} / {item.min_qty}", "link": f"/equipment/stock/{item.id}",
             "tone": "red" if item.qty_available <= 0 else "orange"} for item, name in rows]


def reorders(db: Session, user: CurrentUser) -> list[dict[str, str]]:
    """The forecast's reorder lines (section 10), soonest stockout first."""
    return [{"text": f.line(), "link": forecast.ROUTE, "tone": "red" if (f.days_left or 0) <= f.lead_time_days else "orange"}
            for f in forecast.forecasts(db) if f.order > 0][:10]


OVERVIEW = Dashboard(
    "overview", ROUTE, "equipment.overview", perm="equipment.assets.view", icon="layout-dashboard",
    widgets=[
        blocks.stat("available", "equipment.overview.available", available),
        blocks.stat("reserved", "equipment.overview.reserved", reserved),
        blocks.stat("in_repair", "equipment.overview.in_repair", in_repair),
        blocks.stat("in_transit", "equipment.overview.in_transit", in_transit),
        blocks.stat("at_stores", "equipment.overview.at_stores", at_stores),
        blocks.stat("not_installed", "equipment.overview.not_installed", not_installed),
        blocks.alerts("low_stock", "equipment.overview.low_stock", low_stock, empty="equipment.overview.no_low_stock",
                      perm="equipment.stock.view"),
        blocks.alerts("reorders", "equipment.overview.reorders", reorders, empty="equipment.overview.no_reorders",
                      perm="equipment.forecast.view"),
    ],
    live={"eq_asset", "eq_stock_item"},
)
