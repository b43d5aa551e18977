"""Cron schedules: parsing, the service, and two scheduler processes firing each tick once."""

from __future__ import annotations

import itertools
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from jobtools import wait_for
from sqlmodel import select

from app.core import jobs
from app.core.errors import PermissionDenied, ValidationFailed
from models.jobs import JobRun, Schedule


def test_cron_is_read_in_the_configured_timezone(monkeypatch):
    monkeypatch.setenv("PULT_TIMEZONE", "Europe/Moscow")  # UTC+3, no DST
    after = datetime(2026, 3, 1, 5, 30, tzinfo=timezone.utc)  # 08:30 in Moscow
    assert jobs.next_fire("0 9 * * *", after) == datetime(2026, 3, 1, 6, 0, tzinfo=timezone.utc)
    assert jobs.next_fire("*/15 * * * *", after) == datetime(2026, 3, 1, 5, 45, tzinfo=timezone.utc)
    assert jobs.next_fire("* * * * * */10", after) == after + timedelta(seconds=10)
    assert jobs.validate_cron("0 9 * * 1-5") and jobs.validate_cron("* * * * * */2")
    assert not jobs.validate_cron("61 * * * *") and not jobs.validate_cron("daily") and not jobs.validate_cron("* * *")


def test_schedule_service_checks_permission_and_input(db, users):
    with pytest.raises(PermissionDenied):
        jobs.save_schedule(db, users["manager"], "nightly", "test.count", "0 3 * * *")
    with pytest.raises(ValidationFailed) as bad:
        jobs.save_schedule(db, users["admin"], "nightly", "test.nope", "every night")
    assert set(bad.value.errors) == {"kind", "cron"}
    s = jobs.save_schedule(db, users["admin"], "nightly", "test.count", "0 3 * * *", {"tag": "n"})
    assert s.next_fire_at > datetime.now(timezone.utc) and s.created_by == "admin"
    with pytest.raises(ValidationFailed):
        jobs.save_schedule(db, users["admin"], "nightly", "test.count", "0 4 * * *")
    s = jobs.save_schedule(db, users["admin"], "nightly", "test.count", "0 4 * * *", enabled=False, schedule_id=s.id)
    assert s.next_fire_at is None and not jobs.fire_due_schedules(db)
    jobs.delete_schedule(db, users["admin"], s.id)
    assert db.exec(select(Schedule)).all() == []


def test_two_schedulers_fire_each_tick_exactly_once(db, users, start_scheduler, row):
    sched = jobs.save_schedule(db, users["admin"], "every-second", "test.count", "* * * * * *", {"tag": "tick"})
    a = start_scheduler("--interval", "0.1")
    b = start_scheduler("--interval", "0.1")
    for p in (a, b):
        wait_for(lambda p=p: "scheduler started" in p.output(), 20, f"{p.name} to start")
    time.sleep(4.5)
    a.stop()
    b.stop()

    runs = db.exec(select(JobRun).where(JobRun.idempotency_key.like(f"schedule:{sched.id}:%")).order_by(JobRun.id)).all()
    ticks = [datetime.fromisoformat(r.idempotency_key.split(":", 2)[2]) for r in runs]
    assert len(runs) >= 4, [r.idempotency_key for r in runs]
    assert len(set(ticks)) == len(ticks)
    # The first firing catches up on the ticks missed while the schedulers started (once, not once
    # per missed tick); from then on consecutive whole seconds: none fired twice, none skipped.
    steady = ticks[1:]
    assert all((b_ - a_) == timedelta(seconds=1) for a_, b_ in itertools.pairwise(steady)), ticks
    # A schedule runs as the user who saved it.
    assert all(r.username == "admin" and r.user_id == users["admin"].id and r.args == {"tag": "tick"} for r in runs)

    logs = a.output() + b.output()
    fired = re.findall(r"fired for tick (\S+): run", logs)
    assert sorted(fired) == sorted(t.isoformat() for t in ticks)  # each tick logged once, by one of them
    assert "already fired" not in logs and "Traceback" not in logs
    fresh = db.get(Schedule, sched.id)
    db.refresh(fresh)
    assert fresh.last_fired_at is not None and fresh.next_fire_at > fresh.last_fired_at


def test_ensure_schedule_follows_its_owner_record_idempotently(db, users):
    """One function for a schedule owned by a record: created, unchanged on a repeat (no audit
    row), changed, disabled with the cron kept, enabled again, refused on a bad cron, dropped."""
    from models.core import AuditLog

    admin = users["admin"]

    def audit_rows() -> int:
        return len(db.exec(select(AuditLog).where(AuditLog.entity_type == "schedule")).all())

    assert jobs.ensure_schedule(db, admin, "host:1", "test.count", "", {"tag": "h"}) is None  # nothing wanted, nothing made
    s = jobs.ensure_schedule(db, admin, "host:1", "test.count", "0 3 * * *", {"tag": "h"})
    db.commit()
    assert (s.name, s.kind, s.cron, s.args, s.enabled, s.system) == ("host:1", "test.count", "0 3 * * *", {"tag": "h"}, True, True)
    first_fire, n_audit = s.next_fire_at, audit_rows()
    assert first_fire is not None and n_audit == 1
    again = jobs.ensure_schedule(db, admin, "host:1", "test.count", "0 3 * * *", {"tag": "h"})
    db.commit()
    assert again.id == s.id and again.next_fire_at == first_fire and audit_rows() == n_audit
    jobs.ensure_schedule(db, admin, "host:1", "test.count", "0 4 * * *", {"tag": "h2"})
    db.commit()
    assert (s.cron, s.args) == ("0 4 * * *", {"tag": "h2"}) and s.next_fire_at != first_fire and audit_rows() == n_audit + 1
    jobs.ensure_schedule(db, admin, "host:1", "test.count", "0 4 * * *", {"tag": "h2"}, enabled=False)
    db.commit()
    assert not s.enabled and s.next_fire_at is None and s.cron == "0 4 * * *"
    jobs.ensure_schedule(db, admin, "host:1", "test.count", "", {"tag": "h2"})
    db.commit()
    assert not s.enabled and s.cron == "0 4 * * *"
    jobs.ensure_schedule(db, admin, "host:1", "test.count", "0 5 * * *", {"tag": "h2"})
    db.commit()
    assert s.enabled and s.next_fire_at is not None
    assert len(db.exec(select(Schedule).where(Schedule.name == "host:1")).all()) == 1
    with pytest.raises(ValidationFailed) as bad:
        jobs.ensure_schedule(db, admin, "host:1", "test.count", "every night", {})
    assert set(bad.value.errors) == {"cron"}
    with pytest.raises(ValidationFailed) as bad:
        jobs.ensure_schedule(db, admin, "host:2", "test.nope", "0 3 * * *", {})
    assert set(bad.value.errors) == {"kind"}
    jobs.drop_owned_schedule(db, admin, "host:1")
    db.commit()
    assert db.exec(select(Schedule)).all() == []
