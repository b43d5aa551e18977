"""Equipment, the warehouse side (seed 000, sections 3, 4, 11 "Склад"): the catalogue (product
types), places (warehouses, bins, stores), serial assets with their three status axes, consumables,
and warehouse documents with their lines.

Quantities and status axes are never fields of a form: assets come in by a receipt, consumables
change by documents (``warehouse.py``), and an axis moves only by its state machine
(``machines.py``): the assets' list offers each transition a person may make as a row action
(``machines = AXES``, the kit's block; docs/architecture.md, "State machines").
"""

from __future__ import annotations

from typing import Any

from app.core import ActionContext, Resource, ValidationFailed, action, col, fields, filters
from app.panels.equipment import warehouse
from app.panels.equipment.machines import AXES
from models.base import utcnow
from models.equipment import (
    Asset,
    AssetEvent,
    MoveKind,
    StockMove,
    Condition,
    DocumentKind,
    DocumentStatus,
    EqProduct,
    Location,
    Process,
    ProductKind,
    StockDocument,
    StockDocumentLine,
    StockItem,
    Store,
    Warehouse,
    WarehouseBin,
)

LOCATION_COLORS = {
    Location.MAIN_WAREHOUSE: "green", Location.BIN: "green", Location.IN_TRANSIT: "blue", Location.STORE: "violet",
    Location.SERVICE_CENTER: "amber", Location.LOST: "red", Location.UNKNOWN: "red",
}
CONDITION_COLORS = {
    Condition.WORKING: "green", Condition.DEFECTIVE: "red", Condition.ON_TESTING: "blue", Condition.REQUIRES_REPAIR: "amber",
    Condition.WAITING_PARTS: "amber", Condition.NOT_REPAIRABLE: "red", Condition.REQUIRES_WRITE_OFF: "red",
}
PROCESS_COLORS = {
    Process.FREE: "green", Process.RESERVED: "blue", Process.PICKED: "blue", Process.WAITING_SHIPMENT: "cyan",
    Process.IN_SHIPMENT: "cyan", Process.DELIVERED: "violet", Process.NOT_INSTALLED: "orange", Process.INSTALLED: "gray",
    Process.WAITING_REPAIR_SHIPMENT: "amber", Process.IN_REPAIR: "amber", Process.WRITE_OFF_IN_PROGRESS: "red",
    Process.WRITTEN_OFF: "gray",
}
DOC_COLORS = {DocumentStatus.DRAFT: "amber", DocumentStatus.POSTED: "green", DocumentStatus.REVERSED: "gray"}


class Products(Resource, model=EqProduct):
    """Product types (seed: Product): serial ones are counted as assets, consumables by quantity."""

    label, label_one, icon = "equipment.products", "equipment.product", "boxes"
    slug = "products"
    search = ["name", "sku", "vendor"]
    default_sort = "name"
    columns = [
        col("sku").sortable(),
        col("name").sortable().link(),
        col("kind", "equipment.kind").sortable().choices("equipment.product_kind").badge(lambda p: "blue" if p.kind is ProductKind.SERIAL else "gray"),
        col("vendor", "equipment.vendor").sortable(),
        col("lead_time_days", "equipment.lead_time_days").numeric().sortable(),
        col("min_qty", "equipment.min_qty").numeric().sortable(),
        col("weight_kg", "equipment.weight_kg").numeric().hide(),
        col("is_active").boolean().sortable(),
    ]
    filters = [filters.select("kind", [(k.value, f"equipment.product_kind.{k.value}") for k in ProductKind], "equipment.kind"),
               filters.select("vendor", label="equipment.vendor"), filters.ternary("is_active")]
    form = [
        fields.section("equipment.section.product", [
            fields.text("sku", label="equipment.sku"), "name",
            fields.select("kind", [(k.value, f"equipment.product_kind.{k.value}") for k in ProductKind], label="equipment.kind",
                          create_only=True, default="SERIAL"),
            fields.text("vendor", label="equipment.vendor", required=False),
            fields.integer("lead_time_days", min=0, max=365, label="equipment.lead_time_days", help="equipment.lead_time_help"),
            fields.integer("min_qty", min=0, max=1_000_000, label="equipment.min_qty"),
            fields.boolean("is_active"),
        ]),
        fields.section("equipment.section.size", [
            fields.number("weight_kg", min=0, max=100_000, label="equipment.weight_kg", required=False),
            fields.integer("length_cm", min=0, max=10_000, label="equipment.length_cm", required=False),
            fields.integer("width_cm", min=0, max=10_000, label="equipment.width_cm", required=False),
            fields.integer("height_cm", min=0, max=10_000, label="equipment.height_cm", required=False),
        ]),
    ]
    related = [("equipment.assets", "equipment.assets", "product_id"), ("equipment.stock", "equipment.stock", "product_id"),
               ("equipment.moves", "equipment.moves", "product_id")]


class Warehouses(Resource, model=Warehouse):
    label, label_one, icon = "equipment.warehouses", "equipment.warehouse", "warehouse"
    slug = "warehouses"
    search = ["name", "code", "city"]
    default_sort = "name"
    columns = [
        col("code", "equipment.code").sortable(),
        # the name opens the store card (equipment, shipments, map: store_card.py); the card links back to the details
        col("name").sortable().href(lambda s: f"/equipment/stores/{s.id}/card"),
        col("city", "equipment.city").sortable(),
        col("address", "equipment.address"),
        col("is_active").boolean().sortable(),
    ]
    filters = [filters.select("city", label="equipment.city"), filters.ternary("is_active")]
    form = [fields.section("equipment.warehouse", [
        fields.text("code", label="equipment.code"), "name",
        fields.text("city", label="equipment.city", required=False), fields.text("address", label="equipment.address", required=False),
        fields.number("lat", min=-90, max=90, label="equipment.lat", required=False),
        fields.number("lon", min=-180, max=180, label="equipment.lon", required=False),
        fields.boolean("is_active"),
    ])]
    related = [("equipment.bins", "equipment.bins", "warehouse_id"), ("equipment.stock", "equipment.stock", "warehouse_id")]


class Bins(Resource, model=WarehouseBin):
    label, label_one, icon = "equipment.bins", "equipment.bin", "grid-3x3"
    slug = "bins"
    title_field = "code"
    search = ["code", "zone"]
    default_sort = "code"
    columns = [
        col("code", "equipment.code").sortable().link(),
        col("warehouse_id", "equipment.warehouse").relation("equipment.warehouses").sortable(),
        col("zone", "equipment.zone").sortable(),
    ]
    filters = [filters.relation("warehouse_id", "equipment.warehouses", "equipment.warehouse")]
    form = [fields.section("equipment.bin", [
        fields.relation("warehouse_id", "equipment.warehouses", label="equipment.warehouse"),
        fields.text("code", label="equipment.code"), fields.text("zone", label="equipment.zone", required=False),
    ])]

    def title(self, record: Any) -> str:
        return record.code


class Stores(Resource, model=Store):
    label, label_one, icon = "equipment.stores", "equipment.store", "store"
    slug = "stores"
    search = ["name", "code", "city", "address"]
    default_sort = "name"
    columns = [
        col("code", "equipment.code").sortable(),
        col("name").sortable().link(),
        col("city", "equipment.city").sortable(),
        col("address", "equipment.address"),
        col("contact_name", "equipment.contact").hide(),
        col("contact_phone", "equipment.contact_phone").hide(),
        col("is_active").boolean().sortable(),
    ]
    filters = [filters.select("city", label="equipment.city"), filters.ternary("is_active")]
    form = [fields.section("equipment.store", [
        fields.text("code", label="equipment.code"), "name",
        fields.text("city", label="equipment.city", required=False), fields.text("address", label="equipment.address", required=False),
        fields.number("lat", min=-90, max=90, label="equipment.lat", required=False),
        fields.number("lon", min=-180, max=180, label="equipment.lon", required=False),
        fields.text("contact_name", label="equipment.contact", required=False),
        fields.text("contact_phone", label="equipment.contact_phone", required=False),
        fields.boolean("is_active"),
    ])]
    related = [("equipment.assets", "equipment.assets", "store_id")]


class Assets(Resource, model=Asset):
    """Serial assets. Created by receipts; the form corrects only the serial number and the note.
    The three axes are badges, each with its filter; their transitions are the row actions."""

    label, label_one, icon = "equipment.assets", "equipment.asset", "scan-barcode"
    slug = "assets"
    operations = frozenset({"view", "update"})
    title_field = "sn"
    search = ["sn"]
    default_sort = "-id"
    pagination = "keyset"
    machines = list(AXES)
    columns = [
        col("sn", "equipment.sn").sortable().link(),
        col("product_id", "equipment.product").relation("equipment.products").sortable(),
        col("location", "asset.location").sortable().choices("asset.location").badge(lambda a: LOCATION_COLORS.get(a.location)),
        col("condition", "asset.condition").sortable().choices("asset.condition").badge(lambda a: CONDITION_COLORS.get(a.condition)),
        col("process", "asset.process").sortable().choices("asset.process").badge(lambda a: PROCESS_COLORS.get(a.process)),
        col("warehouse_id", "equipment.warehouse").relation("equipment.warehouses"),
        col("bin_id", "equipment.bin").relation("equipment.bins").hide(),
        col("store_id", "equipment.store").relation("equipment.stores"),
        col("updated_at").datetime().sortable().hide(),
    ]
    filters = [
        filters.select("location", [(v.value, f"asset.location.{v.value}") for v in Location], "asset.location"),
        filters.select("condition", [(v.value, f"asset.condition.{v.value}") for v in Condition], "asset.condition"),
        filters.select("process", [(v.value, f"asset.process.{v.value}") for v in Process], "asset.process"),
        filters.relation("warehouse_id", "equipment.warehouses", "equipment.warehouse"),
        filters.relation("store_id", "equipment.stores", "equipment.store"),
        filters.relation("product_id", "equipment.products", "equipment.product"),
    ]
    form = [fields.section("equipment.asset", [
        fields.text("sn", label="equipment.sn", help="equipment.sn_help"),
        fields.textarea("note", label="equipment.note", required=False),
    ])]
    detail_fields = ["sn", "product_id", "location", "condition", "process", "warehouse_id", "bin_id", "store_id",
                     "delivered_at", "installed_at", "note", "created_at", "updated_at"]
    related = [("equipment.events", "equipment.asset_events", "asset_id"), ("equipment.moves", "equipment.moves", "asset_id")]

    def search_term(self, q: str) -> str:
        return q.strip()

    def after_transition(self, ctx: ActionContext, record: Any, move: Any) -> None:
        """A transition asked for on the page or through the API joins the asset's history too."""
        ctx.db.add(AssetEvent(asset_id=record.id, axis=move.field, from_value=move.before, to_value=move.after,
                              user_id=ctx.user.id, note=move.transition))
        record.updated_at = utcnow()
        if move.field == "process":  # installed from the list: the request it came by moves on as well
            from app.panels.equipment import process

            process.asset_moved(ctx.db, ctx.user, record, move.transition)

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        sn = (values.get("sn") or "").strip() if "sn" in values else None
        if sn is not None:
            values["sn"] = sn
            if not sn:
                return {"sn": ("error.required", {})}
            other = ctx.db.exec(_asset_by_sn(sn)).first()
            if other is not None and (record is None or other.id != record.id):
                return {"sn": ("equipment.sn_exists", {})}
        return {}

    def title(self, record: Any) -> str:
        return record.sn


def _asset_by_sn(sn: str) -> Any:
    from sqlmodel import select

    return select(Asset).where(Asset.sn == sn)


class StockItems(Resource, model=StockItem):
    """Consumables by quantity per warehouse (and bin). Quantities change only by documents; the
    minimum is a threshold and may be set here."""

    label, label_one, icon = "equipment.stock", "equipment.stock_item", "layers"
    slug = "stock"
    operations = frozenset({"view", "update"})
    default_sort = "-id"
    columns = [
        col("product_id", "equipment.product").relation("equipment.products").sortable().link(),
        col("warehouse_id", "equipment.warehouse").relation("equipment.warehouses").sortable(),
        col("bin_id", "equipment.bin").relation("equipment.bins"),
        col("qty_on_hand", "equipment.qty_on_hand").numeric().sortable(),
        col("qty_reserved", "equipment.qty_reserved").numeric().sortable(),
        col("qty_available", "equipment.qty_available").numeric().sortable().badge(lambda s: "red" if is_low(s) else None),
        col("min_qty", "equipment.min_qty").numeric().sortable().editable(),
        col("updated_at").datetime().sortable().hide(),
    ]
    filters = [
        filters.relation("product_id", "equipment.products", "equipment.product"),
        filters.relation("warehouse_id", "equipment.warehouses", "equipment.warehouse"),
        filters.number("qty_available", "equipment.qty_available"),
    ]
    form = [fields.section("equipment.stock_item", [fields.integer("min_qty", min=0, max=1_000_000, label="equipment.min_qty")])]

    def title(self, record: Any) -> str:
        return f"#{record.id}"


def is_low(item: StockItem) -> bool:
    """Low stock: less available than the minimum (a minimum of 0 never warns)."""
    return item.min_qty > 0 and (item.qty_on_hand - item.qty_reserved) < item.min_qty


KIND_OPTIONS = [(k.value, f"equipment.doc_kind.{k.value}") for k in DocumentKind]


class Documents(Resource, model=StockDocument):
    """Warehouse operations (receipt, move, write-off, repair send/return, inventory). A draft is
    edited freely; posting applies it (``warehouse.post``); a posted one is never edited and is
    undone by a counter-document (``warehouse.reverse``)."""

    label, label_one, icon = "equipment.documents", "equipment.document", "clipboard-list"
    slug = "documents"
    search = ["comment"]
    default_sort = "-id"
    columns = [
        col("id").sortable().link(),
        col("kind", "equipment.doc_kind").sortable().choices("equipment.doc_kind"),
        col("status", "equipment.doc_status").sortable().choices("equipment.doc_status").badge(lambda d: DOC_COLORS.get(d.status)),
        col("warehouse_id", "equipment.warehouse").relation("equipment.warehouses").sortable(),
        col("to_warehouse_id", "equipment.to_warehouse").relation("equipment.warehouses"),
        col("reverses_id", "equipment.reverses").hide(),
        col("comment", "equipment.comment"),
        col("created_at").datetime().sortable(),
        col("posted_at", "equipment.posted_at").datetime().sortable(),
        col("posted_by_id", "equipment.posted_by").relation("admin.users").hide(),
    ]
    filters = [
        filters.select("kind", KIND_OPTIONS, "equipment.doc_kind"),
        filters.select("status", [(s.value, f"equipment.doc_status.{s.value}") for s in DocumentStatus], "equipment.doc_status"),
        filters.relation("warehouse_id", "equipment.warehouses", "equipment.warehouse"),
        filters.date("posted_at", "equipment.posted_at"),
    ]
    form = [
        fields.section("equipment.document", [
            fields.select("kind", KIND_OPTIONS, label="equipment.doc_kind", create_only=True, default="RECEIPT"),
            fields.relation("warehouse_id", "equipment.warehouses", label="equipment.warehouse"),
            fields.relation("bin_id", "equipment.bins", label="equipment.bin", required=False),
            fields.relation("to_warehouse_id", "equipment.warehouses", label="equipment.to_warehouse", required=False, help="equipment.to_help"),
            fields.relation("to_bin_id", "equipment.bins", label="equipment.to_bin", required=False),
            fields.textarea("comment", label="equipment.comment", required=False),
        ]),
        fields.section("equipment.lines", [
            # a product by its SKU (typed or scanned; a relation picker has no place in a row)
            fields.rows("lines", resource="equipment.document_lines", fk="document_id",
                        fields=["sku", "sn", "qty"], label="equipment.lines", help="equipment.lines_help"),
        ]),
    ]
    # who created and posted it is in its history (the audit rows) below; the lines as a list with
    # their products, serial numbers, counted and expected quantities
    detail_fields = ["id", "kind", "status", "warehouse_id", "bin_id", "to_warehouse_id", "to_bin_id", "reverses_id", "comment",
                     "created_at", "posted_at"]
    related = [("equipment.lines", "equipment.document_lines", "document_id")]

    def can(self, user: Any, operation: str, record: Any = None) -> bool:
        """A posted (or reversed) document is never edited nor deleted."""
        if operation in ("update", "delete") and record is not None and record.status is not DocumentStatus.DRAFT:
            return False
        return super().can(user, operation, record)

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        get = lambda name: values[name] if name in values else getattr(record, name, None)  # noqa: E731
        kind = DocumentKind(get("kind") or DocumentKind.RECEIPT)
        errors: dict = {}
        if "lines" in values:
            known = {str(r.id): r.product_id for r in warehouse.lines_of(ctx.db, record)} if record is not None else {}
            lines, errors = warehouse.lines_from_rows(ctx.db, values["lines"], known=known)
            if errors:
                return errors
        elif record is not None:
            lines = [warehouse.Line(r.product_id, r.sn, r.qty) for r in warehouse.lines_of(ctx.db, record)]
        else:
            lines = []
        return warehouse.check(ctx.db, kind, get("warehouse_id"), get("bin_id"), get("to_warehouse_id"), get("to_bin_id"), lines,
                               product_cell="sku")

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        if creating:
            record.created_by_id = ctx.user.id
            record.status = DocumentStatus.DRAFT

    @action("equipment.post", confirm=True, color="green", audit=False, visible=lambda d: d.status is DocumentStatus.DRAFT)
    def post(self, ctx: ActionContext, records: list[StockDocument]) -> str:
        for doc in records:
            warehouse.post(ctx.db, ctx.user, doc)
        return "equipment.posted"

    @action("equipment.reverse", confirm=True, color="red", audit=False,
            visible=lambda d: d.status is DocumentStatus.POSTED and d.reverses_id is None)
    def reverse(self, ctx: ActionContext, records: list[StockDocument]) -> str:
        for doc in records:
            warehouse.reverse(ctx.db, ctx.user, doc)
        return "equipment.reversed"

    def title(self, record: Any) -> str:
        return f"№{record.id}"


class DocumentLines(Resource, model=StockDocumentLine):
    """A document's lines, edited inside its form (``fields.rows``): changed only while the
    document is a draft, by whoever may edit the document."""

    label, label_one, icon = "equipment.lines", "equipment.line", "list"
    slug = "document_lines"
    menu = False
    default_sort = "id"
    columns = [
        col("document_id", "equipment.document").relation("equipment.documents"),
        col("product_id", "equipment.product").relation("equipment.products"),
        col("sn", "equipment.sn"),
        col("qty", "equipment.qty").numeric(),
        col("expected_qty", "equipment.expected_qty").numeric(),
    ]
    filters = [filters.relation("document_id", "equipment.documents", "equipment.document")]
    form = [fields.section("equipment.line", [
        fields.relation("document_id", "equipment.documents", label="equipment.document"),
        fields.relation("product_id", "equipment.products", label="equipment.product", required=False),
        fields.text("sku", label="equipment.sku", required=False, virtual=True, help="equipment.sku_help"),
        fields.text("sn", label="equipment.sn", required=False),
        fields.integer("qty", min=0, max=1_000_000, label="equipment.qty", default=1),
    ])]

    @classmethod
    def permissions(cls) -> list[str]:
        return []  # none of their own: the document's

    def can(self, user: Any, operation: str, record: Any = None) -> bool:
        """The lines follow their document's permissions (view / update)."""
        if operation not in self.operations:
            return False
        doc_op = "view" if operation == "view" else "update"
        return user.has_perm(f"equipment.documents.{doc_op}")

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        doc_id = values.get("document_id") or getattr(record, "document_id", None)
        doc = ctx.db.get(StockDocument, doc_id) if doc_id else None
        if doc is not None and doc.status is not DocumentStatus.DRAFT:
            return {"": ("equipment.already_posted", {})}
        if "sn" in values:
            values["sn"] = (values["sn"] or "").strip() or None
        if values.get("sku"):  # the product by its SKU; left empty, the line keeps its product
            product = warehouse.product_by_sku(ctx.db, values["sku"])
            if product is None:
                return {"sku": ("equipment.sku_unknown", {})}
            values["product_id"] = product.id
        return {}

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        doc = ctx.db.get(StockDocument, record.document_id)
        if doc is not None and doc.status is not DocumentStatus.DRAFT:
            raise ValidationFailed.one("", "equipment.already_posted")

    def title(self, record: Any) -> str:
        return record.sn or f"#{record.id}"


class AssetEvents(Resource, model=AssetEvent):
    """An asset's history: every axis move and change of place, with who and which document."""

    label, label_one, icon = "equipment.events", "equipment.event", "history"
    slug = "asset_events"
    operations = frozenset({"view"})
    menu = False
    default_sort = "-id"
    columns = [
        col("at", "equipment.at").datetime().sortable(),
        col("asset_id", "equipment.asset").relation("equipment.assets"),
        col("axis", "equipment.axis").choices("equipment.axis"),
        col("from_value", "equipment.from_value"),
        col("to_value", "equipment.to_value"),
        col("document_id", "equipment.document").relation("equipment.documents"),
        col("user_id", "equipment.user").relation("admin.users"),
    ]
    filters = [filters.relation("asset_id", "equipment.assets", "equipment.asset"), filters.date("at", "equipment.at")]

    def title(self, record: Any) -> str:
        return f"#{record.id}"


class StockMoves(Resource, model=StockMove):
    """The ledger: every quantity change, signed (read-only; documents write it)."""

    label, label_one, icon = "equipment.moves", "equipment.move", "arrow-left-right"
    slug = "moves"
    operations = frozenset({"view"})
    default_sort = "-id"
    columns = [
        col("at", "equipment.at").datetime().sortable(),
        col("kind", "equipment.move_kind").sortable().choices("equipment.move_kind"),
        col("product_id", "equipment.product").relation("equipment.products").sortable(),
        col("warehouse_id", "equipment.warehouse").relation("equipment.warehouses"),
        col("qty", "equipment.qty").numeric().sortable(),
        col("asset_id", "equipment.asset").relation("equipment.assets"),
        col("document_id", "equipment.document").relation("equipment.documents"),
    ]
    filters = [
        filters.select("kind", [(k.value, f"equipment.move_kind.{k.value}") for k in MoveKind], "equipment.move_kind"),
        filters.relation("product_id", "equipment.products", "equipment.product"),
        filters.relation("warehouse_id", "equipment.warehouses", "equipment.warehouse"),
        filters.date("at", "equipment.at"),
    ]

    def title(self, record: Any) -> str:
        return f"#{record.id}"


RESOURCES = [Products, Warehouses, Bins, Stores, Assets, StockItems, Documents, DocumentLines, AssetEvents, StockMoves]
