"""The RQ entry point: run one attempt of a ``JobRun`` and keep its row truthful.

``execute(run_id)`` claims the row (queued → running, one more attempt), starts a heartbeat
thread, calls the kind's function with a :class:`~app.core.jobs.JobContext`, and ends the
attempt as succeeded, failed, cancelled or queued again for a retry after the kind's backoff.
Every write is conditional on the row still being this attempt's (status running, same RQ job
id), so a run cancelled from the UI or taken over by the reaper is never overwritten.

A run that succeeded gets its files moved into place in the same step that marks it succeeded;
one that ends otherwise has its unfinished files deleted, and a final failure or a cancel runs
the end hooks (``app.core.jobs.end_hooks``) in the transaction that writes the status.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, select

from app.boot import boot
from app.core import audit, bus, metrics
from app.core import jobs as core
from app.core.db import engine
from app.core.errors import PultError
from models.jobs import JobRun, JobStatus

log = logging.getLogger("pult.jobs.runner")


def execute(run_id: int) -> Any:
    """Run the current attempt of run ``run_id`` (called by an RQ worker, or directly in tests)."""
    from rq import get_current_job

    rq_job = get_current_job()
    if rq_job is not None:
        # A forked work horse must not reuse the pooled connections of the worker it came from.
        engine().dispose(close=False)
    with audit.source("job"):
        return _execute(run_id, rq_job.id if rq_job is not None else None)


class _Heartbeat(threading.Thread):
    """Writes ``heartbeat_at`` every few seconds; notices when the run stopped being ours."""

    def __init__(self, ctx: core.JobContext) -> None:
        super().__init__(name=f"job-heartbeat-{ctx.run.id}", daemon=True)
        self.ctx = ctx
        self.halt = threading.Event()

    def run(self) -> None:
        interval = max(0.05, core.heartbeat_seconds())
        while not self.halt.wait(interval):
            try:
                with Session(engine()) as s:
                    mine = s.exec(update(JobRun).where(*self.ctx._mine()).values(heartbeat_at=func.now()).returning(JobRun.id)).first()
                    s.commit()
                if mine is None:
                    self.ctx.lost.set()
            except Exception:  # a database hiccup must not kill the job; the next beat tries again
                log.exception("heartbeat of run %s failed", self.ctx.run.id)

    def stop(self) -> None:
        self.halt.set()
        if self.is_alive():
            self.join(timeout=5)


def _claim(run_id: int, rq_job_id: str | None) -> tuple[JobRun, core.JobKind] | None:
    """Move the run to running for a new attempt, or say why this delivery stands down."""
    with Session(engine(), expire_on_commit=False) as s:
        run = s.exec(select(JobRun).where(JobRun.id == run_id).with_for_update()).first()
        if run is None:
            log.warning("run %s does not exist; nothing to do", run_id)
            return None
        if rq_job_id and run.rq_job_id != rq_job_id:
            log.info("run %s: RQ job %s is not its current attempt (%s); standing down", run_id, rq_job_id, run.rq_job_id)
            return None
        if run.status != JobStatus.queued:
            log.info("run %s is %s; not starting it", run_id, JobStatus(run.status).value)
            return None
        kind = core.KINDS.get(run.kind)
        if kind is None:  # plain `rq worker`: the panels were not loaded before the fork
            boot()
            kind = core.KINDS.get(run.kind)
        if kind is None:
            run.status = JobStatus.failed
            run.error = f"Unknown job kind {run.kind!r}: no loaded panel or PULT_JOB_MODULES entry declares it."
            run.finished_at = datetime.now(timezone.utc)
            core.end_hooks(s, run, JobStatus.failed, core.CAUSE_FAILED)
            bus.mark(s, core.MODEL, [run.id], "update")
            s.commit()
            return None
        run.status = JobStatus.running
        run.attempts += 1
        run.started_at = datetime.now(timezone.utc)
        run.heartbeat_at = func.now()
        run.finished_at = None
        run.progress = 0.0
        run.steps = core._initial_steps(kind)
        run.message = f"attempt {run.attempts} of {run.max_attempts}" if run.attempts > 1 else None
        bus.mark(s, core.MODEL, [run.id], "update")
        s.commit()
        s.refresh(run)
        return run, kind


def _disarm_time_limit(rq_job_id: str | None) -> None:
    """The time limit is for the job function; bookkeeping after it must not be interrupted."""
    if rq_job_id and threading.current_thread() is threading.main_thread():
        signal.alarm(0)


def _execute(run_id: int, rq_job_id: str | None) -> Any:
    from rq.timeouts import JobTimeoutException

    claimed = _claim(run_id, rq_job_id)
    if claimed is None:
        return None
    run, kind = claimed
    started = time.monotonic()
    db = Session(engine(), expire_on_commit=False)
    ctx = core.JobContext(db, core.SYSTEM, run, kind, rq_job_id)
    beat = _Heartbeat(ctx)
    try:
        try:
            ctx.user = core.resolve_user(db, run)
            if kind.perm and not ctx.user.has_perm(kind.perm):
                raise core.JobFailed(f"The user who started it (id {run.user_id}) no longer has the permission {kind.perm}", retry=False)
            if kind.can is not None and not core.may_run(ctx.user, kind, ctx.args):
                raise core.JobFailed(f"The user who started it (id {run.user_id}) may no longer run {kind.name} with these arguments", retry=False)
            beat.start()
            value = kind.fn(ctx, **ctx.args)
        finally:
            _disarm_time_limit(rq_job_id)
            beat.stop()
        db.commit()
        ctx.flush()
    except core.JobCancelled:
        db.rollback()
        _measure(kind, _end_cancelled(ctx), started)
        return None
    except JobTimeoutException as exc:
        db.rollback()
        outcome = _end_failed(ctx, exc, f"Time limit of {kind.timeout} s exceeded.", timed_out=True)
        _measure(kind, "timeout" if outcome == "failed" else outcome, started)
        raise
    except Exception as exc:
        db.rollback()
        _measure(kind, _end_failed(ctx, exc, _describe(exc)), started)
        raise
    finally:
        db.close()
    _measure(kind, _end_succeeded(ctx, value), started)
    return None


def _measure(kind: core.JobKind, outcome: str | None, started: float) -> None:
    """Count the attempt and its duration by kind and outcome (``/metrics``); None: the run was
    no longer this attempt's (cancelled or taken over meanwhile), counted where that happened."""
    if outcome is not None:
        metrics.record_job(kind.name, outcome, time.monotonic() - started)



def _describe(exc: BaseException) -> str:
    if isinstance(exc, PultError):
        return exc.message()
    if isinstance(exc, core.JobFailed):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _locked_if_mine(s: Session, ctx: core.JobContext) -> JobRun | None:
    return s.exec(select(JobRun).where(*ctx._mine()).with_for_update()).first()


def _end_succeeded(ctx: core.JobContext, value: Any) -> str | None:
    with Session(engine(), expire_on_commit=False) as s:
        run = _locked_if_mine(s, ctx)
        if run is None:
            log.warning("run %s finished but is no longer this attempt's (cancelled or reaped); result dropped", ctx.run.id)
            ctx.discard_outputs()
            return None
        try:  # under the row lock: a cancel cannot slip in between the files and the status
            ctx.publish_outputs()
        except OSError as exc:
            s.rollback()
            return _end_failed(ctx, exc, f"Could not keep the result file: {exc}")
        run.status = JobStatus.succeeded
        run.progress = 1.0
        run.steps = core._finish_steps(ctx.run.steps)
        run.message = ctx.run.message
        run.result = _jsonable(value)
        run.result_file = ctx.run.result_file
        run.error = None
        run.finished_at = datetime.now(timezone.utc)
        run.heartbeat_at = func.now()
        bus.mark(s, core.MODEL, [run.id], "update")
        s.commit()
    return "succeeded"


def _end_cancelled(ctx: core.JobContext) -> str | None:
    """Cancelled from the UI: ``cancel()`` already wrote the row (and counted it). Raised by the
    job itself while the run is still ours: record it here (``cancelled``)."""
    ctx.discard_outputs()
    with Session(engine()) as s:
        run = _locked_if_mine(s, ctx)
        if run is None:
            log.info("run %s stopped: cancelled or taken over", ctx.run.id)
            return None
        run.status = JobStatus.cancelled
        run.message = ctx.run.message or "cancelled"
        run.steps = core._close_steps(ctx.run.steps, "cancelled")
        run.finished_at = datetime.now(timezone.utc)
        if ctx.partial_result is not None:
            run.result = _jsonable(ctx.partial_result)
        core.end_hooks(s, run, JobStatus.cancelled, core.CAUSE_CANCELLED)
        bus.mark(s, core.MODEL, [run.id], "update")
        s.commit()
    return "cancelled"


def _end_failed(ctx: core.JobContext, exc: BaseException, summary: str, timed_out: bool = False) -> str | None:
    """Record a failed attempt: ``retried`` when another attempt follows, ``failed`` when not,
    None when the run was no longer this attempt's."""
    kind = ctx.kind
    retryable = kind.retry_timeouts if timed_out else not isinstance(exc, PultError)
    if isinstance(exc, core.JobFailed):
        retryable = exc.retry
    # The traceback is for whoever reads the worker's log; the run (shown to its owner on pages and
    # through the API) keeps only the summary.
    log.error("run %s (%s) failed: %s", ctx.run.id, kind.name, summary, exc_info=(type(exc), exc, exc.__traceback__))
    error = summary[:20000]
    push = None
    ctx.discard_outputs()
    with Session(engine(), expire_on_commit=False) as s:
        run = _locked_if_mine(s, ctx)
        if run is None:
            log.info("run %s failed after it was cancelled or taken over: %s", ctx.run.id, summary)
            return None
        run.error = error
        run.steps = core._close_steps(ctx.run.steps, "failed")
        run.progress = ctx.run.progress
        if ctx.partial_result is not None:
            run.result = _jsonable(ctx.partial_result)
        if retryable and run.attempts < run.max_attempts:
            delay = kind.delay_before(run.attempts + 1)
            run.status = JobStatus.queued
            run.message = f"attempt {run.attempts} of {run.max_attempts} failed; next in {delay:g} s"
            run.heartbeat_at = None
            run.rq_job_id = core._new_rq_id(run)
            push = (run, delay)
        else:
            run.status = JobStatus.failed
            run.message = summary[:500]
            run.finished_at = datetime.now(timezone.utc)
        core.end_hooks(s, run, JobStatus(run.status), core.CAUSE_TIMEOUT if timed_out else core.CAUSE_FAILED)
        bus.mark(s, core.MODEL, [run.id], "update")
        s.commit()
    if push is not None:
        core._push_quietly(push[0], kind, push[1])
        return "retried"
    return "failed"


def _jsonable(value: Any) -> Any:
    import json

    value = audit.jsonable(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value
