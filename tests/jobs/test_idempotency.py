"""Same idempotency key, one run: a double click, and two (or eight) racing requests."""

from __future__ import annotations

import threading

from sqlmodel import Session, func, select

from app.core import jobs
from models.core import AuditLog
from models.jobs import JobRun, JobStatus


def test_same_key_sequential_and_concurrent_gives_one_run_and_work_done_once(db, users, engine, start_worker, row, redis_conn):
    first = jobs.enqueue(db, users["manager"], "test.count", {"tag": "click"}, idempotency_key="import:abc")
    again = jobs.enqueue(db, users["manager"], "test.count", {"tag": "click"}, idempotency_key="import:abc")
    assert again.id == first.id

    n = 8
    barrier = threading.Barrier(n)
    got: list[int] = []
    errors: list[BaseException] = []

    def racer() -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                barrier.wait(timeout=10)
                got.append(jobs.enqueue(s, users["manager"], "test.count", {"tag": "race"}, idempotency_key="import:race").id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=racer) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not errors, errors
    assert len(got) == n and len(set(got)) == 1

    assert db.exec(select(func.count()).select_from(JobRun)).one() == 2
    assert db.exec(select(func.count()).select_from(AuditLog).where(AuditLog.action == "job.enqueue")).one() == 2
    assert jobs.rq_queue().count == 2  # handed to RQ once each

    worker = start_worker("--burst")
    assert worker.popen.wait(timeout=30) == 0, worker.output()
    assert row(first.id).status == JobStatus.succeeded and row(got[0]).status == JobStatus.succeeded
    assert redis_conn.get("test:done:click") == "1" and redis_conn.get("test:done:race") == "1"

    # After the run finished, the key still means "that run": nothing is enqueued again.
    assert jobs.enqueue(db, users["manager"], "test.count", {"tag": "race"}, idempotency_key="import:race").id == got[0]
    assert jobs.rq_queue().count == 0
