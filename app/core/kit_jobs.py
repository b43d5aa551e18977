"""Job kinds every resource gets from the kit: export of the current view (CSV/XLSX)."""

from __future__ import annotations

from typing import Any

from app.core import exporter, notify
from app.core.i18n import t
from app.core.jobs import JobContext, job_kind
from app.core.query import ListParams, base_query, estimate
from app.core.registry import RESOURCES


@job_kind("kit.export", timeout=3600, steps=("export",), label="jobs.kind.export")
def export_view(ctx: JobContext, resource: str, fmt: str = "csv", sort: str = "", filters: dict[str, str] | None = None,
                search: str = "", trash: bool = False) -> dict[str, Any]:
    """Write what the user's list shows (filters, search, sort, scope) to a file, then tell them."""
    res = RESOURCES[resource]()
    params = ListParams(sort=sort, filters=dict(filters or {}), search=search, trash=trash)
    try:
        expected = max(1, estimate(ctx.db, base_query(res, ctx.user, params)))
    except Exception:  # an estimate is only for the progress bar
        expected = 1
    path = ctx.result_path(f"{res.slug}.{'xlsx' if fmt == 'xlsx' else 'csv'}")
    ctx.step("export", t("jobs.export.running"))

    def progress(n: int) -> None:
        ctx.progress(min(n / expected, 0.99), t("jobs.export.rows", n=n))

    n = exporter.export(ctx.db, res, ctx.user, params, path, "xlsx" if fmt == "xlsx" else "csv", progress=progress)
    ctx.db.rollback()  # the export only read; end that transaction before writing the notification
    notify.to_user(
        ctx.db, ctx.user.id, "job.done",
        title=t("jobs.export.done", what=t(res.label or res.slug), n=n),
        link=f"/api/jobs/{ctx.run.id}/file",
        data={"job_run_id": ctx.run.id},
    )
    ctx.db.commit()
    return {"rows": n, "file": path.name}
