"""Which audit rows a user may read: those about what they may see.

The operation log is as confidential as the records it describes (seed 004, section 6.2): a
manager with ``admin.audit.view`` reads the rows about the resources they may view, and, where a
resource narrows its rows per user (``Resource.list_query``: a numbers manager's providers), only
the rows about records in that scope — or rows they wrote themselves. Rows about what only an
administrator sees (users, roles, SFTP hosts, SoftPhone and security settings, logins of others)
never reach them. Administrators (``*``) read everything.

The rule is one WHERE clause added by ``Audit.list_query``, so the list page, the detail page,
exports and the REST API apply it alike. Per-record scope is an ``EXISTS`` against the resource's
own scoped query by primary key, evaluated only for the rows being paged.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, and_, case, cast, false, or_, select, true

from app.core.audit import ENTITY_RESOURCES, SETTING_READERS
from app.core.auth import CurrentUser
from models.core import AuditLog


def _pk(model: type) -> Any:
    cols = list(model.__table__.primary_key.columns)
    return getattr(model, cols[0].name) if len(cols) == 1 else None


def _entity_matches(pk: Any) -> Any:
    """``pk = audit_log.entity_id`` with the text id cast safely (a non-number never errors)."""
    if isinstance(pk.type, (Integer, BigInteger)):
        as_int = case((AuditLog.entity_id.regexp_match(r"^[0-9]{1,18}$"), cast(AuditLog.entity_id, BigInteger)), else_=None)
        return pk == as_int
    return pk == AuditLog.entity_id


def visible_clause(user: CurrentUser) -> Any:
    """The WHERE clause of the audit rows ``user`` may read."""
    if user.is_admin:
        return true()
    if user.id is None:
        return false()
    from app.core.registry import RESOURCES

    aliases: dict[str, list[str]] = {}
    for entity_type, key in ENTITY_RESOURCES.items():
        aliases.setdefault(key, []).append(entity_type)
    clauses = []
    for key, res_cls in RESOURCES.items():
        if res_cls.model is AuditLog:
            continue
        res = res_cls()
        if not res.can(user, "view"):
            continue
        types = [key, *aliases.get(key, [])]
        of_type = AuditLog.entity_type.in_(types) if len(types) > 1 else AuditLog.entity_type == key
        pk = _pk(res.model)
        if pk is None:
            continue
        base = select(pk)
        scoped = res.list_query(user, base)
        if scoped is base:  # the resource does not narrow its rows for this user
            clauses.append(of_type)
            continue
        in_scope = scoped.where(_entity_matches(pk)).exists()
        clauses.append(and_(of_type, or_(in_scope, AuditLog.user_id == user.id)))
    readable = [k for k, perm in SETTING_READERS.items() if user.has_perm(perm)]
    if readable:
        clauses.append(and_(AuditLog.entity_type == "setting", AuditLog.entity_id.in_(readable)))
    # one's own sign-ins and sign-outs
    clauses.append(and_(AuditLog.entity_type == "user", AuditLog.entity_id == str(user.id)))
    return or_(*clauses)
