"""The kit's Telegram bot: where it is configured, and a client for it.

One source of truth for every part that talks to the bot (the webhook, the poller, delivery of
notifications, the settings page's buttons, handlers answering users): the token and the Bot API
address saved on **Администрирование → Telegram** (the token Fernet-encrypted in the ``setting``
table), the environment (``PULT_TELEGRAM_BOT_TOKEN``, ``PULT_TELEGRAM_API_URL``) only when nothing
is saved. The same holds for the webhook's secret token: the one generated when the admin switched
the webhook on, else ``PULT_TELEGRAM_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar

from sqlmodel import Session

from app.core import crypto
from app.core.config import settings
from integrations.telegram import DEFAULT_BASE_URL, TelegramClient, TelegramRetryLater
from models.core import Setting

PERM = "telegram.settings"
BOT_TOKEN_KEY = "telegram.bot_token"
API_URL_KEY = "telegram.api_url"
#: ``{"mode": "off" | "webhook" | "polling", "url": ..., "at": ..., "by": ...}``
RECEIVE_KEY = "telegram.receive"
#: The ``secret_token`` given to setWebhook (encrypted).
WEBHOOK_SECRET_KEY = "telegram.webhook_secret"
#: A secret being handed to setWebhook right now (encrypted): accepted too, because Telegram may
#: POST with it (pending updates) before the switch is saved.
WEBHOOK_NEXT_SECRET_KEY = "telegram.webhook_secret_next"
MODES = ("off", "webhook", "polling")

T = TypeVar("T")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _value(db: Session, key: str) -> Any:
    row = db.get(Setting, key)
    return row.value if row is not None else None


def put_setting(db: Session, key: str, value: Any, by: str | None) -> None:
    """Write one ``setting`` row in the caller's transaction (``None`` deletes it)."""
    row = db.get(Setting, key)
    if value is None:
        if row is not None:
            db.delete(row)
        return
    row = row or Setting(key=key)
    row.value, row.updated_at, row.updated_by = value, _now(), by
    db.add(row)


# --------------------------------------------------------------------------- the bot's configuration
def bot_config(db: Session) -> tuple[str, str]:
    """(token, Bot API base URL): saved settings first, then the environment."""
    token_value, url_value = _value(db, BOT_TOKEN_KEY), _value(db, API_URL_KEY)
    token = crypto.decrypt(token_value) if token_value else settings.telegram_bot_token
    base = url_value or settings.telegram_api_url or DEFAULT_BASE_URL
    return token, base


def webhook_secret(db: Session) -> str:
    """The secret Telegram must send in ``X-Telegram-Bot-Api-Secret-Token`` ('' when none)."""
    saved = _value(db, WEBHOOK_SECRET_KEY)
    return crypto.decrypt(saved) if saved else settings.telegram_webhook_secret


def webhook_secrets(db: Session) -> list[str]:
    """Every secret the webhook accepts now: :func:`webhook_secret`, and one being switched to."""
    next_value = _value(db, WEBHOOK_NEXT_SECRET_KEY)
    return [s for s in (webhook_secret(db), crypto.decrypt(next_value) if next_value else "") if s]


def receive_mode(db: Session) -> dict[str, Any]:
    """How updates reach Pult: ``{"mode": "off" | "webhook" | "polling", ...}`` (off when never set)."""
    value = _value(db, RECEIVE_KEY)
    return dict(value) if isinstance(value, dict) and value.get("mode") in MODES else {"mode": "off"}


def bot_client(db: Session, **options: Any) -> Optional[TelegramClient]:
    """A new client of the configured bot (None without a token); ``options`` go to the client."""
    token, base = bot_config(db)
    return TelegramClient(token, base_url=base, **options) if token else None


_shared: dict[tuple[str, str], TelegramClient] = {}


def shared_bot(db: Session) -> Optional[TelegramClient]:
    """The configured bot as a long-lived client for update handlers (kept per token and address).

    It waits out only short rate limits: a handler answers while Telegram still waits for it."""
    token, base = bot_config(db)
    if not token:
        return None
    if (token, base) not in _shared:
        _shared[(token, base)] = TelegramClient(token, base_url=base, max_retry_wait=5, timeout=10)
    return _shared[(token, base)]


# --------------------------------------------------------------------------- 429 on the settings page
async def wait_out_rate_limit(
    call: Callable[[], T],
    on_wait: Callable[[int], Awaitable[None]],
    max_wait: float = 30,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run the blocking ``call`` (a Bot API call made with ``max_rate_limit_retries=0``) in a thread;
    when Telegram answers 429, report the wait (``on_wait(seconds)``), sleep and try again, for at
    most ``max_wait`` seconds in all. A longer wait raises the :class:`TelegramRetryLater`."""
    waited = 0.0
    while True:
        try:
            return await asyncio.to_thread(call)
        except TelegramRetryLater as exc:
            wait = max(1, int(exc.retry_after or 1))
            if waited + wait > max_wait:
                raise
            await on_wait(wait)
            await sleep(wait)
            waited += wait


__all__ = [
    "PERM",
    "BOT_TOKEN_KEY",
    "API_URL_KEY",
    "RECEIVE_KEY",
    "WEBHOOK_SECRET_KEY",
    "WEBHOOK_NEXT_SECRET_KEY",
    "MODES",
    "put_setting",
    "bot_config",
    "webhook_secret",
    "webhook_secrets",
    "receive_mode",
    "bot_client",
    "shared_bot",
    "wait_out_rate_limit",
]
