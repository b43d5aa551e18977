"""Live updates: every committed change reaches the open pages that show it, without a reload.

Services publish ``{"model", "ids", "op"}`` on Redis (``app.core.bus``) after each commit, from the
UI, the API, jobs or another server alike. Each backend process runs one subscriber
(:func:`register`, a Reflex lifespan task). Page states say which tables they show with
:func:`watch`; for each message the subscriber refreshes, through ``app.modify_state``, the states of
this process's connected tabs that watch that table. A refresh re-runs the state's own query
(``live_refresh``), so the viewer keeps their page, sort, filters and selection, and permissions
are checked again. Bursts are coalesced: the first change refreshes at once, then at most one
refresh per tab and state per ``COALESCE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis

from app.core.bus import channel_for
from app.core.config import settings

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.05
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
    try:
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=cls)) as root:
            state = await root.get_state(cls)
            await asyncio.to_thread(state.live_refresh)
    except Exception:  # one broken tab must not stop the others
        log.exception("live refresh failed for %s", cls.__name__)


def dispatch(app: Any, message: dict[str, Any]) -> int:
    """Schedule refreshes for one bus message; returns how many were scheduled."""
    scheduled = 0
    for token, cls in watchers(str(message.get("model", ""))):
        if (token, cls) in _pending:
            continue
        _pending.add((token, cls))
        asyncio.get_running_loop().create_task(_refresh(app, token, cls))
        scheduled += 1
    return scheduled


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


async def _listen(app: Any) -> None:
    while True:
        client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
        try:
            pubsub = client.pubsub()
            await pubsub.subscribe(channel_for(client))
            async for raw in pubsub.listen():
                if raw.get("type") != "message":
                    continue
                try:
                    dispatch(app, json.loads(raw["data"]))
                except (ValueError, TypeError):
                    log.warning("ignoring a malformed change message: %r", raw.get("data"))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("change bus subscription lost; reconnecting")
            await asyncio.sleep(1)
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()
