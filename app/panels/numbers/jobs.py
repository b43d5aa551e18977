"""Background jobs of the numbers panel: file imports and exports, each logged in ``number_transfer``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.core import ListParams, get_resource, notify, told_to_user, upload_path
from app.core.i18n import t
from app.core.jobs import JobCancelled, JobContext, JobFailed, job_kind, on_run_end
from app.panels.numbers import transfers
from models.numbers import NumberTransfer


def _transfer(ctx: JobContext, transfer_id: int) -> NumberTransfer:
    row = ctx.db.get(NumberTransfer, transfer_id)
    if row is None:
        raise JobFailed(f"transfer {transfer_id} is gone", retry=False)
    row.status, row.job_run_id, row.message = "running", ctx.run.id, None  # a retried attempt starts afresh
    ctx.db.commit()
    return row


def _failed(ctx: JobContext, transfer_id: int, exc: BaseException, lang: str, crashed: str = "import.crashed") -> None:
    """Log the failure on the transfer in words its reader understands (never a catalog key)."""
    if isinstance(exc, JobFailed):
        message = str(exc)
    elif isinstance(exc, JobCancelled):
        message = t("jobs.status.cancelled", lang)
    else:
        message = t(crashed, lang)
    ctx.db.rollback()
    row = ctx.db.get(NumberTransfer, transfer_id)
    if row is not None:
        row.status, row.message, row.finished_at = "failed", message[:2000], dt.datetime.now(dt.timezone.utc)
        ctx.db.commit()


@on_run_end
def _close_transfers(db: Any, run: Any, status: Any, cause: str) -> None:
    """A run that failed, was cancelled or lost its worker leaves no transfer "queued"/"running":
    the one it was started for (import/export here) and any it wrote (SFTP, the list's export)."""
    transfer_id = (run.args or {}).get("transfer_id") if run.kind in ("numbers.import", "numbers.export") else None
    transfers.close_open_transfers(db, run, status, cause, transfer_id)


def _can_import(user: Any, args: dict[str, Any] | None) -> bool:
    """Not offered for schedules (``args`` None): each run belongs to one upload and transfer row."""
    return args is not None and user.has_perm("numbers.import") and get_resource("numbers.numbers")().can(user, "create")


def _can_export(user: Any, args: dict[str, Any] | None) -> bool:
    """Not offered for schedules either (a transfer row per run; a scheduled export is an SFTP push)."""
    return args is not None and get_resource("numbers.numbers")().can(user, "view")


@job_kind("numbers.import", timeout=3 * 3600, steps=("read", "normalise", "dedupe", "write", "report"), label="numbers.job.import",
          can=_can_import)
def import_job(ctx: JobContext, transfer_id: int, upload: str, project_id: int | None = None, provider_id: int | None = None,
               geo_id: int | None = None, status_id: int | None = None, lang: str = "ru") -> dict[str, Any]:
    transfer = _transfer(ctx, transfer_id)

    def progress(fraction: float, step: str) -> None:
        ctx.progress(fraction, t(f"numbers.step.{step}", lang), step=step if step in ctx.kind.steps else None)

    try:
        with told_to_user(lang):  # the file's problem in the user's words; a bug's traceback to the log only
            path = upload_path(ctx.user, upload)
            stats = transfers.import_numbers(ctx.db, ctx.user, path, project_id=project_id, provider_id=provider_id, geo_id=geo_id,
                                             status_id=status_id, transfer=transfer, error_path=ctx.result_path("errors.csv"),
                                             progress=progress, lang=lang)
    except Exception as exc:
        _failed(ctx, transfer_id, exc, lang)
        raise
    notify.to_user(ctx.db, ctx.user.id, "job.done",
                   title=t("numbers.import_done", lang, accepted=stats.accepted, duplicates=stats.duplicates, invalid=stats.invalid),
                   link=f"/api/jobs/{ctx.run.id}/file" if (stats.duplicates or stats.invalid) else "/numbers/transfers",
                   data={"job_run_id": ctx.run.id})
    ctx.db.commit()
    return {"total": stats.total, "accepted": stats.accepted, "duplicates": stats.duplicates, "invalid": stats.invalid,
            "seconds": {k: round(v, 3) for k, v in stats.seconds.items()}}


@job_kind("numbers.export", timeout=3 * 3600, steps=("export",), label="numbers.job.export", can=_can_export)
def export_job(ctx: JobContext, transfer_id: int, view: dict[str, Any] | None = None, lang: str = "ru") -> dict[str, Any]:
    transfer = _transfer(ctx, transfer_id)
    params = ListParams(**{k: v for k, v in (view or {}).items() if k in ("sort", "filters", "search")})
    ctx.step("export", t("numbers.step.export", lang))
    path = ctx.result_path(transfer.filename or f"numbers-{transfer_id}.csv")
    try:
        with told_to_user(lang, "export.crashed"):
            n = transfers.export_numbers(ctx.db, ctx.user, params, path, lang)
    except Exception as exc:
        _failed(ctx, transfer_id, exc, lang, "export.crashed")
        raise
    transfer = ctx.db.get(NumberTransfer, transfer_id)
    transfer.total = transfer.accepted = n
    transfer.status, transfer.finished_at = "done", dt.datetime.now(dt.timezone.utc)
    notify.to_user(ctx.db, ctx.user.id, "job.done", title=t("numbers.export_done", lang, n=n), link=f"/api/jobs/{ctx.run.id}/file",
                   data={"job_run_id": ctx.run.id})
    ctx.db.commit()
    return {"rows": n, "file": path.name}
