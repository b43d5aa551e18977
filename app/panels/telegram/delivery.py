"""Telegram as a notification channel: a job that sends one message through the configured bot
(:func:`app.panels.telegram.bot.bot_config`, the same one the webhook and the poller use), retried
with backoff, so a failed or rate-limited send is never lost.

``notify()`` calls :func:`deliver` (the ``telegram`` channel, registered in ``app.panels.telegram``)
for each recipient a ``telegram`` rule names; the send job is
enqueued only after the caller's transaction commits (a rolled-back change notifies nobody).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from app.core import bus
from app.core import db as dbm
from app.core.auth import SYSTEM
from app.core.jobs import JobContext, JobFailed, enqueue, job_kind
from app.panels.telegram.bot import API_URL_KEY, BOT_TOKEN_KEY, bot_config  # noqa: F401 - re-exported
from integrations.telegram import TelegramClient, TelegramError, TelegramRetryLater
from models.core import Notification, User

SEND_KIND = "kit.telegram_send"


def deliver(db: Session, user: User, n: Notification) -> None:
    """The ``telegram`` channel's delivery (``notify.Channel.deliver``): send ``n`` to ``user`` after
    the transaction commits."""
    text = n.title if not n.body else f"{n.title}\n{n.body}"
    key = f"telegram:{user.id}:{uuid.uuid4().hex}"
    user_id = user.id

    def _enqueue() -> None:
        with dbm.session_scope() as s:
            enqueue(s, SYSTEM, SEND_KIND, {"user_id": user_id, "text": text[:4000]}, idempotency_key=key)

    bus.after_commit(db, _enqueue)


@job_kind(SEND_KIND, timeout=120, max_attempts=6, backoff=(5, 30, 120, 600, 1800), label="telegram.send")
def send(ctx: JobContext, user_id: int, text: str) -> dict[str, Any]:
    """Send one message; rate limits and outages are retried with backoff, a refused chat is not."""
    user = ctx.db.get(User, user_id)
    if user is None or not user.telegram_chat_id:
        raise JobFailed("the user has no Telegram chat linked", retry=False)
    token, base = bot_config(ctx.db)
    if not token:
        raise JobFailed("the Telegram bot is not configured", retry=False)
    with TelegramClient(token, base_url=base) as client:
        try:
            message = client.send_message(user.telegram_chat_id, text)
        except TelegramRetryLater as exc:
            raise JobFailed(f"Telegram asks to retry after {exc.retry_after} s") from None
        except TelegramError as exc:
            raise JobFailed(str(exc), retry=exc.retryable) from None
    return {"message_id": message.get("message_id"), "chat_id": user.telegram_chat_id}
