"""A report page's period: ``from`` / ``to`` in the URL (the last 30 days by default), two date
inputs, and a reload when either changes. Used by stock analytics and numbers conversion."""

from __future__ import annotations

import datetime as dt
from typing import Any

import reflex as rx

from app.core.display import TIMEZONE
from app.core.ui.base import tr


class DateRangeMixin(rx.State, mixin=True):
    date_from: str = ""
    date_to: str = ""

    def _read_range(self, query: dict[str, str], days: int = 30) -> None:
        """Take the period from the URL's ``from`` / ``to``, else the last ``days`` days."""
        today = dt.datetime.now(TIMEZONE).date()  # the users' day (PULT_TIMEZONE), as the reports count days
        self.date_from = query.get("from", (today - dt.timedelta(days=days - 1)).isoformat())
        self.date_to = query.get("to", today.isoformat())

    @staticmethod
    def _date(s: str) -> dt.date | None:
        """An ISO date typed or taken from the URL; None when empty or not a date."""
        try:
            return dt.date.fromisoformat(s) if s else None
        except ValueError:
            return None

    @rx.event
    def set_date_from(self, value: str):
        self.date_from = value
        return self._reload()  # type: ignore[attr-defined]

    @rx.event
    def set_date_to(self, value: str):
        self.date_to = value
        return self._reload()  # type: ignore[attr-defined]


def date_range_inputs(state: Any, id_prefix: str) -> list[rx.Component]:
    """The "from" and "to" inputs, ids ``<id_prefix>-from`` / ``<id_prefix>-to``."""
    return [
        rx.vstack(rx.text(tr("from"), size="1", color_scheme="gray"),
                  rx.input(type="date", value=state.date_from, on_change=state.set_date_from, id=f"{id_prefix}-from"), spacing="1"),
        rx.vstack(rx.text(tr("to"), size="1", color_scheme="gray"),
                  rx.input(type="date", value=state.date_to, on_change=state.set_date_to, id=f"{id_prefix}-to"), spacing="1"),
    ]
