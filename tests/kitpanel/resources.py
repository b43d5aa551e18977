"""The fixture panel's resources: what the kit's own tests list, page, filter, search, edit,
export, import and run actions on.

``Items`` — text, numbers, money, a date, a computed number and flag, soft delete and trash,
search, every filter kind but relation, a create-only virtual field whose save hook makes a child,
and tags linked many-to-many (``fields.many``).
``Tags`` — the linked records, with a bool column.
``Deliveries`` — hard delete, a relation column, a relation filter and field.
``Orders`` — a phone, a status choice (``Enum``) with badges, a computed column, a save hook that
fails after a flush, and two bulk actions: ``issue`` (in a worker, ``job=True``) and ``deny``.
"""

from __future__ import annotations

from typing import Any

from app.core import ActionContext, Resource, action, col, fields, filters, format_phone
from app.core.errors import ValidationFailed
from tests.kitpanel import services
from tests.kitpanel.models import Delivery, Item, ItemTag, Order, OrderStatus, Tag

STATUS_COLORS = {OrderStatus.open: "amber", OrderStatus.issued: "green", OrderStatus.denied: "gray"}


class Items(Resource, model=Item):
    label, label_one, icon = "kitpanel.items", "kitpanel.item", "package"
    search = ["name", "vendor", "description"]
    default_sort = "name"
    columns = [
        col("name").sortable().link(),
        col("stock").numeric().sortable().badge(lambda i: "red" if i.is_low else None),
        col("min_stock").numeric().sortable().editable(),
        col("quantity").numeric().sortable().hide(),
        col("cost_eur").money("EUR").sortable(),
        col("price_rub").money("RUB").sortable(),
        col("vendor").sortable(),
        col("created_at").datetime().sortable().hide(),
    ]
    filters = [
        filters.ternary("is_low"),
        filters.select("vendor"),
        filters.number("price_rub"),
        filters.number("stock"),
        filters.date("created_at"),
    ]
    form = [
        fields.section("kitpanel.section.main", ["name", fields.textarea("description"), "vendor",
                                                 fields.many("tags", through=ItemTag, resource="kitpanel.tags", label="kitpanel.tags")]),
        fields.section(
            "kitpanel.section.prices",
            [
                fields.money("cost_eur", "EUR"),
                fields.money("price_rub", "RUB"),
                fields.integer("min_stock", min=0, max=1_000_000),
                fields.integer("initial_qty", min=0, max=1_000_000, virtual=True, create_only=True),
            ],
        ),
    ]
    detail_fields = ["name", "description", "stock", "quantity", "issued_qty", "min_stock", "cost_eur", "price_rub", "vendor", "created_at"]
    related = [("kitpanel.deliveries", "kitpanel.deliveries", "item_id"), ("kitpanel.orders", "kitpanel.orders", "item_id")]

    def after_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        qty = changes.get("initial_qty")
        if creating and qty:
            delivery = Delivery(item_id=record.id, qty=qty, vendor=record.vendor, cost_eur=record.cost_eur)
            ctx.db.add(delivery)
            services.add_delivery(ctx.db, delivery)


class Tags(Resource, model=Tag):
    label, label_one, icon = "kitpanel.tags", "kitpanel.tag", "tag"
    search = ["name"]
    default_sort = "name"
    columns = [col("name").sortable().link(), col("active").boolean().sortable()]
    filters = [filters.ternary("active")]
    form = [fields.section("kitpanel.tag", ["name", "active"])]


class Deliveries(Resource, model=Delivery):
    label, label_one, icon = "kitpanel.deliveries", "kitpanel.delivery", "truck"
    operations = frozenset({"view", "create", "delete"})
    search = ["vendor"]
    columns = [
        col("id").sortable().link(),
        col("created_at").datetime().sortable(),
        col("item_id", "kitpanel.item").relation("kitpanel.items").sortable(),
        col("qty").numeric().sortable(),
        col("vendor").sortable(),
        col("cost_eur").money("EUR").sortable(),
    ]
    filters = [filters.relation("item_id", "kitpanel.items", "kitpanel.item"), filters.date("created_at"), filters.select("vendor")]
    form = [
        fields.section(
            "kitpanel.delivery",
            [fields.relation("item_id", "kitpanel.items", label="kitpanel.item"), fields.integer("qty", min=1, max=1_000_000), "vendor",
             fields.money("cost_eur", "EUR")],
        )
    ]

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        if creating:
            services.add_delivery(ctx.db, record)

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        services.remove_delivery(ctx.db, record)

    def title(self, record: Any) -> str:
        return f"#{record.id}"


class Orders(Resource, model=Order):
    label, label_one, icon = "kitpanel.orders", "kitpanel.order", "shopping-cart"
    search = ["phone", "customer_name", "item_name"]
    columns = [
        col("id").sortable().link(),
        col("created_at").datetime().sortable(),
        col("item_name", "kitpanel.item"),
        col("qty").numeric(),
        col("unit_price").money("RUB"),
        col("total", "kitpanel.total").money("RUB").value(lambda o: o.qty * o.unit_price),
        col("phone").phone().sortable(),
        col("customer_name").hide(),
        col("status").sortable().choices("kit_order.status").badge(lambda o: STATUS_COLORS.get(o.status)),
    ]
    filters = [
        filters.select("status"),
        filters.relation("item_id", "kitpanel.items", "kitpanel.item"),
        filters.date("created_at"),
        filters.text("phone"),
    ]
    form = [
        fields.section(
            "kitpanel.order",
            [
                fields.phone("phone"),
                "customer_name",
                fields.relation("item_id", "kitpanel.items", label="kitpanel.item"),
                fields.integer("qty", min=1, max=1_000_000),
                fields.money("unit_price", "RUB", required=False),
                fields.select("status", [(s.value, f"kit_order.status.{s.value}") for s in OrderStatus], create_only=True, default="open"),
            ],
        )
    ]
    detail_fields = ["id", "created_at", "status", "item_name", "qty", "unit_price", "phone", "customer_name", "issued_at"]

    def can(self, user, operation, record=None) -> bool:
        if operation == "update" and record is not None and record.status != OrderStatus.open:
            return False
        return super().can(user, operation, record)

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        if record is None and values.get("status") == OrderStatus.denied:
            return {"status": ("error.choice", {})}
        return {}

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        if creating or changes.get("item_id", record.item_id) != record.item_id:
            item = services.lock_item(ctx.db, record.item_id)
            record.item_name = item.name
            if changes.get("unit_price") is None and (creating or "unit_price" in changes):
                if item.price_rub is None:
                    raise ValidationFailed.one("unit_price", "error.required")
                record.unit_price = item.price_rub
        if creating and record.status == OrderStatus.issued:
            # Creating an order as issued is issuing it: flushed first, so a refusal here is a
            # failure after a flush that must leave nothing behind.
            record.status = OrderStatus.open
            ctx.db.add(record)
            ctx.db.flush()
            services.issue_order(ctx.db, record)

    @action("kitpanel.issue", bulk=True, confirm=True, job=True, color="green", visible=lambda o: o.status == OrderStatus.open)
    def issue(self, ctx: ActionContext, records: list[Order]) -> str:
        for order in records:
            services.issue_order(ctx.db, order)
        return "kitpanel.issued"

    @action("kitpanel.deny", bulk=True, confirm=True, color="red", visible=lambda o: o.status != OrderStatus.denied)
    def deny(self, ctx: ActionContext, records: list[Order]) -> str:
        for order in records:
            services.deny_order(ctx.db, order)
        return "kitpanel.denied"

    def title(self, record: Any) -> str:
        return f"№{record.id} · {format_phone(record.phone)}"
