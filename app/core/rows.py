"""Child rows edited inside a parent's form (``fields.rows``): read, checked and saved through the
child resource's own services in the parent's transaction.

A row is a dict of the child's form values, with ``id`` when it is an existing child. On save the
children of the parent that the user may see (the child resource's ``list_query``) are compared
with the rows sent: a child whose id is not sent is deleted (:func:`app.core.crud.apply_delete`),
a row with an id updates that child (:func:`~app.core.crud.apply_update`), a row without one creates
a child with the foreign key set to the parent (:func:`~app.core.crud.apply_create`). Each step
checks the child resource's ``can`` and writes its audit row; nothing commits here. A refused row
raises :class:`ValidationFailed` with keys ``<field>.<row index>.<child field>``."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from app.core.auth import CurrentUser
from app.core.audit import jsonable
from app.core.kinds import field_of, kind_for
from app.core.query import pk_column, pk_name
from app.core.registry import RESOURCES
from app.core.resource import FormField, Resource

Errors = dict[str, tuple[str, dict]]


def rows_fields(res: type[Resource] | Resource) -> list[FormField]:
    """The resource's child-row form fields."""
    return [f for f in res.form_fields() if f.fk is not None and kind_for(res.model, f).holds_rows]


def child_of(f: FormField) -> Resource:
    return RESOURCES[f.resource]()


def columns(f: FormField) -> list[FormField]:
    """The child's form fields the table shows, as the child resource declares them (a bare name
    takes the child's own declaration: its kind, options, min/max)."""
    declared = {c.name: c for c in child_of(f).form_fields()}
    return [declared.get(c.name, c) if c.kind == "auto" and c.label is None else c for c in f.columns]


def children(db: Session, user: CurrentUser, f: FormField, owners: list[Any], *, for_update: bool = False) -> dict[Any, list[Any]]:
    """The children of each of ``owners`` the user may see in the child resource, by key: ``{owner: [records]}``."""
    child = child_of(f)
    out: dict[Any, list[Any]] = {o: [] for o in owners}
    if not owners or not child.can(user, "view"):
        return out
    fk = getattr(child.model, f.fk)
    stmt = child.list_query(user, select(child.model).where(fk.in_(owners)))
    if child.has_soft_delete():
        stmt = stmt.where(child.model.deleted_at.is_(None))
    stmt = stmt.order_by(pk_column(child.model))
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    for record in db.exec(stmt).all():
        out.setdefault(getattr(record, f.fk), []).append(record)
    return out


def form_rows(records: list[Any], f: FormField) -> list[dict[str, str]]:
    """Children as the form's table starts with them: ``id`` and each column's form string."""
    from app.core.display import form_value

    key = pk_name(child_of(f).model)
    return [{"id": str(getattr(r, key)), **{c.name: form_value(r, c) for c in columns(f)}} for r in records]


def snapshot_rows(records: list[Any], f: FormField) -> list[dict[str, Any]]:
    """Children as the audit log and the API show them: ``id`` and each column's stored value."""
    key = pk_name(child_of(f).model)
    return [{"id": getattr(r, key), **{c.name: jsonable(getattr(r, c.name, None)) for c in columns(f)}} for r in records]


def raw_row(row: dict[str, Any], f: FormField) -> dict[str, Any]:
    return {c.name: row[c.name] for c in columns(f) if c.name in row}


def row_id(row: dict[str, Any]) -> str:
    value = row.get("id")
    return "" if value is None else str(value).strip()


def json_schema(f: FormField) -> dict[str, Any]:
    """A row as the API takes it: ``id`` (to keep a child) and each column as its kind types it."""
    child = child_of(f)
    props = {"id": {"type": ["integer", "string", "null"], "description": "an existing child's id; left out: a new one"}}
    for c in columns(f):
        props[c.name] = kind_for(child.model, c).json_schema(field_of(child.model, c))
    return {"type": "array", "items": {"type": "object", "properties": props},
            "description": f"every {f.resource} record of this one: a child left out is deleted"}
