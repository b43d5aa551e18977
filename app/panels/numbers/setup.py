"""Project schedule (seed 004, 2.3): on which weekdays and hours a project works its numbers. One
call replaces the project's windows in one transaction.

The providers and geo that feed the project's pool are fields of the project's own form
(``fields.many`` on :class:`~app.panels.numbers.resources.Projects`): the kit checks the manager's
scope there, keeps the links they cannot see and audits the change."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, delete, select

from app.core import CurrentUser, audit, bus, get_record, get_resource
from app.core.errors import PermissionDenied, ValidationFailed
from models.numbers import ProjectSchedule


@dataclass
class Window:
    weekday: int
    start: dt.time
    end: dt.time


def _label(w: Window) -> str:
    return f"{w.weekday} {w.start:%H:%M}-{w.end:%H:%M}"


def read(db: Session, user: CurrentUser, project_id: int) -> list[Window]:
    """The project's windows, by weekday (the user must see the project)."""
    get_record(db, get_resource("numbers.projects"), user, project_id)  # view permission and scope
    return [Window(s.weekday, s.start_time, s.end_time) for s in db.exec(
        select(ProjectSchedule).where(ProjectSchedule.project_id == project_id).order_by(ProjectSchedule.weekday, ProjectSchedule.start_time)).all()]


def _time(value: str) -> dt.time:
    return dt.time.fromisoformat(value.strip())


def save(db: Session, user: CurrentUser, project_id: int, windows: list[tuple[int, str, str]]) -> list[Window]:
    """Replace the project's windows ``(weekday, "HH:MM", "HH:MM")``; a message per bad day (``day<n>``)."""
    projects = get_resource("numbers.projects")()
    project = get_record(db, projects, user, project_id, for_update=True)
    if not projects.can(user, "update", project):
        raise PermissionDenied()
    errors: dict[str, tuple[str, dict]] = {}
    parsed: list[Window] = []
    for weekday, start, end in windows:
        key = f"day{weekday}"
        try:
            w = Window(int(weekday), _time(start), _time(end))
        except (ValueError, TypeError):
            errors[key] = ("error.time", {})
            continue
        if not 0 <= w.weekday <= 6:
            errors[key] = ("error.choice", {})
        elif w.start >= w.end:
            errors[key] = ("numbers.window_order", {})
        else:
            parsed.append(w)
    if errors:
        raise ValidationFailed(errors)
    before = read(db, user, project_id)
    db.exec(delete(ProjectSchedule).where(ProjectSchedule.project_id == project_id))
    db.add_all([ProjectSchedule(project_id=project_id, weekday=w.weekday, start_time=w.start, end_time=w.end) for w in parsed])
    db.flush()
    audit.record(db, user, "setup", "numbers.projects", project_id, {"windows": [[_label(w) for w in before], [_label(w) for w in parsed]]})
    bus.mark(db, "project_schedule", [project_id], "update")
    db.commit()
    return parsed
