"""Fixtures for the operations tests: a real production server (``reflex run --env prod
--backend-only``: the API, Reflex's ``/_event`` socket and ``/ping``, no frontend build) on the
test database, with the environment a test gives it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, _free_port, stop_group


@pytest.fixture()
def start_server(engine, clean, users, tmp_path) -> Iterator[Callable[..., tuple[str, Path]]]:
    """``start_server(**env)`` → (base URL, log file) of a server that answers; stopped at the end."""
    started: list[tuple[subprocess.Popen, object]] = []

    def start(**extra: str) -> tuple[str, Path]:
        port = _free_port()
        env = {**os.environ, "PULT_PORT": "3000", "PULT_BACKEND_PORT": str(port), "REFLEX_USE_SYSTEM_BUN": "1", **extra}
        log_path = tmp_path / f"server-{len(started)}.log"
        log = open(log_path, "w")
        proc = subprocess.Popen([str(ROOT / ".venv/bin/reflex"), "run", "--env", "prod", "--backend-only", "--loglevel", "warning"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started.append((proc, log))
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 300
        while True:
            if proc.poll() is not None:
                log.flush()
                pytest.fail(f"the server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/ping", timeout=2).status_code == 200:
                    return base, log_path
            if time.time() > deadline:
                pytest.fail("the server did not answer within 300 s")
            time.sleep(1)

    yield start
    for proc, log in started:
        stop_group(proc)
        log.close()
