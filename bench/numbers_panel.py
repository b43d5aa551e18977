"""Numbers panel at scale (seed 004, issue 4): list pages, conversion, import, bulk status change
and export over the 10M-row data set of ``bench/seed_numbers.py``.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/pult .venv/bin/python bench/seed_numbers.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/pult .venv/bin/python bench/numbers_panel.py [--only list,conversion,import,bulk,export]

Every figure is measured against a baseline in the same run:

* **list** — the kit's ``crud.list_records`` plus the formatting of every cell (what a page costs
  the server) vs the bare keyset SQL it sends; first, second, middle, last page; filters; a
  digit-fragment search. The page as the list page asks for it (the planner's estimate as the
  total, the exact count refined in the background: timed separately) and as the API does (an
  inline count of at most ``COUNT_TIMEOUT_MS``).
* **conversion** — ``services.conversion`` (the aggregates) vs the same figures by a scan of
  ``phone_number`` (what it would cost without them).
* **import** — ``transfers.import_numbers`` of a 1,000,000-row CSV (mixed formats, 2 % invalid,
  2 % duplicates: 1 % inside the file, 1 % already in the base) vs a bare ``COPY`` of the same file
  into ``phone_number_baseline``: the same columns and the same indexes (the phone index
  non-unique, or the file's duplicates would abort it, and the column text, as typed numbers are
  longer than E.164), holding the same 10M rows. Both are
  rolled back afterwards, so the data set stays as seeded.
* **bulk** — a 500,000-row status change through the kit's job path (``set_status_many`` in
  chunks of ``MANY_CHUNK``, one transaction each) while another connection keeps reading a list
  page and updating single numbers: their worst latency shows that the table stays usable.
* **export** — ``transfers.export_numbers`` of 1,000,000 filtered rows vs ``COPY (SELECT …) TO
  STDOUT`` of the same rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.seed_numbers import bench_url  # noqa: E402


def p50(xs: list[float]) -> float:
    return statistics.median(xs)


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def timed(fn, n: int, warm: int = 2) -> list[float]:
    for _ in range(warm):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def setup_kit(url: str):
    os.environ["DATABASE_URL"] = url
    from app.core import db as dbm
    from app.boot import boot

    boot()
    engine = create_engine(url, pool_size=5)
    dbm.set_engine(engine)
    return engine


# --------------------------------------------------------------------------- list pages
def bench_list(engine, n: int) -> list[str]:
    from sqlmodel import Session

    from app.core import crud
    from app.core.auth import SYSTEM
    from app.core.query import EXACT_COUNT_BELOW, ListParams, base_query, get_list
    from app.core.registry import RESOURCES
    from app.core.ui.list_state import row_dict

    res = RESOURCES["numbers.numbers"]()
    with engine.connect() as c:
        total = c.execute(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'phone_number'")).scalar()
        middle_id = c.execute(text("SELECT id FROM phone_number ORDER BY id DESC OFFSET :o LIMIT 1"), {"o": total // 2}).scalar()
        success = c.execute(text("SELECT id FROM number_status WHERE code = 'success'")).scalar()

    def page(params: ListParams):
        with Session(engine) as db:
            p = crud.list_records(db, res, SYSTEM, params)
            [row_dict(res, SYSTEM, r, "ru") for r in p.rows]
            return p

    def ui(params: ListParams) -> ListParams:
        return replace(params, count_mode="estimate")  # what ListState asks for; refine_total counts afterwards

    from app.core.query import bounded_count, encode_cursor
    from app.core.ui.list_state import REFINE_TIMEOUT_MS

    first = page(ListParams(page_size=50))
    second_cursor = first.next_cursor
    mid_cursor = "after:" + encode_cursor([middle_id, middle_id])  # default sort -id: the row just before the middle
    cases = [
        ("first page", ListParams(page_size=50)),
        ("second page", ListParams(page_size=50, cursor=second_cursor)),
        ("middle page (cursor)", ListParams(page_size=50, cursor=mid_cursor)),
        ("last page", ListParams(page_size=50, cursor="last")),
        ("filter project=7", ListParams(page_size=50, filters={"project_id": "7"})),
        ("filter project=7, last page", ListParams(page_size=50, filters={"project_id": "7"}, cursor="last")),
        ("filter status=success", ListParams(page_size=50, filters={"status_id": str(success)})),
        ("filter provider=3 + status=success", ListParams(page_size=50, filters={"provider_id": "3", "status_id": str(success)})),
        ("filter created last 7 days", ListParams(page_size=50, filters={"created_at": f"{(dt.date.today() - dt.timedelta(days=7)).isoformat()}.."})),
        ("search \"7999\"", ListParams(page_size=50, search="7999")),
        ("search \"7999\", last page", ListParams(page_size=50, search="7999", cursor="last")),
        ("search \"12345678\" (few hits)", ListParams(page_size=50, search="12345678")),
    ]
    lines = ["| case | page p50 / p95 ms | API page p50 ms | bare SQL p50 ms | page ÷ bare | rows | total on the page | exact count (background) |",
             "|---|---|---|---|---|---|---|---|"]
    for label, params in cases:
        kit = timed(lambda: page(ui(params)), n)
        api = timed(lambda: page(params), n)
        with Session(engine) as db:
            pg = get_list(db, res, SYSTEM, ui(params))
            stmt = base_query(res, SYSTEM, params).order_by(res.model.id.desc()).limit(51)
            sql = str(stmt.compile(compile_kwargs={"literal_binds": True}))
            refined = ""
            if pg.total_is_estimate and pg.total < EXACT_COUNT_BELOW:
                t0 = time.perf_counter()
                exact = bounded_count(db, base_query(res, SYSTEM, params), timeout_ms=REFINE_TIMEOUT_MS)
                refined = f"{exact:,} in {(time.perf_counter() - t0) * 1000:.0f} ms" if exact is not None else "gave up (estimate stays)"
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            bare = timed(lambda: (cur.execute(sql), cur.fetchall()), n)
        finally:
            raw.close()
        shown = f"≈ {pg.total:,}" if pg.total_is_estimate else f"{pg.total:,}"
        lines.append(f"| {label} | {p50(kit):.1f} / {p95(kit):.1f} | {p50(api):.1f} | {p50(bare):.1f} | {p50(kit) / max(p50(bare), 0.01):.1f}× "
                     f"| {len(pg.rows)} | {shown} | {refined or '—'} |")
        print(lines[-1], flush=True)
    return lines


# --------------------------------------------------------------------------- conversion
def bench_conversion(engine, n: int) -> list[str]:
    from sqlmodel import Session

    from app.core.auth import SYSTEM
    from app.panels.numbers import services

    today = dt.date.today()
    cases = [("all time", None, None, None), ("last 30 days", today - dt.timedelta(days=30), today, None),
             ("last 30 days, provider 3", today - dt.timedelta(days=30), today, 3)]
    lines = ["| case | aggregates p50 / p95 ms | scan of phone_number p50 ms | scan ÷ aggregates |", "|---|---|---|---|"]
    for label, d_from, d_to, provider in cases:
        def agg():
            with Session(engine) as db:
                services.conversion(db, SYSTEM, d_from, d_to, provider)
                services.conversion_by_day(db, SYSTEM, d_from, d_to, provider)

        where = ["true"]
        if d_from:
            where.append(f"(status_changed_at AT TIME ZONE 'Europe/Moscow')::date BETWEEN '{d_from}' AND '{d_to}'")
        if provider:
            where.append(f"provider_id = {provider}")
        scan_sql = f"""SELECT project_id, count(*) FILTER (WHERE s.kind <> 'new'), count(*) FILTER (WHERE s.kind = 'success'),
                              count(*) FILTER (WHERE s.kind = 'refusal'), count(*) FILTER (WHERE s.kind = 'no_answer')
                       FROM phone_number n JOIN number_status s ON s.id = n.status_id WHERE {' AND '.join(where)} GROUP BY 1"""

        def scan():
            with engine.connect() as c:
                c.execute(text(scan_sql)).all()

        a = timed(agg, n)
        s = timed(scan, 3, warm=1)
        lines.append(f"| {label} | {p50(a):.1f} / {p95(a):.1f} | {p50(s):.0f} | {p50(s) / p50(a):.0f}× |")
        print(lines[-1], flush=True)
    return lines


# --------------------------------------------------------------------------- import
def make_import_file(path: Path, rows: int, seeded: int = 10_000_000, seed: int = 4) -> dict[str, int]:
    """Russian mobiles in mixed human formats, none already in the base except on purpose;
    2 % invalid, 1 % repeated inside the file (in another format), 1 % already in the base."""
    rng = random.Random(seed)
    inverse = pow(7919, -1, 1_000_000_000)  # seed_numbers.py: suffix = g * 7919 mod 1e9, g in 1..seeded

    def in_base(suffix: int) -> bool:
        return 1 <= (suffix * inverse) % 1_000_000_000 <= seeded

    formats = [
        lambda d: f"+7{d}", lambda d: f"8{d}", lambda d: f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}", lambda d: f"8 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}",
        lambda d: f"7{d}", lambda d: d, lambda d: f"+7-{d[:3]}-{d[3:6]}-{d[6:]}",
    ]
    n_invalid, n_dup_file, n_dup_base = rows * 2 // 100, rows // 100, rows // 100
    n_fresh = rows - n_invalid - n_dup_file - n_dup_base
    fresh: set[int] = set()
    while len(fresh) < n_fresh:
        suffix = rng.randrange(1_000_000_000)
        if not in_base(suffix):
            fresh.add(suffix)
    digits = [f"9{s:09d}" for s in fresh]
    lines = [rng.choice(formats)(d) for d in digits]
    lines += [f"+79{(g * 7919) % 1_000_000_000:09d}" for g in rng.sample(range(1, seeded + 1), n_dup_base)]  # already in the base
    lines += [rng.choice(formats)(d) for d in rng.sample(digits, n_dup_file)]  # repeated inside the file, typed differently
    lines += [rng.choice(["12345", "abc", "+7 999", "00000000000", "8 800", "+7 (999) 12"]) + str(i % 10) for i in range(n_invalid)]
    rng.shuffle(lines)
    path.write_text("phone\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return {"rows": rows, "invalid": n_invalid, "dup_file": n_dup_file, "dup_base": n_dup_base}


def ensure_baseline(engine) -> None:
    with engine.begin() as c:
        if c.execute(text("SELECT count(*) FROM pg_class WHERE relname = 'phone_number_baseline'")).scalar():
            # The file holds numbers as people type them ("+7 (999) 123-45-67"): wider than E.164.
            if c.execute(text("SELECT data_type FROM information_schema.columns WHERE table_name = 'phone_number_baseline' "
                              "AND column_name = 'phone'")).scalar() != "text":
                print("  widening phone_number_baseline.phone to text...", flush=True)
                c.execute(text("ALTER TABLE phone_number_baseline ALTER COLUMN phone TYPE text"))
            return
        print("  building phone_number_baseline (same rows and indexes)...", flush=True)
        c.execute(text("CREATE TABLE phone_number_baseline (LIKE phone_number INCLUDING DEFAULTS)"))
        c.execute(text("ALTER TABLE phone_number_baseline ALTER COLUMN phone TYPE text"))
        c.execute(text("INSERT INTO phone_number_baseline SELECT * FROM phone_number"))
        c.execute(text("ALTER TABLE phone_number_baseline ADD PRIMARY KEY (id)"))
        c.execute(text("ALTER TABLE phone_number_baseline ALTER COLUMN id SET DEFAULT nextval('phone_number_id_seq')"))
        c.execute(text("ALTER TABLE phone_number_baseline ALTER COLUMN status_id SET DEFAULT 1, ALTER COLUMN created_at SET DEFAULT now(), "
                       "ALTER COLUMN status_changed_at SET DEFAULT now()"))
        for index_sql in c.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'phone_number' AND indexname <> 'phone_number_pkey'")).scalars():
            sql = index_sql.replace(" ON public.phone_number ", " ON public.phone_number_baseline ").replace("CREATE UNIQUE INDEX", "CREATE INDEX")
            name = sql.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
            c.execute(text(sql.replace(f" INDEX {name} ", f" INDEX {name}_bl ", 1)))
        c.execute(text("ANALYZE phone_number_baseline"))


def vacuum(engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE phone_number"))
        c.execute(text("VACUUM ANALYZE phone_number_baseline"))


def checkpoint(engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("CHECKPOINT"))


def bench_import(engine, rows: int, rounds: int) -> list[str]:
    from sqlmodel import Session

    from app.core.auth import SYSTEM
    from app.panels.numbers import transfers

    ensure_baseline(engine)
    tmp = Path(tempfile.mkdtemp(prefix="pult-bench-import-"))
    path = tmp / "numbers.csv"
    spec = make_import_file(path, rows)
    print(f"  file: {path.stat().st_size / 1e6:.0f} MB, {spec}", flush=True)
    kit_s, base_s, stats = [], [], None

    def bare_copy() -> None:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            t0 = time.perf_counter()
            with open(path, "rb") as f, cur.copy("COPY phone_number_baseline (phone) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
            base_s.append(time.perf_counter() - t0)
            raw.rollback()
        finally:
            raw.close()

    def kit_import() -> None:
        nonlocal stats
        with Session(engine) as db:
            real_commit = db.commit
            db.commit = lambda: db.flush()  # measure the whole import, then undo it (keep the data set as seeded)
            t0 = time.perf_counter()
            stats = transfers.import_numbers(db, SYSTEM, path, project_id=1, provider_id=1)
            db.connection().exec_driver_sql("SELECT 1")
            kit_s.append(time.perf_counter() - t0)
            db.rollback()
            db.commit = real_commit

    for i in range(rounds):
        # Alternate which goes first, and start each from a clean slate: the dead tuples of the
        # rolled-back rows vacuumed, dirty pages flushed (a checkpoint left to run during the next
        # measurement would bill one side for the other's writes).
        for run in ((bare_copy, kit_import) if i % 2 == 0 else (kit_import, bare_copy)):
            vacuum(engine)
            checkpoint(engine)
            run()
        print(f"  round: kit {kit_s[-1]:.1f} s, COPY {base_s[-1]:.1f} s, {stats.seconds}", flush=True)
    k, b = p50(kit_s), p50(base_s)
    ratios = sorted(x / y for x, y in zip(kit_s, base_s))
    parts = ", ".join(f"{name} {sec:.1f} s" for name, sec in stats.seconds.items())
    return [
        "| rows | accepted | duplicates | invalid | kit import p50 s | bare COPY p50 s | kit ÷ COPY (p50s) | per-round ratios | kit stages (last round) |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {rows:,} | {stats.accepted:,} | {stats.duplicates:,} | {stats.invalid:,} | {k:.1f} | {b:.1f} | {k / b:.2f}× | "
        f"{', '.join(f'{r:.2f}' for r in ratios)} | {parts} |",
    ]


# --------------------------------------------------------------------------- bulk status change
def bench_bulk(engine, rows: int) -> list[str]:
    from sqlmodel import Session

    from app.core.auth import SYSTEM
    from app.core.kit_jobs import MANY_CHUNK
    from app.panels.numbers import services

    with engine.connect() as c:
        # a project holds about 200k numbers: three of them make the 500k
        ids = [r[0] for r in c.execute(text("SELECT id FROM phone_number WHERE project_id IN (11, 12, 13) ORDER BY id LIMIT :n"), {"n": rows})]
        target = c.execute(text("SELECT id FROM number_status WHERE code = 'callback'")).scalar()
        before = c.execute(text("SELECT id, status_id, status_changed_at FROM phone_number WHERE id = ANY(:ids)"), {"ids": ids}).all()
        probe_ids = [r[0] for r in c.execute(text("SELECT id FROM phone_number WHERE project_id = 11 ORDER BY id DESC LIMIT 50"))]
    stop = threading.Event()
    read_ms: list[float] = []
    write_ms: list[float] = []

    def probe():
        from app.core import crud
        from app.core.query import ListParams
        from app.core.registry import RESOURCES

        res = RESOURCES["numbers.numbers"]()
        i = 0
        while not stop.is_set():
            t0 = time.perf_counter()
            with Session(engine) as db:
                crud.list_records(db, res, SYSTEM, ListParams(page_size=50, filters={"project_id": "11"}))
            read_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            with engine.begin() as c:  # a manager setting one number's status meanwhile (rolled back below with the rest)
                c.execute(text("UPDATE phone_number SET last_call_at = now() WHERE id = :i"), {"i": probe_ids[i % len(probe_ids)]})
            write_ms.append((time.perf_counter() - t0) * 1000)
            i += 1
            time.sleep(0.05)

    thread = threading.Thread(target=probe)
    thread.start()
    t0 = time.perf_counter()
    changed = 0
    with Session(engine) as db:
        for start in range(0, len(ids), MANY_CHUNK):
            changed += services.set_status_many(db, SYSTEM, ids[start:start + MANY_CHUNK], target)
            db.commit()
    took = time.perf_counter() - t0
    stop.set()
    thread.join()
    # put the statuses back as they were seeded (one statement; not measured)
    with engine.begin() as c:
        c.execute(text("""UPDATE phone_number p SET status_id = b.status_id, status_changed_at = b.changed
                          FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS smallint[]), CAST(:changed AS timestamptz[])) AS b(id, status_id, changed)
                          WHERE p.id = b.id"""),
                  {"ids": [r[0] for r in before], "statuses": [r[1] for r in before], "changed": [r[2] for r in before]})
    return [
        "| rows changed | chunk | total s | rows/s | list page during it p50 / max ms | single-row update during it p50 / max ms | probes |",
        "|---|---|---|---|---|---|---|",
        f"| {changed:,} | {MANY_CHUNK:,} | {took:.1f} | {changed / took:,.0f} | {p50(read_ms):.0f} / {max(read_ms):.0f} | {p50(write_ms):.0f} / {max(write_ms):.0f} | {len(read_ms)} |",
    ]


# --------------------------------------------------------------------------- export
def bench_export(engine, rounds: int, days: int = 18) -> list[str]:
    """About 1M of the 10M rows: the numbers created in the last ``days`` days (a kit date filter)."""
    from sqlalchemy.dialects import postgresql
    from sqlmodel import Session

    from app.core.auth import SYSTEM
    from app.core.query import ListParams
    from app.panels.numbers import transfers

    since = (dt.date.today() - dt.timedelta(days=days)).isoformat()
    params = ListParams(filters={"created_at": f"{since}.."})
    sql = str(transfers.export_query(SYSTEM, params).compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    tmp = Path(tempfile.mkdtemp(prefix="pult-bench-export-"))
    kit_s, base_s, n = [], [], 0
    for _ in range(rounds):
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("SET TIME ZONE 'Europe/Moscow'")
            t0 = time.perf_counter()
            with open(tmp / "copy.csv", "wb") as out, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
                for chunk in copy:
                    out.write(chunk)
            base_s.append(time.perf_counter() - t0)
            raw.rollback()
        finally:
            raw.close()
        with Session(engine) as db:
            t0 = time.perf_counter()
            n = transfers.export_numbers(db, SYSTEM, params, tmp / "kit.csv")
            kit_s.append(time.perf_counter() - t0)
    k, b = p50(kit_s), p50(base_s)
    return [
        "| rows (created since " + since + ") | kit export p50 s | COPY (SELECT …) TO STDOUT p50 s | kit ÷ COPY |",
        "|---|---|---|---|",
        f"| {n:,} | {k:.2f} | {b:.2f} | {k / b:.2f}× |",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", default="pult_bench_numbers")
    ap.add_argument("--only", default="list,conversion,import,bulk,export")
    ap.add_argument("-n", type=int, default=15, help="timed runs per list/conversion case")
    ap.add_argument("--import-rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bulk-rows", type=int, default=500_000)
    args = ap.parse_args()
    url = bench_url(args.database)
    engine = setup_kit(url)
    with engine.connect() as c:
        version = c.execute(text("SHOW server_version")).scalar()
        count = c.execute(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'phone_number'")).scalar()
    print(f"# {dt.datetime.now():%Y-%m-%d %H:%M} · PostgreSQL {version} · phone_number ≈ {count:,} rows · load {os.getloadavg()[0]:.2f}")
    sections = {"list": lambda: bench_list(engine, args.n), "conversion": lambda: bench_conversion(engine, args.n),
                "import": lambda: bench_import(engine, args.import_rows, args.rounds), "bulk": lambda: bench_bulk(engine, args.bulk_rows),
                "export": lambda: bench_export(engine, args.rounds)}
    for name in args.only.split(","):
        print(f"\n## {name}\n", flush=True)
        print("\n".join(sections[name]()), flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
