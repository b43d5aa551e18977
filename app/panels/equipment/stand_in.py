"""STAND-IN, to be dropped at merge: read-only pickers for the warehouse side's resources
(products, warehouses, stores, assets, stock items) under the slugs the process side relates to
(``requests.PRODUCTS`` …), so this branch boots and its pages pick records while the warehouse
helper's ``resources.py`` — which owns these resources — is built in parallel. Registered only
when no other module of the panel declares them (``__init__`` checks)."""

from __future__ import annotations

from typing import Any

from app.core import Resource, col
from models.equipment import Asset, EqProduct, StockItem, Store, Warehouse


class Products(Resource, model=EqProduct):
    label, label_one, icon, slug = "equipment.products", "equipment.product", "box", "products"
    operations = frozenset({"view"})
    search = ["name", "sku"]
    columns = [col("name").sortable().link(), col("sku", "equipment.sku"), col("kind", "equipment.product_kind").choices("eq_product.kind")]
    detail_fields = ["name", "sku", "kind"]


class Warehouses(Resource, model=Warehouse):
    label, label_one, icon, slug = "equipment.warehouses", "equipment.warehouse", "warehouse", "warehouses"
    operations = frozenset({"view"})
    search = ["name", "code"]
    columns = [col("name").sortable().link(), col("code", "equipment.code")]
    detail_fields = ["name", "code"]


class Stores(Resource, model=Store):
    label, label_one, icon, slug = "equipment.stores", "equipment.store", "store", "stores"
    operations = frozenset({"view"})
    search = ["name", "code"]
    columns = [col("name").sortable().link(), col("code", "equipment.code"), col("city", "equipment.city")]
    detail_fields = ["name", "code", "city"]


class Assets(Resource, model=Asset):
    label, label_one, icon, slug = "equipment.assets", "equipment.asset", "router", "assets"
    operations = frozenset({"view"})
    search = ["sn"]
    title_field = "sn"
    columns = [col("sn", "equipment.sn").sortable().link(), col("product_id", "equipment.product").relation("equipment.products"),
               col("process", "asset.process").choices("asset.process")]
    detail_fields = ["sn", "product_id", "process"]


class StockItems(Resource, model=StockItem):
    label, label_one, icon, slug = "equipment.stock_items", "equipment.stock_item", "layers", "stock_items"
    operations = frozenset({"view"})
    columns = [col("product_id", "equipment.product").relation("equipment.products"), col("qty_on_hand", "equipment.qty").numeric(),
               col("qty_reserved", "equipment.qty_reserved").numeric()]
    detail_fields = ["product_id", "qty_on_hand", "qty_reserved"]

    def title(self, record: Any) -> str:
        return f"#{record.id}"


STAND_IN = [Products, Warehouses, Stores, Assets, StockItems]
