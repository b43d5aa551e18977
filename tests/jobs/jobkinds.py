"""Job kinds used by tests/jobs. Imported in the test process and, through
``PULT_JOB_MODULES=jobkinds`` (with tests/jobs on PYTHONPATH), by the worker subprocesses.
Each kind leaves traces in Redis (``test:*`` keys) so a test can tell what really ran."""

from __future__ import annotations

import time

from app.core.jobs import JobContext, job_kind
from app.core.redis import redis_client


@job_kind("test.steps", timeout=30, steps=("prepare", "work", "finish"))
def steps(ctx: JobContext, n: int = 5, tag: str = "steps") -> dict:
    ctx.progress(0.0, "starting", step="prepare")
    for i in range(n):
        time.sleep(0.3)  # longer than the progress throttle, so every step is written
        ctx.progress((i + 1) / n, f"{i + 1}/{n}", step="work")
    ctx.step("finish")
    redis_client().incr(f"test:done:{tag}")
    return {"n": n, "user": ctx.user.username}


@job_kind("test.flaky", timeout=30, max_attempts=3, backoff=(0.5, 1.0))
def flaky(ctx: JobContext, fail_times: int = 99, tag: str = "flaky") -> str:
    redis_client().rpush(f"test:attempts:{tag}", repr(time.time()))
    if ctx.run.attempts <= fail_times:
        raise RuntimeError(f"boom on attempt {ctx.run.attempts}")
    return "ok"


@job_kind("test.timeout", timeout=1, max_attempts=2, backoff=(0,))
def too_long(ctx: JobContext, seconds: float = 10, tag: str = "timeout") -> None:
    redis_client().incr(f"test:started:{tag}")
    time.sleep(seconds)
    redis_client().incr(f"test:done:{tag}")


@job_kind("test.slow", timeout=60)
def slow(ctx: JobContext, seconds: float = 30, tag: str = "slow") -> None:
    """Does not look at cancellation: only a hard stop ends it early."""
    redis_client().incr(f"test:started:{tag}")
    time.sleep(seconds)
    redis_client().incr(f"test:done:{tag}")


@job_kind("test.crash_once", timeout=60, max_attempts=2, backoff=(0,))
def crash_once(ctx: JobContext, seconds: float = 30, tag: str = "crash") -> int:
    """The first attempt hangs (the test kills its worker); the second finishes at once."""
    redis_client().incr(f"test:started:{tag}")
    if ctx.run.attempts == 1:
        time.sleep(seconds)
    redis_client().incr(f"test:done:{tag}")
    return ctx.run.attempts


@job_kind("test.tight", timeout=30)
def tight(ctx: JobContext, n: int = 2000) -> int:
    for i in range(n):
        ctx.progress((i + 1) / n, f"{i + 1}")
    return n


@job_kind("test.count", timeout=30)
def count(ctx: JobContext, tag: str = "count") -> None:
    redis_client().incr(f"test:done:{tag}")
    time.sleep(0.1)


@job_kind("test.secret", timeout=30, perm="test.secret.run")
def secret(ctx: JobContext) -> None:
    redis_client().incr("test:done:secret")


@job_kind("test.audited", timeout=30)
def audited(ctx: JobContext, name: str = "report.csv") -> str:
    """Writes an audit row through ctx.db (committed by the runner) and a result file."""
    from app.core import audit

    audit.record(ctx.db, ctx.user, "test.audited", "test", ctx.run.id, {"ok": True})
    path = ctx.result_path(name)
    path.write_text("a,b\n1,2\n")
    return path.name


def record_end(db, run, status, cause) -> None:
    """An ``on_end`` hook: leaves ``<run id>:<status>:<cause>`` in Redis (tests read it)."""
    redis_client().rpush("test:ended", f"{run.id}:{status.value}:{cause}")


def _half_written(ctx: JobContext, name: str) -> None:
    path = ctx.result_path(name)
    with open(path, "w") as f:
        f.write("a,b\n" * 1000)
    redis_client().set(f"test:partial:{ctx.run.id}", str(path))


@job_kind("test.write_then_hang", timeout=1, on_end=record_end)
def write_then_hang(ctx: JobContext, seconds: float = 30) -> None:
    """Writes half a file, then outlives its time limit."""
    _half_written(ctx, "out.csv")
    time.sleep(seconds)


@job_kind("test.write_then_fail", timeout=30, max_attempts=2, backoff=(0,), on_end=record_end)
def write_then_fail(ctx: JobContext) -> None:
    """Writes half a file, then fails on every attempt."""
    _half_written(ctx, "out.csv")
    raise RuntimeError(f"broken on attempt {ctx.run.attempts}")


@job_kind("test.write_then_wait", timeout=60, on_end=record_end)
def write_then_wait(ctx: JobContext, seconds: float = 60) -> None:
    """Writes half a file, then waits to be cancelled or killed (checking for a cancel)."""
    _half_written(ctx, "out.csv")
    for _ in range(int(seconds * 10)):
        ctx.check_cancelled()
        time.sleep(0.1)


@job_kind("test.admin_only", timeout=30)
def admin_only(ctx: JobContext) -> None:
    """Declares neither ``perm`` nor ``can``: internal, only an administrator may schedule it."""
    redis_client().incr("test:done:admin_only")


@job_kind("test.guarded", timeout=30, can=lambda user, args: args is None or args.get("target") == user.username)
def guarded(ctx: JobContext, target: str = "") -> str:
    """May run only on the runner's own ``target`` (a ``can(user, args)`` check)."""
    from app.core import audit

    audit.record(ctx.db, ctx.user, "test.guarded", "test", ctx.run.id, {"target": target})
    redis_client().incr(f"test:done:guarded:{target}")
    return target
