"""Sirius stock rules (seed 001): supplies add to quantity, issuing an order takes from stock,
low stock notifies, analytics aggregate sales and profit. Called from the resources' hooks and
actions, the analytics page, the API and tests; every function runs inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, cast, func
from sqlmodel import Session, select

from app.core import CurrentUser, ReportResult, audit, bus
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.notify import notify
from models.core import Setting
from models.stock import Order, OrderStatus, Product, Supply

EUR_RUB_KEY = "stock.eur_rub_rate"
DEFAULT_EUR_RUB = Decimal("100.00")


def lock_product(db: Session, product_id: int) -> Product:
    """The product row locked for the rest of the transaction, so concurrent issues cannot oversell."""
    # populate_existing: a session that already holds this product (expire_on_commit=False) must see
    # the values just locked, not its stale copy, or two issues could oversell / overwrite issued_qty.
    stmt = select(Product).where(Product.id == product_id).with_for_update().execution_options(populate_existing=True)
    product = db.exec(stmt).first()
    if product is None or product.deleted_at is not None:
        raise ValidationFailed.one("product_id", "error.relation")
    return product


def current_stock(product: Product) -> int:
    return product.quantity - product.issued_qty


def notify_if_low(db: Session, product: Product, was_low: bool) -> None:
    """Raise ``stock.low_stock`` when a product crosses below its threshold (not again while it stays low)."""
    now_low = current_stock(product) < product.min_stock
    if now_low and not was_low:
        notify(
            db,
            "stock.low_stock",
            title=f"Низкий остаток: {product.name}",
            body=f"Остаток {current_stock(product)} при пороге {product.min_stock}",
            link=f"/stock/products/{product.id}",
            data={"product_id": product.id, "stock": current_stock(product), "min_stock": product.min_stock},
        )


def notify_order_status(db: Session, order: Order) -> None:
    """Raise ``stock.order_status`` after an order was issued or denied."""
    label = {"paid_issued": "выдан", "paid_denied": "отменён"}.get(order.status.value, order.status.value)
    notify(
        db,
        "stock.order_status",
        title=f"Заказ №{order.id} {label}",
        body=f"{order.product_name} × {order.qty}, {order.phone}",
        link=f"/stock/orders/{order.id}",
        data={"order_id": order.id, "status": order.status.value},
    )


def was_low(product: Product) -> bool:
    return current_stock(product) < product.min_stock


def add_supply(db: Session, user: CurrentUser, supply: Supply) -> None:
    """Add a supply's quantity to its product (in the caller's transaction)."""
    product = lock_product(db, supply.product_id)
    low = was_low(product)
    product.quantity += supply.qty
    if not supply.supplier_name:
        supply.supplier_name = product.supplier_name
    elif not product.supplier_name:
        product.supplier_name = supply.supplier_name
    if supply.buy_price_eur is None:
        supply.buy_price_eur = product.buy_price_eur
    else:
        product.buy_price_eur = supply.buy_price_eur
    supply.user_id = user.id
    notify_if_low(db, product, low)
    bus.mark(db, "product", [product.id], "update")


def remove_supply(db: Session, supply: Supply) -> None:
    """Undo a supply; refused when the goods have already been issued."""
    product = lock_product(db, supply.product_id)
    if product.quantity - supply.qty < product.issued_qty:
        raise ValidationFailed.one("", "stock.supply_in_use")
    low = was_low(product)
    product.quantity -= supply.qty
    notify_if_low(db, product, low)
    bus.mark(db, "product", [product.id], "update")


def issue_order(db: Session, order: Order) -> None:
    """Hand the goods out: refuse when the order is not open or the stock is short."""
    if order.status != OrderStatus.paid_not_issued:
        raise ValidationFailed.one("", "stock.order_not_open", id=order.id)
    product = lock_product(db, order.product_id)
    available = current_stock(product)
    if order.qty > available:
        raise ValidationFailed.one("qty", "stock.not_enough", name=product.name, stock=available, qty=order.qty)
    low = was_low(product)
    product.issued_qty += order.qty
    order.status = OrderStatus.paid_issued
    order.issued_at = dt.datetime.now(dt.timezone.utc)
    notify_if_low(db, product, low)
    notify_order_status(db, order)
    bus.mark(db, "product", [product.id], "update")


def deny_order(db: Session, order: Order) -> None:
    """Cancel an order; an already issued one returns its goods to stock."""
    if order.status == OrderStatus.paid_denied:
        raise ValidationFailed.one("", "stock.order_not_open", id=order.id)
    if order.status == OrderStatus.paid_issued:
        product = lock_product(db, order.product_id)
        product.issued_qty -= order.qty
        bus.mark(db, "product", [product.id], "update")
    order.status = OrderStatus.paid_denied
    notify_order_status(db, order)


# --------------------------------------------------------------------------- settings
def eur_rub_rate(db: Session) -> Decimal:
    row = db.get(Setting, EUR_RUB_KEY)
    return Decimal(str(row.value)) if row and row.value is not None else DEFAULT_EUR_RUB


def set_eur_rub_rate(db: Session, user: CurrentUser, raw: str) -> Decimal:
    if not user.has_perm("stock.analytics.rate"):
        raise PermissionDenied()
    try:
        rate = Decimal(str(raw).replace(",", ".").strip())
    except Exception:
        raise ValidationFailed.one("rate", "error.number") from None
    if not rate.is_finite() or rate <= 0 or rate > 100000:
        raise ValidationFailed.one("rate", "error.min", min="0.01")
    rate = rate.quantize(Decimal("0.0001"))
    row = db.get(Setting, EUR_RUB_KEY)
    old = row.value if row else None
    if row is None:
        row = Setting(key=EUR_RUB_KEY)
        db.add(row)
    row.value = str(rate)
    row.updated_at = dt.datetime.now(dt.timezone.utc)
    row.updated_by = user.username
    audit.record(db, user, "update", "setting", EUR_RUB_KEY, {"value": [old, str(rate)]})
    bus.mark(db, "setting", [EUR_RUB_KEY], "update")
    db.commit()
    return rate


def fix_cost(db: Session, order: Order, product: Product) -> None:
    """Keep on the order what its cost is made of at the time of sale: the product's purchase price
    in EUR and the EUR→RUB rate of the day (a rate already kept stays). Changing the rate later
    changes the profit of the sales to come, not of the sales made."""
    order.unit_cost_eur = product.buy_price_eur
    if order.eur_rub_rate is None:
        order.eur_rub_rate = eur_rub_rate(db)


# --------------------------------------------------------------------------- analytics
SOLD = (OrderStatus.paid_not_issued, OrderStatus.paid_issued)


@dataclass
class Analytics:
    rate: Decimal
    periods: list[dict[str, Any]]  # period, pieces, revenue, cost, profit
    products: list[dict[str, Any]]  # product_id, name, pieces, revenue, cost, profit
    totals: dict[str, Any]


def analytics(
    db: Session,
    user: CurrentUser,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    product_id: int | None = None,
    bucket: str = "day",
    rate: Decimal | None = None,
) -> Analytics:
    """Sales (paid orders that are not denied) in pieces and roubles by period and by product.

    Each order's cost is its quantity times the purchase price in EUR and the EUR→RUB rate kept
    on the order when it was made (:func:`fix_cost`); an order without them (made before they were
    kept and not backfilled) uses the product's price and ``rate`` (today's rate by default).
    Profit is revenue minus cost, by product and by period. Dates are inclusive, in UTC.
    """
    if not user.has_perm("stock.analytics.view"):
        raise PermissionDenied()
    if bucket not in ("day", "week", "month"):
        bucket = "day"
    rate = rate if rate is not None else eur_rub_rate(db)
    conditions = [Order.status.in_(SOLD)]
    if date_from:
        conditions.append(Order.created_at >= _utc_midnight(date_from))
    if date_to:
        conditions.append(Order.created_at < _utc_midnight(date_to + dt.timedelta(days=1)))
    if product_id:
        conditions.append(Order.product_id == product_id)
    revenue = func.sum(Order.qty * Order.unit_price_rub)
    pieces = func.sum(Order.qty)
    # each order at its own rate and purchase price (kept at the sale)
    cost_rub = func.sum(Order.qty * func.coalesce(Order.unit_cost_eur, Product.buy_price_eur, 0) * func.coalesce(Order.eur_rub_rate, rate))
    period = cast(func.date_trunc(bucket, func.timezone("UTC", Order.created_at)), Date)
    period_rows = db.exec(
        select(period.label("period"), pieces.label("pieces"), revenue.label("revenue"), cost_rub.label("cost"))
        .join(Product, Product.id == Order.product_id)
        .where(*conditions)
        .group_by(period)
        .order_by(period)
    ).all()
    product_rows = db.exec(
        select(Product.id, Product.name, pieces.label("pieces"), revenue.label("revenue"), cost_rub.label("cost"))
        .join(Product, Product.id == Order.product_id)
        .where(*conditions)
        .group_by(Product.id, Product.name)
        .order_by(revenue.desc())
    ).all()

    def money(v: Any) -> Decimal:
        return Decimal(v or 0).quantize(Decimal("0.01"))

    products = []
    for pid, name, pcs, rev, cost in product_rows:
        rev, cost = money(rev), money(cost)
        products.append({"product_id": pid, "name": name, "pieces": int(pcs or 0), "revenue": rev, "cost": cost, "profit": rev - cost})
    periods = [
        {"period": p, "pieces": int(pcs or 0), "revenue": money(rev), "cost": money(cost), "profit": money(rev) - money(cost)}
        for p, pcs, rev, cost in period_rows
    ]
    totals = {
        "pieces": sum(p["pieces"] for p in products),
        "revenue": sum((p["revenue"] for p in products), Decimal("0.00")),
        "cost": sum((p["cost"] for p in products), Decimal("0.00")),
    }
    totals["profit"] = totals["revenue"] - totals["cost"]
    return Analytics(rate=rate, periods=periods, products=products, totals=totals)


def _utc_midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` in UTC as an aware datetime: a bare date would be read in the database
    session's time zone, while the periods are bucketed in UTC."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)


def analytics_report(db: Session, user: CurrentUser, params: dict[str, Any]) -> ReportResult:
    """The analytics report's compute (:data:`app.panels.stock.reports.ANALYTICS`): the totals as
    KPIs, the periods as the chart's series and a table, the products as another."""
    r = analytics(db, user, params.get("from"), params.get("to"), params.get("product_id"), params.get("bucket") or "day")
    return ReportResult(kpis=r.totals, series=r.periods, tables={"products": r.products, "periods": r.periods})


# --------------------------------------------------------------------------- the overview dashboard
def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """A day of the users' time zone (``PULT_TIMEZONE``) as a half-open range of moments."""
    from app.core.display import TIMEZONE

    start = dt.datetime.combine(day, dt.time.min, tzinfo=TIMEZONE)
    return start, start + dt.timedelta(days=1)


def _sales_on(db: Session, day: dt.date) -> tuple[int, Decimal]:
    lo, hi = _day_bounds(day)
    n, revenue = db.exec(
        select(func.count(Order.id), func.coalesce(func.sum(Order.qty * Order.unit_price_rub), 0))
        .where(Order.status.in_(SOLD), Order.created_at >= lo, Order.created_at < hi)
    ).one()
    return int(n or 0), Decimal(revenue or 0).quantize(Decimal("0.01"))


def orders_today(db: Session, user: CurrentUser) -> tuple[int, int]:
    """Orders taken today (not denied) and yesterday."""
    from app.core.display import today

    d = today()
    return _sales_on(db, d)[0], _sales_on(db, d - dt.timedelta(days=1))[0]


def revenue_today(db: Session, user: CurrentUser) -> tuple[Decimal, Decimal]:
    """Revenue of today's orders and of yesterday's."""
    from app.core.display import today

    d = today()
    return _sales_on(db, d)[1], _sales_on(db, d - dt.timedelta(days=1))[1]


def orders_to_issue(db: Session, user: CurrentUser) -> tuple[int, None]:
    """Paid orders still waiting to be handed out (no previous figure: it is a state, not a flow)."""
    n = db.exec(select(func.count(Order.id)).where(Order.status == OrderStatus.paid_not_issued)).one()
    return int(n or 0), None


def revenue_by_day(db: Session, user: CurrentUser, days: int = 14) -> list[dict[str, Any]]:
    """Revenue per day of the last ``days`` days (days without sales as 0), in the users' time zone."""
    from app.core.display import TIMEZONE, today

    first = today() - dt.timedelta(days=days - 1)
    day = cast(func.timezone(str(TIMEZONE), Order.created_at), Date)
    got = dict(db.exec(
        select(day, func.sum(Order.qty * Order.unit_price_rub))
        .where(Order.status.in_(SOLD), Order.created_at >= _day_bounds(first)[0]).group_by(day)
    ).all())
    return [{"day": first + dt.timedelta(days=i), "revenue": Decimal(got.get(first + dt.timedelta(days=i)) or 0)} for i in range(days)]


def low_stock_alerts(db: Session, user: CurrentUser) -> list[dict[str, str]]:
    """A line per product below its threshold, out of stock first, linking to the product."""
    rows = db.exec(select(Product).where(Product.is_low_stock, Product.deleted_at.is_(None)).order_by(Product.quantity - Product.issued_qty, Product.name).limit(50)).all()
    return [{"text": f"{p.name}: {current_stock(p)} / {p.min_stock}", "link": f"/stock/products/{p.id}", "tone": "red" if current_stock(p) <= 0 else "orange"} for p in rows]


def latest_orders(db: Session, user: CurrentUser, limit: int = 8) -> list[dict[str, Any]]:
    rows = db.exec(select(Order).order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)).all()
    return [{"id": o.id, "product": o.product_name or "", "qty": o.qty, "total": (o.unit_price_rub or Decimal(0)) * o.qty,
             "created_at": o.created_at, "link": f"/stock/orders/{o.id}"} for o in rows]
