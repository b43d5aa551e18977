"""Project setup (seed 004, 2.3): which providers and geo feed a project's incoming pool and on
which weekdays and hours it works. One call replaces all three sets in one transaction.

A manager sees only their providers (``scope``): :func:`read` shows them only those, and
:func:`save` changes only those — a provider of the project the manager cannot see stays linked,
untouched (sending it back is no error; adding one they cannot see is)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, delete, select

from app.core import CurrentUser, audit, bus, get_record, get_resource
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from models.numbers import ProjectGeo, ProjectProvider, ProjectSchedule, Provider


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


def _visible_providers(user: CurrentUser) -> Any:
    """A sub-select of the provider ids ``user`` may see (the providers resource's own scope)."""
    providers = get_resource("numbers.providers")()
    return providers.list_query(user, select(Provider.id))


def _linked(db: Session, project_id: int, user: CurrentUser, visible: bool) -> list[int]:
    """The project's providers that ``user`` sees (``visible``) or does not."""
    stmt = select(ProjectProvider.provider_id).where(ProjectProvider.project_id == project_id)
    ids = _visible_providers(user)
    stmt = stmt.where(ProjectProvider.provider_id.in_(ids) if visible else ProjectProvider.provider_id.not_in(ids))
    return sorted(db.exec(stmt).all())


def read(db: Session, user: CurrentUser, project_id: int) -> ProjectSetup:
    """The project's setup as ``user`` may see it: only the providers in their scope."""
    get_record(db, get_resource("numbers.projects"), user, project_id)  # view permission and scope
    return ProjectSetup(
        providers=_linked(db, project_id, user, visible=True),
        geos=sorted(db.exec(select(ProjectGeo.geo_id).where(ProjectGeo.project_id == project_id)).all()),
        windows=[Window(s.weekday, s.start_time, s.end_time) for s in db.exec(
            select(ProjectSchedule).where(ProjectSchedule.project_id == project_id).order_by(ProjectSchedule.weekday, ProjectSchedule.start_time)).all()],
    )


def _time(value: str) -> dt.time:
    return dt.time.fromisoformat(value.strip())


def save(db: Session, user: CurrentUser, project_id: int, providers: list[int], geos: list[int],
         windows: list[tuple[int, str, str]]) -> ProjectSetup:
    """Replace the project's providers, geo and windows. A manager may only choose their providers."""
    projects = get_resource("numbers.projects")()
    project = get_record(db, projects, user, project_id, for_update=True)
    if not projects.can(user, "update", project):
        raise PermissionDenied()
    errors: dict[str, tuple[str, dict]] = {}
    hidden = _linked(db, project_id, user, visible=False)  # kept as they are
    providers = [p for p in providers if p not in hidden]
    for pid in set(providers):
        try:
            get_record(db, get_resource("numbers.providers"), user, pid)
        except (NotFound, PermissionDenied):
            errors["providers"] = ("error.relation", {})
    for gid in set(geos):
        try:
            get_record(db, get_resource("numbers.geo"), user, gid)
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
    # only the part the user sees is replaced; the providers they cannot see stay linked
    db.exec(delete(ProjectProvider).where(ProjectProvider.project_id == project_id, ProjectProvider.provider_id.not_in(hidden)))
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
