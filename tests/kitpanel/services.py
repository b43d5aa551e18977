"""The fixture panel's rules, small on purpose: deliveries add to an item, issuing an order takes
from it (refused when short), denying an issued order puts the goods back. They run inside the
caller's transaction, as a real panel's services do, so the kit's audit, rollback and job
behaviour can be tested on them."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from app.core import bus
from app.core.errors import ValidationFailed
from tests.kitpanel.models import Delivery, Item, Order, OrderStatus


def lock_item(db: Session, item_id: int) -> Item:
    """The item row locked for the rest of the transaction (a trashed or missing one is refused)."""
    stmt = select(Item).where(Item.id == item_id).with_for_update().execution_options(populate_existing=True)
    item = db.exec(stmt).first()
    if item is None or item.deleted_at is not None:
        raise ValidationFailed.one("item_id", "error.relation")
    return item


def add_delivery(db: Session, delivery: Delivery) -> None:
    item = lock_item(db, delivery.item_id)
    item.quantity += delivery.qty
    if not delivery.vendor:
        delivery.vendor = item.vendor
    if delivery.cost_eur is None:
        delivery.cost_eur = item.cost_eur
    bus.mark(db, Item.__tablename__, [item.id], "update")


def remove_delivery(db: Session, delivery: Delivery) -> None:
    item = lock_item(db, delivery.item_id)
    if item.quantity - delivery.qty < item.issued_qty:
        raise ValidationFailed.one("", "kitpanel.delivery_in_use")
    item.quantity -= delivery.qty
    bus.mark(db, Item.__tablename__, [item.id], "update")


def issue_order(db: Session, order: Order) -> None:
    if order.status != OrderStatus.open:
        raise ValidationFailed.one("", "kitpanel.order_not_open", id=order.id)
    item = lock_item(db, order.item_id)
    available = item.quantity - item.issued_qty
    if order.qty > available:
        raise ValidationFailed.one("qty", "kitpanel.not_enough", name=item.name, stock=available, qty=order.qty)
    item.issued_qty += order.qty
    order.status = OrderStatus.issued
    order.issued_at = dt.datetime.now(dt.timezone.utc)
    bus.mark(db, Item.__tablename__, [item.id], "update")


def deny_order(db: Session, order: Order) -> None:
    if order.status == OrderStatus.denied:
        raise ValidationFailed.one("", "kitpanel.order_not_open", id=order.id)
    if order.status == OrderStatus.issued:
        item = lock_item(db, order.item_id)
        item.issued_qty -= order.qty
        bus.mark(db, Item.__tablename__, [item.id], "update")
    order.status = OrderStatus.denied
