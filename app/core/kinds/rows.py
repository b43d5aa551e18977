"""Child records edited as a table inside a parent's form (``fields.rows``)."""

from __future__ import annotations

import json
from typing import Any

from app.core.kinds.base import Error, Field, Invalid, Kind, register_kind


@register_kind
class Rows(Kind):
    """A list of rows, each an object of the child's form values (with ``id`` for an existing
    child): from a form, that list as JSON text; from the API, the list itself. Each row is then
    parsed and saved by the child resource's services (:mod:`app.core.rows`)."""

    name = "rows"
    invalid = "error.value"
    widget = "rows"
    takes_list = True
    stored = False
    importable = False
    checks_int_range = False
    holds_rows = True

    def is_empty(self, raw: Any) -> bool:
        return raw is None or (isinstance(raw, str) and raw.strip() == "") or raw == []

    def empty(self, field: Field) -> tuple[Any, Error | None]:
        return ([], ("error.required", {})) if field.spec is not None and field.spec.required else ([], None)

    def convert(self, field: Field, value: Any) -> Any:
        rows = json.loads(value) if isinstance(value, str) else value
        if not isinstance(rows, list) or any(not isinstance(r, dict) for r in rows):
            raise Invalid("error.value")
        if len(rows) > 500:
            raise Invalid("error.max_length", n=500)
        return rows

    def json_schema(self, field: Field) -> dict[str, Any]:
        """Rows as objects; the API documents each row's columns (:func:`app.core.rows.json_schema`:
        it knows the child resource, which sits above the kinds)."""
        return {"type": "array", "items": {"type": "object"}}

    def example(self, field: Field) -> Any:
        return []

    def marks(self, field: Field, editing: bool) -> tuple[bool, bool]:
        return bool(field.spec is not None and field.spec.required), bool(getattr(field.spec, "help", None))
