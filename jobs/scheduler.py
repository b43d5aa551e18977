"""The schedule loop: ``python -m jobs.scheduler``.

Every ``PULT_SCHEDULER_INTERVAL`` seconds (5) it reaps orphaned runs and fires the schedules
whose tick has come (:func:`app.core.jobs.fire_due_schedules`). Running several is safe: each
due schedule is fired once per tick by whichever takes its row lock first.

    python -m jobs.scheduler [--interval SECONDS] [--once]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from app.boot import boot
from app.core import jobs, logs
from app.core.db import session_scope

log = logging.getLogger("pult.jobs.scheduler")


def tick() -> None:
    """One pass: reap, then fire what is due. Each part survives the other's failure."""
    try:
        with session_scope() as db:
            jobs.reap_orphans(db)
    except Exception:
        log.exception("reaping failed")
    try:
        with session_scope() as db:
            jobs.fire_due_schedules(db)
    except Exception:
        log.exception("firing schedules failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=float(os.environ.get("PULT_SCHEDULER_INTERVAL", "5")))
    parser.add_argument("--once", action="store_true", help="run one pass and exit")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logs.configure(level=args.log_level)  # JSON or text by PULT_LOG_FORMAT, secrets redacted

    boot()
    try:  # the schedules the deployment needs (nightly backup, panels' checks), when missing
        with session_scope() as db:
            made = jobs.ensure_system_schedules(db)
        if made:
            log.info("created system schedules: %s", ", ".join(made))
    except Exception:
        log.exception("creating the system schedules failed")
    if args.once:
        tick()
        return 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    log.info("scheduler started (every %g s); job kinds: %s", args.interval, ", ".join(sorted(jobs.KINDS)) or "none")
    while not stop.is_set():
        tick()
        stop.wait(args.interval)
    log.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
