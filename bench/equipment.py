"""Equipment panel at scale (issue 10, "Scale") over the data set of ``bench/seed_equipment.py``:
300 stores, 20 warehouses, 200,000 assets, 2,000,000 asset events, 100,000 shipments.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/pult .venv/bin/python bench/seed_equipment.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/pult .venv/bin/python bench/equipment.py [--only card,dashboard,list,race] [--no-docs]

Each figure beside its baseline in the same run:

* **card** — the store card's server time (``store_card.card``: counts, the equipment list, the
  shipments with their deliveries, the new-store progress, the sending warehouse; the route from
  the Redis cache as the page reads it) for random stores, vs the bare SQL of its biggest query
  (the store's assets). Target p50 < 100 ms.
* **dashboard** — the dashboard's run and formatting (``DASHBOARD.run`` + ``shown``), vs a bare
  ``count(*)`` of the asset table. Target < 150 ms.
* **list** — the assets list page (``crud.list_records`` + every cell formatted, as the list page
  does) on the first, a middle (cursor), the last page and filtered pages, vs the bare keyset
  SQL. Target: any page < 50 ms.
* **race** — 20 threads, each with its own connection, reserving the same 100 free assets for
  their own request through the panel's reservation service: double reservations counted
  (must be 0) and the time it took, vs the same 100 rows updated one by one without contention.

Prints markdown and replaces its section of ``docs/benchmarks.md`` (a "### Reading" under it is kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import random
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.numbers_panel import p50, p95, timed  # noqa: E402 - the same percentiles and timer as the numbers bench
from bench.seed_equipment import DB_NAME, bench_url  # noqa: E402

SECTION_TITLE = "## Equipment at scale (`bench/equipment.py`)"


def bare(engine, sql: str, n: int, **params) -> list[float]:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        return timed(lambda: (cur.execute(sql, params or None), cur.fetchall()), n)
    finally:
        raw.close()


def setup_kit(url: str):
    os.environ["DATABASE_URL"] = url
    from app.boot import boot
    from app.core import db as dbm

    boot()
    engine = create_engine(url, pool_size=25, max_overflow=5)
    dbm.set_engine(engine)
    return engine


# --------------------------------------------------------------------------- store card
def bench_card(engine, n: int) -> list[str]:
    from sqlmodel import Session

    from app.core.principal import SYSTEM
    from app.panels.equipment import store_card

    with engine.connect() as c:
        stores = [r[0] for r in c.execute(text("SELECT id FROM eq_store ORDER BY id"))]
    rng = random.Random(10)
    picks = [rng.choice(stores) for _ in range(n + 2)]
    it = iter(picks)

    def card() -> None:
        with Session(engine) as db:
            store_card.card(db, SYSTEM, next(it), routing_url=None, margin_min=15)

    kit = timed(card, n)
    base = bare(engine, "SELECT id, sn, process FROM eq_asset WHERE store_id = %(s)s ORDER BY sn LIMIT 200", n, s=rng.choice(stores))
    with engine.connect() as c:
        per_store = c.execute(text("SELECT round(avg(n)) FROM (SELECT count(*) n FROM eq_asset WHERE store_id IS NOT NULL GROUP BY store_id) x")).scalar()
    return ["| case | p50 / p95 ms | baseline p50 ms | ÷ baseline | note |", "|---|---|---|---|---|",
            f"| store card (server) | {p50(kit):.1f} / {p95(kit):.1f} | {p50(base):.1f} (its assets query) | {p50(kit) / max(p50(base), 0.01):.1f}× "
            f"| {n} random stores, ~{per_store} assets each; route from the Redis cache |"]


# --------------------------------------------------------------------------- dashboard
def bench_dashboard(engine, n: int) -> list[str]:
    from sqlmodel import Session

    from app.core.principal import SYSTEM
    from app.panels.equipment.dashboard import DASHBOARD

    def run() -> None:
        with Session(engine) as db:
            DASHBOARD.shown(DASHBOARD.run(db, SYSTEM), "ru")

    kit = timed(run, n)
    base = bare(engine, "SELECT count(*) FROM eq_asset", n)
    return [f"| dashboard (server) | {p50(kit):.1f} / {p95(kit):.1f} | {p50(base):.1f} (count(*) of assets) | {p50(kit) / max(p50(base), 0.01):.1f}× "
            f"| 6 KPIs, overdue alerts, 14-day chart |"]


# --------------------------------------------------------------------------- asset list
def bench_list(engine, n: int) -> list[str]:
    from dataclasses import replace

    from sqlmodel import Session

    from app.core import crud
    from app.core.principal import SYSTEM
    from app.core.query import ListParams, base_query, encode_cursor
    from app.core.registry import RESOURCES

    if "equipment.assets" not in RESOURCES:
        return ["| asset list | — | — | — | the assets resource is not declared yet |"]
    from app.core.ui.list_state import row_dict

    res = RESOURCES["equipment.assets"]()
    with engine.connect() as c:
        middle = c.execute(text("SELECT id FROM eq_asset ORDER BY id DESC OFFSET 100000 LIMIT 1")).scalar()

    def page(params: ListParams) -> None:
        with Session(engine) as db:
            p = crud.list_records(db, res, SYSTEM, replace(params, count_mode="estimate"))
            [row_dict(res, SYSTEM, r, "ru") for r in p.rows]

    cases = [
        ("first page", ListParams(page_size=50)),
        ("middle page (cursor)", ListParams(page_size=50, cursor="after:" + encode_cursor([middle, middle]))),
        ("last page", ListParams(page_size=50, cursor="last")),
        ("filter process=NOT_INSTALLED", ListParams(page_size=50, filters={"process": "NOT_INSTALLED"})),
        ("filter store=17", ListParams(page_size=50, filters={"store_id": "17"})),
        ("search SN \"000123\"", ListParams(page_size=50, search="000123")),
    ]
    out = []
    for label, params in cases:
        try:
            kit = timed(lambda: page(params), n)
        except Exception as exc:  # noqa: BLE001 - a filter the resource does not declare
            out.append(f"| asset list: {label} | — | — | — | {type(exc).__name__}: {exc} |")
            continue
        stmt = base_query(res, SYSTEM, params).order_by(res.model.id.desc()).limit(51)
        sql = str(stmt.compile(compile_kwargs={"literal_binds": True}))
        b = bare(engine, sql, n)
        out.append(f"| asset list: {label} | {p50(kit):.1f} / {p95(kit):.1f} | {p50(b):.1f} (bare keyset SQL) | {p50(kit) / max(p50(b), 0.01):.1f}× | 50 rows |")
    return out


# --------------------------------------------------------------------------- reservation race
def bench_race(engine, clients: int = 20, assets: int = 100) -> list[str]:
    """20 clients reserve the same 100 free assets, each for its own new request."""
    try:
        process = importlib.import_module("app.panels.equipment.process")
    except ImportError:
        return ["| reservation race | — | — | — | the reservation service is not there yet |"]
    reserve = getattr(process, "reserve_asset", None)
    if reserve is None:
        return ["| reservation race | — | — | — | no `process.reserve_asset` |"]
    from sqlmodel import Session

    from app.core.errors import PultError
    from app.core.principal import SYSTEM
    from models.equipment import Asset, EqRequest, Process, RequestLine, Reservation, ReservationStatus

    with Session(engine) as db:
        ids = [a.id for a in db.exec(
            __import__("sqlmodel").select(Asset).where(Asset.process == Process.FREE, Asset.condition == "WORKING",
                                                       Asset.location.in_(("MAIN_WAREHOUSE", "BIN")), Asset.warehouse_id == 1)
            .order_by(Asset.id).limit(assets)).all()]
        sns = [db.get(Asset, i).sn for i in ids]
        reqs = []
        per_product: dict[int, int] = {}
        for i in ids:
            pid = db.get(Asset, i).product_id
            per_product[pid] = per_product.get(pid, 0) + 1
        for k in range(clients):
            # each client's own request for all 100 assets: only who comes first decides who gets each
            r = EqRequest(store_id=1 + k, warehouse_id=1, title=f"bench race {k}")
            db.add(r)
            db.flush()
            db.add_all([RequestLine(request_id=r.id, product_id=pid, qty=n) for pid, n in per_product.items()])
            reqs.append(r.id)
        db.commit()
    barrier = threading.Barrier(clients)
    won: dict[int, int] = {}
    errors: list[str] = []

    def client(k: int) -> None:
        with Session(engine) as db:
            barrier.wait()
            order = sns[:]
            random.Random(k).shuffle(order)
            got = 0
            for sn in order:
                try:
                    reserve(db, SYSTEM, db.get(EqRequest, reqs[k]), sn)
                    db.commit()
                    got += 1
                except PultError:  # someone else got it first: refused with a message, as a user would be
                    db.rollback()
                except Exception as exc:  # noqa: BLE001 - anything else is a bug the table shows
                    db.rollback()
                    errors.append(type(exc).__name__)
            won[k] = got

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = (time.perf_counter() - t0) * 1000
    with Session(engine) as db:
        active = db.exec(__import__("sqlmodel").select(Reservation).where(Reservation.asset_id.in_(ids),
                                                                           Reservation.status == ReservationStatus.ACTIVE)).all()
        per_asset: dict[int, int] = {}
        for r in active:
            per_asset[r.asset_id] = per_asset.get(r.asset_id, 0) + 1
        doubles = sum(1 for v in per_asset.values() if v > 1)
        # undo: the data set stays as seeded
        db.exec(text("DELETE FROM eq_reservation WHERE request_id = ANY(:r)").bindparams(r=reqs))
        db.exec(text("UPDATE eq_asset SET process = 'FREE', request_id = NULL WHERE id = ANY(:i)").bindparams(i=ids))
        db.exec(text("DELETE FROM eq_request_line WHERE request_id = ANY(:r)").bindparams(r=reqs))
        db.exec(text("DELETE FROM eq_request WHERE id = ANY(:r)").bindparams(r=reqs))
        db.commit()
    t1 = time.perf_counter()
    with engine.begin() as c:
        for i in ids:
            c.execute(text("UPDATE eq_asset SET updated_at = now() WHERE id = :i"), {"i": i})
    alone = (time.perf_counter() - t1) * 1000
    return [f"| reservation race | {took:.0f} ms for {clients}×{assets} attempts | {alone:.0f} ms ({assets} single-row updates, no contention) "
            f"| {took / max(alone, 0.01):.1f}× | reserved {sum(won.values())} of {assets}, **double reservations: {doubles}**"
            f"{', unexpected errors: ' + ', '.join(sorted(set(errors))) if errors else ''} |"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="card,dashboard,list,race")
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--database", default=DB_NAME)
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args()
    url = bench_url(args.database)
    engine = setup_kit(url)
    only = set(args.only.split(","))
    lines: list[str] = []
    if "card" in only:
        lines += bench_card(engine, args.repeats)
    else:
        lines += ["| case | p50 / p95 ms | baseline p50 ms | ÷ baseline | note |", "|---|---|---|---|---|"]
    if "dashboard" in only:
        lines += bench_dashboard(engine, args.repeats)
    if "list" in only:
        lines += bench_list(engine, args.repeats)
    if "race" in only:
        lines += bench_race(engine)
    for line in lines:
        print(line)
    if args.no_docs:
        return
    from list_page import loadavg, machine, write_docs

    with engine.connect() as c:
        counts = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("eq_store", "eq_asset", "eq_asset_event", "eq_shipment")}
    section = "\n".join([
        SECTION_TITLE, "",
        f"Run {dt.date.today().isoformat()}: `.venv/bin/python bench/equipment.py --only {args.only} --repeats {args.repeats}` on "
        f"{machine(url)}; load average {loadavg()} at the end.",
        f"Data: {counts['eq_store']:,} stores, {counts['eq_asset']:,} assets, {counts['eq_asset_event']:,} asset events, "
        f"{counts['eq_shipment']:,} shipments (`bench/seed_equipment.py`).", "",
        *lines,
    ])
    print("wrote", write_docs(SECTION_TITLE, section))


if __name__ == "__main__":
    main()
