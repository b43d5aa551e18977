"""How updates (button presses, messages to the bot) reach Pult, switched on the settings page.

Three modes, one at a time (Telegram refuses getUpdates while a webhook is set):

* ``webhook`` — Telegram POSTs each update to ``<PULT_PUBLIC_URL>/api/integrations/telegram/webhook``.
  Switching on generates a new secret token (stored encrypted) and calls ``setWebhook(url,
  secret_token, allowed_updates)``; the status is ``getWebhookInfo`` (pending updates, the last
  delivery error). Needs a public HTTPS address (``PULT_PUBLIC_URL``); a local Bot API server or
  the sandbox also take plain HTTP.
* ``polling`` — for an app Telegram cannot reach: ``deleteWebhook``, then a poller process
  (``python -m jobs.telegram_poller``, :mod:`app.panels.telegram.poller`) long-polls ``getUpdates``.
  Its heartbeat in Redis is the status.
* ``off`` — the webhook is deleted, the poller idles; presses are not received (Telegram keeps
  them for 24 hours).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any, Optional

from sqlmodel import Session

from app.core import audit, bus, crypto
from app.core.auth import CurrentUser
from app.core.config import settings
from app.core.errors import PermissionDenied, ValidationFailed
from app.panels.telegram.bot import (
    MODES,
    PERM,
    RECEIVE_KEY,
    WEBHOOK_NEXT_SECRET_KEY,
    WEBHOOK_SECRET_KEY,
    bot_client,
    bot_config,
    put_setting,
    receive_mode,
)
from app.panels.telegram.updates import ALLOWED_UPDATES
from app.panels.telegram.webhook import WEBHOOK_PATH
from integrations.telegram import DEFAULT_BASE_URL, TelegramClient

#: The poller's heartbeat: ``{"id", "at", "state", "bot", "last_error", "processed"}``.
POLLER_STATUS_KEY = "pult:telegram:poller"


# --------------------------------------------------------------------------- where a webhook can point
def webhook_url() -> str:
    """Where Telegram should POST updates ('' without ``PULT_PUBLIC_URL``)."""
    return f"{settings.public_url}{WEBHOOK_PATH}" if settings.public_url else ""


def webhook_unavailable(api_base: str) -> Optional[str]:
    """Why a webhook cannot be used (an i18n key), or None when it can.

    Telegram's own server delivers only to HTTPS; a local Bot API server (or the sandbox) also to
    plain HTTP."""
    url = webhook_url()
    if not url:
        return "telegram.webhook_no_public_url"
    official = api_base.rstrip("/") == DEFAULT_BASE_URL
    if not url.startswith("https://") and (official or not url.startswith("http://")):
        return "telegram.webhook_needs_https"
    return None


# --------------------------------------------------------------------------- switching
def _client(db: Session) -> TelegramClient:
    # The page waits out a rate limit itself (it tells the user); here the call fails at once.
    client = bot_client(db, max_rate_limit_retries=0, max_attempts=2, backoff=0.5, timeout=10)
    if client is None:
        raise ValidationFailed.one("mode", "telegram.no_token")
    return client


def set_receive_mode(db: Session, user: CurrentUser, mode: str) -> dict[str, Any]:
    """Switch receiving to ``mode`` (``off`` / ``webhook`` / ``polling``) and tell Telegram.

    The Bot API is called before the switch is saved: when it refuses (a bad token, an address it
    cannot reach) the :class:`~integrations.telegram.TelegramError` propagates and nothing changes.
    Returns the saved mode record."""
    if not user.has_perm(PERM):
        raise PermissionDenied()
    if mode not in MODES:
        raise ValidationFailed.one("mode", "telegram.bad_mode")
    before = receive_mode(db)
    _token, base = bot_config(db)
    record: dict[str, Any] = {"mode": mode, "at": dt.datetime.now(dt.timezone.utc).isoformat(), "by": user.username}
    secret: Optional[str] = None
    if mode == "webhook":
        reason = webhook_unavailable(base)
        if reason:
            raise ValidationFailed.one("mode", reason)
        record["url"] = webhook_url()
        secret = secrets.token_urlsafe(32)  # 43 of A-Z a-z 0-9 _ -, as secret_token allows
        # Accepted from now on: Telegram POSTs pending updates as soon as setWebhook succeeds.
        put_setting(db, WEBHOOK_NEXT_SECRET_KEY, crypto.encrypt(secret), user.username)
        db.commit()
    try:
        if mode != "off" or before["mode"] != "off":  # off after off: nothing to undo, no bot needed
            with _client(db) as bot:
                if secret is not None:
                    bot.set_webhook(record["url"], secret, allowed_updates=ALLOWED_UPDATES)
                else:  # polling needs the webhook gone (getUpdates answers 409 while one is set); off too
                    bot.delete_webhook()
    except BaseException:
        if secret is not None:  # Telegram never got it
            put_setting(db, WEBHOOK_NEXT_SECRET_KEY, None, user.username)
            db.commit()
        raise
    put_setting(db, WEBHOOK_NEXT_SECRET_KEY, None, user.username)  # in the same commit as the new current one
    put_setting(db, WEBHOOK_SECRET_KEY, crypto.encrypt(secret) if secret else None, user.username)
    put_setting(db, RECEIVE_KEY, record, user.username)
    audit.record(db, user, "update", "setting", "telegram", {"receive": [before["mode"], mode]})
    bus.mark(db, "setting", [RECEIVE_KEY], "update")
    db.commit()
    return record


def reapply(db: Session, user: CurrentUser) -> Optional[dict[str, Any]]:
    """Point a newly saved bot at Pult the way the old one was (after the token changed)."""
    mode = receive_mode(db)["mode"]
    return set_receive_mode(db, user, mode) if mode != "off" else None


# --------------------------------------------------------------------------- status
@dataclass
class ReceiveStatus:
    """What the settings page shows about receiving."""

    mode: str
    since: Optional[str] = None
    by: Optional[str] = None
    #: ``getWebhookInfo`` (webhook mode, when asked for).
    webhook: Optional[dict[str, Any]] = None
    expected_url: str = ""
    #: The poller's heartbeat (polling mode), None when no poller runs.
    poller: Optional[dict[str, Any]] = None


def poller_heartbeat() -> Optional[dict[str, Any]]:
    """The running poller's last report, or None (none runs, or Redis cannot be reached)."""
    try:
        from app.core.redis import redis_client

        raw = redis_client().get(POLLER_STATUS_KEY)
    except Exception:
        return None
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def receive_status(db: Session, ask_telegram: bool = False) -> ReceiveStatus:
    """The mode as saved, the poller's heartbeat, and (``ask_telegram``) the webhook as Telegram sees it."""
    saved = receive_mode(db)
    status = ReceiveStatus(mode=saved["mode"], since=saved.get("at"), by=saved.get("by"), expected_url=saved.get("url") or webhook_url())
    status.poller = poller_heartbeat()
    if ask_telegram and status.mode == "webhook":
        with _client(db) as bot:
            status.webhook = bot.get_webhook_info()
    return status


__all__ = [
    "POLLER_STATUS_KEY",
    "ReceiveStatus",
    "webhook_url",
    "webhook_unavailable",
    "set_receive_mode",
    "reapply",
    "poller_heartbeat",
    "receive_status",
]
