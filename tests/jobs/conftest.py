"""Fixtures for the background-job tests: real PostgreSQL, real Redis, real worker processes.

These tests use Redis database 11 (other suites flush 9) — only through fixtures and the
subprocess environment, never by changing ``os.environ`` for the rest of the session.
Worker and scheduler subprocesses (``python -m jobs.worker`` / ``python -m jobs.scheduler``)
get the test database, Redis 11, fast heartbeats, the kinds in ``jobkinds.py`` and the fixture
panel (``tests/kitpanel``, registered in the worker by ``tests.kitpanel.enabled``); each runs
in its own session and is stopped (its whole process tree) when the test ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
JOBS_REDIS_URL = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/11"

sys.path.insert(0, str(HERE))
import jobkinds  # noqa: F401  (registers the test kinds in this process too)
from jobtools import HEARTBEAT, wait_for


@pytest.fixture()
def redis_conn():
    """Redis database 11 for the kit (bus, RQ) during one test; the previous client is restored."""
    import redis

    from app.core import redis as kit_redis

    client = redis.Redis.from_url(JOBS_REDIS_URL, decode_responses=True)
    client.ping()
    previous = kit_redis._client
    kit_redis.set_redis(client)
    yield client
    kit_redis.set_redis(previous)
    client.close()


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        REDIS_URL=JOBS_REDIS_URL,
        # the test kinds, and the fixture panel (tests/kitpanel) the kit's job tests run on
        PULT_JOB_MODULES="jobkinds,tests.kitpanel.enabled",
        PULT_JOB_HEARTBEAT_SECONDS=str(HEARTBEAT),
        PULT_JOB_STALE_SECONDS="1",
        PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT)]),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Proc:
    """A worker or scheduler subprocess with its log file."""

    def __init__(self, name: str, args: list[str], log: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log = log
        self._fh = open(log, "wb")
        self.popen = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        if not self._fh.closed:
            self._fh.flush()
        return self.log.read_text(errors="replace")

    def tree(self) -> list[psutil.Process]:
        try:
            me = psutil.Process(self.pid)
            return [me, *me.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill_tree(self) -> None:
        """SIGKILL the process and everything it started (the work horse has its own process group)."""
        procs = self.tree()
        for p in procs:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=5)
        self.popen.wait(timeout=5)

    def stop(self, timeout: float = 1.5) -> None:
        """SIGTERM, then (cold) SIGKILL of the whole tree if it does not end in time."""
        if self.popen.poll() is None:
            procs = self.tree()
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            for p in procs:
                try:
                    p.kill()
                except psutil.NoSuchProcess:
                    pass
            psutil.wait_procs(procs, timeout=5)
            if self.popen.poll() is None:
                self.popen.wait(timeout=5)
        self._fh.close()


@pytest.fixture()
def procs(tmp_path) -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for p in started:
        p.stop()
    if os.environ.get("PULT_TEST_SHOW_LOGS"):  # debugging aid: run with -s
        for p in started:
            print(f"\n===== {p.name} =====\n{p.output()}")


@pytest.fixture()
def start_worker(procs, tmp_path, redis_conn) -> Callable[..., Proc]:
    """``start_worker()`` → a running ``python -m jobs.worker``, registered with RQ before it returns.
    ``start_worker("--burst")`` just starts it (wait for it yourself)."""
    from rq import Worker

    from app.core import jobs

    def start(*args: str, wait: bool = True, **env: str) -> Proc:
        n = len(procs) + 1
        name = f"test-worker-{os.getpid()}-{n}"
        p = Proc(name, ["-m", "jobs.worker", "--name", name, *args], tmp_path / f"worker-{n}.log", subprocess_env(**env))
        procs.append(p)
        if wait and "--burst" not in args:
            def registered() -> bool:
                if p.popen.poll() is not None:
                    raise AssertionError(f"worker exited early:\n{p.output()}")
                return any(w.name == name for w in Worker.all(connection=jobs.rq_connection()))

            wait_for(registered, 20, "the worker to register with RQ")
        return p

    return start


@pytest.fixture()
def start_scheduler(procs, tmp_path) -> Callable[..., Proc]:
    def start(*args: str, **env: str) -> Proc:
        n = len(procs) + 1
        p = Proc(f"scheduler-{n}", ["-m", "jobs.scheduler", *args], tmp_path / f"scheduler-{n}.log", subprocess_env(**env))
        procs.append(p)
        return p

    return start


@pytest.fixture()
def row(engine):
    """``row(run_id)`` → the run as it is in the database now (fresh session)."""
    from sqlmodel import Session

    from models.jobs import JobRun

    def get(run_id: int) -> JobRun:
        with Session(engine, expire_on_commit=False) as s:
            return s.get(JobRun, run_id)

    return get


@pytest.fixture()
def bus_messages(redis_conn):
    """Subscribe to the change bus; ``bus_messages()`` → every message received so far."""
    import json

    from app.core import bus

    ps = redis_conn.pubsub(ignore_subscribe_messages=True)
    ps.subscribe(bus.channel_for(redis_conn))
    wait_for(lambda: ps.get_message(timeout=0.1) is None and ps.subscribed, 5, "the bus subscription")
    got: list[dict] = []

    def drain() -> list[dict]:
        while True:
            m = ps.get_message(timeout=0.05)
            if m is None:
                return got
            got.append(json.loads(m["data"]))

    yield drain
    ps.close()

