"""A bulk job's counts are exact: a run that fails in a later chunk says how many records the
committed chunks changed (message, result, notification), and records the user may not see are
reported as skipped (count and ids), never silently left out. Runs execute in this process
(``jobs.runner.execute``) so a chunk can be made to fail on purpose."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from app.core import crud, kit_jobs
from app.core.auth import SYSTEM
from app.core.jobs import JobFailed
from app.core.registry import resource
from jobs.runner import execute
from models.core import Notification
from models.jobs import JobStatus
from models.numbers import PhoneNumber
from tests.kitpanel.models import Order, OrderStatus

#: The kit's own resources in these tests are the fixture panel's (tests/kitpanel).
pytestmark = pytest.mark.usefixtures("kitpanel")


def numbers(db, provider_id: int, status_id: int, n: int, start: int = 0) -> list[str]:
    rows = [PhoneNumber(phone=f"+7999{start + i:07d}", provider_id=provider_id, status_id=status_id) for i in range(n)]
    db.add_all(rows)
    db.commit()
    return [str(r.id) for r in rows]


def note(db, user_id: int, kind: str) -> Notification:
    return db.exec(select(Notification).where(Notification.user_id == user_id, Notification.kind == kind)).one()


def test_a_set_based_run_failing_in_chunk_three_reports_exactly_the_two_chunks_it_changed(db, users, numbers_world, row, redis_conn, monkeypatch):
    w = numbers_world
    ids = numbers(db, w["mine"], w["status"]["new"], 10)
    monkeypatch.setattr(kit_jobs, "MANY_CHUNK", 3)
    numbers_res = resource("numbers.numbers")
    original = numbers_res.set_status_many
    calls = []

    def third_chunk_breaks(self, ctx, chunk):
        calls.append(chunk)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return original(self, ctx, chunk)

    monkeypatch.setattr(numbers_res, "set_status_many", third_chunk_breaks)
    run = kit_jobs.enqueue_action(db, users["admin"], "numbers.numbers", "set_status", ids, lang="ru", params={"status_id": str(w["status"]["in_work"])})
    with pytest.raises(JobFailed):
        execute(run.id)

    failed = row(run.id)
    changed = db.exec(select(func.count()).select_from(PhoneNumber).where(PhoneNumber.status_id == w["status"]["in_work"])).one()
    assert changed == 6
    assert failed.status == JobStatus.failed and failed.result == {"total": 10, "done": 6, "failed": 0}
    assert "применено 6 из 10" in failed.message and "disk full" in failed.message
    assert "применено 6 из 10" in note(db, users["admin"].id, "job.failed").title


def test_a_record_by_record_run_failing_later_counts_what_committed(db, users, kit_data, row, redis_conn, monkeypatch):
    orders = [crud.create_record(db, resource("kitpanel.orders"), SYSTEM, {"phone": "+79161234567", "item_id": kit_data["cable"].id, "qty": "1"}) for _ in range(6)]
    monkeypatch.setattr(kit_jobs, "ACTION_CHUNK", 2)
    original = crud.run_action
    calls = []

    def third_chunk_breaks(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise ConnectionResetError("the database went away")
        return original(*args, **kw)

    monkeypatch.setattr(crud, "run_action", third_chunk_breaks)
    run = kit_jobs.enqueue_action(db, users["user"], "kitpanel.orders", "issue", [str(o.id) for o in orders], lang="en")
    with pytest.raises(JobFailed):
        execute(run.id)
    failed = row(run.id)
    db.expire_all()
    issued = [o for o in db.exec(select(Order)).all() if o.status == OrderStatus.issued]
    assert len(issued) == 4 and failed.result["done"] == 4
    assert "4 of 6 applied" in failed.message


def test_records_outside_the_managers_scope_are_reported_not_silently_skipped(db, users, numbers_world, row, redis_conn):
    w = numbers_world
    mine = numbers(db, w["mine"], w["status"]["new"], 3)
    theirs = numbers(db, w["other"], w["status"]["new"], 2, start=100)
    ids = [*mine, *theirs, "987654"]  # the last one does not exist
    run = kit_jobs.enqueue_action(db, users["manager"], "numbers.numbers", "set_status", ids, lang="ru", params={"status_id": str(w["status"]["in_work"])})
    execute(run.id)

    done = row(run.id)
    assert done.status == JobStatus.succeeded
    assert done.result == {"total": 6, "done": 3, "failed": 0, "out_of_scope": 3, "out_of_scope_ids": [*theirs, "987654"]}
    db.expire_all()
    assert {db.get(PhoneNumber, int(i)).status_id for i in theirs} == {w["status"]["new"]}
    assert {db.get(PhoneNumber, int(i)).status_id for i in mine} == {w["status"]["in_work"]}
    title = note(db, users["manager"].id, "job.done").title
    assert "выполнено 3" in title and "вне вашей области видимости: 3" in title


def test_the_set_based_twin_is_the_one_declared_with_many(db, users, numbers_world, row, redis_conn, monkeypatch):
    """``@action(..., many=...)`` decides the set-based path, not a method's name: a callable
    ``fn(resource, ctx, ids)`` declared there gets the chunks; without ``many`` the records go
    one transaction per chunk through the action itself, even though ``set_status_many`` exists."""
    import dataclasses

    w = numbers_world
    ids = numbers(db, w["mine"], w["status"]["new"], 7)
    monkeypatch.setattr(kit_jobs, "MANY_CHUNK", 3)
    numbers_res = resource("numbers.numbers")
    spec = numbers_res.actions["set_status"]
    chunks = []

    def twin(res, ctx, chunk):
        chunks.append((type(res).__name__, list(chunk)))
        return res.set_status_many(ctx, chunk)

    monkeypatch.setitem(numbers_res.actions, "set_status", dataclasses.replace(spec, many=twin))
    run = kit_jobs.enqueue_action(db, users["admin"], "numbers.numbers", "set_status", ids, lang="ru", params={"status_id": str(w["status"]["in_work"])})
    execute(run.id)
    assert row(run.id).result == {"total": 7, "done": 7, "failed": 0}
    assert [len(c) for _, c in chunks] == [3, 3, 1] and {n for n, _ in chunks} == {"Numbers"}

    monkeypatch.setitem(numbers_res.actions, "set_status", dataclasses.replace(spec, many=None))
    monkeypatch.setattr(numbers_res, "set_status_many", lambda *a: pytest.fail("found by its name"))
    run = kit_jobs.enqueue_action(db, users["admin"], "numbers.numbers", "set_status", ids, lang="ru", params={"status_id": str(w["status"]["new"])})
    execute(run.id)
    assert row(run.id).result == {"total": 7, "done": 7, "failed": 0}
    assert db.exec(select(func.count()).select_from(PhoneNumber).where(PhoneNumber.status_id == w["status"]["new"])).one() == 7
