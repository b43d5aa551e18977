"""Demo data: ``python -m app.demo``. Idempotent: a second run adds nothing.

Creates the built-in roles and three users — admin/admin (administrator), manager/manager (manager
of stock and of numbers, the latter for the providers of group "Север"), user/user (stock operator) — opens
registration (seed 001) and, for the stock panel, a few dozen products from a handful of suppliers, supplies, and a few hundred orders
over the last 90 days — enough for every page and chart to show something real.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlmodel import Session, func, select

from app.boot import boot
from app.core import audit
from app.core import db as dbm
from app.core.auth import SYSTEM
from app.core.registry import PANELS
from app.core.setup import ensure_user, sync_roles, sync_rules
from models.stock import Order, OrderStatus, Product, Supply

#: username, password, roles (at most one per panel; a role of a panel switched off is left out), name.
DEMO_USERS = [
    ("admin", "admin", ["admin"], "Администратор Демо"),
    ("manager", "manager", ["stock.manager", "numbers.manager"], "Менеджер Демо"),
    ("user", "user", ["stock.user"], "Оператор Демо"),
    # the equipment panel's (seed 000): app/panels/equipment/demo.py
    ("storekeeper", "storekeeper", ["equipment.storekeeper"], "Кладовщик Демо"),
    ("support", "support", ["equipment.support"], "Техподдержка Демо"),
    ("chief", "chief", ["equipment.chief"], "Начальник Демо"),
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
            eur_rub_rate=Decimal(rng.choice(["98.50", "100.00", "101.25", "103.40"])), unit_cost_eur=p.buy_price_eur,
            status=status, created_at=created,
            issued_at=created + dt.timedelta(hours=rng.randint(1, 48)) if status == OrderStatus.paid_issued else None,
        )
        if status == OrderStatus.paid_issued:
            p.issued_qty += qty
        db.add(order)
        count += 1
    audit.record(db, SYSTEM, "demo_load", "stock", None, {"products": len(products), "orders": count}, source="system")
    return len(products)


def load_numbers(db: Session, rng: random.Random, manager_id: int | None) -> int:
    """Seed 004: providers in two groups, projects (one deleted), geo, schedules, a few thousand
    numbers with statuses over 60 days; the demo manager sees the providers of group "Север"."""
    import datetime as dt

    from sqlalchemy import text

    from models.numbers import (
        Geo,
        ManagerScope,
        PhoneNumber,
        Project,
        ProjectGeo,
        ProjectProvider,
        ProjectSchedule,
        Provider,
    )
    from models.numbers_sql import DEFAULT_STATUSES

    if db.exec(select(func.count()).select_from(PhoneNumber)).one() > 0:
        return 0
    db.exec(text(DEFAULT_STATUSES))
    providers = [Provider(name=name, group_name=group, kind=kind) for name, group, kind in [
        ("ТелекомЛид", "Север", "API"), ("Норд Базы", "Север", "Файл"), ("СибКонтакт", "Север", "SFTP"),
        ("ЮгДата", "Юг", "Файл"), ("Кавказ Лиды", "Юг", "API"), ("Волга Номера", "Юг", "SFTP")]]
    places = [("RU", "Москва", "Москва"), ("RU", "Санкт-Петербург", "Санкт-Петербург"), ("RU", "Новосибирская область", "Новосибирск"),
              ("RU", "Свердловская область", "Екатеринбург"), ("RU", "Краснодарский край", "Краснодар"), ("RU", "Республика Татарстан", "Казань"),
              ("RU", "Ростовская область", "Ростов-на-Дону"), ("RU", "Самарская область", "Самара"), ("KZ", "Алматы", "Алматы"), ("BY", "Минск", "Минск")]
    geos = [Geo(country=c, region=r, city=city, name=f"{c} · {r} · {city}") for c, r, city in places]
    projects = [Project(name=n, description=d) for n, d in [
        ("Кредитные карты", "Холодный обзвон: кредитные карты"), ("Страхование ОСАГО", "Продление полисов"),
        ("Интернет дома", "Подключение домашнего интернета"), ("Доставка еды", "Возврат клиентов"),
        ("Курсы английского", "Запись на пробный урок"), ("Ремонт квартир", "Замер и смета"), ("Старый проект", "Удалён")]]
    db.add_all(providers + geos + projects)
    db.flush()
    projects[-1].deleted_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    for i, project in enumerate(projects):
        for provider in rng.sample(providers, 2):
            db.add(ProjectProvider(project_id=project.id, provider_id=provider.id))
        for geo in rng.sample(geos, 3):
            db.add(ProjectGeo(project_id=project.id, geo_id=geo.id))
        for weekday in range(5 if i % 2 else 6):
            db.add(ProjectSchedule(project_id=project.id, weekday=weekday, start_time=dt.time(9), end_time=dt.time(18 if weekday < 5 else 15)))
    if manager_id is not None:
        db.add(ManagerScope(user_id=manager_id, group_name="Север"))
    statuses = dict(db.exec(text("SELECT code, id FROM number_status")).all())
    mix = [("new", 45), ("in_work", 10), ("callback", 5), ("success", 12), ("refusal", 15), ("no_answer", 11), ("bad_number", 2)]
    codes = [c for c, w in mix for _ in range(w)]
    now = dt.datetime.now(dt.timezone.utc)
    seen: set[str] = set()
    rows = []
    while len(rows) < 3000:
        phone = "+79" + "".join(str(rng.randrange(10)) for _ in range(9))
        if phone in seen:
            continue
        seen.add(phone)
        code = rng.choice(codes)
        created = now - dt.timedelta(days=rng.randrange(60), minutes=rng.randrange(1440))
        changed = created if code == "new" else min(now, created + dt.timedelta(hours=rng.randrange(1, 96)))
        project = rng.choice(projects)
        rows.append(PhoneNumber(phone=phone, project_id=project.id, provider_id=rng.choice(providers).id, geo_id=rng.choice(geos).id,
                                status_id=statuses[code], created_at=created, status_changed_at=changed,
                                last_call_at=None if code == "new" else changed))
    db.add_all(rows)
    db.flush()
    return len(rows)


def open_registration(db: Session) -> None:
    """Seed 001 wants anyone to register as an operator: the demo opens registration (without
    approval) unless an admin already decided on Administration → Security."""
    from app.core.auth import REGISTRATION_KEY, save_registration_policy
    from models.core import Setting

    if db.get(Setting, REGISTRATION_KEY) is None:
        save_registration_policy(db, None, True, False)


def load(seed: int = 2026) -> dict[str, int]:
    boot()
    rng = random.Random(seed)
    with dbm.session_scope() as db:
        sync_roles(db)
        db.flush()
        sync_rules(db)
        for username, password, role, full_name in DEMO_USERS:
            ensure_user(db, username, password, role, full_name)
        db.commit()
        open_registration(db)
        products = load_stock(db, rng)
        db.commit()
        numbers = 0
        if "numbers" in PANELS:
            from models.core import User

            manager = db.exec(select(User).where(User.username == "manager")).first()
            numbers = load_numbers(db, rng, manager.id if manager else None)
            db.commit()
        assets = 0
        if "equipment" in PANELS:
            from app.core.auth import current_user_for
            from app.panels.equipment import demo as equipment_demo
            from models.core import User

            chief = db.exec(select(User).where(User.username == "chief")).first()
            support = db.exec(select(User).where(User.username == "support")).first()
            assets = equipment_demo.load(db, rng, current_user_for(db, chief) if chief else SYSTEM,
                                         current_user_for(db, support) if support else None)
            db.commit()
    return {"products": products, "numbers": numbers, "assets": assets}


def main() -> None:
    result = load()
    if result["products"] or result["numbers"] or result["assets"]:
        print(f"Demo data loaded: {result['products']} products with supplies and orders, {result['numbers']} phone numbers, "
              f"{result['assets']} equipment assets.")
    else:
        print("Demo data already present: nothing added.")
    print("Demo logins: " + ", ".join(f"{u} / {p} ({', '.join(r)})" for u, p, r, _ in DEMO_USERS))


if __name__ == "__main__":
    main()
