"""Sirius resources: products, supplies, orders."""

from __future__ import annotations

from typing import Any

from app.core.errors import PermissionDenied, ValidationFailed
from app.core import ActionContext, Resource, TimelineEvent, action, col, comment_wall, fields, filters, format_phone, timeline
from app.panels.stock import services
from models.stock import Order, OrderStatus, Product, Supply
from sqlmodel import select

STATUS_COLORS = {
    OrderStatus.paid_not_issued: "amber",
    OrderStatus.paid_issued: "green",
    OrderStatus.paid_denied: "gray",
}


class Products(Resource, model=Product):
    label, label_one, icon = "stock.products", "stock.product", "package"
    search = ["name", "supplier_name", "description"]
    default_sort = "name"
    columns = [
        col("photo_id").shown_as("photo"),
        col("name").sortable().link(),
        col("stock").numeric().sortable().badge(lambda p: "red" if p.is_low_stock else None),
        col("min_stock").numeric().sortable().editable(),
        col("quantity").numeric().sortable().hide(),
        col("buy_price_eur").money("EUR").sortable(),
        col("sell_price_rub").money("RUB").sortable(),
        col("supplier_name").sortable(),
        col("created_at").datetime().sortable().hide(),
    ]
    filters = [
        filters.ternary("is_low_stock"),
        filters.select("supplier_name"),
        filters.number("sell_price_rub"),
        filters.number("stock"),
        filters.date("created_at"),
    ]
    form = [
        fields.section("stock.section.main", ["name", fields.textarea("description"), "supplier_name", fields.photo("photo_id", max_mb=5)]),
        fields.section(
            "stock.section.prices",
            [
                fields.money("buy_price_eur", "EUR"),
                fields.money("sell_price_rub", "RUB"),
                fields.integer("min_stock", min=0, max=1_000_000),
                fields.integer("initial_qty", min=0, max=1_000_000, virtual=True, create_only=True, help="stock.initial_qty_help"),
            ],
        ),
    ]
    detail_fields = ["photo_id", "name", "description", "stock", "quantity", "issued_qty", "min_stock", "buy_price_eur", "sell_price_rub", "supplier_name", "created_at"]
    related = [("stock.supplies", "stock.supplies", "product_id"), ("stock.orders", "stock.orders", "product_id")]

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        # A new threshold notifies only when it makes the product cross into low stock, not on
        # every edit of a product that was low already.
        if not creating and changes.get("min_stock") is not None:
            low = services.was_low(record)
            record.min_stock = changes["min_stock"]
            services.notify_if_low(ctx.db, record, low)

    def after_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        if not creating:
            return
        qty = changes.get("initial_qty")
        if qty:
            supply = Supply(product_id=record.id, qty=qty, supplier_name=record.supplier_name, buy_price_eur=record.buy_price_eur)
            ctx.db.add(supply)
            services.add_supply(ctx.db, ctx.user, supply)
        # A product created below its threshold is low from the start: notify once.
        services.notify_if_low(ctx.db, record, was_low=False)

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        """Soft delete keeps order history intact; nothing to refuse."""


class Supplies(Resource, model=Supply):
    label, label_one, icon = "stock.supplies", "stock.supply", "truck"
    operations = frozenset({"view", "create", "delete"})
    search = ["supplier_name"]
    columns = [
        col("id").sortable().link(),
        col("created_at").datetime().sortable(),
        col("product_id", "stock.product").relation("stock.products").sortable(),
        col("qty").numeric().sortable(),
        col("supplier_name").sortable(),
        col("buy_price_eur").money("EUR").sortable(),
    ]
    filters = [filters.relation("product_id", "stock.products", "stock.product"), filters.date("created_at"), filters.select("supplier_name")]
    form = [
        fields.section(
            "stock.supply",
            [
                fields.relation("product_id", "stock.products", label="stock.product"),
                fields.integer("qty", min=1, max=1_000_000),
                "supplier_name",
                fields.money("buy_price_eur", "EUR"),
            ],
        )
    ]

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        if creating:
            services.add_supply(ctx.db, ctx.user, record)

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        services.remove_supply(ctx.db, record)

    def title(self, record: Any) -> str:
        return f"#{record.id}"


def order_events(db: Any, user: Any, order: Order) -> list[TimelineEvent]:
    """Supplies of the order's product that arrived while it waited to be issued: what an operator
    looks for on an order that could not be issued yet (the order's own changes are its audit rows)."""
    stmt = select(Supply).where(Supply.product_id == order.product_id, Supply.created_at >= order.created_at)
    if order.issued_at is not None:
        stmt = stmt.where(Supply.created_at <= order.issued_at)
    return [TimelineEvent(s.created_at, "supply", "stock.event.supply", f"+{s.qty} · {s.supplier_name or ''}".rstrip(" ·"))
            for s in db.exec(stmt.order_by(Supply.id.desc()).limit(20)).all()]


class Orders(Resource, model=Order):
    label, label_one, icon = "stock.orders", "stock.order", "shopping-cart"
    search = ["phone", "customer_name", "product_name"]
    columns = [
        col("id").sortable().link(),
        col("created_at").datetime().sortable(),
        col("product_name", "stock.product"),
        col("qty").numeric(),
        col("unit_price_rub").money("RUB"),
        col("total", "stock.total").money("RUB").value(lambda o: o.qty * o.unit_price_rub),
        col("phone").phone().sortable(),
        col("customer_name").hide(),
        col("status").sortable().choices("order.status").badge(lambda o: STATUS_COLORS.get(o.status)),
    ]
    filters = [
        filters.select("status"),
        filters.relation("product_id", "stock.products", "stock.product"),
        filters.date("created_at"),
        filters.text("phone"),
    ]
    form = [
        fields.section(
            "stock.order",
            [
                fields.phone("phone"),
                "customer_name",
                fields.relation("product_id", "stock.products", label="stock.product"),
                fields.integer("qty", min=1, max=1_000_000),
                fields.money("unit_price_rub", "RUB", required=False, help="stock.price_help"),
                fields.select("status", [(s.value, f"order.status.{s.value}") for s in OrderStatus], create_only=True, default="paid_not_issued"),
            ],
        )
    ]
    detail_fields = ["id", "created_at", "status", "product_name", "qty", "unit_price_rub", "phone", "customer_name", "issued_at"]
    detail_blocks = [
        comment_wall(),
        timeline(events=order_events, tables=("supply",), kinds={"supply": "stock.supplies"}),
    ]

    def can(self, user, operation, record=None) -> bool:
        """Only open orders can be edited; issue/deny state rules are the services' (with a clear message)."""
        if operation == "update" and record is not None and record.status != OrderStatus.paid_not_issued:
            return False
        return super().can(user, operation, record)

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        if record is None and values.get("status") == OrderStatus.paid_denied:
            return {"status": ("error.choice", {})}
        return {}

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        if creating or changes.get("product_id", record.product_id) != record.product_id:
            product = services.lock_product(ctx.db, record.product_id)
            record.product_name = product.name
            services.fix_cost(ctx.db, record, product)  # the sale's EUR rate and purchase price, kept
            if changes.get("unit_price_rub") is None and (creating or "unit_price_rub" in changes):
                if product.sell_price_rub is None:
                    raise ValidationFailed.one("unit_price_rub", "error.required")
                record.unit_price_rub = product.sell_price_rub
        if creating:
            record.user_id = ctx.user.id
            wants_issued = record.status == OrderStatus.paid_issued
            record.status = OrderStatus.paid_not_issued
            if wants_issued:
                # Creating an order as issued is issuing it: the same permission as the action.
                if not self.can(ctx.user, "issue", record):
                    raise PermissionDenied()
                ctx.db.add(record)
                ctx.db.flush()
                services.issue_order(ctx.db, record)

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        """Deleting an issued order puts its goods back, like denying it would."""
        if record.status == OrderStatus.paid_issued:
            services.deny_order(ctx.db, record)

    def form_changed(self, ctx: ActionContext, name: str, values: dict[str, str]) -> dict[str, str]:
        """Choosing a product prefills the unit price from its card; the user may then give a discount."""
        if name == "product_id" and values.get("product_id", "").isdigit():
            product = ctx.db.get(Product, int(values["product_id"]))
            if product is not None and product.sell_price_rub is not None:
                return {"unit_price_rub": str(product.sell_price_rub)}
        return {}

    # A bulk issue runs in a worker (an order short of stock is reported, the others are issued).
    @action("stock.issue", bulk=True, confirm=True, job=True, color="green", visible=lambda o: o.status == OrderStatus.paid_not_issued)
    def issue(self, ctx: ActionContext, records: list[Order]) -> str:
        for order in records:
            services.issue_order(ctx.db, order)
        return "stock.issued"

    @action("stock.deny", bulk=True, confirm=True, color="red", visible=lambda o: o.status != OrderStatus.paid_denied)
    def deny(self, ctx: ActionContext, records: list[Order]) -> str:
        for order in records:
            services.deny_order(ctx.db, order)
        return "stock.denied"

    def title(self, record: Any) -> str:
        return f"№{record.id} · {format_phone(record.phone)}"

