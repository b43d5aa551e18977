"""Helpers shared by the model modules."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def created_at_field() -> datetime:
    """A ``created_at`` column: timezone-aware, set on insert, indexed for date filters."""
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False, index=True)


def optional_ts_field(index: bool = False) -> datetime | None:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=True, index=index)
