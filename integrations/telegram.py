"""Telegram Bot API client over httpx (synchronous).

Follows https://core.telegram.org/bots/api: every call is ``POST {base}/bot{token}/{method}`` with
a JSON body, answered by ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": "...", "parameters": {"retry_after": S}}``::

    with TelegramClient(token, base_url=sandbox.url) as bot:
        bot.get_me()
        bot.send_message(chat_id, "Заказ #12 оплачен",
                         reply_markup=inline_keyboard([[("Выдать", "issue:12"), ("Отказать", "deny:12")]]))

Failures:

* ``429 Too Many Requests`` — the client sleeps ``parameters.retry_after`` seconds and tries again,
  at most ``max_rate_limit_retries`` times and ``max_retry_wait`` seconds in all; past that it
  raises :class:`TelegramRetryLater` (``.retry_after``) at once, so a job can reschedule itself
  instead of holding a worker.
* 5xx answers and network errors — retried ``max_attempts`` times in all with exponential
  backoff, then :class:`TelegramUnavailable`. A request that timed out after reaching Telegram may
  have been carried out, so a retried ``sendMessage`` can, rarely, deliver twice.
* Any other error (400 bad request, 401 bad token, 403 blocked by the user, 404, 409) raises
  :class:`TelegramError` at once, without retrying.

The bot token is a password: it never appears in exception messages, ``repr()`` or log records
(this module also masks ``/bot<token>/`` in the request lines httpx logs).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import httpx

DEFAULT_BASE_URL = "https://api.telegram.org"

log = logging.getLogger(__name__)

#: ``secret_token`` of ``setWebhook``: 1-256 characters of ``A-Z a-z 0-9 _ -``.
SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
#: Telegram limits ``callback_data`` to 1-64 bytes.
MAX_CALLBACK_DATA_BYTES = 64
#: ``/bot<token>`` in a URL or a message (the token itself may be any non-slash text).
_BOT_PATH_RE = re.compile(r"/bot([^/\s\"']+)")


def mask_token(token: str) -> str:
    """``123456:ABC…`` → ``123456:***`` (the bot id is public; the rest is the secret)."""
    bot_id, sep, _ = token.partition(":")
    return f"{bot_id}:***" if sep and bot_id.isdigit() else "***"


def redact(text: str, token: str | None = None) -> str:
    """``text`` with the token (when given) and every ``/bot<token>`` path masked."""
    if token:
        text = text.replace(token, mask_token(token))
    return _BOT_PATH_RE.sub(lambda m: "/bot" + mask_token(m.group(1)), text)


class _RedactTokens(logging.Filter):
    """Masks bot tokens in records of the HTTP libraries (httpx logs every request URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        if "/bot" in message:
            record.msg, record.args = redact(message), None
        return True


# Filters on a logger see only records made by that very logger, so name each one.
for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _RedactTokens) for f in _logger.filters):
        _logger.addFilter(_RedactTokens())


# --------------------------------------------------------------------------- errors
class TelegramError(Exception):
    """The Bot API refused a call (``ok: false``), or could not be reached.

    ``error_code`` is Telegram's (the HTTP status; 0 for a network error), ``description`` its
    text (``"Bad Request: chat not found"``), ``retry_after`` the seconds Telegram asked to wait
    (429 only), ``method`` the API method called.
    """

    #: Whether trying the same call later may succeed.
    retryable = False

    def __init__(
        self,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        *,
        method: str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.method = method
        self.migrate_to_chat_id = migrate_to_chat_id
        super().__init__(error_code, description, retry_after)

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        wait = f", retry after {self.retry_after} s" if self.retry_after is not None else ""
        return f"{where}{self.description} ({self.error_code}{wait})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.error_code!r}, {self.description!r}, retry_after={self.retry_after!r}, method={self.method!r})"


class TelegramRetryLater(TelegramError):
    """Rate limited for longer than the client may wait: try again in ``retry_after`` seconds."""

    retryable = True


class TelegramUnavailable(TelegramError):
    """5xx answers or network errors on every attempt: Telegram (or the way to it) is down."""

    retryable = True


# --------------------------------------------------------------------------- helpers
def _button(spec: Any) -> dict[str, Any]:
    if isinstance(spec, Mapping):
        button = dict(spec)
    else:
        text, data = spec
        button = {"text": text, "callback_data": data}
    if not button.get("text"):
        raise ValueError("an inline keyboard button needs a text")
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
        raise ValueError(f"callback_data must be 1-{MAX_CALLBACK_DATA_BYTES} bytes in UTF-8: {data!r}")
    return button


def inline_keyboard(rows: Iterable[Iterable[Any]]) -> dict[str, Any]:
    """``reply_markup`` for buttons under a message.

    Each row is a list of buttons; a button is ``(text, callback_data)`` or a ready dict such as
    ``{"text": "Открыть", "url": "https://..."}``::

        inline_keyboard([[("Да", "login:ok:7"), ("Нет", "login:no:7")]])
        # {"inline_keyboard": [[{"text": "Да", "callback_data": "login:ok:7"}, {...}]]}
    """
    return {"inline_keyboard": [[_button(b) for b in row] for row in rows]}


def _clean(params: Mapping[str, Any]) -> dict[str, Any]:
    """Drop parameters left at ``None`` (Telegram's defaults apply)."""
    return {k: v for k, v in params.items() if v is not None}


# --------------------------------------------------------------------------- client
class TelegramClient:
    """One bot's connection to the Bot API.

    ``base_url`` defaults to the official server; point it at the sandbox in tests. ``http`` lets
    the caller share an ``httpx.Client`` (it is then not closed by :meth:`close`). ``sleep`` is
    what waits between attempts (tests may pass a fake).
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        max_retry_wait: float = 30.0,
        max_rate_limit_retries: int = 3,
        max_attempts: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            raise ValueError("a Telegram bot token is required")
        self._token = token
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.max_retry_wait = max_retry_wait
        self.max_rate_limit_retries = max_rate_limit_retries
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._own_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._sleep = sleep

    # -- plumbing
    @property
    def bot_id(self) -> int | None:
        """The bot's user id (the part of the token before the colon)."""
        head = self._token.partition(":")[0]
        return int(head) if head.isdigit() else None

    def __repr__(self) -> str:
        return f"TelegramClient(bot={mask_token(self._token)!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> "TelegramClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _delay(self, failures: int) -> float:
        return min(self.max_backoff, self.backoff * 2 ** (failures - 1))

    def call(self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """Call any Bot API method and return its ``result`` (retrying as the module doc says)."""
        url = f"{self.base_url}/bot{self._token}/{method}"
        payload = _clean(params or {})
        waited = 0.0
        rate_limited = 0
        failures = 0
        while True:
            try:
                resp = self._http.post(url, json=payload, timeout=timeout if timeout is not None else self.timeout)
            except httpx.TransportError as exc:
                failures += 1
                reason = redact(f"{type(exc).__name__}: {exc}", self._token)
                if failures >= self.max_attempts:
                    raise TelegramUnavailable(0, f"network error: {reason}", method=method) from None
                delay = self._delay(failures)
                log.warning("telegram %s: %s; retrying in %.1f s (attempt %d of %d)", method, reason, delay, failures + 1, self.max_attempts)
                self._sleep(delay)
                continue

            try:
                data = resp.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                data = None
            if not isinstance(data, dict):
                data = {}
            if resp.status_code == 200 and data.get("ok") is True:
                return data.get("result")

            code = data.get("error_code") if isinstance(data.get("error_code"), int) else resp.status_code
            description = redact(str(data.get("description") or resp.reason_phrase or "no description"), self._token)
            extra = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
            retry_after = extra.get("retry_after")
            retry_after = int(retry_after) if isinstance(retry_after, (int, float)) else None

            if code == 429 or resp.status_code == 429:
                wait = retry_after if retry_after is not None else 1
                rate_limited += 1
                if rate_limited > self.max_rate_limit_retries or waited + wait > self.max_retry_wait:
                    raise TelegramRetryLater(429, description, wait, method=method)
                log.warning("telegram %s: rate limited, waiting %s s", method, wait)
                self._sleep(wait)
                waited += wait
                continue

            if resp.status_code >= 500 or (isinstance(code, int) and code >= 500):
                failures += 1
                if failures >= self.max_attempts:
                    raise TelegramUnavailable(code, description, method=method)
                delay = self._delay(failures)
                log.warning("telegram %s: %s (%s); retrying in %.1f s", method, description, code, delay)
                self._sleep(delay)
                continue

            if resp.status_code == 200 and not data:
                raise TelegramError(resp.status_code, "unexpected answer: not a Bot API JSON response", method=method)
            raise TelegramError(code, description, retry_after, method=method, migrate_to_chat_id=extra.get("migrate_to_chat_id"))

    # -- methods
    def get_me(self) -> dict[str, Any]:
        """The bot's ``User`` (id, is_bot, first_name, username, …)."""
        return self.call("getMe")

    def send_message(
        self,
        chat_id: int | str,
        text: str,
        parse_mode: str | None = None,
        reply_markup: Mapping[str, Any] | None = None,
        disable_notification: bool = False,
    ) -> dict[str, Any]:
        """Send a text message; returns the sent ``Message`` (``message_id``, ``chat``, ``date``, …)."""
        return self.call(
            "sendMessage",
            {
                "chat_id": chat_id,
                "text": text,
                "parse_mode": parse_mode,
                "reply_markup": reply_markup,
                "disable_notification": True if disable_notification else None,
            },
        )

    def answer_callback_query(self, callback_query_id: str, text: str | None = None, show_alert: bool = False) -> bool:
        """Acknowledge a button press (the client's spinner stops; ``text`` shows as a toast or alert)."""
        return self.call(
            "answerCallbackQuery",
            {"callback_query_id": callback_query_id, "text": text, "show_alert": True if show_alert else None},
        )

    def edit_message_text(
        self,
        chat_id: int | str,
        message_id: int,
        text: str,
        parse_mode: str | None = None,
        reply_markup: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Replace a sent message's text. Without ``reply_markup`` Telegram removes its buttons."""
        return self.call(
            "editMessageText",
            {"chat_id": chat_id, "message_id": message_id, "text": text, "parse_mode": parse_mode, "reply_markup": reply_markup},
        )

    def set_webhook(
        self,
        url: str,
        secret_token: str,
        allowed_updates: Sequence[str] | None = None,
        drop_pending_updates: bool = False,
    ) -> bool:
        """Have Telegram POST updates to ``url`` with ``X-Telegram-Bot-Api-Secret-Token: <secret_token>``."""
        if not SECRET_TOKEN_RE.match(secret_token or ""):
            raise ValueError("secret_token must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return self.call(
            "setWebhook",
            {
                "url": url,
                "secret_token": secret_token,
                "allowed_updates": list(allowed_updates) if allowed_updates is not None else None,
                "drop_pending_updates": True if drop_pending_updates else None,
            },
        )

    def delete_webhook(self, drop_pending_updates: bool = False) -> bool:
        """Stop webhook delivery (getUpdates works again)."""
        return self.call("deleteWebhook", {"drop_pending_updates": True if drop_pending_updates else None})

    def get_webhook_info(self) -> dict[str, Any]:
        """``WebhookInfo``: url, pending_update_count, last_error_message, …"""
        return self.call("getWebhookInfo")

    def get_updates(
        self,
        offset: int | None = None,
        timeout: int = 0,
        allowed_updates: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Pending updates (long polling for up to ``timeout`` s). Pass ``offset`` = last update_id + 1
        to confirm what was received; confirmed updates are never returned again."""
        return self.call(
            "getUpdates",
            {
                "offset": offset,
                "limit": limit,
                "timeout": timeout or None,
                "allowed_updates": list(allowed_updates) if allowed_updates is not None else None,
            },
            timeout=self.timeout + max(0, timeout),
        )


__all__ = [
    "DEFAULT_BASE_URL",
    "TelegramClient",
    "TelegramError",
    "TelegramRetryLater",
    "TelegramUnavailable",
    "inline_keyboard",
    "mask_token",
    "redact",
]
