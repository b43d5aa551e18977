"""Several records of another resource linked through a link table (``fields.many``)."""

from __future__ import annotations

from typing import Any

from app.core.inputs import OutOfRange, check_int
from app.core.kinds.base import Error, Field, Invalid, Kind, register_kind
from app.core.kinds.numbers import read_int


@register_kind
class Many(Kind):
    """A list of the linked records' ids: from a form, "3,5,8"; from the API, ``[3, 5, 8]``. Not
    a column of the record: :mod:`app.core.links` checks and stores the link rows."""

    name = "many"
    invalid = "error.relation"
    widget = "many"
    takes_list = True
    stored = False
    importable = False
    checks_int_range = False
    #: The value is a list of keys of the field's ``resource``, kept in the field's ``through`` table.
    links_many = True

    def is_empty(self, raw: Any) -> bool:
        return raw is None or (isinstance(raw, str) and raw.strip() == "") or raw == []

    def empty(self, field: Field) -> tuple[Any, Error | None]:
        return ([], ("error.required", {})) if field.spec is not None and field.spec.required else ([], None)

    def convert(self, field: Field, value: Any) -> Any:
        items = value if isinstance(value, list) else [v for v in str(value).split(",") if v.strip()]
        out = set()
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, str)):
                raise Invalid("error.relation")
            number = read_int(item)
            try:
                check_int(number, None)
            except OutOfRange:
                raise Invalid("error.relation") from None
            out.add(number)
        return sorted(out)

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "integer"}, "uniqueItems": True,
                "description": f"ids of the linked {getattr(field.spec, 'resource', '')} records (all of them: the list replaces the links you may see)"}

    def example(self, field: Field) -> Any:
        return [1]

    def form_value(self, value: Any) -> str:
        return ",".join(str(v) for v in value or [])

    def marks(self, field: Field, editing: bool) -> tuple[bool, bool]:
        return bool(field.spec is not None and field.spec.required), bool(getattr(field.spec, "help", None))
