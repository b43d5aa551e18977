"""Extra Pult servers for browser tests: another backend process on its own port, serving the
frontend the session's server built, on the same database and a Redis of the test's choice.

The session's ``app_url`` server runs ``reflex run --env prod --single-port``. An extra server is
a second OS process on another port, started the way Reflex's prod single-port mode starts its
backend (``reflex.utils.exec.run_backend_prod``): Granian serving the ASGI factory ``app.app:app``
with compilation skipped and the compiled frontend mounted on the same port. We launch Granian
directly because ``reflex run --single-port`` always recompiles and rebuilds the frontend in
``.web`` (it would rewrite the bundle the session's server is serving), and ``--backend-only``
serves no frontend at all.

The prebuilt bundle does not work on another port as it is: ``.web/env.json`` is inlined into a
``reflex-env`` chunk holding absolute URLs (``ws://localhost:<port 1>/_event``), and the browser
only swaps ``localhost`` for ``window.location.hostname`` (``getBackendURL`` in Reflex's
``state.js``); the port stays. A browser on the extra server would therefore open its WebSocket to
the first one. So the extra server gets its own copy of the build (``build/client`` and
``backend/``, copied under Reflex's own ``.web`` lock, through ``REFLEX_WEB_WORKDIR``) whose URLs
name its own port, which is what building the frontend for it would produce. The copy also means
that an extra server which compiled by mistake would write into its own directory, never into
the first server's ``.web``.

An extra server imports the app when it starts; if the app's states were edited after the first
server built its frontend, Reflex reports a state schema mismatch and the failure message says so.
Its output goes to ``.data/e2e-<name>.log`` (``/tmp/pult-e2e-<name>.log`` without ``.data``);
failures quote its tail.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import ROOT, _free_port, stop_group

START_TIMEOUT = 180
#: Printed by Reflex when a page was built for another state tree than the backend imported.
SCHEMA_MISMATCH = "does not match the backend state schema"


@dataclass
class Server:
    url: str
    port: int
    log: Path

    def tail(self, chars: int = 3000) -> str:
        try:
            out = self.log.read_text(errors="replace")[-chars:]
        except OSError as exc:
            return f"(no log: {exc})"
        hint = ""
        if SCHEMA_MISMATCH in out:
            hint = ("\nNOTE: this server imported other app code than the session's server built its "
                    "frontend from (was the app edited while the session ran?).")
        return f"--- server {self.url} log {self.log}, tail ---\n{out}{hint}"


@contextlib.contextmanager
def explained(server: Server) -> Iterator[None]:
    """Re-raise any failure inside with the server's log tail attached."""
    try:
        yield
    except Exception as exc:
        raise AssertionError(f"{exc}\n\n{server.tail()}") from exc


def _web_dir() -> Path:
    """Where ``reflex run`` built the session server's frontend (``.web`` unless REFLEX_WEB_WORKDIR says otherwise)."""
    from reflex_base.environment import environment

    path = environment.REFLEX_WEB_WORKDIR.get()
    return path if path.is_absolute() else ROOT / path


def _copy_frontend(src: Path, dst: Path, port1: int, port2: int) -> list[str]:
    """Copy the built frontend into ``dst`` with its backend URLs pointing at ``port2``.

    Returns the files rewritten (the compressed twins of a rewritten file are dropped, so the
    static server sends the rewritten original)."""
    from reflex.utils import path_ops

    with path_ops.file_lock(src):  # the lock ``reflex run`` holds while it compiles and builds
        shutil.copytree(src / "build" / "client", dst / "build" / "client")
        if (src / "backend").exists():  # which pages create states: saves evaluating every page
            shutil.copytree(src / "backend", dst / "backend")
    url = re.compile(rb"((?:ws|http)s?://[^/:\s`'\"]+):%d/" % port1)
    rewritten = []
    for f in (dst / "build" / "client").rglob("*"):
        if not f.is_file() or f.suffix in (".gz", ".br", ".zst"):
            continue
        data, n = url.subn(rb"\g<1>:%d/" % port2, f.read_bytes())
        if n:
            f.write_bytes(data)
            for twin in (".gz", ".br", ".zst"):
                Path(f"{f}{twin}").unlink(missing_ok=True)
            rewritten.append(str(f.relative_to(dst)))
    return rewritten


def wait_until_up(proc: subprocess.Popen, server: "Server", name: str) -> None:
    """Until ``server`` answers /health and serves /login, failing the test (with the server's log)
    if its process exits or it does not answer within START_TIMEOUT."""
    deadline = time.time() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited with {proc.returncode}\n{server.tail()}")
        if time.time() > deadline:
            pytest.fail(f"{name} did not answer within {START_TIMEOUT} s\n{server.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if (httpx.get(f"{server.url}/health", timeout=2).status_code == 200
                    and httpx.get(f"{server.url}/login", timeout=5, follow_redirects=True).status_code == 200):
                return
        time.sleep(1)


@contextlib.contextmanager
def extra_server(app_url: str, database_url: str, redis_url: str, name: str = "server2", env: dict[str, str] | None = None) -> Iterator[Server]:
    """Another Pult backend process (one Granian worker) on a free port, with the session server's
    build, on ``database_url`` and ``redis_url``; stopped (its whole process group) at the end.
    ``env`` adds to its environment (``PULT_JOB_MODULES`` loads a test's own registrations)."""
    from reflex_base.environment import environment

    port1 = urlsplit(app_url).port
    if urlsplit(app_url).hostname not in ("127.0.0.1", "localhost") or port1 is None:
        pytest.skip("needs the session's local server (PULT_E2E_URL points elsewhere)")
    port2 = _free_port()
    web2 = Path(tempfile.mkdtemp(prefix=f"pult-e2e-web-{name}-"))
    log_path = (ROOT / ".data" / f"e2e-{name}.log") if (ROOT / ".data").exists() else Path(f"/tmp/pult-e2e-{name}.log")
    server = Server(f"http://127.0.0.1:{port2}", port2, log_path)
    proc = None
    try:
        rewritten = _copy_frontend(_web_dir(), web2, port1, port2)
        if not rewritten:
            pytest.fail(f"no file of the built frontend in {_web_dir()} names the first server's port {port1}: "
                        "cannot point a copy at another server (did Reflex change how it bakes in the backend URL?)")
        server_env = {
            **os.environ,
            **(env or {}),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PULT_PORT": str(port2),
            "REFLEX_ENV_MODE": "prod",
            "REFLEX_WEB_WORKDIR": str(web2),
            # What ``reflex run --env prod --single-port`` sets for its backend (internal names,
            # taken from Reflex so a rename follows): never compile, serve build/client.
            environment.REFLEX_SKIP_COMPILE.name: "true",
            environment.REFLEX_MOUNT_FRONTEND_COMPILED_APP.name: "true",
        }
        server_env.pop("PULT_BACKEND_PORT", None)
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [str(ROOT / ".venv/bin/python"), "-m", "granian", "--interface", "asgi", "--factory",
                 "--host", "127.0.0.1", "--port", str(port2), "--workers", "1", "--log-level", "warning",
                 "app.app:app"],  # rxconfig's app_name "app" -> module app.app, object app
                cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        wait_until_up(proc, server, name)
        yield server
    finally:
        if proc is not None:
            stop_group(proc)  # granian's worker is in the same process group: nothing of it survives
        shutil.rmtree(web2, ignore_errors=True)
