"""Logs: one JSON object a line in production, plain text in development, never a secret.

``configure()`` is called once per process (the web app, the RQ worker, the scheduler, the
Telegram poller). ``PULT_LOG_FORMAT`` chooses the shape: ``json`` (the Docker image's default)
or ``text`` (the default elsewhere: ``scripts/run`` and a developer's terminal);
``PULT_LOG_LEVEL`` the level (``INFO``).

A JSON line carries ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and, while a
request is being served, its ``request_id``, ``route`` (the template, never the raw path),
``method``, ``status``, ``duration_ms`` and ``user_id`` (an id, never a username); ``exc`` holds a
traceback. The middleware in :mod:`app.core.observe` opens the request context
(:func:`request_context`) and writes one access line per request; the API's user resolution
adds the user id.

**No personal data, no secrets.** Every handler gets :class:`RedactingFilter`, which rewrites the
formatted message and the traceback before any formatter sees them: phone numbers, e-mail
addresses, ``Authorization`` values, tokens and passwords in ``key=value`` or JSON shape,
credentials inside URLs, Telegram bot tokens, JWTs and Fernet tokens become ``***``; ``extra``
fields whose name says what they hold (``password``, ``token``, ``username``, ``phone`` ...) are
dropped. It is a net under the rule, not the rule: log ids, never the values themselves.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

REDACTED = "***"


# --------------------------------------------------------------------------- request context
@dataclass
class RequestContext:
    """What the log lines of one request share. Mutable: the API adds the user id from a worker
    thread (Starlette copies the context into the thread, the object stays the same)."""

    request_id: str
    method: str | None = None
    route: str | None = None
    status: int | None = None
    duration_ms: float | None = None
    user_id: int | None = None


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("pult_request", default=None)


def request_context() -> RequestContext | None:
    """The context of the request being served, if any."""
    return _current.get()


def bind(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


def set_user(user_id: int | None) -> None:
    """Record who the request acts for (its id) on the current request's log lines."""
    ctx = _current.get()
    if ctx is not None and user_id is not None:
        ctx.user_id = user_id


# --------------------------------------------------------------------------- redaction
_KEYS = r"(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|authorization|cookie|session|otp|recovery[_-]?codes?|one[_-]?time[_-]?code)"
#: Keys whose values are personal data (the key=value and JSON rules below blank them).
_PERSONAL = r"(?:phone|msisdn|mobile|e-?mail|username|user_name|full_name|first_name|last_name|telegram_username)"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer xxx / Basic xxx
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + REDACTED),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):[^@\s/]+@"), r"\1:" + REDACTED + "@"),
    # "password": "x"  /  'phone': 'x'  (JSON or repr of a dict)
    (re.compile(r"""(?i)(["']?[\w-]*(?:""" + _KEYS + "|" + _PERSONAL + r""")[\w-]*["']?\s*:\s*)(["'])(?:(?!\2).)*\2"""), r"\1\2" + REDACTED + r"\2"),
    # password=x  token: x  phone=x  (query strings, key=value logs, headers)
    (re.compile(r"(?i)\b([\w-]*(?:" + _KEYS + "|" + _PERSONAL + r")[\w-]*)(\s*[=:]\s*)(?![\"'])[^\s&,;]+"), r"\1\2" + REDACTED),
    # Telegram bot tokens: 123456789:AA...
    (re.compile(r"(?<![0-9])\d{6,12}:[A-Za-z0-9_-]{30,}"), REDACTED),  # also inside .../bot<token>/sendMessage
    # JWTs
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    # Fernet tokens (secrets encrypted at rest)
    (re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{20,}"), REDACTED),
    # e-mail addresses
    (re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"), REDACTED),
    # a phone number in a URL: %2B79991234567
    (re.compile(r"(?i)%2B\d{10,14}(?!\d)"), REDACTED),
    # phone numbers: +7 (999) 123-45-67, 8 999 123 45 67, +44 20 7946 0958, 89991234567 ...
    (re.compile(r"(?<![\w.:])\+?\d(?:[\s()-]*\d){9,14}(?![\w.:])"), REDACTED),
]
#: ``extra`` fields never written, whatever their value.
SENSITIVE_FIELDS = re.compile(r"(?i)" + _KEYS + "|" + _PERSONAL + r"|login|telegram")


def redact(text: str) -> str:
    """``text`` with secrets and personal data replaced by ``***``."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (with its arguments) and traceback through :func:`redact`,
    and drops ``extra`` fields whose name says they hold a secret or personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what we can
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None  # the redacted text above is what formatters print
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key in list(vars(record)):
            if key not in _STANDARD and SENSITIVE_FIELDS.search(key):
                delattr(record, key)
        return True


_STANDARD = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}
_CONTEXT_FIELDS = ("request_id", "method", "route", "status", "duration_ms", "user_id")


# --------------------------------------------------------------------------- formatting
class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the request's context, extras."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ctx = _current.get()
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is None and ctx is not None:
                value = getattr(ctx, name)
            if value is not None:
                out[name] = value
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_text:
            out["exc"] = record.exc_text
        elif record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message`` for a developer's terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ctx = _current.get()
        record.rid = f" [{ctx.request_id}]" if ctx is not None else ""
        try:
            return super().format(record)
        finally:
            del record.rid


def make_handler(fmt: str | None = None, stream: Any = None) -> logging.Handler:
    """A stream handler with the redaction filter and the chosen format (``json``/``text``)."""
    fmt = (fmt or os.environ.get("PULT_LOG_FORMAT") or "text").strip().lower()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler._pult = True  # type: ignore[attr-defined]
    return handler


#: Loggers kept at WARNING whatever the level: chatty clients.
NOISY_LOGGERS = ("httpx", "httpcore", "asyncssh", "urllib3", "botocore", "boto3", "s3transfer")


def configure(level: str | None = None, fmt: str | None = None) -> None:
    """Give the root logger one redacting handler (replacing one set up before by us). Idempotent."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_pult", False):
            root.removeHandler(h)
    root.addHandler(make_handler(fmt))
    root.setLevel((level or os.environ.get("PULT_LOG_LEVEL") or "INFO").upper())
    # Client libraries log every outgoing request at INFO, URLs included (a Telegram URL holds
    # the bot's token): our own code logs what matters about its calls.
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


__all__ = ["JsonFormatter", "RedactingFilter", "RequestContext", "TextFormatter", "bind", "configure", "make_handler",
           "redact", "request_context", "set_user", "unbind"]
