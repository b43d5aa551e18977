"""A worker killed with SIGKILL mid-job: after the reaper the run is re-queued or failed, never "running"."""

from __future__ import annotations

import time

from jobtools import HEARTBEAT, wait_for
from sqlmodel import select

from app.core import jobs
from models.core import AuditLog
from models.jobs import JobStatus

STALE = 1.0


def _running(row, redis_conn, run_id: int, tag: str):
    return wait_for(lambda: redis_conn.get(f"test:started:{tag}") and (r := row(run_id)).status == JobStatus.running and r, 15, f"{tag} to run")


def test_killed_worker_run_is_requeued_then_failed_never_left_running(db, users, start_worker, row, redis_conn):
    w1 = start_worker()
    run = jobs.enqueue(db, users["manager"], "test.crash_once", {"seconds": 60, "tag": "crash"})  # max_attempts=2
    first = _running(row, redis_conn, run.id, "crash")

    # A live worker holds the job: even with every heartbeat counted as stale, the reaper leaves it.
    assert jobs.reap_orphans(db, stale_after=0) == []
    assert row(run.id).status == JobStatus.running
    time.sleep(3 * HEARTBEAT)
    assert row(run.id).heartbeat_at > first.heartbeat_at  # the heartbeat thread is beating

    w1.kill_tree()  # worker, work horse and RQ scheduler: SIGKILL
    assert row(run.id).status == JobStatus.running  # nothing else would ever change it
    wait_for(lambda: jobs.reap_orphans(db, stale_after=STALE), STALE + 5, "the reaper to notice", interval=0.2)
    requeued = row(run.id)
    assert requeued.status == JobStatus.queued and requeued.attempts == 1
    assert "was lost" in requeued.error and requeued.rq_job_id != first.rq_job_id
    reap_audit = db.exec(select(AuditLog).where(AuditLog.action == "job.reap")).one()
    assert reap_audit.diff["action"] == "requeued" and reap_audit.source == "system"

    w2 = start_worker()
    done = wait_for(lambda: (r := row(run.id)) and JobStatus(r.status).finished and r, 15, "the second attempt")
    assert done.status == JobStatus.succeeded and done.attempts == 2 and done.result == 2 and done.error is None
    assert redis_conn.get("test:done:crash") == "1"  # the killed attempt never finished its work

    # Out of attempts: test.slow allows one, so the reaper fails it with a clear error.
    slow = jobs.enqueue(db, users["manager"], "test.slow", {"seconds": 60, "tag": "slowkill"})
    _running(row, redis_conn, slow.id, "slowkill")
    w2.kill_tree()
    wait_for(lambda: jobs.reap_orphans(db, stale_after=STALE), STALE + 5, "the reaper to notice", interval=0.2)
    failed = row(slow.id)
    assert failed.status == JobStatus.failed and failed.finished_at is not None
    assert failed.error.startswith("The worker running attempt 1 was lost (killed or crashed)")


def test_worker_start_reaps_orphans_left_by_a_crash(db, users, start_worker, row, engine, redis_conn):
    """What a crash leaves behind: a run "running" with an old heartbeat that no worker holds, and a
    run "queued" whose RQ job Redis lost. A worker starting up reaps both, then runs them."""
    from sqlalchemy import text

    lost = jobs.enqueue(db, users["manager"], "test.count", {"tag": "lost"})
    orphan = jobs.enqueue(db, users["manager"], "test.crash_once", {"tag": "orphan"})
    redis_conn.flushdb()  # Redis lost every RQ job
    with engine.begin() as c:
        c.execute(text("UPDATE job_run SET created_at = now() - interval '1 hour' WHERE id = :id"), {"id": lost.id})
        c.execute(text("UPDATE job_run SET status = 'running', attempts = 1, heartbeat_at = now() - interval '1 hour' WHERE id = :id"), {"id": orphan.id})

    worker = start_worker("--burst")
    assert worker.popen.wait(timeout=30) == 0, worker.output()
    assert "reaped job runs" in worker.output()
    assert row(lost.id).status == JobStatus.succeeded and redis_conn.get("test:done:lost") == "1"
    done = row(orphan.id)
    assert done.status == JobStatus.succeeded and done.attempts == 2 and done.result == 2
