"""Export of a filtered view as a background job: a real worker writes the file, the user is told,
and only who may see the run can download it."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from jobtools import wait_for
from sqlmodel import select

from app.core import crud, jobs
from app.core.api import build_api
from app.core.registry import resource
from models.core import Notification
from models.jobs import JobStatus

pytestmark = pytest.mark.usefixtures("kitpanel")  # the fixture panel, tests/kitpanel


def test_export_job_writes_the_view_and_notifies(db, users, start_worker, row):
    for i in range(12):
        crud.create_record(db, resource("kitpanel.items"), users["admin"], {"name": f"Job export {i:02d}", "price_rub": "10", "vendor": "Альфа" if i < 5 else "Бета"})
    start_worker()
    run = jobs.enqueue(db, users["user"], "kit.export", {"resource": "kitpanel.items", "fmt": "csv", "filters": {"vendor": "Альфа"}, "sort": "-name"})
    def finished():
        r = row(run.id)
        return r if JobStatus(r.status).finished else None

    done = wait_for(finished, 30, "the export to finish")
    assert done.status == JobStatus.succeeded, done.error
    assert done.result["rows"] == 5 and done.progress == 1.0 and done.result_file.endswith("items.csv")

    note = db.exec(select(Notification).where(Notification.user_id == users["user"].id, Notification.kind == "job.done")).one()
    assert note.link == f"/api/jobs/{run.id}/file" and "5" in note.title

    client = TestClient(build_api())
    token_user = client.post("/api/auth/login", json={"username": "user", "password": "user-pass"}).json()["token"]
    client.cookies.clear()
    r = client.get(note.link, headers={"Authorization": f"Bearer {token_user}"})
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [x[0] for x in rows[1:]] == [f"Job export {i:02d}" for i in range(4, -1, -1)]
    # someone who may not see the run gets nothing, anonymous is refused
    token_mgr = client.post("/api/auth/login", json={"username": "manager", "password": "manager-pass"}).json()["token"]
    client.cookies.clear()
    assert client.get(note.link, headers={"Authorization": f"Bearer {token_mgr}"}).status_code == 404
    assert client.get(note.link).status_code == 401
