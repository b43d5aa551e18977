"""A redis-server process a test owns: started on a free port, killed with SIGKILL like a crash,
started again on the same directory (with ``persist`` it reloads its append-only file, without it
comes back empty). Used by the Redis fault tests (tests/jobs/test_live_subscriber.py,
tests/e2e/test_redis_restart.py)."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    def __init__(self, directory: Path, persist: bool) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = directory
        # persistence: the append-only file only; without it nothing survives a restart
        self.args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(directory),
                     "--daemonize", "no", "--save", "", "--appendonly", "yes" if persist else "no"]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.dir / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(self.args, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 20
        while True:
            with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
                if self.client().ping():
                    return
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"redis-server did not start:\n{(self.dir / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)
