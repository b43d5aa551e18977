"""Long polling: while receiving is switched to ``polling``, one process at a time asks Telegram for
updates (``getUpdates`` with ``offset`` and ``timeout``) and hands each to the dispatcher.

Run by ``python -m jobs.telegram_poller`` (``scripts/run`` and docker-compose start one). Any
number may run: they take turns by a Redis lock (Telegram itself answers 409 to a second
concurrent getUpdates); the others stand by and take over within :attr:`TelegramPoller.lock_ttl`
seconds when the holder dies.

Exactly once. The offset (the next ``update_id`` wanted) is stored in the ``setting`` table after
each update is processed, so a restarted or another poller neither skips nor repeats one; an update
is confirmed to Telegram by the next getUpdates carrying a higher offset. The dispatcher's claim in
Redis covers what lies between (processed, offset not yet stored), and the webhook path. An offset
older than six days is not sent: Telegram may restart ``update_id`` at a random number after a
week without updates, and a stale offset would confirm (drop) the new ones unseen.

Stopping (SIGTERM) is prompt: a long poll in flight is abandoned, not waited for; what it would have
returned is neither processed nor confirmed, so Telegram offers it again to the next poller.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import uuid
from typing import Any, Optional

from app.core import bus
from app.core import db as dbm
from app.panels.telegram.bot import bot_config, put_setting, receive_mode
from app.panels.telegram.receiving import POLLER_STATUS_KEY
from app.panels.telegram.updates import ALLOWED_UPDATES, BUSY, DONE, dispatch
from integrations.telegram import TelegramClient, TelegramError
from models.core import Setting

log = logging.getLogger(__name__)

LOCK_KEY = "pult:telegram:poller:lock"
#: ``{"bot_id", "offset", "at"}``: the next update_id to ask for, and when it was stored.
OFFSET_KEY = "telegram.poll_offset"
STALE_OFFSET = dt.timedelta(days=6)

# Compare-and-act on the lock, so a poller that lost it (expired) never extends or frees another's.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def load_offset(bot_id: Optional[int]) -> Optional[int]:
    """The stored offset for this bot, unless it belongs to another bot or is stale."""
    with dbm.session_scope() as db:
        row = db.get(Setting, OFFSET_KEY)
        value = row.value if row is not None and isinstance(row.value, dict) else None
    if not value or value.get("bot_id") != bot_id or not isinstance(value.get("offset"), int):
        return None
    try:
        at = dt.datetime.fromisoformat(value["at"])
    except (KeyError, TypeError, ValueError):
        return None
    return value["offset"] if _now() - at < STALE_OFFSET else None


def save_offset(bot_id: Optional[int], offset: int) -> None:
    with dbm.session_scope() as db:
        put_setting(db, OFFSET_KEY, {"bot_id": bot_id, "offset": offset, "at": _now().isoformat()}, "telegram")
        db.commit()


class TelegramPoller:
    """The polling loop; :meth:`run` until ``stop`` is set. One instance per process."""

    def __init__(
        self,
        *,
        poll_timeout: int = 20,
        idle_seconds: float = 2.0,
        error_seconds: float = 5.0,
        lock_ttl: Optional[float] = None,
        name: Optional[str] = None,
    ) -> None:
        #: Seconds each getUpdates may wait for an update (Telegram's long-poll ``timeout``).
        self.poll_timeout = max(1, int(poll_timeout))
        self.idle_seconds = idle_seconds
        self.error_seconds = error_seconds
        #: The lock outlives a poll and the handlers of its batch; renewed before and after each. A
        #: standby poller takes over this long after the holder died without freeing it.
        self.lock_ttl = lock_ttl if lock_ttl is not None else self.poll_timeout + 30
        self.id = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.processed = 0
        self.last_error: Optional[str] = None
        self._locked = False
        self._client: Optional[TelegramClient] = None
        self._client_key: Optional[tuple[str, str]] = None
        self._webhook_cleared = False
        self._unconfirmed: Optional[int] = None  # an offset processed but not yet sent to Telegram
        self._reported: Optional[tuple[str, Optional[str], int]] = None

    # ------------------------------------------------------------------ the loop
    def run(self, stop: threading.Event) -> None:
        log.info("telegram poller %s started (long poll %s s)", self.id, self.poll_timeout)
        try:
            while not stop.is_set():
                try:
                    delay = self.step(stop)
                except Exception as exc:  # Redis or the database away, a bug in a round: try again later
                    log.exception("telegram poller: round failed")
                    self._error(f"{type(exc).__name__}: {exc}")
                    delay = self.error_seconds
                if delay:
                    stop.wait(delay)
        finally:
            self._stand_down(final=True)
            if self._client is not None:
                self._client.close()
            log.info("telegram poller %s stopped", self.id)

    def step(self, stop: threading.Event) -> float:
        """One round: check the mode, hold the lock, poll once, process what came. Returns the pause."""
        with dbm.session_scope() as db:
            mode = receive_mode(db)["mode"]
            token, base = bot_config(db)
        if mode != "polling" or not token:
            self._stand_down()
            return self.idle_seconds
        if not self._hold_lock():
            return self.idle_seconds  # another poller has it
        client = self._client_for(token, base)
        try:
            if not self._webhook_cleared:  # getUpdates answers 409 while a webhook is set
                client.delete_webhook()
                self._webhook_cleared = True
            offset = load_offset(client.bot_id)
            self._beat("polling")
            updates = self._poll(client, offset, stop)
        except TelegramError as exc:
            self._error(str(exc))
            log.warning("telegram poller: %s", exc)
            return max(self.error_seconds, exc.retry_after or 0)
        if updates is None:  # stopping: the batch is dropped unconfirmed
            return 0
        self._unconfirmed, self.last_error = None, None
        for raw in updates:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int) or (offset is not None and update_id < offset):
                continue
            # Holding the lock, any other poller's running claim is a dead holder's: run it again.
            outcome = dispatch(raw, client, "polling", owner=f"polling:{self.id}", may_take_over=lambda other: other.startswith("polling:"))
            if outcome == BUSY:  # another process is on it: offered again next round
                return self.error_seconds
            offset = update_id + 1
            save_offset(client.bot_id, offset)
            self._unconfirmed = offset
            if outcome == DONE:
                self.processed += 1
            if not self._hold_lock():
                break
        self._beat("polling")
        return 0

    # ------------------------------------------------------------------ Telegram
    def _client_for(self, token: str, base: str) -> TelegramClient:
        if self._client_key != (token, base):
            if self._client is not None:
                self._client.close()
            self._client = TelegramClient(token, base_url=base, max_retry_wait=30, timeout=10)
            self._client_key, self._webhook_cleared = (token, base), False
        assert self._client is not None
        return self._client

    def _poll(self, client: TelegramClient, offset: Optional[int], stop: threading.Event) -> Optional[list[dict[str, Any]]]:
        """getUpdates in a daemon thread, so a stop does not wait for the long poll to end."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def call() -> None:
            try:
                box["result"] = client.get_updates(offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES)
            except BaseException as exc:  # handed to the loop's thread
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=call, name="telegram-getUpdates", daemon=True).start()
        while not done.wait(0.2):
            if stop.is_set():
                return None
        if "error" in box:
            raise box["error"]
        return box["result"] or []

    def _confirm(self) -> None:
        """Tell Telegram what was processed (the next getUpdates' offset does it), before going idle."""
        if self._unconfirmed is None or self._client is None:
            return
        try:
            self._client.get_updates(offset=self._unconfirmed, timeout=0, limit=1)
        except TelegramError as exc:  # e.g. 409 after a switch to the webhook: its dispatcher dedupes
            log.info("telegram poller: could not confirm offset %s: %s", self._unconfirmed, exc)
        self._unconfirmed = None

    # ------------------------------------------------------------------ the lock and the heartbeat
    def _redis(self):
        from app.core.redis import redis_client

        return redis_client()

    def _hold_lock(self) -> bool:
        r = self._redis()
        ttl_ms = int(self.lock_ttl * 1000)
        if self._locked and r.eval(_RENEW, 1, LOCK_KEY, self.id, ttl_ms):
            return True
        if self._locked:
            log.warning("telegram poller %s lost its lock", self.id)
        self._locked = bool(r.set(LOCK_KEY, self.id, nx=True, px=ttl_ms))
        if self._locked:
            log.info("telegram poller %s polls now", self.id)
            self._webhook_cleared = False
        return self._locked

    def _stand_down(self, final: bool = False) -> None:
        """Stop polling: confirm what was processed, free the lock, clear the heartbeat."""
        if not self._locked:
            return
        self._confirm()
        try:
            r = self._redis()
            r.eval(_RELEASE, 1, LOCK_KEY, self.id)
            if final:
                r.delete(POLLER_STATUS_KEY)
                bus.publish({"model": "setting", "ids": [POLLER_STATUS_KEY], "op": "delete"})
            else:
                self._beat("idle")
        except Exception as exc:  # the lock expires by itself
            log.warning("telegram poller: could not release the lock: %s", exc)
        self._locked = False
        log.info("telegram poller %s stands down", self.id)

    def _beat(self, state: str) -> None:
        value = {
            "id": self.id,
            "state": state,
            "at": _now().isoformat(),
            "bot_id": self._client.bot_id if self._client else None,
            "processed": self.processed,
            "last_error": self.last_error,
            "poll_timeout": self.poll_timeout,
        }
        try:
            self._redis().set(POLLER_STATUS_KEY, json.dumps(value), px=int(self.lock_ttl * 1000))
        except Exception as exc:
            log.warning("telegram poller: heartbeat failed: %s", exc)
            return
        if self._reported != (state, self.last_error, self.processed):  # the settings page shows it live
            self._reported = (state, self.last_error, self.processed)
            bus.publish({"model": "setting", "ids": [POLLER_STATUS_KEY], "op": "update"})

    def _error(self, message: str) -> None:
        self.last_error = message
        if self._locked:
            self._beat("error")


__all__ = ["LOCK_KEY", "OFFSET_KEY", "TelegramPoller", "load_offset", "save_offset"]
