"""Kinds that pick: yes/no, one value of a list, several values of a list."""

from __future__ import annotations

from typing import Any

from app.core.kinds.base import Error, Field, Invalid, Kind, is_enum, register_kind

_YES = ("1", "true", "on", "yes", "да")


@register_kind
class Boolean(Kind):
    """Yes or no: a switch; an empty or missing value is "no"."""

    name = "bool"
    widget = "switch"
    model_default_when_left_out = True

    def parse(self, field: Field, raw: Any) -> tuple[Any, Error | None]:
        if isinstance(raw, bool):
            return raw, None
        if isinstance(raw, (dict, list)):
            return None, ("error.value", {})
        return str(raw).strip().lower() in _YES, None

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "boolean"}

    def example(self, field: Field) -> Any:
        return True

    def display(self, value: Any, lang: str, currency: str | None = None) -> str:
        from app.core.i18n import t

        return t("yes" if value else "no", lang)

    def initial(self, field: Field) -> str:
        default = field.spec.default if field.spec is not None else None
        return "1" if (default in (None, True) and field.name == "is_active") or default else ""


@register_kind
class Select(Kind):
    """One of the declared options (or of the column's enum)."""

    name = "select"
    widget = "select"
    invalid = "error.choice"
    chooses = True

    def convert(self, field: Field, value: Any) -> Any:
        options = field.options
        if options and str(value) not in {v for v, _ in options}:
            raise Invalid("error.choice")
        tp = field.python_type
        return tp(str(value)) if is_enum(tp) or tp is int else str(value)

    def json_schema(self, field: Field) -> dict[str, Any]:
        values = [v for v, _ in field.options]
        return {"type": "string", "enum": values} if values else {"type": "string"}

    def example(self, field: Field) -> Any:
        options = field.options
        return options[0][0] if options else "value"


@register_kind
class Multiselect(Kind):
    """Several of the declared options, stored as a JSON list (a user's roles, a role's permissions).
    A form sends them comma-separated, the API as a list."""

    name = "multiselect"
    widget = "checkboxes"
    takes_list = True
    chooses = True
    invalid = "error.choice"

    def convert(self, field: Field, value: Any) -> Any:
        values = value if isinstance(value, list) else [v for v in str(value).split(",") if v]
        allowed = {v for v, _ in field.options}
        if any(not isinstance(v, str) or v not in allowed for v in values):
            raise Invalid("error.choice")
        return sorted(set(values))

    def json_schema(self, field: Field) -> dict[str, Any]:
        values = [v for v, _ in field.options]
        return {"type": "array", "items": {"type": "string", "enum": values} if values else {"type": "string"}}

    def example(self, field: Field) -> Any:
        options = field.options
        return [options[0][0]] if options else []
