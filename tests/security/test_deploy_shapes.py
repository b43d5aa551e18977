"""Production shapes and the origins each one allows: rxconfig.py under the ``reflex run`` command
lines of README's deployment section, and a real API-only process (``--backend-only``)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT, _free_port, stop_group

PROBE = """
import json, sys
sys.argv = json.loads(sys.argv[1])
import rxconfig
from app.core import http_security
c = rxconfig.config
scope = {"type": "http", "scheme": "http", "client": ("127.0.0.1", 1), "headers": [(b"host", b"127.0.0.1:8000")]}
print(json.dumps({"frontend_port": c.frontend_port, "backend_port": c.backend_port, "cors": list(c.cors_allowed_origins),
                  "dev_frontend_allowed": http_security.origin_allowed("http://localhost:3000", scope)}))
"""


def rxconfig_for(*argv: str, **env: str) -> dict:
    """What rxconfig.py gives Reflex when ``reflex <argv>`` runs with ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PULT_PORT", "PULT_BACKEND_PORT", "PULT_PUBLIC_URL", "PULT_ALLOWED_ORIGINS", "REFLEX_"))}
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(["reflex", *argv])], cwd=ROOT, env={**clean, **env},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_single_port_production():
    c = rxconfig_for("run", "--env", "prod", "--single-port", PULT_PORT="3000", REFLEX_ENV_MODE="prod")
    assert (c["frontend_port"], c["backend_port"]) == (3000, 3000)
    assert c["cors"] == [] and not c["dev_frontend_allowed"]  # own origin only: no CORS needed


def test_api_only_process_gets_no_frontend_port():
    c = rxconfig_for("run", "--env=prod", "--backend-only", PULT_PORT="3000", PULT_BACKEND_PORT="8001",
                     PULT_PUBLIC_URL="https://pult.example.com/", PULT_ALLOWED_ORIGINS="https://admin.example.com")
    assert c["frontend_port"] is None and c["backend_port"] == 8001
    assert c["cors"] == ["https://pult.example.com", "https://admin.example.com"]


def test_frontend_only_process_gets_no_backend_port():
    c = rxconfig_for("run", "--env", "prod", "--frontend-only", PULT_PORT="3000")
    assert c["frontend_port"] == 3000 and c["backend_port"] is None


def test_dev_mode_allows_the_dev_frontend_only():
    c = rxconfig_for("run", PULT_PORT="3000", REFLEX_ENV_MODE="dev")
    assert (c["frontend_port"], c["backend_port"]) == (3000, 8000)
    assert c["cors"] == ["http://localhost:3000", "http://127.0.0.1:3000"] and c["dev_frontend_allowed"]


@pytest.fixture()
def api_only(engine, clean, users):
    """``reflex run --env prod --backend-only`` on the test database: an API process, no frontend."""
    port = _free_port()
    env = {**os.environ, "PULT_PORT": "3000", "PULT_BACKEND_PORT": str(port), "GRANIAN_WORKERS": "1", "REFLEX_USE_SYSTEM_BUN": "1"}
    log = open(ROOT / ".data" / "api-only.log" if (ROOT / ".data").exists() else "/tmp/pult-api-only.log", "w")
    proc = subprocess.Popen([str(ROOT / ".venv/bin/reflex"), "run", "--env", "prod", "--backend-only", "--loglevel", "warning"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300
        while True:
            if proc.poll() is not None:
                log.flush()
                pytest.fail(f"the API-only process exited with {proc.returncode}:\n{Path(log.name).read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            if time.time() > deadline:
                pytest.fail("the API-only process did not answer within 300 s")
            time.sleep(1)
        yield base
    finally:
        stop_group(proc)
        log.close()


def test_backend_only_process_serves_the_api(api_only):
    with httpx.Client(base_url=api_only, timeout=20) as c:
        r = c.post("/api/auth/login", json={"username": "manager", "password": "manager-pass"})
        assert r.status_code == 200, r.text
        bearer = {"Authorization": f"Bearer {r.json()['token']}"}
        c.cookies.clear()
        assert c.get("/api/stock/products", headers=bearer).status_code == 200
        r = c.get("/api/auth/me", headers=bearer)
        assert r.json()["username"] == "manager"
        assert r.headers["x-frame-options"] == "DENY"  # the same headers as the single-port app
        assert c.get("/api/docs").status_code == 200
