"""Project setup (seed 004, 2.3): which providers and geo feed a project's incoming pool and on
which weekdays and hours it works. One call replaces all three sets in one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import Session, delete, select

from app.core import audit, bus, crud
from app.core.auth import CurrentUser
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.registry import RESOURCES
from models.numbers import ProjectGeo, ProjectProvider, ProjectSchedule


@dataclass
class Window:
    weekday: int
    start: dt.time
    end: dt.time


@dataclass
class ProjectSetup:
    providers: list[int] = field(default_factory=list)
    geos: list[int] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)


def read(db: Session, user: CurrentUser, project_id: int) -> ProjectSetup:
    crud.get_record(db, RESOURCES["numbers.projects"], user, project_id)  # view permission and scope
    return ProjectSetup(
        providers=sorted(db.exec(select(ProjectProvider.provider_id).where(ProjectProvider.project_id == project_id)).all()),
        geos=sorted(db.exec(select(ProjectGeo.geo_id).where(ProjectGeo.project_id == project_id)).all()),
        windows=[Window(s.weekday, s.start_time, s.end_time) for s in db.exec(
            select(ProjectSchedule).where(ProjectSchedule.project_id == project_id).order_by(ProjectSchedule.weekday, ProjectSchedule.start_time)).all()],
    )


def _time(value: str) -> dt.time:
    return dt.time.fromisoformat(value.strip())


def save(db: Session, user: CurrentUser, project_id: int, providers: list[int], geos: list[int],
         windows: list[tuple[int, str, str]]) -> ProjectSetup:
    """Replace the project's providers, geo and windows. A manager may only choose their providers."""
    projects = RESOURCES["numbers.projects"]()
    project = crud.get_record(db, projects, user, project_id, for_update=True)
    if not projects.can(user, "update", project):
        raise PermissionDenied()
    errors: dict[str, tuple[str, dict]] = {}
    for pid in set(providers):
        try:
            crud.get_record(db, RESOURCES["numbers.providers"], user, pid)
        except (NotFound, PermissionDenied):
            errors["providers"] = ("error.relation", {})
    for gid in set(geos):
        try:
            crud.get_record(db, RESOURCES["numbers.geo"], user, gid)
        except (NotFound, PermissionDenied):
            errors["geos"] = ("error.relation", {})
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
    db.exec(delete(ProjectProvider).where(ProjectProvider.project_id == project_id))
    db.exec(delete(ProjectGeo).where(ProjectGeo.project_id == project_id))
    db.exec(delete(ProjectSchedule).where(ProjectSchedule.project_id == project_id))
    db.add_all([ProjectProvider(project_id=project_id, provider_id=p) for p in sorted(set(providers))])
    db.add_all([ProjectGeo(project_id=project_id, geo_id=g) for g in sorted(set(geos))])
    db.add_all([ProjectSchedule(project_id=project_id, weekday=w.weekday, start_time=w.start, end_time=w.end) for w in parsed])
    db.flush()
    after = ProjectSetup(sorted(set(providers)), sorted(set(geos)), parsed)
    audit.record(db, user, "setup", "numbers.projects", project_id, {
        "providers": [before.providers, after.providers], "geos": [before.geos, after.geos],
        "windows": [[f"{w.weekday} {w.start:%H:%M}-{w.end:%H:%M}" for w in before.windows], [f"{w.weekday} {w.start:%H:%M}-{w.end:%H:%M}" for w in parsed]],
    })
    for table in ("project_provider", "project_geo", "project_schedule"):
        bus.mark(db, table, [project_id], "update")
    db.commit()
    return after
