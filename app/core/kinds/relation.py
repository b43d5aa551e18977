"""A link to a record of another resource (``fields.relation("product_id", "stock.products")``)."""

from __future__ import annotations

from typing import Any

from app.core.inputs import OutOfRange
from app.core.model_types import parse_pk, pk_name
from app.core.kinds import base
from app.core.kinds.base import Error, Field, Kind, register_kind
from app.core.kinds.numbers import read_int


@register_kind
class Relation(Kind):
    """The target's key (an id, or a role's name): picked by a server-side search in forms; the
    services then check the record exists, is visible to the user and is not in the trash."""

    name = "relation"
    invalid = "error.relation"
    widget = "relation"
    links_record = True
    #: The key was checked against the target's key column, not this field's.
    checks_int_range = False

    def convert(self, field: Field, value: Any) -> Any:
        resource = getattr(field.spec, "resource", None)
        target = base.resource_model(resource) if resource else None
        if target is not None and pk_name(target) != "id":
            return parse_pk(target, value)  # e.g. a role, keyed by name
        number = read_int(value)
        if target is not None:
            parse_pk(target, number)  # an id the target's key cannot hold names nothing
        return number

    def out_of_range(self, field: Field, exc: OutOfRange) -> Error:
        return "error.relation", {}

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": ["integer", "string"], "description": f"the key of a {getattr(field.spec, 'resource', '')} record"}

    def example(self, field: Field) -> Any:
        return 1

