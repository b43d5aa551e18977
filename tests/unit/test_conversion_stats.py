"""The conversion aggregates: the triggers keep both tables exact through inserts, updates and
deletes, and any period read from months + edge days equals a scan of ``phone_number``."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import text
from sqlmodel import func, select

from app.core.auth import SYSTEM
from app.panels.numbers import services
from models.numbers import NumberStat, NumberStatMonth


def _scan(db, lo, hi):
    where = " AND ".join(x for x in [
        f"(status_changed_at AT TIME ZONE 'Europe/Moscow')::date >= '{lo}'" if lo else "",
        f"(status_changed_at AT TIME ZONE 'Europe/Moscow')::date <= '{hi}'" if hi else "",
    ] if x) or "true"
    return dict(db.exec(text(f"SELECT project_id, count(*) FROM phone_number WHERE {where} AND project_id IS NOT NULL GROUP BY 1")).all())


def test_any_period_from_months_and_days_equals_a_scan(db, numbers_world):
    w = numbers_world
    rng = random.Random(7)
    new, success = w["status"]["new"], w["status"]["success"]
    db.exec(text("""INSERT INTO phone_number (phone, project_id, provider_id, status_id, created_at, status_changed_at)
                    SELECT '+7999' || lpad(g::text, 7, '0'), CASE WHEN g % 2 = 0 THEN :p1 ELSE :p2 END, :pv, :st,
                           now(), now() - (g % 400 || ' days')::interval - (g % 24 || ' hours')::interval
                    FROM generate_series(1, 3000) g"""), params={"p1": w["project"], "p2": w["other_project"], "pv": w["mine"], "st": new})
    db.commit()
    # updates and deletes move counts between statuses and days
    db.exec(text("UPDATE phone_number SET status_id = :s, status_changed_at = status_changed_at - interval '33 days' WHERE id % 5 = 0"), params={"s": success})
    db.exec(text("DELETE FROM phone_number WHERE id % 11 = 0"))
    db.commit()
    assert db.exec(select(func.sum(NumberStat.n))).one() == db.exec(text("SELECT count(*) FROM phone_number")).one()[0]
    assert db.exec(select(func.sum(NumberStatMonth.n))).one() == db.exec(select(func.sum(NumberStat.n))).one()
    today = dt.date.today()
    periods = [(None, None), (today - dt.timedelta(days=30), today), (dt.date(today.year, 1, 1), today), (None, today - dt.timedelta(days=100))]
    for _ in range(40):
        a = today - dt.timedelta(days=rng.randrange(0, 420))
        b = a + dt.timedelta(days=rng.randrange(0, 300))
        periods.append((a, b))
        periods.append((a.replace(day=1), b))
    for lo, hi in periods:
        got = {r.project_id: r.total for r in services.conversion(db, SYSTEM, lo, hi)}
        assert got == {k: v for k, v in _scan(db, lo, hi).items() if v}, (lo, hi)
