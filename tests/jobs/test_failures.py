"""Failures on a real worker: retries with backoff, the error kept, and the time limit."""

from __future__ import annotations

from jobtools import wait_for

from app.core import jobs
from models.jobs import JobStatus


def test_retries_with_backoff_then_failed_or_succeeded(db, users, start_worker, row, redis_conn):
    worker = start_worker()
    doomed = jobs.enqueue(db, users["manager"], "test.flaky", {"fail_times": 99, "tag": "doomed"})
    lucky = jobs.enqueue(db, users["manager"], "test.flaky", {"fail_times": 1, "tag": "lucky"})

    between: list = []

    def doomed_finished():
        r = row(doomed.id)
        if r.status == JobStatus.queued and r.attempts >= 1:
            between.append(r)
        return r if JobStatus(r.status).finished else None

    failed = wait_for(doomed_finished, 25, "the doomed run to give up")
    assert failed.status == JobStatus.failed
    assert failed.attempts == 3 and failed.max_attempts == 3
    assert failed.error.startswith("RuntimeError: boom on attempt 3")
    # The traceback goes to the worker's log, never into the run its owner reads on pages and in the API.
    assert "Traceback" not in failed.error and "Traceback" in worker.output()
    assert failed.finished_at is not None
    # Between attempts the row said so: queued again, with the last error and when the next try comes.
    assert between and between[0].error.startswith("RuntimeError: boom on attempt 1")
    assert "next in 0.5 s" in between[0].message

    times = [float(t) for t in redis_conn.lrange("test:attempts:doomed", 0, -1)]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.45 and times[2] - times[1] >= 0.95  # backoff (0.5, 1.0)

    ok = wait_for(lambda: (r := row(lucky.id)) and JobStatus(r.status).finished and r, 15, "the lucky run")
    assert ok.status == JobStatus.succeeded and ok.attempts == 2 and ok.error is None and ok.result == "ok"
    assert redis_conn.llen("test:attempts:lucky") == 2


def test_time_limit_kills_a_long_job_and_marks_it_failed(db, users, start_worker, row, redis_conn):
    """test.timeout: 1 s limit, sleeps 10 s; max_attempts=2 but a time-out is not retried."""
    start_worker()
    run = jobs.enqueue(db, users["manager"], "test.timeout", {"seconds": 10, "tag": "long"})
    done = wait_for(lambda: (r := row(run.id)) and JobStatus(r.status).finished and r, 12, "the time limit")
    assert done.status == JobStatus.failed
    assert done.error == "Time limit of 1 s exceeded."
    assert done.attempts == 1
    assert (done.finished_at - done.started_at).total_seconds() < 5
    assert redis_conn.get("test:started:long") == "1" and redis_conn.get("test:done:long") is None
