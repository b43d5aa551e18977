"""Helpers shared by tests/jobs (a module of its own: ``from conftest import`` is ambiguous when
several suites run in one session)."""

from __future__ import annotations

import time
from collections.abc import Callable

#: Seconds between heartbeats of the worker subprocesses (PULT_JOB_HEARTBEAT_SECONDS).
HEARTBEAT = 0.2


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
