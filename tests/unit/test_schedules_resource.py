"""The schedules editor: cron checked under its field, the next tick computed, JSON arguments,
and only ``jobs.schedules`` may change them."""

from __future__ import annotations

import pytest

from sqlmodel import select

from app.core import crud
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.query import ListParams
from app.core.registry import resource
from models.jobs import Schedule


def test_bad_cron_and_bad_args_come_back_under_their_fields(db, users):
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, resource("admin.schedules"), users["admin"], {"name": "nightly", "kind": "kit.export", "cron": "61 * * *", "args_json": "[1]"})
    assert set(info.value.errors) == {"cron", "args_json"}
    assert db.exec(select(Schedule)).all() == []


def test_a_schedule_gets_its_next_tick_and_arguments(db, users):
    row = crud.create_record(db, resource("admin.schedules"), users["admin"], {
        "name": "nightly export", "kind": "kit.export", "cron": "0 3 * * *", "args_json": '{"resource": "stock.products"}', "enabled": "1"})
    assert row.args == {"resource": "stock.products"} and row.created_by == "admin"
    assert row.next_fire_at is not None and row.next_fire_at.minute == 0
    crud.update_record(db, resource("admin.schedules"), users["admin"], row.id, {"enabled": ""})
    db.expire_all()
    assert db.get(Schedule, row.id).next_fire_at is None


def test_only_jobs_schedules_may_edit(db, users):
    with pytest.raises(PermissionDenied):
        crud.create_record(db, resource("admin.schedules"), users["manager"], {"name": "x", "kind": "kit.export", "cron": "* * * * *"})
    with pytest.raises(PermissionDenied):
        crud.list_records(db, resource("admin.schedules"), users["user"], ListParams())
