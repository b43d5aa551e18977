"""What a SQLModel table holds: a field's type read from its annotation, the primary key and how a
raw key reads as it. A leaf the declarations, the field kinds and the queries share."""

from __future__ import annotations

import enum
import re
import types
import typing
from typing import Any

from sqlmodel import SQLModel

from app.core.inputs import check_int, check_text

def field_python_type(model: type[SQLModel], name: str) -> type | None:
    """The field's Python type with ``Optional`` stripped, or None if ``name`` is not a model field."""
    info = model.model_fields.get(name)
    if info is None:
        return None
    ann = info.annotation
    if typing.get_origin(ann) in (typing.Union, getattr(types, "UnionType", None)):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        ann = args[0] if len(args) == 1 else ann
    return ann


def is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def pk_name(model: type) -> str:
    """The name of the model's (single-column) primary key: ``id`` for most tables, ``name`` for roles."""
    return model.__table__.primary_key.columns.values()[0].key


def pk_column(model: type) -> Any:
    return getattr(model, pk_name(model))


def parse_pk(model: type, raw: Any) -> Any:
    """``raw`` (from a URL, a cursor, a form or a body) as the primary key's type; ValueError/TypeError
    when it is not one, or is one the column cannot hold (callers answer "not found")."""
    column = model.__table__.primary_key.columns.values()[0]
    if getattr(column.type, "python_type", str) is int:
        if isinstance(raw, bool) or isinstance(raw, float):
            raise ValueError(raw)
        if isinstance(raw, str) and not re.fullmatch(r"\s*[-+]?\d{1,30}\s*", raw):
            raise ValueError("not a whole number")
        return check_int(int(raw), column)  # an id beyond the column's type names no record
    if raw is None or isinstance(raw, (dict, list)):
        raise TypeError("not a key")
    return check_text(str(raw))


def link_keys(model: type, f: Any) -> tuple[str, str]:
    """(column of ``f.through`` pointing at ``model``, column pointing at the linked resource's
    table): as declared in ``keys``, else read from the link table's foreign keys."""
    through = f.through
    if not hasattr(through, "__table__"):
        raise ValueError(f"'through' must be a SQLModel table, not {through!r}")
    table = through.__table__
    if f.keys is not None:
        missing = [k for k in f.keys if k not in table.columns]
        if missing:
            raise ValueError(f"{through.__name__} has no column {missing[0]!r}")
        return f.keys
    keyed = [c for c in table.columns if c.foreign_keys]
    own = [c.name for c in keyed if any(fk.column.table.name == model.__tablename__ for fk in c.foreign_keys)]
    other = [c.name for c in keyed if c.name not in own]
    if len(own) != 1 or len(other) != 1:
        raise ValueError(f"cannot tell the two foreign keys of {through.__name__}: declare keys=(to this record, to the linked one)")
    return own[0], other[0]
