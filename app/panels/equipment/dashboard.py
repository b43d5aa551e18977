"""The equipment dashboard (seed 000, sections 0, 8 and 11 "Dashboard (KPI + алерты)").

Where the equipment is — available, reserved, in repair, in transit, at stores — and the figure
the seed calls key: "Доставлено, но не установлено: 12 устройств"; overdue deliveries and
installations; shipments per day. Live: it re-reads when assets, shipments or deliveries change.

Every count comes from one ``GROUP BY`` over the assets' process and location (an index-only
scan at 200,000 assets), shared by the stat widgets through the request's session.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, cast, func
from sqlmodel import Session, select

from app.core import CurrentUser, Dashboard, blocks
from app.core.display import TIMEZONE, today
from app.core.i18n import t
from app.panels.equipment import forecast
from app.panels.equipment.routes import DASHBOARD as ROUTE
from models.equipment import Asset, Condition, EqProduct, Location, Process, Shipment, ShipmentStatus, StockItem, Store

#: How long after delivery an asset may stay not installed before it counts as overdue (hours).
INSTALL_SLA_HOURS = 48

RESERVED = (Process.RESERVED, Process.PICKED, Process.WAITING_SHIPMENT)
REPAIR = (Process.WAITING_REPAIR_SHIPMENT, Process.IN_REPAIR)
GONE = (Process.WRITTEN_OFF,)


def _value(v: object) -> str:
    return v.value if hasattr(v, "value") else str(v)


def _counts(db: Session) -> dict[tuple[str, str, str], int]:
    """(process, location, condition) -> assets, once per dashboard run (kept on the session): an
    index-only scan of ``ix_eq_asset_axes``."""
    cached = db.info.get("eq_dashboard_counts")
    if cached is None:
        rows = db.exec(select(Asset.process, Asset.location, Asset.condition, func.count())
                       .group_by(Asset.process, Asset.location, Asset.condition)).all()
        cached = {(_value(p), _value(loc), _value(c)): n for p, loc, c, n in rows}
        db.info["eq_dashboard_counts"] = cached
    return cached


def _sum(db: Session, processes: tuple[Process, ...] = (), locations: tuple[Location, ...] = (),
         conditions: tuple[Condition, ...] = ()) -> int:
    ps, ls, cs = ({v.value for v in group} for group in (processes, locations, conditions))
    return sum(n for (p, loc, c), n in _counts(db).items()
               if (not ps or p in ps) and (not ls or loc in ls) and (not cs or c in cs))


def available(db: Session, user: CurrentUser) -> tuple[int, None]:
    """Free, working assets in a warehouse: what can be reserved now."""
    return _sum(db, (Process.FREE,), (Location.MAIN_WAREHOUSE, Location.BIN), (Condition.WORKING,)), None


def reserved(db: Session, user: CurrentUser) -> tuple[int, None]:
    return _sum(db, RESERVED), None


def in_repair(db: Session, user: CurrentUser) -> tuple[int, None]:
    return _sum(db, REPAIR), None


def in_transit(db: Session, user: CurrentUser) -> tuple[int, None]:
    return _sum(db, locations=(Location.IN_TRANSIT,)), None


def at_stores(db: Session, user: CurrentUser) -> tuple[int, None]:
    return _sum(db, locations=(Location.STORE,)), None


def not_installed(db: Session, user: CurrentUser) -> tuple[int, None]:
    """Section 8's key figure: delivered but not installed."""
    return _sum(db, (Process.DELIVERED, Process.NOT_INSTALLED)), None


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


def overdue(db: Session, user: CurrentUser, limit: int = 20) -> list[dict[str, str]]:
    """Deliveries past their due time and installations waiting longer than the SLA, oldest first."""
    now = dt.datetime.now(dt.timezone.utc)
    out: list[dict[str, str]] = []
    late = db.exec(
        select(Shipment).where(Shipment.due_at < now, Shipment.delivered_at.is_(None),
                               Shipment.status.notin_((ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED)))
        .order_by(Shipment.due_at).limit(limit)
    ).all()
    for s in late:
        hours = int((now - s.due_at).total_seconds() // 3600)
        out.append({"text": t("equipment.sla.delivery_late", id=s.id, hours=hours), "link": f"/equipment/shipments/{s.id}", "tone": "red"})
    waiting = db.exec(
        select(Asset.store_id, Store.name, func.count(), func.min(Asset.delivered_at))
        .join(Store, Store.id == Asset.store_id)
        .where(Asset.process == Process.NOT_INSTALLED, Asset.delivered_at < now - dt.timedelta(hours=INSTALL_SLA_HOURS))
        .group_by(Asset.store_id, Store.name).order_by(func.min(Asset.delivered_at)).limit(limit)
    ).all()
    for store_id, store, n, since in waiting:
        days = int((now - since).total_seconds() // 86400)
        out.append({"text": t("equipment.sla.install_late", store=store, n=n, days=days),
                    "link": f"/equipment/stores/{store_id}", "tone": "orange"})
    return out


def shipments_by_day(db: Session, user: CurrentUser, days: int = 14) -> list[dict[str, Any]]:
    first = today() - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=TIMEZONE)
    day = cast(func.timezone(str(TIMEZONE), Shipment.shipped_at), Date)
    got = dict(db.exec(select(day, func.count()).where(Shipment.shipped_at >= start).group_by(day)).all())
    delivered_day = cast(func.timezone(str(TIMEZONE), Shipment.delivered_at), Date)
    done = dict(db.exec(select(delivered_day, func.count()).where(Shipment.delivered_at >= start).group_by(delivered_day)).all())
    return [{"day": first + dt.timedelta(days=i), "shipped": got.get(first + dt.timedelta(days=i), 0),
             "delivered": done.get(first + dt.timedelta(days=i), 0)} for i in range(days)]


DASHBOARD = Dashboard(
    "dashboard", ROUTE, "equipment.dashboard", perm="equipment.assets.view", icon="layout-dashboard",
    widgets=[
        blocks.stat("available", "equipment.kpi.available", available),
        blocks.stat("reserved", "equipment.kpi.reserved", reserved),
        blocks.stat("in_repair", "equipment.kpi.in_repair", in_repair),
        blocks.stat("in_transit", "equipment.kpi.in_transit", in_transit),
        blocks.stat("at_stores", "equipment.kpi.at_stores", at_stores),
        blocks.stat("not_installed", "equipment.kpi.not_installed", not_installed),
        blocks.alerts("overdue", "equipment.kpi.overdue", overdue, empty="equipment.kpi.no_overdue", span=2),
        blocks.alerts("low_stock", "equipment.overview.low_stock", low_stock, empty="equipment.overview.no_low_stock",
                      perm="equipment.stock.view"),
        blocks.alerts("reorders", "equipment.overview.reorders", reorders, empty="equipment.overview.no_reorders",
                      perm="equipment.forecast.view"),
        blocks.chart_widget("shipments", "equipment.kpi.shipments", shipments_by_day,
                            blocks.chart("day", [("shipped", "equipment.kpi.shipped", "#3e63dd"),
                                                 ("delivered", "equipment.kpi.delivered", "#30a46c")], height=220)),
    ],
    live={"eq_asset", "eq_stock_item", "eq_stock_move", "eq_shipment", "eq_delivery_order"},
)
