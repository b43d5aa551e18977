"""``Resource.before_export`` / ``after_export``: the kit's export job calls them around the file
it writes (the numbers panel logs every list export as a transfer with them), a refusal in
``before_export`` fails the run with its message and writes no file. Runs execute in this process
(``jobs.runner.execute``)."""

from __future__ import annotations

import csv

import pytest
from sqlmodel import select

from app.core import jobs
from app.core.errors import ValidationFailed
from app.core.jobs import JobFailed
from app.core.registry import resource
from jobs.runner import execute
from models.jobs import JobStatus
from models.numbers import NumberTransfer, PhoneNumber

#: The kit's own resources in these tests are the fixture panel's (tests/kitpanel).
pytestmark = pytest.mark.usefixtures("kitpanel")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_numbers_export_is_logged_by_its_hooks(db, users, numbers_world, row, redis_conn, fmt):
    w = numbers_world
    for i in range(4):
        db.add(PhoneNumber(phone=f"+7999100000{i}", provider_id=w["mine"], project_id=w["project"], status_id=w["status"]["new"]))
    db.commit()
    run = jobs.enqueue(db, users["admin"], "kit.export", {"resource": "numbers.numbers", "fmt": fmt, "lang": "ru"})
    execute(run.id)
    done = row(run.id)
    assert done.status == JobStatus.succeeded, done.error
    history = db.exec(select(NumberTransfer).where(NumberTransfer.job_run_id == run.id)).one()
    assert (history.direction, history.source, history.status, history.total, history.accepted) == ("export", "file", "done", 4, 4)
    assert history.filename == f"numbers.{fmt}" and history.user_id == users["admin"].id and history.finished_at is not None
    if fmt == "csv":
        with open(jobs.run_dir(run.id) / "numbers.csv", encoding="utf-8-sig") as f:
            assert len(list(csv.reader(f))) == 5  # header + 4 numbers, written by the COPY export


def test_a_refusal_in_before_export_fails_the_run_with_its_message(db, users, numbers_world, row, redis_conn, monkeypatch):
    calls = []

    def refuse(self, ctx, params):
        calls.append((ctx.fmt, ctx.user.username, params.search))
        raise ValidationFailed.one("", "numbers.import.no_file")

    numbers_res = resource("numbers.numbers")
    monkeypatch.setattr(numbers_res, "before_export", refuse)
    monkeypatch.setattr(numbers_res, "after_export", lambda *a: pytest.fail("after_export after a refusal"))
    run = jobs.enqueue(db, users["admin"], "kit.export", {"resource": "numbers.numbers", "fmt": "csv", "search": "999", "lang": "en"})
    with pytest.raises(JobFailed):
        execute(run.id)
    failed = row(run.id)
    assert calls == [("csv", "admin", "999")]
    assert failed.status == JobStatus.failed and "Upload a file first" in failed.message
    assert not (jobs.run_dir(run.id) / "numbers.csv").exists()


def test_a_resource_without_hooks_exports_as_before(db, users, row, redis_conn, kit_data):
    from app.core.resource import Resource

    assert resource("kitpanel.items").before_export is Resource.before_export
    run = jobs.enqueue(db, users["admin"], "kit.export", {"resource": "kitpanel.items", "fmt": "csv", "lang": "ru"})
    execute(run.id)
    assert row(run.id).status == JobStatus.succeeded and row(run.id).result["rows"] >= 1
