"""Seed 000: equipment — serial assets, consumables, warehouses, stores, requests, shipments, delivery.

Tables are prefixed ``eq_`` (the stock panel already owns ``product``). The shape follows the seed's
section 3:

* catalogue: :class:`EqProduct` (a model/type of equipment; serial or consumable), :class:`Warehouse`,
  :class:`WarehouseBin`, :class:`Store`;
* stock: :class:`Asset` (one serial device with the three independent status axes of section 4 —
  location, technical condition, process), :class:`StockItem` (a consumable's quantities in one
  warehouse/bin: ``qty_available = qty_on_hand − qty_reserved`` is computed by PostgreSQL and can
  never go negative: a check constraint keeps ``qty_reserved <= qty_on_hand``);
* history: :class:`AssetEvent` (every axis change of an asset, 2M+ rows: indexed by asset and time)
  and :class:`StockMove` (the ledger of quantity changes: forecasting reads consumption from it);
* warehouse operations are documents (:class:`StockDocument` + :class:`StockDocumentLine`): posted
  once, never edited, reversed only by a counter-document that points at the original;
* process: :class:`RequestTemplate` (+ lines), :class:`EqRequest` (+ lines), :class:`Reservation`
  (a partial unique index makes an asset reservable once), :class:`Shipment` (+ items and a picking
  checklist), :class:`DeliveryOrder` (+ :class:`DeliveryEvent`, :class:`DeliveryProviderLog`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Column, Computed, Index, Integer, Numeric, UniqueConstraint, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_ts_field


def _enum(cls: type[enum.Enum], name: str, default: enum.Enum, index: bool = True) -> Any:
    """A status column stored as text (``native_enum=False``): adding a value needs no ALTER TYPE."""
    return Field(
        default=default,
        sa_column=Column(
            SAEnum(cls, name=name, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]),
            nullable=False,
            index=index,
            server_default=default.value,
        ),
    )


def _json(default: Any = None) -> Any:
    factory = list if isinstance(default, list) else dict
    server = "[]" if factory is list else "{}"
    return Field(default_factory=factory, sa_column=Column(JSONB, nullable=False, server_default=server))


# ---------------------------------------------------------------- status axes (section 4)


class Location(str, enum.Enum):
    """(A) Where an asset is."""

    MAIN_WAREHOUSE = "MAIN_WAREHOUSE"
    BIN = "BIN"
    IN_TRANSIT = "IN_TRANSIT"
    STORE = "STORE"
    SERVICE_CENTER = "SERVICE_CENTER"
    LOST = "LOST"
    UNKNOWN = "UNKNOWN"


class Condition(str, enum.Enum):
    """(B) The asset's technical condition."""

    WORKING = "WORKING"
    DEFECTIVE = "DEFECTIVE"
    ON_TESTING = "ON_TESTING"
    REQUIRES_REPAIR = "REQUIRES_REPAIR"
    WAITING_PARTS = "WAITING_PARTS"
    NOT_REPAIRABLE = "NOT_REPAIRABLE"
    REQUIRES_WRITE_OFF = "REQUIRES_WRITE_OFF"


class Process(str, enum.Enum):
    """(C) Where the asset is in a process. DELIVERED is passed through on delivery: the asset then
    waits as NOT_INSTALLED until someone confirms INSTALLED (section 8)."""

    FREE = "FREE"
    RESERVED = "RESERVED"
    PICKED = "PICKED"
    WAITING_SHIPMENT = "WAITING_SHIPMENT"
    IN_SHIPMENT = "IN_SHIPMENT"
    DELIVERED = "DELIVERED"
    NOT_INSTALLED = "NOT_INSTALLED"
    INSTALLED = "INSTALLED"
    WAITING_REPAIR_SHIPMENT = "WAITING_REPAIR_SHIPMENT"
    IN_REPAIR = "IN_REPAIR"
    WRITE_OFF_IN_PROGRESS = "WRITE_OFF_IN_PROGRESS"
    WRITTEN_OFF = "WRITTEN_OFF"


class ProductKind(str, enum.Enum):
    SERIAL = "SERIAL"  # counted one by one, each with its serial number (Asset)
    CONSUMABLE = "CONSUMABLE"  # counted by quantity (StockItem)


# ---------------------------------------------------------------- catalogue and places


class EqProduct(SQLModel, table=True):
    """A model or type of equipment (seed: Product). Size and weight choose the delivery tariff;
    ``lead_time_days`` is the supplier's lead time the forecast plans with."""

    __tablename__ = "eq_product"
    __table_args__ = (
        CheckConstraint("min_qty >= 0", name="ck_eq_product_min_qty_nonneg"),
        CheckConstraint("lead_time_days >= 0", name="ck_eq_product_lead_time_nonneg"),
        CheckConstraint("weight_kg IS NULL OR weight_kg >= 0", name="ck_eq_product_weight_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200, index=True)
    kind: ProductKind = _enum(ProductKind, "eq_product_kind", ProductKind.SERIAL)
    vendor: str | None = Field(default=None, max_length=200)
    weight_kg: Decimal | None = Field(default=None, sa_type=Numeric(10, 3))
    length_cm: int | None = None
    width_cm: int | None = None
    height_cm: int | None = None
    lead_time_days: int = Field(default=7)
    min_qty: int = Field(default=0)
    is_active: bool = Field(default=True)
    created_at: datetime = created_at_field()


class Warehouse(SQLModel, table=True):
    __tablename__ = "eq_warehouse"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    city: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=500)
    lat: float | None = None
    lon: float | None = None
    is_active: bool = Field(default=True)
    created_at: datetime = created_at_field()


class WarehouseBin(SQLModel, table=True):
    """A cell, rack or zone of a warehouse."""

    __tablename__ = "eq_bin"
    __table_args__ = (UniqueConstraint("warehouse_id", "code", name="uq_eq_bin_code"),)

    id: int | None = Field(default=None, primary_key=True)
    warehouse_id: int = Field(foreign_key="eq_warehouse.id", index=True)
    code: str = Field(max_length=32)
    zone: str | None = Field(default=None, max_length=64)


class Store(SQLModel, table=True):
    """A store: where equipment is delivered and installed. ``opening_request_id`` is its
    "new store" request while that is open (section 14)."""

    __tablename__ = "eq_store"
    __table_args__ = (
        Index("ix_eq_store_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    city: str | None = Field(default=None, max_length=100, index=True)
    address: str | None = Field(default=None, max_length=500)
    lat: float | None = None
    lon: float | None = None
    contact_name: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=32)
    is_active: bool = Field(default=True)
    created_at: datetime = created_at_field()


# ---------------------------------------------------------------- stock


class Asset(SQLModel, table=True):
    """One serial device. The three axes change only through the panel's state machines."""

    __tablename__ = "eq_asset"
    __table_args__ = (
        Index("ix_eq_asset_sn_trgm", "sn", postgresql_using="gin", postgresql_ops={"sn": "gin_trgm_ops"}),
        Index("ix_eq_asset_process_id", "process", "id"),
        Index("ix_eq_asset_store_id_id", "store_id", "id"),
        Index("ix_eq_asset_warehouse_id_id", "warehouse_id", "id"),
        Index("ix_eq_asset_product_id_id", "product_id", "id"),
        # the dashboard counts assets by the three axes: an index-only scan instead of the table
        Index("ix_eq_asset_axes", "process", "location", "condition"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sn: str = Field(max_length=100, unique=True)
    product_id: int = Field(foreign_key="eq_product.id")
    location: Location = _enum(Location, "eq_location", Location.MAIN_WAREHOUSE)
    condition: Condition = _enum(Condition, "eq_condition", Condition.WORKING)
    process: Process = _enum(Process, "eq_process", Process.FREE, index=False)
    warehouse_id: int | None = Field(default=None, foreign_key="eq_warehouse.id")
    bin_id: int | None = Field(default=None, foreign_key="eq_bin.id")
    store_id: int | None = Field(default=None, foreign_key="eq_store.id")
    request_id: int | None = Field(default=None, foreign_key="eq_request.id", index=True)
    shipment_id: int | None = Field(default=None, foreign_key="eq_shipment.id", index=True)
    delivered_at: datetime | None = optional_ts_field()
    installed_at: datetime | None = optional_ts_field()
    installed_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = optional_ts_field()


class StockItem(SQLModel, table=True):
    """A consumable's quantities in one warehouse (and bin)."""

    __tablename__ = "eq_stock_item"
    __table_args__ = (
        CheckConstraint("qty_on_hand >= 0", name="ck_eq_stock_on_hand_nonneg"),
        CheckConstraint("qty_reserved >= 0 AND qty_reserved <= qty_on_hand", name="ck_eq_stock_reserved_within"),
        CheckConstraint("min_qty >= 0", name="ck_eq_stock_min_nonneg"),
        UniqueConstraint("product_id", "warehouse_id", "bin_id", name="uq_eq_stock_item_place"),
    )

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="eq_product.id", index=True)
    warehouse_id: int = Field(foreign_key="eq_warehouse.id", index=True)
    bin_id: int | None = Field(default=None, foreign_key="eq_bin.id")
    qty_on_hand: int = Field(default=0)
    qty_reserved: int = Field(default=0)
    qty_available: int | None = Field(
        default=None, sa_column=Column(Integer, Computed("qty_on_hand - qty_reserved", persisted=True), nullable=False, index=True)
    )
    min_qty: int = Field(default=0)
    updated_at: datetime | None = optional_ts_field()


class AssetEvent(SQLModel, table=True):
    """One change of an asset: an axis moved (``axis``/``from_value``/``to_value``) or it moved place."""

    __tablename__ = "eq_asset_event"
    __table_args__ = (Index("ix_eq_asset_event_asset_at", "asset_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="eq_asset.id", ondelete="CASCADE")
    at: datetime = created_at_field()
    axis: str = Field(max_length=16)  # location | condition | process | place
    from_value: str | None = Field(default=None, max_length=64)
    to_value: str | None = Field(default=None, max_length=64)
    document_id: int | None = Field(default=None, foreign_key="eq_document.id")
    shipment_id: int | None = Field(default=None, foreign_key="eq_shipment.id")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    note: str | None = Field(default=None, max_length=500)


class MoveKind(str, enum.Enum):
    RECEIPT = "RECEIPT"
    MOVE_OUT = "MOVE_OUT"
    MOVE_IN = "MOVE_IN"
    WRITE_OFF = "WRITE_OFF"
    REPAIR_SEND = "REPAIR_SEND"
    REPAIR_RETURN = "REPAIR_RETURN"
    INVENTORY = "INVENTORY"
    SHIPMENT = "SHIPMENT"  # consumption: out to a store
    REVERSAL = "REVERSAL"


class StockMove(SQLModel, table=True):
    """The ledger: one row per quantity change of a product in a warehouse (serial or consumable).
    ``qty`` is signed. Forecasting reads consumption (SHIPMENT and WRITE_OFF rows) from it."""

    __tablename__ = "eq_stock_move"
    __table_args__ = (Index("ix_eq_stock_move_product_at", "product_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    product_id: int = Field(foreign_key="eq_product.id")
    warehouse_id: int | None = Field(default=None, foreign_key="eq_warehouse.id")
    kind: MoveKind = _enum(MoveKind, "eq_move_kind", MoveKind.RECEIPT, index=False)
    qty: int
    asset_id: int | None = Field(default=None, foreign_key="eq_asset.id")
    document_id: int | None = Field(default=None, foreign_key="eq_document.id")
    shipment_id: int | None = Field(default=None, foreign_key="eq_shipment.id")


# ---------------------------------------------------------------- warehouse documents


class DocumentKind(str, enum.Enum):
    RECEIPT = "RECEIPT"  # приход
    MOVE = "MOVE"  # перемещение
    WRITE_OFF = "WRITE_OFF"  # списание
    REPAIR_SEND = "REPAIR_SEND"  # отправка в ремонт
    REPAIR_RETURN = "REPAIR_RETURN"  # возврат из ремонта
    INVENTORY = "INVENTORY"  # инвентаризация


class DocumentStatus(str, enum.Enum):
    DRAFT = "DRAFT"
    POSTED = "POSTED"
    REVERSED = "REVERSED"  # a counter-document undid it


class StockDocument(SQLModel, table=True):
    """A warehouse operation. Quantities change only when a document is posted; a posted document is
    never edited — ``reverses_id`` on a counter-document points at the one it undoes."""

    __tablename__ = "eq_document"

    id: int | None = Field(default=None, primary_key=True)
    kind: DocumentKind = _enum(DocumentKind, "eq_document_kind", DocumentKind.RECEIPT)
    status: DocumentStatus = _enum(DocumentStatus, "eq_document_status", DocumentStatus.DRAFT)
    warehouse_id: int = Field(foreign_key="eq_warehouse.id", index=True)
    bin_id: int | None = Field(default=None, foreign_key="eq_bin.id")
    to_warehouse_id: int | None = Field(default=None, foreign_key="eq_warehouse.id")
    to_bin_id: int | None = Field(default=None, foreign_key="eq_bin.id")
    reverses_id: int | None = Field(default=None, foreign_key="eq_document.id", unique=True)
    comment: str | None = Field(default=None, max_length=1000)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    posted_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    posted_at: datetime | None = optional_ts_field()


class StockDocumentLine(SQLModel, table=True):
    """A line: a serial asset (by SN; ``asset_id`` once known) or a consumable with a quantity.
    For an inventory count ``qty`` is the counted quantity and ``expected_qty`` what the books said."""

    __tablename__ = "eq_document_line"
    __table_args__ = (
        CheckConstraint("qty >= 0", name="ck_eq_document_line_qty_nonneg"),
        CheckConstraint("asset_id IS NOT NULL OR sn IS NOT NULL OR product_id IS NOT NULL", name="ck_eq_document_line_what"),
    )

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="eq_document.id", index=True, ondelete="CASCADE")
    product_id: int | None = Field(default=None, foreign_key="eq_product.id")
    asset_id: int | None = Field(default=None, foreign_key="eq_asset.id", index=True)
    sn: str | None = Field(default=None, max_length=100)
    qty: int = Field(default=1)
    expected_qty: int | None = None


# ---------------------------------------------------------------- requests and templates


class RequestKind(str, enum.Enum):
    REGULAR = "REGULAR"
    NEW_STORE = "NEW_STORE"  # "Новый магазин" (section 14)
    REPLACEMENT = "REPLACEMENT"


class RequestTemplate(SQLModel, table=True):
    """A template made by storekeepers/chiefs (section 13.5), e.g. "new store": product types and
    quantities, and the checklist its requests are picked and installed by."""

    __tablename__ = "eq_request_template"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: RequestKind = _enum(RequestKind, "eq_request_kind", RequestKind.REGULAR, index=False)
    description: str | None = Field(default=None, max_length=2000)
    checklist: list[str] = _json([])
    is_active: bool = Field(default=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class RequestTemplateLine(SQLModel, table=True):
    __tablename__ = "eq_request_template_line"
    __table_args__ = (CheckConstraint("qty > 0", name="ck_eq_template_line_qty_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="eq_request_template.id", index=True, ondelete="CASCADE")
    product_id: int = Field(foreign_key="eq_product.id")
    qty: int = Field(default=1)


class RequestStatus(str, enum.Enum):
    NEW = "NEW"
    RESERVED = "RESERVED"
    PICKING = "PICKING"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    INSTALLED = "INSTALLED"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class EqRequest(SQLModel, table=True):
    """A request from support (section 3 Request/Ticket): what a store needs."""

    __tablename__ = "eq_request"

    id: int | None = Field(default=None, primary_key=True)
    kind: RequestKind = _enum(RequestKind, "eq_request_kind", RequestKind.REGULAR)
    status: RequestStatus = _enum(RequestStatus, "eq_request_status", RequestStatus.NEW)
    store_id: int = Field(foreign_key="eq_store.id", index=True)
    warehouse_id: int | None = Field(default=None, foreign_key="eq_warehouse.id")
    template_id: int | None = Field(default=None, foreign_key="eq_request_template.id")
    title: str = Field(max_length=200)
    comment: str | None = Field(default=None, max_length=2000)
    checklist: list[dict[str, Any]] = _json([])  # [{"item": str, "done": bool, "by": str|None, "at": iso|None}]
    due_at: datetime | None = optional_ts_field(index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    closed_at: datetime | None = optional_ts_field()


class RequestLine(SQLModel, table=True):
    __tablename__ = "eq_request_line"
    __table_args__ = (
        CheckConstraint("qty > 0", name="ck_eq_request_line_qty_positive"),
        CheckConstraint("qty_reserved >= 0 AND qty_reserved <= qty", name="ck_eq_request_line_reserved_within"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="eq_request.id", index=True, ondelete="CASCADE")
    product_id: int = Field(foreign_key="eq_product.id")
    qty: int = Field(default=1)
    qty_reserved: int = Field(default=0)


class ReservationStatus(str, enum.Enum):
    ACTIVE = "ACTIVE"
    RELEASED = "RELEASED"
    SHIPPED = "SHIPPED"


class Reservation(SQLModel, table=True):
    """A serial asset (``asset_id``) or a quantity of a consumable (``stock_item_id`` + ``qty``)
    held for a request. An asset holds at most one ACTIVE reservation (partial unique index)."""

    __tablename__ = "eq_reservation"
    __table_args__ = (
        CheckConstraint("qty > 0", name="ck_eq_reservation_qty_positive"),
        CheckConstraint("(asset_id IS NULL) <> (stock_item_id IS NULL)", name="ck_eq_reservation_one_kind"),
        Index("uq_eq_reservation_active_asset", "asset_id", unique=True, postgresql_where=text("status = 'ACTIVE'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="eq_request.id", index=True, ondelete="CASCADE")
    request_line_id: int | None = Field(default=None, foreign_key="eq_request_line.id", ondelete="SET NULL")
    asset_id: int | None = Field(default=None, foreign_key="eq_asset.id")
    stock_item_id: int | None = Field(default=None, foreign_key="eq_stock_item.id", index=True)
    qty: int = Field(default=1)
    status: ReservationStatus = _enum(ReservationStatus, "eq_reservation_status", ReservationStatus.ACTIVE)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


# ---------------------------------------------------------------- shipments and delivery


class ShipmentStatus(str, enum.Enum):
    PICKING = "PICKING"
    PICKED = "PICKED"
    CONFIRMED = "CONFIRMED"  # confirmed by a storekeeper or chief: may be handed to a courier
    HANDED_OVER = "HANDED_OVER"  # handed to the courier
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


class Shipment(SQLModel, table=True):
    __tablename__ = "eq_shipment"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int | None = Field(default=None, foreign_key="eq_request.id", index=True)
    warehouse_id: int = Field(foreign_key="eq_warehouse.id", index=True)
    store_id: int = Field(foreign_key="eq_store.id", index=True)
    status: ShipmentStatus = _enum(ShipmentStatus, "eq_shipment_status", ShipmentStatus.PICKING)
    checklist: list[dict[str, Any]] = _json([])  # [{"item": str, "done": bool, "by": str|None, "at": iso|None}]
    weight_kg: Decimal | None = Field(default=None, sa_type=Numeric(10, 3))
    volume_l: Decimal | None = Field(default=None, sa_type=Numeric(10, 2))
    confirmed_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    confirmed_at: datetime | None = optional_ts_field()
    shipped_at: datetime | None = optional_ts_field(index=True)
    delivered_at: datetime | None = optional_ts_field(index=True)
    due_at: datetime | None = optional_ts_field(index=True)
    #: The photo support took when confirming the installation (section 8; ``stored_file``).
    install_photo_id: int | None = Field(default=None, foreign_key="stored_file.id", ondelete="SET NULL")
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class ShipmentItem(SQLModel, table=True):
    """An asset, or a consumable with a quantity (section 3: asset_id or stock_item_id + qty)."""

    __tablename__ = "eq_shipment_item"
    __table_args__ = (
        CheckConstraint("qty > 0", name="ck_eq_shipment_item_qty_positive"),
        CheckConstraint("(asset_id IS NULL) <> (stock_item_id IS NULL)", name="ck_eq_shipment_item_one_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="eq_shipment.id", index=True, ondelete="CASCADE")
    asset_id: int | None = Field(default=None, foreign_key="eq_asset.id", index=True)
    stock_item_id: int | None = Field(default=None, foreign_key="eq_stock_item.id")
    product_id: int = Field(foreign_key="eq_product.id")
    qty: int = Field(default=1)
    picked: bool = Field(default=False)


class DeliveryProvider(str, enum.Enum):
    YANDEX_DELIVERY = "YANDEX_DELIVERY"
    MANUAL = "MANUAL"


class DeliveryStatus(str, enum.Enum):
    """Normalised delivery statuses (section 7.1)."""

    CREATED = "CREATED"
    COURIER_ASSIGNED = "COURIER_ASSIGNED"
    PICKED_UP = "PICKED_UP"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    PROBLEM = "PROBLEM"


class DeliveryOrder(SQLModel, table=True):
    """A delivery at a provider. ``request_key`` is the idempotency key sent as ``request_id``:
    creating twice never makes two claims. ``raw_payload`` keeps the provider's last answer."""

    __tablename__ = "eq_delivery_order"
    __table_args__ = (Index("ix_eq_delivery_active", "status", postgresql_where=text("status NOT IN ('DELIVERED','CANCELLED')")),)

    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="eq_shipment.id", index=True)
    provider: DeliveryProvider = _enum(DeliveryProvider, "eq_delivery_provider", DeliveryProvider.YANDEX_DELIVERY, index=False)
    request_key: str = Field(max_length=64, unique=True)
    external_id: str | None = Field(default=None, max_length=100, index=True)
    tracking_number: str | None = Field(default=None, max_length=100)
    status: DeliveryStatus = _enum(DeliveryStatus, "eq_delivery_status", DeliveryStatus.CREATED, index=False)
    provider_status: str | None = Field(default=None, max_length=64)
    tariff: str | None = Field(default=None, max_length=32)
    price: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    eta_at: datetime | None = optional_ts_field()
    raw_payload: dict[str, Any] = _json({})
    last_synced_at: datetime | None = optional_ts_field()
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class DeliveryEvent(SQLModel, table=True):
    """One step of a delivery: from the provider (a status change) or internal (picked, handed over)."""

    __tablename__ = "eq_delivery_event"
    __table_args__ = (Index("ix_eq_delivery_event_order_at", "delivery_order_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_order_id: int = Field(foreign_key="eq_delivery_order.id", ondelete="CASCADE")
    at: datetime = created_at_field()
    source: str = Field(default="provider", max_length=16)  # provider | internal
    status: str | None = Field(default=None, max_length=32)
    provider_status: str | None = Field(default=None, max_length=64)
    title: str = Field(max_length=300)
    payload: dict[str, Any] = _json({})
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class DeliveryProviderLog(SQLModel, table=True):
    """Every request to a delivery provider and its answer (tokens never stored)."""

    __tablename__ = "eq_delivery_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    delivery_order_id: int | None = Field(default=None, foreign_key="eq_delivery_order.id", index=True, ondelete="SET NULL")
    method: str = Field(max_length=8)
    path: str = Field(max_length=300)
    status_code: int | None = None
    duration_ms: int | None = None
    request: dict[str, Any] = _json({})
    response: dict[str, Any] = _json({})
