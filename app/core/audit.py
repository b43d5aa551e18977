"""The audit log: every mutation writes who/what/when/diff in the caller's transaction.

Front doors set where a change came from (``ui``, ``api``, ``job``) with :func:`source`; services
only call :func:`record`, so the same service function audits correctly from anywhere.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from app.core import bus

from models.core import AuditLog

if TYPE_CHECKING:
    from app.core.principal import CurrentUser

_source: contextvars.ContextVar[str] = contextvars.ContextVar("pult_audit_source", default="system")

#: Who may read the audit rows of a setting (``entity_type="setting"``), by setting key: the
#: permission that changes it. A setting nobody registered (SoftPhone's secret, ...) is shown to
#: administrators only. See :mod:`app.core.audit_scope`.
SETTING_READERS: dict[str, str] = {}
#: Audit rows whose ``entity_type`` is not a resource key but names one's records (``schedule``
#: rows are about ``admin.schedules``): entity type → resource key.
ENTITY_RESOURCES: dict[str, str] = {}


def setting_readers(key: str, perm: str) -> None:
    """Let holders of ``perm`` read the audit rows of setting ``key`` (call at import)."""
    SETTING_READERS[key] = perm


def entity_resource(entity_type: str, resource_key: str) -> None:
    """Audit rows of ``entity_type`` are about records of ``resource_key``: scoped like them."""
    ENTITY_RESOURCES[entity_type] = resource_key


@contextmanager
def source(name: str) -> Iterator[None]:
    """Mark every audit row written inside the block as coming from ``name``."""
    token = _source.set(name)
    try:
        yield
    finally:
        _source.reset(token)


def jsonable(value: Any) -> Any:
    """A stored value as JSON holds it — the audit diff, the API's items, child-row snapshots:
    decimals as text, moments ISO, enums by value, collections element by element."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{"field": [old, new]}`` for every field whose value changed."""
    out: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = jsonable(before.get(key)), jsonable(after.get(key))
        if old != new:
            out[key] = [old, new]
    return out


def record(
    db: Session,
    user: CurrentUser | None,
    action: str,
    entity_type: str,
    entity_id: Any,
    details: dict[str, Any] | None = None,
    source: str | None = None,
) -> AuditLog:
    """Add an audit row to ``db``'s transaction. The caller commits together with the change itself."""
    row = AuditLog(
        user_id=user.id if user else None,
        username=user.username if user else None,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        diff=jsonable(details or {}),
        source=source or _source.get(),
    )
    db.add(row)
    bus.mark(db, "audit_log", [], "create")  # the operation log page is live too
    return row
