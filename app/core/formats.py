"""Numbers, money, percentages and moments as the users read them, in their time zone
(``PULT_TIMEZONE``) and language. A leaf: it knows values, not resources or field kinds."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo


TIMEZONE = ZoneInfo(os.environ.get("PULT_TIMEZONE", "Europe/Moscow"))
CURRENCY_SIGNS = {"RUB": "₽", "EUR": "€", "USD": "$"}


def today() -> dt.date:
    """Today's date where the users are (``PULT_TIMEZONE``), not on the server's clock: from 21:00
    UTC it is already tomorrow in Moscow, and day aggregates are kept by Moscow days."""
    return dt.datetime.now(TIMEZONE).date()


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
