"""Number kinds: integers, decimals, money, and a 0..1 share shown as a progress bar."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from app.core.inputs import check_decimal
from app.core.kinds.base import Field, Kind, register_kind

_INT = re.compile(r"[-+]?\d{1,30}")


def read_int(value: Any) -> int:
    """An integer from a form string ("1 000") or a JSON number; ``ValueError`` for anything else."""
    if isinstance(value, (bool, float)):
        raise ValueError(value)
    if isinstance(value, str) and not _INT.fullmatch(value.replace(" ", "")):
        raise ValueError(value)
    return int(str(value).replace(" ", ""))


def read_decimal(value: Any) -> Decimal:
    """A decimal as people type it ("1 234,5") or a JSON number; ``ValueError``/``InvalidOperation`` else."""
    if isinstance(value, bool):
        raise ValueError(value)
    return Decimal(str(value).replace(" ", "").replace("\u00a0", "").replace(",", "."))


@register_kind
class Integer(Kind):
    name = "int"
    invalid = "error.int"
    bounded = True
    align_right = True
    input_type = "number"

    def convert(self, field: Field, value: Any) -> Any:
        return read_int(value)

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "integer"}

    def example(self, field: Field) -> Any:
        lo = field.spec.min if field.spec is not None else None
        return int(lo) if lo is not None and lo > 0 else 1


@register_kind
class Number(Kind):
    """A decimal, typed with a comma or a point; within the column's ``numeric(p, s)``."""

    name = "number"
    invalid = "error.number"
    bounded = True
    align_right = True
    input_mode = "decimal"

    def convert(self, field: Field, value: Any) -> Any:
        return check_decimal(read_decimal(value), field.column)

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": ["string", "number"], "description": "a decimal: 1.5 or \"1,5\""}

    def example(self, field: Field) -> Any:
        return "1.5"


@register_kind
class Numeric(Number):
    """A list column of numbers (any numeric type): right-aligned, grouped as people read them."""

    name = "numeric"


@register_kind
class Money(Number):
    """An amount in a currency (the field's ``currency``): two decimals, the sign after it."""

    name = "money"

    def convert(self, field: Field, value: Any) -> Any:
        amount = check_decimal(read_decimal(value), field.column)  # before rounding: quantize cannot grow a huge value
        return check_decimal(amount.quantize(Decimal("0.01")), field.column)

    def example(self, field: Field) -> Any:
        return "100.00"

    def display(self, value: Any, lang: str, currency: str | None = None) -> str:
        from app.core.formats import fmt_money

        return fmt_money(value, currency, lang)


@register_kind
class Progress(Number):
    """A 0..1 share shown as a progress bar with its percentage."""

    name = "progress"
    align_right = False
    cell = "progress"
    unit = "\u00a0%"
    xlsx_format = "0%"

    def export_text(self, value: Any, lang: str) -> Any:
        from app.core.formats import fmt_percent

        return fmt_percent(value, lang) if isinstance(value, (int, float, Decimal)) else None

    def display(self, value: Any, lang: str, currency: str | None = None) -> str:
        return str(round(float(value) * 100))
