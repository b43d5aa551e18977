"""``GET /metrics``: the Prometheus text format after real requests, by route template; refused
without the token or from outside the allowed networks (also when relayed by the trusted proxy)."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-the-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def samples(text: str) -> dict[str, list]:
    """``{family name: [Sample ...]}`` of an exposition (the parser fails on anything malformed)."""
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def value(families: dict[str, list], sample: str, **labels: str) -> float | None:
    for fam in families.values():
        for s in fam:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


@pytest.fixture()
def metrics_env(monkeypatch, redis_conn):
    monkeypatch.setenv("PULT_METRICS_TOKEN", TOKEN)
    monkeypatch.delenv("PULT_METRICS_ALLOW", raising=False)
    # Counts from earlier tests in this process: flushed out of the buffer, then the store emptied,
    # so the figures below are this test's requests only.
    from app.core import metrics

    metrics.flush()
    redis_conn.flushdb()


def test_metrics_after_real_requests(client, login, stock_data, metrics_env):
    h = login("manager")
    pid = stock_data["cable"].id
    assert client.get("/api/stock/products", headers=h).status_code == 200
    assert client.get(f"/api/stock/products/{pid}", headers=h).status_code == 200
    assert client.get("/api/stock/products/987654321", headers=h).status_code == 404
    assert client.get("/api/stock/products").status_code == 401  # no token: a handled 4xx
    assert client.get("/health").status_code == 200

    r = client.get("/metrics", headers=BEARER)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-request-id"]
    fams = samples(r.text)
    for name in ("pult_http_requests", "pult_http_request_duration_seconds", "pult_http_errors", "pult_websocket_connections",
                 "pult_websocket_sessions", "pult_jobs", "pult_job_duration_seconds", "pult_rq_workers"):
        assert name in fams, f"{name} missing from /metrics"
    assert fams["pult_http_requests"] and fams["pult_http_request_duration_seconds"]

    assert value(fams, "pult_http_requests_total", method="GET", route="/api/stock/products", status="200") == 1
    assert value(fams, "pult_http_requests_total", method="GET", route="/api/stock/products", status="401") == 1
    assert value(fams, "pult_http_requests_total", method="POST", route="/api/auth/login", status="200") == 1
    assert value(fams, "pult_http_requests_total", method="GET", route="/health", status="200") == 1
    # the id is not a label: one series for every record, by the route's template
    by_id = [s for s in fams["pult_http_requests"] if s.labels["route"].startswith("/api/stock/products/{")]
    assert {s.labels["status"] for s in by_id} == {"200", "404"}
    assert "987654321" not in r.text and f"/products/{pid}\"" not in r.text
    # handled 4xx answers counted by status
    assert value(fams, "pult_http_errors_total", method="GET", route="/api/stock/products", status="401") == 1
    assert value(fams, "pult_http_errors_total", status="404") == 1
    assert value(fams, "pult_http_errors_total", route="/health") is None
    # latency: a histogram per route whose +Inf bucket is its count
    count = value(fams, "pult_http_request_duration_seconds_count", method="GET", route="/api/stock/products")
    assert count == 2
    assert value(fams, "pult_http_request_duration_seconds_bucket", method="GET", route="/api/stock/products", le="+Inf") == count
    assert value(fams, "pult_http_request_duration_seconds_sum", method="GET", route="/api/stock/products") > 0
    # nothing personal: no username, no token
    assert "manager" not in r.text and h["Authorization"].split()[1] not in r.text

    # the scrape itself is counted at the next scrape
    again = samples(client.get("/metrics", headers=BEARER).text)
    assert value(again, "pult_http_requests_total", route="/metrics", status="200") == 1


def test_every_answer_has_a_request_id(client, metrics_env):
    r = client.get("/health")
    rid = r.headers["x-request-id"]
    assert len(rid) == 32 and client.get("/health").headers["x-request-id"] != rid
    # a client cannot choose its request id (only a trusted proxy can)
    assert client.get("/health", headers={"X-Request-ID": "forged-request-id-1"}).headers["x-request-id"] != "forged-request-id-1"


def test_an_unhandled_error_counts_as_500(api_app, clean, metrics_env, monkeypatch):
    from app.core import api as api_module

    def boom():
        raise RuntimeError("boom")

    monkeypatch.setattr(api_module, "redis_client", boom)  # /health's Redis check raises
    monkeypatch.setattr(api_module.log, "exception", lambda *a, **k: None)
    with TestClient(api_app, raise_server_exceptions=False) as c:
        assert c.get("/health").status_code == 503
        fams = samples(c.get("/metrics", headers=BEARER).text)
    assert value(fams, "pult_http_errors_total", route="/health", status="503") == 1


def test_refused_without_the_token(client, metrics_env):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 403
    r = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert r.status_code == 403 and "pult_" not in r.text


def test_refused_to_everyone_when_nothing_is_configured(client, monkeypatch):
    monkeypatch.delenv("PULT_METRICS_TOKEN", raising=False)
    monkeypatch.delenv("PULT_METRICS_ALLOW", raising=False)
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


@pytest.fixture()
def from_address(api_app, clean):
    """``from_address("10.1.2.3")`` → a client whose requests come from that peer address."""
    opened = []

    def make(ip: str) -> TestClient:
        c = TestClient(api_app, client=(ip, 40000))
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def test_allowed_networks(from_address, monkeypatch):
    from app.core import net

    monkeypatch.delenv("PULT_METRICS_TOKEN", raising=False)
    monkeypatch.setenv("PULT_METRICS_ALLOW", "10.20.0.0/16, 192.0.2.7")
    monkeypatch.setattr(net, "settings", dataclasses.replace(net.settings, trusted_proxies=("10.99.0.2",)))
    assert from_address("10.20.3.4").get("/metrics").status_code == 200
    assert from_address("192.0.2.7").get("/metrics").status_code == 200
    assert from_address("192.0.2.8").get("/metrics").status_code == 403
    assert from_address("203.0.113.5").get("/metrics").status_code == 403
    # a forged X-Forwarded-For from an untrusted peer changes nothing
    assert from_address("203.0.113.5").get("/metrics", headers={"X-Forwarded-For": "10.20.3.4"}).status_code == 403
    # relayed by the trusted reverse proxy: the browser's address decides, not the proxy's
    proxy = from_address("10.99.0.2")
    assert proxy.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 403
    assert proxy.get("/metrics", headers={"X-Forwarded-For": "10.20.3.4"}).status_code == 200
    # the proxy's own request id is kept
    assert proxy.get("/health", headers={"X-Request-ID": "caddy-req-0123456789"}).headers["x-request-id"] == "caddy-req-0123456789"
