"""Export of 1,000,000 products (CSV and XLSX) against PostgreSQL's own ``COPY ... TO STDOUT``.

Reuses the ``pult_bench`` database of ``bench/list_page.py`` (same generator, same reuse rule: the
table is filled only when it does not already hold ``--rows`` rows of the current data version),
then times, for the whole view and for a filtered view that keeps about half of it:

* **COPY** (the baseline): psycopg 3 ``cursor.copy("COPY (<SELECT>) TO STDOUT WITH CSV HEADER")``
  written to a file, where ``<SELECT>`` is the kit's own statement for that view (``base_query`` +
  the exporter's ``ORDER BY``) narrowed to the exported columns in the exported order;
* **psycopg + csv.writer**: the same statement through a server-side cursor (no ORM), written with
  ``csv.writer`` — what any Python streaming exporter pays at least;
* **kit CSV / kit XLSX**: ``app.core.exporter.export(db, stock.products, SYSTEM, params, path, fmt)``;
* **kit.export job**: the same CSV export as a real ``kit.export`` run on a ``python -m jobs.worker``
  (needs Redis: ``REDIS_URL``), timed by the run row (``finished_at - started_at``);

and what-ifs beside them (``--no-whatif`` skips them): the server-side cursor planned for all rows
(``SET cursor_tuple_fraction = 1``), a leaner CSV writer (``lean_csv_export``: column tuples, one
converter per column; its file must be byte-identical to the kit's), and for XLSX openpyxl with
``lxml`` importable (``--lxml DIR``) or XlsxWriter fed the kit's rows (``--xlsxwriter DIR``).

Each timed export runs in a fresh subprocess that reports its time, CPU time, rows, file size and
peak RSS (``ru_maxrss``) — a streaming export's peak stays flat whatever the row count. One round
runs every path once, back to back; each path's time is divided by the COPY of its own round.

    .venv/bin/python bench/export.py [--rows 1000000] [--runs 3] [--xlsx-runs 1] [--whatif-runs 1] [--no-job] [--no-docs]
    .venv/bin/python bench/export.py --quick          # smoke run: ~5 % view, 1 run each, docs untouched
    .venv/bin/python bench/export.py --profile        # cProfile of a kit CSV export of a ~10 % view
    .venv/bin/python bench/export.py --lxml DIR --xlsxwriter DIR   # DIRs from pip install --target DIR lxml / XlsxWriter

Prints a markdown table and replaces its own section of ``docs/benchmarks.md`` (a hand-written
"### Reading" under it is kept). The raw figures of every run are saved as JSON next to the outputs
(``/tmp/pult-bench-export/results-*.json``); ``--render FILE`` prints (and writes) a saved run's report again.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import list_page as lp  # noqa: E402  (also puts the project on sys.path and chdirs to it)

from sqlalchemy import create_engine, make_url, text  # noqa: E402

ROOT = lp.ROOT
SECTION_TITLE = "## Export: kit CSV / XLSX vs `COPY` (`bench/export.py`)"
OUT_DIR = Path(tempfile.gettempdir()) / "pult-bench-export"
#: What-if for the ``+ctf1`` paths: plan the export's server-side cursor for all its rows, as COPY
#: is planned, instead of PostgreSQL's default fast-start guess (``cursor_tuple_fraction`` 0.1).
WHATIF_SQL = "SET cursor_tuple_fraction = 1.0"


# --------------------------------------------------------------------------- database
def migrate_or_keep(url: str, needs: tuple[str, ...] = ("product", "job_run")) -> str:
    """Migrate to head; when that fails (e.g. a migration being written in the work tree right now)
    but the tables this benchmark needs exist, keep the schema as it is. Returns a note for the report."""
    try:
        lp.migrate(url)
        return ""
    except Exception as exc:  # noqa: BLE001
        eng = create_engine(url)
        with eng.connect() as c:
            have = set(c.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
            rev = c.execute(text("SELECT version_num FROM alembic_version")).scalar() if "alembic_version" in have else None
        eng.dispose()
        if not set(needs) <= have:
            raise
        note = f"migration to head failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120]}); kept revision {rev}"
        print(f"warning: {note}", flush=True)
        return note


# --------------------------------------------------------------------------- views and statements
def products():
    from app.boot import boot
    from app.core.registry import RESOURCES

    boot()
    return RESOURCES["stock.products"]


def half_price_bound(url: str, fraction: float) -> str:
    """The sell price ``x`` such that ``sell_price_rub <= x`` keeps ``fraction`` of the visible rows."""
    eng = create_engine(url)
    with eng.connect() as c:
        n_all, n_priced = c.execute(text("SELECT count(*), count(sell_price_rub) FROM product WHERE deleted_at IS NULL")).one()
        q = min(1.0, fraction * n_all / max(1, n_priced))
        bound = c.execute(text("SELECT percentile_disc(:q) WITHIN GROUP (ORDER BY sell_price_rub) FROM product WHERE deleted_at IS NULL"),
                          {"q": q}).scalar()
    eng.dispose()
    return str(bound)


def views(url: str, quick: bool) -> list[tuple[str, dict[str, str]]]:
    if quick:
        b = half_price_bound(url, 0.05)
        return [(f"filter sell_price_rub ≤ {b} (~5 %)", {"sell_price_rub": f"..{b}"})]
    b = half_price_bound(url, 0.5)
    return [("all (no filter)", {}), (f"filter sell_price_rub ≤ {b} (~half)", {"sell_price_rub": f"..{b}"})]


def export_select(res_cls: Any, filters: dict[str, str]) -> str:
    """The SELECT the exporter reads for this view, narrowed to the exported columns in their order, as SQL text."""
    from sqlalchemy.dialects import postgresql

    from app.core.auth import SYSTEM
    from app.core.exporter import export_columns
    from app.core.query import ListParams, base_query, pk_column, resolve_sort

    res = res_cls()
    params = ListParams(filters=dict(filters))
    sort_name, desc = resolve_sort(res, params.sort)
    sort_col, pk = getattr(res.model, sort_name), pk_column(res.model)
    order = [sort_col.desc(), pk.desc()] if desc else [sort_col.asc(), pk.asc()]
    table = res.model.__table__
    cols = [table.c[name] for name, _label, _spec in export_columns(res)]
    stmt = base_query(res, SYSTEM, params).order_by(*order).with_only_columns(*cols)
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# --------------------------------------------------------------------------- what-if: a leaner CSV exporter
def lean_csv_export(db: Any, res: Any, user: Any, params: Any, path: Path) -> int:
    """What-if for ``exporter.export(..., "csv")``: the same file, written from column tuples (no ORM
    objects) with one converter per column chosen once from the column's type, instead of
    ``raw_value`` + an ``isinstance`` chain on every cell. Only for resources whose exported columns
    have no ``value_fn`` (true of stock.products). The caller also sets ``cursor_tuple_fraction``."""
    import enum

    from sqlalchemy import DateTime, Enum as SAEnum, JSON

    from app.core.crud import require
    from app.core.exporter import BATCH, export_columns
    from app.core.query import base_query, pk_column, resolve_sort

    require(res, user, "view")
    cols = export_columns(res)
    assert all(spec is None or spec.value_fn is None for _n, _l, spec in cols), "lean path needs plain columns"
    table = res.model.__table__
    sort_name, desc = resolve_sort(res, params.sort)
    sort_col, pk = getattr(res.model, sort_name), pk_column(res.model)
    order = [sort_col.desc(), pk.desc()] if desc else [sort_col.asc(), pk.asc()]
    stmt = base_query(res, user, params).order_by(*order).with_only_columns(*[table.c[n] for n, _l, _s in cols])

    def utc_iso(v: Any) -> Any:
        if v is None:
            return None
        return (v.astimezone(dt.timezone.utc).replace(tzinfo=None) if v.tzinfo else v).isoformat()

    def enum_value(v: Any) -> Any:
        return v.value if isinstance(v, enum.Enum) else v

    convs = []
    for name, _l, _s in cols:
        t = table.c[name].type
        convs.append(utc_iso if isinstance(t, DateTime) else enum_value if isinstance(t, SAEnum)
                     else (lambda v: None if v is None else str(v)) if isinstance(t, JSON) else None)
    idx = [(i, f) for i, f in enumerate(convs) if f is not None]
    n = 0
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)  # writes None as ""
        w.writerow([label for _n, label, _c in cols])
        for part in db.execute(stmt.execution_options(yield_per=BATCH)).partitions():
            if idx:
                part = [list(r) for r in part]
                for r in part:
                    for i, fn in idx:
                        r[i] = fn(r[i])
            w.writerows(part)
            n += len(part)
    return n


def xlsxwriter_export(db: Any, res: Any, user: Any, params: Any, path: Path) -> int:
    """What-if for ``exporter.export(..., "xlsx")``: the kit's own rows (``exporter.iter_rows``, same
    values) written by XlsxWriter in ``constant_memory`` mode instead of openpyxl's write-only mode."""
    import decimal

    import xlsxwriter

    from app.core.exporter import export_columns, iter_rows

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet((res.slug or "export")[:31])
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    ws.write_row(0, 0, [label for _n, label, _c in export_columns(res)])
    n = 0
    for n, row in enumerate(iter_rows(db, res, user, params), start=1):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, dt.datetime):
                ws.write_datetime(n, c, v, when)
            elif isinstance(v, decimal.Decimal):
                ws.write_number(n, c, float(v))
            else:
                ws.write(n, c, v)
    wb.close()
    return n


# --------------------------------------------------------------------------- one measured export (child process)
def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child(kind: str, url: str, filters: dict[str, str], out: Path) -> dict[str, Any]:
    """Run one export in this (fresh) process; the caller reads the JSON it prints."""
    res_cls = products()
    kind, kind_whatif = kind.removesuffix("+ctf1").removesuffix("+lxml"), kind.endswith("+ctf1")
    if kind == "xlsx":  # which XML writer openpyxl picked (lxml when importable)
        from openpyxl import LXML

        print(f"openpyxl LXML={LXML}", file=sys.stderr)
    if kind in ("copy", "plain"):
        import psycopg

        sql = export_select(res_cls, filters)
        conn = psycopg.connect(psycopg_url(url))
        start_rss = rss_kb()
        cpu0 = cpu_seconds()
        t0 = time.perf_counter()
        n = 0
        if kind == "copy":
            with conn.cursor() as cur, open(out, "wb") as f:
                with cur.copy(f"COPY ({sql}) TO STDOUT WITH CSV HEADER") as cp:
                    for data in cp:
                        f.write(data)
                n = cur.rowcount
        else:  # server-side cursor, tuples, csv.writer: the floor for a Python streaming exporter
            with conn.transaction(), conn.cursor(name="bench_export") as cur, open(out, "w", newline="", encoding="utf-8-sig") as f:
                if kind_whatif:
                    conn.execute(WHATIF_SQL)
                cur.itersize = 5000
                cur.execute(sql)
                w = csv.writer(f)
                w.writerow([d.name for d in cur.description])
                for row in cur:
                    w.writerow(row)
                    n += 1
        seconds = time.perf_counter() - t0
        conn.close()
    else:
        from sqlmodel import Session

        from app.core import db as dbm
        from app.core import exporter
        from app.core.auth import SYSTEM
        from app.core.query import ListParams

        engine = create_engine(url, pool_pre_ping=True)
        dbm.set_engine(engine)
        with Session(engine) as db:  # connect (and warm the mapper) outside the timing
            db.exec(text("SELECT 1"))
            if kind_whatif:  # same connection and transaction as the export's cursor
                db.exec(text(WHATIF_SQL))
            start_rss = rss_kb()
            cpu0 = cpu_seconds()
            t0 = time.perf_counter()
            if kind == "lean":
                n = lean_csv_export(db, res_cls(), SYSTEM, ListParams(filters=dict(filters)), out)
            elif kind == "xlsxwriter":
                n = xlsxwriter_export(db, res_cls(), SYSTEM, ListParams(filters=dict(filters)), out)
            else:
                n = exporter.export(db, res_cls(), SYSTEM, ListParams(filters=dict(filters)), out, kind)
            seconds = time.perf_counter() - t0
        engine.dispose()
    return {"seconds": seconds, "cpu": cpu_seconds() - cpu0, "rows": n, "bytes": out.stat().st_size, "start_rss_kb": start_rss,
            "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def cpu_seconds() -> float:
    """User + system CPU of this process: the Python side's work, much less sensitive to a busy host than wall time."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def run_child(kind: str, filters: dict[str, str], out: Path, lxml_dir: str = "", keep: bool = False) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--child-filters", json.dumps(filters), "--child-out", str(out)]
    env = os.environ.copy()
    if kind.endswith("+lxml") or kind == "xlsxwriter":
        env["PYTHONPATH"] = os.pathsep.join(x for x in (lxml_dir, env.get("PYTHONPATH", "")) if x)
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{kind} export failed:\n{p.stderr[-3000:]}")
    if kind in ("xlsx", "xlsx+lxml") and f"LXML={kind.endswith('+lxml')}" not in p.stderr:
        raise RuntimeError(f"{kind}: openpyxl did not pick the expected XML writer: {p.stderr[-300:]}")
    result = json.loads(p.stdout.strip().splitlines()[-1])
    first, last = first_last_names(out, kind)
    result.update(first=first, last=last)
    if keep:
        result["path"] = str(out)
    else:
        out.unlink(missing_ok=True)
    return result


def same_file(a: Path, b: Path) -> bool:
    import filecmp

    return filecmp.cmp(a, b, shallow=False)


def first_last_names(path: Path, kind: str) -> tuple[str, str]:
    """The ``name`` of the first and last data rows, to check that every path wrote the same rows."""
    if kind.startswith("xlsx"):
        return "", ""  # reading 1M rows back is slower than writing them; CSV paths are compared
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = csv.reader(f)
        next(rows)
        first = next(rows, [""])
    with open(path, "rb") as f:  # the last line, without reading the whole file
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 65536))
        tail = f.read().decode("utf-8", errors="replace").rstrip("\r\n").splitlines()[-1]
    last = next(csv.reader([tail]))
    return first[0], last[0]


# --------------------------------------------------------------------------- the kit.export job on a real worker
class JobPath:
    """A ``python -m jobs.worker`` on ``pult_bench`` and the bench Redis; runs ``kit.export`` jobs."""

    def __init__(self, url: str, redis_url: str) -> None:
        import psutil
        import redis as redis_lib

        from app.core import db as dbm
        from app.core import redis as redis_mod

        products()  # the panels, and with them the kit's job kinds (kit.export)
        self.psutil = psutil
        self.engine = create_engine(url, pool_pre_ping=True)
        dbm.set_engine(self.engine)
        redis_mod.set_redis(redis_lib.Redis.from_url(redis_url, decode_responses=True))
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
        self.log = open(OUT_DIR / "worker.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "jobs.worker", "--name", f"bench-export-{os.getpid()}"],
                                     cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        from rq import Worker

        from app.core import jobs

        deadline = time.time() + 60
        while not any(w.name == f"bench-export-{os.getpid()}" for w in Worker.all(connection=jobs.rq_connection())):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("the worker did not start: " + (OUT_DIR / "worker.log").read_text()[-2000:])
            time.sleep(0.2)

    def run(self, filters: dict[str, str]) -> dict[str, Any]:
        from sqlmodel import Session

        from app.core import jobs
        from app.core.auth import SYSTEM
        from models.jobs import JobRun, JobStatus

        with Session(self.engine, expire_on_commit=False) as db:
            run = jobs.enqueue(db, SYSTEM, "kit.export", {"resource": "stock.products", "fmt": "csv", "filters": filters})
        peak = 0
        while True:  # poll the work horse's RSS (5 Hz) and the row
            try:
                for ch in self.psutil.Process(self.proc.pid).children(recursive=True):
                    peak = max(peak, ch.memory_info().rss)
            except self.psutil.NoSuchProcess:
                pass
            with Session(self.engine) as db:
                row = db.get(JobRun, run.id)
                if JobStatus(row.status).finished:
                    break
            time.sleep(0.2)
        if row.status != JobStatus.succeeded:
            raise RuntimeError(f"kit.export run {row.id} ended {row.status}: {row.error}")
        path = ROOT / row.result_file
        first, last = first_last_names(path, "csv")
        size = path.stat().st_size
        shutil.rmtree(path.parent, ignore_errors=True)
        return {"seconds": (row.finished_at - row.started_at).total_seconds(), "cpu": None, "rows": row.result["rows"], "bytes": size,
                "start_rss_kb": 0, "peak_rss_kb": peak // 1024, "first": first, "last": last}

    def close(self) -> None:
        import signal

        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()
        self.engine.dispose()


# --------------------------------------------------------------------------- profile
def profile(url: str, fraction: float) -> None:
    import cProfile
    import pstats

    from sqlmodel import Session

    from app.core import db as dbm
    from app.core import exporter
    from app.core.auth import SYSTEM
    from app.core.query import ListParams

    res_cls = products()
    b = half_price_bound(url, fraction)
    engine = create_engine(url)
    dbm.set_engine(engine)
    out = OUT_DIR / "profile.csv"
    with Session(engine) as db:
        db.exec(text("SELECT 1"))
        pr = cProfile.Profile()
        t0 = time.perf_counter()
        pr.enable()
        n = exporter.export(db, res_cls(), SYSTEM, ListParams(filters={"sell_price_rub": f"..{b}"}), out, "csv")
        pr.disable()
        secs = time.perf_counter() - t0
    out.unlink(missing_ok=True)
    print(f"\ncProfile of kit CSV export, sell_price_rub ≤ {b}: {n:,} rows in {secs:.1f} s under the profiler\n")
    st = pstats.Stats(pr)
    st.sort_stats("tottime").print_stats(25)
    st.sort_stats("cumulative").print_stats(30)


# --------------------------------------------------------------------------- report
def p(xs: list[float], q: float) -> float:
    return lp.pct(xs, q)


PATHS = [
    ("copy", "`COPY (SELECT …) TO STDOUT WITH CSV HEADER` (baseline)"),
    ("plain", "psycopg server-side cursor + `csv.writer` (no ORM)"),
    ("csv", "kit CSV: `exporter.export(…, \"csv\")`"),
    ("xlsx", "kit XLSX: `exporter.export(…, \"xlsx\")`"),
    ("plain+ctf1", "what-if: psycopg + `csv.writer`, `SET cursor_tuple_fraction = 1`"),
    ("csv+ctf1", "what-if: kit CSV, `SET cursor_tuple_fraction = 1` on its session"),
    ("lean+ctf1", "what-if: column tuples + a converter per column (`bench/export.py: lean_csv_export`), ctf 1"),
    ("xlsx+lxml", "what-if: kit XLSX with `lxml` importable (openpyxl then writes through it)"),
    ("xlsxwriter", "what-if: the kit's rows (`iter_rows`) written by XlsxWriter, `constant_memory`"),
    ("job", "`kit.export` job (CSV) on a worker"),
]


def table(results: dict[tuple[str, str], list[dict[str, Any]]], view_names: list[str]) -> str:
    """One line per view and path. "÷ COPY" compares each run with the COPY of the same round (the paths
    of a round run back to back), then takes the median, so load that changes between rounds cancels out."""
    lines = ["| view | path | rows | n | p50 / p95 s | ÷ COPY, same round (p50) | rows/s (p50) | client CPU s (p50) | file MB | peak RSS MB (start → peak) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for view in view_names:
        base = results.get((view, "copy"))
        b50 = p([r["seconds"] for r in base], 0.5) if base else float("nan")
        by_round = {r.get("round"): r["seconds"] for r in base or []}
        for kind, label in PATHS:
            rs = results.get((view, kind))
            if not rs:
                continue
            secs = [r["seconds"] for r in rs]
            s50 = p(secs, 0.5)
            paired = [r["seconds"] / by_round[r["round"]] for r in rs if r.get("round") in by_round]
            ratio = f"{p(paired, 0.5):.1f}×" if paired else f"{s50 / b50:.1f}× (vs COPY p50)"
            cpus = [r["cpu"] for r in rs if r.get("cpu") is not None]
            cpu = f"{p(cpus, 0.5):.1f}" if cpus else "–"
            rows = rs[0]["rows"]
            same = all(r["first"] == base[0]["first"] and r["last"] == base[0]["last"] for r in rs if r["first"]) if base else True
            start = max(r["start_rss_kb"] for r in rs) / 1024
            peak = max(r["peak_rss_kb"] for r in rs) / 1024
            rss = f"{start:.0f} → {peak:.0f}" if start else f"{peak:.0f} (work horse, sampled)"
            lines.append(f"| {view} | {label}{'' if same else ' ⚠ rows differ'} | {rows:,} | {len(rs)} | {s50:.2f} / {p(secs, 0.95):.2f} | "
                         f"{ratio} | {rows / s50:,.0f} | {cpu} | {rs[0]['bytes'] / 1e6:.0f} | {rss} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in pult_bench.product (shared with list_page.py)")
    ap.add_argument("--runs", type=int, default=3, help="runs of COPY, psycopg+csv and kit CSV per view")
    ap.add_argument("--xlsx-runs", type=int, default=1, help="runs of kit XLSX per view (the slowest path: minutes at 1M rows)")
    ap.add_argument("--whatif-runs", type=int, default=1, help="runs of each what-if path per view")
    ap.add_argument("--job-runs", type=int, default=1, help="runs of the kit.export job (whole view only)")
    ap.add_argument("--no-job", action="store_true", help="skip the kit.export job on a worker (no Redis needed)")
    ap.add_argument("--no-whatif", dest="whatif", action="store_false",
                    help="skip the what-if paths (cursor planned for all rows, lean CSV, lxml, XlsxWriter)")
    ap.add_argument("--lxml", default="", metavar="DIR",
                    help="what-if: a directory holding lxml (pip install --target DIR lxml); adds kit XLSX with it importable")
    ap.add_argument("--xlsxwriter", default="", metavar="DIR",
                    help="what-if: a directory holding XlsxWriter (pip install --target DIR XlsxWriter); adds the kit's rows written by it")
    ap.add_argument("--no-docs", action="store_true", help="print the table only; leave docs/benchmarks.md alone")
    ap.add_argument("--quick", action="store_true", help="smoke run: a ~5 %% view, one run of each path, docs untouched")
    ap.add_argument("--profile", action="store_true", help="only print a cProfile of a kit CSV export of a ~10 %% view")
    ap.add_argument("--render", default="", metavar="JSON", help="only print (and write to the docs) the report of a saved run")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    ap.add_argument("--child-filters", default="{}", help=argparse.SUPPRESS)
    ap.add_argument("--child-out", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up (workers, server) on kill

    if args.render:
        report(json.loads(Path(args.render).read_text()), write=not args.no_docs)
        return
    admin_url, url = lp.urls()
    if args.child:
        print(json.dumps(child(args.child, url, json.loads(args.child_filters), Path(args.child_out))))
        return
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    lp.ensure_database(admin_url)
    schema_note = migrate_or_keep(url)
    reused, fill_s = lp.fill(url, args.rows)
    print(f"pult_bench: {'reused existing' if reused else f'filled in {fill_s:.1f} s'} ({args.rows:,} rows)", flush=True)
    lp.suggested_indexes(url, False)
    if args.profile:
        profile(url, 0.1)
        return
    if args.quick:
        args.runs = args.xlsx_runs = args.job_runs = args.whatif_runs = 1
        args.no_docs = True

    load_start = lp.loadavg()
    view_list = views(url, args.quick)
    job = None
    if not args.no_job:
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6392/0")
        try:
            import redis as redis_lib

            redis_lib.Redis.from_url(redis_url).ping()
            job = JobPath(url, redis_url)
        except Exception as exc:  # noqa: BLE001
            print(f"kit.export job skipped ({type(exc).__name__}: {exc})", flush=True)

    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    identical: dict[str, bool] = {}
    try:
        for view, filters in view_list:
            for i in range(max(args.runs, args.xlsx_runs, args.whatif_runs if args.whatif else 0)):  # interleaved paths
                plan = ["copy", "plain", "csv"] if i < args.runs else []
                if args.whatif and i < args.whatif_runs:
                    plan += ["plain+ctf1", "csv+ctf1", "lean+ctf1"]
                if i < args.xlsx_runs:
                    plan.append("xlsx")
                    if args.whatif and i < args.whatif_runs and (filters or args.quick):  # filtered view only: XLSX is slow
                        plan += (["xlsx+lxml"] if args.lxml else []) + (["xlsxwriter"] if args.xlsxwriter else [])
                for kind in plan:
                    check = i == 0 and kind in ("csv", "lean+ctf1")  # the what-if must write the very same file
                    r = run_child(kind, filters, OUT_DIR / f"out.{kind}", args.xlsxwriter if kind == "xlsxwriter" else args.lxml, keep=check)
                    if check and kind == "lean+ctf1":
                        identical[view] = same_file(OUT_DIR / "out.csv", OUT_DIR / "out.lean+ctf1")
                        for k in ("csv", "lean+ctf1"):
                            (OUT_DIR / f"out.{k}").unlink(missing_ok=True)
                    r["round"] = i
                    results.setdefault((view, kind), []).append(r)
                    print(f"  {view:<44} {kind:<6} {r['rows']:>9,} rows {r['seconds']:8.2f} s  peak RSS {r['peak_rss_kb'] / 1024:6.0f} MB", flush=True)
            if job is not None and (not filters or args.quick):
                for _ in range(args.job_runs):
                    r = job.run(filters)
                    r["round"] = None  # after the view's rounds: compared with COPY's p50
                    results.setdefault((view, "job"), []).append(r)
                    print(f"  {view:<44} job    {r['rows']:>9,} rows {r['seconds']:8.2f} s  peak RSS {r['peak_rss_kb'] / 1024:6.0f} MB", flush=True)
    finally:
        if job is not None:
            job.close()

    env_prefix = " ".join(f"{k}={os.environ[k]}" for k in ("DATABASE_URL", "REDIS_URL") if k in os.environ)
    meta = {
        "cmd": f"{env_prefix} .venv/bin/python bench/export.py {' '.join(sys.argv[1:])}".strip(),
        "date": subprocess.run(["date", "-u", "+%F"], check=False, capture_output=True, text=True).stdout.strip() or dt.date.today().isoformat(),
        "machine": lp.machine(url), "load_start": load_start, "load_end": lp.loadavg(), "rows": args.rows, "reused": reused,
        "fill_s": fill_s, "schema_note": schema_note, "runs": args.runs, "xlsx_runs": args.xlsx_runs, "whatif_runs": args.whatif_runs,
        "job_runs": args.job_runs, "lxml": args.lxml, "xlsxwriter": args.xlsxwriter, "views": [v for v, _ in view_list], "identical": identical,
        "results": [{"view": v, "kind": k, **r} for (v, k), rs in results.items() for r in rs],
    }
    saved = OUT_DIR / f"results-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    saved.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    print(f"raw results: {saved}")
    report(meta, write=not args.no_docs)


def report(meta: dict[str, Any], write: bool) -> None:
    """Print the table of a run (``meta`` as saved next to the outputs) and, with ``write``, its docs section."""
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in meta["results"]:
        results.setdefault((r["view"], r["kind"]), []).append(r)
    tbl = table(results, meta["views"])
    if meta["identical"]:
        tbl += "\n\nLean what-if file byte-identical to the kit CSV: " + ", ".join(f"{v}: {'yes' if ok else 'NO'}" for v, ok in meta["identical"].items())
    print("\n" + tbl)
    if not write:
        return
    m = meta
    section = f"""{SECTION_TITLE}

- Date: {m['date']}
- Command: `{m['cmd']}`
- Machine: {m['machine']}; 1-minute load average {m['load_start']} at the start, {m['load_end']} at the end
- Data: {('(' + m['schema_note'] + ') ') if m['schema_note'] else ''}the `pult_bench` table of `bench/list_page.py`, {m['rows']:,} `product` rows ({'reused' if m['reused'] else f"generated in {m['fill_s']:.0f} s"}); the export skips the 0.5 % soft-deleted rows. Columns: the list's 8 columns then the other 5 model fields (13), sorted by name, id (the resource's default sort).
- Measured: each export in a fresh subprocess (time and CPU inside it, after imports and connecting; peak RSS is its `ru_maxrss`). One round = every path once, back to back; "÷ COPY" is the median over rounds of the path's time over the COPY of the same round (the job, run after the rounds, against COPY's p50). COPY and the psycopg path run the kit's own statement for the view (`base_query` + the exporter's ORDER BY) narrowed to the 13 exported columns. "Client CPU" is the exporting process's user + system time (for COPY and psycopg the database server's work is not in it). The job row is `kit.export` enqueued through `app.core.jobs.enqueue` and run by `python -m jobs.worker` (time = `job_run.finished_at - started_at`; RSS sampled from the work horse at 5 Hz). The first and last rows' names were checked to be the same on every CSV path. n: {m['runs']} for COPY, psycopg and kit CSV; {m['xlsx_runs']} for kit XLSX; {m['whatif_runs']} for each what-if (in round 1); {m['job_runs']} for the job.
- What-ifs (not the kit's code, measured beside it): "ctf 1" runs `SET cursor_tuple_fraction = 1.0` on the export's connection first, so PostgreSQL plans its server-side cursor for all rows, as it plans `COPY`, instead of for the first 10 %; "lean" is `lean_csv_export` in this script (column tuples instead of ORM objects, one converter per column chosen from its type) and writes a file byte-identical to the kit's; "lxml" runs the kit's XLSX export with `lxml` importable ({'`--lxml ' + m['lxml'] + '`' if m['lxml'] else 'not run'}), which openpyxl then uses instead of its pure-Python XML writer; "XlsxWriter" feeds the kit's own rows to XlsxWriter in `constant_memory` mode ({'`--xlsxwriter ' + m.get('xlsxwriter', '') + '`' if m.get('xlsxwriter') else 'not run'}).

{tbl}
"""
    print(f"\nwrote {lp.write_docs(SECTION_TITLE, section)}")


if __name__ == "__main__":
    main()
