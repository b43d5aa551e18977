"""``/metrics`` of a real production server with two Granian workers (separate processes): every
scrape, whichever worker answers it, counts the requests all workers served and the WebSocket
sessions open on any of them; the access log is one JSON line per request, with its request id."""

from __future__ import annotations

import base64
import json
import os
import socket
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "server-metrics-token-0123456789"


@pytest.fixture()
def server(start_server):
    return start_server(GRANIAN_WORKERS="2", PULT_METRICS_TOKEN=TOKEN, PULT_LOG_FORMAT="json", PULT_METRICS_FLUSH_SECONDS="0.5")


def scrape(base: str) -> dict[str, list]:
    r = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    out: dict[str, list] = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out.setdefault(s.name, []).append(s)
    return out


def one(found: dict[str, list], name: str, **labels: str) -> float | None:
    for s in found.get(name, []):
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def eventually(predicate, timeout: float, what: str):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def open_socket(base: str) -> socket.socket:
    """A WebSocket to Reflex's ``/_event`` (engine.io), opened by hand: a client library is not needed."""
    host, port = base.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /_event/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101"), answer[:200]
    return s


def test_one_total_over_all_workers_and_websocket_sessions(server):
    base, log_path = server
    n = 30
    ids = set()
    for _ in range(n):  # a new connection each: the workers share them out
        r = httpx.get(f"{base}/health", timeout=10)
        assert r.status_code == 200
        ids.add(r.headers["x-request-id"])
    assert len(ids) == n
    assert httpx.get(f"{base}/api/stock/products", timeout=10).status_code == 401

    # every scrape, whichever worker answers, sees all n requests once the workers have flushed
    eventually(lambda: one(scrape(base), "pult_http_requests_total", route="/health", status="200") == n, 15, f"{n} /health requests")
    for _ in range(6):
        found = scrape(base)
        assert one(found, "pult_http_requests_total", route="/health", status="200") == n
        assert one(found, "pult_http_errors_total", route="/api/stock/products", status="401") == 1

    sockets = [open_socket(base), open_socket(base)]
    try:
        def two_open():
            found = scrape(base)
            return found if one(found, "pult_websocket_sessions") == 2 else None

        found = eventually(two_open, 15, "2 open sessions")
        assert one(found, "pult_websocket_connections_total") == 2
        # the socket is counted under its mount, not per session id
        assert not [s for s in found["pult_http_requests_total"] if "sid" in s.labels["route"]]
    finally:
        for s in sockets:
            s.close()
    eventually(lambda: one(scrape(base), "pult_websocket_sessions") == 0, 15, "the sessions to close")

    # one JSON access line per request, with the id the client got, and no personal data
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = [x for x in lines if x.get("logger") == "pult.http"]
    refused = [x for x in access if x.get("route") == "/api/stock/products"]
    assert refused and refused[0]["status"] == 401 and refused[0]["level"] == "INFO"
    assert set(refused[0]) >= {"time", "level", "logger", "message", "request_id", "route", "method", "status", "duration_ms"}
    assert refused[0]["time"].endswith("Z") and refused[0]["method"] == "GET"


def test_metrics_refused_without_token(server):
    base, _ = server
    assert httpx.get(f"{base}/metrics", timeout=10).status_code == 403
