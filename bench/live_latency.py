"""Change-to-screen latency in a second browser: a committed change to a product until the new value
is in the DOM of another browser showing the products list — live push vs a full page reload.

Starts the real app (``reflex run --env prod --single-port``, 2 Granian workers, as
``tests/e2e/conftest.py`` does) on database ``pult_bench_live`` (migrated, demo data loaded) and the
Redis named by ``REDIS_URL`` (flushed at start: give it a database nobody else uses), then opens two
Playwright contexts in Debian's Chromium, both logged in as admin/admin. Browser B shows
``/stock/products``; a ``MutationObserver`` installed in B (``add_init_script``, so it survives
reloads) notes ``performance.timeOrigin + performance.now()`` the moment the watched row's text
contains the expected value. Browser clocks are mapped onto this process's ``time.time()`` by
calibration (the evaluate round trip with the smallest RTT), so every figure is on one host clock.

Paths, interleaved, ``--changes`` times each (a new ``supplier_name`` every time):

* **service**: ``crud.update_record`` in this process (the server's DB and Redis) — t0 just before
  the call, which commits and publishes; B updates live.
* **browser A**: A's edit form — t0 when A's "Save" click event fires (a capture listener in A); B
  updates live.
* **reload (baseline)**: the same service commit, then ``page.reload()`` of B at once; t0 as for
  "service", end when the reloaded page shows the value: what the change costs a viewer without
  live updates who presses F5 the instant it is committed.
* **Redis pub/sub (floor)**: ``PUBLISH`` here → a subscriber in another process; the transport alone.

    .venv/bin/python bench/live_latency.py [--changes 50] [--gap 0.3] [--no-docs]
    .venv/bin/python bench/live_latency.py --quick                    # 5 changes per path, docs untouched
    .venv/bin/python bench/live_latency.py --url http://127.0.0.1:3000 # a server you already run (its DB: --db-url)

Prints a markdown table and replaces its section of ``docs/benchmarks.md`` (a hand-written
"### Reading" under it is kept).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
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
DB_NAME = "pult_bench_live"
SECTION_TITLE = "## Live updates: change-to-screen latency in a second browser (`bench/live_latency.py`)"
LOG_DIR = Path(tempfile.gettempdir()) / "pult-bench-live"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

#: Installed in B before any page script, on every (re)load. Expectation in sessionStorage so it survives reloads.
OBSERVER_JS = """
(() => {
  window.__bench = {expect: sessionStorage.getItem('bench_expect'), pid: sessionStorage.getItem('bench_pid'),
                    seen: JSON.parse(sessionStorage.getItem('bench_seen') || '{}'),
                    sock: JSON.parse(sessionStorage.getItem('bench_sock') || '{}')};
  // The first WebSocket frame that carries the expected value: splits server time from render time.
  const NativeWS = window.WebSocket;
  window.WebSocket = class extends NativeWS {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        const b = window.__bench;
        if (b.expect && !b.sock[b.expect] && typeof e.data === 'string' && e.data.includes(b.expect)) {
          b.sock[b.expect] = performance.timeOrigin + performance.now();
          sessionStorage.setItem('bench_sock', JSON.stringify(b.sock));
        }
      });
    }
  };
  const check = () => {
    const b = window.__bench;
    if (!b.expect || !b.pid || b.seen[b.expect]) return;
    const el = document.getElementById('row-' + b.pid);
    if (el && el.textContent.includes(b.expect)) {
      b.seen[b.expect] = performance.timeOrigin + performance.now();
      sessionStorage.setItem('bench_seen', JSON.stringify(b.seen));
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true});
})();
"""
#: Installed in A: the wall-clock time of the last click on the form's Save button.
CLICK_JS = """
document.addEventListener('click', (e) => {
  if (e.target && e.target.closest && e.target.closest('#form-save')) window.__benchClick = performance.timeOrigin + performance.now();
}, true);
"""


# --------------------------------------------------------------------------- database and server
def db_url() -> tuple[str, str]:
    admin, bench = lp.urls()
    return admin, make_url(bench).set(database=DB_NAME).render_as_string(hide_password=False)


def ensure_db(admin_url: str, url: str) -> str:
    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DB_NAME}).scalar():
            c.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    eng.dispose()
    note = migrate_or_keep(url, needs=("product", "user", "role"))
    eng = create_engine(url)
    with eng.connect() as c:
        has_admin = bool(c.execute(text("SELECT 1 FROM \"user\" WHERE username = 'admin'")).scalar())
    eng.dispose()
    if not has_admin:
        subprocess.run([sys.executable, "-m", "app.demo"], cwd=ROOT, env={**os.environ, "DATABASE_URL": url},
                       check=True, capture_output=True, timeout=300)
    return note


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bun_dir() -> str | None:
    found = shutil.which("bun")
    if found:
        return str(Path(found).parent)
    local = ROOT / ".tools" / "node_modules" / ".bin" / "bun"
    return str(local.parent) if local.exists() else None


class Server:
    """``reflex run --env prod --single-port`` in its own session, like the e2e ``app_url`` fixture."""

    def __init__(self, url: str, redis_url: str, timeout: float) -> None:
        import httpx

        others = subprocess.run(["pgrep", "-af", "reflex (run|export)"], capture_output=True, text=True).stdout.strip()
        if others:
            print(f"note: other reflex processes are running (a build in {ROOT} at the same time would clash):\n{others}", flush=True)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "PULT_PORT": str(self.port), "GRANIAN_WORKERS": "2",
               "REFLEX_USE_SYSTEM_BUN": "1", "NPM_CONFIG_REGISTRY": os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org/")}
        if bun_dir():
            env["PATH"] = bun_dir() + os.pathsep + env.get("PATH", "")
        self.log_path = LOG_DIR / "server.log"
        self.log = open(self.log_path, "w")
        reflex = str(Path(sys.executable).with_name("reflex"))
        self.proc = subprocess.Popen([reflex, "run", "--env", "prod", "--single-port", "--frontend-port", str(self.port),
                                      "--backend-port", str(self.port), "--loglevel", "warning"],
                                     cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(httpx.HTTPError):
                if (httpx.get(f"{self.base}/health", timeout=2).status_code == 200
                        and httpx.get(f"{self.base}/login", timeout=5, follow_redirects=True).status_code == 200):
                    self.start_seconds = time.time() - t0
                    return
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"Pult did not start; see {self.log_path}:\n" + self.log_path.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


# --------------------------------------------------------------------------- browser helpers
def login(page: Any, username: str, password: str) -> None:
    """As tests/e2e/conftest.py ``login``."""
    page.goto("/login")
    page.wait_for_selector("#login-username")
    page.wait_for_function("() => !!document.querySelector('#login-submit')")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_selector("#current-user", timeout=30_000)


def clock_offset_ms(page: Any, samples: int = 15) -> tuple[float, float]:
    """(browser clock − this process's clock, ± half the best round trip), in ms."""
    best = None
    for _ in range(samples):
        t1 = time.time() * 1000
        b = page.evaluate("performance.timeOrigin + performance.now()")
        t2 = time.time() * 1000
        if best is None or t2 - t1 < best[1]:
            best = (b - (t1 + t2) / 2, t2 - t1)
    return best[0], best[1] / 2


def expect_value(page: Any, pid: int, value: str) -> None:
    page.evaluate("([pid, v]) => { sessionStorage.setItem('bench_pid', pid); sessionStorage.setItem('bench_expect', v);"
                  " window.__bench.pid = pid; window.__bench.expect = v; }", [str(pid), value])


def seen_at(page: Any, value: str, timeout: float = 15) -> float:
    """Browser wall-clock ms when the value reached B's DOM (the observer's note)."""
    handle = page.wait_for_function("(v) => window.__bench && window.__bench.seen[v]", arg=value, timeout=timeout * 1000, polling=20)
    return float(handle.json_value())


def frame_at(page: Any, value: str) -> float | None:
    """Browser wall-clock ms when the first WebSocket frame carrying the value arrived in B (None if not seen)."""
    t = page.evaluate("(v) => window.__bench.sock[v] || null", value)
    return float(t) if t else None


# --------------------------------------------------------------------------- pub/sub floor
SUBSCRIBER = """
import json, sys, time, redis
r = redis.Redis.from_url(sys.argv[1])
ps = r.pubsub(); ps.subscribe('bench:live:ping')
print('ready', flush=True)
for m in ps.listen():
    if m['type'] != 'message':
        continue
    t = time.time()
    if m['data'] == b'stop':
        break
    r.rpush('bench:live:pong', json.dumps([m['data'].decode(), t]))
"""


def pubsub_rtt(redis_url: str, n: int) -> list[float]:
    import redis

    r = redis.Redis.from_url(redis_url)
    sub = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, redis_url], stdout=subprocess.PIPE, text=True)
    sub.stdout.readline()
    time.sleep(0.2)
    out = []
    for i in range(n + 5):
        t0 = time.time()
        r.publish("bench:live:ping", str(i))
        _key, raw = r.blpop(["bench:live:pong"], timeout=5)
        seq, t = json.loads(raw)
        if i >= 5:  # warm-up
            out.append((t - t0) * 1000)
        time.sleep(0.01)
    r.publish("bench:live:ping", "stop")
    sub.wait(timeout=5)
    return out


# --------------------------------------------------------------------------- the benchmark
def run(args: argparse.Namespace, base: str, url: str, redis_url: str) -> dict[str, Any]:
    import redis
    from playwright.sync_api import sync_playwright
    from sqlmodel import Session

    from app.core import crud
    from app.core import db as dbm
    from app.core import redis as redis_mod
    from app.core.auth import current_user_for
    from app.boot import boot
    from app.core.registry import resource
    from models.core import User

    boot()
    engine = create_engine(url, pool_pre_ping=True)
    dbm.set_engine(engine)
    redis_mod.set_redis(redis.Redis.from_url(redis_url, decode_responses=True))
    res = resource("stock.products")
    with Session(engine, expire_on_commit=False) as db:
        from sqlmodel import select

        admin = current_user_for(db, db.exec(select(User).where(User.username == "admin")).one())
    out: dict[str, list[float]] = {"service": [], "browser A": [], "reload": [], "commit": [], "offsets": [],
                                   "service:frame": [], "browser A:frame": [], "reload:frame": []}

    def note_frame(path: str, value: str, seen: float) -> None:
        """The part of a sample after B's socket received the frame with the value (render + React commit)."""
        f = frame_at(b, value)
        if f is not None:
            out[path + ":frame"].append(seen - f)
    run_tag = dt.datetime.now().strftime("%H%M%S")

    last = [""]  # the supplier_name the product has now

    def commit(pid: int, value: str) -> float:
        """Service commit; returns t0 (ms, this clock) taken just before the call."""
        last[0] = value
        with Session(engine, expire_on_commit=False) as db:
            t0 = time.time() * 1000
            crud.update_record(db, res, admin, pid, {"supplier_name": value})
            out["commit"].append(time.time() * 1000 - t0)
        return t0

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx_a = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900}, locale="ru-RU")
        ctx_b = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900}, locale="ru-RU")
        ctx_b.add_init_script(OBSERVER_JS)
        ctx_a.add_init_script(CLICK_JS)
        a, b = ctx_a.new_page(), ctx_b.new_page()
        for pg in (a, b):
            pg.set_default_timeout(30_000)
        login(b, "admin", "admin")
        login(a, "admin", "admin")
        b.goto("/stock/products")
        b.wait_for_selector("#list-table tbody tr[id^=row-]")
        pid = int(b.locator("#list-table tbody tr[id^=row-]").first.get_attribute("id").removeprefix("row-"))
        off_b, err_b = clock_offset_ms(b)
        out["offsets"].append(off_b)

        def service_once(i: int) -> float:
            value = f"Bench {run_tag}-s{i}"
            expect_value(b, pid, value)
            t0 = commit(pid, value)
            seen = seen_at(b, value)
            note_frame("service", value, seen)
            return seen - off_b - t0

        def ui_once(i: int) -> float:
            value = f"Bench {run_tag}-a{i}"
            a.goto(f"/stock/products/{pid}/edit")
            field = a.locator("#field-supplier_name")
            a.wait_for_function("(v) => { const f = document.querySelector('#field-supplier_name'); return f && f.value === v; }", arg=last[0])
            field.fill(value)
            a.wait_for_timeout(100)  # let the on_change event reach the backend before Save
            expect_value(b, pid, value)
            off_a, _err = clock_offset_ms(a, 5)
            a.evaluate("() => { window.__benchClick = null; }")
            a.click("#form-save")
            last[0] = value
            seen = seen_at(b, value)
            clicked = a.evaluate("() => window.__benchClick")
            a.wait_for_url(f"**/stock/products/{pid}")
            note_frame("browser A", value, seen)
            return (seen - off_b) - (clicked - off_a)

        def reload_once(i: int) -> float:
            nonlocal off_b
            value = f"Bench {run_tag}-r{i}"
            expect_value(b, pid, value)
            t0 = commit(pid, value)
            b.reload(wait_until="commit")
            seen = seen_at(b, value, timeout=30)
            note_frame("reload", value, seen)
            off_b, _ = clock_offset_ms(b)  # a new document: calibrate its clock again
            out["offsets"].append(off_b)
            b.wait_for_selector(f"#row-{pid}")
            b.wait_for_timeout(300)  # the reloaded page is settled and watching again before the next live change
            return seen - off_b - t0

        # warm-up: one of each, not recorded
        commit(pid, f"Bench {run_tag}-w0")
        b.wait_for_timeout(500)
        service_once(-1)
        ui_once(-1)
        reload_once(-1)
        for key in ("service:frame", "browser A:frame", "reload:frame"):
            out[key].clear()
        out["commit"].clear()
        for i in range(args.changes):
            for name, fn in (("service", service_once), ("browser A", ui_once), ("reload", reload_once)):
                if name == "browser A" and args.no_ui:
                    continue
                out[name].append(fn(i))
                b.wait_for_timeout(int(args.gap * 1000))
            if (i + 1) % 10 == 0:
                print(f"  {i + 1} changes per path done", flush=True)
        off_end, _ = clock_offset_ms(b)
        out["offsets"].append(off_end)
        out["clock_err"] = [err_b]
        browser.close()
    engine.dispose()
    out["pubsub"] = pubsub_rtt(redis_url, args.changes * 2)
    return out


def p(xs: list[float], q: float) -> float:
    return lp.pct(xs, q)


def fmt(x: float) -> str:
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def ratio_text(r: float) -> str:
    return f"{r:.2f}×" if r >= 0.01 else f"{r:.4f}×"


def table(out: dict[str, Any]) -> str:
    base = p(out["reload"], 0.5)
    rows = [
        ("service", "`crud.update_record` in another process → B, live", "t0 before the service call (which commits and publishes) → value in B's DOM"),
        ("browser A", "edit form in browser A → B, live", "t0 at A's Save click event → value in B's DOM"),
        ("reload", "baseline: same service commit, then B `page.reload()`", "t0 before the service call → value in the reloaded B's DOM"),
        ("pubsub", "floor: Redis `PUBLISH` → subscriber in another process", "publish call → message received"),
    ]
    lines = ["| path | what is timed | n | p50 / p95 / max ms | ÷ reload (p50) | of which after the frame reached B's socket (render), p50 ms |",
             "|---|---|---|---|---|---|"]
    for key, label, what in rows:
        xs = out.get(key) or []
        if not xs:
            continue
        fr = out.get(key + ":frame") or []
        lines.append(f"| {label} | {what} | {len(xs)} | {fmt(p(xs, .5))} / {fmt(p(xs, .95))} / {fmt(max(xs))} | {ratio_text(p(xs, .5) / base)} | "
                     f"{fmt(p(fr, .5)) + (f' (n={len(fr)})' if len(fr) != len(xs) else '') if fr else '–'} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--changes", type=int, default=50, help="changes per path")
    ap.add_argument("--gap", type=float, default=0.3, help="seconds between changes (more than the live refresh's 50 ms coalescing)")
    ap.add_argument("--no-ui", action="store_true", help="skip the browser-A path")
    ap.add_argument("--url", default="", help="use a server already running at this URL (its database: --db-url, its Redis: REDIS_URL)")
    ap.add_argument("--db-url", default="", help="with --url: the server's DATABASE_URL")
    ap.add_argument("--start-timeout", type=float, default=900, help="seconds to wait for the server (the first frontend build takes minutes)")
    ap.add_argument("--no-docs", action="store_true", help="print the table only; leave docs/benchmarks.md alone")
    ap.add_argument("--quick", action="store_true", help="smoke run: 5 changes per path, docs untouched")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up (workers, server) on kill
    if args.quick:
        args.changes, args.no_docs = 5, True
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing (apt-get install chromium); this benchmark never downloads a browser")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6392/1")
    import redis

    schema_note = ""
    if args.url:
        from app.core.config import _normalise_db_url

        base, url = args.url.rstrip("/"), _normalise_db_url(args.db_url) if args.db_url else db_url()[1]
        start_s = None
    else:
        admin_url, url = db_url()
        schema_note = ensure_db(admin_url, url)
        redis.Redis.from_url(redis_url).flushdb()
    load_start = lp.loadavg()
    server = None
    try:
        if not args.url:
            print("starting the app (reflex run --env prod) ...", flush=True)
            server = Server(url, redis_url, args.start_timeout)
            base, start_s = server.base, server.start_seconds
            print(f"app ready at {base} after {start_s:.0f} s", flush=True)
        out = run(args, base, url, redis_url)
    finally:
        if server is not None:
            server.stop()
    tbl = table(out)
    drift = max(out["offsets"]) - min(out["offsets"])
    extra = (f"Clock calibration: browser B − bench clock {out['offsets'][0]:+.1f} ms (± {out['clock_err'][0]:.1f} ms), "
             f"spread over the run (reloads included) {drift:.1f} ms. Service call (update + audit + commit + publish) "
             f"p50 {p(out['commit'], .5):.1f} ms, inside the service and reload figures.")
    print("\n" + tbl + "\n\n" + extra)
    if args.no_docs:
        return
    env_prefix = " ".join(f"{k}={os.environ[k]}" for k in ("DATABASE_URL", "REDIS_URL") if k in os.environ)
    cmd = f"{env_prefix} .venv/bin/python bench/live_latency.py {' '.join(sys.argv[1:])}".strip()
    today = subprocess.run(["date", "-u", "+%F"], check=False, capture_output=True, text=True).stdout.strip() or dt.date.today().isoformat()
    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    section = f"""{SECTION_TITLE}

- Date: {today}
- Command: `{cmd}`
- Machine: {lp.machine(url)}, {chromium} headless (Playwright), Redis {redis.Redis.from_url(redis_url).info('server')['redis_version']}; all on one host; 1-minute load average {load_start} at the start, {lp.loadavg()} at the end
- Server: {'`' + args.url + '`' if args.url else f'`reflex run --env prod --single-port`, GRANIAN_WORKERS=2, ready {start_s:.0f} s after start'}; database `{DB_NAME}` (migrated, demo data{'; ' + schema_note if schema_note else ''}); its Redis flushed at start.
- Measured: browser B (admin) shows `/stock/products`; the first row's product gets a new `supplier_name` each time ({args.changes} changes per path, paths interleaved, {args.gap:.1f} s apart, after one warm-up each). A `MutationObserver` in B notes `performance.timeOrigin + performance.now()` when the row's text contains the new value; browser clocks are mapped onto the bench process's clock by the evaluate round trip with the smallest RTT. Browser A (admin, its own context) edits through `/stock/products/<id>/edit` and Save. A single change is refreshed at once; `COALESCE_SECONDS` (50 ms, `app/core/live.py`) only spaces out the refreshes of a burst, and the changes here are 0.3 s apart.

{tbl}

{extra}
"""
    print(f"\nwrote {lp.write_docs(SECTION_TITLE, section)}")


if __name__ == "__main__":
    main()
