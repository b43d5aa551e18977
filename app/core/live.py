"""Live updates: every committed change reaches the open pages that show it, without a reload.

Services publish ``{"model", "ids", "op"}`` on Redis (``app.core.bus``) after each commit, from the
UI, the API, jobs or another server alike. Each backend process runs one subscriber
(:func:`register`, a Reflex lifespan task). Page states say which tables they show with
:func:`watch`; for each message the subscriber refreshes, through ``app.modify_state``, the states of
this process's connected tabs that watch that table. A refresh re-runs the state's own query
(``live_refresh``), so the viewer keeps their page, sort, filters and selection, and permissions
are checked again; the events it returns (a background recount) are sent to the tab to run. Bursts are coalesced: the first change refreshes at once, then at most one
refresh per tab and state per ``COALESCE_SECONDS``.

Redis going away (a restart, with or without persistence) is survived:

* The subscriber reconnects with backoff (``RECONNECT_MIN_SECONDS`` doubling up to
  ``RECONNECT_MAX_SECONDS``) and subscribes again; then it refreshes every tab it watches, since
  changes published while it was away were lost.
* Reflex's own Redis bookkeeping is revived (:func:`_revive_reflex`): its token manager runs two
  subscriber tasks that ``reflex.utils.tasks.ensure_task`` gives up on after five errors within a
  minute — any outage longer than ~5 s — and restarts only when a new socket connects; the
  keyspace-notification setting they and the state manager's lock waiters need lives in the
  server's config, which a restart resets; and the records of this process's sockets are gone
  when the data is. Reflex 0.10.1 has no hook for any of this, so we do it from here (private
  attributes, each step guarded: a Reflex that renamed them logs a warning, nothing breaks).
* A tab whose state vanished from Redis (a restart without persistence, or the state's own
  expiry) would come back as blank defaults: its ``live_refresh`` must not run on that (it was
  the ``KeyError: ''`` of issue 8), nor would any handler the user triggers. Such a tab is told to
  reload its page (:func:`_resync`): the view is in the URL, the session in the cookie, so it
  comes back signed in and current. After a reconnect that finds Redis emptied (a marker key of
  this subscriber is gone), every tab of this process is resynced at once, so forms and pages
  that do not watch anything recover too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.core.bus import channel_for
from app.core.config import settings

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.05
RECONNECT_MIN_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 5.0
#: How often the subscriber checks that Reflex's Redis tasks still run (and renews its marker).
WATCHDOG_SECONDS = 15.0
#: A tab is told to resync at most once per this many seconds (no reconnect loops).
RESYNC_EVERY_SECONDS = 10.0
#: Each subscriber keeps a key of its own in Redis; gone after a reconnect means Redis lost its data.
_MARKER_TTL = 7 * 24 * 3600
#: A tab that has not loaded a page for this long is forgotten (it closed or went away).
FORGET_AFTER_SECONDS = 6 * 3600

# client token -> state class -> (tables watched, last registration time)
_VIEWS: dict[str, dict[type, tuple[frozenset[str], float]]] = {}
_pending: set[tuple[str, type]] = set()
_last: dict[tuple[str, type], float] = {}


def watch(state: Any, tables: set[str] | frozenset[str]) -> None:
    """Record that this tab's ``state`` shows rows of ``tables`` (call from the page's load handler)."""
    token = state.router.session.client_token
    if token:
        _VIEWS.setdefault(token, {})[type(state)] = (frozenset(tables), time.monotonic())


def unwatch(state: Any) -> None:
    token = state.router.session.client_token
    _VIEWS.get(token, {}).pop(type(state), None)


def watchers(table: str) -> list[tuple[str, type]]:
    """(client token, state class) pairs in this process that show ``table``."""
    now = time.monotonic()
    out = []
    for token, states in list(_VIEWS.items()):
        for cls, (tables, seen) in list(states.items()):
            if now - seen > FORGET_AFTER_SECONDS:
                states.pop(cls, None)
                _last.pop((token, cls), None)
            elif table in tables:
                out.append((token, cls))
        if not states:
            _VIEWS.pop(token, None)
    return out


def _connected(app: Any, token: str) -> bool:
    """Whether the tab's socket lives in this process (others refresh their own tabs)."""
    manager = getattr(app.event_namespace, "_token_manager", None)
    record = getattr(manager, "token_to_socket", {}).get(token) if manager is not None else None
    return record is not None and record.instance_id == manager.instance_id


def _lost(state: Any) -> bool:
    """Whether ``state`` came back from Redis as blank defaults (its stored copy vanished): a
    state that ever handled an event of its tab knows the tab's token."""
    try:
        return not state.router.session.client_token
    except AttributeError:
        return False


async def _refresh(app: Any, token: str, cls: type) -> None:
    import reflex as rx

    # Leading edge: the first change refreshes at once; a burst gets at most one refresh per window.
    wait = COALESCE_SECONDS - (time.monotonic() - _last.get((token, cls), 0.0))
    if wait > 0:
        await asyncio.sleep(wait)
    _pending.discard((token, cls))
    _last[(token, cls)] = time.monotonic()
    if not _connected(app, token):
        return
    lost, events = False, None
    try:
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=cls)) as root:
            state = await root.get_state(cls)
            lost = _lost(state)
            if not lost:
                events = await asyncio.to_thread(state.live_refresh)
        if events:
            await _send_events(app, token, events)
    except Exception:  # one broken tab must not stop the others
        log.exception("live refresh failed for %s", cls.__name__)
    if lost:
        await _resync(app, token)


async def _send_events(app: Any, token: str, events: Any) -> None:
    """Queue the events a ``live_refresh`` returned in the tab, as if a handler had returned them
    (a list's background recount: dropping it left "Всего: ≈ 1" beside 134 rows, issue 8)."""
    from reflex.state import StateUpdate
    from reflex_base.event import Event

    await app.event_namespace.emit_update(StateUpdate(events=Event.from_event_type(events)), token)


_resynced: dict[str, float] = {}


async def _resync(app: Any, token: str) -> bool:
    """Make the tab ``token`` load its page again: its state in Redis is gone, so the browser is
    asked to reload (the page's view lives in its URL, the session in its cookie). Events the tab
    would send meanwhile would run on blank defaults; a reload is the one way back that does not
    depend on the Reflex frontend's internals."""
    import reflex as rx
    from reflex.state import StateUpdate
    from reflex_base.event import Event

    now = time.monotonic()
    if now - _resynced.get(token, 0.0) < RESYNC_EVERY_SECONDS:
        return False
    for old in [t for t, at in _resynced.items() if now - at >= RESYNC_EVERY_SECONDS]:
        del _resynced[old]
    _resynced[token] = now
    if not _connected(app, token):
        return False
    log.warning("tab %s lost its state in Redis: reloading its page", token[:8])
    try:
        update = StateUpdate(events=Event.from_event_type(rx.call_script("window.location.reload()")))
        await asyncio.wait_for(app.event_namespace.emit_update(update, token), timeout=5)
        return True
    except Exception:
        log.exception("could not resync tab %s", token[:8])
        return False


def _schedule(app: Any, token: str, cls: type) -> bool:
    """Refresh ``cls`` of tab ``token`` soon, unless a refresh is already on its way."""
    if (token, cls) in _pending:
        return False
    _pending.add((token, cls))
    asyncio.get_running_loop().create_task(_refresh(app, token, cls))
    return True


def dispatch(app: Any, message: dict[str, Any]) -> int:
    """Schedule refreshes for one bus message; returns how many were scheduled."""
    return sum(_schedule(app, token, cls) for token, cls in watchers(str(message.get("model", ""))))


def register(app: Any) -> None:
    """Start one bus subscriber in every backend process of ``app``."""

    @contextlib.asynccontextmanager
    async def live_updates():
        task = asyncio.create_task(_listen(app))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    app.register_lifespan_task(live_updates)


def _client() -> aioredis.Redis:
    """A client of our own for the subscription, without redis-py's silent retries: a lost
    connection must reach :func:`_listen`, which knows what to redo after it."""
    return aioredis.Redis.from_url(
        settings.redis_url, decode_responses=True, retry=Retry(NoBackoff(), 0),
        health_check_interval=10, socket_connect_timeout=5, socket_keepalive=True,
    )


async def _listen(app: Any) -> None:
    marker = f"pult:live:subscriber:{uuid.uuid4().hex}"  # made here: forked workers must not share it
    delay = RECONNECT_MIN_SECONDS
    was_connected = False
    while True:
        client = _client()
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(channel_for(client))
            emptied = not await client.exists(marker)
            await client.set(marker, "1", ex=_MARKER_TTL)
            if was_connected:
                log.warning("change bus subscription restored%s", " (Redis had lost its data)" if emptied else "")
                await _after_outage(app, client, emptied)
            was_connected, delay = True, RECONNECT_MIN_SECONDS
            watchdog = time.monotonic()
            while True:
                raw = await pubsub.get_message(timeout=1.0)
                if raw is not None and raw.get("type") == "message":
                    try:
                        dispatch(app, json.loads(raw["data"]))
                    except (ValueError, TypeError):
                        log.warning("ignoring a malformed change message: %r", raw.get("data"))
                    except Exception:  # a bug handling one message is not a lost connection
                        log.exception("could not dispatch the change message %r", raw.get("data"))
                if time.monotonic() - watchdog > WATCHDOG_SECONDS:
                    watchdog = time.monotonic()
                    await client.set(marker, "1", ex=_MARKER_TTL)
                    await _revive_reflex(app, client, config=False)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("change bus subscription lost (%s: %s); reconnecting in %.1f s", type(exc).__name__, exc, delay)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()


async def _after_outage(app: Any, client: aioredis.Redis, emptied: bool) -> None:
    """Redis is back: revive Reflex's bookkeeping, then bring every tab of this process up to date
    (the changes published meanwhile were lost). After a loss of data every tab is resynced."""
    await _revive_reflex(app, client, config=True, restore_sockets=emptied)
    if emptied:
        manager = getattr(app.event_namespace, "_token_manager", None)
        mine = [t for t, r in list(getattr(manager, "token_to_socket", {}).items()) if r.instance_id == getattr(manager, "instance_id", None)]
        for token in mine:
            await _resync(app, token)
        return
    for token, states in list(_VIEWS.items()):
        for cls in list(states):
            _schedule(app, token, cls)


async def _revive_reflex(app: Any, client: aioredis.Redis, config: bool, restore_sockets: bool = False) -> None:
    """Undo what a Redis outage does to Reflex 0.10.1's Redis bookkeeping (see the module doc).

    ``config``: set the keyspace notifications again (a restarted server forgot them; Reflex sets
    them once per process). ``restore_sockets``: store this process's socket records again (the
    data was lost; other processes look them up). Always: restart the token manager's subscriber
    tasks if they died. Each step on its own: one failing does not stop the others.
    """
    ns = getattr(app, "event_namespace", None)
    manager = getattr(ns, "_token_manager", None)
    state_manager = getattr(app, "_state_manager", None)
    steps: list[tuple[str, Any]] = []
    if config and (manager is not None and hasattr(manager, "redis") or hasattr(state_manager, "redis")):
        from reflex.istate.manager.redis import enable_keyspace_notifications

        steps.append(("keyspace notifications", lambda: enable_keyspace_notifications(client)))
    if manager is not None and hasattr(manager, "ensure_lost_and_found_task"):
        if getattr(manager, "_socket_record_task", None) is not None:
            steps.append(("socket record task", _sync(manager._ensure_socket_record_task)))
        if getattr(manager, "_lost_and_found_task", None) is not None:
            steps.append(("lost+found task", _sync(lambda: manager.ensure_lost_and_found_task(ns.emit_update))))
        if restore_sockets:
            async def restore() -> None:
                for token, record in list(manager.token_to_socket.items()):
                    if record.instance_id == manager.instance_id:
                        await manager._store_socket_record(token, record, nx=True)

            steps.append(("socket records", restore))
    if state_manager is not None and hasattr(state_manager, "_ensure_lock_task"):
        steps.append(("state lock task", _sync(state_manager._ensure_lock_task)))
    for name, step in steps:
        try:
            await step()
        except Exception as exc:
            log.warning("could not revive Reflex's %s after a Redis outage: %s: %s", name, type(exc).__name__, exc)


def _sync(fn: Any) -> Any:
    """A synchronous call as a step of :func:`_revive_reflex`."""
    async def step() -> None:
        fn()

    return step
