"""The live-update subscriber survives a Redis restart: it reconnects, subscribes again, tells
whether Redis kept its data, and goes on delivering changes. Against a redis-server this test
starts and kills (the browser-level twin is tests/e2e/test_redis_restart.py)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time

import pytest
import redis

from app.core import bus, live
from tests import aio
from tests.redis_server import RedisServer

async def _until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("persist", [True, False], ids=["aof", "none"])
def test_the_subscriber_comes_back_after_a_redis_restart(persist, tmp_path, monkeypatch):
    store = RedisServer(tmp_path, persist)
    store.start()
    got: list[dict] = []
    outages: list[bool] = []
    monkeypatch.setattr(live, "settings", dataclasses.replace(live.settings, redis_url=store.url))
    monkeypatch.setattr(live, "dispatch", lambda app, message: got.append(message))

    async def after_outage(app, client, emptied):
        outages.append(emptied)

    monkeypatch.setattr(live, "_after_outage", after_outage)
    monkeypatch.setattr(live, "RECONNECT_MAX_SECONDS", 1.0)
    publisher = store.client()
    channel = bus.channel_for(publisher)

    def publish(n: int) -> None:
        with contextlib.suppress(redis.ConnectionError):
            publisher.publish(channel, f'{{"model": "product", "ids": ["{n}"], "op": "update"}}')

    def subscribed() -> bool:
        with contextlib.suppress(redis.ConnectionError):
            return publisher.pubsub_numsub(channel)[0][1] == 1
        return False

    async def scenario() -> None:
        task = asyncio.create_task(live._listen(object()))
        try:
            await _until(subscribed, 10, "the subscription")
            publish(1)
            await _until(lambda: len(got) == 1, 10, "the first change")
            store.kill()
            await asyncio.sleep(2)  # the subscriber retries against a dead port meanwhile
            await asyncio.to_thread(store.start)
            await _until(lambda: outages, 15, "the reconnect")
            await _until(subscribed, 10, "the new subscription")
            publish(2)
            await _until(lambda: len(got) == 2, 10, "a change after the restart")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    try:
        aio.run(scenario())
    finally:
        store.kill()
    assert [m["ids"] for m in got] == [["1"], ["2"]]
    assert outages == [not persist]  # Redis without persistence came back empty, and that was noticed
