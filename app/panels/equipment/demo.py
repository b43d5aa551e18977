"""Demo data of the equipment panel (``python -m app.demo`` calls :func:`load`). Idempotent: once a
warehouse exists it adds nothing.

Two warehouses with bins, ten stores in Moscow and Saint Petersburg with coordinates, product types
(routers, payment terminals, scanners, receipt printers, cables and other consumables), about two
hundred serial assets and the consumables' stock — brought in by posted receipts, so the ledger,
the asset events and the audit log tell the same story as the lists — then a month of
consumption (write-offs spread over 30 days, for the forecast), a few assets sent to repair, found
defective or written off, and equipment installed at the stores before the panel was used.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, select

from app.core import CurrentUser
from app.panels.equipment import process, warehouse
from app.panels.equipment.machines import CONDITION
from models.equipment import (
    Asset,
    AssetEvent,
    DocumentKind,
    EqProduct,
    Location,
    Process,
    ProductKind,
    RequestKind,
    RequestTemplate,
    RequestTemplateLine,
    StockDocument,
    StockDocumentLine,
    StockItem,
    StockMove,
    Store,
    Warehouse,
    WarehouseBin,
)

WAREHOUSES = [
    ("MSK-1", "Москва, основной склад", "Москва", "ул. Складочная, 1", 55.8007, 37.5894, ["A-01", "A-02", "A-03", "B-01", "B-02"]),
    ("SPB-1", "Санкт-Петербург, склад", "Санкт-Петербург", "Софийская ул., 14", 59.8744, 30.4273, ["A-01", "A-02", "B-01"]),
]

STORES = [
    ("M-001", "Магазин «Тверская»", "Москва", "Тверская ул., 12", 55.7616, 37.6087),
    ("M-002", "Магазин «Арбат»", "Москва", "ул. Арбат, 24", 55.7497, 37.5925),
    ("M-003", "Магазин «Сокольники»", "Москва", "Русаковская ул., 31", 55.7868, 37.6773),
    ("M-004", "Магазин «Марьино»", "Москва", "Люблинская ул., 169", 55.6510, 37.7437),
    ("M-005", "Магазин «Ходынка»", "Москва", "Ходынский б-р, 4", 55.7904, 37.5311),
    ("M-006", "Магазин «Бутово»", "Москва", "ул. Поляны, 8", 55.5479, 37.5497),
    ("S-001", "Магазин «Невский»", "Санкт-Петербург", "Невский пр., 78", 59.9322, 30.3470),
    ("S-002", "Магазин «Васильевский»", "Санкт-Петербург", "Средний пр. В.О., 36", 59.9418, 30.2735),
    ("S-003", "Магазин «Купчино»", "Санкт-Петербург", "Балканская пл., 5", 59.8290, 30.3807),
    ("S-004", "Магазин «Приморский»", "Санкт-Петербург", "Богатырский пр., 15", 60.0040, 30.2554),
]

# sku, name, kind, vendor, lead time days, min qty, weight kg, size cm, how many serial assets
PRODUCTS = [
    ("RT-HAP", "Роутер MikroTik hAP ac2", ProductKind.SERIAL, "MikroTik", 14, 5, "0.5", (20, 15, 5), 40),
    ("RT-KGG", "Роутер Keenetic Giga", ProductKind.SERIAL, "Keenetic", 7, 5, "0.6", (22, 16, 5), 30),
    ("POS-M5", "POS-терминал Ingenico Move/5000", ProductKind.SERIAL, "Ingenico", 21, 4, "0.4", (18, 9, 7), 35),
    ("POS-S3", "POS-терминал PAX S300", ProductKind.SERIAL, "PAX", 21, 3, "0.5", (17, 10, 8), 20),
    ("SC-DS22", "Сканер Zebra DS2208", ProductKind.SERIAL, "Zebra", 10, 5, "0.2", (17, 7, 10), 35),
    ("SC-1450", "Сканер Honeywell 1450g", ProductKind.SERIAL, "Honeywell", 10, 3, "0.2", (17, 7, 10), 15),
    ("PR-30F", "Принтер чеков АТОЛ 30Ф", ProductKind.SERIAL, "АТОЛ", 14, 3, "1.2", (20, 12, 12), 20),
    ("TSD-40", "ТСД Urovo DT40", ProductKind.SERIAL, "Urovo", 30, 2, "0.4", (16, 8, 3), 10),
    ("CB-UTP3", "Кабель UTP Cat5e, 3 м", ProductKind.CONSUMABLE, None, 5, 40, "0.1", None, 0),
    ("CB-PC1", "Патч-корд 1 м", ProductKind.CONSUMABLE, None, 5, 30, "0.05", None, 0),
    ("PSU-12", "Блок питания 12 В", ProductKind.CONSUMABLE, None, 10, 10, "0.2", None, 0),
    ("TP-57", "Чековая лента 57 мм", ProductKind.CONSUMABLE, None, 3, 100, "0.05", None, 0),
    ("RJ45", "Коннектор RJ45 (уп. 100)", ProductKind.CONSUMABLE, None, 7, 5, "0.2", None, 0),
]

#: consumable sku → (received in Moscow, received in SPb, used per day on average)
CONSUMABLES = {"CB-UTP3": (160, 60, 3.0), "CB-PC1": (60, 0, 1.5), "PSU-12": (40, 10, 0.8), "TP-57": (400, 0, 12.0), "RJ45": (12, 5, 0.5)}


def load(db: Session, rng: random.Random, chief: CurrentUser, support: CurrentUser | None = None) -> int:
    """Load the demo once; returns how many serial assets it created (0 when already there).
    ``support`` writes the demo's requests (the chief, when not given)."""
    if db.exec(select(func.count()).select_from(Warehouse)).one() > 0:
        return 0
    whs: list[Warehouse] = []
    bins: dict[str, list[WarehouseBin]] = {}
    for code, name, city, address, lat, lon, bin_codes in WAREHOUSES:
        w = Warehouse(code=code, name=name, city=city, address=address, lat=lat, lon=lon)
        db.add(w)
        db.flush()
        whs.append(w)
        bins[code] = [WarehouseBin(warehouse_id=w.id, code=b, zone=b[0]) for b in bin_codes]
        db.add_all(bins[code])
    stores = [Store(code=c, name=n, city=city, address=a, lat=lat, lon=lon, contact_name=rng.choice(["Анна", "Игорь", "Ольга", "Сергей"]),
                    contact_phone=f"+7999{rng.randint(1000000, 9999999)}") for c, n, city, a, lat, lon in STORES]
    db.add_all(stores)
    products: dict[str, EqProduct] = {}
    for sku, name, kind, vendor, lead, min_qty, weight, size, _n in PRODUCTS:
        p = EqProduct(sku=sku, name=name, kind=kind, vendor=vendor, lead_time_days=lead, min_qty=min_qty, weight_kg=weight,
                      length_cm=size[0] if size else None, width_cm=size[1] if size else None, height_cm=size[2] if size else None)
        db.add(p)
        products[sku] = p
    db.flush()

    month_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=35)
    created = 0
    # receipts: per warehouse, serial assets by SN into its bins and the consumables' stock
    for w in whs:
        share = 0.65 if w.code == "MSK-1" else 0.35
        for b in bins[w.code]:
            lines: list[dict[str, Any]] = []
            for sku, _name, kind, *_rest, n in PRODUCTS:
                if kind is ProductKind.SERIAL:
                    count = max(1, round(n * share / len(bins[w.code])))
                    lines += [{"product_id": products[sku].id, "sn": f"{sku}-{w.code[:3]}{b.code.replace('-', '')}-{i:03d}"} for i in range(count)]
            if b is bins[w.code][0]:
                lines += [{"product_id": products[sku].id, "qty": q[0 if w.code == "MSK-1" else 1]} for sku, q in CONSUMABLES.items()
                          if q[0 if w.code == "MSK-1" else 1]]
            created += sum(1 for x in lines if x.get("sn"))
            _post(db, chief, DocumentKind.RECEIPT, w.id, lines, bin_id=b.id if b is not bins[w.code][0] else None, when=month_ago,
                  comment="Демо: первичный приход")

    # each consumable's stock keeps its product type's minimum (a threshold, not a quantity)
    for sku, p in products.items():
        if p.kind is ProductKind.CONSUMABLE:
            db.execute(update(StockItem).where(StockItem.product_id == p.id).values(min_qty=p.min_qty))

    # a month of consumption (the forecast reads it): write-offs spread over 30 days
    msk = whs[0]
    left = {sku: q[0] for sku, q in CONSUMABLES.items()}
    for day in range(30, 0, -1):
        when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=day, hours=rng.randint(0, 8))
        lines = []
        for sku, (_m, _s, per_day) in CONSUMABLES.items():
            # consumption grows towards today, so the 7-day average is above the 30-day one
            qty = min(left[sku], max(0, round(rng.gauss(per_day * (0.6 + 0.8 * (30 - day) / 30), per_day / 3))))
            left[sku] -= qty
            if qty:
                lines.append({"product_id": products[sku].id, "qty": qty})
        if lines:
            _post(db, chief, DocumentKind.WRITE_OFF, msk.id, lines, when=when, comment="Демо: расход на монтаж")

    # some equipment is in trouble: defective, on testing, in repair, written off
    free = db.exec(select(Asset).where(Asset.process == Process.FREE, Asset.warehouse_id == msk.id).order_by(Asset.id)).all()
    rng.shuffle(free)
    for a in free[:6]:
        CONDITION.fire(db, chief, a, "mark_defective", system=True, entity="equipment.assets")
        db.add(AssetEvent(asset_id=a.id, axis="condition", from_value="WORKING", to_value="DEFECTIVE", user_id=chief.id))
    for a in free[6:10]:
        CONDITION.fire(db, chief, a, "send_to_test", system=True, entity="equipment.assets")
        db.add(AssetEvent(asset_id=a.id, axis="condition", from_value="WORKING", to_value="ON_TESTING", user_id=chief.id))
    db.flush()
    repair = free[10:15]
    _post(db, chief, DocumentKind.REPAIR_SEND, msk.id, [{"sn": a.sn} for a in repair],
          when=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=4), comment="Демо: в сервисный центр")
    _post(db, chief, DocumentKind.WRITE_OFF, msk.id, [{"sn": a.sn} for a in free[15:18]],
          when=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2), comment="Демо: списание после ремонта")

    # installed at the stores before the panel (the starting estate of each store)
    now = dt.datetime.now(dt.timezone.utc)
    for s in stores:
        db.flush()
        for sku in ("RT-HAP", "POS-M5", "SC-DS22", "PR-30F"):
            # the receipt printer of every other store came but waits for its installation (section 8)
            waiting = sku == "PR-30F" and int(s.code[-1]) % 2 == 1
            a = Asset(sn=f"{sku}-{s.code}-0", product_id=products[sku].id, location=Location.STORE, store_id=s.id,
                      process=Process.NOT_INSTALLED if waiting else Process.INSTALLED,
                      delivered_at=now - dt.timedelta(days=rng.randint(3, 20) if waiting else rng.randint(60, 400)),
                      installed_at=None if waiting else now - dt.timedelta(days=rng.randint(30, 59)),
                      note="Доставлено до запуска панели" if waiting else "Установлено до запуска панели")
            db.add(a)
            created += 1
    db.flush()
    _process(db, chief, support or chief, msk, stores, products)
    return created


def _process(db: Session, chief: CurrentUser, support: CurrentUser, msk: Warehouse, stores: list[Store],
             products: dict[str, EqProduct]) -> None:
    """The process at each of its stages, made through its services (section 13): the "new store"
    template and four requests from it — new, being picked, confirmed and waiting for its courier,
    delivered and waiting for support's installation."""
    tpl = RequestTemplate(name="Новый магазин", kind=RequestKind.NEW_STORE, created_by_id=chief.id,
                          checklist=["Проверить комплектность", "Роутер и кассу настроить до отгрузки", "Вложить накладную"])
    db.add(tpl)
    db.flush()
    db.add_all([RequestTemplateLine(template_id=tpl.id, product_id=products["RT-HAP"].id, qty=1),
                RequestTemplateLine(template_id=tpl.id, product_id=products["POS-M5"].id, qty=1),
                RequestTemplateLine(template_id=tpl.id, product_id=products["CB-UTP3"].id, qty=2)])
    db.flush()

    def request(store: Store) -> Any:
        return process.create_request(db, support, store_id=store.id, warehouse_id=msk.id, template_id=tpl.id)

    request(stores[0])  # new: the storekeeper's to reserve
    picking = request(stores[1])
    process.reserve_auto(db, chief, picking)
    process.start_picking(db, chief, picking)
    for target in (2, 3):
        req = request(stores[target])
        process.reserve_auto(db, chief, req)
        shipment = process.start_picking(db, chief, req)
        for i, line in enumerate(list(shipment.checklist), start=1):  # scan each SN, tick the other lines
            process.tick(db, chief, shipment, line.get("sn") or str(i))
        process.confirm_shipment(db, chief, shipment)
        if target == 3:  # taken by the store's own car: the chief marks it delivered
            process.hand_over(db, chief, shipment)
            process.mark_delivered(db, chief, shipment)
    db.flush()


def _post(db: Session, user: CurrentUser, kind: DocumentKind, warehouse_id: int, lines: list[dict[str, Any]], *, bin_id: int | None = None,
          when: dt.datetime | None = None, comment: str = "") -> StockDocument:
    """Create and post one document (``warehouse.post``: the same checks and effects as the page)
    as the demo's chief; ``when`` dates it, its ledger rows and its asset events in the past."""
    doc = StockDocument(kind=kind, warehouse_id=warehouse_id, bin_id=bin_id, comment=comment, created_by_id=user.id)
    db.add(doc)
    db.flush()
    for x in lines:
        db.add(StockDocumentLine(document_id=doc.id, product_id=x.get("product_id"), sn=x.get("sn"), qty=x.get("qty", 1)))
    db.flush()
    warehouse.post(db, user, doc)
    if when is not None:
        doc.created_at = doc.posted_at = when
        db.add(doc)
        db.flush()
        db.execute(update(StockMove).where(StockMove.document_id == doc.id).values(at=when))
        db.execute(update(AssetEvent).where(AssetEvent.document_id == doc.id).values(at=when))
    return doc
