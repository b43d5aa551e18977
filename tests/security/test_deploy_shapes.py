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


# --------------------------------------------------------------------------- docker-compose.yml
import ipaddress  # noqa: E402
import re  # noqa: E402

import yaml  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

_VAR = re.compile(r"\$\{(\w+)(?::?[-?]([^{}]*(?:\{[^{}]*\}[^{}]*)*))?\}")


def interpolate(value, env: dict[str, str] | None = None):
    """Compose's ``${VAR:-default}`` with nothing set (the values a fresh checkout starts with)."""
    env = env or {}
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value
    for _ in range(5):  # nested defaults
        new = _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
        if new == value:
            break
        value = new
    return value.replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return interpolate(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def _ports(service: dict) -> list[str]:
    return [str(p) for p in service.get("ports", [])]


def test_compose_has_the_whole_stack(compose):
    assert set(compose["services"]) >= {"migrate", "app", "worker", "scheduler", "telegram-poller", "postgres", "redis",
                                        "caddy", "prometheus", "grafana"}


def test_only_the_proxy_is_public(compose):
    s = compose["services"]
    for name in ("app", "worker", "scheduler", "telegram-poller", "migrate", "postgres", "redis"):
        assert not _ports(s[name]), f"{name} publishes {s[name].get('ports')}: only Caddy faces the network"
    assert sorted(p.split(":")[-1] for p in _ports(s["caddy"])) == ["443", "443/udp", "80"]
    for name in ("grafana", "prometheus"):
        assert _ports(s[name]) and all(p.startswith("127.0.0.1:") for p in _ports(s[name])), f"{name} must listen on loopback only"


def test_forwarded_headers_and_metrics_trust_fixed_addresses(compose):
    s = compose["services"]
    env = s["app"]["environment"]
    subnet = ipaddress.ip_network(compose["networks"]["default"]["ipam"]["config"][0]["subnet"])
    caddy_ip = s["caddy"]["networks"]["default"]["ipv4_address"]
    prom_ip = s["prometheus"]["networks"]["default"]["ipv4_address"]
    assert ipaddress.ip_address(caddy_ip) in subnet and ipaddress.ip_address(prom_ip) in subnet
    assert env["PULT_TRUSTED_PROXIES"] == caddy_ip  # the proxy only, never the whole network
    assert env["PULT_METRICS_ALLOW"] == prom_ip
    assert env["PULT_LOG_FORMAT"] == "json"
    assert env["PULT_PUBLIC_URL"].startswith("https://")
    caddyfile = (ROOT / "deploy/caddy/Caddyfile").read_text()
    assert "respond @metrics 404" in caddyfile and "{$PULT_UPSTREAM:app:3000}" in caddyfile
    assert s["caddy"]["environment"]["PULT_UPSTREAM"] == "app:3000"


def test_the_app_connects_as_the_restricted_role_and_migrations_as_the_owner(compose):
    s = compose["services"]
    owner = s["postgres"]["environment"]["POSTGRES_USER"]
    app_role = s["postgres"]["environment"]["PULT_DB_APP_USER"]
    assert owner != app_role
    for name in ("app", "worker", "scheduler", "telegram-poller"):
        assert make_url(s[name]["environment"]["DATABASE_URL"]).username == app_role, name
    assert make_url(s["migrate"]["environment"]["DATABASE_URL"]).username == owner
    assert s["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert "alembic" not in " ".join(s["app"]["command"])  # the app never migrates (it may not)
    assert s["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    mounts = s["postgres"]["volumes"]
    assert "./deploy/postgres/initdb:/docker-entrypoint-initdb.d:ro" in mounts
    assert "./deploy/postgres/app-role.sql:/pult/app-role.sql:ro" in mounts
    assert "/pult/app-role.sql" in (ROOT / "deploy/postgres/initdb/10-app-role.sh").read_text()


def test_every_mounted_file_exists(compose):
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = str(mount).split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repository"


def test_prometheus_scrapes_the_app(compose):
    conf = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    [job] = [j for j in conf["scrape_configs"] if j["job_name"] == "pult"]
    assert job["metrics_path"] == "/metrics" and job["static_configs"][0]["targets"] == ["app:3000"]
    assert "expose" in compose["services"]["app"] and "3000" in compose["services"]["app"]["expose"]


def test_grafana_dashboard_uses_the_provisioned_source_and_real_metrics():
    from app.core import metrics

    source = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"][0]
    assert source["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/pult.yml").read_text())["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    dash = json.loads((ROOT / "deploy/grafana/dashboards/pult-overview.json").read_text())
    exported = set()
    for fam in metrics.FAMILIES.values():
        exported |= ({f"{fam.name}_total"} if fam.kind == "counter" else {f"{fam.name}_{s}" for s in ("bucket", "sum", "count")})
    exported |= {"pult_websocket_sessions", "pult_rq_queue_depth", "pult_rq_queue_jobs", "pult_rq_workers"}
    used, titles = set(), []
    for panel in dash["panels"]:
        if panel["type"] == "row":
            continue
        titles.append(panel["title"])
        assert panel["datasource"]["uid"] == source["uid"]
        for target in panel["targets"]:
            used |= set(re.findall(r"\bpult_\w+", target["expr"]))
    assert used and used <= exported, f"the dashboard asks for metrics the app does not export: {used - exported}"
    # what the dashboard is for: requests, latency p50/p95, errors, WebSocket sessions, jobs, queue depth
    assert {"pult_http_requests_total", "pult_http_request_duration_seconds_bucket", "pult_http_errors_total",
            "pult_websocket_sessions", "pult_jobs_total", "pult_job_duration_seconds_bucket", "pult_rq_queue_depth"} <= used
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p.get("targets", []))
    assert "histogram_quantile(0.5," in exprs and "histogram_quantile(0.95," in exprs
