"""Resources of the process side (seed 000, sections 3, 8, 13.2, 13.5, 14): request templates,
requests, reservations, shipments with their picking checklist, delivery orders.

Statuses are never form fields: what a person does is an action (reserve, pick, confirm, hand
over, deliver, install, cancel) that calls :mod:`app.panels.equipment.process`, whose machines
move the statuses. The kit checks ``equipment.<resource>.<action>`` for every action (``can``),
the services check the moves' own permissions again (a refused move is refused whatever the door).
"""

from __future__ import annotations

from typing import Any

from app.core import (
    ActionContext,
    Kind,
    Resource,
    ValidationFailed,
    action,
    col,
    comment_wall,
    fields,
    filters,
    register_kind,
    timeline,
)
from app.panels.equipment import delivery, process
from models.equipment import (
    DeliveryOrder,
    DeliveryProvider,
    DeliveryStatus,
    EqRequest,
    RequestLine,
    RequestStatus,
    RequestTemplate,
    RequestTemplateLine,
    Reservation,
    ReservationStatus,
    Shipment,
    ShipmentItem,
    ShipmentStatus,
)

# The warehouse side's resources these pick from (app/panels/equipment/resources.py).
PRODUCTS, WAREHOUSES, STORES, ASSETS, STOCK_ITEMS = (
    "equipment.products", "equipment.warehouses", "equipment.stores", "equipment.assets", "equipment.stock")

REQUEST_COLORS = {
    RequestStatus.NEW: "blue", RequestStatus.RESERVED: "amber", RequestStatus.PICKING: "orange", RequestStatus.SHIPPED: "violet",
    RequestStatus.DELIVERED: "cyan", RequestStatus.INSTALLED: "green", RequestStatus.DONE: "gray", RequestStatus.CANCELLED: "red",
}
SHIPMENT_COLORS = {
    ShipmentStatus.PICKING: "orange", ShipmentStatus.PICKED: "amber", ShipmentStatus.CONFIRMED: "blue", ShipmentStatus.HANDED_OVER: "violet",
    ShipmentStatus.IN_TRANSIT: "violet", ShipmentStatus.DELIVERED: "green", ShipmentStatus.CANCELLED: "red",
}


@register_kind
class Checklist(Kind):
    """A checklist: typed one item a line, stored as a JSON list (a template's items as text; a
    request's or shipment's as ``{"item", "done", "by", "at"}``), shown numbered with ☐ / ✓."""

    name = "checklist"
    widget = "textarea"
    takes_list = True
    shows_lists = True
    wraps = True
    importable = False

    def convert(self, field: Any, value: Any) -> Any:
        return process.checklist_items(value)

    def empty(self, field: Any) -> tuple[Any, Any]:
        return [], None

    def json_schema(self, field: Any) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "string"}, "description": "checklist items, in order"}

    def example(self, field: Any) -> Any:
        return ["Проверить комплектность", "Наклеить инвентарные номера"]

    def display(self, value: Any, lang: str, currency: str | None = None) -> str:
        out = []
        for i, x in enumerate(value or [], 1):
            done = isinstance(x, dict) and x.get("done")
            text = x.get("item", "") if isinstance(x, dict) else str(x)
            by = f" ({x['by']})" if done and x.get("by") else ""
            out.append(f"{i}. {'✓' if done else '☐'} {text}{by}")
        return "\n".join(out)

    def form_value(self, value: Any) -> str:
        return "\n".join(process.checklist_items(value))

    def export_text(self, value: Any, lang: str) -> Any:
        return self.display(value, lang)


def _merge_checklist(old: list[dict[str, Any]] | None, items: list[str]) -> list[dict[str, Any]]:
    """Typed items as checklist lines, keeping the ticks of lines whose text did not change."""
    ticked = {x.get("item"): x for x in old or [] if isinstance(x, dict)}
    return [ticked.get(i) or {"item": i, "done": False, "by": None, "at": None} for i in items]


# ---------------------------------------------------------------- templates


class TemplateLines(Resource, model=RequestTemplateLine):
    label, label_one, icon = "equipment.template_lines", "equipment.template_line", "list"
    slug = "template_lines"
    menu = False
    pagination = "offset"
    columns = [col("template_id", "equipment.template").relation("equipment.templates"),
               col("product_id", "equipment.product").relation(PRODUCTS), col("qty", "equipment.qty").numeric()]
    form = [fields.section("equipment.template_line", [
        fields.relation("template_id", "equipment.templates", label="equipment.template"),
        fields.relation("product_id", PRODUCTS, label="equipment.product"),
        fields.integer("qty", min=1, max=10_000, label="equipment.qty", default=1),
    ])]

    def title(self, record: Any) -> str:
        return f"#{record.id}"


class Templates(Resource, model=RequestTemplate):
    """Request templates (section 13.5): made by storekeepers and chiefs, used by support."""

    label, label_one, icon = "equipment.templates", "equipment.template", "clipboard-list"
    slug = "templates"
    search = ["name", "description"]
    default_sort = "name"
    columns = [
        col("name").sortable().link(),
        col("kind", "equipment.request_kind").sortable().choices("eq_request.kind"),
        col("is_active", "equipment.active").boolean().sortable(),
        col("created_at").datetime().sortable().hide(),
    ]
    filters = [filters.select("kind", label="equipment.request_kind"), filters.ternary("is_active", "equipment.active")]
    form = [
        fields.section("equipment.template", [
            fields.text("name"),
            fields.select("kind", label="equipment.request_kind", default="REGULAR"),
            fields.textarea("description", required=False),
            fields.boolean("is_active", label="equipment.active", default=True),
        ]),
        fields.section("equipment.section.lines", [
            fields.rows("lines", resource="equipment.template_lines", fk="template_id", fields=["product_id", "qty"],
                        label="equipment.lines", help="equipment.lines_help"),
        ]),
        fields.section("equipment.checklist", [
            fields.of("checklist", "checklist", label="equipment.checklist", help="equipment.checklist_help", required=False),
        ]),
    ]
    detail_fields = ["name", "kind", "description", "checklist", "is_active", "created_at"]
    related = [("equipment.lines", "equipment.template_lines", "template_id")]

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        if creating:
            record.created_by_id = ctx.user.id
        if record.checklist is None:
            record.checklist = []


# ---------------------------------------------------------------- requests


class RequestLines(Resource, model=RequestLine):
    label, label_one, icon = "equipment.request_lines", "equipment.request_line", "list"
    slug = "request_lines"
    menu = False
    pagination = "offset"
    columns = [col("request_id", "equipment.request").relation("equipment.requests"),
               col("product_id", "equipment.product").relation(PRODUCTS), col("qty", "equipment.qty").numeric(),
               col("qty_reserved", "equipment.qty_reserved").numeric()]
    form = [fields.section("equipment.request_line", [
        fields.relation("request_id", "equipment.requests", label="equipment.request", create_only=True),
        fields.relation("product_id", PRODUCTS, label="equipment.product"),
        fields.integer("qty", min=1, max=10_000, label="equipment.qty", default=1),
    ])]

    def can(self, user, operation, record=None) -> bool:
        """A line changes only while its request is new (nothing reserved on it)."""
        if operation in ("update", "delete") and record is not None and record.qty_reserved > 0:
            return False
        return super().can(user, operation, record)

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        request_id = values.get("request_id") or (record.request_id if record is not None else None)
        request = ctx.db.get(EqRequest, request_id) if request_id else None
        if request is not None and request.status is not RequestStatus.NEW and ctx.db.get(EqRequest, request_id) is not None:
            return {"request_id": ("equipment.request_not_new", {})}
        if record is not None and values.get("qty") is not None and values["qty"] < record.qty_reserved:
            return {"qty": ("error.min", {"min": record.qty_reserved})}
        return {}

    def title(self, record: Any) -> str:
        return f"#{record.id}"


class Requests(Resource, model=EqRequest):
    """Requests from support (section 3): for a store, from a template or by hand. Created NEW;
    from then on only the actions move them."""

    label, label_one, icon = "equipment.requests", "equipment.request", "clipboard-check"
    slug = "requests"
    search = ["title", "comment"]
    columns = [
        col("id").sortable().link(),
        col("title", "equipment.title").sortable().link(),
        col("kind", "equipment.request_kind").sortable().choices("eq_request.kind"),
        col("status", "equipment.status").sortable().choices("eq_request.status").badge(lambda r: REQUEST_COLORS.get(r.status)),
        col("store_id", "equipment.store").relation(STORES),
        col("warehouse_id", "equipment.warehouse").relation(WAREHOUSES),
        col("created_at").datetime().sortable(),
        col("closed_at", "equipment.closed_at").datetime().sortable().hide(),
    ]
    filters = [
        filters.select("status", label="equipment.status"),
        filters.select("kind", label="equipment.request_kind"),
        filters.relation("store_id", STORES, "equipment.store"),
        filters.relation("warehouse_id", WAREHOUSES, "equipment.warehouse"),
        filters.date("created_at"),
    ]
    form = [
        fields.section("equipment.request", [
            fields.relation("template_id", "equipment.templates", label="equipment.template", required=False, create_only=True,
                            help="equipment.template_help"),
            fields.text("title", label="equipment.title", required=False, help="equipment.title_help"),
            fields.relation("store_id", STORES, label="equipment.store"),
            fields.relation("warehouse_id", WAREHOUSES, label="equipment.warehouse", help="equipment.warehouse_help"),
            fields.textarea("comment", label="equipment.comment", required=False),
        ]),
        fields.section("equipment.section.lines", [
            fields.rows("lines", resource="equipment.request_lines", fk="request_id", fields=["product_id", "qty"],
                        label="equipment.lines", help="equipment.request_lines_help", required=False),
        ]),
        fields.section("equipment.checklist", [
            fields.of("checklist", "checklist", label="equipment.install_checklist", help="equipment.checklist_help", required=False),
        ]),
    ]
    detail_fields = ["id", "title", "kind", "status", "store_id", "warehouse_id", "template_id", "comment", "checklist", "created_at",
                     "closed_at"]
    related = [("equipment.lines", "equipment.request_lines", "request_id"),
               ("equipment.reservations", "equipment.reservations", "request_id"),
               ("equipment.shipments", "equipment.shipments", "request_id")]
    # the mini-chat under a request (section 5) and its history
    detail_blocks = [comment_wall(), timeline()]

    def can(self, user, operation, record=None) -> bool:
        """A request is edited while NEW (afterwards its lines are reserved, picked, shipped)."""
        if operation in ("update", "delete") and record is not None and record.status is not RequestStatus.NEW:
            return False
        return super().can(user, operation, record)

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        if record is None and not values.get("template_id") and not (values.get("title") or "").strip():
            return {"title": ("equipment.title_or_template", {})}
        return {}

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        if creating:
            record.created_by_id = ctx.user.id
            record.status = RequestStatus.NEW
            template_id = changes.get("template_id")
            if template_id:
                template = ctx.db.get(RequestTemplate, template_id)
                if template is None or not template.is_active:
                    raise ValidationFailed.one("template_id", "error.relation")
                typed = changes.get("checklist") or []
                process.apply_template(ctx.db, record, template)
                if typed:
                    record.checklist = process.fresh_checklist(typed)
                if not changes.get("lines"):  # the template's lines, saved as if typed (each checked as a row)
                    changes["lines"] = process.template_rows(ctx.db, template_id)
            else:
                record.checklist = process.fresh_checklist(changes.get("checklist") or [])
            if not changes.get("lines"):
                raise ValidationFailed.one("lines", "equipment.request_no_lines")
        elif "checklist" in changes:
            record.checklist = _merge_checklist(record.checklist, changes.get("checklist") or [])
            changes.pop("checklist")

    @action("equipment.reserve_auto", color="amber", visible=lambda r: r.status in (RequestStatus.NEW, RequestStatus.RESERVED))
    def reserve_auto(self, ctx: ActionContext, records: list[EqRequest]) -> str:
        for r in records:
            process.reserve_auto(ctx.db, ctx.user, r)
        return "equipment.reserved"

    @action("equipment.reserve_sn", visible=lambda r: r.status in (RequestStatus.NEW, RequestStatus.RESERVED),
            params=[fields.text("sn", label="equipment.sn")])
    def reserve_sn(self, ctx: ActionContext, records: list[EqRequest]) -> str:
        for r in records:
            process.reserve_asset(ctx.db, ctx.user, r, ctx.params["sn"])
        return "equipment.reserved"

    @action("equipment.reserve_qty", audit=False, visible=lambda r: r.status in (RequestStatus.NEW, RequestStatus.RESERVED),
            params=[fields.relation("product_id", PRODUCTS, label="equipment.product"),
                    fields.integer("qty", min=1, max=100_000, label="equipment.qty")])
    def reserve_qty(self, ctx: ActionContext, records: list[EqRequest]) -> str:
        for r in records:
            process.reserve_quantity(ctx.db, ctx.user, r, ctx.params["product_id"], ctx.params["qty"])
        return "equipment.reserved"

    @action("equipment.start_picking", color="green", visible=lambda r: r.status is RequestStatus.RESERVED)
    def start_picking(self, ctx: ActionContext, records: list[EqRequest]) -> str:
        for r in records:
            process.start_picking(ctx.db, ctx.user, r)
        return "equipment.picking_started"

    @action("equipment.tick_install", audit=False, visible=lambda r: r.status in (RequestStatus.DELIVERED, RequestStatus.INSTALLED),
            params=[fields.integer("number", min=1, max=100, label="equipment.line_number")])
    def tick_install(self, ctx: ActionContext, records: list[EqRequest]) -> str:
        for r in records:
            process.tick_request(ctx.db, ctx.user, r, ctx.params["number"])
        return "equipment.ticked"

    @action("equipment.cancel", confirm=True, color="red",
            visible=lambda r: r.status in (RequestStatus.NEW, RequestStatus.RESERVED, RequestStatus.PICKING))
    def cancel(self, ctx: ActionContext, records: list[EqRequest]) -> str:
        for r in records:
            process.cancel_request(ctx.db, ctx.user, r)
        return "equipment.cancelled"

    def title(self, record: Any) -> str:
        return f"№{record.id} {record.title}"

    @classmethod
    def title_sql(cls, lang: str = "ru") -> Any:
        from sqlalchemy import cast, func, String

        return func.concat("№", cast(EqRequest.id, String), " ", EqRequest.title)


# ---------------------------------------------------------------- reservations


class Reservations(Resource, model=Reservation):
    label, label_one, icon = "equipment.reservations", "equipment.reservation", "lock"
    slug = "reservations"
    operations = frozenset({"view"})
    pagination = "offset"
    columns = [
        col("id").sortable(),
        col("request_id", "equipment.request").relation("equipment.requests"),
        col("asset_id", "equipment.asset").relation(ASSETS),
        col("stock_item_id", "equipment.stock_item").relation(STOCK_ITEMS),
        col("qty", "equipment.qty").numeric(),
        col("status", "equipment.status").sortable().choices("eq_reservation.status")
        .badge(lambda r: {"ACTIVE": "amber", "RELEASED": "gray", "SHIPPED": "green"}.get(r.status.value)),
        col("created_at").datetime().sortable(),
    ]
    filters = [filters.select("status", label="equipment.status"), filters.relation("request_id", "equipment.requests", "equipment.request")]
    detail_fields = ["id", "request_id", "asset_id", "stock_item_id", "qty", "status", "created_at"]

    @action("equipment.release", confirm=True, color="red", visible=lambda r: r.status is ReservationStatus.ACTIVE)
    def release(self, ctx: ActionContext, records: list[Reservation]) -> str:
        for r in records:
            process.release_reservation(ctx.db, ctx.user, r)
        return "equipment.released"

    def title(self, record: Any) -> str:
        return f"#{record.id}"


# ---------------------------------------------------------------- shipments


class ShipmentItems(Resource, model=ShipmentItem):
    label, label_one, icon = "equipment.shipment_items", "equipment.shipment_item", "package"
    slug = "shipment_items"
    operations = frozenset({"view"})
    menu = False
    pagination = "offset"
    default_sort = "id"
    columns = [
        col("shipment_id", "equipment.shipment").relation("equipment.shipments"),
        col("product_id", "equipment.product").relation(PRODUCTS),
        col("asset_id", "equipment.asset").relation(ASSETS),
        col("qty", "equipment.qty").numeric(),
        col("picked", "equipment.picked").boolean(),
    ]
    detail_fields = ["shipment_id", "product_id", "asset_id", "qty", "picked"]

    def title(self, record: Any) -> str:
        return f"#{record.id}"


class Shipments(Resource, model=Shipment):
    """Shipments (warehouse → store): picked with a checklist, confirmed by a storekeeper or chief,
    handed to the courier, delivered (then installed: section 8)."""

    label, label_one, icon = "equipment.shipments", "equipment.shipment", "truck"
    slug = "shipments"
    operations = frozenset({"view"})
    columns = [
        col("id").sortable().link(),
        col("request_id", "equipment.request").relation("equipment.requests"),
        col("status", "equipment.status").sortable().choices("eq_shipment.status").badge(lambda s: SHIPMENT_COLORS.get(s.status)),
        col("warehouse_id", "equipment.warehouse").relation(WAREHOUSES),
        col("store_id", "equipment.store").relation(STORES),
        col("due_at", "equipment.due_at").datetime().sortable(),
        col("delivered_at", "equipment.delivered_at").datetime().sortable(),
        col("confirmed_at", "equipment.confirmed_at").datetime().hide(),
        col("shipped_at", "equipment.shipped_at").datetime().hide(),
        col("created_at").datetime().sortable().hide(),
        col("install_photo_id", "equipment.install_photo").shown_as("photo").hide(),
    ]
    filters = [filters.select("status", label="equipment.status"), filters.relation("store_id", STORES, "equipment.store"),
               filters.date("due_at", "equipment.due_at")]
    form = [fields.section("equipment.shipment", [fields.of("checklist", "checklist", label="equipment.pick_checklist")])]
    detail_fields = ["id", "request_id", "status", "warehouse_id", "store_id", "checklist", "confirmed_at", "shipped_at", "due_at",
                     "delivered_at", "install_photo_id"]
    related = [("equipment.shipment_items", "equipment.shipment_items", "shipment_id"),
               ("equipment.deliveries", "equipment.deliveries", "shipment_id")]

    @action("equipment.pick", audit=False, visible=lambda s: s.status is ShipmentStatus.PICKING,
            params=[fields.text("code", label="equipment.scan", help="equipment.scan_help")])
    def pick(self, ctx: ActionContext, records: list[Shipment]) -> str:
        for s in records:
            process.tick(ctx.db, ctx.user, s, ctx.params["code"])
        return "equipment.ticked"

    @action("equipment.confirm", confirm=True, color="green", visible=lambda s: s.status is ShipmentStatus.PICKED)
    def confirm(self, ctx: ActionContext, records: list[Shipment]) -> str:
        for s in records:
            process.confirm_shipment(ctx.db, ctx.user, s)
        return "equipment.confirmed"

    @action("equipment.hand_over", confirm=True, color="violet", visible=lambda s: s.status is ShipmentStatus.CONFIRMED)
    def hand_over(self, ctx: ActionContext, records: list[Shipment]) -> str:
        for s in records:
            process.hand_over(ctx.db, ctx.user, s)
        return "equipment.handed_over"

    @action("equipment.deliver", confirm=True, color="cyan",
            visible=lambda s: s.status in (ShipmentStatus.HANDED_OVER, ShipmentStatus.IN_TRANSIT))
    def deliver(self, ctx: ActionContext, records: list[Shipment]) -> str:
        for s in records:
            process.mark_delivered(ctx.db, ctx.user, s)
        return "equipment.delivered"

    @action("equipment.install", audit=False, color="green", visible=lambda s: s.status is ShipmentStatus.DELIVERED,
            params=[fields.text("sn", label="equipment.install_sn", help="equipment.install_sn_help", required=False),
                    fields.photo("photo", label="equipment.install_photo", help="equipment.install_photo_help", required=False)])
    def install(self, ctx: ActionContext, records: list[Shipment]) -> str:
        """Section 8: support confirms the installation, with a photo from the store when there is one
        (the kit gives the uploaded photo to the shipment: who sees the shipment sees the photo)."""
        sns = [x for x in (ctx.params.get("sn") or "").replace(",", " ").split() if x]
        for s in records:
            process.confirm_installed(ctx.db, ctx.user, s, sns or None, photo=ctx.params.get("photo") if s is records[0] else None)
        return "equipment.installed"

    @action("equipment.order_courier", confirm=True, color="blue", visible=lambda s: s.status is ShipmentStatus.CONFIRMED)
    def order_courier(self, ctx: ActionContext, records: list[Shipment]) -> str:
        """Section 7: a courier of Yandex Delivery for the confirmed shipment (the tariff chosen by its size and weight)."""
        for s in records:
            delivery.create_delivery(ctx.db, ctx.user, s.id)
        return "equipment.courier_ordered"

    # the delivery's timeline (section 7.3: the provider's events and ours) and the mini-chat (section 5)
    detail_blocks = [
        timeline(events=delivery.timeline_events, tables=("eq_delivery_event", "eq_delivery_order"),
                 kinds={"delivery": "equipment.tl.delivery", "internal": "equipment.tl.internal"}),
        comment_wall(),
    ]

    def title(self, record: Any) -> str:
        return f"№{record.id}"


class Deliveries(Resource, model=DeliveryOrder):
    """Delivery orders at providers (the delivery block fills them; listed here for the process)."""

    label, label_one, icon = "equipment.deliveries", "equipment.delivery", "map-pin"
    slug = "deliveries"
    operations = frozenset({"view"})
    search = ["external_id", "tracking_number"]
    columns = [
        col("id").sortable().link(),
        col("shipment_id", "equipment.shipment").relation("equipment.shipments"),
        col("provider", "equipment.provider").sortable().choices("eq_delivery.provider"),
        col("external_id", "equipment.external_id"),
        col("status", "equipment.status").sortable().choices("eq_delivery.status")
        .badge(lambda d: {DeliveryStatus.DELIVERED: "green", DeliveryStatus.CANCELLED: "gray", DeliveryStatus.PROBLEM: "red"}.get(d.status, "blue")),
        col("eta_at", "equipment.eta").datetime().sortable(),
        col("created_at").datetime().sortable(),
    ]
    filters = [filters.select("status", label="equipment.status"), filters.select("provider", label="equipment.provider")]
    detail_fields = ["id", "shipment_id", "provider", "external_id", "status", "eta_at", "created_at"]

    @action("equipment.refresh_delivery", audit=False,
            visible=lambda d: d.status in delivery.ACTIVE and d.provider is DeliveryProvider.YANDEX_DELIVERY)
    def refresh(self, ctx: ActionContext, records: list[DeliveryOrder]) -> str:
        """Ask the provider now instead of waiting for the next poll."""
        for d in records:
            delivery.sync_order(ctx.db, d.id)
        return "equipment.delivery_refreshed"

    @action("equipment.cancel_delivery", confirm=True, color="red", visible=lambda d: d.status in delivery.ACTIVE)
    def cancel(self, ctx: ActionContext, records: list[DeliveryOrder]) -> str:
        for d in records:
            delivery.cancel_delivery(ctx.db, ctx.user, d.id)
        return "equipment.delivery_cancelled"

    detail_blocks = [
        timeline(events=lambda db, user, d: delivery.timeline_events(db, user, db.get(Shipment, d.shipment_id)),
                 tables=("eq_delivery_event",), kinds={"delivery": "equipment.tl.delivery", "internal": "equipment.tl.internal"}),
    ]

    def title(self, record: Any) -> str:
        return f"#{record.id} {record.external_id or ''}".strip()


RESOURCES = [Templates, TemplateLines, Requests, RequestLines, Reservations, Shipments, ShipmentItems, Deliveries]
