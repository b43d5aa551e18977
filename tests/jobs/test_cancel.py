"""Cancelling from the UI: a queued run never starts; a running one is stopped on its worker."""

from __future__ import annotations

import pytest
from jobtools import wait_for
from rq.job import Job
from rq.job import JobStatus as RQStatus
from sqlmodel import select

from app.core import jobs
from app.core.errors import PermissionDenied
from models.core import AuditLog
from models.jobs import JobStatus


def test_cancel_a_queued_run(db, users, start_worker, row, redis_conn):
    run = jobs.enqueue(db, users["manager"], "test.slow", {"seconds": 0.1, "tag": "never"})
    with pytest.raises(PermissionDenied):  # neither the owner nor jobs.cancel
        jobs.cancel(db, users["user"], run.id)
    cancelled = jobs.cancel(db, users["manager"], run.id)
    assert cancelled.status == JobStatus.cancelled and cancelled.finished_at is not None
    assert Job.fetch(run.rq_job_id, connection=jobs.rq_connection()).get_status() == RQStatus.CANCELED
    assert jobs.cancel(db, users["manager"], run.id).status == JobStatus.cancelled  # twice: no-op
    audit_rows = db.exec(select(AuditLog).where(AuditLog.action == "job.cancel")).all()
    assert [a.username for a in audit_rows] == ["manager"]

    # Even if the RQ job were delivered anyway, the runner sees the row and does nothing.
    from jobs import runner

    runner.execute(run.id)
    worker = start_worker("--burst")
    worker.popen.wait(timeout=30)
    assert row(run.id).status == JobStatus.cancelled
    assert redis_conn.get("test:started:never") is None


def test_cancel_a_running_run_stops_its_worker_job(db, users, start_worker, row, redis_conn):
    start_worker()
    run = jobs.enqueue(db, users["manager"], "test.slow", {"seconds": 30, "tag": "stopme"})
    wait_for(lambda: redis_conn.get("test:started:stopme") and row(run.id).status == JobStatus.running, 15, "the job to start")

    jobs.cancel(db, users["admin"], run.id)  # not the owner, but admin has jobs.cancel (via *)
    assert row(run.id).status == JobStatus.cancelled

    conn = jobs.rq_connection()
    wait_for(lambda: Job.fetch(run.rq_job_id, connection=conn).get_status() == RQStatus.STOPPED, 10, "RQ to stop the job")
    after = row(run.id)
    assert after.status == JobStatus.cancelled and after.message == "cancelled by admin"
    assert redis_conn.get("test:done:stopme") is None

    # The worker lives on and takes the next job.
    nxt = jobs.enqueue(db, users["manager"], "test.count", {"tag": "next"})
    wait_for(lambda: row(nxt.id).status == JobStatus.succeeded, 10, "the next job")


def test_a_cooperative_job_notices_cancellation(db, users, row):
    """check_cancelled() raises once the row is cancelled, and the run stays cancelled."""
    import threading
    import time

    from app.core.jobs import JobCancelled
    from jobs import runner

    seen = {}

    @jobs.job_kind("test.polite", timeout=30)
    def polite(ctx):
        seen["started"] = time.monotonic()
        try:
            while time.monotonic() - seen["started"] < 10:
                ctx.check_cancelled()
                time.sleep(0.02)
        except JobCancelled:
            seen["noticed"] = time.monotonic()
            raise

    run = jobs.enqueue(db, users["manager"], "test.polite", {})
    t = threading.Thread(target=runner.execute, args=(run.id,))
    t.start()
    wait_for(lambda: "started" in seen, 5, "the job to start")
    from sqlmodel import Session

    with Session(db.get_bind()) as s:
        jobs.cancel(s, users["manager"], run.id)
    t.join(timeout=10)
    assert not t.is_alive() and "noticed" in seen and seen["noticed"] - seen["started"] < 5
    assert row(run.id).status == JobStatus.cancelled
