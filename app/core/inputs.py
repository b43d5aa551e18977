"""What a value from outside may be before it reaches the database: the kit's boundary rules.

Every front door (form and filter parsing in :mod:`app.core.crud` and :mod:`app.core.query`, the
API's parameters and bodies) checks values here, so a value PostgreSQL or Python would choke on
is refused with a message instead of failing as a 500:

* text: no NUL character (PostgreSQL cannot store one) and no lone UTF-16 surrogate (JSON can
  spell ``"\\ud800"``; it has no UTF-8 form);
* integers: within the column's type (``smallint``, ``integer``, ``bigint``), so an id typed with
  ten digits is "not found", never "integer out of range";
* decimals: finite and within the column's ``numeric(p, s)``;
* dates kept in a record: between :data:`DATE_MIN` and :data:`DATE_MAX` (a far date breaks time
  zone arithmetic and pins "latest" columns forever).

Each check raises :class:`OutOfRange` or :class:`BadText` (both ``ValueError``); the parsers turn
them into the field's message.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field
from sqlalchemy import BigInteger, Float, Integer, Numeric, SmallInteger

#: Dates a record may hold (forms, API bodies, imports). Filters accept any date (see query.py).
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2999, 12, 31)
#: Integer bounds when no column says otherwise (PostgreSQL ``bigint``).
BIGINT = (-(2**63), 2**63 - 1)
_INT_RANGES = ((SmallInteger, (-(2**15), 2**15 - 1)), (BigInteger, BIGINT), (Integer, (-(2**31), 2**31 - 1)))
#: Exponent bounds of a number for a column without a declared precision (PostgreSQL ``numeric``
#: takes more, nobody means more): keeps "1e999999" from reaching the server.
_FREE_EXPONENT = 1000
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class BadText(ValueError):
    """Text with a character PostgreSQL cannot store (NUL) or UTF-8 cannot encode (a lone surrogate)."""

    key = "error.text_chars"


class OutOfRange(ValueError):
    """A value beyond what its column holds: ``too_big`` says which side, ``bound`` the limit passed."""

    def __init__(self, too_big: bool, bound: Any) -> None:
        super().__init__(f"{'above' if too_big else 'below'} {bound}")
        self.too_big, self.bound = too_big, bound

    def error(self, fmt: Any = str) -> tuple[str, dict]:
        """The (i18n key, params) to show: "at most …" or "at least …" (``fmt`` formats the bound)."""
        return ("error.max", {"max": fmt(self.bound)}) if self.too_big else ("error.min", {"min": fmt(self.bound)})


def check_text(value: str) -> str:
    """``value`` unchanged, or :class:`BadText` when it holds a NUL or a lone surrogate."""
    if _BAD_TEXT.search(value):
        raise BadText("a NUL or a lone surrogate")  # never the value: it cannot be encoded
    return value


def clean_text(value: Any, depth: int = 0) -> Any:
    """Every string inside ``value`` (dicts, lists) checked with :func:`check_text`; ValueError when
    it nests deeper than :data:`MAX_DEPTH` (no input of ours nests; a bomb must not reach a parser)."""
    if isinstance(value, str):
        return check_text(value)
    if isinstance(value, (dict, list, tuple)):
        if depth >= MAX_DEPTH:
            raise ValueError("nested too deep")
        for item in value.items() if isinstance(value, dict) else value:
            for part in item if isinstance(value, dict) else (item,):
                clean_text(part, depth + 1)
    return value


#: How deep a JSON value from outside may nest (objects and arrays).
MAX_DEPTH = 32
#: A string field of an API body: refused (422) when it holds NUL or a lone surrogate.
SafeStr = Annotated[str, AfterValidator(check_text)]
#: A free-form JSON object of an API body (an action's params, a view's filters): every string in
#: it checked like :data:`SafeStr`, nesting bounded by :data:`MAX_DEPTH`.
SafeDict = Annotated[dict[str, Any], AfterValidator(clean_text)]


#: A record id in a query or form parameter of a hand-written route (most keys are ``integer``):
#: an id the column cannot hold is refused (422) instead of failing the statement.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
#: A day in a query parameter (a report's period): a far date is refused (422) instead of
#: overflowing date arithmetic.
Day = Annotated[dt.date, Field(ge=DATE_MIN, le=DATE_MAX)]


def id_param(raw: str, name: str) -> int | None:
    """An optional id typed into a query string ("" means none), for routes that take text so an
    empty value is allowed; :class:`ValidationFailed` under ``name`` when it names no record."""
    from app.core.errors import ValidationFailed

    if not raw.strip():
        return None
    if not raw.strip().isdecimal() or not 1 <= int(raw) <= 2**31 - 1:
        raise ValidationFailed.one(name, "error.relation")
    return int(raw)


def int_range(column: Any) -> tuple[int, int]:
    """(lowest, highest) integer ``column`` holds; ``bigint`` bounds when it is None or not an integer."""
    col_type = getattr(column, "type", None)
    for sa_type, bounds in _INT_RANGES:
        if isinstance(col_type, sa_type):
            return bounds
    return BIGINT


def check_int(value: int, column: Any = None) -> int:
    """``value`` when ``column``'s integer type holds it, else :class:`OutOfRange`."""
    lo, hi = int_range(column)
    if value < lo or value > hi:
        raise OutOfRange(value > hi, hi if value > hi else lo)
    return value


def check_decimal(value: Decimal, column: Any = None) -> Decimal:
    """``value`` when finite and within ``column``'s ``numeric(p, s)`` (or float range), else ValueError."""
    if not value.is_finite():
        raise ValueError("not a finite number")
    col_type = getattr(column, "type", None)
    if isinstance(col_type, Numeric) and not isinstance(col_type, Float) and col_type.precision:
        scale = col_type.scale or 0
        top = Decimal(10) ** (col_type.precision - scale) - Decimal(1).scaleb(-scale)
    elif isinstance(col_type, Float):
        top = Decimal("1e307")
    else:
        if abs(value.adjusted()) > _FREE_EXPONENT:
            raise ValueError("exponent out of range")
        return value
    if abs(value) > top:
        raise OutOfRange(value > 0, top if value > 0 else -top)
    return value


def check_date(value: dt.date) -> dt.date:
    """``value`` when a record may hold it (:data:`DATE_MIN` .. :data:`DATE_MAX`), else :class:`OutOfRange`."""
    day = value.date() if isinstance(value, dt.datetime) else value
    if day < DATE_MIN or day > DATE_MAX:
        raise OutOfRange(day > DATE_MAX, DATE_MAX if day > DATE_MAX else DATE_MIN)
    return value


def check_column_value(column: Any, value: Any) -> Any:
    """``value`` checked against ``column``'s type (ints, decimals, text); other values pass through.

    For values that only meet a column in a comparison (filters, cursors, ids): a value the
    column cannot hold cannot match, and sending it would fail the statement.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return check_int(value, column)
    if isinstance(value, Decimal):
        return check_decimal(value, column)
    if isinstance(value, str):
        return check_text(value)
    return value


__all__ = [
    "DATE_MIN", "DATE_MAX", "MAX_DEPTH", "BadText", "OutOfRange", "SafeStr", "SafeDict", "Id", "Day", "id_param",
    "check_text", "clean_text", "check_int", "check_decimal", "check_date", "check_column_value", "int_range",
]
