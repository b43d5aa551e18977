"""The services around runs, in process (no worker needed): retry, audit source, result files."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.core import jobs
from app.core.errors import PermissionDenied, ValidationFailed
from jobs import runner
from models.core import AuditLog
from models.jobs import JobStatus


def test_retry_a_failed_run(db, users, engine, row):
    run = jobs.enqueue(db, users["manager"], "test.flaky", {"tag": "r"})
    first_rq_id = run.rq_job_id
    with pytest.raises(ValidationFailed):  # still queued
        jobs.retry(db, users["manager"], run.id)
    with engine.begin() as c:
        c.execute(text("UPDATE job_run SET status = 'failed', attempts = 3, error = 'RuntimeError: boom', progress = 0.5 WHERE id = :id"), {"id": run.id})
    with pytest.raises(PermissionDenied):
        jobs.retry(db, users["user"], run.id)
    again = jobs.retry(db, users["manager"], run.id)
    assert again.id == run.id and again.status == JobStatus.queued
    fresh = row(run.id)
    assert fresh.attempts == 0 and fresh.error is None and fresh.progress == 0 and fresh.rq_job_id != first_rq_id
    entry = db.exec(select(AuditLog).where(AuditLog.action == "job.retry")).one()
    assert entry.diff["error"] == "RuntimeError: boom" and entry.username == "manager"
    assert jobs.rq_queue().job_ids[-1] == fresh.rq_job_id


def test_job_writes_are_audited_as_job_and_files_recorded(db, users, row):
    run = jobs.enqueue(db, users["manager"], "test.audited", {"name": "../../evil.csv"})
    try:
        runner.execute(run.id)
        done = row(run.id)
        assert done.status == JobStatus.succeeded and done.result == "evil.csv"
        assert done.result_file == f"jobs/{run.id}/evil.csv"
        assert jobs.result_file_path(done).read_text() == "a,b\n1,2\n"
        entry = db.exec(select(AuditLog).where(AuditLog.action == "test.audited")).one()
        assert entry.source == "job" and entry.username == "manager"
    finally:
        shutil.rmtree(jobs.run_dir(run.id), ignore_errors=True)


def test_a_deactivated_users_job_does_not_run(db, users, engine, row):
    run = jobs.enqueue(db, users["manager"], "test.count", {"tag": "gone"})
    with engine.begin() as c:
        c.execute(text('UPDATE "user" SET is_active = false WHERE username = :u'), {"u": "manager"})
    with pytest.raises(jobs.JobFailed):
        runner.execute(run.id)
    done = row(run.id)
    assert done.status == JobStatus.failed and "no longer active" in done.error and done.attempts == 1
