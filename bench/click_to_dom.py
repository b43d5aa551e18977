"""What a user feels: click → new rows in the DOM, in headless Chromium, on the numbers list at 10M
rows and on the stock products list — p50 and p95, split into where the time goes.

Starts the real app (``reflex run --env prod --single-port``, 2 Granian workers, as the e2e tests do)
on ``pult_bench_numbers`` (``bench/seed_numbers.py`` fills it: 10,000,000 numbers; the demo data is
loaded on top once, for the stock list and the admin/admin login) and the Redis named by
``REDIS_URL``. One Chromium page, signed in as admin, then per action, ``--repeats`` times
interleaved with its reset:

* numbers: **next page**, **first page**, **last page**, **sort** (the phone column's header,
  ascending and descending in turn), **filter** (a status picked in the status filter's picker),
  **filter cleared**, **search** (a typed number fragment, "916 55", then a pause: the box's
  200 ms debounce, `SEARCH_DEBOUNCE_MS`), **search cleared**, **search + Enter** (the same, Enter pressed: sent at once);
* stock: **next page**, **sort** (the name header), **search**.

A script installed before the app's own (``add_init_script``) timestamps, on the browser's clock:
the click (a capture listener; for typed search, the last ``input`` event), the event frame the
page **sends** over the WebSocket, the last frame **received** before the rows change, the moment
the table's rows change in the DOM (a ``MutationObserver``), and the frame after that
(**paint**: two ``requestAnimationFrame`` callbacks). So each figure splits into

* ``click→send``: the browser's event handling (for the search: the input's 200 ms debounce);
* ``send→frame``: the server — Reflex runs the handler (query, titles, cells), diffs and serialises
  the state, and the delta crosses the loopback socket (its size is the ``KB`` column);
* ``frame→DOM``: React applies the delta and re-renders the table;
* ``DOM→paint``: layout and paint of the changed table.

The in-process column times the same page the kit serves (``crud.list_records`` + the relation
titles + every cell formatted, as ``ListState`` does) in this process, against the same database:
the handler's own work, so ``send→frame`` minus it is Reflex's state handling and transport.

    .venv/bin/python bench/click_to_dom.py [--repeats 20] [--no-docs] [--url http://127.0.0.1:3000]

Prints a markdown table and replaces its section of ``docs/benchmarks.md`` (a "### Reading" written
under it by hand is kept). The goal (issue 9): p50 under 100 ms click→DOM at 10M rows on a quiet host.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import list_page as lp  # noqa: E402  (also puts the project on sys.path and chdirs to it)
from live_latency import CHROMIUM, CHROMIUM_ARGS, Server, login  # noqa: E402

from sqlalchemy import create_engine, make_url, text  # noqa: E402

ROOT = lp.ROOT
DB_NAME = "pult_bench_numbers"
SECTION_TITLE = "## Click → DOM in the browser (`bench/click_to_dom.py`)"

#: Installed before any page script. Times are performance.now() (ms) on the page's clock.
PROBE_JS = """
(() => {
  const c = window.__cd = {armed: false};
  const first = () => { const b = document.querySelector('#list-table tbody'); return b ? b.textContent : ''; };
  window.__cdArm = () => Object.assign(c, {armed: true, click: 0, input: 0, send: 0, recv: 0, bytes: 0, dom: 0, paint: 0, before: first()});
  const NativeWS = window.WebSocket;
  window.WebSocket = class extends NativeWS {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (!c.armed || !c.send || c.dom) return;
        const n = typeof e.data === 'string' ? e.data.length : (e.data.byteLength || e.data.size || 0);
        if (n > 2) { c.recv = performance.now(); c.bytes += n; }  // "3" / "2": engine.io pongs
      });
    }
    send(data) {
      if (c.armed && !c.send && typeof data === 'string' && data.length > 2) c.send = performance.now();
      return super.send(data);
    }
  };
  document.addEventListener('click', () => { if (c.armed && !c.click) c.click = performance.now(); }, true);
  document.addEventListener('input', () => { if (c.armed && !c.send) c.input = performance.now(); }, true);
  new MutationObserver(() => {
    if (!c.armed || c.dom || !c.send) return;
    if (first() !== c.before) {
      c.dom = performance.now();
      requestAnimationFrame(() => requestAnimationFrame(() => { c.paint = performance.now(); c.armed = false; }));
    }
  }).observe(document, {subtree: true, childList: true, characterData: true});
})();
"""


def ensure_data(url: str, rows: int) -> str:
    """Seed the 10M numbers (once) and the demo data (once: the stock list and admin/admin)."""
    seeded = subprocess.run([sys.executable, "bench/seed_numbers.py", "--rows", str(rows), "--database", DB_NAME], cwd=ROOT,
                            env={**os.environ}, capture_output=True, text=True, timeout=3600)
    if seeded.returncode:
        raise SystemExit(seeded.stdout[-2000:] + seeded.stderr[-3000:])
    eng = create_engine(url)
    with eng.connect() as c:
        has_admin = bool(c.execute(text("SELECT 1 FROM \"user\" WHERE username = 'admin'")).scalar())
        numbers = c.execute(text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'phone_number'")).scalar()
    eng.dispose()
    if not has_admin:
        subprocess.run([sys.executable, "-m", "app.demo"], cwd=ROOT, env={**os.environ, "DATABASE_URL": url},
                       check=True, capture_output=True, timeout=600)
    return f"≈ {numbers:,} numbers"


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


class Probe:
    """One page with the probe installed; :meth:`measure` runs an action and returns its timings."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def measure(self, act, timeout: float = 30) -> dict[str, float]:
        self.page.evaluate("window.__cdArm()")
        act()
        try:
            self.page.wait_for_function("() => window.__cd.paint > 0", timeout=timeout * 1000, polling=10)
        except Exception:
            state = self.page.evaluate("() => Object.assign({}, window.__cd)")
            self.page.screenshot(path="/tmp/click_to_dom_timeout.png")
            raise RuntimeError(f"the rows did not change (probe: {state}); screenshot /tmp/click_to_dom_timeout.png") from None
        c = self.page.evaluate("() => Object.assign({}, window.__cd)")
        start = c["input"] or c["click"] or c["send"]
        return {
            "total": c["dom"] - start,
            "click_send": c["send"] - start,
            "send_frame": c["recv"] - c["send"],
            "frame_dom": c["dom"] - c["recv"],
            "dom_paint": c["paint"] - c["dom"],
            "kb": c["bytes"] / 1024,
            "send_dom": c["dom"] - c["send"],
        }


def handler_core(url: str) -> dict[str, float]:
    """The handler's own work per action, in this process: the page of rows, their relation titles
    and every cell formatted (what ``ListState`` does before Reflex serialises the state)."""
    os.environ["DATABASE_URL"] = url
    from app.boot import boot

    boot()
    from sqlmodel import Session

    from app.core import crud
    from app.core.display import fmt_cell
    from app.core.principal import SYSTEM
    from app.core.query import ListParams, relation_titles
    from app.core.registry import RESOURCES

    eng = create_engine(url)
    cases = {
        "numbers: next page": ("numbers.numbers", {"cursor": ""}),
        "numbers: last page": ("numbers.numbers", {"cursor": "last"}),
        "numbers: sort": ("numbers.numbers", {"sort": "phone"}),
        "numbers: search": ("numbers.numbers", {"search": "916 55"}),
        "stock: sort": ("stock.products", {"sort": "name"}),
    }
    out = {}
    for name, (key, kw) in cases.items():
        res = RESOURCES[key]()
        times = []
        for i in range(8):
            with Session(eng) as db:
                t0 = time.perf_counter()
                page = crud.list_records(db, res, SYSTEM, ListParams(page_size=res.page_size, count_mode="estimate", **kw))
                titles = relation_titles(db, res, SYSTEM, page.rows, "ru")  # noqa: F841 - the work is the point
                for row in page.rows:
                    for column in res.columns:
                        fmt_cell(column, row, "ru")
                if i >= 2:
                    times.append((time.perf_counter() - t0) * 1000)
        out[name] = pct(times, 0.5)
    eng.dispose()
    return out


def run(base: str, repeats: int) -> dict[str, list[dict[str, float]]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[dict[str, float]]] = {}

    def add(name: str, m: dict[str, float]) -> None:
        results.setdefault(name, []).append(m)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
        ctx.add_init_script(PROBE_JS)
        page = ctx.new_page()
        login(page, "admin", "admin")
        probe = Probe(page)

        page.goto("/numbers/numbers")
        page.wait_for_selector("#list-table tbody tr")
        page.wait_for_timeout(1500)  # the background exact count and the first live subscription settle
        header = page.locator("#list-table thead button", has_text="Телефон")
        search = page.locator("input#list-search, #list-search input").first
        status_input = page.locator("#filter-status_id input")
        for _ in range(repeats):
            add("numbers: next page", probe.measure(lambda: page.click("#page-next")))
            add("numbers: first page", probe.measure(lambda: page.click("#page-first")))
            add("numbers: last page", probe.measure(lambda: page.click("#page-last")))
            probe.measure(lambda: page.click("#page-first"))
            add("numbers: sort", probe.measure(lambda: header.click()))
            status_input.click()
            page.locator("[data-picker='filter:status_id'] button").first.wait_for()
            option = page.locator("[data-picker='filter:status_id'] button").nth(1)
            add("numbers: filter", probe.measure(lambda: option.click()))
            clear = page.locator("#filter-status_id button").first
            add("numbers: filter cleared", probe.measure(lambda: clear.click()))
            add("numbers: search", probe.measure(lambda: search.fill("916 55")))
            add("numbers: search cleared", probe.measure(lambda: search.fill("")))
            # Typed and Enter pressed: the debounced input sends at once (forceNotifyByEnter)
            add("numbers: search + Enter", probe.measure(lambda: (search.fill("916 55"), search.press("Enter"))))
            probe.measure(lambda: search.fill(""))

        page.goto("/stock/products")
        page.wait_for_selector("#list-table tbody tr")
        page.wait_for_timeout(1000)
        name_header = page.locator("#list-table thead button", has_text="Название")
        search = page.locator("input#list-search, #list-search input").first
        for _ in range(repeats):
            if page.locator("#page-next").is_enabled():
                add("stock: next page", probe.measure(lambda: page.click("#page-next")))
                probe.measure(lambda: page.click("#page-first"))
            add("stock: sort", probe.measure(lambda: name_header.click()))
            add("stock: search", probe.measure(lambda: search.fill("кабель")))
            probe.measure(lambda: search.fill(""))
        browser.close()
    return results


def table(results: dict[str, list[dict[str, float]]], core: dict[str, float]) -> str:
    lines = ["| action | click→DOM p50 / p95 ms | click→send | send→frame (server) | in-process handler work | frame→DOM (render) | DOM→paint | delta KB | n |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, ms in results.items():
        col = {k: pct([m[k] for m in ms], 0.5) for k in ms[0]}
        work = core.get(name.replace(" cleared", "").replace(" + Enter", "").replace("first page", "next page"))
        lines.append(f"| {name} | {col['total']:.0f} / {pct([m['total'] for m in ms], 0.95):.0f} | {col['click_send']:.0f} | "
                     f"{col['send_frame']:.0f} | {f'{work:.1f}' if work is not None else '—'} | {col['frame_dom']:.0f} | "
                     f"{col['dom_paint']:.0f} | {col['kb']:.1f} | {len(ms)} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--url", help="a Pult already running on the benchmark database")
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args()

    admin, bench = lp.urls()
    url = make_url(bench).set(database=DB_NAME).render_as_string(hide_password=False)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0] + "/13"
    started = dt.datetime.now(dt.timezone.utc)
    note = ensure_data(url, args.rows)
    core = handler_core(url)
    server = None if args.url else Server(url, redis_url, timeout=600)
    try:
        results = run(args.url or server.base, args.repeats)
    finally:
        if server is not None:
            server.stop()
    body = table(results, core)
    print(body)
    if args.no_docs:
        return
    section = "\n".join([
        SECTION_TITLE, "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC; load average at the end {lp.loadavg()}.",
        f"- Machine: {lp.machine(url)}.",
        f"- Data: `pult_bench_numbers`, {note} (`bench/seed_numbers.py`), plus the demo data (the stock list).",
        f"- Command: `.venv/bin/python bench/click_to_dom.py --repeats {args.repeats}`",
        "", body, "",
    ])
    print(f"docs: {lp.write_docs(SECTION_TITLE, section)}")


if __name__ == "__main__":
    main()
