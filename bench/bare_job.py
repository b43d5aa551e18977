"""The baseline job of ``bench/jobs_latency.py``: a plain function for a plain ``rq worker``.

Deliberately imports nothing of the project, so the bare worker pays only RQ's own costs.
"""

from __future__ import annotations

import json
import time
from datetime import timezone

import redis

STARTED_KEY = "bench:jobs:bare:started"


def noop(seq: int, redis_url: str) -> None:
    started = time.time()  # first thing in the body: the latency ends here
    from rq import get_current_job

    rq_job = get_current_job()
    rq_started = rq_job.started_at.replace(tzinfo=timezone.utc).timestamp() if rq_job and rq_job.started_at else None
    redis.Redis.from_url(redis_url).rpush(STARTED_KEY, json.dumps([seq, started, None, rq_started]))
