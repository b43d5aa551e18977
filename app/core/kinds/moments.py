"""Date and time kinds."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from app.core.inputs import DATE_MAX, DATE_MIN, OutOfRange, check_date
from app.core.kinds.base import Error, Field, Kind, register_kind


@register_kind
class Date(Kind):
    """A day (ISO ``2026-05-01``; a date-time is cut to its day), between DATE_MIN and DATE_MAX."""

    name = "date"
    invalid = "error.date"
    input_type = "date"

    def convert(self, field: Field, value: Any) -> Any:
        return check_date(dt.date.fromisoformat(str(value)[:10]))

    def out_of_range(self, field: Field, exc: OutOfRange) -> Error:
        return "error.date_range", {"min": DATE_MIN.strftime("%d.%m.%Y"), "max": DATE_MAX.strftime("%d.%m.%Y")}

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "string", "format": "date"}

    def example(self, field: Field) -> Any:
        return dt.date.today().isoformat()

    def display(self, value: Any, lang: str, currency: str | None = None) -> str:
        from app.core.formats import fmt_datetime

        return fmt_datetime(value, False)


@register_kind
class DateTime(Date):
    """A moment, shown in the users' time zone (``PULT_TIMEZONE``) to the minute."""

    name = "datetime"

    def display(self, value: Any, lang: str, currency: str | None = None) -> str:
        from app.core.formats import fmt_datetime

        return fmt_datetime(value, True)


@register_kind
class Time(Kind):
    """A time of day, ``9:30`` or ``09:30:15``."""

    name = "time"
    invalid = "error.time"
    input_type = "time"

    def convert(self, field: Field, value: Any) -> Any:
        text = str(value)
        if not re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", text):
            raise ValueError(text)
        return dt.time.fromisoformat(text.zfill(5) if len(text) == 4 else text)

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^\d{1,2}:\d{2}(:\d{2})?$"}

    def display(self, value: Any, lang: str, currency: str | None = None) -> str:
        if isinstance(value, dt.time):  # "09:00", seconds only when there are some
            return value.strftime("%H:%M" if not value.second else "%H:%M:%S")
        return super().display(value, lang, currency)

    def form_value(self, value: Any) -> str:
        return self.display(value, "ru") if isinstance(value, dt.time) else super().form_value(value)

    def example(self, field: Field) -> Any:
        return "09:30"
