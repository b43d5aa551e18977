"""Database engine and sessions: one PostgreSQL engine for the app, the API, jobs and tests."""

from __future__ import annotations

import os
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


def _forget_inherited_connections() -> None:
    """In a forked child (a server's worker processes, an RQ work horse), drop the parent's pooled
    connections without closing them: two processes on one socket corrupt each other's
    transactions (SQLAlchemy, "Using Connection Pools with Multiprocessing or os.fork()")."""
    if _engine is not None:
        _engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


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
