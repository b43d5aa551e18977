"""Job kinds every resource gets from the kit: export of the current view (CSV/XLSX), import of a
file (see app.core.importer) and bulk actions declared with ``@action(..., job=True)``."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from app.core import exporter, importer, notify, safe_cells
from app.core.i18n import t
from app.core.jobs import JobCancelled, JobContext, JobFailed, job_kind, system_schedule
from app.core.query import ListParams, base_query, estimate
from app.core.registry import RESOURCES

log = logging.getLogger("pult.jobs.kit")


@contextlib.contextmanager
def told_to_user(lang: str, crashed_key: str = "import.crashed") -> Iterator[None]:
    """Fail the run with what a person should read, in their language: a validation error's own
    messages (not "Please fix the errors in the form"), a kit error's message, or — for a bug —
    a plain sentence while the traceback goes to the worker's log. Cancellation, time limits and
    a job's own :class:`JobFailed` pass through unchanged."""
    from rq.timeouts import JobTimeoutException

    from app.core.errors import PultError, ValidationFailed
    from app.core.jobs import JobCancelled

    try:
        yield
    except (JobCancelled, JobFailed, JobTimeoutException):
        raise
    except ValidationFailed as exc:
        raise JobFailed("; ".join(m for m in exc.messages(lang).values() if m) or exc.message(lang), retry=False) from None
    except PultError as exc:
        raise JobFailed(exc.message(lang), retry=False) from None
    except Exception:
        log.exception("job failed")
        raise JobFailed(t(crashed_key, lang), retry=False) from None

#: At most this many ids of skipped (out-of-scope) records are kept in a bulk run's result.
SKIPPED_IDS_LIMIT = 100


def _can_export(user: Any, args: dict[str, Any] | None) -> bool:
    """Who may run ``kit.export``: anyone who may see the resource (any viewable one, unasked)."""
    if args is None:
        return any(r().can(user, "view") for r in RESOURCES.values())
    return RESOURCES[args["resource"]]().can(user, "view")


def _can_import(user: Any, args: dict[str, Any] | None) -> bool:
    """``kit.import`` needs ``create`` on the resource (and ``update`` when a key matches rows).
    Never offered for a schedule: the upload belongs to one moment."""
    if args is None:
        return False
    try:
        importer.require_import(RESOURCES[args["resource"]](), user, args.get("key") or "")
    except Exception:
        return False
    return True


def _can_action(user: Any, args: dict[str, Any] | None) -> bool:
    """``kit.action`` re-checks the action's own ``can``: a resource's action declared ``job=True``."""
    if args is None:
        return any(s.job and r().can(user, n) for r in RESOURCES.values() for n, s in r.actions.items())
    res = RESOURCES[args["resource"]]()
    spec = res.actions.get(args["action"])
    return spec is not None and spec.job and res.can(user, args["action"])


@job_kind("kit.export", timeout=3600, steps=("export",), label="jobs.kind.export", can=_can_export)
def export_view(ctx: JobContext, resource: str, fmt: str = "csv", sort: str = "", filters: dict[str, str] | None = None,
                search: str = "", trash: bool = False, lang: str = "ru") -> dict[str, Any]:
    """Write what the user's list shows (filters, search, sort, scope) to a file for a reader of
    ``lang`` (headers, labels), then tell them."""
    res = RESOURCES[resource]()
    params = ListParams(sort=sort, filters=dict(filters or {}), search=search, trash=trash)
    try:
        expected = max(1, estimate(ctx.db, base_query(res, ctx.user, params)))
    except Exception:  # an estimate is only for the progress bar
        expected = 1
    path = ctx.result_path(f"{res.slug}.{'xlsx' if fmt == 'xlsx' else 'csv'}")
    ctx.step("export", t("jobs.export.running", lang))

    def progress(n: int) -> None:
        ctx.progress(min(n / expected, 0.99), t("jobs.export.rows", lang, n=n))

    from app.core.resource import ExportContext

    hooks = ExportContext(ctx.db, ctx.user, lang, fmt="xlsx" if fmt == "xlsx" else "csv", run=ctx.run, path=path)
    with told_to_user(lang, "export.crashed"):  # a hook's refusal in the user's words
        hooks.state = res.before_export(hooks, params)
    ctx.db.commit()
    custom = getattr(res, "export_csv", None)
    if fmt != "xlsx" and custom is not None:  # a resource with its own (e.g. COPY-based) CSV export
        n = custom(ctx.db, ctx.user, params, path, lang=lang)
    else:
        n = exporter.export(ctx.db, res, ctx.user, params, path, "xlsx" if fmt == "xlsx" else "csv", progress=progress, lang=lang)
    ctx.db.rollback()  # the export only read; end that transaction before writing the notification
    hooks.rows = n
    with told_to_user(lang, "export.crashed"):
        res.after_export(hooks, ctx.run, path)
    ctx.db.commit()
    notify.to_user(
        ctx.db, ctx.user.id, "job.done",
        title=t("jobs.export.done", lang, what=t(res.label or res.slug, lang), n=n),
        link=f"/api/jobs/{ctx.run.id}/file",
        data={"job_run_id": ctx.run.id},
    )
    ctx.db.commit()
    return {"rows": n, "file": path.name}


@job_kind("kit.import", timeout=6 * 3600, steps=("import",), label="jobs.kind.import", can=_can_import)
def import_file(ctx: JobContext, resource: str, upload: str, mapping: dict[str, str], key: str = "", lang: str = "ru") -> dict[str, Any]:
    """Import an uploaded CSV/XLSX into ``resource`` (see app.core.importer), then tell the user."""

    res = RESOURCES[resource]()
    path = importer.upload_path(ctx.user, upload)
    ctx.step("import", t("jobs.import.counting", lang))

    def progress(done: int, total: int) -> None:
        ctx.progress(done / total if total else 1.0, t("jobs.import.rows", lang, done=done, total=total))

    with told_to_user(lang):  # nothing is written then: run_import commits once, at the end
        result = importer.run_import(ctx.db, res, ctx.user, path, mapping, key, lang,
                                     report_path=lambda: ctx.result_path("errors.csv"), progress=progress)
    what = t(res.label or res.slug, lang)
    notify.to_user(
        ctx.db, ctx.user.id, "job.done",
        title=t("import.done", lang, what=what, created=result.created, updated=result.updated, failed=result.failed),
        link=f"/api/jobs/{ctx.run.id}/file" if result.report else "/admin/jobs",
        data={"job_run_id": ctx.run.id},
    )
    ctx.db.commit()
    out: dict[str, Any] = {"total": result.total, "created": result.created, "updated": result.updated, "failed": result.failed}
    if result.report:
        out["file"] = result.report.name
    return out


#: A bulk action in a job runs this many records per transaction (``MANY_CHUNK`` for set-based ones).
ACTION_CHUNK = 200
MANY_CHUNK = 5000


@job_kind("kit.action", timeout=6 * 3600, steps=("action",), label="jobs.kind.action", can=_can_action)
def bulk_action(ctx: JobContext, resource: str, action: str, ids: list[str] | None = None, view: dict[str, Any] | None = None,
                lang: str = "ru", params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A resource action declared with ``job=True`` on a selection (``ids``) or on every record
    matching a list view (``view``: sort/filters/search/trash, resolved now under the user's scope).

    Records go through ``crud.run_action`` in chunks, each chunk its own transaction (permission
    check per record, audit row, change notice). A chunk that fails is retried record by record, so
    one bad record costs only itself: it is reported (id, title, message) and the rest are done.
    An action declared with ``many=`` (a method name or ``fn(resource, ctx, ids) -> int``) gets
    bigger chunks changed set-based instead.

    Records the user may not see (outside their scope, e.g. a manager's providers) are skipped and
    reported — how many, and up to ``SKIPPED_IDS_LIMIT`` ids — in the result and the notification.
    The counts are exact: what committed is counted, and a run that fails midway says how much it
    applied (in its message, its result and a notification).
    """
    from app.core import crud
    from app.core.errors import PultError
    from app.core.query import pk_column

    res = RESOURCES[resource]()
    spec = res.actions.get(action)
    if spec is None:
        raise JobFailed(f"{resource} has no action {action!r}", retry=False)
    crud.require(res, ctx.user, action)
    from app.core.resource import ActionContext

    parsed = crud.parse_action_params(ctx.db, res, ctx.user, action, params)
    many = set_based(res, spec)
    chunk_size = MANY_CHUNK if many else ACTION_CHUNK
    label = t(spec.label, lang)
    if ids is None:
        view_params = ListParams(**{k: v for k, v in (view or {}).items() if k in ("sort", "filters", "search", "trash")})
        pk = pk_column(res.model)
        ids = [str(i) for i in ctx.db.exec(base_query(res, ctx.user, view_params).with_only_columns(pk).order_by(pk)).all()]
        ctx.db.rollback()
    total = len(ids)
    done = 0
    failures: list[tuple[str, str]] = []
    skipped: list[str] = []

    def summary() -> dict[str, Any]:
        out: dict[str, Any] = {"total": total, "done": done, "failed": len(failures)}
        if skipped:
            out["out_of_scope"] = len(skipped)
            out["out_of_scope_ids"] = skipped[:SKIPPED_IDS_LIMIT]
        return out

    ctx.step("action", label)
    for start in range(0, total, chunk_size):
        ctx.check_cancelled()
        chunk, hidden = _split_by_scope(ctx.db, res, ctx.user, ids[start:start + chunk_size])
        skipped.extend(hidden)
        try:
            if many is not None and chunk:
                # One short transaction per chunk: other writers wait for at most one chunk's row locks.
                changed = many(ActionContext(ctx.db, ctx.user, lang, parsed), chunk)
                ctx.db.commit()
                done += changed
            elif chunk:
                try:
                    crud.run_action(ctx.db, res, ctx.user, action, chunk, lang, params)
                    done += len(chunk)
                except PultError:
                    for one in chunk:
                        try:
                            crud.run_action(ctx.db, res, ctx.user, action, [one], lang, params)
                            done += 1
                        except PultError as exc:
                            failures.append((one, _error_text(exc, lang)))
        except JobCancelled:
            raise
        except Exception as exc:  # this chunk rolled back; the earlier ones stand, and say so
            ctx.db.rollback()
            ctx.partial_result = summary()
            error = _error_text(exc, lang) if isinstance(exc, PultError) else f"{type(exc).__name__}: {exc}"
            message = t("jobs.action.failed_after", lang, action=label, done=done, total=total, error=error)[:480]
            notify.to_user(ctx.db, ctx.user.id, "job.failed", title=message[:200], body=message, link="/admin/jobs", data={"job_run_id": ctx.run.id})
            ctx.db.commit()
            raise JobFailed(message, retry=False) from exc
        ctx.partial_result = summary()
        ctx.progress((start + len(chunk) + len(hidden)) / total if total else 1.0,
                     t("jobs.action.progress", lang, done=done + len(failures) + len(skipped), total=total))
        ctx.flush()  # the row shows what committed, chunk by chunk (a lost worker leaves it exact)
    out = summary()
    if failures:
        path = ctx.result_path("errors.csv")
        with open(path, "w", newline="", encoding="utf-8-sig") as f:
            w = safe_cells.writer(f)
            w.writerow([t("field.id", lang), t("jobs.action.error", lang)])
            w.writerows(failures)
        out["file"] = path.name
    title = t("jobs.action.done", lang, action=label, done=done, failed=len(failures))
    if skipped:
        title += t("jobs.action.skipped", lang, n=len(skipped))
    notify.to_user(
        ctx.db, ctx.user.id, "job.done",
        title=title,
        link=f"/api/jobs/{ctx.run.id}/file" if failures else "/admin/jobs",
        data={"job_run_id": ctx.run.id, **({"out_of_scope_ids": skipped[:SKIPPED_IDS_LIMIT]} if skipped else {})},
    )
    ctx.db.commit()
    return out


def set_based(res: Any, spec: Any) -> Any:
    """The action's declared set-based twin bound to ``res`` (``many=``), or None."""
    if spec.many is None:
        return None
    if isinstance(spec.many, str):
        return getattr(res, spec.many)
    return lambda ctx, ids: spec.many(res, ctx, ids)


def _split_by_scope(db: Any, res: Any, user: Any, ids: list[str]) -> tuple[list[str], list[str]]:
    """``ids`` the user may see (the resource's ``list_query``) and the others, in the given order.
    An id that does not parse or does not exist counts as not visible."""
    from sqlmodel import select

    from app.core.query import parse_pk, pk_column

    parsed: dict[str, Any] = {}
    for i in ids:
        try:
            parsed[i] = parse_pk(res.model, i)
        except (TypeError, ValueError):
            pass
    pk = pk_column(res.model)
    seen = {str(v) for v in db.exec(res.list_query(user, select(pk).where(pk.in_(list(parsed.values()))))).all()} if parsed else set()
    return [i for i in ids if i in parsed and str(parsed[i]) in seen], [i for i in ids if not (i in parsed and str(parsed[i]) in seen)]


def _error_text(exc: Exception, lang: str) -> str:
    from app.core.errors import ValidationFailed

    if isinstance(exc, ValidationFailed):
        return "; ".join(m for m in exc.messages(lang).values() if m) or exc.message(lang)
    return exc.message(lang)  # type: ignore[attr-defined]


def enqueue_action(db: Any, user: Any, resource: str, action: str, ids: list[str] | None = None,
                   view: dict[str, Any] | None = None, lang: str = "ru", params: dict[str, Any] | None = None) -> Any:
    """Start ``kit.action`` after checking that ``user`` may run the action at all (an outage of
    the database or Redis: ``ServiceUnavailable``)."""
    from app.core import crud, jobs

    res = RESOURCES[resource]()
    if action not in res.actions:
        from app.core.errors import NotFound

        raise NotFound()
    crud.require(res, user, action)
    with jobs.outage_as_503():
        crud.parse_action_params(db, res, user, action, params)  # a bad value is refused now, not in the worker
    args: dict[str, Any] = {"resource": resource, "action": action, "lang": lang, "params": dict(params or {})}
    if ids is not None:
        args["ids"] = [str(i) for i in ids]
    else:
        args["view"] = dict(view or {})
    return jobs.enqueue(db, user, "kit.action", args)


# --------------------------------------------------------------------------- pending uploads
@job_kind("files.sweep", timeout=600, perm="admin.backups", label="jobs.kind.files_sweep")
def sweep_files(ctx: JobContext) -> dict[str, Any]:
    """Hourly: delete uploads no record took within PULT_FILES_PENDING_HOURS (app.core.files)."""
    from app.core import files
    from app.core.db import session_scope

    with session_scope() as db:
        return {"deleted": files.sweep_pending(db)}


system_schedule("files:sweep", "files.sweep", os.environ.get("PULT_FILES_SWEEP_CRON", "17 * * * *"))
