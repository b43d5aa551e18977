"""Job enqueue-to-start latency: the kit's jobs (``app.core.jobs.enqueue`` → ``python -m jobs.worker``)
against bare RQ (``Queue.enqueue`` of a no-op → a plain ``rq worker``) on the same Redis, same run.

Starts N real kit workers (``python -m jobs.worker``, with ``PULT_JOB_MODULES=bench.jobkinds``) and N
plain ``rq worker`` processes on a queue of their own, then times, for 1 and 2 workers of each:

* **idle**: ``--jobs`` jobs one at a time, each enqueued only when the previous one has finished
  and its worker is idle again (``--idle-gap`` later);
* **burst**: ``--jobs`` jobs enqueued back to back, as fast as the caller can.

Latency = the wall clock at the first line of the job body − the wall clock right after the
enqueue call returned (one host, one clock). The kit's job is ``bench.noop`` (``bench/jobkinds.py``),
enqueued as the demo ``admin`` user, so the runner re-reads a real user and their role before the
body; the bare job is ``bench.bare_job.noop`` (imports nothing of the project). The kit's figure is
also split at ``job_run.started_at`` (written by the runner when it claims the row): RQ + fork +
claim before it, user lookup + heartbeat thread after it.

Then (``--breakdown N``, default 30) it times the runner's own steps one by one in N work horses
forked from a process prepared like the worker (import, connections, claim, user lookup, heartbeat,
body, finishing), to show where the kit's part goes.

    .venv/bin/python bench/jobs_latency.py [--jobs 200] [--workers 1,2] [--rounds 2] [--breakdown 30] [--no-docs]
    .venv/bin/python bench/jobs_latency.py --quick      # 30 jobs, 1 worker, docs untouched

Needs PostgreSQL (``DATABASE_URL``'s server; the benchmark uses database ``pult_bench_jobs``) and
Redis (``REDIS_URL``, default ``redis://127.0.0.1:6392/0``; the database is flushed at start, so
give it one nobody else uses). Prints a markdown table and replaces its section of
``docs/benchmarks.md`` (a hand-written "### Reading" under it is kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import list_page as lp  # noqa: E402  (also puts the project on sys.path and chdirs to it)
from export import migrate_or_keep  # noqa: E402

from sqlalchemy import create_engine, make_url, text  # noqa: E402

ROOT = lp.ROOT
DB_NAME = "pult_bench_jobs"
SECTION_TITLE = "## Jobs: enqueue-to-start latency, kit vs bare RQ (`bench/jobs_latency.py`)"
LOG_DIR = Path(tempfile.gettempdir()) / "pult-bench-jobs"
BARE_QUEUE = "bench-bare"


def db_urls() -> tuple[str, str]:
    admin, bench = lp.urls()
    return admin, make_url(bench).set(database=DB_NAME).render_as_string(hide_password=False)


def ensure_db(admin_url: str, url: str) -> tuple[str, bool]:
    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DB_NAME}).scalar():
            c.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    eng.dispose()
    note = migrate_or_keep(url, needs=("job_run", "user", "role"))
    eng = create_engine(url)
    with eng.connect() as c:
        has_admin = bool(c.execute(text("SELECT 1 FROM \"user\" WHERE username = 'admin'")).scalar())
    eng.dispose()
    if not has_admin:  # roles and the demo users (admin/admin), as the e2e database has them
        subprocess.run([sys.executable, "-m", "app.demo"], cwd=ROOT, env={**os.environ, "DATABASE_URL": url},
                       check=True, capture_output=True, timeout=300)
    return note, has_admin


class Workers:
    """Kit and bare worker subprocesses, each in its own session so the whole tree can be stopped."""

    def __init__(self, url: str, redis_url: str) -> None:
        self.url, self.redis_url = url, redis_url
        self.procs: list[tuple[str, subprocess.Popen, Any]] = []
        LOG_DIR.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.url, "REDIS_URL": self.redis_url, "PULT_JOB_MODULES": "bench.jobkinds",
                "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}

    def start(self, kind: str, n: int) -> list[str]:
        names = []
        for i in range(n):
            name = f"bench-{kind}-{os.getpid()}-{len(self.procs) + 1}"
            if kind == "kit":
                cmd = [sys.executable, "-m", "jobs.worker", "--name", name]
            else:  # what `rq worker` runs, with this interpreter
                cmd = [str(Path(sys.executable).with_name("rq")), "worker", "--url", self.redis_url, "--name", name, BARE_QUEUE]
            log = open(LOG_DIR / f"{name}.log", "w")
            p = subprocess.Popen(cmd, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self.procs.append((name, p, log))
            names.append(name)
        return names

    def wait_registered(self, conn: Any, names: list[str], timeout: float = 60) -> None:
        from rq import Worker

        deadline = time.time() + timeout
        while True:
            have = {w.name for w in Worker.all(connection=conn)}
            if set(names) <= have:
                return
            for name, p, _log in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"worker {name} exited:\n" + (LOG_DIR / f"{name}.log").read_text()[-2000:])
            if time.time() > deadline:
                raise RuntimeError(f"workers {sorted(set(names) - have)} did not register")
            time.sleep(0.1)

    def stop_all(self) -> None:
        for _name, p, _log in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _name, p, log in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
            log.close()
        self.procs.clear()


class Bench:
    def __init__(self, url: str, redis_url: str) -> None:
        import redis

        from sqlmodel import Session, select

        from app.core import db as dbm
        from app.core import jobs
        from app.core import redis as redis_mod
        from app.core.auth import current_user_for
        from models.core import User

        sys.path.insert(0, str(ROOT))
        import bench.jobkinds  # noqa: F401  (registers bench.noop here too)

        self.engine = create_engine(url, pool_pre_ping=True, pool_size=5)
        dbm.set_engine(self.engine)
        self.r = redis.Redis.from_url(redis_url, decode_responses=True)
        redis_mod.set_redis(self.r)
        self.redis_url = redis_url
        self.jobs = jobs
        self.Session = Session
        self.conn = jobs.rq_connection()
        from rq import Queue

        self.bare_q = Queue(BARE_QUEUE, connection=self.conn)
        with Session(self.engine, expire_on_commit=False) as db:
            self.user = current_user_for(db, db.exec(select(User).where(User.username == "admin")).one())

    # -- enqueue one job; returns (rq job id, seconds the call took, wall clock after it returned)
    def enqueue_kit(self, seq: int) -> tuple[str, float, float]:
        with self.Session(self.engine, expire_on_commit=False) as db:
            t0 = time.perf_counter()
            run = self.jobs.enqueue(db, self.user, "bench.noop", {"seq": seq})
            t_after = time.time()
            call = time.perf_counter() - t0
        return run.rq_job_id, call, t_after

    def enqueue_bare(self, seq: int) -> tuple[str, float, float]:
        t0 = time.perf_counter()
        job = self.bare_q.enqueue("bench.bare_job.noop", seq, self.redis_url, result_ttl=600)
        t_after = time.time()
        return job.id, time.perf_counter() - t0, t_after

    def started_key(self, path: str) -> str:
        from bench import bare_job, jobkinds

        return jobkinds.STARTED_KEY if path == "kit" else bare_job.STARTED_KEY

    def wait_finished(self, rq_id: str, timeout: float = 30) -> None:
        from rq.job import Job, JobStatus

        deadline = time.time() + timeout
        while time.time() < deadline:
            status = Job.fetch(rq_id, connection=self.conn).get_status(refresh=True)
            if status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.STOPPED):
                if status != JobStatus.FINISHED:
                    raise RuntimeError(f"job {rq_id} ended {status}")
                return
            time.sleep(0.005)
        raise RuntimeError(f"job {rq_id} did not finish in {timeout} s")

    def collect(self, path: str, n: int, timeout: float = 120) -> dict[int, tuple[float, float | None, float | None]]:
        key, got = self.started_key(path), {}
        deadline = time.time() + timeout
        while len(got) < n:
            item = self.r.blpop([key], timeout=max(0.1, deadline - time.time()))
            if item is None:
                raise RuntimeError(f"{path}: only {len(got)} of {n} jobs started within {timeout} s")
            seq, body, run_started, rq_started = json.loads(item[1])
            got[seq] = (body, run_started, rq_started)
        return got

    def idle(self, path: str, n: int, gap: float) -> dict[str, Any]:
        enq = self.enqueue_kit if path == "kit" else self.enqueue_bare
        lat, split, rqs, calls = [], [], [], []
        for seq in range(n):
            rq_id, call, t_after = enq(seq)
            body, run_started, rq_started = self.collect(path, 1)[seq]
            lat.append((body - t_after) * 1000)
            if run_started is not None:
                split.append((run_started - t_after) * 1000)
            if rq_started is not None:
                rqs.append((rq_started - t_after) * 1000)
            calls.append(call * 1000)
            self.wait_finished(rq_id)
            time.sleep(gap)
        return {"lat": lat, "split": split, "rq": rqs, "calls": calls, "span": None}

    def burst(self, path: str, n: int) -> dict[str, Any]:
        enq = self.enqueue_kit if path == "kit" else self.enqueue_bare
        sent, calls, ids = {}, [], []
        t_first = time.time()
        for seq in range(n):
            rq_id, call, t_after = enq(seq)
            sent[seq] = t_after
            calls.append(call * 1000)
            ids.append(rq_id)
        got = self.collect(path, n)
        for rq_id in ids:  # all done before the next measurement
            self.wait_finished(rq_id)
        lat = [(got[s][0] - sent[s]) * 1000 for s in range(n)]
        split = [(got[s][1] - sent[s]) * 1000 for s in range(n) if got[s][1] is not None]
        rqs = [(got[s][2] - sent[s]) * 1000 for s in range(n) if got[s][2] is not None]
        span = max(g[0] for g in got.values()) - t_first
        return {"lat": lat, "split": split, "rq": rqs, "calls": calls, "span": span}


def horse_breakdown(url: str, redis_url: str, n: int) -> str:
    """Where a kit work horse spends its time before and after the body: fork ``n`` children from a
    process prepared like ``python -m jobs.worker`` (kinds loaded, orphans reaped, engine disposed),
    each running one attempt through the runner's own steps, timed one by one."""
    import redis

    from sqlmodel import Session, select

    from app.core import db as dbm
    from app.core import jobs
    from app.core import redis as redis_mod
    from app.core.auth import current_user_for
    from models.core import User

    os.environ["PULT_JOB_MODULES"] = "bench.jobkinds"
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)  # as app.core.db.engine()
    dbm.set_engine(engine)
    redis_mod.set_redis(redis.Redis.from_url(redis_url, decode_responses=True, health_check_interval=30))
    from app.boot import boot

    boot()
    with Session(engine, expire_on_commit=False) as db:
        jobs.reap_orphans(db)
        user = current_user_for(db, db.exec(select(User).where(User.username == "admin")).one())
        runs = [jobs.enqueue(db, user, "bench.noop", {"seq": -1 - i}) for i in range(n)]
    engine.dispose()
    rqconn = jobs.rq_connection()
    for r in runs:  # nobody will take them from RQ: this process runs them
        rqconn.delete(f"rq:job:{r.rq_job_id}")
    jobs.rq_queue().empty()
    steps = ["import jobs.runner", "engine dispose", "first PostgreSQL connection", "first Redis connection",
             "claim: select for update, update, commit, publish, refresh (statements compiled afresh in every horse)",
             "resolve user (user + role)", "start heartbeat thread", "body (bench.noop)",
             "stop heartbeat, commit, flush, end_succeeded"]
    times: list[list[float]] = []
    for r in runs:
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the work horse
            os.close(rfd)
            t = [time.perf_counter()]
            import jobs.runner as runner

            t.append(time.perf_counter())
            engine.dispose(close=False)
            t.append(time.perf_counter())
            with engine.connect():  # the horse's first PostgreSQL connection (the claim would open it)
                pass
            t.append(time.perf_counter())
            redis_mod.redis_client().ping()  # its first Redis connection (the claim's publish would open it)
            t.append(time.perf_counter())
            run, kind = runner._claim(r.id, r.rq_job_id)
            t.append(time.perf_counter())
            db = Session(engine, expire_on_commit=False)
            ctx = jobs.JobContext(db, jobs.resolve_user(db, run), run, kind, r.rq_job_id)
            t.append(time.perf_counter())
            beat = runner._Heartbeat(ctx)
            beat.start()
            t.append(time.perf_counter())
            kind.fn(ctx, **ctx.args)
            t.append(time.perf_counter())
            beat.stop()
            db.commit()
            ctx.flush()
            db.close()
            runner._end_succeeded(ctx, None)
            t.append(time.perf_counter())
            os.write(wfd, json.dumps([(b - a) * 1000 for a, b in zip(t, t[1:])]).encode())
            os._exit(0)
        os.close(wfd)
        with os.fdopen(rfd) as f:
            data = f.read()
        os.waitpid(pid, 0)
        times.append(json.loads(data))
    redis_mod.redis_client().delete("bench:jobs:kit:started")
    lines = ["| step in the work horse (forked per job) | p50 ms | p95 ms |", "|---|---|---|"]
    for i, name in enumerate(steps):
        col = [row[i] for row in times]
        lines.append(f"| {name} | {p(col, .5):.1f} | {p(col, .95):.1f} |")
    tot = [sum(row[:7]) for row in times]
    lines.append(f"| **fork → body**, sum of the steps above the body | {p(tot, .5):.1f} | {p(tot, .95):.1f} |")
    engine.dispose()
    return "\n".join(lines)


def p(xs: list[float], q: float) -> float:
    return lp.pct(xs, q)


def fmt(x: float) -> str:
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    out = ["| workers | queue | path | n | latency p50 / p95 / max ms | kit ÷ bare (p50) | until RQ's `job.started_at`, p50 ms | "
           "until `job_run.started_at`, p50 ms | enqueue call p50 ms | body starts per s |", "|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r["workers"], r["mode"], r["path"]): r for r in rows}
    for r in rows:
        base = by.get((r["workers"], r["mode"], "bare"))
        ratio = f"{p(r['lat'], .5) / p(base['lat'], .5):.1f}×" if base and r["path"] == "kit" else "1.0× (baseline)"
        label = "kit: `jobs.enqueue` → `python -m jobs.worker`" if r["path"] == "kit" else "bare: `Queue.enqueue` → `rq worker` (baseline)"
        rate = f"{len(r['lat']) / r['span']:.1f}" if r["span"] else "–"
        out.append(f"| {r['workers']} | {r['mode']} | {label} | {len(r['lat'])} | {fmt(p(r['lat'], .5))} / {fmt(p(r['lat'], .95))} / {fmt(max(r['lat']))} | "
                   f"{ratio} | {fmt(p(r['rq'], .5)) if r['rq'] else '–'} | {fmt(p(r['split'], .5)) if r['split'] else '–'} | {p(r['calls'], .5):.2f} | {rate} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=200, help="jobs per measurement (idle: one at a time; burst: all at once)")
    ap.add_argument("--workers", default="1,2", help="comma list of worker counts (that many kit AND that many bare workers)")
    ap.add_argument("--rounds", type=int, default=2, help="kit/bare alternations per measurement (idle: the jobs are split between rounds; burst: each round is a whole burst)")
    ap.add_argument("--idle-gap", type=float, default=0.05, help="seconds between a finished job and the next enqueue (idle mode)")
    ap.add_argument("--breakdown", type=int, default=30, metavar="N",
                    help="also time the runner's steps in N work horses forked from a worker-like process (0: skip)")
    ap.add_argument("--no-docs", action="store_true", help="print the table only; leave docs/benchmarks.md alone")
    ap.add_argument("--quick", action="store_true", help="smoke run: 30 jobs, 1 worker, one round, docs untouched")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up (workers, server) on kill
    if args.quick:
        args.jobs, args.workers, args.rounds, args.breakdown, args.no_docs = 30, "1", 1, 5, True
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6392/0")

    import redis

    redis.Redis.from_url(redis_url).flushdb()
    admin_url, url = db_urls()
    schema_note, _ = ensure_db(admin_url, url)
    bench = Bench(url, redis_url)
    load_start = lp.loadavg()
    rows: list[dict[str, Any]] = []
    workers = Workers(url, redis_url)
    try:
        for w in [int(x) for x in args.workers.split(",") if x.strip()]:
            names = workers.start("kit", w) + workers.start("bare", w)
            workers.wait_registered(bench.conn, names)
            for path in ("kit", "bare"):  # warm-up: the first fork/import/connection of each worker
                for _ in range(2 * w):
                    bench.idle(path, 1, args.idle_gap)
            for mode in ("idle", "burst"):
                acc = {path: {"lat": [], "split": [], "rq": [], "calls": [], "span": 0.0} for path in ("kit", "bare")}
                per_round = max(1, args.jobs // args.rounds) if mode == "idle" else args.jobs
                for _round in range(args.rounds):
                    for path in ("kit", "bare"):
                        m = bench.idle(path, per_round, args.idle_gap) if mode == "idle" else bench.burst(path, per_round)
                        for k in ("lat", "split", "rq", "calls"):
                            acc[path][k] += m[k]
                        if m["span"]:
                            acc[path]["span"] += m["span"]
                        print(f"  {w} worker(s) {mode:<5} {path:<4} n={len(m['lat']):<4} p50 {p(m['lat'], .5):7.1f} ms  "
                              f"p95 {p(m['lat'], .95):7.1f} ms  max {max(m['lat']):7.1f} ms", flush=True)
                for path in ("kit", "bare"):
                    rows.append({"workers": w, "mode": mode if mode == "idle" else f"burst of {args.jobs}", "path": path,
                                 **acc[path], "span": acc[path]["span"] or None})
            workers.stop_all()
    finally:
        workers.stop_all()

    tbl = table(rows)
    print("\n" + tbl)
    breakdown = horse_breakdown(url, redis_url, args.breakdown) if args.breakdown else ""
    if breakdown:
        print("\n" + breakdown)
    if args.no_docs:
        return
    env_prefix = " ".join(f"{k}={os.environ[k]}" for k in ("DATABASE_URL", "REDIS_URL") if k in os.environ)
    cmd = f"{env_prefix} .venv/bin/python bench/jobs_latency.py {' '.join(sys.argv[1:])}".strip()
    today = subprocess.run(["date", "-u", "+%F"], check=False, capture_output=True, text=True).stdout.strip() or dt.date.today().isoformat()
    import rq

    section = f"""{SECTION_TITLE}

- Date: {today}
- Command: `{cmd}`
- Machine: {lp.machine(url)}, Redis {bench.r.info('server')['redis_version']} and RQ {rq.__version__} on the same host; 1-minute load average {load_start} at the start, {lp.loadavg()} at the end
- Data: database `{DB_NAME}` (migrated, demo users loaded{'; ' + schema_note if schema_note else ''}); jobs enqueued by `admin`.
- Measured: latency = wall clock at the first line of the job body − wall clock right after the enqueue call returned. Kit: `app.core.jobs.enqueue(db, admin, "bench.noop", {{"seq": i}})` (row + audit row + commit, then RQ) run by `python -m jobs.worker` (`PULT_JOB_MODULES=bench.jobkinds`). Bare: `Queue("{BARE_QUEUE}").enqueue("bench.bare_job.noop", i, url)` run by `rq worker`. N kit and N bare workers run side by side (the idle ones only wait on Redis). "Idle": one job at a time, the next enqueued {args.idle_gap * 1000:.0f} ms after the previous finished; "burst": {args.jobs} enqueued back to back, so later jobs wait behind earlier ones. Each measurement alternates kit and bare {args.rounds}× ({args.jobs} jobs per path in all, after 2 warm-up jobs per worker). "Until RQ's `job.started_at`": the part of the latency until the work horse (forked for each job) began RQ's bookkeeping — queue wait, dequeue, fork; the rest is importing and calling the function. "Until `job_run.started_at`": until the kit's runner wrote the claim (its first transaction in the horse); after it come the user lookup and the heartbeat thread. "Body starts per s" = jobs ÷ (last body start − first enqueue), summed over rounds.

{tbl}
""" + (f"""
Where the kit's work horse spends its time ({args.breakdown} attempts of `bench.noop`, each in a process forked from one prepared like `python -m jobs.worker`: kinds loaded, orphans reaped, engine disposed; the runner's own steps called one by one, so RQ's part is not in it):

{breakdown}
""" if breakdown else "")
    print(f"\nwrote {lp.write_docs(SECTION_TITLE, section)}")


if __name__ == "__main__":
    main()
