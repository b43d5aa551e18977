"""Telegram as a notification channel: the bot's settings (token encrypted at rest) and a job that
sends one message, retried with backoff, so a failed or rate-limited send is never lost.

``notify()`` calls :func:`deliver` for each recipient a ``telegram`` rule names; the send job is
enqueued only after the caller's transaction commits (a rolled-back change notifies nobody).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlmodel import Session

from app.core import audit, bus, crypto, notify
from app.core import db as dbm
from app.core.auth import SYSTEM, CurrentUser
from app.core.config import settings
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.jobs import JobContext, JobFailed, enqueue, job_kind
from integrations.telegram import DEFAULT_BASE_URL, TelegramClient, TelegramError, TelegramRetryLater
from models.core import Notification, Setting, User

BOT_TOKEN_KEY = "telegram.bot_token"
API_URL_KEY = "telegram.api_url"
SEND_KIND = "kit.telegram_send"


def bot_config(db: Session) -> tuple[str, str]:
    """(token, Bot API base URL): saved settings first, then the environment."""
    token_row, url_row = db.get(Setting, BOT_TOKEN_KEY), db.get(Setting, API_URL_KEY)
    token = crypto.decrypt(token_row.value) if token_row is not None and token_row.value else settings.telegram_bot_token
    base = url_row.value if url_row is not None and url_row.value else (settings.telegram_api_url or DEFAULT_BASE_URL)
    return token, base


def save_bot_config(db: Session, user: CurrentUser, token: str | None = None, api_url: str | None = None) -> None:
    """Store the bot token (encrypted; an empty value keeps the current one) and the API URL."""
    if not user.has_perm("telegram.settings"):
        raise PermissionDenied()
    changes: dict[str, Any] = {}
    now = dt.datetime.now(dt.timezone.utc)
    if token:
        if ":" not in token or len(token) > 100:
            raise ValidationFailed.one("token", "telegram.bad_token")
        row = db.get(Setting, BOT_TOKEN_KEY) or Setting(key=BOT_TOKEN_KEY)
        row.value, row.updated_at, row.updated_by = crypto.encrypt(token.strip()), now, user.username
        db.add(row)
        changes["token"] = ["***", "***"]
    if api_url is not None:
        if api_url and not api_url.startswith(("http://", "https://")):
            raise ValidationFailed.one("api_url", "telegram.bad_url")
        row = db.get(Setting, API_URL_KEY) or Setting(key=API_URL_KEY)
        changes["api_url"] = [row.value, api_url]
        row.value, row.updated_at, row.updated_by = api_url, now, user.username
        db.add(row)
    if changes:
        audit.record(db, user, "update", "setting", "telegram", changes)
    db.commit()


def deliver(db: Session, user: User, n: Notification) -> None:
    """The ``notify.telegram_delivery`` hook: send ``n`` to ``user`` after the transaction commits."""
    text = n.title if not n.body else f"{n.title}\n{n.body}"
    key = f"telegram:{user.id}:{uuid.uuid4().hex}"
    user_id = user.id

    def _enqueue() -> None:
        with dbm.session_scope() as s:
            enqueue(s, SYSTEM, SEND_KIND, {"user_id": user_id, "text": text[:4000]}, idempotency_key=key)

    bus.after_commit(db, _enqueue)


notify.telegram_delivery = deliver


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
