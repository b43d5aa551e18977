"""The change bus: after a transaction commits, publish what it changed on Redis.

Services call :func:`mark` inside their transaction; the message goes out only if the transaction
commits (a rollback drops it), so no listener ever re-queries for a change that did not happen.
Message: ``{"model": "product", "ids": ["1", "2"], "op": "update"}`` on channel ``pult:changes``
(``pult:changes:<n>`` when the app uses Redis database ``n``, see :func:`channel_for`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session as ORMSession

from app.core.redis import redis_client

CHANNEL = "pult:changes"


def channel_for(client: Any) -> str:
    """The channel of the Redis database ``client`` uses: pub/sub ignores database numbers, so two
    installations (or test suites) sharing one Redis server on different databases stay apart."""
    db = client.connection_pool.connection_kwargs.get("db", 0) or 0
    return CHANNEL if int(db) == 0 else f"{CHANNEL}:{db}"
log = logging.getLogger(__name__)


def mark(db: ORMSession, model: str, ids: list[Any] | None, op: str) -> None:
    """Queue a change notice on the session; it is published after commit."""
    # Make sure a transaction is open: rolling back a session without one fires no event, and the
    # notice would then go out with the next, unrelated commit.
    db.connection()
    db.info.setdefault("pult_changes", []).append(
        {"model": model, "ids": [str(i) for i in (ids or [])], "op": op}
    )


def after_commit(db: ORMSession, fn: Any) -> None:
    """Run ``fn()`` once ``db``'s transaction has committed (never if it rolls back).

    For work that must not join the caller's transaction, such as enqueueing a job that commits
    a row of its own.
    """
    db.connection()
    db.info.setdefault("pult_after_commit", []).append(fn)


def publish(message: dict[str, Any]) -> None:
    try:
        client = redis_client()
        client.publish(channel_for(client), json.dumps(message))
    except Exception:  # the data is committed; a missed live refresh must not turn into an error
        log.exception("change bus publish failed")


@event.listens_for(ORMSession, "after_commit")
def _after_commit(session: ORMSession) -> None:
    for message in session.info.pop("pult_changes", []):
        publish(message)
    for fn in session.info.pop("pult_after_commit", []):
        try:
            fn()
        except Exception:  # the commit stands; the hook's own retry/reaper covers a lost call
            log.exception("after-commit hook failed")


@event.listens_for(ORMSession, "after_rollback")
def _after_rollback(session: ORMSession) -> None:
    session.info.pop("pult_changes", None)
    session.info.pop("pult_after_commit", None)
