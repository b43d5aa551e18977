"""The job kind ``bench/jobs_latency.py`` times: a no-op whose first act is to note the wall clock.

Loaded by the workers through ``PULT_JOB_MODULES=bench.jobkinds`` (with the project on PYTHONPATH)
and by the benchmark itself, which enqueues it with ``app.core.jobs.enqueue``.
"""

from __future__ import annotations

import json
import time
from datetime import timezone

from app.core.jobs import JobContext, job_kind
from app.core.redis import redis_client

#: Redis list the job bodies push ``[seq, body started, run.started_at, RQ job.started_at]`` (epoch seconds) onto.
STARTED_KEY = "bench:jobs:kit:started"


@job_kind("bench.noop", timeout=30)
def noop(ctx: JobContext, seq: int) -> None:
    started = time.time()  # first thing in the body: the latency ends here
    from rq import get_current_job

    rq_job = get_current_job()
    rq_started = rq_job.started_at.replace(tzinfo=timezone.utc).timestamp() if rq_job and rq_job.started_at else None
    run_started = ctx.run.started_at.timestamp() if ctx.run.started_at else None
    redis_client().rpush(STARTED_KEY, json.dumps([seq, started, run_started, rq_started]))
