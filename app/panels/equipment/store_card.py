"""The store card (seed 000, sections 0, 9, 11 and 13 stage 4: "магазины как центр правды").

What is installed at the store with its statuses; what was sent, what is on its way, what arrived
but is not installed yet; the "new store" process while one runs (section 14); and the map: the
store, the warehouse that sends to it and the route between them with the ETA, plus the courier
search margin from the integration settings (section 9).

The route comes from the routing provider (OSRM's HTTP API at the configured address); with none
configured it is a straight-line estimate, and the card says so. A route is kept in Redis for an
hour per (warehouse, store): the card opens without asking the router each time.

Reading it is a handful of indexed queries on the store's id (``ix_eq_asset_store_id_id``...):
the card's server time stays flat as the asset table grows (``bench/equipment.py``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, select

from app.core import CurrentUser, NotFound, PermissionDenied, redis_client
from app.panels.equipment import process
from integrations.routing import GeoPoint, Router, RoutingError, haversine_m
from models.equipment import (
    Asset,
    DeliveryOrder,
    EqProduct,
    Process,
    Shipment,
    ShipmentStatus,
    Store,
    Warehouse,
)

log = logging.getLogger(__name__)

VIEW_PERM = "equipment.stores.view"
ROUTE_TTL_SECONDS = 3600
INSTALLED_SHOWN = 200
SHIPMENTS_SHOWN = 20
ON_THE_WAY = (ShipmentStatus.HANDED_OVER, ShipmentStatus.IN_TRANSIT)


@dataclass
class RouteInfo:
    warehouse_id: int
    warehouse: str
    distance_km: float
    drive_min: int
    margin_min: int
    eta_min: int
    estimated: bool  # a straight-line estimate, not a routed path
    note: str = ""
    line: list[list[float]] = field(default_factory=list)


@dataclass
class Card:
    store: dict[str, Any]
    counts: dict[str, int]
    installed: list[dict[str, Any]]
    installed_total: int
    shipments: list[dict[str, Any]]
    points: list[dict[str, Any]]
    route: RouteInfo | None
    new_store: dict[str, Any] | None


def _can(user: CurrentUser) -> None:
    if not user.has_perm(VIEW_PERM):
        raise PermissionDenied()


def _sending_warehouse(db: Session, store: Store) -> Warehouse | None:
    """The warehouse of the store's latest shipment; else the nearest one with coordinates."""
    last = db.exec(select(Shipment.warehouse_id).where(Shipment.store_id == store.id)
                   .order_by(Shipment.created_at.desc(), Shipment.id.desc()).limit(1)).first()
    if last is not None:
        wh = db.get(Warehouse, last)
        if wh is not None and wh.lat is not None:
            return wh
    if store.lat is None or store.lon is None:
        return None
    candidates = db.exec(select(Warehouse).where(Warehouse.lat.is_not(None), Warehouse.is_active)).all()
    here = GeoPoint(store.lat, store.lon)
    return min(candidates, key=lambda w: haversine_m(here, GeoPoint(w.lat, w.lon)), default=None)


def route_info(db: Session, store: Store, warehouse: Warehouse, *, routing_url: str | None, margin_min: int) -> RouteInfo | None:
    """Warehouse → store by the router (or a straight-line estimate), cached for an hour."""
    if store.lat is None or warehouse.lat is None:
        return None
    key = f"pult:eq:route:{warehouse.id}:{store.id}:{routing_url or '-'}:{warehouse.lat},{warehouse.lon}:{store.lat},{store.lon}"
    r = redis_client()
    try:
        cached = r.get(key)
    except Exception:  # noqa: BLE001 - the cache is an optimisation: no Redis, ask the router
        cached = None
    if cached:
        data = json.loads(cached)
    else:
        try:
            with Router(routing_url or None, timeout=5) as router:
                got = router.route(GeoPoint(warehouse.lat, warehouse.lon), GeoPoint(store.lat, store.lon))
        except RoutingError as exc:
            log.warning("route %s -> %s: %s", warehouse.id, store.id, exc)
            return RouteInfo(warehouse.id, warehouse.name, 0, 0, margin_min, 0, True, note=str(exc))
        data = {"distance_km": round(got.distance_m / 1000, 1), "drive_min": round(got.duration_s / 60),
                "estimated": bool(got.estimated), "note": got.label(), "line": got.latlngs()}
        try:
            r.set(key, json.dumps(data), ex=ROUTE_TTL_SECONDS)
        except Exception:  # noqa: BLE001
            pass
    return RouteInfo(warehouse.id, warehouse.name, data["distance_km"], data["drive_min"], margin_min,
                     data["drive_min"] + margin_min, data["estimated"], data.get("note", ""), data.get("line", []))


def card(db: Session, user: CurrentUser, store_id: int, *, routing_url: str | None = None, margin_min: int = 15,
         with_route: bool = True) -> Card:
    _can(user)
    store = db.get(Store, store_id)
    if store is None:
        raise NotFound()
    counts = {p.value if hasattr(p, "value") else p: n for p, n in db.exec(
        select(Asset.process, func.count()).where(Asset.store_id == store.id).group_by(Asset.process)).all()}
    installed_rows = db.exec(
        select(Asset.id, Asset.sn, EqProduct.name, Asset.process, Asset.condition, Asset.installed_at, Asset.delivered_at)
        .join(EqProduct, EqProduct.id == Asset.product_id)
        .where(Asset.store_id == store.id)
        # what still needs someone first: not installed, then the rest by SN
        .order_by(case((Asset.process == Process.NOT_INSTALLED, 0), else_=1), Asset.sn)
        .limit(INSTALLED_SHOWN)
    ).all()
    installed = [{"id": i, "sn": sn, "product": name, "process": p.value, "condition": c.value,
                  "installed_at": inst, "delivered_at": dlv} for i, sn, name, p, c, inst, dlv in installed_rows]
    ships = db.exec(
        select(Shipment, Warehouse.name, DeliveryOrder.status, DeliveryOrder.id)
        .join(Warehouse, Warehouse.id == Shipment.warehouse_id)
        .join(DeliveryOrder, DeliveryOrder.shipment_id == Shipment.id, isouter=True)
        .where(Shipment.store_id == store.id)
        .order_by(Shipment.created_at.desc(), Shipment.id.desc()).limit(SHIPMENTS_SHOWN)
    ).all()
    seen: set[int] = set()
    shipments = []
    for s, wh_name, d_status, d_id in ships:
        if s.id in seen:  # the latest delivery order only
            continue
        seen.add(s.id)
        shipments.append({"id": s.id, "status": s.status.value, "warehouse": wh_name, "delivery": d_status.value if d_status else "",
                          "delivery_id": d_id, "created_at": s.created_at, "delivered_at": s.delivered_at})
    wh = _sending_warehouse(db, store)
    points = []
    if store.lat is not None and store.lon is not None:
        points.append({"lat": store.lat, "lon": store.lon, "label": store.name, "kind": "store"})
    if wh is not None and wh.lat is not None:
        points.append({"lat": wh.lat, "lon": wh.lon, "label": wh.name, "kind": "warehouse"})
    route = route_info(db, store, wh, routing_url=routing_url, margin_min=margin_min) if (with_route and wh is not None) else None
    return Card(
        store={"id": store.id, "code": store.code, "name": store.name, "city": store.city or "", "address": store.address or "",
               "contact": " · ".join(x for x in (store.contact_name, store.contact_phone) if x)},
        counts=counts, installed=installed, installed_total=sum(counts.values()), shipments=shipments, points=points,
        route=route, new_store=process.store_progress(db, store.id),
    )
