"""Replenishment forecast (seed 000, section 10): no ML, the MVP the seed asks for.

For each active product type:

* **consumption** — what left the stock over the last 7, 14 and 30 days: the ledger's SHIPMENT and
  WRITE_OFF rows (:class:`~models.equipment.StockMove`), leaving out documents that were reversed;
  the **daily rate** planned with is the largest of the three averages, so a recent burst is not
  averaged away by a quiet month;
* **now** — what can still be given out: a consumable's available quantity (on hand − reserved),
  a serial type's working, free assets in a warehouse;
* **stockout** — ``now / rate`` days from today (none while nothing is consumed);
* **recommended minimum** — consumption during the supplier's lead time
  (:attr:`EqProduct.lead_time_days`) plus a safety stock of ``safety_days`` of consumption;
  **maximum** — the minimum plus ``review_days`` of consumption; **order** — up to the maximum,
  proposed once ``now`` is at or below the minimum.

The report reads "Пополнить Router X: сейчас 8 шт, прогноз 0 через 12 дней, рекомендуем +20".
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from app.core import CurrentUser, FormField, Report, ReportResult, blocks, fields
from app.core.display import today
from app.core.i18n import t
from models.equipment import (
    Asset,
    Condition,
    DocumentStatus,
    EqProduct,
    Location,
    MoveKind,
    Process,
    StockDocument,
    StockItem,
    StockMove,
)

WINDOWS = (7, 14, 30)
CONSUMPTION = (MoveKind.SHIPMENT, MoveKind.WRITE_OFF)
ROUTE = "/equipment/forecast"


@dataclass
class Forecast:
    product_id: int
    name: str
    now: int
    avg: dict[int, float]
    lead_time_days: int
    rate: float
    days_left: int | None
    stockout: dt.date | None
    rec_min: int
    rec_max: int
    order: int

    def line(self, lang: str = "ru") -> str:
        if self.days_left is None:
            return t("equipment.forecast.idle", lang, name=self.name, now=self.now)
        key = "equipment.forecast.reorder" if self.order > 0 else "equipment.forecast.enough"
        return t(key, lang, name=self.name, now=self.now, days=self.days_left, order=self.order)


def compute(product_id: int, name: str, now: int, consumed: dict[int, int], lead_time_days: int, *, on: dt.date,
            safety_days: int = 7, review_days: int = 30) -> Forecast:
    """One product's forecast from what it has now and what it consumed in each window (pure: the
    unit test checks it by hand)."""
    avg = {w: consumed.get(w, 0) / w for w in WINDOWS}
    rate = max(avg.values())
    if rate <= 0:
        return Forecast(product_id, name, now, avg, lead_time_days, 0.0, None, None, 0, 0, 0)
    days_left = math.floor(max(now, 0) / rate)
    rec_min = math.ceil(rate * lead_time_days) + math.ceil(rate * safety_days)
    rec_max = rec_min + math.ceil(rate * review_days)
    order = rec_max - now if now <= rec_min else 0
    return Forecast(product_id, name, now, avg, lead_time_days, rate, days_left, on + dt.timedelta(days=days_left), rec_min, rec_max, order)


def consumption(db: Session, on: dt.date, warehouse_id: int | None = None) -> dict[int, dict[int, int]]:
    """product → {window: units consumed in the ``window`` days up to ``on``} from the ledger."""
    end = dt.datetime.combine(on + dt.timedelta(days=1), dt.time.min, tzinfo=dt.timezone.utc)
    out: dict[int, dict[int, int]] = {}
    for w in WINDOWS:
        start = end - dt.timedelta(days=w)
        stmt = (
            select(StockMove.product_id, func.coalesce(-func.sum(StockMove.qty), 0))
            .outerjoin(StockDocument, StockDocument.id == StockMove.document_id)
            .where(StockMove.kind.in_(CONSUMPTION), StockMove.at >= start, StockMove.at < end,
                   (StockDocument.id.is_(None)) | (StockDocument.status != DocumentStatus.REVERSED))
            .group_by(StockMove.product_id)
        )
        if warehouse_id:
            stmt = stmt.where(StockMove.warehouse_id == warehouse_id)
        for pid, n in db.exec(stmt):
            out.setdefault(pid, {})[w] = int(n or 0)
    return out


def on_hand(db: Session, warehouse_id: int | None = None) -> dict[int, int]:
    """product → what can be given out now (consumables available, serial assets free and working in a warehouse)."""
    stock = select(StockItem.product_id, func.sum(StockItem.qty_available)).group_by(StockItem.product_id)
    assets = (select(Asset.product_id, func.count(Asset.id))
              .where(Asset.process == Process.FREE, Asset.condition == Condition.WORKING,
                     Asset.location.in_([Location.MAIN_WAREHOUSE, Location.BIN]))
              .group_by(Asset.product_id))
    if warehouse_id:
        stock = stock.where(StockItem.warehouse_id == warehouse_id)
        assets = assets.where(Asset.warehouse_id == warehouse_id)
    out: dict[int, int] = {}
    for pid, n in [*db.exec(stock), *db.exec(assets)]:
        out[pid] = out.get(pid, 0) + int(n or 0)
    return out


def forecasts(db: Session, *, on: dt.date | None = None, warehouse_id: int | None = None, safety_days: int = 7) -> list[Forecast]:
    """Every active product's forecast, those to reorder first (soonest stockout first)."""
    on = on or today()
    used = consumption(db, on, warehouse_id)
    have = on_hand(db, warehouse_id)
    products = db.exec(select(EqProduct).where(EqProduct.is_active.is_(True)).order_by(EqProduct.name)).all()
    out = [compute(p.id, p.name, have.get(p.id, 0), used.get(p.id, {}), p.lead_time_days, on=on, safety_days=safety_days)
           for p in products if p.id in used or p.id in have]
    return sorted(out, key=lambda f: (f.order <= 0, f.days_left if f.days_left is not None else 10**9, f.name))


def report(db: Session, user: CurrentUser, params: dict[str, Any], lang: str = "ru") -> ReportResult:
    """The forecast report's compute (:data:`FORECAST`). Its advice column is a sentence, so it is
    written here, in the reader's ``lang`` (the kit passes the page's or the API request's)."""
    rows = forecasts(db, warehouse_id=params.get("warehouse_id"), safety_days=params.get("safety_days") or 7)
    table = [{
        "advice": f.line(lang), "name": f.name, "now": f.now, "avg7": round(f.avg[7], 2), "avg14": round(f.avg[14], 2),
        "avg30": round(f.avg[30], 2), "lead": f.lead_time_days, "stockout": f.stockout, "min": f.rec_min, "max": f.rec_max,
        "order": f.order,
    } for f in rows]
    soon = [f for f in rows if f.days_left is not None and f.days_left <= f.lead_time_days]
    return ReportResult(kpis={"to_order": sum(1 for f in rows if f.order > 0), "run_out": len(soon),
                              "units": sum(f.order for f in rows)}, tables={"forecast": table})


FORECAST = Report(
    "forecast", ROUTE, "equipment.forecast", perm="equipment.forecast.view", icon="trending-down", id_prefix="fc",
    params=[
        fields.relation("warehouse_id", "equipment.warehouses", label="equipment.warehouse", help="equipment.forecast.all_warehouses"),
        FormField("safety_days", "int", label="equipment.forecast.safety_days", default=7, min=0, max=90),
    ],
    compute=report,
    kpis=[
        blocks.kpi("to_order", "equipment.forecast.to_order"),
        blocks.kpi("run_out", "equipment.forecast.run_out", color="red"),
        blocks.kpi("units", "equipment.forecast.units"),
    ],
    tables=[blocks.table("forecast", "equipment.forecast", [
        blocks.column("advice", "equipment.forecast.advice"),
        blocks.column("now", "equipment.forecast.now", "int"),
        blocks.column("avg7", "equipment.forecast.avg7", "number"),
        blocks.column("avg14", "equipment.forecast.avg14", "number"),
        blocks.column("avg30", "equipment.forecast.avg30", "number"),
        blocks.column("lead", "equipment.lead_time_days", "int"),
        blocks.column("stockout", "equipment.forecast.stockout", "date"),
        blocks.column("min", "equipment.forecast.min", "int"),
        blocks.column("max", "equipment.forecast.max", "int"),
        blocks.column("order", "equipment.forecast.order", "int"),
    ])],
    live={"eq_stock_move", "eq_stock_item", "eq_asset"},
)
