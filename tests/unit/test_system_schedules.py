"""System schedules (the nightly backup, the equipment SLA check) are created by the scheduler when
missing, and an admin's change of one survives the next start."""

from __future__ import annotations

from sqlmodel import select

from app.core import jobs
from models.jobs import Schedule


def test_created_when_missing_and_never_overwritten(db):
    import app.boot

    app.boot.boot()
    assert {"backup:database", "equipment:sla"} <= set(jobs.SYSTEM_SCHEDULES)
    made = jobs.ensure_system_schedules(db)
    assert {"backup:database", "equipment:sla"} <= set(made)
    backup = db.exec(select(Schedule).where(Schedule.name == "backup:database")).one()
    assert (backup.kind, backup.cron, backup.system, backup.enabled) == ("backup.database", "0 3 * * *", True, True)
    backup.cron = "30 2 * * *"  # an admin moved it
    db.add(backup)
    db.commit()
    assert jobs.ensure_system_schedules(db) == []
    db.refresh(backup)
    assert backup.cron == "30 2 * * *"
