"""Many-to-many fields (``fields.many``): the link rows between a record and records of another
resource, read and replaced by the services in the record's own transaction.

What a user sees and changes is bounded by the linked resource's scope: :func:`shown` lists only
the linked records the user may see there (its ``can`` and ``list_query``), :func:`check` refuses
a newly linked record the user may not see (or one in the trash), and :func:`replace` rewrites only
the visible part, so a link to a record outside the user's scope stays as it is (a manager who
edits a project's providers keeps the other managers' providers linked, unseen)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, delete, select

from app.core.auth import CurrentUser
from app.core.kinds import kind_for
from app.core.model_types import link_keys  # noqa: F401 - where callers found it
from app.core.query import get_many, pk_column
from app.core.registry import RESOURCES
from app.core.resource import FormField, Resource

Error = tuple[str, dict]


def many_fields(res: type[Resource] | Resource) -> list[FormField]:
    """The resource's many-to-many form fields."""
    return [f for f in res.form_fields() if f.through is not None and kind_for(res.model, f).links_many]


def visible(db: Session, user: CurrentUser, f: FormField, ids: Any, *, live_only: bool = False) -> set[Any]:
    """Those of ``ids`` that ``user`` may see in the linked resource (``live_only``: not in its trash)."""
    ids = {i for i in ids if i is not None}
    target = RESOURCES[f.resource]()
    if not ids or not target.can(user, "view"):
        return set()
    pk = pk_column(target.model)
    stmt = target.list_query(user, select(pk).where(pk.in_(ids)))
    if live_only and "deleted_at" in target.model.model_fields:
        stmt = stmt.where(target.model.deleted_at.is_(None))
    return set(db.exec(stmt).all())


def linked(db: Session, model: type, f: FormField, owners: list[Any]) -> dict[Any, list[Any]]:
    """Every linked id of each record in ``owners`` (whether or not anyone may see it): ``{owner: [ids]}``."""
    own, other = link_keys(model, f)
    out: dict[Any, list[Any]] = {o: [] for o in owners}
    if owners:
        col_own, col_other = getattr(f.through, own), getattr(f.through, other)
        for owner, target in db.exec(select(col_own, col_other).where(col_own.in_(owners)).order_by(col_own, col_other)).all():
            out.setdefault(owner, []).append(target)
    return out


def shown(db: Session, user: CurrentUser, model: type, f: FormField, owners: list[Any], lang: str = "ru") -> dict[Any, list[tuple[Any, str]]]:
    """What ``user`` sees linked to each of ``owners``: ``{owner: [(id, title)]}``, titles read in one
    query for all of them (:func:`app.core.query.get_many`); links out of the user's scope left out."""
    links = linked(db, model, f, owners)
    titles = get_many(db, RESOURCES[f.resource], user, {i for ids in links.values() for i in ids}, lang)
    return {o: sorted(((i, titles[i]) for i in ids if i in titles), key=lambda p: (p[1].casefold(), str(p[0]))) for o, ids in links.items()}


def check(db: Session, user: CurrentUser, model: type, f: FormField, ids: list[Any], owner: Any | None) -> Error | None:
    """The message for ``ids`` when one of the newly linked records is not one ``user`` may link
    (not visible to them in the linked resource, or in its trash); None when all are fine.
    Ids already linked to ``owner`` may be sent back as they are."""
    before = set(linked(db, model, f, [owner])[owner]) if owner is not None else set()
    new = set(ids) - before
    if new - visible(db, user, f, new, live_only=True):
        return "error.relation", {}
    return None


def replace(db: Session, user: CurrentUser, model: type, f: FormField, owner: Any, ids: list[Any]) -> tuple[list[Any], list[Any]]:
    """Make ``ids`` the visible links of ``owner``: delete the visible links not in ``ids``, add the
    missing ones, keep the links ``user`` cannot see. Returns (every id before, every id after)."""
    own, other = link_keys(model, f)
    before = linked(db, model, f, [owner])[owner]
    seen = visible(db, user, f, before)
    wanted = set(ids) | (set(before) - seen)
    gone = set(before) - wanted
    col_own, col_other = getattr(f.through, own), getattr(f.through, other)
    if gone:
        db.exec(delete(f.through).where(col_own == owner, col_other.in_(gone)))
    db.add_all([f.through(**{own: owner, other: i}) for i in sorted(wanted - set(before), key=str)])
    db.flush()
    return sorted(before, key=str), sorted(wanted, key=str)
