"""The replenishment forecast (seed 000, section 10) on a hand-computed example."""

from __future__ import annotations

import datetime as dt

from app.panels.equipment import forecast
from app.core.display import today
from models.equipment import EqProduct, MoveKind, ProductKind, StockDocument, StockItem, StockMove, Warehouse, DocumentKind, DocumentStatus


def test_compute_by_hand():
    # 14 units in the last 7 days, nothing before: 7 d = 2.0/day, 14 d = 1.0, 30 d = 0.4667.
    # The rate is the largest: 2.0. 8 available → 0 in 8 / 2 = 4 days.
    # min = ceil(2 × 5 lead days) + ceil(2 × 7 safety days) = 10 + 14 = 24; max = 24 + ceil(2 × 30) = 84;
    # 8 ≤ 24, so order 84 − 8 = 76.
    on = dt.date(2026, 12, 7)
    f = forecast.compute(1, "Router X", 8, {7: 14, 14: 14, 30: 14}, 5, on=on)
    assert (round(f.avg[7], 4), round(f.avg[14], 4), round(f.avg[30], 4)) == (2.0, 1.0, 0.4667)
    assert (f.rate, f.days_left, f.stockout) == (2.0, 4, dt.date(2026, 12, 11))
    assert (f.rec_min, f.rec_max, f.order) == (24, 84, 76)
    assert f.line() == "Пополнить Router X: сейчас 8 шт, прогноз 0 через 4 дн., рекомендуем +76"
    # plenty in stock: no order; nothing consumed: no stockout at all
    assert forecast.compute(1, "Router X", 100, {7: 14, 14: 14, 30: 14}, 5, on=on).order == 0
    idle = forecast.compute(1, "Router X", 3, {}, 5, on=on)
    assert (idle.days_left, idle.stockout, idle.order) == (None, None, 0)


def test_forecast_reads_consumption_from_the_ledger(db):
    wh = Warehouse(code="W", name="Склад")
    p = EqProduct(sku="C", name="Кабель", kind=ProductKind.CONSUMABLE, lead_time_days=3)
    db.add_all([wh, p])
    db.flush()
    db.add(StockItem(product_id=p.id, warehouse_id=wh.id, qty_on_hand=10))
    now = dt.datetime.now(dt.timezone.utc)
    reversed_doc = StockDocument(kind=DocumentKind.WRITE_OFF, status=DocumentStatus.REVERSED, warehouse_id=wh.id)
    db.add(reversed_doc)
    db.flush()
    db.add_all([
        StockMove(product_id=p.id, warehouse_id=wh.id, kind=MoveKind.SHIPMENT, qty=-6, at=now - dt.timedelta(days=2)),
        StockMove(product_id=p.id, warehouse_id=wh.id, kind=MoveKind.WRITE_OFF, qty=-3, at=now - dt.timedelta(days=20)),
        StockMove(product_id=p.id, warehouse_id=wh.id, kind=MoveKind.RECEIPT, qty=50, at=now - dt.timedelta(days=1)),  # not consumption
        StockMove(product_id=p.id, warehouse_id=wh.id, kind=MoveKind.WRITE_OFF, qty=-100, at=now, document_id=reversed_doc.id),  # undone
        StockMove(product_id=p.id, warehouse_id=wh.id, kind=MoveKind.SHIPMENT, qty=-99, at=now - dt.timedelta(days=40)),  # too old
    ])
    db.commit()
    used = forecast.consumption(db, today())[p.id]
    assert used == {7: 6, 14: 6, 30: 9}
    [f] = forecast.forecasts(db)
    # rate = max(6/7, 6/14, 9/30) = 0.857; 10 available → 11 days; min = ceil(2.57) + ceil(6) = 3 + 6 = 9; 10 > 9: no order yet
    assert (f.now, f.days_left, f.rec_min, f.order) == (10, 11, 9, 0)


def test_the_report_writes_its_advice_in_the_readers_language(db):
    """The page and the API run the report through ``Report.run(..., lang)``: the advice line is
    in the reader's language (it was Russian for everyone), the figures the same in both."""
    from app.core.auth import SYSTEM

    wh = Warehouse(code="W", name="Склад")
    p = EqProduct(sku="RX", name="Router X", kind=ProductKind.CONSUMABLE, lead_time_days=5)
    db.add_all([wh, p])
    db.flush()
    db.add(StockItem(product_id=p.id, warehouse_id=wh.id, qty_on_hand=8))
    db.add(StockMove(product_id=p.id, warehouse_id=wh.id, kind=MoveKind.SHIPMENT, qty=-14, at=dt.datetime.now(dt.timezone.utc)))
    db.commit()
    advice = {}
    for lang in ("ru", "en"):
        _params, result = forecast.FORECAST.run(db, SYSTEM, {}, lang)
        [row] = result.tables["forecast"]
        advice[lang] = row["advice"]
        assert (row["now"], row["order"]) == (8, 76)
    assert advice["ru"] == "Пополнить Router X: сейчас 8 шт, прогноз 0 через 4 дн., рекомендуем +76"
    assert advice["en"] == "Reorder Router X: 8 now, 0 in 4 days, order +76"
    assert forecast.FORECAST.run(db, SYSTEM, {})[1].tables["forecast"][0]["advice"] == advice["ru"]  # Russian unless told
