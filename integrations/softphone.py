"""SoftPhone → Pult call events: the request signature, and a small client that sends signed events.

The protocol (the full text for vendors is ``docs/integrations/softphone.md``)::

    POST /api/integrations/softphone/events
    Content-Type: application/json
    X-Pult-Timestamp: 1767225600
    X-Pult-Signature: sha256=<hex HMAC-SHA256 of b"1767225600." + body, keyed with the shared secret>

    {"call_id": "c-81724", "event": "incoming", "phone": "+7 999 123-45-67",
     "operator": "ivanov", "result": null, "duration": null, "at": "2026-01-01T09:00:00+03:00"}

The signed message is the timestamp, a dot, and the raw body bytes exactly as sent (the Stripe and
Slack scheme), so the receiver verifies before it parses anything, and a body re-serialised on the
way (other key order, other spacing) fails. A timestamp more than :data:`TOLERANCE_SECONDS` away
from the receiver's clock is refused, which bounds how long a captured request can be replayed;
within that window a replay is a duplicate ``(call_id, event)`` and changes nothing.

Sender side::

    with SoftPhoneClient("https://pult.example.com", secret) as sp:
        sp.send({"call_id": "c-81724", "event": "incoming", "phone": "+79991234567", "operator": "ivanov"})
        sp.send({"call_id": "c-81724", "event": "ended", "phone": "+79991234567", "result": "success", "duration": 42})

:meth:`SoftPhoneClient.send` signs each attempt afresh, retries network errors and 5xx answers with
backoff (safe: the receiver drops duplicates) and raises :class:`SoftPhoneError` with the status and
the receiver's message on a 4xx. Receiver side: :func:`verify` raises :class:`SignatureError`.

The secret never appears in exception messages or ``repr()``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

EVENTS_PATH = "/api/integrations/softphone/events"
TIMESTAMP_HEADER = "X-Pult-Timestamp"
SIGNATURE_HEADER = "X-Pult-Signature"
SCHEME = "sha256"
#: How far the timestamp may be from the receiver's clock, either way (seconds).
TOLERANCE_SECONDS = 300
#: The events a SoftPhone reports.
EVENTS = ("incoming", "answered", "ended", "missed", "outgoing")


class SignatureError(Exception):
    """The request is not signed with the shared secret; ``reason`` says how (for logs, not clients)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SoftPhoneError(Exception):
    """Pult refused an event (4xx) or kept failing (5xx, network): ``status`` (0 for network) and ``detail``."""

    def __init__(self, status: int, detail: str, body: Any = None) -> None:
        super().__init__(f"{status}: {detail}" if status else detail)
        self.status, self.detail, self.body = status, detail, body


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``b"<timestamp>." + body`` under ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def sign(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The two headers for ``body``, signed at ``now`` (default: this moment)."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secrets: str | list[str], body: bytes, timestamp: str | None, given: str | None,
           now: float | None = None, tolerance: int = TOLERANCE_SECONDS) -> int:
    """Check a request's headers against ``body`` (the raw bytes received); returns the timestamp.

    ``secrets`` may list several (the current one first); the request passes if any of them signed
    it. Raises :class:`SignatureError` with ``reason`` one of ``no_secret``, ``missing``,
    ``bad_timestamp``, ``stale``, ``bad_signature``. Signatures are compared in constant time.
    """
    keys = [s for s in ([secrets] if isinstance(secrets, str) else secrets) if s]
    if not keys:
        raise SignatureError("no_secret")
    if not timestamp or not given:
        raise SignatureError("missing")
    try:
        ts = int(timestamp.strip())
    except ValueError:
        raise SignatureError("bad_timestamp") from None
    if abs((time.time() if now is None else now) - ts) > tolerance:
        raise SignatureError("stale")
    offered = given.strip().encode("utf-8", "replace")
    # Every key is tried (no early exit), so the time taken does not say which one nearly matched.
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(signature(key, ts, body).encode("ascii"), offered)
    if not ok:
        raise SignatureError("bad_signature")
    return ts


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The JSON body for an event (``at`` defaults to now, UTC; ``datetime`` values become ISO-8601)."""
    data = {k: v for k, v in event.items() if v is not None}
    data.setdefault("at", dt.datetime.now(dt.timezone.utc))
    return json.dumps(data, ensure_ascii=False, default=lambda v: v.isoformat() if isinstance(v, (dt.datetime, dt.date)) else str(v)).encode("utf-8")


class SoftPhoneClient:
    """Sends signed call events to a Pult server over httpx (synchronous)."""

    def __init__(self, base_url: str, secret: str, *, timeout: float = 10.0, max_attempts: int = 3, backoff: float = 0.5,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not secret:
            raise ValueError("SoftPhoneClient needs the shared secret")
        self._secret = secret
        self.max_attempts, self.backoff = max(1, max_attempts), backoff
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"SoftPhoneClient({str(self._http.base_url)!r}, secret='***')"

    def __enter__(self) -> SoftPhoneClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def post_raw(self, body: bytes, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """One POST of ``body`` as given, signed now unless ``headers`` are given (for tests)."""
        sent = {"Content-Type": "application/json", **(headers if headers is not None else sign(self._secret, body))}
        return self._http.post(EVENTS_PATH, content=body, headers=sent)

    def send(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Send one event; returns Pult's JSON answer (``{"ok": true, "duplicate": false, ...}``)."""
        body = encode_event(event)
        last: SoftPhoneError | None = None
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                r = self.post_raw(body)  # signed again on each attempt: a retry must not go stale
            except httpx.TransportError as exc:
                last = SoftPhoneError(0, f"network error: {type(exc).__name__}")
                continue
            data = _json(r)
            if r.status_code < 300:
                return data
            detail = str(data.get("detail", r.reason_phrase)) if isinstance(data, dict) else r.reason_phrase
            last = SoftPhoneError(r.status_code, detail, data)
            if r.status_code < 500:
                raise last
        assert last is not None
        raise last


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return {}


__all__ = [
    "EVENTS_PATH", "TIMESTAMP_HEADER", "SIGNATURE_HEADER", "TOLERANCE_SECONDS", "EVENTS",
    "SignatureError", "SoftPhoneError", "signature", "sign", "verify", "encode_event", "SoftPhoneClient",
]
