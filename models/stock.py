"""Seed 001 (Sirius): products, supplies and orders."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Column, Computed, Index, Integer, Numeric
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_ts_field


class Product(SQLModel, table=True):
    """A stock item. ``quantity`` is everything ever supplied, ``issued_qty`` everything handed out;
    ``stock`` and ``is_low_stock`` are computed by PostgreSQL so they can be sorted, filtered and indexed."""

    __table_args__ = (
        CheckConstraint("quantity >= 0", name="ck_product_quantity_nonneg"),
        CheckConstraint("issued_qty >= 0 AND issued_qty <= quantity", name="ck_product_issued_within_quantity"),
        CheckConstraint("min_stock >= 0", name="ck_product_min_stock_nonneg"),
        # Substring search (ILIKE '%…%') on big tables: trigram indexes (pg_trgm), see docs/benchmarks.md.
        *(
            Index(f"ix_product_{col}_trgm", col, postgresql_using="gin", postgresql_ops={col: "gin_trgm_ops"})
            for col in ("name", "supplier_name", "description")
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    description: str | None = Field(default=None, max_length=4000)
    quantity: int = Field(default=0)
    issued_qty: int = Field(default=0)
    stock: int | None = Field(default=None, sa_column=Column(Integer, Computed("quantity - issued_qty", persisted=True), nullable=False, index=True))
    is_low_stock: bool | None = Field(
        default=None, sa_column=Column(Boolean, Computed("(quantity - issued_qty) < min_stock", persisted=True), nullable=False, index=True)
    )
    min_stock: int = Field(default=0)
    buy_price_eur: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    sell_price_rub: Decimal | None = Field(default=None, sa_type=Numeric(12, 2), index=True)
    supplier_name: str | None = Field(default=None, max_length=200, index=True)
    #: The product's photo in the object store (``stored_file``, see app/core/files.py).
    photo_id: int | None = Field(default=None, foreign_key="stored_file.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_ts_field(index=True)


class Supply(SQLModel, table=True):
    """A delivery from a supplier; creating one adds ``qty`` to the product's ``quantity``."""

    __table_args__ = (CheckConstraint("qty > 0", name="ck_supply_qty_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    qty: int
    supplier_name: str | None = Field(default=None, max_length=200)
    buy_price_eur: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    created_at: datetime = created_at_field()
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")


class OrderStatus(str, enum.Enum):
    paid_not_issued = "paid_not_issued"
    paid_issued = "paid_issued"
    paid_denied = "paid_denied"


class Order(SQLModel, table=True):
    """A paid order. ``unit_price_rub`` is the price at the time of sale (discounts allowed)."""

    __tablename__ = "order"
    __table_args__ = (
        CheckConstraint("qty > 0", name="ck_order_qty_positive"),
        CheckConstraint("unit_price_rub >= 0", name="ck_order_price_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=32, index=True)
    customer_name: str | None = Field(default=None, max_length=200)
    product_id: int = Field(foreign_key="product.id", index=True)
    product_name: str | None = Field(default=None, max_length=200)
    qty: int
    unit_price_rub: Decimal = Field(sa_type=Numeric(12, 2))
    #: The EUR→RUB rate and the product's purchase price (EUR) when the order was made: its cost
    #: and profit stay what they were when today's rate or the product's price changes. Analytics
    #: fall back to the current values only for an order that has none (see stock services).
    eur_rub_rate: Decimal | None = Field(default=None, sa_type=Numeric(12, 4))
    unit_cost_eur: Decimal | None = Field(default=None, sa_type=Numeric(12, 2))
    status: OrderStatus = Field(
        default=OrderStatus.paid_not_issued,
        sa_column=Column(
            SAEnum(OrderStatus, name="order_status", native_enum=False, length=20),
            nullable=False,
            index=True,
            server_default=OrderStatus.paid_not_issued.value,
        ),
    )
    created_at: datetime = created_at_field()
    issued_at: datetime | None = optional_ts_field(index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
