"""Turning records into the strings the UI and CSV show: money, dates, enums, booleans, labels."""

from __future__ import annotations

import datetime as dt
import enum
import os
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.core.i18n import has, t
from app.core.resource import Column, FormField, Resource

TIMEZONE = ZoneInfo(os.environ.get("PULT_TIMEZONE", "Europe/Moscow"))
CURRENCY_SIGNS = {"RUB": "₽", "EUR": "€", "USD": "$"}


def today() -> dt.date:
    """Today's date where the users are (``PULT_TIMEZONE``), not on the server's clock: from 21:00
    UTC it is already tomorrow in Moscow, and day aggregates are kept by Moscow days."""
    return dt.datetime.now(TIMEZONE).date()


def label_for(res: type[Resource] | None, name: str, explicit: str | None, lang: str) -> str:
    """Column/field label: explicit i18n key or text, else the label the resource declares for that
    field elsewhere (a column, form field or filter: the detail page lists bare names), else
    ``field.<name>``, else the name humanised."""
    if not explicit and res is not None:
        explicit = declared_label(res, name)
    if explicit:
        return t(explicit, lang)
    if has(f"field.{name}"):
        return t(f"field.{name}", lang)
    return name.replace("_", " ").capitalize()


def declared_label(res: type[Resource], name: str) -> str | None:
    """The first label ``res`` declares for field ``name`` on a column, form field or filter."""
    for item in (*res.columns, *_declared_fields(res), *res.filters):
        if item.name == name and item.label:
            return item.label
    return None


def _declared_fields(res: type[Resource]) -> list[Any]:
    from app.core.resource import Section

    out: list[Any] = []
    for item in res.form or []:
        if isinstance(item, Section):
            out += [f for f in item.fields if isinstance(f, FormField)]
        elif isinstance(item, FormField):
            out.append(item)
    return out


def fmt_number(value: Any, lang: str, places: int | None = None) -> str:
    if value is None:
        return ""
    if places is not None:
        value = Decimal(value).quantize(Decimal(1).scaleb(-places))
    text = f"{value:,}"
    if lang == "ru":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text


def fmt_percent(fraction: Any, lang: str, places: int = 1) -> str:
    """A share (0.125) as people write it: ``12,5 %`` in Russian, ``12.5%`` in English."""
    if fraction is None:
        return ""
    number = fmt_number(Decimal(str(fraction)) * 100, lang, places)
    if "," in number or "." in number:
        number = number.rstrip("0").rstrip(",.")
    return f"{number}\u00a0%" if lang == "ru" else f"{number}%"


def fmt_money(value: Any, currency: str | None, lang: str) -> str:
    if value is None:
        return ""
    sign = CURRENCY_SIGNS.get(currency or "", currency or "")
    return f"{fmt_number(Decimal(value), lang, 2)}\u00a0{sign}".strip()


def fmt_datetime(value: Any, with_time: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(TIMEZONE)
        return value.strftime("%d.%m.%Y %H:%M" if with_time else "%d.%m.%Y")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def fmt_value(value: Any, lang: str, kind: str = "text", currency: str | None = None, choices_key: str | None = None) -> str:
    """A value as a list cell, detail page and CSV show it: an enum's label when ``choices_key``
    names one, else as the field kind ``kind`` shows it (:meth:`app.core.kinds.Kind.display`)."""
    from app.core.kinds import kind_named

    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        value = value.value
    if choices_key and has(f"{choices_key}.{value}"):
        return t(f"{choices_key}.{value}", lang)
    if isinstance(value, (list, tuple)):  # a multiselect (a user's roles): each value as it reads
        return ", ".join(fmt_value(v, lang, "text", None, choices_key) for v in value)
    return kind_named(kind).display(value, lang, currency)


def cell_value(column: Column, record: Any) -> Any:
    return column.value_fn(record) if column.value_fn else getattr(record, column.name, None)


def display_kind(name: str, kind: str) -> str:
    """The kind a value is shown as: ids (``id``, ``*_id``) as stored, never "12 345"."""
    return "plain" if kind == "text" and (name == "id" or name.endswith("_id")) else kind


def fmt_cell(column: Column, record: Any, lang: str) -> str:
    return fmt_value(cell_value(column, record), lang, display_kind(column.name, column.kind), column.currency, column.choices_key)


def form_value(record: Any, f: FormField) -> str:
    """The string an edit form starts with for a field (never a secret's value)."""
    from app.core.kinds import kind_for

    value = getattr(record, f.name, None)
    return "" if value is None else kind_for(type(record), f).form_value(value)
