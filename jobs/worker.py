"""The RQ worker for Pult: ``python -m jobs.worker`` (queue ``pult``).

Unlike a bare ``rq worker`` it loads the panels (and ``PULT_JOB_MODULES``) first, so every job
kind is known before a work horse is forked, reaps runs orphaned by a dead worker at start,
and runs RQ's scheduler (one per Redis, by lock) so delayed retries are enqueued on time.

    python -m jobs.worker [--burst] [--name NAME] [--no-scheduler] [queue ...]
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from app.boot import boot
from app.core import jobs, logs
from app.core.db import engine, session_scope

log = logging.getLogger("pult.jobs.worker")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.worker", description=__doc__.splitlines()[0])
    parser.add_argument("queues", nargs="*", default=[jobs.QUEUE])
    parser.add_argument("--burst", action="store_true", help="work until the queues are empty, then exit")
    parser.add_argument("--name", default=None)
    parser.add_argument("--no-scheduler", action="store_true", help="do not run RQ's scheduler (delayed retries wait for another worker's)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logs.configure(level=args.log_level)  # JSON or text by PULT_LOG_FORMAT, secrets redacted

    from rq import Worker

    boot()
    importlib.import_module("jobs.runner")  # imported once here, inherited by every forked work horse (bench/jobs_latency.py)

    try:
        with session_scope() as db:
            jobs.reap_orphans(db)
    except Exception:  # a worker that cannot reap still works; the scheduler reaps too
        log.exception("reaping orphaned runs at start failed")
    # Work horses are forked from this process: hand them no pooled database connections.
    engine().dispose()
    conn = jobs.rq_connection()
    worker = Worker(args.queues, name=args.name, connection=conn)
    log.info("worker %s on %s; job kinds: %s", worker.name, ", ".join(args.queues), ", ".join(sorted(jobs.KINDS)) or "none")
    worker.work(burst=args.burst, with_scheduler=not args.no_scheduler, logging_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
