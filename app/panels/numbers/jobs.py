"""Background jobs of the numbers panel: exports of numbers, logged in ``number_transfer``. The
import job (``numbers.import``) is the kit's, from the resource's ``bulk_import`` declaration."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.core import ListParams, get_resource, notify, told_to_user
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


def _can_export(user: Any, args: dict[str, Any] | None) -> bool:
    """Not offered for schedules either (a transfer row per run; a scheduled export is an SFTP push)."""
    return args is not None and get_resource("numbers.numbers")().can(user, "view")


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
