"""A real Prometheus with the shipped ``deploy/prometheus/prometheus.yml`` (its target moved to the
test server) scrapes a real server, and every query of the Grafana dashboard runs on what it
scraped: the dashboard's panels have data, not just valid JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import httpx
import pytest
import yaml

from tests.e2e.conftest import ROOT, _free_port, stop_group

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed (scripts/test installs it: apt-get install prometheus)")


def test_the_shipped_config_is_valid():
    out = subprocess.run([PROMTOOL, "check", "config", str(ROOT / "deploy/prometheus/prometheus.yml")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture()
def prometheus(start_server, tmp_path):
    app, _ = start_server(PULT_METRICS_ALLOW="127.0.0.1", PULT_METRICS_FLUSH_SECONDS="0.5")
    conf = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    conf["global"]["scrape_interval"] = "1s"
    [job] = [j for j in conf["scrape_configs"] if j["job_name"] == "pult"]
    job["static_configs"][0]["targets"] = [app.removeprefix("http://")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(conf))
    port = _free_port()
    log = open(tmp_path / "prometheus.log", "w")
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def query(expr: str) -> list:
        r = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10)
        body = r.json()
        assert r.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
        return body["data"]["result"]

    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail((tmp_path / "prometheus.log").read_text()[-3000:])
            try:
                if query('up{job="pult"}') and query('up{job="pult"}')[0]["value"][1] == "1":
                    break
            except (httpx.HTTPError, ValueError, AssertionError):
                pass
            if time.time() > deadline:
                pytest.fail("Prometheus did not scrape the app within 60 s:\n" + (tmp_path / "prometheus.log").read_text()[-3000:])
            time.sleep(0.5)
        yield app, query
    finally:
        stop_group(proc)
        log.close()


def test_every_dashboard_query_runs_on_scraped_data(prometheus):
    app, query = prometheus
    for _ in range(20):
        assert httpx.get(f"{app}/health", timeout=10).status_code == 200
        assert httpx.get(f"{app}/api/stock/products", timeout=10).status_code == 401
        time.sleep(0.1)

    def scraped() -> bool:
        got = query('pult_http_requests_total{route="/health",status="200"}')
        return bool(got) and float(got[0]["value"][1]) >= 20

    deadline = time.time() + 30
    while not scraped():
        assert time.time() < deadline, "the requests never reached Prometheus"
        time.sleep(0.5)
    time.sleep(2.5)  # a few more samples, so that rate() has two points after the traffic

    dash = json.loads((ROOT / "deploy/grafana/dashboards/pult-overview.json").read_text())
    results = {}
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            results[(panel["title"], target["legendFormat"])] = query(target["expr"])  # each parses and runs
    assert results[("Requests per second", "all")], "no request rate"
    p95 = results[("Latency p50 / p95", "p95")]
    assert p95 and 0 < float(p95[0]["value"][1]) < 10
    errors = results[("Errors per second by status", "{{status}}")]
    assert {r["metric"]["status"] for r in errors} >= {"401"}
    assert results[("WebSocket sessions open", "open")][0]["value"][1] == "0"
    assert results[("RQ workers", "workers")]
