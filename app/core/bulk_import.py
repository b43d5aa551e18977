"""Bulk import as a declaration: millions of rows of one column, loaded set-based.

The kit's row-by-row import (:mod:`app.core.importer`) writes every row through the form's
services — right for a few thousand products, far too slow for a million phone numbers. A
resource whose files are one big column declares a :class:`BulkImport` instead::

    class Numbers(Resource, model=PhoneNumber):
        bulk_import = BulkImport(
            key="phone", headers=("phone", "телефон", "номер"),
            normalise=kind_named("phone").parse_many,      # vectorised: a column in, a column out
            params=[fields.relation("project_id", "numbers.projects"), ...],
            check=transfers.check_targets,                  # are the chosen targets in scope?
            run=transfers.load_numbers,                     # the panel's set-based loader (COPY)
            log=NumberTransfer, log_values={"direction": "import"},
            sources=("upload", "sftp"), job="numbers.import", perm="numbers.import", url="/numbers/import",
        )

and the kit gives, from that one declaration:

* the import page (``<resource url>/import``, and ``url`` when given): the same upload handler as
  every import (:class:`app.core.ui.import_page.ImportState`), then the ``params`` pickers and a
  start button; the job's progress and error report on the same page;
* the API route ``POST /api/<panel>/<slug>/import`` (multipart: the file and the ``params``),
  202 with the job id and the log row's id;
* the job kind ``job`` (:func:`start` enqueues it) with a progress bar by step, the log row moved
  through ``queued → running → done / failed``, the user's notification;
* :func:`run_file`, the one path every source takes (the job for uploads, the numbers panel's
  SFTP pull for each remote file): permission, ``check``, the column read with the kit's table
  reader (:func:`read_column`), normalised in one vectorised call, then ``run`` — and the log
  row's counts, the audit row and one change notice, committed once.

The loader ``run(b: BulkRun) -> dict`` gets the raw column and its normalised twin (a pandas Series
indexed by the line where each record starts; ``None`` where the value is invalid) and returns
its counts (``total``, ``accepted``...; those that are columns of the log model are written there).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from app.core import audit, bus, i18n, tabular
from app.core.errors import PermissionDenied, PultError, ValidationFailed
from app.core.principal import CurrentUser
from app.core.resource import FormField

log = logging.getLogger("pult.bulk_import")

i18n.register({
    "bulk.not_declared": ("Для этого раздела нет массовой загрузки", "This section has no bulk import"),
    "bulk.step.read": ("Чтение файла", "Reading the file"),
    "bulk.step.normalise": ("Приведение значений", "Normalising the values"),
    "bulk.step.write": ("Запись", "Writing"),
    "bulk.step.report": ("Отчёт", "Report"),
    "bulk.step.done": ("Готово", "Done"),
    "bulk.done": ("Загрузка: всего {total}", "Import: {total} rows"),
    "bulk.no_file": ("Сначала загрузите файл", "Upload a file first"),
})
Progress = Callable[[float, str], None]
#: Where a file can come from; a declaration names the ones it uses.
SOURCES = ("upload", "sftp")


@dataclass(frozen=True)
class BulkImport:
    """A resource's bulk importer (see the module docstring)."""

    #: The model field the file's column fills (its values, normalised).
    key: str
    #: Vectorised normaliser: an array of raw strings in, the same number of values out (``None`` =
    #: invalid). A field kind's ``parse_many`` or any callable over a pandas Series / numpy array.
    normalise: Callable[[Any], Any]
    #: The panel's set-based loader, ``run(b: BulkRun) -> dict`` of counts.
    run: Callable[[BulkRun], dict[str, Any]]
    #: What the upload asks for besides the file (relation or select fields), given to ``run``
    #: (``b.params``) and to ``check``.
    params: tuple[FormField, ...] = ()
    #: ``check(db, user, params)`` raises ``ValidationFailed`` (by field) for targets out of scope.
    check: Callable[[Session, CurrentUser, dict[str, Any]], None] | None = None
    #: Header names (any case) taken as the column; otherwise the first column is. A one-column file
    #: whose first cell normalises is taken to have no header.
    headers: tuple[str, ...] = ()
    #: One row per file: a model with ``status``, ``filename``, ``source``, ``user_id``,
    #: ``job_run_id``, ``message``, ``finished_at``; params and counts that are its columns are set.
    log: Any = None
    #: Constants on every log row (``{"direction": "import"}``).
    log_values: Mapping[str, Any] = field(default_factory=dict)
    #: The job argument that carries the log row's id.
    log_arg: str = "log_id"
    sources: tuple[str, ...] = ("upload",)
    #: The job kind's name; the kit registers it when the declaration is made.
    job: str = ""
    #: A permission needed besides ``create`` on the resource.
    perm: str | None = None
    #: Another address of the import page (the list's "Import" button leads there).
    url: str | None = None
    #: The job's steps, each labelled ``<step_prefix>.<step>`` in the catalogue.
    steps: tuple[str, ...] = ("read", "normalise", "write", "report")
    step_prefix: str = "bulk.step"
    #: Labels (i18n keys): the job kind, the page's title and help, the finished import (formatted
    #: with the counts), the report's download button.
    label: str = "jobs.kind.import"
    title: str = ""
    help: str = ""
    done: str = "bulk.done"
    report: str = "import.report"
    #: The drop zone's text, and a hint beside the start button ("" none).
    drop: str = "import.drop"
    hint: str = ""
    #: Whether a run's result has a report file worth a link (default: any rejected row).
    has_report: Callable[[dict[str, Any]], bool] = lambda result: bool(result.get("invalid") or result.get("duplicates"))
    #: Where the notification leads when there is no report.
    link: str = "/admin/jobs"
    timeout: int = 3 * 3600

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))
        unknown = set(self.sources) - set(SOURCES)
        if unknown:
            raise ValueError(f"BulkImport: unknown sources {sorted(unknown)}; known: {SOURCES}")

    def __set_name__(self, owner: type, name: str) -> None:
        """Declared on a resource: remember it and register its job kind (the worker imports the
        panels too, so the kind exists wherever a run can land)."""
        object.__setattr__(self, "owner", owner)
        if self.job:
            _register_job(owner, self)


@dataclass
class BulkRun:
    """What the loader gets: the open transaction, who imports, the file, the raw column and its
    normalised twin (same index: the line where each record starts), the params, the log row."""

    db: Session
    user: CurrentUser
    path: Path
    params: dict[str, Any]
    raw: Any
    values: Any
    log: Any = None
    error_path: Path | None = None
    progress: Progress = lambda _f, _s: None
    lang: str = "ru"
    #: Seconds per phase (read and normalise filled by the kit; the loader adds its own).
    seconds: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- reading
def _column(spec: BulkImport, header: list[str]) -> int:
    names = {h.casefold() for h in spec.headers}
    return next((i for i, c in enumerate(header) if str(c).strip().casefold() in names), 0)


def _no_header(spec: BulkImport, first: list[str]) -> bool:
    """A one-column file whose first row is itself a value has no header."""
    if len(first) != 1:
        return False
    out = spec.normalise([str(first[0])])
    return out[0] is not None and out[0] == out[0]  # not None, not NaN


def read_column(path: Path, spec: BulkImport) -> Any:
    """The file's ``key`` column as strings (a pandas Series), indexed by the line where each record
    starts (header = line 1; XLSX: the row), read by the kit's table reader (:mod:`app.core.tabular`)."""
    import numpy as np
    import pandas as pd

    values: list[str] = []
    lines: list[int] = []
    try:
        records = tabular.records(path)
        first = next(records, None)
        if first is None:
            raise ValidationFailed.one("file", "import.empty")
        _line, header = first
        if _no_header(spec, header):
            col = 0
            values.append(header[0])
            lines.append(first[0])
        else:
            col = _column(spec, header)
        add_value, add_line = values.append, lines.append
        for line, row in records:
            add_value(row[col] if col < len(row) else "")
            add_line(line)
    except PultError:
        raise
    except Exception:  # what the checks did not foresee: a message for the user, details in the log
        log.warning("bulk import: %s could not be read", path.name, exc_info=True)
        raise ValidationFailed.one("file", "import.unreadable") from None
    if not values:
        raise ValidationFailed.one("file", "import.empty")
    return pd.Series(values, index=np.array(lines, dtype=np.int64), dtype=object)


def check_file(path: Path, spec: BulkImport) -> None:
    """Refuse at upload a file the import would refuse: not a table, or without a data row."""
    records = tabular.records(path)
    first = next(records, None)
    if first is None:
        raise ValidationFailed.one("file", "import.empty")
    if next(records, None) is None and not _no_header(spec, first[1]):
        raise ValidationFailed.one("file", "import.empty")


def normalise(spec: BulkImport, raw: Any) -> Any:
    """The column normalised in one vectorised call, as a Series on the same index."""
    import pandas as pd

    return pd.Series(spec.normalise(raw.to_numpy(dtype=object)), index=raw.index, dtype=object)


# --------------------------------------------------------------------------- rules
def spec_of(res: Any) -> BulkImport:
    spec = getattr(res, "bulk_import", None)
    if spec is None:
        raise ValidationFailed.one("", "bulk.not_declared")
    return spec


def may_import(res: Any, user: CurrentUser) -> bool:
    spec = getattr(res, "bulk_import", None)
    return spec is not None and "create" in res.operations and res.can(user, "create") and (spec.perm is None or user.has_perm(spec.perm))


def require(res: Any, user: CurrentUser) -> BulkImport:
    spec = spec_of(res)
    if not may_import(res, user):
        raise PermissionDenied()
    return spec


def parse_params(db: Session, res: Any, user: CurrentUser, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The declared params from strings (a form, a page's pickers): ids as ints, empty as None;
    then the declaration's ``check``. Refused values come back by field."""
    spec = require(res, user)
    values: dict[str, Any] = {}
    errors: dict[str, tuple[str, dict]] = {}
    for p in spec.params:
        value = raw.get(p.name)
        value = None if value in (None, "") else value
        if value is not None and p.kind in ("relation", "int"):
            try:
                value = int(value)
            except (TypeError, ValueError):
                errors[p.name] = ("error.relation", {})
                continue
            if not 0 < value < 2**63:
                errors[p.name] = ("error.relation", {})
                continue
        if value is None and p.required:
            errors[p.name] = ("error.required", {})
        values[p.name] = value
    if errors:
        raise ValidationFailed(errors)
    if spec.check is not None:
        spec.check(db, user, values)
    return values


# --------------------------------------------------------------------------- starting
def start(db: Session, res: Any, user: CurrentUser, upload: str, filename: str, params: Mapping[str, Any],
          lang: str = "ru", source: str = "upload") -> tuple[Any, Any]:
    """Check and queue the import of an uploaded file (its token): params parsed and checked, the
    log row written (``queued``), the job enqueued. Returns (job run, log row or None)."""
    from app.core import jobs
    from app.core.importer import upload_path

    spec = require(res, user)
    values = parse_params(db, res, user, params)
    check_file(upload_path(user, upload), spec)  # a header without values: said now, not by a job that finds nothing
    row = open_log(db, spec, user, source, filename, values)
    args: dict[str, Any] = {"upload": upload, **values, "lang": lang}
    if row is not None:
        args[spec.log_arg] = row.id
    return jobs.enqueue(db, user, spec.job, args), row


def open_log(db: Session, spec: BulkImport, user: CurrentUser, source: str, filename: str | None, params: Mapping[str, Any],
             **extra: Any) -> Any:
    """A ``queued`` log row for one file (flushed, not committed); None without a log model."""
    if spec.log is None:
        return None
    fields_ = spec.log.model_fields
    values = {k: v for k, v in params.items() if k in fields_}
    row = spec.log(**dict(spec.log_values), source="file" if source == "upload" else source, filename=filename, status="queued",
                   user_id=user.id, **values, **extra)
    db.add(row)
    db.flush()
    return row


# --------------------------------------------------------------------------- the import itself
def run_file(db: Session, res: Any, user: CurrentUser, path: Path, params: Mapping[str, Any], *, log_row: Any = None,
             error_path: Path | None = None, progress: Progress | None = None, lang: str = "ru", source: str = "upload") -> dict[str, Any]:
    """Import one file from ``source`` (one the declaration names) through the resource's
    declaration; commits once at the end. Returns the loader's counts, with ``seconds`` per phase."""
    spec = require(res, user)
    if source not in spec.sources:
        raise ValueError(f"{res.key()}: bulk import from {source!r} is not declared (sources={spec.sources})")
    values = dict(params)
    if spec.check is not None:
        spec.check(db, user, values)
    say = progress or (lambda _f, _s: None)
    t0 = time.perf_counter()
    say(0.05, "read")
    raw = read_column(path, spec)
    t1 = time.perf_counter()
    say(0.2, "normalise")
    normalised = normalise(spec, raw)
    b = BulkRun(db, user, path, values, raw, normalised, log_row, error_path, say, lang,
                {"read": t1 - t0, "normalise": time.perf_counter() - t1})
    result = dict(spec.run(b))
    if log_row is not None:
        for name, value in result.items():
            if name in spec.log.model_fields and name not in ("id", "status"):
                setattr(log_row, name, value)
        log_row.status, log_row.finished_at = "done", dt.datetime.now(dt.timezone.utc)
        db.add(log_row)
        bus.mark(db, spec.log.__tablename__, [log_row.id], "update")
    audit.record(db, user, "import", res.key(), None, {"file": path.name, **values, **{k: v for k, v in result.items() if isinstance(v, int)}})
    bus.mark(db, res.model.__tablename__, [], "import")
    t2 = time.perf_counter()
    db.commit()
    b.seconds["report"] = b.seconds.get("report", 0.0) + time.perf_counter() - t2
    say(1.0, "done")
    result["seconds"] = b.seconds
    return result


def _register_job(owner: type, spec: BulkImport) -> None:
    from app.core.i18n import t
    from app.core.jobs import JobCancelled, JobContext, JobFailed, job_kind
    from app.core import notify

    def can(user: CurrentUser, args: dict[str, Any] | None) -> bool:
        """Never offered for schedules: each run belongs to one upload (and log row)."""
        return args is not None and may_import(owner(), user)

    def failed(ctx: JobContext, log_id: Any, exc: BaseException, lang: str) -> None:
        """The failure on the log row, in words its reader understands (never a catalogue key)."""
        if isinstance(exc, JobFailed):
            message = str(exc)
        elif isinstance(exc, JobCancelled):
            message = t("jobs.status.cancelled", lang)
        else:
            message = t("import.crashed", lang)
        ctx.db.rollback()
        row = ctx.db.get(spec.log, log_id) if spec.log is not None and log_id is not None else None
        if row is not None:
            row.status, row.message, row.finished_at = "failed", message[:2000], dt.datetime.now(dt.timezone.utc)
            ctx.db.commit()

    def bulk_import_job(ctx: JobContext, upload: str, lang: str = "ru", **args: Any) -> dict[str, Any]:
        from app.core.importer import upload_path
        from app.core.kit_jobs import told_to_user

        res = owner()
        log_id = args.pop(spec.log_arg, None)
        params = {p.name: args.get(p.name) for p in spec.params}
        row = None
        if spec.log is not None and log_id is not None:
            row = ctx.db.get(spec.log, log_id)
            if row is None:
                raise JobFailed(f"{spec.log.__tablename__} {log_id} is gone", retry=False)
            row.status, row.job_run_id, row.message = "running", ctx.run.id, None  # a retried attempt starts afresh
            ctx.db.commit()

        def progress(fraction: float, step: str) -> None:
            ctx.progress(fraction, t(f"{spec.step_prefix}.{step}", lang), step=step if step in ctx.kind.steps else None)

        try:
            with told_to_user(lang):  # the file's problem in the user's words; a bug's traceback to the log only
                result = run_file(ctx.db, res, ctx.user, upload_path(ctx.user, upload), params, log_row=row,
                                  error_path=ctx.result_path("errors.csv"), progress=progress, lang=lang)
        except Exception as exc:
            failed(ctx, log_id, exc, lang)
            raise
        seconds = result.pop("seconds", {})
        notify.to_user(ctx.db, ctx.user.id, "job.done", title=t(spec.done, lang, **{k: v for k, v in result.items()}),
                       link=f"/api/jobs/{ctx.run.id}/file" if spec.has_report(result) else spec.link, data={"job_run_id": ctx.run.id})
        ctx.db.commit()
        return {**result, "seconds": {k: round(v, 3) for k, v in seconds.items()}}

    job_kind(spec.job, timeout=spec.timeout, steps=spec.steps, label=spec.label, can=can)(bulk_import_job)


__all__ = ["BulkImport", "BulkRun", "SOURCES", "check_file", "may_import", "normalise", "open_log", "parse_params", "read_column",
           "require", "run_file", "spec_of", "start"]
