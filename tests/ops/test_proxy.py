"""Caddy in front of the app with the repository's own ``deploy/caddy/Caddyfile``: TLS (Caddy's
local CA for ``localhost``), HTTP redirected to HTTPS, the app trusting Caddy's forwarded headers
(``PULT_TRUSTED_PROXIES``) so it knows the browser came over TLS, Caddy's request id kept,
the ``/_event`` WebSocket passed through, and ``/metrics`` never served to the world."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.conftest import ROOT, _free_port, stop_group

TOKEN = "proxy-metrics-token-0123456789"
CADDY = shutil.which("caddy")
pytestmark = pytest.mark.skipif(CADDY is None, reason="caddy is not installed (scripts/test installs it: apt-get install caddy)")


@pytest.fixture()
def stack(start_server, tmp_path) -> Iterator[dict]:
    app, _log = start_server(PULT_TRUSTED_PROXIES="127.0.0.1", PULT_METRICS_TOKEN=TOKEN, PULT_METRICS_FLUSH_SECONDS="0.5")
    http_port, https_port = _free_port(), _free_port()
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "PULT_DOMAIN": "localhost", "PULT_UPSTREAM": app.removeprefix("http://"), "CADDY_HTTP_PORT": str(http_port),
           "CADDY_HTTPS_PORT": str(https_port), "CADDY_ADMIN": "off"}
    log_path = tmp_path / "caddy.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([CADDY, "run", "--config", str(ROOT / "deploy/caddy/Caddyfile"), "--adapter", "caddyfile"],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    root_ca = tmp_path / "data/caddy/pki/authorities/local/root.crt"
    public = f"https://localhost:{https_port}"
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"caddy exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            if root_ca.exists():
                with contextlib.suppress(httpx.HTTPError, ssl.SSLError):
                    if httpx.get(f"{public}/ping", verify=ssl.create_default_context(cafile=str(root_ca)), timeout=3).status_code == 200:
                        break
            if time.time() > deadline:
                pytest.fail(f"caddy did not answer within 60 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"app": app, "public": public, "http_port": http_port, "https_port": https_port,
               "tls": ssl.create_default_context(cafile=str(root_ca))}
    finally:
        stop_group(proc)
        log.close()


def test_tls_in_front_of_the_app(stack):
    with httpx.Client(base_url=stack["public"], verify=stack["tls"], timeout=10) as c:
        r = c.get("/health")
        assert r.status_code == 200 and r.json()["status"] == "ok"
        # the app believed Caddy's X-Forwarded-Proto: it knows the browser used TLS
        assert r.headers["strict-transport-security"].startswith("max-age=")
        # Caddy's request id reached the app and came back (a UUID, not one the app made)
        rid = r.headers["x-request-id"]
        assert len(rid) == 36 and rid.count("-") == 4
        # the world never gets /metrics, token or not
        m = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert m.status_code == 404 and "pult_" not in m.text
    # the app itself, straight from another address than Caddy's: no TLS, so no HSTS; a client
    # cannot fake the proxy's word
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=10) as other:
        direct = other.get(f"{stack['app']}/health", headers={"X-Forwarded-Proto": "https"})
    assert direct.status_code == 200 and "strict-transport-security" not in direct.headers
    assert httpx.get(f"{stack['app']}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).status_code == 200


def test_http_is_redirected_to_https(stack):
    r = httpx.get(f"http://localhost:{stack['http_port']}/login?next=x", timeout=10, follow_redirects=False)
    assert r.status_code in (301, 308)
    # (Caddy names the port only when it is not 443; in docker-compose it is 443 inside the container)
    location = urlsplit(r.headers["location"])
    assert (location.scheme, location.hostname, location.path, location.query) == ("https", "localhost", "/login", "next=x")


def test_the_websocket_passes_through(stack):
    raw = socket.create_connection(("localhost", stack["https_port"]), timeout=10)
    s = stack["tls"].wrap_socket(raw, server_hostname="localhost")
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost:{stack['https_port']}\r\n"
                   f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        answer = s.recv(4096)
        assert answer.startswith(b"HTTP/1.1 101"), answer[:300]
        deadline = time.time() + 10
        while True:
            body = httpx.get(f"{stack['app']}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).text
            if "pult_websocket_sessions 1.0" in body:
                break
            assert time.time() < deadline, "the session through Caddy was not counted"
            time.sleep(0.3)
    finally:
        s.close()


def test_the_caddyfile_is_valid_as_shipped(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d"), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    out = subprocess.run([CADDY, "validate", "--config", str(ROOT / "deploy/caddy/Caddyfile"), "--adapter", "caddyfile"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert Path(ROOT / "deploy/caddy/Caddyfile").read_text().count("reverse_proxy") == 1
