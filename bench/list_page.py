"""List page server time at 1,000,000 products: keyset vs offset paging.

Creates (or reuses) the database ``pult_bench`` on the server named by ``DATABASE_URL``, migrates it
with Alembic, fills ``product`` with ``--rows`` rows generated inside PostgreSQL, then times the real
list path — ``app.core.crud.list_records`` on ``stock.products`` plus the cell formatting the UI does
(``fmt_cell`` for every column of every row, badges included, lang "ru") — for first, second,
middle and last pages under several sorts, a filter and a search. Each page is timed with keyset
paging (the resource as declared) and with offset paging (a subclass with ``pagination = "offset"``),
runs interleaved, and against the bare SQL the kit sends (psycopg, tuples, no ORM) as the baseline.

    .venv/bin/python bench/list_page.py [--rows 1000000] [--runs 15] [--warmup 2] [--explain] [--no-docs]
                                        [--suggested-indexes] [--only TEXT] [--exact-count-below N]

Prints a markdown table and writes it into ``docs/benchmarks.md`` (its section is replaced on each
run; a "### Reading" subsection written under it by hand is kept). Calls slower than 0.3 s get 5
runs, slower than 2 s get 3 (the table's n, per mode), so a full run stays around ten minutes.
``--suggested-indexes`` first creates the pg_trgm indexes proposed for search (see
``SUGGESTED_INDEXES``) and writes its own section; without it they are dropped, so the default run
measures the schema the migrations create. ``--only`` and ``--exact-count-below`` (a what-if override
of ``app.core.query.EXACT_COUNT_BELOW``) print their table without touching the docs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # alembic.ini names script_location relative to the project

from sqlalchemy import create_engine, make_url, text, tuple_

BENCH_DB = "pult_bench"
#: Bump when the generated data changes, so an old fill is not reused.
DATA_VERSION = 1
SECTION_TITLE = "## List page: keyset vs offset (`bench/list_page.py`)"

#: What-if indexes (not in the migrations): trigram GIN indexes for the resource's ILIKE search.
SUGGESTED_INDEXES = {
    "bench_trgm_product_name": "CREATE INDEX bench_trgm_product_name ON product USING gin (name gin_trgm_ops)",
    "bench_trgm_product_supplier_name": "CREATE INDEX bench_trgm_product_supplier_name ON product USING gin (supplier_name gin_trgm_ops)",
    "bench_trgm_product_description": "CREATE INDEX bench_trgm_product_description ON product USING gin (description gin_trgm_ops)",
}

SUPPLIERS = ["Альфа", "Бета", "Гамма", "Дельта", "Эпсилон", "Зета", "Эта", "Тета", "Йота", "Каппа", "Лямбда", "Омега"]
ADJECTIVES = ["Компактный", "Профессиональный", "Усиленный", "Бытовой", "Промышленный", "Мини", "Двойной", "Умный",
              "Беспроводной", "Водостойкий", "Складной", "Цифровой", "Универсальный", "Тихий", "Мощный", "Лёгкий"]
NOUNS = ["кабель", "роутер", "фильтр", "датчик", "адаптер", "насос", "светильник", "замок", "кронштейн", "модуль",
         "разъём", "блок питания", "переключатель", "аккумулятор", "контроллер", "вентилятор", "термостат", "дрель",
         "шуруповёрт", "удлинитель"]


# --------------------------------------------------------------------------- database
def urls() -> tuple[str, str]:
    from app.core.config import _normalise_db_url

    base = make_url(_normalise_db_url(os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pult")))
    admin = base.set(database="postgres").render_as_string(hide_password=False)
    bench = base.set(database=BENCH_DB).render_as_string(hide_password=False)
    return admin, bench


def ensure_database(admin_url: str) -> None:
    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": BENCH_DB}).scalar():
            c.execute(text(f'CREATE DATABASE "{BENCH_DB}"'))
    eng.dispose()


def migrate(url: str) -> None:
    from alembic.config import Config

    from alembic import command

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["url"] = url
    cfg.attributes["skip_logging"] = True
    command.upgrade(cfg, "head")


def _arr(words: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + w.replace("'", "''") + "'" for w in words) + "]::text[]"


def fill_sql(rows: int) -> str:
    """One INSERT ... SELECT over generate_series. Names are unique (article number) and their order
    is unrelated to id; ~13 % of rows are low on stock; 5 % have no sell price; 0.5 % are soft-deleted."""
    return f"""
INSERT INTO product (name, description, quantity, issued_qty, min_stock, buy_price_eur, sell_price_rub,
                     supplier_name, created_at, deleted_at)
SELECT
  w.adj[1 + floor(s.r1 * array_length(w.adj, 1))::int] || ' ' || w.noun[1 + floor(s.r2 * array_length(w.noun, 1))::int]
      || ' ' || chr(65 + floor(s.r3 * 26)::int) || (10 + floor(s.r4 * 90)::int) || ' арт. ' || lpad(s.i::text, 7, '0'),
  CASE WHEN s.r5 < 0.5 THEN NULL ELSE 'Описание товара ' || s.i || ': гарантия ' || (1 + floor(s.r6 * 36)::int) || ' мес.' END,
  s.qty, floor(s.r7 * s.qty)::int, floor(s.r8 * 60)::int,
  round((1 + s.r9 * s.r9 * 499)::numeric, 2),
  CASE WHEN s.r10 < 0.05 THEN NULL ELSE round(((1 + s.r9 * s.r9 * 499) * (90 + s.r10 * 60))::numeric, 2) END,
  CASE WHEN s.r11 < 0.02 THEN NULL ELSE w.sup[1 + floor(s.r11 * s.r11 * array_length(w.sup, 1))::int] END,
  now() - s.r12 * interval '365 days',
  CASE WHEN s.r13 < 0.005 THEN now() - s.r13 * interval '30 days' ELSE NULL END
FROM (
  SELECT i, floor(random() * 1000)::int AS qty,
         random() r1, random() r2, random() r3, random() r4, random() r5, random() r6, random() r7,
         random() r8, random() r9, random() r10, random() r11, random() r12, random() r13
  FROM generate_series(1, {int(rows)}) AS i
) s
CROSS JOIN (SELECT {_arr(ADJECTIVES)} AS adj, {_arr(NOUNS)} AS noun, {_arr(SUPPLIERS)} AS sup) w
"""


def fill(url: str, rows: int) -> tuple[bool, float]:
    """(reused, seconds). Reuses the table when it holds ``rows`` rows from this generator version."""
    marker = f"pult bench: rows={rows} data={DATA_VERSION}"
    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    t0 = time.perf_counter()
    with eng.connect() as c:
        have = c.execute(text("SELECT obj_description('product'::regclass, 'pg_class')")).scalar()
        if have == marker and c.execute(text("SELECT count(*) FROM product")).scalar() == rows:
            eng.dispose()
            return True, 0.0
        print(f"filling product with {rows:,} rows ...", flush=True)
        c.execute(text("SET synchronous_commit = off"))
        c.execute(text("SET maintenance_work_mem = '512MB'"))
        c.execute(text('TRUNCATE product RESTART IDENTITY CASCADE'))
        c.execute(text("SELECT setseed(0.42)"))
        c.execute(text(fill_sql(rows)))
        c.execute(text("VACUUM (ANALYZE) product"))
        c.execute(text(f"COMMENT ON TABLE product IS '{marker}'"))
    eng.dispose()
    return False, time.perf_counter() - t0


def suggested_indexes(url: str, wanted: bool) -> float:
    """Create (wanted) or drop the what-if indexes; returns seconds spent creating."""
    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    t0 = time.perf_counter()
    with eng.connect() as c:
        have = set(c.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'product'")).scalars())
        if wanted:
            c.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            c.execute(text("SET maintenance_work_mem = '512MB'"))
            for name, ddl in SUGGESTED_INDEXES.items():
                if name not in have:
                    print(f"creating {name} ...", flush=True)
                    c.execute(text(ddl))
            c.execute(text("ANALYZE product"))
        else:
            for name in SUGGESTED_INDEXES:
                if name in have:
                    c.execute(text(f'DROP INDEX "{name}"'))
    eng.dispose()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- measuring
@dataclass
class Case:
    label: str
    sort: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    search: str = ""
    pages: tuple[str, ...] = ("first", "2", "middle", "last")


@dataclass
class Result:
    case: str
    page: str
    mode: str  # "keyset" or "offset (fallback)"
    rows: int
    kit_k: list[float]
    kit_o: list[float]
    bare_k: list[float]
    bare_o: list[float]
    total_ms: list[float]
    total_kind: str
    same_rows: bool
    n: str


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


class Bench:
    def __init__(self, url: str, runs: int, warmup: int, explain: bool) -> None:
        import psycopg
        from sqlmodel import Session

        from app.core import db as dbm
        from app.core import query as q
        from app.boot import boot
        from app.core.registry import resource

        boot()
        self.engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        dbm.set_engine(self.engine)
        self.Session = Session
        self.q = q
        self.products = resource("stock.products")

        class OffsetProducts(self.products):  # registered nowhere: the same resource, paged by offset
            pagination = "offset"

        OffsetProducts.panel = self.products.panel
        OffsetProducts.slug = self.products.slug
        self.offset_products = OffsetProducts
        self.runs, self.warmup, self.explain = runs, warmup, explain
        self.raw = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)

        # Time _fill_total (EXPLAIN estimate or COUNT) inside the real path, without changing it.
        self.total_log: list[tuple[float, str]] = []
        real_fill = q._fill_total

        def timed_fill(db, base, params, page):
            t0 = time.perf_counter()
            real_fill(db, base, params, page)
            ms = (time.perf_counter() - t0) * 1000
            kind = "estimate" if page.total_is_estimate else ("rows" if not (page.has_next or page.has_prev) else "count")
            self.total_log.append((ms, kind))

        q._fill_total = timed_fill

    # -- the measured path -------------------------------------------------
    def kit_once(self, res: Any, params: Any) -> tuple[float, Any]:
        from app.core.auth import SYSTEM
        from app.core.crud import list_records
        from app.core.display import fmt_cell

        columns = res.columns
        t0 = time.perf_counter()
        with self.Session(self.engine, expire_on_commit=False) as db:
            page = list_records(db, res, SYSTEM, params)
            cells = []
            for row in page.rows:
                out = []
                for c in columns:
                    out.append(fmt_cell(c, row, "ru"))
                    if c.badge_fn is not None:
                        out.append(c.badge_fn(row))
                cells.append(out)
        return (time.perf_counter() - t0) * 1000, page

    def bare_once(self, sql: str, params: dict) -> float:
        t0 = time.perf_counter()
        with self.raw.cursor() as cur:
            cur.execute(sql, params)
            cur.fetchall()
        return (time.perf_counter() - t0) * 1000

    # -- statements, built the way app.core.query.get_list builds them ------
    def statements(self, case: Case, page: str, size: int) -> dict[str, Any]:
        from app.core.auth import SYSTEM

        q, res = self.q, self.products()
        params = q.ListParams(sort=case.sort, filters=dict(case.filters), search=case.search, page_size=size)
        base = q.base_query(res, SYSTEM, params)
        sort_name, desc = q.resolve_sort(res, case.sort)
        sort_col, id_col = getattr(res.model, sort_name), res.model.id
        keyset = q.keyset_possible(res, sort_name)
        with self.Session(self.engine) as db:
            total = q.count(db, base)
            # keyset order, and the offset branch's order (NULLS LAST on every column, as get_list writes it)
            order = [sort_col.desc(), id_col.desc()] if desc else [sort_col.asc(), id_col.asc()]
            offset_order = [sort_col.desc().nulls_last() if desc else sort_col.asc().nulls_last()]
            if sort_name != "id":
                offset_order.append(id_col.desc() if desc else id_col.asc())
            n_pages = max(1, -(-total // size))
            page_no = {"first": 0, "2": 1, "middle": (total // 2) // size, "last": n_pages - 1}[page]
            if page_no == 0:
                page = "first"
            offset_stmt = base.order_by(*offset_order).offset(page_no * size).limit(size + 1)
            kparams = q.ListParams(sort=case.sort, filters=dict(case.filters), search=case.search, page_size=size)
            oparams = q.ListParams(sort=case.sort, filters=dict(case.filters), search=case.search, page_size=size, page=page_no)
            if not keyset:
                kparams.page = page_no
                keyset_stmt = offset_stmt
            elif page == "first":
                keyset_stmt = base.order_by(*order).limit(size + 1)
            elif page == "last":
                kparams.cursor = "last"
                rev = [sort_col.asc(), id_col.asc()] if desc else [sort_col.desc(), id_col.desc()]
                keyset_stmt = base.order_by(*rev).limit(size + 1)
            else:  # cursor = the row just before the page, found outside the timing
                before = db.exec(base.order_by(*order).offset(page_no * size - 1).limit(1)).first()
                values = [getattr(before, sort_name), before.id]
                kparams.cursor = "after:" + q.encode_cursor(values)
                cmp = tuple_(sort_col, id_col) < tuple(values) if desc else tuple_(sort_col, id_col) > tuple(values)
                keyset_stmt = base.where(cmp).order_by(*order).limit(size + 1)
        return {"keyset": keyset, "total": total, "page_no": page_no, "kparams": kparams, "oparams": oparams,
                "keyset_sql": self.compile(keyset_stmt), "offset_sql": self.compile(offset_stmt)}

    def compile(self, stmt: Any) -> tuple[str, dict]:
        c = stmt.compile(dialect=self.engine.dialect, compile_kwargs={"render_postcompile": True})
        return str(c), dict(c.params)

    def explain_analyze(self, sql: tuple[str, dict]) -> str:
        with self.raw.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql[0], sql[1])
            return "\n".join(r[0] for r in cur.fetchall())

    def runs_for(self, first_ms: float) -> int:
        """Fewer runs for calls slower than 0.3 s (5) and 2 s (3), so a full run stays near ten minutes."""
        return self.runs if first_ms < 300 else min(self.runs, 5 if first_ms < 2000 else 3)

    def measure(self, case: Case, page: str, size: int = 25) -> Result:
        st = self.statements(case, page, size)
        kres, ores = self.products, self.offset_products
        # correctness: the keyset page holds the same rows as the offset page (last: offset's are its tail)
        _, kp = self.kit_once(kres, st["kparams"])
        _, op = self.kit_once(ores, st["oparams"])
        kid, oid = [r.id for r in kp.rows], [r.id for r in op.rows]
        same = kid == oid if page != "last" else kid[len(kid) - len(oid):] == oid
        n_k, n_o = self.runs_for(self.kit_once(kres, st["kparams"])[0]), self.runs_for(self.kit_once(ores, st["oparams"])[0])
        for _ in range(self.warmup):  # a slow mode counts the call above as its warm-up
            if n_k == self.runs:
                self.kit_once(kres, st["kparams"])
                self.bare_once(*st["keyset_sql"])
            if n_o == self.runs:
                self.kit_once(ores, st["oparams"])
                self.bare_once(*st["offset_sql"])
        kit_k, kit_o, bare_k, bare_o, totals, kinds = [], [], [], [], [], set()
        for i in range(max(n_k, n_o)):  # interleaved, so drift hits both modes alike
            if i < n_k:
                self.total_log.clear()
                ms, _page = self.kit_once(kres, st["kparams"])
                kit_k.append(ms)
                for t_ms, kind in self.total_log:
                    totals.append(t_ms)
                    kinds.add(kind)
                bare_k.append(self.bare_once(*st["keyset_sql"]))
            if i < n_o:
                kit_o.append(self.kit_once(ores, st["oparams"])[0])
                bare_o.append(self.bare_once(*st["offset_sql"]))
        mode = "keyset" if st["keyset"] else "offset (fallback)"
        r = Result(case.label, page, mode, len(kp.rows), kit_k, kit_o, bare_k, bare_o,
                   totals, "/".join(sorted(kinds)), same, f"{n_k}" if n_k == n_o else f"{n_k} / {n_o}")
        if self.explain and (pct(kit_k, 0.5) > 50 or not same):
            print(f"\n--- EXPLAIN ANALYZE {case.label} / {page} (keyset path)\n{self.explain_analyze(st['keyset_sql'])}", flush=True)
        return r


CASES = [
    Case("sort name (default)", ""),
    Case("sort -stock", "-stock"),
    Case("sort sell_price_rub (nullable)", "sell_price_rub"),
    Case("sort -sell_price_rub (nullable)", "-sell_price_rub", pages=("first",)),
    Case("filter supplier=Гамма + low stock", "", {"supplier_name": "Гамма", "is_low_stock": "1"}),
    Case("search \"насос\"", "", search="насос", pages=("first", "2", "last")),
    Case("search \"арт. 0123456\" (1 hit)", "", search="арт. 0123456", pages=("first",)),
]


# --------------------------------------------------------------------------- report
def loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "?"


def machine(url: str) -> str:
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    eng = create_engine(url)
    with eng.connect() as c:
        ver = c.execute(text("SHOW server_version")).scalar()
        sb = c.execute(text("SHOW shared_buffers")).scalar()
        coll = c.execute(text("SELECT datcollate FROM pg_database WHERE datname = current_database()")).scalar()
    eng.dispose()
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return (f"{os.cpu_count()} vCPU ({cpu or platform.machine()}), {mem_kb / 1024 / 1024:.0f} GiB RAM, "
            f"PostgreSQL {ver.split()[0]} (shared_buffers {sb}, collation {coll}) on the same host, Python {platform.python_version()}")


def fmt_ms(x: float) -> str:
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def table(results: list[Result]) -> str:
    head = ("| case | page | paging | n (keyset / offset) | kit keyset p50 / p95 ms | kit offset p50 / p95 ms | offset ÷ keyset | "
            "bare SQL keyset p50 | bare SQL offset p50 | overhead (kit ÷ bare) | of which total, p50 ms |")
    lines = [head, "|" + "---|" * 11]
    for r in results:
        k50, o50, b50 = pct(r.kit_k, 0.5), pct(r.kit_o, 0.5), pct(r.bare_k, 0.5)
        mark = "" if r.same_rows else " ⚠ rows differ"
        lines.append(
            f"| {r.case} | {r.page}{mark} | {r.mode} | {r.n} | {fmt_ms(k50)} / {fmt_ms(pct(r.kit_k, 0.95))} | "
            f"{fmt_ms(o50)} / {fmt_ms(pct(r.kit_o, 0.95))} | {o50 / k50:.1f}× | {fmt_ms(b50)} | {fmt_ms(pct(r.bare_o, 0.5))} | "
            f"{k50 / b50:.1f}× | {fmt_ms(pct(r.total_ms, 0.5)) if r.total_ms else '–'} ({r.total_kind or '–'}) |"
        )
    return "\n".join(lines)


DOC_INTRO = """# Benchmarks

Benchmarks live in `bench/` (never in the test suite) and run against a database of their own,
`pult_bench`, on the server named by `DATABASE_URL`; see `bench/README.md` for the list and how to
run each. Absolute milliseconds depend on the machine, so every figure that matters is a ratio
against a baseline measured in the same run (offset vs keyset, the kit vs the bare SQL it sends),
and each section records the date, the exact command and the machine it ran on.
"""


def write_docs(title: str, section: str) -> Path:
    path = ROOT / "docs" / "benchmarks.md"
    doc = path.read_text() if path.exists() else DOC_INTRO
    pattern = re.compile(r"^" + re.escape(title) + r"\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    found = pattern.search(doc)
    if found:
        old = found.group(0)
        reading = old[old.index("\n### Reading"):].strip() if "\n### Reading" in old else ""
        new = section.rstrip() + ("\n\n" + reading if reading else "")
        doc = doc[: found.start()] + new + "\n\n" + doc[found.end():]
    else:
        doc = doc.rstrip() + "\n\n" + section.rstrip() + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc.rstrip() + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE for keyset pages slower than 50 ms")
    ap.add_argument("--no-docs", action="store_true", help="print the table only; leave docs/benchmarks.md alone")
    ap.add_argument("--suggested-indexes", action="store_true", help="create the pg_trgm indexes proposed for search first")
    ap.add_argument("--only", default="", help="run only the cases whose label contains this text (implies --no-docs)")
    ap.add_argument("--exact-count-below", type=int, default=None,
                    help="what-if: override app.core.query.EXACT_COUNT_BELOW for this run (implies --no-docs)")
    args = ap.parse_args()
    if args.only or args.exact_count_below is not None:
        args.no_docs = True

    admin_url, url = urls()
    ensure_database(admin_url)
    migrate(url)
    reused, fill_s = fill(url, args.rows)
    print(f"pult_bench: {'reused existing' if reused else f'filled in {fill_s:.1f} s'} ({args.rows:,} rows)", flush=True)
    idx_s = suggested_indexes(url, args.suggested_indexes)
    title = SECTION_TITLE + (" — with the suggested pg_trgm indexes" if args.suggested_indexes else "")

    bench = Bench(url, args.runs, args.warmup, args.explain)
    if args.exact_count_below is not None:
        print(f"what-if: EXACT_COUNT_BELOW {bench.q.EXACT_COUNT_BELOW} -> {args.exact_count_below}")
        bench.q.EXACT_COUNT_BELOW = args.exact_count_below
    load_start = loadavg()
    results = []
    for case in [c for c in CASES if args.only in c.label]:
        for page in case.pages:
            r = bench.measure(case, page)
            results.append(r)
            print(f"  {r.case:<36} {r.page:<7} keyset {pct(r.kit_k, .5):8.1f} ms  offset {pct(r.kit_o, .5):8.1f} ms  "
                  f"bare {pct(r.bare_k, .5):6.1f} ms{'' if r.same_rows else '  ROWS DIFFER'}", flush=True)

    tbl = table(results)
    print("\n" + tbl)
    if args.no_docs:
        return
    cmd = " ".join(["DATABASE_URL=" + os.environ["DATABASE_URL"]] if "DATABASE_URL" in os.environ else []) + " .venv/bin/python bench/list_page.py " + " ".join(sys.argv[1:])
    today = subprocess.run(["date", "-u", "+%F"], check=False, capture_output=True, text=True).stdout.strip() or dt.date.today().isoformat()
    fill_note = "reused" if reused else f"generated in {fill_s:.0f} s (one INSERT … SELECT generate_series, then VACUUM ANALYZE)"
    extra = ""
    if args.suggested_indexes:
        extra = ("\n- What-if schema: the migrations' indexes plus " + ", ".join(f"`{d.split(' ON ')[1]}`" for d in SUGGESTED_INDEXES.values())
                 + f" (pg_trgm; built in {idx_s:.0f} s when missing).")
    section = f"""{title}

- Date: {today}
- Command: `{cmd.strip()}`
- Machine: {machine(url)}; 1-minute load average {load_start} at the start, {loadavg()} at the end (other work on the host shows up as noise in p95)
- Data: {args.rows:,} `product` rows ({fill_note}); 0.5 % soft-deleted, 5 % without a sell price, ~12 % low on stock, 12 suppliers.{extra}
- Measured: `crud.list_records(db, stock.products, SYSTEM, ListParams(...))` in a fresh session plus `fmt_cell` for all {len(bench.products.columns)} columns of each of 25 rows (and the badge), n runs per mode ({args.runs} after {args.warmup} warm-ups; 5 for calls over 0.3 s, 3 over 2 s), keyset and offset interleaved. "Offset" is the same resource with `pagination = "offset"` and `ListParams(page=N)`; "middle" is page N = (matching rows / 2) / 25, reached in keyset mode by a cursor on the row just before it. "Bare SQL" is the statement the kit sends, run through psycopg and fetched as tuples. "Of which total" is `_fill_total` (planner estimate, exact `COUNT` below 100 000, or the row count when there is one page) inside the kit figure. Every keyset page was checked to hold the same rows as the offset page.

{tbl}
"""
    print(f"\nwrote {write_docs(title, section)}")


if __name__ == "__main__":
    main()
