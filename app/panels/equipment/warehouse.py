"""Warehouse operations as documents (seed 000, sections 2, 3, 13 stage 1).

A :class:`~models.equipment.StockDocument` (receipt, move, write-off, repair send/return,
inventory count) is a draft until it is **posted**; only then do quantities and asset axes
change, all in the caller's transaction: serial assets move along the axes of ``machines.py``
(``system=True`` moves, each an :class:`AssetEvent` and an audit row), consumables change their
:class:`StockItem` (locked ``FOR UPDATE``), every change is a :class:`StockMove` ledger row (the
forecast reads consumption from it), the document is audited and the changed tables are marked
on the change bus (published after the commit).

A posted document is never edited. It is undone only by a **counter-document** (same kind,
``reverses_id`` = the original, posted at once) that applies the opposite effect; the original
becomes REVERSED. Reversal is refused with a message when later moves made it impossible (the
received asset was reserved since, the consumables were already used).

:func:`check` is the one place bad input is refused — a negative quantity, an unknown serial
number, one already in stock, the same one twice, more than is available — as messages keyed
like the form's child rows (``lines.<row>.<field>``), so the form shows each under its cell and
the API answers 422 with the same keys. It runs when a draft is saved and again when it is posted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, text
from sqlalchemy import update as sa_update
from sqlmodel import Session, select

from app.core import CurrentUser, IllegalTransition, PermissionDenied, ValidationFailed, audit, bus
from app.panels.equipment.machines import CONDITION, IN_WAREHOUSE, LOCATION, PROCESS
from models.base import utcnow
from models.equipment import (
    Asset,
    AssetEvent,
    DocumentKind,
    DocumentStatus,
    EqProduct,
    Location,
    MoveKind,
    Process,
    ProductKind,
    StockDocument,
    StockDocumentLine,
    StockItem,
    StockMove,
    WarehouseBin,
)

POST_PERM = "equipment.documents.post"
REVERSE_PERM = "equipment.documents.reverse"
ENTITY = "equipment.documents"
_MACHINES = {"location": LOCATION, "condition": CONDITION, "process": PROCESS}
Errors = dict[str, tuple[str, dict]]


@dataclass
class Line:
    """A document line as the checks read it (from the form's rows, the API or the table)."""

    product_id: int | None = None
    sn: str | None = None
    qty: int | None = 1


def _int(raw: Any) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        return None


def lines_from_rows(db: Session, rows: Iterable[dict[str, Any]], field: str = "lines",
                    known: dict[str, int | None] | None = None) -> tuple[list[Line], Errors]:
    """The form's / API's child rows (strings or JSON values) as lines; a product is named by its
    ``product_id`` or its ``sku`` (what a storekeeper types or scans). An unknown SKU is an error
    under its cell; a row of an existing line (``id``) left without either keeps its product (``known``)."""
    rows = list(rows)
    known = known or {}
    skus = {str(r.get("sku") or "").strip().upper() for r in rows} - {""}
    by_sku = {p.sku.upper(): p.id for p in db.exec(select(EqProduct).where(func.upper(EqProduct.sku).in_(skus)))} if skus else {}
    out, errors = [], {}
    for i, r in enumerate(rows):
        sn = str(r.get("sn") or "").strip() or None
        pid = _int(r.get("product_id"))
        sku = str(r.get("sku") or "").strip().upper()
        if pid is None and sku:
            pid = by_sku.get(sku)
            if pid is None:
                errors[f"{field}.{i}.sku"] = ("equipment.sku_unknown", {})
        elif pid is None:
            pid = known.get(str(r.get("id") or ""))
        out.append(Line(pid, sn, _int(r.get("qty"))))
    return out, errors


def product_by_sku(db: Session, sku: str) -> EqProduct | None:
    return db.exec(select(EqProduct).where(func.upper(EqProduct.sku) == sku.strip().upper())).first()


def lines_of(db: Session, doc: StockDocument) -> list[StockDocumentLine]:
    return list(db.exec(select(StockDocumentLine).where(StockDocumentLine.document_id == doc.id).order_by(StockDocumentLine.id)))


# --------------------------------------------------------------------------- checks
def check(db: Session, kind: DocumentKind, warehouse_id: int | None, bin_id: int | None, to_warehouse_id: int | None,
          to_bin_id: int | None, lines: list[Line], *, field: str = "lines", product_cell: str = "product_id") -> Errors:
    """Every reason the document cannot be posted as it stands, keyed by field (``lines.<i>.<cell>``)."""
    errors: Errors = {}
    bins = {b.id: b for b in db.exec(select(WarehouseBin).where(WarehouseBin.id.in_([b for b in (bin_id, to_bin_id) if b])))}
    if bin_id and (bins.get(bin_id) is None or bins[bin_id].warehouse_id != warehouse_id):
        errors["bin_id"] = ("equipment.bin_elsewhere", {})
    if kind is DocumentKind.MOVE:
        if not to_warehouse_id:
            errors["to_warehouse_id"] = ("error.required", {})
        elif to_warehouse_id == warehouse_id and (to_bin_id or None) == (bin_id or None):
            errors["to_bin_id"] = ("equipment.same_place", {})
        if to_bin_id and (bins.get(to_bin_id) is None or bins[to_bin_id].warehouse_id != to_warehouse_id):
            errors["to_bin_id"] = ("equipment.bin_elsewhere", {})
    if not lines:
        errors[field] = ("equipment.no_lines", {})
        return errors
    products = {p.id: p for p in db.exec(select(EqProduct).where(EqProduct.id.in_({x.product_id for x in lines if x.product_id})))}
    sns = [x.sn for x in lines if x.sn]
    assets = {a.sn: a for a in db.exec(select(Asset).where(Asset.sn.in_(sns)))} if sns else {}
    seen: set[str] = set()
    wanted: dict[int, int] = defaultdict(int)  # consumable product → total qty taken from the source place
    for i, x in enumerate(lines):
        at = f"{field}.{i}"
        if x.qty is None or x.qty < 0:
            errors[f"{at}.qty"] = ("error.min", {"min": 0})
            continue
        product = products.get(x.product_id) if x.product_id else None
        if x.product_id and product is None:
            errors[f"{at}.{product_cell}"] = ("error.relation", {})
            continue
        if x.sn:  # a serial asset
            if x.sn in seen:
                errors[f"{at}.sn"] = ("equipment.sn_duplicate", {})
                continue
            seen.add(x.sn)
            asset = assets.get(x.sn)
            if kind is DocumentKind.RECEIPT:
                if product is None:
                    errors[f"{at}.{product_cell}"] = ("error.required", {})
                elif product.kind is not ProductKind.SERIAL:
                    errors[f"{at}.sn"] = ("equipment.not_serial", {})
                elif asset is not None:
                    errors[f"{at}.sn"] = ("equipment.sn_exists", {})
                continue
            if asset is None:
                errors[f"{at}.sn"] = ("equipment.sn_unknown", {})
                continue
            if product is not None and asset.product_id != product.id:
                errors[f"{at}.{product_cell}"] = ("equipment.sn_other_product", {})
                continue
            why = _serial_refusal(kind, asset, warehouse_id)
            if why:
                errors[f"{at}.sn"] = (why, {})
            continue
        # a consumable by quantity
        if product is None:
            errors[f"{at}.{product_cell}"] = ("error.required", {})
            continue
        if product.kind is ProductKind.SERIAL:
            errors[f"{at}.sn"] = ("equipment.sn_required", {})
            continue
        if kind in (DocumentKind.REPAIR_SEND, DocumentKind.REPAIR_RETURN):
            errors[f"{at}.{product_cell}"] = ("equipment.repair_serial_only", {})
            continue
        if kind is not DocumentKind.INVENTORY and x.qty == 0:
            errors[f"{at}.qty"] = ("error.min", {"min": 1})
            continue
        if kind in (DocumentKind.MOVE, DocumentKind.WRITE_OFF):
            wanted[product.id] += x.qty
            item = _item(db, product.id, warehouse_id, bin_id)
            available = item.qty_on_hand - item.qty_reserved if item else 0
            if wanted[product.id] > available:
                errors[f"{at}.qty"] = ("equipment.qty_over", {"n": available})
        if kind is DocumentKind.INVENTORY:
            item = _item(db, product.id, warehouse_id, bin_id)
            if item is not None and x.qty < item.qty_reserved:
                errors[f"{at}.qty"] = ("equipment.count_below_reserved", {"n": item.qty_reserved})
    return errors


def _serial_refusal(kind: DocumentKind, asset: Asset, warehouse_id: int | None) -> str | None:
    """Why this asset cannot be in a document of ``kind`` at ``warehouse_id`` (an i18n key), or None."""
    here = asset.warehouse_id == warehouse_id
    in_stock = asset.location in IN_WAREHOUSE
    if kind is DocumentKind.REPAIR_RETURN:
        return None if asset.process is Process.IN_REPAIR and asset.location is Location.SERVICE_CENTER else "equipment.sn_not_in_repair"
    if kind is DocumentKind.INVENTORY:  # counted here: in stock here, or found (unknown/lost) again
        ok = (here and in_stock) or asset.location in (Location.UNKNOWN, Location.LOST)
        return None if ok and asset.process not in (Process.WRITTEN_OFF,) else "equipment.sn_not_here"
    if not (here and in_stock):
        return "equipment.sn_not_here"
    allowed = {
        DocumentKind.MOVE: (Process.FREE, Process.RESERVED),
        DocumentKind.WRITE_OFF: (Process.FREE, Process.WRITE_OFF_IN_PROGRESS),
        DocumentKind.REPAIR_SEND: (Process.FREE, Process.WAITING_REPAIR_SHIPMENT),
    }[kind]
    return None if asset.process in allowed else "equipment.sn_busy"


def check_document(db: Session, doc: StockDocument) -> Errors:
    rows = lines_of(db, doc)
    return check(db, doc.kind, doc.warehouse_id, doc.bin_id, doc.to_warehouse_id, doc.to_bin_id,
                 [Line(r.product_id, r.sn, r.qty) for r in rows])


# --------------------------------------------------------------------------- effects
def _item(db: Session, product_id: int, warehouse_id: int | None, bin_id: int | None, *, lock: bool = False, create: bool = False) -> StockItem | None:
    """The consumable's stock row at a place (locked with ``lock``; made with ``create``). Two
    postings that would both create the row at a place without a bin (NULLs never clash in the
    unique index) queue on a transaction-scoped advisory lock of the place first."""
    if create:
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": (product_id * 1_000_003 + (warehouse_id or 0) * 10_007 + (bin_id or 0)) % (2**63)})
    stmt = select(StockItem).where(StockItem.product_id == product_id, StockItem.warehouse_id == warehouse_id,
                                   StockItem.bin_id == bin_id if bin_id else StockItem.bin_id.is_(None))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    item = db.exec(stmt).first()
    if item is None and create:
        item = StockItem(product_id=product_id, warehouse_id=warehouse_id, bin_id=bin_id, qty_on_hand=0, qty_reserved=0)
        db.add(item)
        db.flush()
    return item


def _change_qty(db: Session, doc: StockDocument, product_id: int, warehouse_id: int, bin_id: int | None, delta: int,
                kind: MoveKind, at: str) -> None:
    """Change a consumable's quantity on hand and write the ledger row; refused (a message under
    ``at``) when there is not that much available."""
    item = _item(db, product_id, warehouse_id, bin_id, lock=True, create=delta > 0)
    available = (item.qty_on_hand - item.qty_reserved) if item else 0
    if delta < 0 and available < -delta:
        raise ValidationFailed.one(at, "equipment.qty_over", n=available)
    if delta == 0:
        return
    item.qty_on_hand += delta
    item.updated_at = utcnow()
    db.add(item)
    db.add(StockMove(product_id=product_id, warehouse_id=warehouse_id, kind=kind, qty=delta, document_id=doc.id))
    db.flush()
    bus.mark(db, StockItem.__tablename__, [item.id], "update")


def _place(warehouse_id: int | None, bin_id: int | None) -> str:
    return f"{warehouse_id or ''}/{bin_id or ''}"


def _axis(db: Session, user: CurrentUser, doc: StockDocument, asset: Asset, name: str, target: Any) -> None:
    """Move one axis of ``asset`` to ``target`` by its machine (a system move) and record the event."""
    machine = _MACHINES[name]
    before = getattr(asset, name)
    if before == target:
        return
    machine.move(db, user, asset, target, system=True, entity="equipment.assets", details={"document": doc.id})
    db.add(AssetEvent(asset_id=asset.id, axis=name, from_value=before.value, to_value=target.value, document_id=doc.id, user_id=user.id))


def _move_place(db: Session, user: CurrentUser, doc: StockDocument, asset: Asset, warehouse_id: int | None, bin_id: int | None) -> None:
    before = _place(asset.warehouse_id, asset.bin_id)
    after = _place(warehouse_id, bin_id)
    if before == after:
        return
    asset.warehouse_id, asset.bin_id = warehouse_id, bin_id
    db.add(AssetEvent(asset_id=asset.id, axis="place", from_value=before, to_value=after, document_id=doc.id, user_id=user.id))


def _stored_location(bin_id: int | None) -> Location:
    return Location.BIN if bin_id else Location.MAIN_WAREHOUSE


def _lock_assets(db: Session, sns: list[str]) -> dict[str, Asset]:
    if not sns:
        return {}
    stmt = select(Asset).where(Asset.sn.in_(sns)).order_by(Asset.id).with_for_update().execution_options(populate_existing=True)
    return {a.sn: a for a in db.exec(stmt)}


def _apply(db: Session, user: CurrentUser, doc: StockDocument, rows: list[StockDocumentLine]) -> None:
    """The document's effect (its checks passed)."""
    kind = doc.kind
    assets = _lock_assets(db, [r.sn for r in rows if r.sn and kind is not DocumentKind.RECEIPT])
    changed: list[int] = []
    for i, row in enumerate(rows):
        at = f"lines.{i}.qty"
        if row.sn:
            if kind is DocumentKind.RECEIPT:
                asset = Asset(sn=row.sn, product_id=row.product_id, warehouse_id=doc.warehouse_id, bin_id=doc.bin_id,
                              location=_stored_location(doc.bin_id))
                db.add(asset)
                db.flush()
                db.add(AssetEvent(asset_id=asset.id, axis="place", from_value=None, to_value=_place(doc.warehouse_id, doc.bin_id),
                                  document_id=doc.id, user_id=user.id, note="receipt"))
                db.add(StockMove(product_id=asset.product_id, warehouse_id=doc.warehouse_id, kind=MoveKind.RECEIPT, qty=1,
                                 asset_id=asset.id, document_id=doc.id))
            else:
                asset = assets[row.sn]
                _serial_effect(db, user, doc, asset, kind)
            row.asset_id, row.product_id = asset.id, asset.product_id
            asset.updated_at = utcnow()
            db.add(asset)
            db.add(row)
            changed.append(asset.id)
            continue
        pid = row.product_id
        if kind is DocumentKind.RECEIPT:
            _change_qty(db, doc, pid, doc.warehouse_id, doc.bin_id, row.qty, MoveKind.RECEIPT, at)
        elif kind is DocumentKind.MOVE:
            _change_qty(db, doc, pid, doc.warehouse_id, doc.bin_id, -row.qty, MoveKind.MOVE_OUT, at)
            _change_qty(db, doc, pid, doc.to_warehouse_id, doc.to_bin_id, row.qty, MoveKind.MOVE_IN, at)
        elif kind is DocumentKind.WRITE_OFF:
            _change_qty(db, doc, pid, doc.warehouse_id, doc.bin_id, -row.qty, MoveKind.WRITE_OFF, at)
        elif kind is DocumentKind.INVENTORY:
            item = _item(db, pid, doc.warehouse_id, doc.bin_id, lock=True, create=True)
            row.expected_qty = item.qty_on_hand
            db.add(row)
            _change_qty(db, doc, pid, doc.warehouse_id, doc.bin_id, row.qty - item.qty_on_hand, MoveKind.INVENTORY, at)
    if kind is DocumentKind.INVENTORY:
        changed += _inventory_missing(db, user, doc, {r.sn for r in rows if r.sn}, {r.product_id for r in rows if not r.sn})
    if changed:
        bus.mark(db, Asset.__tablename__, changed, "update")


def _serial_effect(db: Session, user: CurrentUser, doc: StockDocument, asset: Asset, kind: DocumentKind) -> None:
    if kind is DocumentKind.MOVE:
        _move_place(db, user, doc, asset, doc.to_warehouse_id, doc.to_bin_id)
        _axis(db, user, doc, asset, "location", _stored_location(doc.to_bin_id))
        db.add(StockMove(product_id=asset.product_id, warehouse_id=doc.warehouse_id, kind=MoveKind.MOVE_OUT, qty=-1, asset_id=asset.id, document_id=doc.id))
        db.add(StockMove(product_id=asset.product_id, warehouse_id=doc.to_warehouse_id, kind=MoveKind.MOVE_IN, qty=1, asset_id=asset.id, document_id=doc.id))
    elif kind is DocumentKind.WRITE_OFF:
        _axis(db, user, doc, asset, "process", Process.WRITE_OFF_IN_PROGRESS)
        _axis(db, user, doc, asset, "process", Process.WRITTEN_OFF)
        db.add(StockMove(product_id=asset.product_id, warehouse_id=doc.warehouse_id, kind=MoveKind.WRITE_OFF, qty=-1, asset_id=asset.id, document_id=doc.id))
    elif kind is DocumentKind.REPAIR_SEND:
        _axis(db, user, doc, asset, "process", Process.WAITING_REPAIR_SHIPMENT)
        _axis(db, user, doc, asset, "process", Process.IN_REPAIR)
        _axis(db, user, doc, asset, "location", Location.SERVICE_CENTER)
        db.add(StockMove(product_id=asset.product_id, warehouse_id=doc.warehouse_id, kind=MoveKind.REPAIR_SEND, qty=-1, asset_id=asset.id, document_id=doc.id))
    elif kind is DocumentKind.REPAIR_RETURN:
        _move_place(db, user, doc, asset, doc.warehouse_id, doc.bin_id)
        _axis(db, user, doc, asset, "location", _stored_location(doc.bin_id))
        _axis(db, user, doc, asset, "process", Process.FREE)
        db.add(StockMove(product_id=asset.product_id, warehouse_id=doc.warehouse_id, kind=MoveKind.REPAIR_RETURN, qty=1, asset_id=asset.id, document_id=doc.id))
    elif kind is DocumentKind.INVENTORY:
        if asset.location not in IN_WAREHOUSE or asset.warehouse_id != doc.warehouse_id:  # found again
            _move_place(db, user, doc, asset, doc.warehouse_id, doc.bin_id)
            _axis(db, user, doc, asset, "location", _stored_location(doc.bin_id))
            db.add(StockMove(product_id=asset.product_id, warehouse_id=doc.warehouse_id, kind=MoveKind.INVENTORY, qty=1, asset_id=asset.id, document_id=doc.id))


def _inventory_missing(db: Session, user: CurrentUser, doc: StockDocument, counted: set[str], counted_products: set[int]) -> list[int]:
    """Serial assets the books hold at the counted place that were not counted: location UNKNOWN,
    each a discrepancy line (expected 1, counted 0) and a ledger row."""
    stmt = select(Asset).where(Asset.warehouse_id == doc.warehouse_id, Asset.location.in_(list(IN_WAREHOUSE)),
                               Asset.process.in_([Process.FREE, Process.RESERVED, Process.PICKED, Process.WAITING_SHIPMENT,
                                                  Process.WRITE_OFF_IN_PROGRESS, Process.WAITING_REPAIR_SHIPMENT]))
    if doc.bin_id:
        stmt = stmt.where(Asset.bin_id == doc.bin_id)
    missing = [a for a in db.exec(stmt.order_by(Asset.id).with_for_update()) if a.sn not in counted]
    for asset in missing:
        _axis(db, user, doc, asset, "location", Location.UNKNOWN)
        db.add(StockDocumentLine(document_id=doc.id, product_id=asset.product_id, asset_id=asset.id, sn=asset.sn, qty=0, expected_qty=1))
        db.add(StockMove(product_id=asset.product_id, warehouse_id=doc.warehouse_id, kind=MoveKind.INVENTORY, qty=-1, asset_id=asset.id, document_id=doc.id))
    for asset in missing:
        db.add(asset)
    return [a.id for a in missing]


# --------------------------------------------------------------------------- posting and reversing
def _require(user: CurrentUser, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied()


def post(db: Session, user: CurrentUser, doc: StockDocument) -> StockDocument:
    """Post a draft (locked by the caller): check, apply, stamp who/when, audit. The caller commits."""
    _require(user, POST_PERM)
    if doc.status is not DocumentStatus.DRAFT:
        raise ValidationFailed.one("", "equipment.already_posted")
    errors = check_document(db, doc)
    if errors:
        raise ValidationFailed(errors)
    _apply(db, user, doc, lines_of(db, doc))
    doc.status, doc.posted_by_id, doc.posted_at = DocumentStatus.POSTED, user.id, utcnow()
    db.add(doc)
    db.flush()
    audit.record(db, user, "post", ENTITY, doc.id, {"kind": doc.kind.value, "lines": len(lines_of(db, doc))})
    bus.mark(db, StockDocument.__tablename__, [doc.id], "update")
    return doc


def reverse(db: Session, user: CurrentUser, doc: StockDocument, comment: str | None = None) -> StockDocument:
    """Undo a posted document by a counter-document (posted at once); the original becomes REVERSED.
    Refused with a message when what it did has been changed since."""
    _require(user, REVERSE_PERM)
    if doc.status is not DocumentStatus.POSTED:
        raise ValidationFailed.one("", "equipment.not_posted")
    if doc.reverses_id is not None:
        raise ValidationFailed.one("", "equipment.counter_not_reversible")
    counter = StockDocument(kind=doc.kind, status=DocumentStatus.POSTED, warehouse_id=doc.warehouse_id, bin_id=doc.bin_id,
                            to_warehouse_id=doc.to_warehouse_id, to_bin_id=doc.to_bin_id, reverses_id=doc.id,
                            comment=comment or f"↩ #{doc.id}", created_by_id=user.id, posted_by_id=user.id, posted_at=utcnow())
    db.add(counter)
    db.flush()
    rows = lines_of(db, doc)
    for row in rows:
        db.add(StockDocumentLine(document_id=counter.id, product_id=row.product_id, asset_id=row.asset_id, sn=row.sn, qty=row.qty,
                                 expected_qty=row.expected_qty))
    db.flush()
    try:
        _undo_consumables(db, counter, doc, rows)
        changed = _undo_assets(db, user, counter, doc)
    except IllegalTransition as exc:
        raise ValidationFailed.one("", "equipment.cannot_reverse", why=exc.message("ru")) from None
    doc.status = DocumentStatus.REVERSED
    db.add(doc)
    db.flush()
    audit.record(db, user, "reverse", ENTITY, doc.id, {"counter": counter.id})
    audit.record(db, user, "post", ENTITY, counter.id, {"kind": counter.kind.value, "reverses": doc.id})
    bus.mark(db, StockDocument.__tablename__, [doc.id, counter.id], "update")
    if changed:
        bus.mark(db, Asset.__tablename__, changed, "update")
    return counter


def _undo_consumables(db: Session, counter: StockDocument, doc: StockDocument, rows: list[StockDocumentLine]) -> None:
    """The opposite of each consumable ledger row the document wrote (places read from its lines)."""
    for i, row in enumerate(r for r in rows if not r.sn and r.product_id):
        at = f"lines.{i}.qty"
        pid = row.product_id
        if doc.kind is DocumentKind.RECEIPT:
            _undo_qty(db, counter, pid, doc.warehouse_id, doc.bin_id, -row.qty, at)
        elif doc.kind is DocumentKind.MOVE:
            _undo_qty(db, counter, pid, doc.to_warehouse_id, doc.to_bin_id, -row.qty, at)
            _undo_qty(db, counter, pid, doc.warehouse_id, doc.bin_id, row.qty, at)
        elif doc.kind is DocumentKind.WRITE_OFF:
            _undo_qty(db, counter, pid, doc.warehouse_id, doc.bin_id, row.qty, at)
        elif doc.kind is DocumentKind.INVENTORY and row.expected_qty is not None:
            _undo_qty(db, counter, pid, doc.warehouse_id, doc.bin_id, row.expected_qty - row.qty, at)


def _undo_qty(db: Session, counter: StockDocument, product_id: int, warehouse_id: int, bin_id: int | None, delta: int, at: str) -> None:
    try:
        _change_qty(db, counter, product_id, warehouse_id, bin_id, delta, MoveKind.REVERSAL, at)
    except ValidationFailed:
        raise ValidationFailed.one("", "equipment.reverse_used", product=_product_name(db, product_id)) from None


def _product_name(db: Session, product_id: int) -> str:
    p = db.get(EqProduct, product_id)
    return p.name if p else f"#{product_id}"


def _undo_assets(db: Session, user: CurrentUser, counter: StockDocument, doc: StockDocument) -> list[int]:
    """Put each asset the document moved back where it was: every axis (and the place) must still
    be where the document left it and nothing else may have moved the asset since; a received
    asset is removed again (its serial number becomes free for a corrected receipt)."""
    events = list(db.exec(select(AssetEvent).where(AssetEvent.document_id == doc.id).order_by(AssetEvent.id)))
    by_asset: dict[int, list[AssetEvent]] = defaultdict(list)
    for e in events:
        by_asset[e.asset_id].append(e)
    changed = []
    for asset_id, evs in sorted(by_asset.items()):
        asset = db.exec(select(Asset).where(Asset.id == asset_id).with_for_update().execution_options(populate_existing=True)).one()
        later = db.exec(select(AssetEvent.id).where(AssetEvent.asset_id == asset_id, AssetEvent.id > evs[-1].id,
                                                    (AssetEvent.document_id != doc.id) | AssetEvent.document_id.is_(None))).first()
        if later is not None:
            raise ValidationFailed.one("", "equipment.reverse_moved", sn=asset.sn)
        if doc.kind is DocumentKind.RECEIPT:
            if asset.process is not Process.FREE or asset.warehouse_id != doc.warehouse_id:
                raise ValidationFailed.one("", "equipment.reverse_moved", sn=asset.sn)
            _forget_asset(db, user, counter, asset)
            continue
        first: dict[str, AssetEvent] = {}
        for e in evs:
            first.setdefault(e.axis, e)
        for axis, e in first.items():
            if axis == "place":
                wh, _, b = (e.from_value or "/").partition("/")
                _move_place(db, user, counter, asset, int(wh) if wh else None, int(b) if b else None)
            else:
                _axis(db, user, counter, asset, axis, _MACHINES[axis].values(e.from_value))
        for m in db.exec(select(StockMove).where(StockMove.document_id == doc.id, StockMove.asset_id == asset_id)):
            db.add(StockMove(product_id=m.product_id, warehouse_id=m.warehouse_id, kind=MoveKind.REVERSAL, qty=-m.qty, asset_id=asset_id,
                             document_id=counter.id))
        asset.updated_at = utcnow()
        db.add(asset)
        changed.append(asset_id)
    return changed


def _forget_asset(db: Session, user: CurrentUser, counter: StockDocument, asset: Asset) -> None:
    """A reversed receipt: the asset was never here. Its ledger rows stay (with the serial number on
    the lines) and a REVERSAL row balances them; the asset row itself goes."""
    db.add(StockMove(product_id=asset.product_id, warehouse_id=counter.warehouse_id, kind=MoveKind.REVERSAL, qty=-1, document_id=counter.id))
    db.execute(sa_update(StockMove).where(StockMove.asset_id == asset.id).values(asset_id=None))
    db.execute(sa_update(StockDocumentLine).where(StockDocumentLine.asset_id == asset.id).values(asset_id=None))
    audit.record(db, user, "delete", "equipment.assets", asset.id, {"sn": asset.sn, "document": counter.id})
    db.delete(asset)
    db.flush()
