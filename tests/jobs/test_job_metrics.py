"""Job metrics from the worker side: real runs on a real RQ worker (each in a forked work horse)
show up at ``/metrics`` by kind and outcome with their durations, and the queue depth is RQ's."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from jobtools import wait_for
from prometheus_client.parser import text_string_to_metric_families

from app.core import jobs, metrics
from models.jobs import JobStatus

TOKEN = "jobs-metrics-token-0123456789"


@pytest.fixture()
def scrape(engine, redis_conn, monkeypatch):
    """``scrape()`` → ``{sample name: [Sample ...]}`` from ``GET /metrics`` of the API app."""
    from app.core.api import build_api

    monkeypatch.setenv("PULT_METRICS_TOKEN", TOKEN)
    redis_conn.delete(metrics.HASH)  # Redis 11 is not flushed between tests: start from zero
    app = build_api()

    def get() -> dict[str, list]:
        with TestClient(app) as c:
            r = c.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200, r.text
        out: dict[str, list] = {}
        for fam in text_string_to_metric_families(r.text):
            for s in fam.samples:
                out.setdefault(s.name, []).append(s)
        return out

    return get


def one(found: dict[str, list], name: str, **labels: str) -> float | None:
    for s in found.get(name, []):
        if all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None


def test_job_runs_by_kind_and_outcome_with_durations(db, users, start_worker, row, redis_conn, scrape):
    # queued with no worker yet: RQ's queue holds them
    ok = jobs.enqueue(db, users["manager"], "test.steps", {"n": 2, "tag": "metrics"})
    bad = jobs.enqueue(db, users["admin"], "test.flaky", {"fail_times": 1, "tag": "metrics"})
    before = scrape()
    assert one(before, "pult_rq_queue_depth", queue=jobs.QUEUE) == 2
    assert one(before, "pult_rq_workers") == 0
    assert one(before, "pult_jobs_total", kind="test.steps") is None

    start_worker()
    wait_for(lambda: JobStatus(row(ok.id).status).finished and JobStatus(row(bad.id).status).finished, 30, "both runs to finish")
    assert row(ok.id).status == JobStatus.succeeded and row(bad.id).status == JobStatus.succeeded

    after = scrape()
    assert one(after, "pult_rq_queue_depth", queue=jobs.QUEUE) == 0
    assert one(after, "pult_rq_workers") == 1
    assert one(after, "pult_rq_queue_jobs", queue=jobs.QUEUE, state="failed") is not None
    assert one(after, "pult_jobs_total", kind="test.steps", status="succeeded") == 1
    # the flaky one: attempt 1 failed and was retried, attempt 2 succeeded
    assert one(after, "pult_jobs_total", kind="test.flaky", status="retried") == 1
    assert one(after, "pult_jobs_total", kind="test.flaky", status="succeeded") == 1
    assert one(after, "pult_jobs_total", kind="test.flaky", status="failed") is None
    # durations: test.steps sleeps 2 × 0.3 s
    count = one(after, "pult_job_duration_seconds_count", kind="test.steps", status="succeeded")
    total = one(after, "pult_job_duration_seconds_sum", kind="test.steps", status="succeeded")
    assert count == 1 and 0.6 <= total < 30
    assert one(after, "pult_job_duration_seconds_bucket", kind="test.steps", status="succeeded", le="0.5") == 0
    assert one(after, "pult_job_duration_seconds_bucket", kind="test.steps", status="succeeded", le="+Inf") == 1


def test_a_run_that_fails_for_good(db, users, start_worker, row, scrape):
    start_worker()
    run = jobs.enqueue(db, users["admin"], "test.flaky", {"fail_times": 99, "tag": "metrics-bad"})
    wait_for(lambda: row(run.id).status == JobStatus.failed, 30, "the run to fail for good")
    found = scrape()
    assert one(found, "pult_jobs_total", kind="test.flaky", status="retried") == 2
    assert one(found, "pult_jobs_total", kind="test.flaky", status="failed") == 1
    assert one(found, "pult_job_duration_seconds_count", kind="test.flaky", status="failed") == 1


def test_cancelled_and_lost_runs(db, users, start_worker, row, redis_conn, scrape):
    worker = start_worker()
    cancelled = jobs.enqueue(db, users["admin"], "test.slow", {"seconds": 60, "tag": "metrics-cancel"})
    wait_for(lambda: row(cancelled.id).status == JobStatus.running, 15, "the run to start")
    jobs.cancel(db, users["admin"], cancelled.id)
    lost = jobs.enqueue(db, users["admin"], "test.slow", {"seconds": 60, "tag": "metrics-lost"})
    wait_for(lambda: row(lost.id).status == JobStatus.running, 15, "the second run to start")
    worker.kill_tree()  # worker and work horse: SIGKILL, nothing of theirs counts the attempt
    wait_for(lambda: jobs.reap_orphans(db, stale_after=1.0), 10, "the reaper to notice", interval=0.2)
    assert row(lost.id).status == JobStatus.failed
    found = scrape()
    assert one(found, "pult_jobs_total", kind="test.slow", status="cancelled") == 1
    assert one(found, "pult_job_duration_seconds_count", kind="test.slow", status="cancelled") == 1
    assert one(found, "pult_jobs_total", kind="test.slow", status="lost") == 1
