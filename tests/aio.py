"""Run a coroutine to the end from a synchronous test, whatever loop the test's thread has.

The browser tests' session-scoped Playwright (sync API) keeps an event loop running in the main
thread for the rest of the session, and ``asyncio.run`` refuses to start inside a running loop;
so a test that runs after them gets a fresh loop in a thread of its own.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Coroutine


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
