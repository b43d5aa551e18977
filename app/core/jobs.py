"""Background jobs on RQ: kinds, runs, progress, cancellation, retries, orphan reaping, schedules.

A panel declares a *kind* — a function run on a worker::

    @job_kind("stock.restock", timeout=600, max_attempts=3, perm="stock.products.restock")
    def restock(ctx: JobContext, product_ids: list[int]) -> dict:
        for i, pid in enumerate(product_ids):
            ctx.check_cancelled()
            ...
            ctx.progress((i + 1) / len(product_ids), f"{i + 1} / {len(product_ids)}", step="Заказ")
        return {"ordered": len(product_ids)}

and a front door starts it with ``enqueue(db, user, "stock.restock", {"product_ids": [1, 2]})``.

The ``job_run`` row is the truth every page shows. RQ only carries the run id to a worker
(``jobs.runner.execute``); the runner moves the row through queued → running → succeeded /
failed / cancelled and publishes every change on the bus. Invariants:

* One attempt, one RQ job id (``run.rq_job_id``). A worker holding any other id for the run
  stands down, so a re-queue by the reaper or a duplicate delivery never runs the work twice.
* Retries are our own bookkeeping, not RQ's ``Retry``: a failed attempt puts the row back to
  ``queued`` with the error and the time of the next try, and enqueues a new RQ job after the
  backoff (``Queue.enqueue_in``, moved on time by the scheduler that ``python -m jobs.worker``
  starts). The row therefore always says what is really happening.
* A running attempt writes ``heartbeat_at`` every few seconds from a thread. :func:`reap_orphans`
  (run by the scheduler loop and at worker start) fails or re-queues runs whose heartbeat went
  stale while no live worker holds their RQ job — a worker killed with SIGKILL never leaves a run
  "running" forever.

* A run that ends badly (failed for good, timed out, cancelled, lost with its worker) brings
  every record it owns to a final state: the kind's ``on_end`` hook and every hook registered
  with :func:`on_run_end` run in the same transaction as the status write (see :func:`end_hooks`).
* Files a run produces are written under a temporary name (:meth:`JobContext.result_path` hands
  out ``.data/jobs/<run id>/.partial-<attempt's RQ job id>/<name>``) and moved to
  ``.data/jobs/<run id>/<name>`` only when the run succeeds. Every ``.partial-*`` folder of an attempt that is not
  running any more is deleted (at the end of the attempt, on cancel, and by the reaper).
* Who may run a kind: its ``perm`` and its ``can(user, args)`` (:func:`may_run`). Schedules run
  as the user who saved them, re-checked at every tick (:func:`fire_due_schedules`).
* An outage of PostgreSQL or Redis while enqueueing raises ``ServiceUnavailable`` (503, nothing
  recorded), never a 500.

Settings (environment): ``PULT_JOB_HEARTBEAT_SECONDS`` (5), ``PULT_JOB_STALE_SECONDS`` (30: a
heartbeat older than this marks a candidate orphan), ``PULT_JOB_MODULES`` (extra modules that
declare kinds, beside the panels), ``PULT_TIMEZONE`` (cron expressions are read in it).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import func, or_, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.core import audit, bus, i18n, metrics
from app.core.auth import SYSTEM, CurrentUser, current_user_for
from app.core.config import settings
from app.core.db import engine
from app.core.errors import NotFound, PermissionDenied, ServiceUnavailable, ValidationFailed, is_outage
from app.core.redis import redis_client
from models.core import User
from models.jobs import JobRun, JobStatus, Schedule

if TYPE_CHECKING:
    from rq import Queue

log = logging.getLogger("pult.jobs")

QUEUE = "pult"
#: The RQ entry point; a string, so enqueuing never imports the worker side.
RUNNER = "jobs.runner.execute"
MODEL = "job_run"
#: At most this many progress writes per second per run (the last value is always written).
PROGRESS_WRITES_PER_SECOND = 4
#: How long RQ keeps its own job records; the ``job_run`` row is what we keep.
RQ_RESULT_TTL = 3600
RQ_FAILURE_TTL = 7 * 24 * 3600


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def heartbeat_seconds() -> float:
    return _env_float("PULT_JOB_HEARTBEAT_SECONDS", 5.0)


def stale_seconds() -> float:
    return _env_float("PULT_JOB_STALE_SECONDS", 30.0)


def cron_timezone() -> ZoneInfo:
    return ZoneInfo(os.environ.get("PULT_TIMEZONE", "Europe/Moscow"))


i18n.register({
    "jobs.unknown_kind": ("Неизвестная фоновая задача: {kind}", "Unknown background job: {kind}"),
    "jobs.not_retryable": ("Повторить можно только завершившуюся с ошибкой или отменённую задачу", "Only a failed or cancelled job can be retried"),
    "jobs.bad_args": ("Параметры задачи должны быть JSON-объектом", "Job arguments must be a JSON object"),
    "jobs.cron_invalid": ("Неверное cron-выражение", "Invalid cron expression"),
    "jobs.schedule_name_taken": ("Расписание с таким именем уже есть", "A schedule with this name already exists"),
    "jobs.kind_not_allowed": ("У вас нет прав запускать эту задачу с такими параметрами", "You may not run this job with these arguments"),
    "jobs.schedule_refused": ("Расписание «{name}» не запущено: {reason}", "Schedule “{name}” did not run: {reason}"),
})


# --------------------------------------------------------------------------------------------
# Kinds


class JobCancelled(Exception):
    """Raised inside a job when its run was cancelled (or taken away from this worker)."""


class JobFailed(Exception):
    """Raise to fail a run with a clear message; ``retry=False`` skips the remaining attempts."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class JobKind:
    name: str
    fn: Callable[..., Any]
    #: Seconds an attempt may run; RQ's death penalty raises inside the job when it is up.
    timeout: int = 600
    #: 1 = no retry. Failed attempts are retried after ``backoff[attempt - 1]`` seconds (last repeats).
    max_attempts: int = 1
    backoff: tuple[float, ...] = (10.0, 60.0, 300.0)
    #: Permission the enqueuer needs (checked at enqueue and again when the job starts).
    perm: str | None = None
    label: str | None = None
    #: Step names shown as pending before the run reaches them.
    steps: tuple[str, ...] = ()
    #: A run that hit its time limit is not retried unless this is set.
    retry_timeouts: bool = False
    queue: str = QUEUE
    #: ``can(user, args) -> bool``: may ``user`` run this kind with ``args`` (``None`` = with any
    #: arguments: "offer it at all")? Checked at enqueue, when the run starts and at every tick of
    #: a schedule, besides ``perm``.
    can: Callable[[CurrentUser, dict[str, Any] | None], bool] | None = None
    #: ``on_end(db, run, status, cause)``: bring the records this run owns to a final state when it
    #: ends other than succeeded (see :func:`on_run_end`).
    on_end: Callable[..., None] | None = None

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (2, 3, ...)."""
        if not self.backoff:
            return 0.0
        return float(self.backoff[min(attempt - 2, len(self.backoff) - 1)])


KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    *,
    timeout: int = 600,
    max_attempts: int = 1,
    backoff: tuple[float, ...] | list[float] = (10.0, 60.0, 300.0),
    perm: str | None = None,
    label: str | None = None,
    steps: tuple[str, ...] | list[str] = (),
    retry_timeouts: bool = False,
    queue: str = QUEUE,
    can: Callable[[CurrentUser, dict[str, Any] | None], bool] | None = None,
    on_end: Callable[..., None] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(ctx: JobContext, **args)`` as the job kind ``name``.

    ``perm`` and ``can`` say who may run it (:func:`may_run`); ``on_end`` cleans up what a run
    leaves behind when it fails, is cancelled or loses its worker (:func:`on_run_end`).
    """
    if max_attempts < 1 or timeout < 1:
        raise ValueError(f"job kind {name}: max_attempts and timeout must be at least 1")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        old = KINDS.get(name)
        if old is not None and (old.fn.__module__, old.fn.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"job kind {name!r} is already registered by {old.fn.__module__}.{old.fn.__qualname__}")
        KINDS[name] = JobKind(name, fn, timeout, max_attempts, tuple(backoff), perm, label, tuple(steps), retry_timeouts, queue, can, on_end)
        fn.job_kind = name  # type: ignore[attr-defined]
        return fn

    return register


def get_kind(name: str) -> JobKind:
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound("jobs.unknown_kind", kind=name)
    return kind


def may_run(user: CurrentUser, kind: JobKind, args: dict[str, Any] | None = None, *, schedule: bool = False) -> bool:
    """Whether ``user`` may run ``kind`` with ``args`` (``None``: with some arguments).

    The kind's ``perm`` must hold and its ``can(user, args)`` must say yes. For a schedule
    (``schedule=True``, arguments typed by a person) a kind that declares neither is internal
    (e.g. a Telegram send) and only an administrator may schedule it; code that enqueues such a
    kind has decided itself.
    """
    if kind.perm and not user.has_perm(kind.perm):
        return False
    if kind.can is not None:
        try:
            return bool(kind.can(user, args))
        except (KeyError, TypeError, ValueError, AttributeError):  # arguments that name nothing real
            return False
    return not schedule or bool(kind.perm) or user.is_admin


# --------------------------------------------------------------------------------------------
# Runs that end badly: the records and files they leave behind

#: Hooks run for every run of any kind that ends other than succeeded (see :func:`on_run_end`).
END_HOOKS: list[Callable[..., None]] = []

#: Why a run ended, as passed to the hooks.
CAUSE_CANCELLED = "cancelled"      # cancelled by a person, or the job noticed it was
CAUSE_LOST = "worker_lost"         # its worker died (killed, crashed); found by the reaper
CAUSE_TIMEOUT = "timeout"          # hit the kind's time limit
CAUSE_FAILED = "failed"            # raised an error on its last attempt (or one not retried)


def on_run_end(fn: Callable[..., None]) -> Callable[..., None]:
    """Register ``fn(db, run, status, cause)``, called for every run (any kind) that ends failed
    or cancelled — whether it failed itself, was cancelled, timed out or lost its worker — and for
    every attempt abandoned before a retry (then ``status`` is ``queued``: close what that attempt
    opened; the next attempt starts afresh).

    It runs in the transaction that writes the run's final status (inside a savepoint: a hook
    that raises is logged and does not keep the run open). Use it to bring what the run owns
    (a history row saying "running", a reservation) to a final state; ``cause`` is one of the
    ``CAUSE_*`` values, ``run.error`` says more. A kind's own ``on_end`` does the same for its
    runs only. Hooks must be idempotent and touch only rows that are still open.
    """
    if fn not in END_HOOKS:
        END_HOOKS.append(fn)
    return fn


def end_hooks(db: Session, run: JobRun, status: JobStatus, cause: str) -> None:
    """Run the kind's ``on_end`` and the :func:`on_run_end` hooks for ``run`` in ``db``'s
    transaction, each in a savepoint. The caller writes the status and commits."""
    kind = KINDS.get(run.kind)
    hooks = ([kind.on_end] if kind is not None and kind.on_end is not None else []) + list(END_HOOKS)
    for hook in hooks:
        try:
            with db.begin_nested():
                hook(db, run, status, cause)
        except Exception:
            log.exception("end hook %s of run %s (%s) failed", getattr(hook, "__qualname__", hook), run.id, run.kind)


def jobs_dir() -> Path:
    """Where runs' files live: ``<files_dir>/jobs/`` (``PULT_FILES_DIR``, default ``.data/``)."""
    return settings.files_dir / "jobs"


def run_dir(run_id: int) -> Path:
    """Where a run's files live: ``<files_dir>/jobs/<run id>/`` (``.data/`` unless ``PULT_FILES_DIR``)."""
    return jobs_dir() / str(run_id)


def result_file_path(run: JobRun) -> Path | None:
    """The finished file of ``run`` on disk, or None. ``result_file`` is stored relative to the
    files folder (``jobs/<id>/<name>``); rows written before the setting existed say ``.data/jobs/...``.
    Anything resolving outside the run's own folder is refused."""
    if not run.result_file:
        return None
    rel = run.result_file.removeprefix(".data/")
    path = (settings.files_dir / rel).resolve()
    if run_dir(run.id).resolve() not in path.parents or not path.is_file():
        return None
    return path


PARTIAL_PREFIX = ".partial-"


def partial_dir(run_id: int, attempt: str) -> Path:
    """Where one attempt of a run writes its files until it succeeds:
    ``.data/jobs/<run id>/.partial-<attempt>/``, ``attempt`` being the attempt's RQ job id (new
    for every attempt, retries included) — the naming rule the clean-up goes by."""
    return run_dir(run_id) / f"{PARTIAL_PREFIX}{attempt}"


def discard_partials(run_id: int, only: str | None = None) -> int:
    """Delete the unfinished files of run ``run_id``: every ``.partial-*`` folder, or only attempt
    ``only``'s. Returns how many folders went."""
    if only is not None:
        folders = [partial_dir(run_id, only)]
    else:
        try:
            folders = [e for e in run_dir(run_id).iterdir() if e.name.startswith(PARTIAL_PREFIX)]
        except OSError:
            return 0
    gone = 0
    for folder in folders:
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
            gone += 1
    return gone


def sweep_partials(db: Session) -> list[int]:
    """Delete the unfinished files of every attempt that is not running any more (its worker
    died, it was cancelled from another host, ...). Returns the run ids cleaned. The reaper calls it."""
    base = jobs_dir()
    found: dict[int, list[str]] = {}
    try:
        for folder in base.glob(f"*/{PARTIAL_PREFIX}*"):
            if folder.parent.name.isdigit():
                found.setdefault(int(folder.parent.name), []).append(folder.name[len(PARTIAL_PREFIX):])
    except OSError:
        return []
    if not found:
        return []
    live = {
        r.id: r.rq_job_id
        for r in db.exec(select(JobRun).where(JobRun.id.in_(list(found)), JobRun.status == JobStatus.running)).all()
    }
    db.rollback()
    cleaned = []
    for run_id, attempts in found.items():
        # Only the folders seen before the runs were read: an attempt claimed meanwhile writes
        # into a folder of its own (a new RQ job id), which this pass leaves alone.
        if sum(discard_partials(run_id, only=a) for a in attempts if a != live.get(run_id)):
            cleaned.append(run_id)
    if cleaned:
        log.warning("deleted unfinished files of job runs %s", sorted(cleaned))
    return sorted(cleaned)


# --------------------------------------------------------------------------------------------
# RQ plumbing

_rq: tuple[redis.Redis, redis.Redis] | None = None


def rq_connection() -> redis.Redis:
    """A Redis client for RQ (bytes, as RQ needs) on the same server and database as the bus."""
    global _rq
    client = redis_client()
    if _rq is None or _rq[0] is not client:
        pool = client.connection_pool
        kwargs = {**pool.connection_kwargs, "decode_responses": False}
        _rq = (client, redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)))
    return _rq[1]


def rq_queue(name: str = QUEUE) -> Queue:
    from rq import Queue

    return Queue(name, connection=rq_connection())


def _new_rq_id(run: JobRun) -> str:
    return f"pult-run-{run.id}-{uuid.uuid4().hex[:10]}"


def _push(run: JobRun, kind: JobKind | None, delay: float = 0.0) -> None:
    """Hand the run's current attempt to RQ. Called after the row is committed."""
    timeout = kind.timeout if kind else 600
    q = rq_queue(run.queue)
    opts: dict[str, Any] = {
        "args": (run.id,),
        "job_id": run.rq_job_id,
        "job_timeout": timeout,
        "result_ttl": RQ_RESULT_TTL,
        "failure_ttl": RQ_FAILURE_TTL,
        "description": f"{run.kind} #{run.id}",
    }
    if delay > 0:
        # RQ stores a scheduled time in whole seconds, truncated (``calendar.timegm``): a 1 s backoff
        # could fire at once. Round the moment up, so a retry never comes before its backoff.
        at = datetime.now(timezone.utc) + timedelta(seconds=delay)
        if at.microsecond:
            at = at.replace(microsecond=0) + timedelta(seconds=1)
        q.enqueue_at(at, RUNNER, **opts)
    else:
        q.enqueue(RUNNER, **opts)


@contextlib.contextmanager
def outage_as_503() -> Iterator[None]:
    """Raise :class:`ServiceUnavailable` (503, "try again in a minute") for an outage of
    PostgreSQL or Redis inside the block; other errors pass unchanged."""
    try:
        yield
    except ServiceUnavailable:
        raise
    except Exception as exc:
        if is_outage(exc):
            log.warning("service unavailable: %s: %s", type(exc).__name__, exc)
            raise ServiceUnavailable() from exc
        raise


def _outage_503(fn: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`outage_as_503` around a whole service function."""
    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        with outage_as_503():
            return fn(*args, **kwargs)

    return guarded


def _push_quietly(run: JobRun, kind: JobKind | None, delay: float = 0.0) -> None:
    # The row is committed as queued; if Redis is unreachable now, the reaper pushes it later.
    try:
        _push(run, kind, delay)
    except Exception:
        log.exception("could not hand run %s to RQ; the reaper will retry", run.id)


# --------------------------------------------------------------------------------------------
# Enqueue, cancel, retry


def _check_args(args: dict[str, Any] | None) -> dict[str, Any]:
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise ValidationFailed.one("args", "jobs.bad_args")
    try:
        return json.loads(json.dumps(audit.jsonable(args)))
    except (TypeError, ValueError):
        raise ValidationFailed.one("args", "jobs.bad_args") from None


def _initial_steps(kind: JobKind) -> list[dict[str, Any]]:
    return [{"name": s, "status": "pending"} for s in kind.steps]


def _new_run(db: Session, user: CurrentUser, kind: JobKind, args: dict[str, Any], key: str | None, username: str | None = None,
             schedule: Schedule | None = None) -> JobRun:
    run = JobRun(
        kind=kind.name,
        queue=kind.queue,
        idempotency_key=key,
        user_id=user.id,
        username=username or user.username,
        args=args,
        status=JobStatus.queued,
        steps=_initial_steps(kind),
        max_attempts=kind.max_attempts,
    )
    db.add(run)
    db.flush()
    run.rq_job_id = _new_rq_id(run)
    audit.record(db, user, "job.enqueue", MODEL, run.id, {"kind": kind.name, "args": args, **({"idempotency_key": key} if key else {}),
                                                          **({"schedule": schedule.name} if schedule is not None else {})})
    bus.mark(db, MODEL, [run.id], "create")
    return run


def _by_key(key: str):
    return select(JobRun).where(JobRun.idempotency_key == key).execution_options(populate_existing=True)


def enqueue(db: Session, user: CurrentUser | None, kind: str, args: dict[str, Any] | None = None, idempotency_key: str | None = None) -> JobRun:
    """Record a run of ``kind`` (row + audit in one transaction), commit, then hand it to RQ.

    With an ``idempotency_key`` that already has a run, that run is returned and nothing is
    enqueued — a double click, a retried request or two racing requests get one run (the unique
    constraint settles races). Keys are global: build them from the kind and what makes the work
    the same (``"stock.import:<file sha256>"``). Commits ``db``.

    PostgreSQL or Redis down: :class:`ServiceUnavailable` and nothing recorded (Redis is asked
    first, so a refused run never sits in the table). Should Redis go away between that question
    and the hand-over, the committed run is pushed later by the reaper.
    """
    user = user or SYSTEM
    k = get_kind(kind)
    clean_args = _check_args(args)
    if (k.perm and not user.has_perm(k.perm)) or (k.can is not None and not may_run(user, k, clean_args)):
        raise PermissionDenied()
    with outage_as_503():
        rq_connection().ping()
        return _enqueue(db, user, k, clean_args, idempotency_key)


def _enqueue(db: Session, user: CurrentUser, k: JobKind, clean_args: dict[str, Any], idempotency_key: str | None) -> JobRun:
    if idempotency_key:
        existing = db.exec(_by_key(idempotency_key)).first()
        if existing is not None:
            return existing
    try:
        run = _new_run(db, user, k, clean_args, idempotency_key)
        db.commit()
    except IntegrityError:
        db.rollback()
        if not idempotency_key:
            raise
        existing = db.exec(_by_key(idempotency_key)).first()
        if existing is None:
            raise
        return existing
    _push_quietly(run, k)
    return run


def _locked_run(db: Session, run_id: int) -> JobRun:
    run = db.exec(select(JobRun).where(JobRun.id == run_id).with_for_update().execution_options(populate_existing=True)).first()
    if run is None:
        raise NotFound()
    return run


def _owns(user: CurrentUser, run: JobRun) -> bool:
    return user.id is not None and run.user_id == user.id


def can_view(user: CurrentUser, run: JobRun) -> bool:
    return _owns(user, run) or user.has_perm("jobs.view")


@_outage_503
def cancel(db: Session, user: CurrentUser, run_id: int) -> JobRun:
    """Cancel a queued or running run (its owner, or anyone with ``jobs.cancel``). Commits ``db``.

    A queued run's RQ job is cancelled; a running one's worker is told to stop it
    (``send_stop_job_command`` kills the work horse). A finished run is returned unchanged.
    Jobs that call :meth:`JobContext.check_cancelled` also notice on their own.
    """
    run = _locked_run(db, run_id)
    if not (_owns(user, run) or user.has_perm("jobs.cancel")):
        db.rollback()
        raise PermissionDenied()
    previous = JobStatus(run.status)
    if previous.finished:
        db.rollback()
        return run
    run.status = JobStatus.cancelled
    run.finished_at = datetime.now(timezone.utc)
    run.message = f"cancelled by {user.username}"
    run.steps = _close_steps(run.steps, "cancelled")
    audit.record(db, user, "job.cancel", MODEL, run.id, {"kind": run.kind, "status": [previous.value, "cancelled"]})
    end_hooks(db, run, JobStatus.cancelled, CAUSE_CANCELLED)
    bus.mark(db, MODEL, [run.id], "update")
    db.commit()
    ran = (run.finished_at - run.started_at).total_seconds() if previous == JobStatus.running and run.started_at else None
    metrics.record_job(run.kind, "cancelled", ran)
    if run.rq_job_id:
        _stop_rq_job(run.rq_job_id, running=previous == JobStatus.running)
    # The stopped work horse may still hold its file open for a moment; the reaper's sweep takes
    # whatever it writes after this.
    discard_partials(run.id)
    return run


def _stop_rq_job(rq_job_id: str, running: bool) -> None:
    from rq.command import send_stop_job_command
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.job import Job

    conn = rq_connection()
    try:
        if running:
            send_stop_job_command(conn, rq_job_id)
        else:
            Job.fetch(rq_job_id, connection=conn).cancel()
    except (NoSuchJobError, InvalidJobOperation):
        pass  # already gone, finished or not yet picked up: the runner sees the row and stands down
    except Exception:
        log.exception("could not stop RQ job %s", rq_job_id)


@_outage_503
def retry(db: Session, user: CurrentUser, run_id: int) -> JobRun:
    """Run a failed or cancelled run again from the start with a fresh attempt budget. Commits ``db``.

    Allowed to the run's owner and to ``jobs.retry``; the kind's own permission and ``can`` are
    required too.
    The previous error stays in the audit log.
    """
    run = _locked_run(db, run_id)
    k = get_kind(run.kind)
    if not (_owns(user, run) or user.has_perm("jobs.retry")) or not may_run(user, k, dict(run.args or {})):
        db.rollback()
        raise PermissionDenied()
    if run.status not in (JobStatus.failed, JobStatus.cancelled):
        db.rollback()
        raise ValidationFailed.one("", "jobs.not_retryable")
    audit.record(db, user, "job.retry", MODEL, run.id, {"kind": run.kind, "status": [JobStatus(run.status).value, "queued"], "error": _first_line(run.error)})
    run.status = JobStatus.queued
    run.attempts = 0
    run.max_attempts = k.max_attempts
    run.progress = 0.0
    run.steps = _initial_steps(k)
    run.message = None
    run.error = None
    run.result = None
    run.result_file = None
    run.started_at = run.finished_at = run.heartbeat_at = None
    run.rq_job_id = _new_rq_id(run)
    bus.mark(db, MODEL, [run.id], "update")
    db.commit()
    _push_quietly(run, k)
    return run


def _first_line(text: str | None) -> str | None:
    return text.strip().splitlines()[0][:300] if text and text.strip() else None


def _close_steps(steps: list[dict[str, Any]], status: str) -> list[dict[str, Any]]:
    """The running step (if any) gets ``status``; used on failure and cancellation."""
    return [{**s, "status": status} if s.get("status") == "running" else dict(s) for s in steps or []]


def _finish_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**s, "status": "done"} for s in steps or []]


def _enter_step(steps: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Mark ``name`` running and every step before it done (appending ``name`` if new)."""
    out = [dict(s) for s in steps or []]
    names = [s.get("name") for s in out]
    if name not in names:
        out.append({"name": name, "status": "pending"})
        names.append(name)
    at = names.index(name)
    for i, s in enumerate(out):
        if i < at and s.get("status") in ("pending", "running"):
            s["status"] = "done"
    out[at]["status"] = "running"
    return out


# --------------------------------------------------------------------------------------------
# Inside a worker


def acts_as_system(run: JobRun) -> bool:
    """Runs enqueued without a user (system, schedules) act as SYSTEM; a run whose user was
    deleted (``user_id`` set to NULL) does not inherit anyone's rights."""
    return run.user_id is None and (run.username in (None, SYSTEM.username) or (run.username or "").startswith("schedule:"))


def resolve_user(db: Session, run: JobRun) -> CurrentUser:
    """The enqueuer as they are now: a deactivated or deleted user's jobs do not run."""
    if acts_as_system(run):
        return SYSTEM
    user = db.get(User, run.user_id) if run.user_id is not None else None
    if user is None or not user.is_active or user.deleted_at is not None:
        raise JobFailed(f"the user who started this job ({run.username}) is no longer active", retry=False)
    return current_user_for(db, user)


class JobContext:
    """What a job function gets: ``db`` for its work, ``user`` (the enqueuer, re-read from the
    database), ``run`` (a snapshot of the row), ``args``, and the progress / cancellation helpers.

    Progress, heartbeats and status live in sessions of their own, so they commit independently
    of the job's own transaction in ``db``.
    """

    def __init__(self, db: Session, user: CurrentUser, run: JobRun, kind: JobKind, rq_job_id: str | None) -> None:
        self.db = db
        self.user = user
        self.run = run
        self.kind = kind
        self.rq_job_id = rq_job_id
        self.args: dict[str, Any] = dict(run.args or {})
        #: Set by the heartbeat thread when the row stopped being ours (cancelled, reaped).
        self.lost = threading.Event()
        #: What the job got done so far, kept as the run's ``result`` if it fails or is cancelled
        #: (a bulk job's exact count of records changed before the error).
        self.partial_result: dict[str, Any] | None = None
        #: Files handed out by :meth:`result_path`: (temporary path, final path).
        self._outputs: list[tuple[Path, Path]] = []
        self._last_write = 0.0
        self._dirty = False
        self._last_check = 0.0

    # -- progress

    def progress(self, fraction: float | None = None, message: str | None = None, step: str | None = None) -> None:
        """Report progress (0..1), an optional message and the current step.

        Writes the row and publishes on the bus at most a few times a second; a new step, 100 %
        and the final state are always written. Raises :class:`JobCancelled` when the run was
        cancelled meanwhile.
        """
        run = self.run
        if fraction is not None:
            run.progress = min(1.0, max(0.0, float(fraction)))
        if message is not None:
            run.message = message[:500]
        new_step = step is not None and not any(s.get("name") == step and s.get("status") == "running" for s in run.steps or [])
        if step is not None:
            run.steps = _enter_step(run.steps, step)
        self._dirty = True
        now = time.monotonic()
        if new_step or run.progress >= 1.0 or now - self._last_write >= 1.0 / PROGRESS_WRITES_PER_SECOND:
            self.flush()

    def step(self, name: str, message: str | None = None) -> None:
        self.progress(None, message, step=name)

    def flush(self) -> None:
        """Write pending progress now (the runner calls this before finishing)."""
        if not self._dirty:
            return
        run = self.run
        with Session(engine()) as s:
            res = s.exec(
                update(JobRun)
                .where(*self._mine())
                .values(progress=run.progress, message=run.message, steps=run.steps, heartbeat_at=func.now())
                .returning(JobRun.id)
            ).first()
            if res is None:
                s.rollback()
                self.lost.set()
                raise JobCancelled()
            bus.mark(s, MODEL, [run.id], "update")
            s.commit()
        self._dirty = False
        self._last_write = time.monotonic()

    def _mine(self) -> list[Any]:
        conds = [JobRun.id == self.run.id, JobRun.status == JobStatus.running]
        if self.rq_job_id:
            conds.append(JobRun.rq_job_id == self.rq_job_id)
        return conds

    # -- cancellation

    def cancelled(self) -> bool:
        """Whether the run was cancelled (or reaped); reads the row at most twice a second."""
        if self.lost.is_set():
            return True
        now = time.monotonic()
        if now - self._last_check >= 0.5:
            self._last_check = now
            with Session(engine()) as s:
                if s.exec(select(JobRun.id).where(*self._mine())).first() is None:
                    self.lost.set()
        return self.lost.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if the run was cancelled from the UI."""
        if self.cancelled():
            raise JobCancelled()

    # -- files

    def result_path(self, filename: str) -> Path:
        """A path to write a file this run produces, recorded as the run's ``result_file``.

        The path is temporary (``.data/jobs/<run id>/.partial-<attempt>/<filename>``, same name):
        the runner moves the file to ``.data/jobs/<run id>/<filename>`` when the run succeeds, and
        a run that fails, is cancelled or dies leaves nothing half-written behind (the folder is
        deleted). Write, close, and return normally; do not keep the path for later.
        """
        name = Path(filename).name
        final = run_dir(self.run.id) / name
        temp = partial_dir(self.run.id, self._attempt_key()) / name
        temp.parent.mkdir(parents=True, exist_ok=True)
        self._outputs = [(t, f) for t, f in self._outputs if f != final] + [(temp, final)]
        self.run.result_file = str(final.relative_to(settings.files_dir))
        return temp

    def scratch_dir(self, name: str = "work") -> Path:
        """A folder for this attempt's working files (downloads, per-file reports): inside the
        attempt's ``.partial-*`` folder, so it is deleted when the attempt ends, however it ends."""
        path = partial_dir(self.run.id, self._attempt_key()) / f".{Path(name).name}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def publish_outputs(self) -> None:
        """Move the finished files into place (the runner calls this when the run succeeded)."""
        for temp, final in self._outputs:
            if temp.exists():
                os.replace(temp, final)
        discard_partials(self.run.id, only=self._attempt_key())

    def discard_outputs(self) -> None:
        """Delete this attempt's unfinished files (the run did not succeed)."""
        discard_partials(self.run.id, only=self._attempt_key())

    def _attempt_key(self) -> str:
        # The row's RQ job id is this attempt's (the claim checked it); new for every attempt.
        return self.run.rq_job_id or f"attempt-{self.run.attempts}"


# --------------------------------------------------------------------------------------------
# Orphans


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet waited for is a zombie: dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def held_rq_jobs() -> set[str]:
    """RQ job ids currently in the hands of a live worker.

    A worker counts as live while its Redis key exists (RQ lets it expire about a minute after
    the last heartbeat); a worker on this host whose process is gone does not count, so a
    SIGKILL here is noticed at once.
    """
    from rq import Worker

    host = socket.gethostname()
    held: set[str] = set()
    for w in Worker.all(connection=rq_connection()):
        job_id = w.get_current_job_id()
        if not job_id:
            continue
        if w.hostname == host and w.pid and not _pid_alive(w.pid):
            continue
        held.add(job_id)
    return held


def reap_orphans(db: Session, stale_after: float | None = None, queued_grace: float | None = None) -> list[int]:
    """Fix runs that lost their worker. Returns the ids it changed. Commits ``db``.

    * ``running`` with a heartbeat older than ``stale_after`` seconds whose RQ job no live worker
      holds: re-queued (a new attempt with a new RQ job id) when attempts remain, else failed
      with an error that says the worker was lost.
    * ``queued`` for longer than ``queued_grace`` seconds whose RQ job is gone, finished, or
      overdue in the scheduled registry (a worker without a scheduler): handed to RQ again.

    A run failed here gets its end hooks (its history rows closed); the unfinished files of
    every attempt no longer running are deleted (:func:`sweep_partials`).

    Safe to run from several processes at once (``FOR UPDATE SKIP LOCKED``).
    """
    from rq.job import Job
    from rq.job import JobStatus as RQStatus

    stale = stale_seconds() if stale_after is None else stale_after
    grace = max(stale, 60.0) if queued_grace is None else queued_grace
    changed: list[int] = []
    to_push: list[tuple[JobRun, float]] = []
    lost: list[str] = []  # kinds of the attempts found lost, for the metrics once committed

    running = db.exec(
        select(JobRun)
        .where(JobRun.status == JobStatus.running)
        .where(or_(JobRun.heartbeat_at.is_(None), JobRun.heartbeat_at < func.now() - timedelta(seconds=stale)))
        .order_by(JobRun.id)
        .limit(500)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    held = held_rq_jobs() if running else set()
    for run in running:
        if run.rq_job_id in held:
            continue  # a live worker still has it (e.g. stuck in C code): RQ's own monitor ends it
        seen = run.heartbeat_at.isoformat(timespec="seconds") if run.heartbeat_at else "never"
        error = f"The worker running attempt {run.attempts} was lost (killed or crashed); last heartbeat: {seen}."
        old = run.rq_job_id
        if run.attempts < run.max_attempts:
            run.status = JobStatus.queued
            run.error = error
            run.message = "re-queued after the worker was lost"
            run.heartbeat_at = None
            run.steps = _close_steps(run.steps, "failed")
            run.rq_job_id = _new_rq_id(run)
            to_push.append((run, 0.0))
            action = "requeued"
            end_hooks(db, run, JobStatus.queued, CAUSE_LOST)  # what the lost attempt left open
        else:
            run.status = JobStatus.failed
            run.error = error
            run.message = "the worker was lost"
            run.finished_at = datetime.now(timezone.utc)
            run.steps = _close_steps(run.steps, "failed")
            action = "failed"
            end_hooks(db, run, JobStatus.failed, CAUSE_LOST)
        audit.record(db, SYSTEM, "job.reap", MODEL, run.id, {"kind": run.kind, "action": action, "rq_job_id": old}, source="system")
        bus.mark(db, MODEL, [run.id], "update")
        changed.append(run.id)
        lost.append(run.kind)

    queued = db.exec(
        select(JobRun)
        .where(JobRun.status == JobStatus.queued, JobRun.created_at < func.now() - timedelta(seconds=grace))
        .order_by(JobRun.id)
        .limit(500)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    if queued:
        conn = rq_connection()
        jobs = Job.fetch_many([r.rq_job_id or "-" for r in queued], connection=conn)
        for run, job in zip(queued, jobs):
            status = job.get_status(refresh=False) if job is not None else None
            if status in (RQStatus.QUEUED, RQStatus.STARTED, RQStatus.DEFERRED):
                continue
            if status == RQStatus.SCHEDULED:
                try:
                    due = rq_queue(run.queue).scheduled_job_registry.get_scheduled_time(job)
                except Exception:
                    due = None
                if due is None or due.replace(tzinfo=due.tzinfo or timezone.utc) > datetime.now(timezone.utc) - timedelta(seconds=grace):
                    continue
            run.rq_job_id = _new_rq_id(run)
            to_push.append((run, 0.0))
            audit.record(db, SYSTEM, "job.reap", MODEL, run.id, {"kind": run.kind, "action": "pushed", "rq_status": status}, source="system")
            changed.append(run.id)

    db.commit()
    for kind_name in lost:
        metrics.record_job(kind_name, "lost", None)
    for run, delay in to_push:
        _push_quietly(run, KINDS.get(run.kind), delay)
    if changed:
        log.warning("reaped job runs %s", changed)
    sweep_partials(db)  # the lost attempts' unfinished files, and any a cancel could not reach
    return changed


# --------------------------------------------------------------------------------------------
# Schedules


def validate_cron(expr: str) -> bool:
    """Five fields (minute hour day month weekday), six with seconds last, or a macro (``@daily``)."""
    from croniter import croniter

    expr = (expr or "").strip()
    fields_ok = len(expr.split()) in (5, 6) or (expr.startswith("@") and " " not in expr)
    return fields_ok and croniter.is_valid(expr)


def next_fire(expr: str, after: datetime) -> datetime:
    """The first tick of ``expr`` strictly after ``after``, read in ``PULT_TIMEZONE``, as UTC."""
    from croniter import croniter

    local = after.astimezone(cron_timezone())
    return croniter(expr, local).get_next(datetime).astimezone(timezone.utc)


def schedulable_kinds(user: CurrentUser) -> list[str]:
    """The kinds ``user`` may put on a schedule (with some arguments): what the editor offers."""
    return sorted(name for name, kind in KINDS.items() if may_run(user, kind, None, schedule=True))


def schedule_errors(user: CurrentUser, kind: str, args: dict[str, Any] | None) -> dict[str, tuple[str, dict]]:
    """Field errors for a schedule of ``kind`` with ``args`` saved by ``user`` (who will own it)."""
    k = KINDS.get(kind)
    if k is None:
        return {"kind": ("jobs.unknown_kind", {"kind": kind})}
    if not may_run(user, k, dict(args or {}), schedule=True):
        return {"kind": ("jobs.kind_not_allowed", {})}
    return {}


def take_schedule(row: Schedule, user: CurrentUser) -> None:
    """Whoever saves a schedule owns it from then on: its ticks run with their rights (so nobody
    can aim someone else's rights at new arguments), and an old refusal is forgotten."""
    row.owner_id = user.id
    if row.created_by is None:
        row.created_by = user.username
    row.refusal = None
    row.refused_at = None


def save_schedule(
    db: Session,
    user: CurrentUser,
    name: str,
    kind: str,
    cron: str,
    args: dict[str, Any] | None = None,
    enabled: bool = True,
    schedule_id: int | None = None,
) -> Schedule:
    """Create or change a schedule (``jobs.schedules``); ``user`` becomes its owner and must be
    allowed to run ``kind`` with ``args`` (:func:`may_run`). Commits ``db``."""
    if not user.has_perm("jobs.schedules"):
        raise PermissionDenied()
    clean_args = _check_args(args)
    errors: dict[str, tuple[str, dict]] = schedule_errors(user, kind, clean_args)
    if not validate_cron(cron):
        errors["cron"] = ("jobs.cron_invalid", {})
    if not (name or "").strip():
        errors["name"] = ("error.required", {})
    if errors:
        raise ValidationFailed(errors)
    if schedule_id is None:
        row = Schedule(name=name.strip(), kind=kind, cron=cron.strip(), args=clean_args, enabled=enabled, created_by=user.username)
        db.add(row)
        before: dict[str, Any] = {}
    else:
        row = db.exec(select(Schedule).where(Schedule.id == schedule_id).with_for_update().execution_options(populate_existing=True)).first()
        if row is None:
            raise NotFound()
        if row.system:
            raise ValidationFailed.one("", "schedules.system_readonly")
        before = {"name": row.name, "kind": row.kind, "cron": row.cron, "args": row.args, "enabled": row.enabled, "owner_id": row.owner_id}
        row.name, row.kind, row.cron, row.args, row.enabled = name.strip(), kind, cron.strip(), clean_args, enabled
    take_schedule(row, user)
    row.next_fire_at = next_fire(row.cron, datetime.now(timezone.utc)) if enabled else None
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise ValidationFailed.one("name", "jobs.schedule_name_taken") from None
    after = {"name": row.name, "kind": row.kind, "cron": row.cron, "args": row.args, "enabled": row.enabled, "owner_id": row.owner_id}
    audit.record(db, user, "create" if not before else "update", "schedule", row.id, after if not before else audit.diff(before, after))
    bus.mark(db, "schedule", [row.id], "create" if not before else "update")
    db.commit()
    return row


def delete_schedule(db: Session, user: CurrentUser, schedule_id: int) -> None:
    if not user.has_perm("jobs.schedules"):
        raise PermissionDenied()
    row = db.get(Schedule, schedule_id)
    if row is None:
        raise NotFound()
    if row.system:
        raise ValidationFailed.one("", "schedules.system_readonly")
    audit.record(db, user, "delete", "schedule", row.id, {"name": row.name, "kind": row.kind, "cron": row.cron})
    db.delete(row)
    bus.mark(db, "schedule", [schedule_id], "delete")
    db.commit()


def ensure_schedule(
    db: Session,
    user: CurrentUser,
    owner_key: str,
    kind: str,
    cron: str | None,
    args: dict[str, Any] | None = None,
    enabled: bool = True,
) -> Schedule | None:
    """Keep the schedule owned by a record (``owner_key``, e.g. ``"sftp:7"``, is its name) in step
    with that record: created on first need, changed when the cron, kind, args or ``enabled``
    change, disabled (kept, with no next tick) when the cron is empty or ``enabled`` is False.
    Idempotent: calling it again with the same values changes nothing and writes no audit row.

    Runs in ``db``'s transaction (a resource's ``after_save`` calls it; the record's save commits
    both). Such a schedule is ``system``: it runs as the system user and is edited on its owner's
    form, not on the Schedules page. ``user`` is who changed the owner (the audit row's author).
    An invalid cron is refused with a message under the ``cron`` field."""
    cron = (cron or "").strip()
    if cron and not validate_cron(cron):
        raise ValidationFailed.one("cron", "jobs.cron_invalid")
    if kind not in KINDS:
        raise ValidationFailed.one("kind", "jobs.unknown_kind", kind=kind)
    row = db.exec(select(Schedule).where(Schedule.name == owner_key).with_for_update()).first()
    wanted = bool(cron) and enabled
    if row is None and not wanted:
        return None
    creating = row is None
    if row is None:
        row = Schedule(name=owner_key, kind=kind, cron=cron, args={}, enabled=False, created_by=user.username, system=True)
        db.add(row)
    before = {"kind": row.kind, "cron": row.cron, "args": row.args, "enabled": row.enabled}
    row.kind, row.args, row.enabled = kind, _check_args(args), wanted
    row.cron = cron or row.cron  # a disabled schedule keeps its last cron, to be seen
    if not wanted:
        row.next_fire_at = None
    elif creating or before["cron"] != row.cron or not before["enabled"] or row.next_fire_at is None:
        row.next_fire_at = next_fire(row.cron, datetime.now(timezone.utc))
    db.flush()
    after = {"kind": row.kind, "cron": row.cron, "args": row.args, "enabled": row.enabled}
    changes = after if creating else audit.diff(before, after)
    if changes:
        audit.record(db, user, "create" if creating else "update", "schedule", row.id, {"name": owner_key, **changes})
        bus.mark(db, "schedule", [row.id], "create" if creating else "update")
    return row


#: Schedules the deployment needs without anyone creating them (the nightly backup, a panel's
#: periodic check): ``(name, kind, default cron, args)``. The scheduler creates each one that is
#: missing when it starts (:func:`ensure_system_schedules`) and never changes one that exists, so an
#: admin's change of its cron survives restarts.
SYSTEM_SCHEDULES: dict[str, tuple[str, str, dict[str, Any]]] = {}


def system_schedule(name: str, kind: str, cron: str, args: dict[str, Any] | None = None) -> None:
    """Declare a schedule the scheduler creates when it is missing (see :data:`SYSTEM_SCHEDULES`).
    An empty ``cron`` declares nothing (the deployment switched it off)."""
    if cron.strip():
        SYSTEM_SCHEDULES[name] = (kind, cron.strip(), dict(args or {}))


def ensure_system_schedules(db: Session) -> list[str]:
    """Create the declared system schedules that do not exist yet; returns their names. Several
    schedulers starting at once take turns (a transaction-scoped advisory lock), so none of them
    trips over a row another just created."""
    made = []
    db.exec(text("SELECT pg_advisory_xact_lock(hashtext('pult:system_schedules'))"))
    for name, (kind, cron, args) in SYSTEM_SCHEDULES.items():
        if db.exec(select(Schedule).where(Schedule.name == name)).first() is None:
            ensure_schedule(db, SYSTEM, name, kind, cron, args)
            made.append(name)
    db.commit()
    return made


def drop_owned_schedule(db: Session, user: CurrentUser, owner_key: str) -> None:
    """Delete the schedule owned by a record that is being deleted (in ``db``'s transaction)."""
    row = db.exec(select(Schedule).where(Schedule.name == owner_key)).first()
    if row is not None:
        audit.record(db, user, "delete", "schedule", row.id, {"name": row.name, "kind": row.kind, "cron": row.cron})
        db.delete(row)
        bus.mark(db, "schedule", [row.id], "delete")


#: Why a tick was refused (``schedules.refusal.<code>`` in the catalog).
REFUSAL_NO_OWNER = "no_owner"
REFUSAL_OWNER_INACTIVE = "owner_inactive"
REFUSAL_NOT_ALLOWED = "not_allowed"
REFUSAL_UNKNOWN_KIND = "unknown_kind"


def _schedule_actor(db: Session, sched: Schedule, kind: JobKind) -> tuple[CurrentUser | None, str | None]:
    """Who a tick of ``sched`` runs as, or why it may not run: the owner as they are now."""
    owner = db.get(User, sched.owner_id) if sched.owner_id is not None else None
    if owner is None:
        return None, REFUSAL_NO_OWNER
    if not owner.is_active or owner.deleted_at is not None:
        return None, REFUSAL_OWNER_INACTIVE
    actor = current_user_for(db, owner)
    if not may_run(actor, kind, dict(sched.args or {}), schedule=True):
        return None, REFUSAL_NOT_ALLOWED
    return actor, None


def _refuse_tick(db: Session, sched: Schedule, code: str, now: datetime, tick: datetime) -> None:
    """Record a refused tick on the schedule and in the audit log; the first refusal of a streak
    tells the owner and the admins (the ``jobs.schedule_refused`` event's rules)."""
    from app.core import notify

    first = sched.refusal != code
    sched.refusal, sched.refused_at = code, now
    owner = db.get(User, sched.owner_id) if sched.owner_id is not None else None
    log.warning("schedule %s (%s) tick %s refused: %s", sched.id, sched.name, tick.isoformat(), code)
    audit.record(db, SYSTEM, "schedule.refuse", "schedule", sched.id,
                 {"name": sched.name, "kind": sched.kind, "reason": code, "owner": owner.username if owner else None}, source="system")
    bus.mark(db, "schedule", [sched.id], "update")
    if not first:
        return
    title = i18n.t("jobs.schedule_refused", name=sched.name, reason=i18n.t(f"schedules.refusal.{code}"))
    link = f"/admin/schedules/{sched.id}"
    told = {n.user_id for n in notify.notify(db, "jobs.schedule_refused", title, link=link, data={"schedule_id": sched.id})}
    if owner is not None and owner.id not in told and owner.is_active and owner.deleted_at is None:
        notify.to_user(db, owner.id, "jobs.schedule_refused", title, link=link, data={"schedule_id": sched.id})


def fire_due_schedules(db: Session) -> list[JobRun]:
    """Enqueue one run for every enabled schedule whose tick has come, and move it to its next tick.

    Several schedulers may call this at once: each due row is locked (``FOR UPDATE SKIP
    LOCKED``) by one of them, fired and moved forward in the same transaction, so the others
    skip it; the run's idempotency key ``schedule:<id>:<tick>`` is a second guard. Ticks missed
    while no scheduler ran are fired once, not once each. Commits ``db``.

    A tick runs as the schedule's owner, checked now: still active and still allowed to run the
    kind with these arguments; otherwise it is refused (:func:`_refuse_tick`) and the schedule
    waits for its next tick. A ``system`` schedule (declared by code) runs as the system user.
    """
    now = db.exec(select(func.now())).one()
    due = db.exec(
        select(Schedule)
        .where(Schedule.enabled.is_(True))
        .where(or_(Schedule.next_fire_at.is_(None), Schedule.next_fire_at <= now))
        .order_by(Schedule.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    fired: list[tuple[JobRun, JobKind]] = []
    for sched in due:
        try:
            if sched.next_fire_at is None:  # enabled from outside the service: start from now
                sched.next_fire_at = next_fire(sched.cron, now)
                continue
            tick = sched.next_fire_at
            sched.next_fire_at = next_fire(sched.cron, max(now, tick))
            sched.last_fired_at = now
        except (ValueError, TypeError, KeyError) as exc:  # a bad cron written behind the service's back
            log.error("schedule %s (%s): bad cron %r: %s; disabled", sched.id, sched.name, sched.cron, exc)
            sched.enabled = False
            continue
        kind = KINDS.get(sched.kind)
        if kind is None:
            _refuse_tick(db, sched, REFUSAL_UNKNOWN_KIND, now, tick)
            continue
        if sched.system:
            actor, username = SYSTEM, f"schedule:{sched.name}"[:64]
        else:
            owner, refusal = _schedule_actor(db, sched, kind)
            if owner is None:
                _refuse_tick(db, sched, refusal or REFUSAL_NOT_ALLOWED, now, tick)
                continue
            actor, username = owner, None
        key = f"schedule:{sched.id}:{tick.astimezone(timezone.utc).isoformat()}"
        try:
            with db.begin_nested():
                run = _new_run(db, actor, kind, dict(sched.args or {}), key, username=username, schedule=sched)
        except IntegrityError:
            log.warning("schedule %s tick %s was already fired", sched.id, tick)
            continue
        sched.refusal = sched.refused_at = None
        log.info("schedule %s (%s) fired for tick %s: run %s as user %s", sched.id, sched.name, tick.isoformat(), run.id, actor.id)
        fired.append((run, kind))
        bus.mark(db, "schedule", [sched.id], "update")
    db.commit()
    for run, kind in fired:
        _push_quietly(run, kind)
    return [run for run, _ in fired]
