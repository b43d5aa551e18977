"""Database engine and sessions: one PostgreSQL engine for the app, the API, jobs and tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.config import settings

_engine: Engine | None = None


def engine() -> Engine:
    """The process-wide engine, created on first use."""
    global _engine
    if _engine is None:
        _engine = create_engine(settings.database_url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    return _engine


def set_engine(new: Engine | None) -> None:
    """Point the kit at another engine (tests use a database of their own)."""
    global _engine
    _engine = new


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session whose transaction the caller commits; rolled back on error, closed at exit."""
    with Session(engine(), expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
