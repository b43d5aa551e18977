"""The fixture panel's tables, on a MetaData of their own in the PostgreSQL schema ``kitpanel``.

Nothing here is on ``SQLModel.metadata``: Alembic's autogenerate, ``tests/unit/test_migrations.py``
(which compares the ``public`` schema with ``SQLModel.metadata``) and the app never see these
tables. The test suite creates them in the test database (``tests/conftest.py``, fixture
``kit_schema``) and drops them at the end of the session.

The shapes are what the kit's generic behaviour needs to be tested on: text with a unique key,
numbers, money, dates, a stored computed number and flag (sortable, filterable), soft delete
(``deleted_at``), a hard-deleted child with a relation, a status choice (an ``Enum``), and tags
linked to items many-to-many through a link table.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Column, Computed, ForeignKey, Integer, MetaData, Numeric
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_ts_field

#: The PostgreSQL schema the fixture tables live in (the app's live in ``public``).
SCHEMA = "kitpanel"
METADATA = MetaData(schema=SCHEMA)


class KitModel(SQLModel, registry=registry(metadata=METADATA)):
    """Base of the fixture tables: its own registry and MetaData, not ``SQLModel.metadata``."""


class Item(KitModel, table=True):
    """A thing kept in stock: ``quantity`` ever delivered, ``issued_qty`` handed out; ``stock`` and
    ``is_low`` are computed by PostgreSQL so they can be sorted and filtered on."""

    __tablename__ = "kit_item"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="ck_kit_item_quantity_nonneg"),
        CheckConstraint("issued_qty >= 0 AND issued_qty <= quantity", name="ck_kit_item_issued_within_quantity"),
        CheckConstraint("min_stock >= 0", name="ck_kit_item_min_stock_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    description: str | None = Field(default=None, max_length=4000)
    quantity: int = Field(default=0)
    issued_qty: int = Field(default=0)
    stock: int | None = Field(default=None, sa_column=Column(Integer, Computed("quantity - issued_qty", persisted=True), nullable=False, index=True))
    is_low: bool | None = Field(default=None, sa_column=Column(Boolean, Computed("(quantity - issued_qty) < min_stock", persisted=True), nullable=False))
    min_stock: int = Field(default=0)
    cost_eur: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    price_rub: Decimal | None = Field(default=None, sa_type=Numeric(12, 2), index=True)
    vendor: str | None = Field(default=None, max_length=200, index=True)
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_ts_field(index=True)


class Delivery(KitModel, table=True):
    """Goods arriving for an item (hard-deleted; creating one adds ``qty`` to the item)."""

    __tablename__ = "kit_delivery"
    __table_args__ = (CheckConstraint("qty > 0", name="ck_kit_delivery_qty_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="kit_item.id", index=True)
    qty: int
    vendor: str | None = Field(default=None, max_length=200)
    cost_eur: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    created_at: datetime = created_at_field()


class OrderStatus(str, enum.Enum):
    open = "open"
    issued = "issued"
    denied = "denied"


class Order(KitModel, table=True):
    """Someone's order for an item: issued (takes from stock) or denied, one by one or in bulk."""

    __tablename__ = "kit_order"
    __table_args__ = (
        CheckConstraint("qty > 0", name="ck_kit_order_qty_positive"),
        CheckConstraint("unit_price >= 0", name="ck_kit_order_price_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=32, index=True)
    customer_name: str | None = Field(default=None, max_length=200)
    item_id: int = Field(foreign_key="kit_item.id", index=True)
    item_name: str | None = Field(default=None, max_length=200)
    qty: int
    unit_price: Decimal = Field(sa_type=Numeric(12, 2))
    status: OrderStatus = Field(
        default=OrderStatus.open,
        sa_column=Column(SAEnum(OrderStatus, name="kit_order_status", native_enum=False, length=20), nullable=False, index=True,
                         server_default=OrderStatus.open.value),
    )
    created_at: datetime = created_at_field()
    issued_at: datetime | None = optional_ts_field()


class Tag(KitModel, table=True):
    """A label items carry many-to-many (``fields.many`` on the items' form)."""

    __tablename__ = "kit_tag"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    #: A bool column (the list's check mark, the form's checkbox, the ternary filter).
    active: bool = Field(default=True)


class ItemTag(KitModel, table=True):
    """The link rows between items and tags."""

    __tablename__ = "kit_item_tag"
    item_id: int = Field(sa_column=Column(Integer, ForeignKey("kit_item.id", ondelete="CASCADE"), primary_key=True))
    tag_id: int = Field(sa_column=Column(Integer, ForeignKey("kit_tag.id", ondelete="CASCADE"), primary_key=True, index=True))
