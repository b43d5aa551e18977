"""Managers' row-level scope (seed 004, section 6.2): a manager sees only the numbers, providers,
projects, transfers and conversion figures of the providers assigned to them — one by one or by
group (``manager_scope``). The admin (``*``) and anyone with ``numbers.all_providers`` see all.

Every query of the panel goes through these helpers (the resources' ``list_query``, the services,
the conversion page, exports and the API), so the scope cannot be forgotten in one front door:
they add a sub-select to the statement, read in the same query, never a list cached in the app.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, or_, select, true

from app.core import CurrentUser
from models.numbers import ManagerScope, Provider

ALL = "numbers.all_providers"


def sees_all(user: CurrentUser) -> bool:
    return user.has_perm(ALL)


def provider_ids(user: CurrentUser) -> Any:
    """A sub-select of the provider ids ``user`` may see (for ``IN``)."""
    direct = select(ManagerScope.provider_id).where(ManagerScope.user_id == user.id, ManagerScope.provider_id.is_not(None))
    grouped = (
        select(Provider.id)
        .join(ManagerScope, ManagerScope.group_name == Provider.group_name)
        .where(ManagerScope.user_id == user.id)
    )
    return direct.union(grouped)


def provider_clause(user: CurrentUser, column: Any) -> Any:
    """A WHERE clause on a provider id column: true for all, false for nobody (no id, no scope)."""
    if sees_all(user):
        return true()
    if user.id is None:
        return false()
    return column.in_(provider_ids(user))


def project_clause(user: CurrentUser, column: Any, created_by: Any = None) -> Any:
    """Projects a manager sees: those fed by one of their providers (and those they created)."""
    if sees_all(user):
        return true()
    from models.numbers import ProjectProvider

    fed = column.in_(select(ProjectProvider.project_id).where(ProjectProvider.provider_id.in_(provider_ids(user))))
    return or_(fed, created_by == user.id) if created_by is not None else fed

