"""The Jobs page's rule: everyone sees and cancels their own runs; ``jobs.view`` / ``jobs.cancel``
(admins) reach everyone's. Checked through the services and the REST API."""

from __future__ import annotations

import pytest

from app.core import crud
from app.core.errors import NotFound, PermissionDenied
from app.core.query import ListParams
from app.core.registry import resource
from models.jobs import JobRun, JobStatus


@pytest.fixture()
def runs(db, users):
    def make(owner: str, status: JobStatus) -> JobRun:
        u = users[owner]
        run = JobRun(kind="test.kind", user_id=u.id, username=u.username, status=status, max_attempts=1)
        db.add(run)
        db.commit()
        return run

    return {"admin": make("admin", JobStatus.failed), "user": make("user", JobStatus.failed), "manager": make("manager", JobStatus.succeeded)}


def test_each_user_lists_only_their_own_runs(db, users, runs):
    jobs = resource("admin.jobs")
    for role in ("user", "manager"):
        page = crud.list_records(db, jobs, users[role], ListParams())
        assert [r.id for r in page.rows] == [runs[role].id]
    assert {r.id for r in crud.list_records(db, jobs, users["admin"], ListParams()).rows} == {r.id for r in runs.values()}
    with pytest.raises(NotFound):
        crud.get_record(db, jobs, users["user"], runs["admin"].id)


def test_no_one_retries_someone_elses_run_without_the_permission(db, users, runs):
    jobs = resource("admin.jobs")
    with pytest.raises((PermissionDenied, NotFound)):
        crud.run_action(db, jobs, users["manager"], "retry", [runs["admin"].id])
    db.expire_all()
    assert db.get(JobRun, runs["admin"].id).status == JobStatus.failed


def test_api_applies_the_same_scope(client, login, runs):
    r = client.get("/api/admin/jobs", headers=login("user"))
    assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [runs["user"].id]
    assert client.get(f"/api/admin/jobs/{runs['admin'].id}", headers=login("user")).status_code == 404
    assert client.get(f"/api/admin/jobs/{runs['user'].id}", headers=login("admin")).status_code == 200
    assert client.get("/api/admin/jobs").status_code == 401
