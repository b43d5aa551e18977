"""Numbers panel services: names of the small tables, status changes one by one and by the
hundred thousand, and the conversion figures read from the aggregates.

Every function takes the caller's session and user; the scope (``scope.py``) is applied inside.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, text, union_all, update
from sqlmodel import Session, select

from app.core import CurrentUser, ReportResult, audit, bus, display, engine
from app.core.errors import ValidationFailed
from app.panels.numbers import scope
from models.numbers import Geo, NumberStat, NumberStatMonth, NumberStatus, PhoneNumber, Project, Provider, StatusKind

# --------------------------------------------------------------------------- names of small tables
#: Names and colours of projects, providers, geo and statuses for the softphone card and the
#: status badge's colour, cached per process for a few seconds. (List cells and exports name
#: them through the kit's relation columns instead: per page, under the reader's scope.)
NAMES_TTL = 5.0
_names: dict[str, tuple[float, dict[int, Any]]] = {}
_names_lock = threading.Lock()
_SOURCES = {
    "project": (Project.id, Project.name),
    "provider": (Provider.id, Provider.name),
    "geo": (Geo.id, Geo.name),
    "status": (NumberStatus.id, NumberStatus.name),
    "status_en": (NumberStatus.id, func.coalesce(NumberStatus.name_en, NumberStatus.name)),
    "status_color": (NumberStatus.id, NumberStatus.color),
    "status_kind": (NumberStatus.id, NumberStatus.kind),
}


def names(kind: str) -> dict[int, Any]:
    now = time.monotonic()
    hit = _names.get(kind)
    if hit and now - hit[0] < NAMES_TTL:
        return hit[1]
    with _names_lock, Session(engine()) as db:
        key, value = _SOURCES[kind]
        data = {k: v for k, v in db.exec(select(key, value)).all()}
    _names[kind] = (now, data)
    return data


def forget_names() -> None:
    _names.clear()


def name_of(kind: str, value: int | None) -> str:
    if value is None:
        return ""
    return str(names(kind).get(value, f"#{value}"))


# --------------------------------------------------------------------------- statuses
def status_by_code(db: Session, code: str) -> NumberStatus:
    status = db.exec(select(NumberStatus).where(NumberStatus.code == code)).first()
    if status is None:
        raise ValidationFailed.one("status_id", "numbers.unknown_status", code=code)
    return status


def default_status_id(db: Session) -> int:
    """The status a new number gets: the first one of kind "new"."""
    row = db.execute(select(NumberStatus.id).where(NumberStatus.kind == StatusKind.new).order_by(NumberStatus.position, NumberStatus.id)).first()
    if row is None:
        raise ValidationFailed.one("status_id", "numbers.no_new_status")
    return row[0]


def set_status_many(db: Session, user: CurrentUser, ids: list[Any], status_id: int) -> int:
    """Set the status of the numbers ``ids`` that ``user`` may see, in one statement; returns how
    many changed. The caller commits (one chunk of a bulk job = one short transaction)."""
    if not ids:
        return 0
    stmt = (
        update(PhoneNumber)
        .where(PhoneNumber.id.in_(bindparam("ids", expanding=True)), PhoneNumber.status_id != status_id)
        .where(scope.provider_clause(user, PhoneNumber.provider_id))
        .values(status_id=status_id, status_changed_at=func.now())
        .returning(PhoneNumber.id)
    )
    changed = [r[0] for r in db.execute(stmt, {"ids": [int(i) for i in ids]}).all()]
    if changed:
        audit.record(db, user, "set_status", "numbers.numbers", None, {"status_id": status_id, "count": len(changed), "ids": changed})
        bus.mark(db, "phone_number", changed if len(changed) <= 1000 else [], "update")
    return len(changed)


# --------------------------------------------------------------------------- conversion
@dataclass
class ConversionRow:
    project_id: int
    project: str
    total: int
    processed: int
    success: int
    refusal: int
    no_answer: int

    def rate(self, n: int) -> float:
        return n / self.processed if self.processed else 0.0


def _next_month(d: dt.date) -> dt.date:
    return (d.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def stat_rows(user: CurrentUser, date_from: dt.date | None = None, date_to: dt.date | None = None,
              provider_id: int | None = None, project_id: int | None = None, by_day: bool = False) -> Any:
    """Aggregate rows (project_id, provider_id, status_id, day, n) covering the period: whole months
    from ``number_stat_month``, the days at the period's ends from ``number_stat``. A year reads
    twelve months' rows plus at most two partial months of days."""
    def scoped(stmt: Any, table: Any) -> Any:
        stmt = stmt.where(scope.provider_clause(user, table.provider_id))
        if provider_id:
            stmt = stmt.where(table.provider_id == provider_id)
        if project_id:
            stmt = stmt.where(table.project_id == project_id)
        return stmt

    def between(table: Any, bucket: Any, lo: dt.date | None, hi: dt.date | None) -> Any:
        stmt = select(table.project_id, table.provider_id, table.status_id, bucket.label("day"), table.n)
        if lo:
            stmt = stmt.where(bucket >= lo)
        if hi:
            stmt = stmt.where(bucket <= hi)
        return scoped(stmt, table)

    def days(lo: dt.date | None, hi: dt.date | None) -> Any:
        return between(NumberStat, NumberStat.day, lo, hi)

    def months(lo: dt.date | None, hi: dt.date | None) -> Any:
        return between(NumberStatMonth, NumberStatMonth.month, lo, hi)

    if by_day:
        return days(date_from, date_to).subquery("stat")
    if date_from is None and date_to is None:
        return months(None, None).subquery("stat")
    # whole months inside the period: from the first month starting on/after date_from to the last
    # month ending on/before date_to
    first_full = date_from if (date_from is None or date_from.day == 1) else _next_month(date_from)
    last_full = None
    if date_to is not None:
        this_month = date_to.replace(day=1)
        last_full = this_month if _next_month(date_to) - dt.timedelta(days=1) == date_to else (this_month - dt.timedelta(days=1)).replace(day=1)
    if first_full is not None and last_full is not None and first_full > last_full:
        return days(date_from, date_to).subquery("stat")
    parts = [months(first_full, last_full)]
    if date_from is not None and first_full != date_from:
        parts.append(days(date_from, first_full - dt.timedelta(days=1)))
    if date_to is not None and last_full is not None and _next_month(last_full) <= date_to:
        parts.append(days(_next_month(last_full), date_to))
    return union_all(*parts).subquery("stat")


def conversion(db: Session, user: CurrentUser, date_from: dt.date | None = None, date_to: dt.date | None = None,
               provider_id: int | None = None, project_id: int | None = None) -> list[ConversionRow]:
    """Per live project: numbers that reached each kind of status in the date range (Moscow days
    of ``status_changed_at``), from the aggregates — never a scan of ``phone_number``.

    "Processed" is every number whose status is no longer of kind "new"; rates are shares of it.
    """
    stat = stat_rows(user, date_from, date_to, provider_id, project_id)
    kinds = select(NumberStatus.id, NumberStatus.kind).subquery()
    stmt = (
        select(
            stat.c.project_id,
            func.sum(stat.c.n).label("total"),
            func.sum(stat.c.n).filter(kinds.c.kind != StatusKind.new.value).label("processed"),
            func.sum(stat.c.n).filter(kinds.c.kind == StatusKind.success.value).label("success"),
            func.sum(stat.c.n).filter(kinds.c.kind == StatusKind.refusal.value).label("refusal"),
            func.sum(stat.c.n).filter(kinds.c.kind == StatusKind.no_answer.value).label("no_answer"),
        )
        .join(kinds, kinds.c.id == stat.c.status_id)
        .group_by(stat.c.project_id)
    )
    live = {pid: name for pid, name in db.execute(select(Project.id, Project.name).where(Project.deleted_at.is_(None))).all()}
    rows = []
    for pid, total, processed, success, refusal, no_answer in db.execute(stmt).all():
        if pid not in live:
            continue  # numbers without a project, or of a deleted project
        rows.append(ConversionRow(pid, live[pid], int(total or 0), int(processed or 0), int(success or 0), int(refusal or 0), int(no_answer or 0)))
    rows.sort(key=lambda r: (-r.processed, r.project))
    return rows


def conversion_by_day(db: Session, user: CurrentUser, date_from: dt.date | None = None, date_to: dt.date | None = None,
                      provider_id: int | None = None, project_id: int | None = None) -> list[tuple[dt.date, int, int]]:
    """(day, processed, success) for the chart: by day for up to 92 days, by month beyond."""
    span = ((date_to or display.today()) - (date_from or dt.date(2000, 1, 1))).days
    by_day = span <= 92
    stat = stat_rows(user, date_from, date_to, provider_id, project_id, by_day=True) if by_day else stat_rows(user, None, None, provider_id, project_id)
    kinds = select(NumberStatus.id, NumberStatus.kind).subquery()
    stmt = (
        select(
            stat.c.day,
            func.sum(stat.c.n).filter(kinds.c.kind != StatusKind.new.value),
            func.sum(stat.c.n).filter(kinds.c.kind == StatusKind.success.value),
        )
        .join(kinds, kinds.c.id == stat.c.status_id)
        .where(stat.c.project_id.in_(select(Project.id).where(Project.deleted_at.is_(None))))
        .group_by(stat.c.day)
        .order_by(stat.c.day)
    )
    if not by_day:
        if date_from:
            stmt = stmt.where(stat.c.day >= date_from.replace(day=1))
        if date_to:
            stmt = stmt.where(stat.c.day <= date_to)
    return [(d, int(p or 0), int(s or 0)) for d, p, s in db.execute(stmt).all()]


def conversion_report(db: Session, user: CurrentUser, params: dict[str, Any]) -> ReportResult:
    """The conversion report's compute (:data:`app.panels.numbers.reports.CONVERSION`): a row per
    project with its shares of the processed numbers (None when nothing was processed), the totals
    as KPIs, processed/success by day (by month beyond 92 days) as the chart's series."""
    d_from, d_to, provider = params.get("from"), params.get("to"), params.get("provider_id")
    rows = conversion(db, user, d_from, d_to, provider)

    def share(n: int, whole: int) -> float | None:
        return round(n / whole, 4) if whole else None

    table = [{
        "project_id": r.project_id, "project": r.project, "total": r.total, "processed": r.processed, "success": r.success,
        "refusal": r.refusal, "no_answer": r.no_answer, "success_rate": share(r.success, r.processed),
        "refusal_rate": share(r.refusal, r.processed), "no_answer_rate": share(r.no_answer, r.processed),
    } for r in rows]
    totals: dict[str, Any] = {k: sum(getattr(r, k) for r in rows) for k in ("processed", "success", "refusal", "no_answer")}
    totals["success_rate"] = share(totals["success"], totals["processed"])
    series = [{"day": d, "processed": p, "success": s} for d, p, s in conversion_by_day(db, user, d_from, d_to, provider)]
    return ReportResult(kpis=totals, series=series, tables={"projects": table})


def rebuild_stats(db: Session) -> None:
    """Recompute the aggregates from ``phone_number`` (after a bulk load that bypassed triggers)."""
    from models.numbers_sql import REBUILD_STATS

    for statement in REBUILD_STATS:
        db.execute(text(statement))
