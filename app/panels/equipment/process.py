"""The process side of the equipment panel (seed 000, sections 2, 3, 8, 13.2, 13.5, 14): requests
from templates, reservations, picking with a checklist, shipments, delivered ≠ installed, the
"new store" progress and SLA alerts.

Every function runs in the caller's transaction and never commits (the resource action, the API
route or the job that calls it commits once, so a refusal half-way leaves nothing behind). Each
checks its own permission; every move of a status goes through a declared machine — the asset's
three axes (:mod:`app.panels.equipment.machines`), the request's :data:`REQUEST` and the
shipment's :data:`SHIPMENT` — with ``system=True`` where the move is a consequence the service
makes (a shipment handed over moves its assets), never a person's own choice.

Concurrency. Reserving is the racing step: two storekeepers may reserve the same router, or the
last 3 cables, at the same moment. Both are conditional UPDATEs that PostgreSQL re-checks after
waiting for a competing row lock, so the loser updates nothing and is told so:

* an asset: ``UPDATE eq_asset SET process='RESERVED' … WHERE id=:id AND process='FREE' AND
  condition='WORKING' AND location IN (warehouse)`` (the partial unique index on active
  reservations backs it);
* a consumable: ``UPDATE eq_stock_item SET qty_reserved = qty_reserved + :n WHERE id=:id AND
  qty_on_hand - qty_reserved >= :n`` (the CHECK ``qty_reserved <= qty_on_hand`` backs it);
* a request line never holds more than it asks for: ``qty_reserved < qty`` in the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, text, update
from sqlmodel import Session, select

from app.core import SYSTEM, CurrentUser, JobContext, Machine, Transition, audit, bus, ensure_schedule, job_kind
from app.core.jobs import system_schedule
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.notify import notify
from app.panels.equipment.machines import IN_WAREHOUSE, LOCATION, PROCESS
from models.core import AuditLog, Setting
from models.equipment import (
    Asset,
    AssetEvent,
    Condition,
    DeliveryOrder,
    DeliveryProvider,
    DeliveryStatus,
    EqProduct,
    EqRequest,
    Location,
    MoveKind,
    Process,
    ProductKind,
    RequestKind,
    RequestLine,
    RequestStatus,
    RequestTemplate,
    RequestTemplateLine,
    Reservation,
    ReservationStatus,
    Shipment,
    ShipmentItem,
    ShipmentStatus,
    StockItem,
    StockMove,
    Store,
)
from models.files import StoredFile

# ---------------------------------------------------------------- the request's and the shipment's machines

REQUEST = Machine("status", RequestStatus, [
    Transition("reserve", RequestStatus.NEW, RequestStatus.RESERVED, system=True),  # every line fully reserved
    Transition("unreserve", RequestStatus.RESERVED, RequestStatus.NEW, system=True),  # a reservation released
    Transition("pick", RequestStatus.RESERVED, RequestStatus.PICKING, system=True),  # a shipment is being picked
    Transition("ship", RequestStatus.PICKING, RequestStatus.SHIPPED, system=True),  # handed to the courier
    Transition("deliver", RequestStatus.SHIPPED, RequestStatus.DELIVERED, system=True),
    Transition("install", RequestStatus.DELIVERED, RequestStatus.INSTALLED, system=True),  # every asset installed
    Transition("close", [RequestStatus.DELIVERED, RequestStatus.INSTALLED], RequestStatus.DONE, system=True),  # and the checklist done
    Transition("cancel", [RequestStatus.NEW, RequestStatus.RESERVED, RequestStatus.PICKING], RequestStatus.CANCELLED, system=True),
], label="eq_request.status")
"""A request's status moves only by the services (every transition is ``system``): what a person
does is reserve, pick, confirm, install — the request follows."""

SHIPMENT = Machine("status", ShipmentStatus, [
    Transition("picked", ShipmentStatus.PICKING, ShipmentStatus.PICKED, system=True),  # every line ticked
    Transition("unpicked", ShipmentStatus.PICKED, ShipmentStatus.PICKING, system=True),
    Transition("confirm", ShipmentStatus.PICKED, ShipmentStatus.CONFIRMED, perm="equipment.shipments.confirm"),
    Transition("hand_over", ShipmentStatus.CONFIRMED, ShipmentStatus.HANDED_OVER, perm="equipment.shipments.hand_over"),
    Transition("in_transit", ShipmentStatus.HANDED_OVER, ShipmentStatus.IN_TRANSIT, system=True),  # the provider says so
    Transition("deliver", [ShipmentStatus.HANDED_OVER, ShipmentStatus.IN_TRANSIT], ShipmentStatus.DELIVERED, system=True),
    # cancelled with its request (cancel_request), which releases what it held
    Transition("cancel", [ShipmentStatus.PICKING, ShipmentStatus.PICKED, ShipmentStatus.CONFIRMED], ShipmentStatus.CANCELLED, system=True),
], label="eq_shipment.status")

OPEN_REQUEST = (RequestStatus.NEW, RequestStatus.RESERVED, RequestStatus.PICKING, RequestStatus.SHIPPED,
                RequestStatus.DELIVERED, RequestStatus.INSTALLED)

#: Settings (``setting`` rows) the SLA check reads; defaults when unset.
INSTALL_HOURS_KEY = "equipment.sla.install_hours"
DELIVERY_HOURS_KEY = "equipment.sla.delivery_hours"
DEFAULT_INSTALL_HOURS = 48
DEFAULT_DELIVERY_HOURS = 24


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _need(user: CurrentUser, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied()


def _event(db: Session, user: CurrentUser, asset: Asset, axis: str, before: str | None, after: str | None, *,
           shipment_id: int | None = None, note: str | None = None) -> None:
    db.add(AssetEvent(asset_id=asset.id, axis=axis, from_value=before, to_value=after, shipment_id=shipment_id,
                      user_id=user.id if user else None, note=note))


def _move(db: Session, user: CurrentUser, asset: Asset, machine: Machine, target: Any, *, system: bool = True,
          shipment_id: int | None = None) -> None:
    """Move one axis of ``asset`` through its machine (audited) and write the asset's event."""
    mv = machine.move(db, user, asset, target, system=system)
    _event(db, user, asset, machine.field, mv.before, mv.after, shipment_id=shipment_id)
    asset.updated_at = now()


def _lock(db: Session, model: type, pk: Any) -> Any:
    row = db.exec(select(model).where(model.id == pk).with_for_update().execution_options(populate_existing=True)).first()
    if row is None:
        raise NotFound()
    return row


def _product_name(db: Session, product_id: int) -> str:
    p = db.get(EqProduct, product_id)
    return p.name if p else f"#{product_id}"


# ---------------------------------------------------------------- templates and requests


def checklist_items(raw: Any) -> list[str]:
    """A checklist typed as text (one item a line) or given as a list, as clean items."""
    if raw is None:
        return []
    items = raw.splitlines() if isinstance(raw, str) else [str(x.get("item", "")) if isinstance(x, dict) else str(x) for x in raw]
    return [i.strip()[:300] for i in items if i and i.strip()][:100]


def fresh_checklist(items: list[str]) -> list[dict[str, Any]]:
    return [{"item": i, "done": False, "by": None, "at": None} for i in items]


def template_rows(db: Session, template_id: int) -> list[dict[str, Any]]:
    """A template's lines as rows of the request's ``lines`` field."""
    lines = db.exec(select(RequestTemplateLine).where(RequestTemplateLine.template_id == template_id).order_by(RequestTemplateLine.id)).all()
    return [{"product_id": str(x.product_id), "qty": str(x.qty)} for x in lines]


def apply_template(db: Session, request: EqRequest, template: RequestTemplate) -> None:
    """What a request takes from its template: kind, checklist and (when none given) a title."""
    request.template_id = template.id
    request.kind = template.kind
    request.checklist = fresh_checklist(checklist_items(template.checklist))
    if not request.title:
        request.title = template.name


def create_request(db: Session, user: CurrentUser, *, store_id: int, warehouse_id: int | None, template_id: int | None = None,
                   title: str | None = None, lines: list[tuple[int, int]] | None = None, comment: str | None = None,
                   kind: RequestKind = RequestKind.REGULAR) -> EqRequest:
    """A request for a store, from a template (its lines and checklist copied) or by hand (``lines``
    as ``(product_id, qty)``). Support and chiefs create requests."""
    _need(user, "equipment.requests.create")
    if db.get(Store, store_id) is None:
        raise ValidationFailed.one("store_id", "error.relation")
    req = EqRequest(store_id=store_id, warehouse_id=warehouse_id, title=(title or "").strip(), comment=comment, kind=kind,
                    created_by_id=user.id)
    if template_id is not None:
        template = db.get(RequestTemplate, template_id)
        if template is None or not template.is_active:
            raise ValidationFailed.one("template_id", "error.relation")
        apply_template(db, req, template)
        if lines is None:
            lines = [(int(r["product_id"]), int(r["qty"])) for r in template_rows(db, template_id)]
    if not req.title:
        raise ValidationFailed.one("title", "error.required")
    if not lines:
        raise ValidationFailed.one("lines", "equipment.request_no_lines")
    db.add(req)
    db.flush()
    for product_id, qty in lines:
        if qty <= 0:
            raise ValidationFailed.one("lines", "error.min", min=1)
        db.add(RequestLine(request_id=req.id, product_id=product_id, qty=qty))
    db.flush()
    audit.record(db, user, "create", "equipment.requests", req.id, {"store_id": store_id, "template_id": template_id, "lines": lines})
    bus.mark(db, "eq_request", [req.id], "create")
    return req


def _lines(db: Session, request_id: int) -> list[RequestLine]:
    return list(db.exec(select(RequestLine).where(RequestLine.request_id == request_id).order_by(RequestLine.id)
                        .execution_options(populate_existing=True)).all())


def _after_reserving(db: Session, user: CurrentUser, request: EqRequest) -> None:
    """NEW → RESERVED once every line holds all it asks for; RESERVED → NEW when one no longer does."""
    full = all(x.qty_reserved >= x.qty for x in _lines(db, request.id))
    if full and request.status is RequestStatus.NEW:
        REQUEST.move(db, user, request, RequestStatus.RESERVED, system=True, entity="eq_request")
    elif not full and request.status is RequestStatus.RESERVED:
        REQUEST.move(db, user, request, RequestStatus.NEW, system=True, entity="eq_request")
    bus.mark(db, "eq_request", [request.id], "update")


def _reservable_request(request: EqRequest) -> None:
    if request.status not in (RequestStatus.NEW, RequestStatus.RESERVED):
        raise ValidationFailed.one("", "equipment.request_not_reservable", status=f"eq_request.status.{request.status.value}")
    if request.warehouse_id is None:
        raise ValidationFailed.one("warehouse_id", "equipment.request_no_warehouse")


def _take_line(db: Session, request: EqRequest, product_id: int, n: int) -> RequestLine:
    """Count ``n`` more reserved on the request's line for ``product_id``, never past its quantity."""
    for line in _lines(db, request.id):
        if line.product_id != product_id:
            continue
        got = db.execute(
            update(RequestLine).where(RequestLine.id == line.id, RequestLine.qty_reserved + n <= RequestLine.qty)
            .values(qty_reserved=RequestLine.qty_reserved + n).returning(RequestLine.id)
        ).first()
        if got is not None:
            db.refresh(line)
            return line
    name = _product_name(db, product_id)
    mine = [x for x in _lines(db, request.id) if x.product_id == product_id]
    if not mine:
        raise ValidationFailed.one("", "equipment.not_in_request", product=name)
    rest = sum(x.qty - x.qty_reserved for x in mine)
    if rest > 0:  # asked for more than the request still lacks
        raise ValidationFailed.one("qty", "equipment.line_rest", product=name, rest=rest)
    raise ValidationFailed.one("", "equipment.line_full", product=name)


def reserve_asset(db: Session, user: CurrentUser, request: EqRequest, sn: str) -> Reservation:
    """Reserve the serial asset ``sn`` for ``request``: a free, working asset in the request's
    warehouse, of a product the request asks for and still short of. Refused with a message when
    anyone reserved it first (the conditional UPDATE moved nothing)."""
    _reservable_request(request)
    sn = (sn or "").strip()
    asset = db.exec(select(Asset).where(Asset.sn == sn)).first()
    if asset is None:
        raise ValidationFailed.one("sn", "equipment.sn_unknown", sn=sn)
    if asset.warehouse_id != request.warehouse_id:
        raise ValidationFailed.one("sn", "equipment.sn_other_warehouse", sn=sn)
    if asset.process is not Process.FREE:
        _need(user, "equipment.reservations.create")
        raise ValidationFailed.one("sn", "equipment.sn_taken", sn=sn)
    PROCESS.check(user, asset, PROCESS.transition("reserve"))  # permission, FREE, working and in a warehouse
    line = _take_line(db, request, asset.product_id, 1)
    moved = db.execute(
        update(Asset).where(Asset.id == asset.id, Asset.process == Process.FREE, Asset.condition == Condition.WORKING,
                            Asset.location.in_(IN_WAREHOUSE), Asset.warehouse_id == request.warehouse_id)
        .values(process=Process.RESERVED, request_id=request.id, updated_at=now()).returning(Asset.id)
    ).first()
    if moved is None:
        raise ValidationFailed.one("sn", "equipment.sn_taken", sn=sn)
    db.refresh(asset)
    audit.record(db, user, "eq_asset.process", "eq_asset", asset.id, {"process": ["FREE", "RESERVED"], "transition": "reserve",
                                                                      "request_id": request.id})
    _event(db, user, asset, "process", "FREE", "RESERVED", note=f"request {request.id}")
    res = Reservation(request_id=request.id, request_line_id=line.id, asset_id=asset.id, qty=1, created_by_id=user.id)
    db.add(res)
    db.flush()
    bus.mark(db, "eq_asset", [asset.id], "update")
    bus.mark(db, "eq_reservation", [res.id], "create")
    _after_reserving(db, user, request)
    return res


def _available(db: Session, product_id: int, warehouse_id: int) -> int:
    return int(db.exec(select(func.coalesce(func.sum(StockItem.qty_on_hand - StockItem.qty_reserved), 0))
                       .where(StockItem.product_id == product_id, StockItem.warehouse_id == warehouse_id)).one())


def _not_enough(db: Session, product_id: int, warehouse_id: int, wanted: int, field: str = "qty") -> ValidationFailed:
    return ValidationFailed.one(field, "equipment.not_enough", product=_product_name(db, product_id), wanted=wanted,
                                available=_available_any(db, product_id, warehouse_id))


def _available_any(db: Session, product_id: int, warehouse_id: int) -> int:
    p = db.get(EqProduct, product_id)
    if p is not None and p.kind is ProductKind.SERIAL:
        return len(_free_assets(db, product_id, warehouse_id, None))
    return _available(db, product_id, warehouse_id)


def reserve_quantity(db: Session, user: CurrentUser, request: EqRequest, product_id: int, qty: int) -> list[Reservation]:
    """Reserve ``qty`` of a consumable for ``request`` from the stock items of its warehouse. More
    than is available is refused naming the product and what is available; nothing is reserved."""
    _need(user, "equipment.reservations.create")
    _reservable_request(request)
    if qty is None or qty <= 0:
        raise ValidationFailed.one("qty", "error.min", min=1)
    product = db.get(EqProduct, product_id)
    if product is None:
        raise ValidationFailed.one("product_id", "error.relation")
    if product.kind is not ProductKind.CONSUMABLE:
        raise ValidationFailed.one("product_id", "equipment.serial_by_sn", product=product.name)
    line = _take_line(db, request, product_id, qty)
    need, out = qty, []
    for _attempt in range(100):  # each miss means someone else took stock meanwhile: read again
        if need == 0:
            break
        item = db.exec(select(StockItem).where(StockItem.product_id == product_id, StockItem.warehouse_id == request.warehouse_id,
                                               StockItem.qty_on_hand - StockItem.qty_reserved > 0)
                       .order_by((StockItem.qty_on_hand - StockItem.qty_reserved).desc(), StockItem.id)
                       .execution_options(populate_existing=True)).first()
        if item is None:
            break
        take = min(need, item.qty_on_hand - item.qty_reserved)
        got = db.execute(text(
            "UPDATE eq_stock_item SET qty_reserved = qty_reserved + :n, updated_at = now() "
            "WHERE id = :id AND qty_on_hand - qty_reserved >= :n RETURNING id"), {"n": take, "id": item.id}).first()
        if got is None:
            continue
        need -= take
        res = Reservation(request_id=request.id, request_line_id=line.id, stock_item_id=item.id, qty=take, created_by_id=user.id)
        db.add(res)
        out.append(res)
        bus.mark(db, "eq_stock_item", [item.id], "update")
    if need > 0:
        raise ValidationFailed.one("qty", "equipment.not_enough", product=product.name, wanted=qty,
                                   available=qty - need + _available(db, product_id, request.warehouse_id))
    db.flush()
    audit.record(db, user, "reserve", "equipment.requests", request.id, {"product_id": product_id, "qty": qty})
    bus.mark(db, "eq_reservation", [r.id for r in out], "create")
    _after_reserving(db, user, request)
    return out


def _free_assets(db: Session, product_id: int, warehouse_id: int, limit: int | None, *, lock: bool = False) -> list[Asset]:
    stmt = (select(Asset).where(Asset.product_id == product_id, Asset.warehouse_id == warehouse_id, Asset.process == Process.FREE,
                                Asset.condition == Condition.WORKING, Asset.location.in_(IN_WAREHOUSE)).order_by(Asset.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    return list(db.exec(stmt).all())


def reserve_auto(db: Session, user: CurrentUser, request: EqRequest) -> int:
    """Reserve what every line of ``request`` still lacks: free working assets of its product types
    in its warehouse, and consumables by quantity. All or nothing: when a line cannot be filled, a
    message names the product, what is wanted and what is available, and nothing is reserved (the
    caller rolls back). Returns the number of units reserved."""
    _need(user, "equipment.reservations.create")
    _reservable_request(request)
    total = 0
    for line in _lines(db, request.id):
        missing = line.qty - line.qty_reserved
        if missing <= 0:
            continue
        product = db.get(EqProduct, line.product_id)
        if product.kind is ProductKind.CONSUMABLE:
            reserve_quantity(db, user, request, line.product_id, missing)
            total += missing
            continue
        # SKIP LOCKED: another reservation holding some of them makes this one take the next free ones
        assets = _free_assets(db, line.product_id, request.warehouse_id, missing, lock=True)
        if len(assets) < missing:
            raise ValidationFailed.one("", "equipment.not_enough", product=product.name, wanted=missing, available=len(assets))
        for asset in assets:
            reserve_asset(db, user, request, asset.sn)
            total += 1
    return total


def release_reservation(db: Session, user: CurrentUser, res: Reservation, *, system: bool = False) -> None:
    """Give back one active reservation: the asset FREE again, or the quantity to the stock item."""
    if res.status is not ReservationStatus.ACTIVE:
        raise ValidationFailed.one("", "equipment.reservation_not_active")
    request = db.get(EqRequest, res.request_id)
    if not system:
        _need(user, "equipment.reservations.create")
        if request.status not in (RequestStatus.NEW, RequestStatus.RESERVED):
            raise ValidationFailed.one("", "equipment.request_not_reservable", status=f"eq_request.status.{request.status.value}")
    if res.asset_id is not None:
        asset = _lock(db, Asset, res.asset_id)
        if asset.process is Process.PICKED:  # picked for a shipment cancelled with its request: put back first
            _move(db, user, asset, PROCESS, Process.RESERVED, system=True)
        # RESERVED → FREE (release); WAITING_SHIPMENT → FREE (unship: a confirmed shipment cancelled)
        _move(db, user, asset, PROCESS, Process.FREE, system=system or asset.process is not Process.RESERVED)
        asset.request_id = asset.shipment_id = None
        bus.mark(db, "eq_asset", [asset.id], "update")
    else:
        db.execute(text("UPDATE eq_stock_item SET qty_reserved = qty_reserved - :n, updated_at = now() WHERE id = :id"),
                   {"n": res.qty, "id": res.stock_item_id})
        bus.mark(db, "eq_stock_item", [res.stock_item_id], "update")
    if res.request_line_id is not None:
        db.execute(update(RequestLine).where(RequestLine.id == res.request_line_id)
                   .values(qty_reserved=func.greatest(RequestLine.qty_reserved - res.qty, 0)))
    res.status = ReservationStatus.RELEASED
    db.add(res)
    audit.record(db, user, "release", "equipment.reservations", res.id, {"request_id": res.request_id})
    bus.mark(db, "eq_reservation", [res.id], "update")
    if not system:
        _after_reserving(db, user, request)


def _active(db: Session, request_id: int) -> list[Reservation]:
    return list(db.exec(select(Reservation).where(Reservation.request_id == request_id, Reservation.status == ReservationStatus.ACTIVE)
                        .order_by(Reservation.id)).all())


def cancel_request(db: Session, user: CurrentUser, request: EqRequest) -> None:
    """Cancel a request that has not left the warehouse: its shipment being picked is cancelled and
    every reservation released (assets FREE, quantities back)."""
    _need(user, "equipment.requests.cancel")
    if request.status not in (RequestStatus.NEW, RequestStatus.RESERVED, RequestStatus.PICKING):
        raise ValidationFailed.one("", "equipment.request_not_cancellable", status=f"eq_request.status.{request.status.value}")
    for sh in db.exec(select(Shipment).where(Shipment.request_id == request.id, Shipment.status.in_(
            [ShipmentStatus.PICKING, ShipmentStatus.PICKED, ShipmentStatus.CONFIRMED]))).all():
        _cancel_shipment(db, user, sh)
    for res in _active(db, request.id):
        release_reservation(db, user, res, system=True)
    REQUEST.move(db, user, request, RequestStatus.CANCELLED, system=True, entity="eq_request")
    request.closed_at = now()
    bus.mark(db, "eq_request", [request.id], "update")


# ---------------------------------------------------------------- picking


def start_picking(db: Session, user: CurrentUser, request: EqRequest, due_at: dt.datetime | None = None) -> Shipment:
    """A shipment (warehouse → store) of everything reserved for ``request``, with its picking
    checklist: the request's checklist items, then one line per item (an asset by its SN, a
    consumable with its quantity)."""
    _need(user, "equipment.shipments.pick")
    if request.status is not RequestStatus.RESERVED:
        raise ValidationFailed.one("", "equipment.request_not_reserved", status=f"eq_request.status.{request.status.value}")
    reservations = _active(db, request.id)
    sh = Shipment(request_id=request.id, warehouse_id=request.warehouse_id, store_id=request.store_id, created_by_id=user.id, due_at=due_at)
    db.add(sh)
    db.flush()
    checklist = [{**c, "done": False, "by": None, "at": None} for c in fresh_checklist(checklist_items(request.checklist))]
    for res in reservations:
        if res.asset_id is not None:
            asset = db.get(Asset, res.asset_id)
            item = ShipmentItem(shipment_id=sh.id, asset_id=asset.id, product_id=asset.product_id, qty=1)
            db.add(item)
            db.flush()
            checklist.append({"item": f"{_product_name(db, asset.product_id)} · SN {asset.sn}", "sn": asset.sn, "item_id": item.id,
                              "done": False, "by": None, "at": None})
        else:
            stock = db.get(StockItem, res.stock_item_id)
            item = ShipmentItem(shipment_id=sh.id, stock_item_id=stock.id, product_id=stock.product_id, qty=res.qty)
            db.add(item)
            db.flush()
            checklist.append({"item": f"{_product_name(db, stock.product_id)} × {res.qty}", "item_id": item.id,
                              "done": False, "by": None, "at": None})
    sh.checklist = checklist
    REQUEST.move(db, user, request, RequestStatus.PICKING, system=True, entity="eq_request")
    audit.record(db, user, "create", "equipment.shipments", sh.id, {"request_id": request.id, "items": len(reservations)})
    bus.mark(db, "eq_shipment", [sh.id], "create")
    bus.mark(db, "eq_request", [request.id], "update")
    return sh


def _items(db: Session, shipment_id: int) -> list[ShipmentItem]:
    return list(db.exec(select(ShipmentItem).where(ShipmentItem.shipment_id == shipment_id).order_by(ShipmentItem.id)
                        .execution_options(populate_existing=True)).all())


def tick(db: Session, user: CurrentUser, shipment: Shipment, code: str) -> str:
    """Tick one line of the picking checklist: a scanned SN picks that asset (RESERVED → PICKED);
    a line number ticks that line (a consumable's line picks it; an asset's line asks for its SN).
    When every line is ticked the shipment is PICKED. Returns the line's text."""
    _need(user, "equipment.shipments.pick")
    if shipment.status is not ShipmentStatus.PICKING:
        raise ValidationFailed.one("code", "equipment.shipment_not_picking", status=f"eq_shipment.status.{shipment.status.value}")
    code = (code or "").strip()
    checklist = [dict(c) for c in shipment.checklist]
    index = next((i for i, c in enumerate(checklist) if c.get("sn") and c["sn"].lower() == code.lower()), None)
    if index is None:
        if not code.isdigit() or not 1 <= int(code) <= len(checklist):
            raise ValidationFailed.one("code", "equipment.tick_unknown", code=code, n=len(checklist))
        index = int(code) - 1
        if checklist[index].get("sn"):
            raise ValidationFailed.one("code", "equipment.tick_scan_sn", item=checklist[index]["item"])
    line = checklist[index]
    if line.get("done"):
        raise ValidationFailed.one("code", "equipment.tick_done", item=line["item"])
    if line.get("item_id"):
        item = db.get(ShipmentItem, line["item_id"])
        if item.asset_id is not None:
            asset = _lock(db, Asset, item.asset_id)
            _move(db, user, asset, PROCESS, Process.PICKED, system=False, shipment_id=shipment.id)  # the storekeeper's own move
            asset.shipment_id = shipment.id
            bus.mark(db, "eq_asset", [asset.id], "update")
        item.picked = True
        db.add(item)
    line.update(done=True, by=user.username, at=now().isoformat())
    checklist[index] = line
    shipment.checklist = checklist
    db.add(shipment)
    audit.record(db, user, "pick", "equipment.shipments", shipment.id, {"line": index + 1, "item": line["item"]})
    if all(c.get("done") for c in checklist):
        SHIPMENT.move(db, user, shipment, ShipmentStatus.PICKED, system=True, entity="eq_shipment")
    bus.mark(db, "eq_shipment", [shipment.id], "update")
    return line["item"]


def confirm_shipment(db: Session, user: CurrentUser, shipment: Shipment) -> None:
    """A storekeeper or chief confirms a picked shipment (support is refused): its assets wait for
    the courier (PICKED → WAITING_SHIPMENT)."""
    SHIPMENT.check(user, shipment, SHIPMENT.transition("confirm"))
    SHIPMENT.fire(db, user, shipment, "confirm", entity="eq_shipment")
    shipment.confirmed_by_id, shipment.confirmed_at = user.id, now()
    for item in _items(db, shipment.id):
        if item.asset_id is not None:
            asset = _lock(db, Asset, item.asset_id)
            _move(db, user, asset, PROCESS, Process.WAITING_SHIPMENT, shipment_id=shipment.id)
            bus.mark(db, "eq_asset", [asset.id], "update")
    bus.mark(db, "eq_shipment", [shipment.id], "update")


def _setting_int(db: Session, key: str, default: int) -> int:
    row = db.get(Setting, key)
    try:
        return int(row.value) if row is not None and row.value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def hand_over(db: Session, user: CurrentUser, shipment: Shipment, due_at: dt.datetime | None = None) -> None:
    """The confirmed shipment goes to the courier: assets IN_SHIPMENT and IN_TRANSIT, consumables
    leave the warehouse (on hand and reserved both fall; a SHIPMENT row in the ledger for each
    product — the forecast reads consumption there), the reservations are spent and the request is
    SHIPPED. The delivery is due ``due_at`` (default: now + the delivery SLA setting)."""
    SHIPMENT.check(user, shipment, SHIPMENT.transition("hand_over"))
    SHIPMENT.fire(db, user, shipment, "hand_over", entity="eq_shipment")
    at = now()
    shipment.shipped_at = at
    shipment.due_at = due_at or shipment.due_at or at + dt.timedelta(hours=_setting_int(db, DELIVERY_HOURS_KEY, DEFAULT_DELIVERY_HOURS))
    for item in _items(db, shipment.id):
        if item.asset_id is not None:
            asset = _lock(db, Asset, item.asset_id)
            _move(db, user, asset, PROCESS, Process.IN_SHIPMENT, shipment_id=shipment.id)
            _move(db, user, asset, LOCATION, Location.IN_TRANSIT, shipment_id=shipment.id)
            db.add(StockMove(product_id=asset.product_id, warehouse_id=asset.warehouse_id, kind=MoveKind.SHIPMENT, qty=-1,
                             asset_id=asset.id, shipment_id=shipment.id))
            bus.mark(db, "eq_asset", [asset.id], "update")
        else:
            stock = db.get(StockItem, item.stock_item_id)
            db.execute(text("UPDATE eq_stock_item SET qty_on_hand = qty_on_hand - :n, qty_reserved = qty_reserved - :n, "
                            "updated_at = now() WHERE id = :id"), {"n": item.qty, "id": stock.id})
            db.add(StockMove(product_id=stock.product_id, warehouse_id=stock.warehouse_id, kind=MoveKind.SHIPMENT, qty=-item.qty,
                             shipment_id=shipment.id))
            bus.mark(db, "eq_stock_item", [stock.id], "update")
    if shipment.request_id is not None:
        for res in _active(db, shipment.request_id):
            res.status = ReservationStatus.SHIPPED
            db.add(res)
        request = _lock(db, EqRequest, shipment.request_id)
        REQUEST.move(db, user, request, RequestStatus.SHIPPED, system=True, entity="eq_request")
        bus.mark(db, "eq_request", [request.id], "update")
    bus.mark(db, "eq_shipment", [shipment.id], "update")


def _cancel_shipment(db: Session, user: CurrentUser, shipment: Shipment) -> None:
    """A shipment that has not left is cancelled with its request (whose cancellation then
    releases the reservations and puts the assets back)."""
    SHIPMENT.move(db, user, shipment, ShipmentStatus.CANCELLED, system=True, entity="eq_shipment")
    bus.mark(db, "eq_shipment", [shipment.id], "update")


# ---------------------------------------------------------------- delivered ≠ installed (section 8)


def mark_delivered(db: Session, user: CurrentUser, shipment: Shipment, *, system: bool = False, at: dt.datetime | None = None) -> None:
    """The shipment arrived at its store: each asset DELIVERED and then NOT_INSTALLED (section 8),
    at the STORE, its store set; the request DELIVERED. The delivery sync calls it with
    ``system=True`` when the provider reports DELIVERED; a chief may call it by hand for a MANUAL
    delivery only (one at a provider is the provider's to report)."""
    if not system:
        _need(user, "equipment.shipments.deliver")
        at_provider = db.exec(select(DeliveryOrder).where(DeliveryOrder.shipment_id == shipment.id,
                                                          DeliveryOrder.provider != DeliveryProvider.MANUAL,
                                                          DeliveryOrder.status != DeliveryStatus.CANCELLED)).first()
        if at_provider is not None:
            raise ValidationFailed.one("", "equipment.delivery_by_provider")
    if shipment.status not in (ShipmentStatus.HANDED_OVER, ShipmentStatus.IN_TRANSIT):
        raise ValidationFailed.one("", "equipment.shipment_not_on_way", status=f"eq_shipment.status.{shipment.status.value}")
    at = at or now()
    SHIPMENT.move(db, user, shipment, ShipmentStatus.DELIVERED, system=True, entity="eq_shipment")
    shipment.delivered_at = at
    for item in _items(db, shipment.id):
        if item.asset_id is None:
            continue
        asset = _lock(db, Asset, item.asset_id)
        _move(db, user, asset, PROCESS, Process.DELIVERED, shipment_id=shipment.id)
        _move(db, user, asset, PROCESS, Process.NOT_INSTALLED, shipment_id=shipment.id)
        _move(db, user, asset, LOCATION, Location.STORE, shipment_id=shipment.id)
        asset.store_id, asset.warehouse_id, asset.bin_id, asset.delivered_at = shipment.store_id, None, None, at
        bus.mark(db, "eq_asset", [asset.id], "update")
    if shipment.request_id is not None:
        request = _lock(db, EqRequest, shipment.request_id)
        if request.status is RequestStatus.SHIPPED:
            REQUEST.move(db, user, request, RequestStatus.DELIVERED, system=True, entity="eq_request")
        _maybe_finish(db, user, request)
        bus.mark(db, "eq_request", [request.id], "update")
    bus.mark(db, "eq_shipment", [shipment.id], "update")


def confirm_installed(db: Session, user: CurrentUser, shipment: Shipment, sns: list[str] | None = None,
                      photo: int | None = None) -> int:
    """Support (or a chief) confirms the shipment's assets INSTALLED — those of ``sns``, or every
    one still NOT_INSTALLED. ``photo`` is the installation photo (a ``stored_file`` id the shipment
    owns already: the action's photo parameter, :func:`app.core.crud.run_action`); it becomes the
    shipment's ``install_photo_id``. Returns how many were installed; when nothing
    of the request is left uninstalled it becomes INSTALLED (DONE when its checklist is done)."""
    _need(user, "equipment.assets.install")
    if shipment.status is not ShipmentStatus.DELIVERED:
        raise ValidationFailed.one("", "equipment.shipment_not_delivered", status=f"eq_shipment.status.{shipment.status.value}")
    chosen = {s.strip().lower() for s in (sns or []) if s and s.strip()}
    wanted = set(chosen)  # what is left to find
    done: list[Asset] = []
    for item in _items(db, shipment.id):
        if item.asset_id is None:
            continue
        asset = _lock(db, Asset, item.asset_id)
        if chosen and asset.sn.lower() not in chosen:
            continue
        wanted.discard(asset.sn.lower())
        if asset.process is not Process.NOT_INSTALLED:
            if chosen:
                raise ValidationFailed.one("sn", "equipment.not_awaiting_install", sn=asset.sn)
            continue
        _move(db, user, asset, PROCESS, Process.INSTALLED, system=False, shipment_id=shipment.id)
        asset.installed_at, asset.installed_by_id = now(), user.id
        done.append(asset)
    if wanted:
        raise ValidationFailed.one("sn", "equipment.sn_not_in_shipment", sn=", ".join(sorted(wanted)))
    if not done:
        raise ValidationFailed.one("", "equipment.nothing_to_install")
    details: dict[str, Any] = {"sns": [a.sn for a in done]}
    if photo is not None:
        shipment.install_photo_id = int(photo)
        stored = db.get(StoredFile, int(photo))
        details["photo"] = stored.name if stored is not None else int(photo)  # the timeline reads "Фото: установлено.jpg"
    audit.record(db, user, "install", "equipment.shipments", shipment.id, details)
    bus.mark(db, "eq_asset", [a.id for a in done], "update")
    if shipment.request_id is not None:
        request = _lock(db, EqRequest, shipment.request_id)
        _maybe_finish(db, user, request)
        bus.mark(db, "eq_request", [request.id], "update")
    bus.mark(db, "eq_shipment", [shipment.id], "update")
    return len(done)


def asset_moved(db: Session, user: CurrentUser, asset: Asset, transition: str) -> None:
    """An asset's process moved by its own row action (the asset list, the API): installing it there
    counts like :func:`confirm_installed` — who and when, and the request moves on when nothing of it
    waits any more."""
    if transition == "install":
        asset.installed_at, asset.installed_by_id = now(), user.id
    elif transition == "uninstall":
        asset.installed_at, asset.installed_by_id = None, None
    else:
        return
    if asset.request_id is not None:
        request = _lock(db, EqRequest, asset.request_id)
        _maybe_finish(db, user, request)
        bus.mark(db, "eq_request", [request.id], "update")


def _maybe_finish(db: Session, user: CurrentUser, request: EqRequest) -> None:
    """DELIVERED → INSTALLED when none of the request's assets waits for installation, then → DONE
    once its (installation) checklist is ticked too."""
    db.flush()
    if request.status is RequestStatus.DELIVERED:
        waiting = db.exec(select(func.count(Asset.id)).where(Asset.request_id == request.id, Asset.process.in_(
            [Process.DELIVERED, Process.NOT_INSTALLED, Process.IN_SHIPMENT]))).one()
        if waiting == 0:
            REQUEST.move(db, user, request, RequestStatus.INSTALLED, system=True, entity="eq_request")
    if request.status is RequestStatus.INSTALLED and all(c.get("done") for c in request.checklist or []):
        REQUEST.move(db, user, request, RequestStatus.DONE, system=True, entity="eq_request")
        request.closed_at = now()


def tick_request(db: Session, user: CurrentUser, request: EqRequest, number: int) -> str:
    """Tick line ``number`` (1-based) of the request's installation checklist."""
    _need(user, "equipment.assets.install")
    if request.status in (RequestStatus.DONE, RequestStatus.CANCELLED):
        raise ValidationFailed.one("number", "equipment.request_closed")
    checklist = [dict(c) for c in request.checklist or []]
    if not 1 <= (number or 0) <= len(checklist):
        raise ValidationFailed.one("number", "equipment.tick_unknown", code=number, n=len(checklist))
    line = checklist[number - 1]
    line.update(done=True, by=user.username, at=now().isoformat())
    request.checklist = checklist
    db.add(request)
    audit.record(db, user, "tick", "equipment.requests", request.id, {"line": number, "item": line["item"]})
    _maybe_finish(db, user, request)
    bus.mark(db, "eq_request", [request.id], "update")
    return line["item"]


# ---------------------------------------------------------------- "Новый магазин" (section 14)


def new_store_request(db: Session, store_id: int) -> EqRequest | None:
    """The store's "new store" request: the open one, else the latest that is not cancelled."""
    rows = db.exec(select(EqRequest).where(EqRequest.store_id == store_id, EqRequest.kind == RequestKind.NEW_STORE,
                                           EqRequest.status != RequestStatus.CANCELLED).order_by(EqRequest.id.desc())).all()
    return next((r for r in rows if r.status in OPEN_REQUEST), rows[0] if rows else None)


STAGES = ("reserved", "picked", "shipped", "delivered", "installed")


def progress(db: Session, request: EqRequest) -> dict[str, Any]:
    """How far a request has come, in units out of ``total`` (what its lines ask for): reserved,
    picked, shipped, delivered, installed. A stage counts everything that passed it (an installed
    router was also reserved, picked, shipped, delivered); a consumable needs no installation, so
    it counts as installed once delivered."""
    total = int(db.exec(select(func.coalesce(func.sum(RequestLine.qty), 0)).where(RequestLine.request_id == request.id)).one())
    out = {"request_id": request.id, "status": request.status.value, "total": total, **{s: 0 for s in STAGES}}
    reached = {
        Process.RESERVED: 1, Process.PICKED: 2, Process.WAITING_SHIPMENT: 2, Process.IN_SHIPMENT: 3,
        Process.DELIVERED: 4, Process.NOT_INSTALLED: 4, Process.INSTALLED: 5,
    }
    for proc, n in db.exec(select(Asset.process, func.count(Asset.id)).where(Asset.request_id == request.id).group_by(Asset.process)).all():
        for s in STAGES[:reached.get(proc, 0)]:
            out[s] += n
    shipments = {s.id: s for s in db.exec(select(Shipment).where(Shipment.request_id == request.id,
                                                                  Shipment.status != ShipmentStatus.CANCELLED)).all()}
    consumed = db.exec(select(ShipmentItem).where(ShipmentItem.shipment_id.in_(list(shipments) or [0]), ShipmentItem.stock_item_id.is_not(None))).all()
    for item in consumed:
        sh = shipments[item.shipment_id]
        depth = 1 + item.picked + (sh.status in (ShipmentStatus.HANDED_OVER, ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED)) \
            + 2 * (sh.status is ShipmentStatus.DELIVERED)
        for s in STAGES[:depth]:
            out[s] += item.qty
    shipped_res = {i.stock_item_id for i in consumed}
    reserved_only = db.exec(select(func.coalesce(func.sum(Reservation.qty), 0)).where(
        Reservation.request_id == request.id, Reservation.stock_item_id.is_not(None), Reservation.status == ReservationStatus.ACTIVE,
        Reservation.stock_item_id.not_in(list(shipped_res) or [0]))).one()
    out["reserved"] += int(reserved_only)
    out["done"] = total > 0 and out["installed"] >= total
    return out


def store_progress(db: Session, store_id: int) -> dict[str, Any] | None:
    """The "new store" progress the store card shows (None when the store has no such request)."""
    req = new_store_request(db, store_id)
    if req is None:
        return None
    return {**progress(db, req), "title": req.title, "link": f"/equipment/requests/{req.id}"}


# ---------------------------------------------------------------- SLA (section 13.5)

SLA_EVENTS = {
    "equipment.delivery_overdue": ("equipment.delivery_overdue", ["chief", "storekeeper"]),
    "equipment.install_overdue": ("equipment.install_overdue", ["chief", "support"]),
}


def _notified(db: Session, event: str, shipment_id: int) -> bool:
    return db.exec(select(AuditLog.id).where(AuditLog.action == event, AuditLog.entity_type == "eq_shipment",
                                             AuditLog.entity_id == str(shipment_id))).first() is not None


def check_sla(db: Session, at: dt.datetime | None = None) -> dict[str, list[int]]:
    """Notify once per overdue shipment: delivery overdue (``due_at`` passed, not delivered) and
    installation overdue (delivered more than the ``equipment.sla.install_hours`` setting ago,
    something still not installed). Each notice is remembered by an audit row of the event (the
    operation log says when it was sent); a transaction-level advisory lock keeps two checks
    running at once from both sending. The caller commits."""
    at = at or now()
    db.execute(text("SELECT pg_advisory_xact_lock(hashtext('equipment.sla'))"))
    sent: dict[str, list[int]] = {"equipment.delivery_overdue": [], "equipment.install_overdue": []}
    late = db.exec(select(Shipment).where(Shipment.due_at < at, Shipment.delivered_at.is_(None),
                                          Shipment.status.in_([ShipmentStatus.HANDED_OVER, ShipmentStatus.IN_TRANSIT]))
                   .order_by(Shipment.id)).all()
    for sh in late:
        if _notified(db, "equipment.delivery_overdue", sh.id):
            continue
        store = db.get(Store, sh.store_id)
        notify(db, "equipment.delivery_overdue", title=f"Доставка просрочена: отгрузка №{sh.id}",
               body=f"{store.name if store else ''}: срок {sh.due_at:%d.%m.%Y %H:%M} UTC", link=f"/equipment/shipments/{sh.id}",
               data={"shipment_id": sh.id, "store_id": sh.store_id})
        audit.record(db, SYSTEM, "equipment.delivery_overdue", "eq_shipment", sh.id, {"due_at": sh.due_at}, source="system")
        sent["equipment.delivery_overdue"].append(sh.id)
    hours = _setting_int(db, INSTALL_HOURS_KEY, DEFAULT_INSTALL_HOURS)
    waiting = db.exec(select(Shipment).where(Shipment.status == ShipmentStatus.DELIVERED, Shipment.delivered_at < at - dt.timedelta(hours=hours))
                      .where(select(Asset.id).join(ShipmentItem, ShipmentItem.asset_id == Asset.id)
                             .where(ShipmentItem.shipment_id == Shipment.id, Asset.process == Process.NOT_INSTALLED).exists())
                      .order_by(Shipment.id)).all()
    for sh in waiting:
        if _notified(db, "equipment.install_overdue", sh.id):
            continue
        store = db.get(Store, sh.store_id)
        notify(db, "equipment.install_overdue", title=f"Не установлено дольше {hours} ч: отгрузка №{sh.id}",
               body=f"{store.name if store else ''}: доставлено {sh.delivered_at:%d.%m.%Y %H:%M} UTC", link=f"/equipment/shipments/{sh.id}",
               data={"shipment_id": sh.id, "store_id": sh.store_id, "hours": hours})
        audit.record(db, SYSTEM, "equipment.install_overdue", "eq_shipment", sh.id, {"hours": hours}, source="system")
        sent["equipment.install_overdue"].append(sh.id)
    return sent


SLA_KIND = "equipment.sla_check"
SLA_SCHEDULE = "equipment:sla"
SLA_CRON = "*/10 * * * *"


@job_kind(SLA_KIND, timeout=300, perm="equipment.sla.check", label=f"jobkind.{SLA_KIND}")
def sla_check_job(ctx: JobContext) -> dict[str, Any]:
    """The scheduled SLA check (every 10 minutes by the ``equipment:sla`` schedule)."""
    sent = check_sla(ctx.db)
    ctx.db.commit()
    return {"delivery_overdue": len(sent["equipment.delivery_overdue"]), "install_overdue": len(sent["equipment.install_overdue"])}


# created by the scheduler when missing; the SLA page changes it (jobs.system_schedule)
system_schedule(SLA_SCHEDULE, SLA_KIND, SLA_CRON)


def ensure_sla_schedule(db: Session, user: CurrentUser = SYSTEM, cron: str = SLA_CRON) -> Any:
    """The SLA check's system schedule (idempotent): the demo loader and set-up call it; an empty
    cron switches it off. The caller commits."""
    return ensure_schedule(db, user, SLA_SCHEDULE, SLA_KIND, cron, {})


# --------------------------------------------------------------------------- what a delivery's status does
# The delivery sync (delivery.py) records the provider's statuses; what they mean for the shipment is
# the process's: the courier took it (if nobody pressed "handed over", the provider's pickup says so),
# and it arrived — delivered, not installed (section 8). Both run in the sync's transaction.
from app.panels.equipment import delivery as _delivery  # noqa: E402 - registered below, after the process is defined


def _picked_up(db: Session, order: DeliveryOrder, shipment: Shipment) -> None:
    if shipment.status is ShipmentStatus.CONFIRMED:
        hand_over(db, SYSTEM, shipment)


def _delivered(db: Session, order: DeliveryOrder, shipment: Shipment) -> None:
    _picked_up(db, order, shipment)
    if shipment.status in (ShipmentStatus.HANDED_OVER, ShipmentStatus.IN_TRANSIT):
        mark_delivered(db, SYSTEM, shipment, system=True)


for _status in ("PICKED_UP", "IN_TRANSIT"):
    _delivery.on_status(_status)(_picked_up)
_delivery.on_status("DELIVERED")(_delivered)
