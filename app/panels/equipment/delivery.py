"""Delivery of a shipment through Yandex Delivery (seed 000, section 7; issue 10 "Yandex Delivery").

The provider's client is :mod:`integrations.yandex_delivery`; this module is the panel's side:

* **create** (:func:`create_delivery`): a :class:`~models.equipment.DeliveryOrder` is committed
  first with its idempotency key (``request_key``, sent as ``request_id``), then the claim is
  created at the provider. A crash or a lost answer after the provider stored the claim costs
  nothing: the next attempt (a user's retry or the sync job) sends the same key and gets the same
  claim. The tariff (passenger car or cargo body) is chosen from the items' sizes and weights;
* **sync** (:func:`sync_order`, the job ``equipment.delivery_sync``): polling ``claims/info`` —
  each active delivery order owns a schedule (every 2 minutes by default), dropped when it ends —
  and, where configured, the claims journal (:func:`sync_journal`). The provider's status is
  normalised to CREATED / COURIER_ASSIGNED / PICKED_UP / IN_TRANSIT / DELIVERED / CANCELLED /
  PROBLEM; each change is a :class:`~models.equipment.DeliveryEvent` (the timeline), and the
  order keeps the provider's last answer as it came (``raw_payload``). A claim waiting for
  approval is accepted automatically (the price was checked when it was created);
* **effects**: what a status means for the shipment and its assets (picked up → in transit,
  delivered → delivered but not installed) is the process's business: it registers handlers in
  :data:`ON_STATUS`, called in the same transaction as the event;
* **cancel** (:func:`cancel_delivery`): free or paid, as the provider says it is now;
* every request and answer is a :class:`~models.equipment.DeliveryProviderLog` row (never the
  token), committed on its own so a failed call is still on record.

The token, the addresses and the switches are the admin's integration settings
(:data:`INTEGRATIONS`, a kit ``Settings`` page): the token write-only and encrypted.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, select

from app.core import (
    SYSTEM,
    CheckResult,
    CurrentUser,
    JobContext,
    NotFound,
    PermissionDenied,
    PultError,
    Settings,
    SettingsAction,
    SettingsContext,
    TimelineEvent,
    drop_owned_schedule,
    ensure_schedule,
    fields,
    job_kind,
)
from app.core import audit, bus
from integrations import yandex_delivery as yd
from models.equipment import (
    DeliveryEvent,
    DeliveryOrder,
    DeliveryProvider,
    DeliveryProviderLog,
    DeliveryStatus,
    EqProduct,
    Shipment,
    ShipmentItem,
    ShipmentStatus,
    Store,
    Warehouse,
)

PERM_CREATE = "equipment.delivery.create"
#: Integration settings are the admin's alone (section 2: "управление интеграциями (админ)"):
#: a permission outside ``equipment.*``, so the chief's ``equipment.*`` does not reach it.
PERM_SETTINGS = "admin.integrations"
SYNC_KIND = "equipment.delivery_sync"
JOURNAL_KIND = "equipment.delivery_journal"
SYNC_CRON = "*/2 * * * *"
JOURNAL_CURSOR_KEY = "equipment.yandex.journal_cursor"

#: Shipments a delivery may be ordered for: confirmed by a storekeeper or chief, not gone yet.
DELIVERABLE = (ShipmentStatus.CONFIRMED, ShipmentStatus.PICKED)
ACTIVE = (DeliveryStatus.CREATED, DeliveryStatus.COURIER_ASSIGNED, DeliveryStatus.PICKED_UP, DeliveryStatus.IN_TRANSIT,
          DeliveryStatus.PROBLEM)

#: normalised status -> handlers ``(db, order, shipment) -> None`` the process registers
#: (:func:`on_status`); they run in the transaction that records the change.
ON_STATUS: dict[str, list[Callable[[Session, DeliveryOrder, Shipment], None]]] = {}


def on_status(status: str) -> Callable[[Callable[[Session, DeliveryOrder, Shipment], None]], Callable]:
    """Register what a normalised delivery status does to the shipment (e.g. DELIVERED)."""
    def register(fn: Callable[[Session, DeliveryOrder, Shipment], None]) -> Callable:
        ON_STATUS.setdefault(status, []).append(fn)
        return fn
    return register


# --------------------------------------------------------------------------- settings
def _check(ctx: SettingsContext) -> CheckResult:
    """Ask the provider for the tariffs at the first warehouse (or Moscow): the token and address work."""
    token = ctx.values.get("yandex_token")
    if not token:
        return CheckResult.fail(ctx.t("equipment.delivery.no_token"))
    wh = ctx.db.exec(select(Warehouse).where(Warehouse.lat.is_not(None)).order_by(Warehouse.id)).first()
    lat, lon = (wh.lat, wh.lon) if wh else (55.751, 37.618)
    try:
        with yd.YandexDeliveryClient(token, base_url=ctx.values.get("yandex_url") or yd.DEFAULT_BASE_URL, max_attempts=2,
                                     max_retry_wait=5, timeout=10) as client:
            tariffs = client.tariffs(lat, lon)
    except yd.YandexDeliveryError as exc:
        return CheckResult.fail(ctx.t("equipment.delivery.check_failed", error=exc.message))
    except Exception as exc:  # noqa: BLE001 - an unreachable address is a red line, not a crash
        return CheckResult.fail(ctx.t("equipment.delivery.check_failed", error=type(exc).__name__))
    names = ", ".join(sorted({str(t.get("name") or t.get("taxi_class") or "?") for t in tariffs})) or "—"
    return CheckResult.ok(ctx.t("equipment.delivery.check_ok", tariffs=names))


INTEGRATIONS = Settings(
    "equipment.integrations", title="equipment.integrations", perm=PERM_SETTINGS, id_prefix="eqint",
    fields=[
        fields.boolean("yandex_enabled", label="equipment.int.yandex_enabled"),
        fields.secret("yandex_token", label="equipment.int.yandex_token"),
        fields.url("yandex_url", label="equipment.int.yandex_url", help="equipment.int.yandex_url_help"),
        fields.boolean("auto_accept", label="equipment.int.auto_accept", default=True),
        fields.url("routing_url", label="equipment.int.routing_url", help="equipment.int.routing_url_help"),
        fields.number("courier_margin_min", label="equipment.int.courier_margin", min=0, max=240, default=15),
    ],
    placeholders={"yandex_token": ("equipment.int.token_kept", "y0_…"), "yandex_url": ("", yd.DEFAULT_BASE_URL),
                  "routing_url": ("", "https://router.project-osrm.org")},
    check=SettingsAction("check", "equipment.int.check", _check, slow=True),
)


def config(db: Session) -> dict[str, Any]:
    """The saved integration settings, the token decrypted: server side only."""
    return INTEGRATIONS.stored(db)


# --------------------------------------------------------------------------- the provider
def _log_to(order_id: int | None, engine: Any) -> Callable[[dict[str, Any]], None]:
    """A client log callback writing one provider-log row per HTTP attempt, in its own transaction."""
    def write(entry: dict[str, Any]) -> None:
        response = entry.get("response")
        with Session(engine) as s:
            s.add(DeliveryProviderLog(
                delivery_order_id=order_id, method=str(entry.get("method") or "POST")[:8], path=str(entry.get("path") or "")[:300],
                status_code=entry.get("status"), duration_ms=int(entry.get("duration_ms") or 0),
                request=entry.get("request") if isinstance(entry.get("request"), dict) else {},
                response=response if isinstance(response, dict) else ({"text": str(response)[:2000]} if response else
                                                                     ({"error": entry["error"]} if entry.get("error") else {})),
            ))
            s.commit()
    return write


def client(db: Session, order_id: int | None = None, **kw: Any) -> yd.YandexDeliveryClient:
    cfg = config(db)
    if not cfg.get("yandex_enabled") or not cfg.get("yandex_token"):
        raise PultError("equipment.delivery.not_configured")
    return yd.YandexDeliveryClient(cfg["yandex_token"], base_url=cfg.get("yandex_url") or yd.DEFAULT_BASE_URL,
                                   log=_log_to(order_id, db.get_bind()), **kw)


def _point(place: Warehouse | Store, contact_name: str | None, phone: str | None, external: str | None = None) -> yd.Point:
    if place.lat is None or place.lon is None:
        raise PultError("equipment.delivery.no_coordinates", place=place.name)
    return yd.Point(fullname=", ".join(x for x in (place.city, place.address or place.name) if x), lat=place.lat, lon=place.lon,
                    contact_name=contact_name or place.name, contact_phone=phone or "+70000000000", external_order_id=external)


def _items(db: Session, shipment: Shipment) -> list[yd.Item]:
    rows = db.exec(
        select(ShipmentItem, EqProduct).join(EqProduct, EqProduct.id == ShipmentItem.product_id)
        .where(ShipmentItem.shipment_id == shipment.id).order_by(ShipmentItem.id)
    ).all()
    if not rows:
        raise PultError("equipment.delivery.empty_shipment", id=shipment.id)
    by_product: dict[int, tuple[EqProduct, int]] = {}
    for item, product in rows:
        _, n = by_product.get(product.id, (product, 0))
        by_product[product.id] = (product, n + item.qty)

    def metres(cm: int | None) -> float | None:
        return None if cm is None else cm / 100

    return [yd.Item(title=p.name, quantity=n, weight_kg=float(p.weight_kg) if p.weight_kg is not None else None,
                    length_m=metres(p.length_cm), width_m=metres(p.width_cm), height_m=metres(p.height_cm), extra_id=p.sku)
            for p, n in by_product.values()]


def route(db: Session, shipment: Shipment) -> tuple[yd.Point, yd.Point, list[yd.Item], yd.TariffChoice]:
    """Where from, where to, what, and by which tariff (section 14: passenger car or cargo)."""
    wh = db.get(Warehouse, shipment.warehouse_id)
    store = db.get(Store, shipment.store_id)
    if wh is None or store is None:
        raise NotFound()
    items = _items(db, shipment)
    try:
        tariff = yd.choose_tariff(items)
    except yd.NoTariffFits as exc:
        raise PultError("equipment.delivery.too_big", why=str(exc)) from None
    source = _point(wh, None, None, external=f"shipment-{shipment.id}")
    destination = _point(store, store.contact_name, store.contact_phone, external=f"shipment-{shipment.id}")
    return source, destination, items, tariff


def _event(db: Session, order: DeliveryOrder, title: str, *, status: str | None = None, provider_status: str | None = None,
           source: str = "provider", user: CurrentUser | None = None, payload: dict[str, Any] | None = None) -> DeliveryEvent:
    ev = DeliveryEvent(delivery_order_id=order.id, source=source, status=status, provider_status=provider_status, title=title[:300],
                       payload=payload or {}, user_id=user.id if user else None)
    db.add(ev)
    bus.mark(db, "eq_delivery_event", [order.id], "create")
    return ev


# --------------------------------------------------------------------------- create
def create_delivery(db: Session, user: CurrentUser, shipment_id: int) -> DeliveryOrder:
    """Order a courier for a confirmed shipment. Idempotent: while the shipment has an active
    delivery order, that one is returned (and its claim created at the provider if it was not yet)."""
    if not user.has_perm(PERM_CREATE):
        raise PermissionDenied()
    shipment = db.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound()
    order = db.exec(select(DeliveryOrder).where(DeliveryOrder.shipment_id == shipment_id,
                                                DeliveryOrder.status.in_(ACTIVE))).first()
    if order is None:
        if shipment.status not in DELIVERABLE:
            raise PultError("equipment.delivery.not_ready", id=shipment.id)
        source, destination, items, tariff = route(db, shipment)  # refuse a shipment that cannot go before storing anything
        config_ok = config(db)
        if not config_ok.get("yandex_enabled") or not config_ok.get("yandex_token"):
            raise PultError("equipment.delivery.not_configured")
        order = DeliveryOrder(shipment_id=shipment.id, provider=DeliveryProvider.YANDEX_DELIVERY, request_key=uuid.uuid4().hex,
                              status=DeliveryStatus.CREATED, tariff=tariff.cargo_type or tariff.taxi_class, created_by_id=user.id)
        db.add(order)
        db.flush()
        _event(db, order, f"Заказ доставки оформлен: {tariff.title}", source="internal", user=user,
               status=DeliveryStatus.CREATED.value, payload={"tariff": tariff.reason})
        audit.record(db, user, "create", "eq_delivery_order", order.id,
                     {"shipment_id": shipment.id, "tariff": order.tariff, "request_key": order.request_key})
        ensure_schedule(db, user, f"delivery:{order.id}", SYNC_KIND, SYNC_CRON, {"order_id": order.id})
        bus.mark(db, "eq_delivery_order", [order.id], "create")
        db.commit()
    if not order.external_id:
        _create_claim(db, order, shipment)
    return order


def _create_claim(db: Session, order: DeliveryOrder, shipment: Shipment) -> None:
    """Create the claim at the provider with the order's key; the same key twice is the same claim."""
    source, destination, items, tariff = route(db, shipment)
    body = yd.build_claim(source, destination, items, tariff, comment=f"Отгрузка №{shipment.id}")
    try:
        with client(db, order.id) as c:
            claim = c.create_claim(order.request_key, body)
    except yd.YandexDeliveryValidationError as exc:
        _problem(db, order, exc.message)
        raise PultError("equipment.delivery.refused", error=exc.message) from None
    except yd.YandexDeliveryAuthError:
        raise PultError("equipment.delivery.bad_token") from None
    except yd.YandexDeliveryError as exc:  # unavailable / rate limited: the sync job tries again with the same key
        raise PultError("equipment.delivery.unavailable", error=exc.message) from None
    order = db.get(DeliveryOrder, order.id, with_for_update=True)
    assert order is not None
    if not order.external_id:
        order.external_id = str(claim.get("id"))
        _apply(db, order, shipment, claim, title_prefix="Заявка у Яндекс Доставки")
        db.commit()


def _problem(db: Session, order: DeliveryOrder, message: str) -> None:
    order = db.get(DeliveryOrder, order.id, with_for_update=True)
    if order is None:
        return
    before = order.status
    order.status = DeliveryStatus.PROBLEM
    _event(db, order, f"Ошибка у провайдера: {message}", status=DeliveryStatus.PROBLEM.value, source="internal")
    audit.record(db, SYSTEM, "eq_delivery_order.status", "eq_delivery_order", order.id,
                 {"status": [before.value, DeliveryStatus.PROBLEM.value], "error": message}, source="job")
    bus.mark(db, "eq_delivery_order", [order.id], "update")
    db.commit()


# --------------------------------------------------------------------------- sync
def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _apply(db: Session, order: DeliveryOrder, shipment: Shipment, info: dict[str, Any], title_prefix: str | None = None) -> bool:
    """Take the provider's answer: raw payload, price, ETA, and the status — a change is an event,
    an audit row and the process's effects, all in ``db``'s transaction. Returns whether it changed."""
    provider_status = str(info.get("status") or "")
    normalised = yd.normalize_status(provider_status)
    order.raw_payload = info
    order.last_synced_at = dt.datetime.now(dt.timezone.utc)
    pricing = info.get("pricing") or {}
    price = _money((pricing.get("final_price") or pricing.get("offer", {}).get("price")) if isinstance(pricing, dict) else None)
    if price is not None:
        order.price = price
    db.add(order)
    if provider_status == (order.provider_status or ""):
        bus.mark(db, "eq_delivery_order", [order.id], "update")
        return False
    before = order.status
    order.provider_status = provider_status
    order.status = DeliveryStatus(normalised)
    title = STATUS_TITLES.get(provider_status, provider_status)
    _event(db, order, f"{title_prefix}: {title}" if title_prefix else title, status=normalised, provider_status=provider_status,
           payload={"version": info.get("version"), "updated_ts": info.get("updated_ts")})
    if before != order.status:
        audit.record(db, SYSTEM, "eq_delivery_order.status", "eq_delivery_order", order.id,
                     {"status": [before.value, order.status.value], "provider_status": provider_status}, source="job")
        for fn in ON_STATUS.get(normalised, []):
            fn(db, order, shipment)
    if order.status in (DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED):
        drop_owned_schedule(db, SYSTEM, f"delivery:{order.id}")
    bus.mark(db, "eq_delivery_order", [order.id], "update")
    return True


def sync_order(db: Session, order_id: int) -> DeliveryOrder:
    """One poll: ``claims/info``, accepting a claim that waits for approval when so configured."""
    order = db.get(DeliveryOrder, order_id)
    if order is None:
        raise NotFound()
    shipment = db.get(Shipment, order.shipment_id)
    assert shipment is not None
    if order.status in (DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED) or order.provider is DeliveryProvider.MANUAL:
        drop_owned_schedule(db, SYSTEM, f"delivery:{order.id}")  # nothing (more) to ask a provider about
        db.commit()
        return order
    if not order.external_id:  # the claim was never confirmed created: the same key again
        _create_claim(db, order, shipment)
        db.refresh(order)
        if not order.external_id:
            return order
    with client(db, order.id) as c:
        info = c.claim_info(order.external_id)
        if info.get("status") == "ready_for_approval" and config(db).get("auto_accept", True):
            c.accept_claim(order.external_id, int(info.get("version") or 1))
            info = c.claim_info(order.external_id)
    locked = db.get(DeliveryOrder, order.id, with_for_update=True)
    assert locked is not None
    _apply(db, locked, shipment, info)
    db.commit()
    return locked


def sync_journal(db: Session) -> int:
    """Read the claims journal from the stored cursor and sync every claim it names that we know.
    Returns how many orders changed. The cursor is kept only after the orders are synced."""
    from models.core import Setting

    row = db.get(Setting, JOURNAL_CURSOR_KEY)
    cursor = row.value if row is not None and isinstance(row.value, str) else None
    with client(db) as c:
        page = c.journal(cursor)
    claim_ids = {str(e.get("claim_id")) for e in page.get("events", []) if e.get("claim_id")}
    changed = 0
    if claim_ids:
        orders = db.exec(select(DeliveryOrder).where(DeliveryOrder.external_id.in_(claim_ids))).all()
        for o in orders:
            before = o.provider_status
            if sync_order(db, o.id).provider_status != before:
                changed += 1
    if page.get("cursor"):
        row = db.get(Setting, JOURNAL_CURSOR_KEY) or Setting(key=JOURNAL_CURSOR_KEY)
        row.value = page["cursor"]
        db.add(row)
        db.commit()
    return changed


@job_kind(SYNC_KIND, timeout=120, max_attempts=3, backoff=(30.0, 60.0), label="equipment.job.delivery_sync",
          perm=PERM_CREATE)
def delivery_sync_job(ctx: JobContext, order_id: int) -> dict[str, Any]:
    """The schedule a delivery order owns: poll its claim."""
    order = sync_order(ctx.db, order_id)
    return {"status": order.status.value, "provider_status": order.provider_status}


@job_kind(JOURNAL_KIND, timeout=300, label="equipment.job.delivery_journal", perm=PERM_SETTINGS)
def delivery_journal_job(ctx: JobContext) -> dict[str, Any]:
    return {"changed": sync_journal(ctx.db)}


# --------------------------------------------------------------------------- cancel, manual events
def cancel_delivery(db: Session, user: CurrentUser, order_id: int) -> DeliveryOrder:
    """Cancel at the provider, free or paid as it says now; the order becomes CANCELLED."""
    if not user.has_perm(PERM_CREATE):
        raise PermissionDenied()
    order = db.get(DeliveryOrder, order_id)
    if order is None:
        raise NotFound()
    if order.status not in ACTIVE:
        raise PultError("equipment.delivery.not_active", id=order.id)
    shipment = db.get(Shipment, order.shipment_id)
    assert shipment is not None
    if order.external_id:
        with client(db, order.id) as c:
            state = c.cancel_info(order.external_id).get("cancel_state", "free")
            if state not in ("free", "paid"):
                raise PultError("equipment.delivery.cannot_cancel")
            info = c.claim_info(order.external_id)
            c.cancel_claim(order.external_id, int(info.get("version") or 1), state)
            info = c.claim_info(order.external_id)
    else:
        state, info = "free", {"status": "cancelled"}
    locked = db.get(DeliveryOrder, order.id, with_for_update=True)
    assert locked is not None
    _event(db, locked, f"Отменено: {'платно' if state == 'paid' else 'бесплатно'}", source="internal", user=user)
    audit.record(db, user, "cancel", "eq_delivery_order", locked.id, {"cancel_state": state})
    _apply(db, locked, shipment, info)
    db.commit()
    return locked


def internal_event(db: Session, user: CurrentUser, shipment_id: int, title: str) -> DeliveryEvent | None:
    """A step of ours on the shipment's delivery timeline (picked, handed to the courier)."""
    order = db.exec(select(DeliveryOrder).where(DeliveryOrder.shipment_id == shipment_id)
                    .order_by(DeliveryOrder.id.desc())).first()
    if order is None:
        return None
    return _event(db, order, title, source="internal", user=user)


def timeline_events(db: Session, user: CurrentUser, shipment: Shipment) -> list[TimelineEvent]:
    """The shipment's delivery on its timeline (section 7.3): the provider's events and ours
    (ordered, picked, handed to the courier), beside the audit rows and comments the kit merges in."""
    from models.core import User

    rows = db.exec(
        select(DeliveryEvent, DeliveryOrder.external_id, User.username)
        .join(DeliveryOrder, DeliveryOrder.id == DeliveryEvent.delivery_order_id)
        .join(User, User.id == DeliveryEvent.user_id, isouter=True)
        .where(DeliveryOrder.shipment_id == shipment.id)
        .order_by(DeliveryEvent.at.desc(), DeliveryEvent.id.desc()).limit(200)
    ).all()
    out = []
    for ev, claim, username in rows:
        provider = ev.source == "provider"
        details = " · ".join(x for x in (ev.provider_status if provider else "", f"claim {claim}" if provider and claim else "") if x)
        out.append(TimelineEvent(ev.at, "delivery" if provider else "internal", ev.title, details,
                                 "Яндекс Доставка" if provider else username))
    return out


#: How the timeline names the provider's statuses (Russian, as the users read them).
STATUS_TITLES = {
    "new": "Заявка создана", "estimating": "Оценка стоимости", "estimating_failed": "Не удалось оценить",
    "ready_for_approval": "Ждёт подтверждения", "accepted": "Подтверждена", "performer_lookup": "Поиск курьера",
    "performer_draft": "Поиск курьера", "performer_found": "Курьер назначен", "performer_not_found": "Курьер не найден",
    "pickup_arrived": "Курьер на складе", "ready_for_pickup_confirmation": "Курьер ждёт код выдачи",
    "pickuped": "Курьер забрал отгрузку", "delivery_arrived": "Курьер у магазина",
    "ready_for_delivery_confirmation": "Курьер ждёт код получения", "pay_waiting": "Ожидание оплаты",
    "delivered": "Доставлено", "delivered_finish": "Доставлено", "returning": "Возврат на склад",
    "return_arrived": "Курьер вернулся на склад", "ready_for_return_confirmation": "Возврат: ждёт код",
    "returned": "Возвращено", "returned_finish": "Возвращено", "failed": "Ошибка доставки", "cancelled": "Отменено",
    "cancelled_with_payment": "Отменено (платно)", "cancelled_by_taxi": "Отменено курьером",
    "cancelled_with_items_on_hands": "Отменено, груз у курьера",
}
