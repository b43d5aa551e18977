"""The equipment demo loads through the real services and is idempotent."""

from __future__ import annotations

import random

from sqlmodel import func, select

from app.core.auth import SYSTEM
from app.panels.equipment import dashboard, demo, forecast
from models.equipment import Asset, DocumentStatus, EqRequest, Shipment, StockDocument, Store


def test_demo_loads_once_and_calls_for_a_reorder(db):
    created = demo.load(db, random.Random(1), SYSTEM)
    db.commit()
    assert 200 <= created <= 300
    assert db.exec(select(func.count()).select_from(Store)).one() == 10
    assert db.exec(select(func.count()).select_from(StockDocument).where(StockDocument.status != DocumentStatus.POSTED)).one() == 0
    assert db.exec(select(func.count()).select_from(Asset).where(Asset.process == "IN_REPAIR")).one() == 5
    assert any(f.order > 0 for f in forecast.forecasts(db))
    # five printers from before the panel, and the demo request's router and terminal delivered by the store's car
    assert dashboard.not_installed(db, SYSTEM)[0] == 7 and dashboard.low_stock(db, SYSTEM)
    # the process at each of its stages, for a newcomer to walk on
    stages = db.exec(select(EqRequest.status, Shipment.status).join(Shipment, Shipment.request_id == EqRequest.id, isouter=True)
                     .order_by(EqRequest.id)).all()
    assert [(r.value, s.value if s else None) for r, s in stages] == [
        ("NEW", None), ("PICKING", "PICKING"), ("PICKING", "CONFIRMED"), ("DELIVERED", "DELIVERED")]
    assert demo.load(db, random.Random(1), SYSTEM) == 0
