"""Prometheus metrics of a whole deployment, kept in Redis and exported at ``/metrics``.

A deployment is many processes: Reflex's production server runs several Granian workers, each
serving some of the HTTP requests and WebSocket sessions, and jobs run on RQ workers in other
containers (or hosts), each job in a work horse forked for it and gone when it ends. A scrape
reaches one of the web workers, and must still see all of them.

**Why Redis and not prometheus_client's multiprocess mode.** Multiprocess mode keeps one set of
mmap files per process id in a shared folder. RQ forks a new work horse for every job, so the
folder gains files with every job and never shrinks; the workers of ``docker-compose.yml`` run in
containers of their own, which share neither a folder nor a process-id space (two containers'
pid 7 would write the same file). Redis is already what every process of a deployment shares (the
change bus, RQ, Reflex's state), so each process adds its increments there and the web worker
answering ``/metrics`` reads the totals:

* **counters and histograms** live in one hash (:data:`HASH`), a field per series
  (``["pult_http_requests", "", ["GET", "/api/stock/products", "200"]]``) updated with
  ``HINCRBYFLOAT``. A web worker adds to an in-process buffer on the request path (no Redis
  round trip while answering) and a background thread flushes it every :data:`FLUSH_SECONDS`;
  the worker answering a scrape flushes its own buffer first. A job records at its end with one
  pipelined write (:func:`flush` with ``now``): the work horse exits right after.
* **gauges of one process** (open WebSocket sessions) are a key per process
  (``pult:metrics:ws:<host>:<pid>``) refreshed by the flusher with a short expiry: a killed
  worker's sessions drop out of the sum by themselves.
* **queue depths** are read from RQ at scrape time.

Counters keep counting across restarts of the app (they live as long as Redis's data); Prometheus
handles a reset (a flushed Redis) like any counter reset. Labels are bounded by the code, never by
the data: a route *template* (``/api/{panel}/{slug}/{pk}`` as declared), never the raw path; a job
*kind*, never its arguments. Nothing personal is ever a label.

Recording never raises: a Redis outage loses at most the buffered increments (it keeps them for
the next flush while the buffer is small) and never fails a request or a job.
"""

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("pult.metrics")

#: The Redis hash of every counter and histogram series.
HASH = "pult:metrics:v1"
#: Prefix of the per-process gauge keys (open WebSocket sessions).
WS_PREFIX = "pult:metrics:ws:"
#: How often a process's buffer reaches Redis (seconds).
FLUSH_SECONDS = float(os.environ.get("PULT_METRICS_FLUSH_SECONDS", "2"))
#: A process's gauge key lives this long without a refresh.
GAUGE_TTL_SECONDS = 30
#: Above this many buffered series a failing flush drops the buffer instead of keeping it.
MAX_BUFFERED = 20_000

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


@dataclass(frozen=True)
class Family:
    """One metric family: its Prometheus name (without ``_total``), type, help and label names."""

    name: str
    kind: str  # "counter" | "histogram"
    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("pult_http_requests", "counter", "HTTP requests answered, by method, route template and status.",
           ("method", "route", "status")),
    Family("pult_http_request_duration_seconds", "histogram", "Time to answer an HTTP request, by method and route template.",
           ("method", "route"), HTTP_BUCKETS),
    Family("pult_http_errors", "counter", "HTTP answers with a 4xx or 5xx status (an unhandled exception counts as 500).",
           ("method", "route", "status")),
    Family("pult_websocket_connections", "counter", "WebSocket sessions accepted (Reflex's /_event socket).", ()),
    Family("pult_jobs", "counter",
           "Job attempts that ended, by kind and outcome (succeeded, failed, retried, timeout, cancelled, lost).",
           ("kind", "status")),
    Family("pult_job_duration_seconds", "histogram", "Time a job attempt ran on its worker, by kind and outcome.",
           ("kind", "status"), JOB_BUCKETS),
)}

#: HTTP methods kept as a label value; anything else is ``OTHER`` (a client picks the method).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@functools.lru_cache(maxsize=8192)  # series are few and repeat: encode each once
def _field(name: str, suffix: str, values: tuple[str, ...]) -> str:
    return json.dumps([name, suffix, list(values)], separators=(",", ":"), ensure_ascii=False)


def _bucket_of(value: float, buckets: tuple[float, ...]) -> str:
    for b in buckets:
        if value <= b:
            return repr(b)
    return "+Inf"


# --------------------------------------------------------------------------- recording
class _Buffer:
    """This process's increments not yet in Redis."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data: dict[str, float] = {}
        self.pid = os.getpid()

    def add(self, fields: dict[str, float]) -> None:
        with self.lock:
            self._check_fork()
            for key, amount in fields.items():
                self.data[key] = self.data.get(key, 0.0) + amount

    def drain(self) -> dict[str, float]:
        with self.lock:
            self._check_fork()
            out, self.data = self.data, {}
            return out

    def _check_fork(self) -> None:
        # A forked child (an RQ work horse) inherits its parent's buffer: those increments are the
        # parent's to flush, not the child's.
        if self.pid != os.getpid():
            self.pid, self.data = os.getpid(), {}


_buffer = _Buffer()
_ws = {"open": 0, "touched": False}
_ws_lock = threading.Lock()
_flusher: dict[str, Any] = {"pid": None}
_last_warning = [0.0]


def _series(name: str, labels: tuple[str, ...]) -> tuple[Family, tuple[str, ...]]:
    fam = FAMILIES[name]
    if len(labels) != len(fam.labels):
        raise ValueError(f"{name} takes labels {fam.labels}, got {labels}")
    return fam, tuple(str(v) for v in labels)


def _counter_fields(name: str, labels: tuple[str, ...], amount: float) -> dict[str, float]:
    _fam, values = _series(name, labels)
    return {_field(name, "", values): float(amount)}


def _histogram_fields(name: str, labels: tuple[str, ...], value: float) -> dict[str, float]:
    fam, values = _series(name, labels)
    return {
        _field(name, "count", values): 1.0,
        _field(name, "sum", values): float(value),
        _field(name, "le=" + _bucket_of(value, fam.buckets), values): 1.0,
    }


def inc(name: str, labels: tuple[str, ...] = (), amount: float = 1.0, *, now: bool = False) -> None:
    """Add ``amount`` to counter ``name`` (buffered; ``now``: written to Redis at once)."""
    _record(_counter_fields(name, labels, amount), now)


def observe(name: str, labels: tuple[str, ...], value: float, *, now: bool = False) -> None:
    """Record ``value`` in histogram ``name`` (buffered; ``now``: written to Redis at once)."""
    _record(_histogram_fields(name, labels, value), now)


def _record(fields: dict[str, float], now: bool) -> None:
    if now:
        _write(fields)
        return
    _buffer.add(fields)
    _ensure_flusher()


def record_http(method: str, route: str, status: int, seconds: float) -> None:
    """One answered HTTP request (the middleware of :mod:`app.core.observe` calls it)."""
    method = method if method in METHODS else "OTHER"
    fields = _counter_fields("pult_http_requests", (method, route, str(status)), 1)
    fields.update(_histogram_fields("pult_http_request_duration_seconds", (method, route), seconds))
    if status >= 400:
        fields.update(_counter_fields("pult_http_errors", (method, route, str(status)), 1))
    _record(fields, False)


def record_job(kind: str, status: str, seconds: float | None) -> None:
    """One job attempt that ended; written at once (the work horse exits right after)."""
    fields = _counter_fields("pult_jobs", (kind, status), 1)
    if seconds is not None:
        fields.update(_histogram_fields("pult_job_duration_seconds", (kind, status), seconds))
    _record(fields, True)


def websocket_opened() -> None:
    with _ws_lock:
        _ws["open"] += 1
        _ws["touched"] = True
    inc("pult_websocket_connections")


def websocket_closed() -> None:
    with _ws_lock:
        _ws["open"] = max(0, _ws["open"] - 1)
    _ensure_flusher()


def _process_key() -> str:
    return f"{WS_PREFIX}{socket.gethostname()}:{os.getpid()}"


def _redis():
    from app.core.redis import redis_client

    return redis_client()


def _write(fields: dict[str, float]) -> bool:
    """Add ``fields`` to the Redis hash in one round trip. False (and a rate-limited warning) on failure."""
    if not fields:
        return True
    try:
        pipe = _redis().pipeline(transaction=False)
        for key, amount in fields.items():
            pipe.hincrbyfloat(HASH, key, amount)
        pipe.execute()
        return True
    except Exception as exc:  # metrics never break a request or a job
        if time.monotonic() - _last_warning[0] > 60:
            _last_warning[0] = time.monotonic()
            log.warning("metrics: could not write to Redis (%s); will retry", type(exc).__name__)
        return False


def flush() -> None:
    """Move this process's buffered increments and its gauges to Redis."""
    pending = _buffer.drain()
    if pending and not _write(pending) and len(pending) < MAX_BUFFERED:
        _buffer.add(pending)  # try again next time
    with _ws_lock:
        touched, open_now = _ws["touched"], _ws["open"]
    if touched:
        try:
            _redis().set(_process_key(), open_now, ex=GAUGE_TTL_SECONDS)
        except Exception:
            pass


def _flush_loop() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            flush()
        except Exception:  # pragma: no cover - flush() catches its own; never let the thread die
            log.exception("metrics flush failed")


def _ensure_flusher() -> None:
    """Start the flushing thread of this process (again after a fork: threads do not survive one)."""
    if _flusher["pid"] == os.getpid():
        return
    with _ws_lock:
        if _flusher["pid"] == os.getpid():
            return
        _flusher["pid"] = os.getpid()
        threading.Thread(target=_flush_loop, name="pult-metrics-flush", daemon=True).start()


atexit.register(flush)


# --------------------------------------------------------------------------- export
def _read_series() -> dict[str, dict[tuple[str, tuple[str, ...]], float]]:
    """``{family: {(suffix, label values): value}}`` from the Redis hash."""
    out: dict[str, dict[tuple[str, tuple[str, ...]], float]] = {}
    for key, value in (_redis().hgetall(HASH) or {}).items():
        try:
            name, suffix, values = json.loads(key)
            if name not in FAMILIES:
                continue
            out.setdefault(name, {})[(suffix, tuple(values))] = float(value)
        except (ValueError, TypeError):
            continue
    return out


def _websocket_sessions() -> float:
    client = _redis()
    total = 0.0
    keys = list(client.scan_iter(match=WS_PREFIX + "*", count=500))
    if keys:
        for value in client.mget(keys):
            try:
                total += float(value or 0)
            except ValueError:
                pass
    return total


def _queue_metrics() -> Iterator[Any]:
    from prometheus_client.core import GaugeMetricFamily
    from rq import Queue, Worker

    import redis

    pool = _redis().connection_pool  # RQ wants bytes: the same server, without decoding
    conn = redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class,
                                                            **{**pool.connection_kwargs, "decode_responses": False}))
    depth = GaugeMetricFamily("pult_rq_queue_depth", "Jobs waiting in an RQ queue.", labels=["queue"])
    states = GaugeMetricFamily("pult_rq_queue_jobs", "Jobs of an RQ queue by registry: started, scheduled, deferred, failed.",
                               labels=["queue", "state"])
    for queue in Queue.all(connection=conn):
        depth.add_metric([queue.name], queue.count)
        for state, registry in (("started", queue.started_job_registry), ("scheduled", queue.scheduled_job_registry),
                                ("deferred", queue.deferred_job_registry), ("failed", queue.failed_job_registry)):
            states.add_metric([queue.name, state], registry.count)
    yield depth
    yield states
    yield GaugeMetricFamily("pult_rq_workers", "RQ workers registered.", value=Worker.count(connection=conn))
    conn.close()


class RedisCollector:
    """A prometheus_client collector over what every process wrote to Redis, plus RQ's queues."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        series = _read_series()
        for fam in FAMILIES.values():
            got = series.get(fam.name, {})
            if fam.kind == "counter":
                mf = CounterMetricFamily(fam.name, fam.help, labels=list(fam.labels))
                for (suffix, values), value in sorted(got.items()):
                    if suffix == "":
                        mf.add_metric(list(values), value)
                yield mf
                continue
            mf = HistogramMetricFamily(fam.name, fam.help, labels=list(fam.labels))
            by_labels: dict[tuple[str, ...], dict[str, float]] = {}
            for (suffix, values), value in got.items():
                by_labels.setdefault(values, {})[suffix] = value
            for values, parts in sorted(by_labels.items()):
                running, buckets = 0.0, []
                for b in (*fam.buckets, float("inf")):
                    le = "+Inf" if b == float("inf") else repr(b)
                    running += parts.get("le=" + le, 0.0)
                    buckets.append((le, running))
                # the count is the +Inf bucket by definition (a half-written pipeline cannot disagree)
                mf.add_metric(list(values), buckets, parts.get("sum", 0.0))
            yield mf
        yield GaugeMetricFamily("pult_websocket_sessions", "WebSocket sessions open now, over every live web worker.",
                                value=_websocket_sessions())
        yield from _queue_metrics()


def exposition() -> tuple[bytes, str]:
    """The Prometheus text format of every metric, and its content type."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

    flush()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector())
    # The classic text format (0.0.4) every Prometheus 2.x and 3.x reads.
    return generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4


__all__ = ["FAMILIES", "exposition", "flush", "inc", "observe", "record_http", "record_job", "websocket_closed", "websocket_opened"]
