"""Demo data: ``python -m app.demo``. Idempotent: a second run adds nothing.

Creates the built-in roles, one user per role (admin/admin, manager/manager, user/user) and, for the
stock panel, a few dozen products from a handful of suppliers, supplies, and a few hundred orders
over the last 90 days — enough for every page and chart to show something real.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlmodel import Session, func, select

from app.core import audit, db as dbm
from app.core.auth import SYSTEM
from app.core.registry import load_panels
from app.core.setup import ensure_user, sync_roles, sync_rules
from models.stock import Order, OrderStatus, Product, Supply

DEMO_USERS = [
    ("admin", "admin", "admin", "Администратор Демо"),
    ("manager", "manager", "manager", "Менеджер Демо"),
    ("user", "user", "user", "Оператор Демо"),
]

SUPPLIERS = ["ООО «Альфа»", "Бета Трейд", "Gamma GmbH", "ИП Соколов", "Delta Parts"]
KINDS = ["Кабель", "Адаптер", "Зарядка", "Чехол", "Наушники", "Роутер", "Флешка", "Мышь", "Клавиатура", "Колонка"]
VARIANTS = ["USB-C", "Lightning", "Pro", "Mini", "Max", "2 м", "64 ГБ", "беспроводная", "чёрный"]


def load_stock(db: Session, rng: random.Random) -> int:
    if db.exec(select(func.count()).select_from(Product)).one() > 0:
        return 0
    products = []
    for kind, variant in rng.sample([(k, v) for k in KINDS for v in VARIANTS], 40):
        name = f"{kind} {variant}"
        buy = Decimal(rng.randrange(200, 6000)) / 100
        p = Product(
            name=name,
            description=f"Демо-товар «{name}»",
            min_stock=rng.choice([0, 3, 5, 10]),
            buy_price_eur=buy,
            sell_price_rub=(buy * 100 * Decimal("1.6")).quantize(Decimal("1")),
            supplier_name=rng.choice(SUPPLIERS),
        )
        db.add(p)
        products.append(p)
    db.flush()
    now = dt.datetime.now(dt.timezone.utc)
    for p in products:
        for _ in range(rng.randint(1, 3)):
            qty = rng.randint(5, 40)
            db.add(Supply(product_id=p.id, qty=qty, supplier_name=p.supplier_name, buy_price_eur=p.buy_price_eur,
                          created_at=now - dt.timedelta(days=rng.randint(60, 120))))
            p.quantity += qty
    db.flush()
    count = 0
    for _ in range(400):
        p = rng.choice(products)
        qty = rng.randint(1, 3)
        created = now - dt.timedelta(days=rng.uniform(0, 90))
        status = rng.choices([OrderStatus.paid_issued, OrderStatus.paid_not_issued, OrderStatus.paid_denied], [80, 12, 8])[0]
        if status == OrderStatus.paid_issued and p.quantity - p.issued_qty < qty:
            status = OrderStatus.paid_not_issued
        price = p.sell_price_rub * (Decimal(1) - Decimal(rng.choice([0, 0, 0, 5, 10])) / 100)
        order = Order(
            phone=f"+7999{rng.randint(1000000, 9999999)}",
            customer_name=rng.choice([None, "Иван", "Мария", "ООО Ромашка", "Пётр", "Анна"]),
            product_id=p.id, product_name=p.name, qty=qty, unit_price_rub=price.quantize(Decimal("0.01")),
            status=status, created_at=created,
            issued_at=created + dt.timedelta(hours=rng.randint(1, 48)) if status == OrderStatus.paid_issued else None,
        )
        if status == OrderStatus.paid_issued:
            p.issued_qty += qty
        db.add(order)
        count += 1
    audit.record(db, SYSTEM, "demo_load", "stock", None, {"products": len(products), "orders": count}, source="system")
    return len(products)


def load(seed: int = 2026) -> dict[str, int]:
    load_panels()
    rng = random.Random(seed)
    with dbm.session_scope() as db:
        sync_roles(db)
        db.flush()
        sync_rules(db)
        for username, password, role, full_name in DEMO_USERS:
            ensure_user(db, username, password, role, full_name)
        db.commit()
        products = load_stock(db, rng)
        db.commit()
    return {"products": products}


def main() -> None:
    result = load()
    if result["products"]:
        print(f"Demo data loaded: {result['products']} products with supplies and orders.")
    else:
        print("Demo data already present: nothing added.")
    print("Demo logins: " + ", ".join(f"{u} / {p} ({r})" for u, p, r, _ in DEMO_USERS))


if __name__ == "__main__":
    main()
