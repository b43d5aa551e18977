"""Turning records into the strings the UI and CSV show: money, dates, enums, booleans, labels."""

from __future__ import annotations

import enum
from typing import Any

from app.core.formats import CURRENCY_SIGNS, TIMEZONE, fmt_datetime, fmt_money, fmt_number, fmt_percent, today  # noqa: F401 - the formatters, where panels found them
from app.core.i18n import has, t
from app.core.resource import Column, FormField, Resource


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
    if isinstance(value, (list, tuple)) and not kind_named(kind).shows_lists:  # a multiselect (a user's roles): each value as it reads
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
