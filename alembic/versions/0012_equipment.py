"""Seed 000, the equipment panel: catalogue, places, serial assets with three status axes, consumables,
the stock ledger, warehouse documents, request templates, requests, reservations, shipments and
delivery orders with their events and provider log (see models/equipment.py).

Revision ID: 2c3d4e5f6a05
Revises: 1b2c3d4e5f04
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '2c3d4e5f6a05'
down_revision: str | None = '1b2c3d4e5f04'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('eq_product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sa.Enum('SERIAL', 'CONSUMABLE', name='eq_product_kind', native_enum=False, length=32), server_default='SERIAL', nullable=False),
    sa.Column('vendor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('weight_kg', sa.Numeric(precision=10, scale=3), nullable=True),
    sa.Column('length_cm', sa.Integer(), nullable=True),
    sa.Column('width_cm', sa.Integer(), nullable=True),
    sa.Column('height_cm', sa.Integer(), nullable=True),
    sa.Column('lead_time_days', sa.Integer(), nullable=False),
    sa.Column('min_qty', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('lead_time_days >= 0', name='ck_eq_product_lead_time_nonneg'),
    sa.CheckConstraint('min_qty >= 0', name='ck_eq_product_min_qty_nonneg'),
    sa.CheckConstraint('weight_kg IS NULL OR weight_kg >= 0', name='ck_eq_product_weight_nonneg'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sku')
    )
    op.create_index(op.f('ix_eq_product_created_at'), 'eq_product', ['created_at'], unique=False)
    op.create_index(op.f('ix_eq_product_kind'), 'eq_product', ['kind'], unique=False)
    op.create_index(op.f('ix_eq_product_name'), 'eq_product', ['name'], unique=False)
    op.create_table('eq_store',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('city', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('contact_phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index(op.f('ix_eq_store_city'), 'eq_store', ['city'], unique=False)
    op.create_index(op.f('ix_eq_store_created_at'), 'eq_store', ['created_at'], unique=False)
    op.create_index('ix_eq_store_name_trgm', 'eq_store', ['name'], unique=False, postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
    op.create_table('eq_warehouse',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('city', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_index(op.f('ix_eq_warehouse_created_at'), 'eq_warehouse', ['created_at'], unique=False)
    op.create_table('eq_bin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('zone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['warehouse_id'], ['eq_warehouse.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('warehouse_id', 'code', name='uq_eq_bin_code')
    )
    op.create_index(op.f('ix_eq_bin_warehouse_id'), 'eq_bin', ['warehouse_id'], unique=False)
    op.create_table('eq_request_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sa.Enum('REGULAR', 'NEW_STORE', 'REPLACEMENT', name='eq_request_kind', native_enum=False, length=32), server_default='REGULAR', nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('checklist', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_index(op.f('ix_eq_request_template_created_at'), 'eq_request_template', ['created_at'], unique=False)
    op.create_table('eq_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('RECEIPT', 'MOVE', 'WRITE_OFF', 'REPAIR_SEND', 'REPAIR_RETURN', 'INVENTORY', name='eq_document_kind', native_enum=False, length=32), server_default='RECEIPT', nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'POSTED', 'REVERSED', name='eq_document_status', native_enum=False, length=32), server_default='DRAFT', nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('bin_id', sa.Integer(), nullable=True),
    sa.Column('to_warehouse_id', sa.Integer(), nullable=True),
    sa.Column('to_bin_id', sa.Integer(), nullable=True),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('posted_by_id', sa.Integer(), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bin_id'], ['eq_bin.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['posted_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reverses_id'], ['eq_document.id'], ),
    sa.ForeignKeyConstraint(['to_bin_id'], ['eq_bin.id'], ),
    sa.ForeignKeyConstraint(['to_warehouse_id'], ['eq_warehouse.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['eq_warehouse.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reverses_id')
    )
    op.create_index(op.f('ix_eq_document_created_at'), 'eq_document', ['created_at'], unique=False)
    op.create_index(op.f('ix_eq_document_kind'), 'eq_document', ['kind'], unique=False)
    op.create_index(op.f('ix_eq_document_status'), 'eq_document', ['status'], unique=False)
    op.create_index(op.f('ix_eq_document_warehouse_id'), 'eq_document', ['warehouse_id'], unique=False)
    op.create_table('eq_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('REGULAR', 'NEW_STORE', 'REPLACEMENT', name='eq_request_kind', native_enum=False, length=32), server_default='REGULAR', nullable=False),
    sa.Column('status', sa.Enum('NEW', 'RESERVED', 'PICKING', 'SHIPPED', 'DELIVERED', 'INSTALLED', 'DONE', 'CANCELLED', name='eq_request_status', native_enum=False, length=32), server_default='NEW', nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('checklist', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['eq_store.id'], ),
    sa.ForeignKeyConstraint(['template_id'], ['eq_request_template.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['eq_warehouse.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_eq_request_created_at'), 'eq_request', ['created_at'], unique=False)
    op.create_index(op.f('ix_eq_request_due_at'), 'eq_request', ['due_at'], unique=False)
    op.create_index(op.f('ix_eq_request_kind'), 'eq_request', ['kind'], unique=False)
    op.create_index(op.f('ix_eq_request_status'), 'eq_request', ['status'], unique=False)
    op.create_index(op.f('ix_eq_request_store_id'), 'eq_request', ['store_id'], unique=False)
    op.create_table('eq_request_template_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.CheckConstraint('qty > 0', name='ck_eq_template_line_qty_positive'),
    sa.ForeignKeyConstraint(['product_id'], ['eq_product.id'], ),
    sa.ForeignKeyConstraint(['template_id'], ['eq_request_template.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_eq_request_template_line_template_id'), 'eq_request_template_line', ['template_id'], unique=False)
    op.create_table('eq_stock_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('bin_id', sa.Integer(), nullable=True),
    sa.Column('qty_on_hand', sa.Integer(), nullable=False),
    sa.Column('qty_reserved', sa.Integer(), nullable=False),
    sa.Column('qty_available', sa.Integer(), sa.Computed('qty_on_hand - qty_reserved', persisted=True), nullable=False),
    sa.Column('min_qty', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('min_qty >= 0', name='ck_eq_stock_min_nonneg'),
    sa.CheckConstraint('qty_on_hand >= 0', name='ck_eq_stock_on_hand_nonneg'),
    sa.CheckConstraint('qty_reserved >= 0 AND qty_reserved <= qty_on_hand', name='ck_eq_stock_reserved_within'),
    sa.ForeignKeyConstraint(['bin_id'], ['eq_bin.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['eq_product.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['eq_warehouse.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('product_id', 'warehouse_id', 'bin_id', name='uq_eq_stock_item_place')
    )
    op.create_index(op.f('ix_eq_stock_item_product_id'), 'eq_stock_item', ['product_id'], unique=False)
    op.create_index(op.f('ix_eq_stock_item_qty_available'), 'eq_stock_item', ['qty_available'], unique=False)
    op.create_index(op.f('ix_eq_stock_item_warehouse_id'), 'eq_stock_item', ['warehouse_id'], unique=False)
    op.create_table('eq_request_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('qty_reserved', sa.Integer(), nullable=False),
    sa.CheckConstraint('qty > 0', name='ck_eq_request_line_qty_positive'),
    sa.CheckConstraint('qty_reserved >= 0 AND qty_reserved <= qty', name='ck_eq_request_line_reserved_within'),
    sa.ForeignKeyConstraint(['product_id'], ['eq_product.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['eq_request.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_eq_request_line_request_id'), 'eq_request_line', ['request_id'], unique=False)
    op.create_table('eq_shipment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('PICKING', 'PICKED', 'CONFIRMED', 'HANDED_OVER', 'IN_TRANSIT', 'DELIVERED', 'CANCELLED', name='eq_shipment_status', native_enum=False, length=32), server_default='PICKING', nullable=False),
    sa.Column('checklist', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('weight_kg', sa.Numeric(precision=10, scale=3), nullable=True),
    sa.Column('volume_l', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['eq_request.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['eq_store.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['eq_warehouse.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_eq_shipment_created_at'), 'eq_shipment', ['created_at'], unique=False)
    op.create_index(op.f('ix_eq_shipment_delivered_at'), 'eq_shipment', ['delivered_at'], unique=False)
    op.create_index(op.f('ix_eq_shipment_shipped_at'), 'eq_shipment', ['shipped_at'], unique=False)
    op.create_index(op.f('ix_eq_shipment_due_at'), 'eq_shipment', ['due_at'], unique=False)
    op.create_index(op.f('ix_eq_shipment_request_id'), 'eq_shipment', ['request_id'], unique=False)
    op.create_index(op.f('ix_eq_shipment_status'), 'eq_shipment', ['status'], unique=False)
    op.create_index(op.f('ix_eq_shipment_store_id'), 'eq_shipment', ['store_id'], unique=False)
    op.create_index(op.f('ix_eq_shipment_warehouse_id'), 'eq_shipment', ['warehouse_id'], unique=False)
    op.create_table('eq_asset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sn', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('location', sa.Enum('MAIN_WAREHOUSE', 'BIN', 'IN_TRANSIT', 'STORE', 'SERVICE_CENTER', 'LOST', 'UNKNOWN', name='eq_location', native_enum=False, length=32), server_default='MAIN_WAREHOUSE', nullable=False),
    sa.Column('condition', sa.Enum('WORKING', 'DEFECTIVE', 'ON_TESTING', 'REQUIRES_REPAIR', 'WAITING_PARTS', 'NOT_REPAIRABLE', 'REQUIRES_WRITE_OFF', name='eq_condition', native_enum=False, length=32), server_default='WORKING', nullable=False),
    sa.Column('process', sa.Enum('FREE', 'RESERVED', 'PICKED', 'WAITING_SHIPMENT', 'IN_SHIPMENT', 'DELIVERED', 'NOT_INSTALLED', 'INSTALLED', 'WAITING_REPAIR_SHIPMENT', 'IN_REPAIR', 'WRITE_OFF_IN_PROGRESS', 'WRITTEN_OFF', name='eq_process', native_enum=False, length=32), server_default='FREE', nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=True),
    sa.Column('bin_id', sa.Integer(), nullable=True),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('installed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('installed_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bin_id'], ['eq_bin.id'], ),
    sa.ForeignKeyConstraint(['installed_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['eq_product.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['eq_request.id'], ),
    sa.ForeignKeyConstraint(['shipment_id'], ['eq_shipment.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['eq_store.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['eq_warehouse.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sn')
    )
    op.create_index(op.f('ix_eq_asset_condition'), 'eq_asset', ['condition'], unique=False)
    op.create_index(op.f('ix_eq_asset_created_at'), 'eq_asset', ['created_at'], unique=False)
    op.create_index(op.f('ix_eq_asset_location'), 'eq_asset', ['location'], unique=False)
    op.create_index('ix_eq_asset_process_id', 'eq_asset', ['process', 'id'], unique=False)
    op.create_index('ix_eq_asset_product_id_id', 'eq_asset', ['product_id', 'id'], unique=False)
    op.create_index('ix_eq_asset_axes', 'eq_asset', ['process', 'location', 'condition'], unique=False)
    op.create_index(op.f('ix_eq_asset_request_id'), 'eq_asset', ['request_id'], unique=False)
    op.create_index(op.f('ix_eq_asset_shipment_id'), 'eq_asset', ['shipment_id'], unique=False)
    op.create_index('ix_eq_asset_sn_trgm', 'eq_asset', ['sn'], unique=False, postgresql_using='gin', postgresql_ops={'sn': 'gin_trgm_ops'})
    op.create_index('ix_eq_asset_store_id_id', 'eq_asset', ['store_id', 'id'], unique=False)
    op.create_index('ix_eq_asset_warehouse_id_id', 'eq_asset', ['warehouse_id', 'id'], unique=False)
    op.create_table('eq_delivery_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.Enum('YANDEX_DELIVERY', 'MANUAL', name='eq_delivery_provider', native_enum=False, length=32), server_default='YANDEX_DELIVERY', nullable=False),
    sa.Column('request_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('tracking_number', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('status', sa.Enum('CREATED', 'COURIER_ASSIGNED', 'PICKED_UP', 'IN_TRANSIT', 'DELIVERED', 'CANCELLED', 'PROBLEM', name='eq_delivery_status', native_enum=False, length=32), server_default='CREATED', nullable=False),
    sa.Column('provider_status', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('tariff', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('eta_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raw_payload', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shipment_id'], ['eq_shipment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_key')
    )
    op.create_index('ix_eq_delivery_active', 'eq_delivery_order', ['status'], unique=False, postgresql_where=sa.text("status NOT IN ('DELIVERED','CANCELLED')"))
    op.create_index(op.f('ix_eq_delivery_order_created_at'), 'eq_delivery_order', ['created_at'], unique=False)
    op.create_index(op.f('ix_eq_delivery_order_external_id'), 'eq_delivery_order', ['external_id'], unique=False)
    op.create_index(op.f('ix_eq_delivery_order_shipment_id'), 'eq_delivery_order', ['shipment_id'], unique=False)
    op.create_table('eq_asset_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('axis', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('from_value', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('to_value', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['eq_asset.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['eq_document.id'], ),
    sa.ForeignKeyConstraint(['shipment_id'], ['eq_shipment.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_eq_asset_event_asset_at', 'eq_asset_event', ['asset_id', 'at'], unique=False)
    op.create_index(op.f('ix_eq_asset_event_at'), 'eq_asset_event', ['at'], unique=False)
    op.create_table('eq_delivery_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_order_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('provider_status', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_order_id'], ['eq_delivery_order.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_eq_delivery_event_at'), 'eq_delivery_event', ['at'], unique=False)
    op.create_index('ix_eq_delivery_event_order_at', 'eq_delivery_event', ['delivery_order_id', 'at'], unique=False)
    op.create_table('eq_delivery_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivery_order_id', sa.Integer(), nullable=True),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('request', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.ForeignKeyConstraint(['delivery_order_id'], ['eq_delivery_order.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_eq_delivery_log_at'), 'eq_delivery_log', ['at'], unique=False)
    op.create_index(op.f('ix_eq_delivery_log_delivery_order_id'), 'eq_delivery_log', ['delivery_order_id'], unique=False)
    op.create_table('eq_document_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('sn', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('expected_qty', sa.Integer(), nullable=True),
    sa.CheckConstraint('asset_id IS NOT NULL OR sn IS NOT NULL OR product_id IS NOT NULL', name='ck_eq_document_line_what'),
    sa.CheckConstraint('qty >= 0', name='ck_eq_document_line_qty_nonneg'),
    sa.ForeignKeyConstraint(['asset_id'], ['eq_asset.id'], ),
    sa.ForeignKeyConstraint(['document_id'], ['eq_document.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['eq_product.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_eq_document_line_asset_id'), 'eq_document_line', ['asset_id'], unique=False)
    op.create_index(op.f('ix_eq_document_line_document_id'), 'eq_document_line', ['document_id'], unique=False)
    op.create_table('eq_reservation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('request_line_id', sa.Integer(), nullable=True),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('stock_item_id', sa.Integer(), nullable=True),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('ACTIVE', 'RELEASED', 'SHIPPED', name='eq_reservation_status', native_enum=False, length=32), server_default='ACTIVE', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(asset_id IS NULL) <> (stock_item_id IS NULL)', name='ck_eq_reservation_one_kind'),
    sa.CheckConstraint('qty > 0', name='ck_eq_reservation_qty_positive'),
    sa.ForeignKeyConstraint(['asset_id'], ['eq_asset.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['eq_request.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_line_id'], ['eq_request_line.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stock_item_id'], ['eq_stock_item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_eq_reservation_created_at'), 'eq_reservation', ['created_at'], unique=False)
    op.create_index(op.f('ix_eq_reservation_request_id'), 'eq_reservation', ['request_id'], unique=False)
    op.create_index(op.f('ix_eq_reservation_status'), 'eq_reservation', ['status'], unique=False)
    op.create_index(op.f('ix_eq_reservation_stock_item_id'), 'eq_reservation', ['stock_item_id'], unique=False)
    op.create_index('uq_eq_reservation_active_asset', 'eq_reservation', ['asset_id'], unique=True, postgresql_where=sa.text("status = 'ACTIVE'"))
    op.create_table('eq_shipment_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('stock_item_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('picked', sa.Boolean(), nullable=False),
    sa.CheckConstraint('(asset_id IS NULL) <> (stock_item_id IS NULL)', name='ck_eq_shipment_item_one_kind'),
    sa.CheckConstraint('qty > 0', name='ck_eq_shipment_item_qty_positive'),
    sa.ForeignKeyConstraint(['asset_id'], ['eq_asset.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['eq_product.id'], ),
    sa.ForeignKeyConstraint(['shipment_id'], ['eq_shipment.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['stock_item_id'], ['eq_stock_item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_eq_shipment_item_asset_id'), 'eq_shipment_item', ['asset_id'], unique=False)
    op.create_index(op.f('ix_eq_shipment_item_shipment_id'), 'eq_shipment_item', ['shipment_id'], unique=False)
    op.create_table('eq_stock_move',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('RECEIPT', 'MOVE_OUT', 'MOVE_IN', 'WRITE_OFF', 'REPAIR_SEND', 'REPAIR_RETURN', 'INVENTORY', 'SHIPMENT', 'REVERSAL', name='eq_move_kind', native_enum=False, length=32), server_default='RECEIPT', nullable=False),
    sa.Column('qty', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['eq_asset.id'], ),
    sa.ForeignKeyConstraint(['document_id'], ['eq_document.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['eq_product.id'], ),
    sa.ForeignKeyConstraint(['shipment_id'], ['eq_shipment.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['eq_warehouse.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_eq_stock_move_at'), 'eq_stock_move', ['at'], unique=False)
    op.create_index('ix_eq_stock_move_product_at', 'eq_stock_move', ['product_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_eq_stock_move_product_at', table_name='eq_stock_move')
    op.drop_index(op.f('ix_eq_stock_move_at'), table_name='eq_stock_move')
    op.drop_table('eq_stock_move')
    op.drop_index(op.f('ix_eq_shipment_item_shipment_id'), table_name='eq_shipment_item')
    op.drop_index(op.f('ix_eq_shipment_item_asset_id'), table_name='eq_shipment_item')
    op.drop_table('eq_shipment_item')
    op.drop_index('uq_eq_reservation_active_asset', table_name='eq_reservation', postgresql_where=sa.text("status = 'ACTIVE'"))
    op.drop_index(op.f('ix_eq_reservation_stock_item_id'), table_name='eq_reservation')
    op.drop_index(op.f('ix_eq_reservation_status'), table_name='eq_reservation')
    op.drop_index(op.f('ix_eq_reservation_request_id'), table_name='eq_reservation')
    op.drop_index(op.f('ix_eq_reservation_created_at'), table_name='eq_reservation')
    op.drop_table('eq_reservation')
    op.drop_index(op.f('ix_eq_document_line_document_id'), table_name='eq_document_line')
    op.drop_index(op.f('ix_eq_document_line_asset_id'), table_name='eq_document_line')
    op.drop_table('eq_document_line')
    op.drop_index(op.f('ix_eq_delivery_log_delivery_order_id'), table_name='eq_delivery_log')
    op.drop_index(op.f('ix_eq_delivery_log_at'), table_name='eq_delivery_log')
    op.drop_table('eq_delivery_log')
    op.drop_index('ix_eq_delivery_event_order_at', table_name='eq_delivery_event')
    op.drop_index(op.f('ix_eq_delivery_event_at'), table_name='eq_delivery_event')
    op.drop_table('eq_delivery_event')
    op.drop_index(op.f('ix_eq_asset_event_at'), table_name='eq_asset_event')
    op.drop_index('ix_eq_asset_event_asset_at', table_name='eq_asset_event')
    op.drop_table('eq_asset_event')
    op.drop_index(op.f('ix_eq_delivery_order_shipment_id'), table_name='eq_delivery_order')
    op.drop_index(op.f('ix_eq_delivery_order_external_id'), table_name='eq_delivery_order')
    op.drop_index(op.f('ix_eq_delivery_order_created_at'), table_name='eq_delivery_order')
    op.drop_index('ix_eq_delivery_active', table_name='eq_delivery_order', postgresql_where=sa.text("status NOT IN ('DELIVERED','CANCELLED')"))
    op.drop_table('eq_delivery_order')
    op.drop_index('ix_eq_asset_warehouse_id_id', table_name='eq_asset')
    op.drop_index('ix_eq_asset_store_id_id', table_name='eq_asset')
    op.drop_index('ix_eq_asset_sn_trgm', table_name='eq_asset', postgresql_using='gin', postgresql_ops={'sn': 'gin_trgm_ops'})
    op.drop_index(op.f('ix_eq_asset_shipment_id'), table_name='eq_asset')
    op.drop_index(op.f('ix_eq_asset_request_id'), table_name='eq_asset')
    op.drop_index('ix_eq_asset_product_id_id', table_name='eq_asset')
    op.drop_index('ix_eq_asset_axes', table_name='eq_asset')
    op.drop_index('ix_eq_asset_process_id', table_name='eq_asset')
    op.drop_index(op.f('ix_eq_asset_location'), table_name='eq_asset')
    op.drop_index(op.f('ix_eq_asset_created_at'), table_name='eq_asset')
    op.drop_index(op.f('ix_eq_asset_condition'), table_name='eq_asset')
    op.drop_table('eq_asset')
    op.drop_index(op.f('ix_eq_shipment_warehouse_id'), table_name='eq_shipment')
    op.drop_index(op.f('ix_eq_shipment_store_id'), table_name='eq_shipment')
    op.drop_index(op.f('ix_eq_shipment_status'), table_name='eq_shipment')
    op.drop_index(op.f('ix_eq_shipment_request_id'), table_name='eq_shipment')
    op.drop_index(op.f('ix_eq_shipment_due_at'), table_name='eq_shipment')
    op.drop_index(op.f('ix_eq_shipment_delivered_at'), table_name='eq_shipment')
    op.drop_index(op.f('ix_eq_shipment_shipped_at'), table_name='eq_shipment')
    op.drop_index(op.f('ix_eq_shipment_created_at'), table_name='eq_shipment')
    op.drop_table('eq_shipment')
    op.drop_index(op.f('ix_eq_request_line_request_id'), table_name='eq_request_line')
    op.drop_table('eq_request_line')
    op.drop_index(op.f('ix_eq_stock_item_warehouse_id'), table_name='eq_stock_item')
    op.drop_index(op.f('ix_eq_stock_item_qty_available'), table_name='eq_stock_item')
    op.drop_index(op.f('ix_eq_stock_item_product_id'), table_name='eq_stock_item')
    op.drop_table('eq_stock_item')
    op.drop_index(op.f('ix_eq_request_template_line_template_id'), table_name='eq_request_template_line')
    op.drop_table('eq_request_template_line')
    op.drop_index(op.f('ix_eq_request_store_id'), table_name='eq_request')
    op.drop_index(op.f('ix_eq_request_status'), table_name='eq_request')
    op.drop_index(op.f('ix_eq_request_kind'), table_name='eq_request')
    op.drop_index(op.f('ix_eq_request_due_at'), table_name='eq_request')
    op.drop_index(op.f('ix_eq_request_created_at'), table_name='eq_request')
    op.drop_table('eq_request')
    op.drop_index(op.f('ix_eq_document_warehouse_id'), table_name='eq_document')
    op.drop_index(op.f('ix_eq_document_status'), table_name='eq_document')
    op.drop_index(op.f('ix_eq_document_kind'), table_name='eq_document')
    op.drop_index(op.f('ix_eq_document_created_at'), table_name='eq_document')
    op.drop_table('eq_document')
    op.drop_index(op.f('ix_eq_request_template_created_at'), table_name='eq_request_template')
    op.drop_table('eq_request_template')
    op.drop_index(op.f('ix_eq_bin_warehouse_id'), table_name='eq_bin')
    op.drop_table('eq_bin')
    op.drop_index(op.f('ix_eq_warehouse_created_at'), table_name='eq_warehouse')
    op.drop_table('eq_warehouse')
    op.drop_index('ix_eq_store_name_trgm', table_name='eq_store', postgresql_using='gin', postgresql_ops={'name': 'gin_trgm_ops'})
    op.drop_index(op.f('ix_eq_store_created_at'), table_name='eq_store')
    op.drop_index(op.f('ix_eq_store_city'), table_name='eq_store')
    op.drop_table('eq_store')
    op.drop_index(op.f('ix_eq_product_name'), table_name='eq_product')
    op.drop_index(op.f('ix_eq_product_kind'), table_name='eq_product')
    op.drop_index(op.f('ix_eq_product_created_at'), table_name='eq_product')
    op.drop_table('eq_product')
