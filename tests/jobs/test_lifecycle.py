"""A run from enqueue to result on a real worker: rows, progress, steps, bus messages, audit."""

from __future__ import annotations

import pytest
from jobtools import wait_for
from sqlmodel import select

from app.core import jobs
from app.core.errors import NotFound, PermissionDenied
from models.core import AuditLog
from models.jobs import JobRun, JobStatus


def test_queued_running_succeeded_with_progress_and_bus(db, users, start_worker, row, redis_conn, bus_messages):
    start_worker()
    run = jobs.enqueue(db, users["manager"], "test.steps", {"n": 5, "tag": "life"})
    assert run.status == JobStatus.queued and run.rq_job_id and run.username == "manager"
    assert run.steps == [{"name": n, "status": "pending"} for n in ("prepare", "work", "finish")]
    audit_row = db.exec(select(AuditLog).where(AuditLog.action == "job.enqueue", AuditLog.entity_id == str(run.id))).one()
    assert audit_row.username == "manager" and audit_row.diff["kind"] == "test.steps"

    seen: list[tuple[str, float]] = []

    def finished():
        r = row(run.id)
        if not seen or seen[-1] != (r.status.value, r.progress):
            seen.append((r.status.value, r.progress))
        return r if JobStatus(r.status).finished else None

    done = wait_for(finished, 20, "the run to finish")
    assert done.status == JobStatus.succeeded, done.error
    assert done.progress == 1.0 and done.attempts == 1 and done.error is None
    assert done.result == {"n": 5, "user": "manager"}
    assert [s["status"] for s in done.steps] == ["done", "done", "done"]
    assert done.started_at and done.finished_at and done.heartbeat_at and done.finished_at >= done.started_at
    statuses = [s for s, _ in seen]
    assert "running" in statuses and statuses[-1] == "succeeded"
    assert statuses.index("running") < statuses.index("succeeded")
    assert redis_conn.get("test:done:life") == "1"

    ours = [m for m in bus_messages() if m["model"] == "job_run" and m["ids"] == [str(run.id)]]
    assert ours[0]["op"] == "create"
    assert len([m for m in ours if m["op"] == "update"]) >= 7  # running, 6 progress writes, succeeded


def test_progress_is_throttled(db, users, row, monkeypatch):
    """In-process: a tight loop of progress calls writes a handful of times, and the last value wins."""
    from jobs import runner

    writes = []
    original = jobs.JobContext.flush

    def counting(self):
        if self._dirty:
            writes.append(self.run.progress)
        return original(self)

    monkeypatch.setattr(jobs.JobContext, "flush", counting)
    run = jobs.enqueue(db, users["admin"], "test.tight", {"n": 2000})
    runner.execute(run.id)  # no RQ job: runs here
    done = row(run.id)
    assert done.status == JobStatus.succeeded and done.result == 2000 and done.progress == 1.0
    assert 1 <= len(writes) <= 10, writes


def test_enqueue_checks_kind_and_permission(db, users, row):
    with pytest.raises(NotFound):
        jobs.enqueue(db, users["admin"], "test.nope", {})
    with pytest.raises(PermissionDenied):
        jobs.enqueue(db, users["manager"], "test.secret", {})
    assert db.exec(select(JobRun)).all() == []


def test_runner_refuses_a_user_who_lost_the_permission(db, users, row, engine):
    """The kind's permission is checked again when the job starts."""
    from sqlmodel import Session

    from app.core.auth import CurrentUser
    from jobs import runner
    from models.core import Role

    with Session(engine) as s:
        role = s.get(Role, "stock.manager")
        role.permissions = [*role.permissions, "test.secret.run"]
        s.commit()
    granted = CurrentUser(id=users["manager"].id, username="manager", roles=("stock.manager",), permissions=frozenset({"test.secret.run"}))
    run = jobs.enqueue(db, granted, "test.secret", {})
    with Session(engine) as s:
        role = s.get(Role, "stock.manager")
        role.permissions = [p for p in role.permissions if p != "test.secret.run"]
        s.commit()
    with pytest.raises(jobs.JobFailed):
        runner.execute(run.id)
    done = row(run.id)
    assert done.status == JobStatus.failed and "no longer has the permission" in done.error and done.attempts == 1
