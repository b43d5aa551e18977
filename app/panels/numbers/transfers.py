"""Imports and exports of numbers at the scale of seed 004 (a million rows per file, tens of
millions in the table), with their log in ``number_transfer``.

Import: ``Numbers.bulk_import`` declares it (:mod:`app.core.bulk_import`); the kit gives the
page, the API route, the ``numbers.import`` job and :func:`app.core.bulk_import.run_file`, the one
path of uploads and SFTP files (:func:`import_numbers` here), in one transaction:

1. the kit reads the file's phone column with its table reader (:mod:`app.core.tabular`), keeping
   the line where each record starts for the report;
2. the kit normalises every value to E.164 with the phone kind's ``parse_many``
   (:mod:`app.core.kinds.phone`) — the vectorised twin of ``phonenumbers`` (same answers, proven
   on a large sample in its tests);
3. :func:`load_numbers` (the declared loader) drops duplicates inside the file;
4. ``COPY`` the rest into a temporary table, then one ``INSERT … SELECT … ON CONFLICT (phone) DO
   NOTHING`` into ``phone_number``: the unique index itself says which numbers the base already
   holds (only those come back, for the report) — no separate lookup, no race with a concurrent
   insert. Per-row trigger work is replaced by one check and one aggregate row where the database
   allows it (:func:`_bulk_mode`);
5. writes the error file (line, value, reason: invalid / duplicate in the file / already in the
   base); the kit writes the transfer's counts and the audit row and commits. The conversion
   aggregates follow by trigger.

Export (:func:`export_numbers`) runs the list's own scoped, filtered query through PostgreSQL's
``COPY (SELECT …) TO STDOUT`` into the file, so it costs what a bare COPY costs; texts are
neutralised against formula injection in the same SELECT (:mod:`app.core.safe_cells`).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from psycopg import errors as pg_errors
from sqlalchemy import func, literal
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from app.core import (
    SQL_DATESTYLE,
    BulkRun,
    CurrentUser,
    ListParams,
    bus,
    get_record,
    get_resource,
    read_column,
    resolve_sort,
    safe_cells,
    sorted_query,
    title_join,
    visible_query,
)
from app.core import check_bulk_file, run_bulk_file
from app.core.display import TIMEZONE
from app.core.i18n import t
from app.core.errors import PermissionDenied, ValidationFailed
from app.panels.numbers import services
from models.numbers import NumberTransfer, PhoneNumber

#: Header names (any case) taken as the phone column; otherwise the first column is.
PHONE_HEADERS = ("phone", "телефон", "номер", "number", "msisdn", "e164")
Progress = Callable[[float, str], None]


@dataclass
class ImportStats:
    total: int = 0
    accepted: int = 0
    duplicates: int = 0
    invalid: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, value, reason)
    seconds: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- reading
def read_phones(path: Path) -> pd.Series:
    """The file's phone column as strings, indexed by the line where each record starts (the
    kit's bulk reader, :func:`app.core.bulk_import.read_column`, with the numbers declaration)."""
    return read_column(path, _spec())


def check_file(path: Path) -> None:
    """Refuse at upload a file the import would refuse: not a table, or without a data row."""
    check_bulk_file(path, _spec())


def _spec() -> Any:
    return get_resource("numbers.numbers").bulk_import


# --------------------------------------------------------------------------- import
def _pg(db: Session) -> Any:
    """The psycopg connection under the session (same transaction)."""
    return db.connection().connection.driver_connection


def check_targets(db: Session, user: CurrentUser, project_id: int | None, provider_id: int | None, geo_id: int | None) -> None:
    """The project/provider/geo an import assigns must exist and be in the user's scope."""

    errors: dict[str, tuple[str, dict]] = {}
    for name, key, value in (("project_id", "numbers.projects", project_id), ("provider_id", "numbers.providers", provider_id),
                             ("geo_id", "numbers.geo", geo_id)):
        if value is None:
            continue
        try:
            get_record(db, get_resource(key), user, value)
        except PermissionDenied:
            errors[name] = ("error.relation", {})
        except Exception:  # NotFound: missing or out of scope
            errors[name] = ("error.relation", {})
    from app.panels.numbers import scope

    if provider_id is None and not scope.sees_all(user):
        errors["provider_id"] = ("error.required", {})
    if errors:
        raise ValidationFailed(errors)


def _bulk_mode(cur: Any, project_id: int | None, provider_id: int | None, geo_id: int | None, status_id: int) -> bool:
    """Load the batch without per-row trigger work, where the database lets us.

    Every row of a batch references the same project, provider, geo and status, so the foreign-key
    triggers would look the same four rows up a million times, and the aggregate trigger would
    group a million rows into one. Instead: lock those rows FOR KEY SHARE (what the foreign-key
    checks lock: they cannot be deleted until we commit), switch triggers off for this
    transaction (``session_replication_role = replica``, as pg_restore does) and add the one
    aggregate row ourselves (:func:`_count_in_stats`). Unique and check constraints still apply.
    Without the right to do so (not a superuser), returns False and the triggers do the work.
    """
    for table, value in (("project", project_id), ("provider", provider_id), ("geo", geo_id), ("number_status", status_id)):
        if value is not None:
            cur.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE", (value,))
            if cur.fetchone() is None:
                raise ValidationFailed.one(f"{table}_id" if table != "number_status" else "status_id", "error.relation")
    cur.execute("SAVEPOINT bulk_mode")
    try:
        cur.execute("SET LOCAL session_replication_role = replica")
    except pg_errors.InsufficientPrivilege:
        cur.execute("ROLLBACK TO SAVEPOINT bulk_mode")
        return False
    cur.execute("RELEASE SAVEPOINT bulk_mode")
    return True


def _count_in_stats(cur: Any, project_id: int | None, provider_id: int | None, status_id: int, at: str, n: int) -> None:
    """What the aggregate trigger would have added for ``n`` rows of one project/provider/status/time."""
    if not n:
        return
    for table, keys, bucket in (("number_stat", "project_id, provider_id, status_id, day", "(%s::timestamptz AT TIME ZONE 'Europe/Moscow')::date"),
                                ("number_stat_month", "project_id, provider_id, status_id, month",
                                 "date_trunc('month', (%s::timestamptz AT TIME ZONE 'Europe/Moscow')::date)::date")):
        cur.execute(
            f"""INSERT INTO {table} AS s ({keys}, n) VALUES (%s, %s, %s, {bucket}, %s)
                ON CONFLICT ({keys}) DO UPDATE SET n = s.n + EXCLUDED.n""",
            (project_id or 0, provider_id or 0, status_id, at, n),
        )


def import_numbers(
    db: Session,
    user: CurrentUser,
    path: Path,
    *,
    project_id: int | None = None,
    provider_id: int | None = None,
    geo_id: int | None = None,
    status_id: int | None = None,
    transfer: NumberTransfer | None = None,
    error_path: Path | None = None,
    progress: Progress | None = None,
    lang: str = "ru",
) -> ImportStats:
    """Import the numbers of ``path`` through the resource's declared bulk import (the kit's
    :func:`app.core.bulk_import.run_file`: permission, targets, reading, E.164, then
    :func:`load_numbers`, the transfer's counts and the audit row); commits once at the end."""
    params = {"project_id": project_id, "provider_id": provider_id, "geo_id": geo_id, "status_id": status_id}
    out = run_bulk_file(db, get_resource("numbers.numbers")(), user, path, params, log_row=transfer, error_path=error_path,
                        progress=progress, lang=lang)
    return ImportStats(total=out["total"], accepted=out["accepted"], duplicates=out["duplicates"], invalid=out["invalid"],
                       seconds=out["seconds"])


def check_import(db: Session, user: CurrentUser, params: dict[str, Any]) -> None:
    """The declaration's ``check``: the targets exist and are in the user's scope."""
    check_targets(db, user, params.get("project_id"), params.get("provider_id"), params.get("geo_id"))


def load_numbers(b: BulkRun) -> dict[str, int]:
    """The set-based loader of the declaration (see the module docstring, steps 3–5): ``b.values``
    are the file's numbers in E.164 (None: invalid), indexed by line. Writes, does not commit."""
    import time

    db, stats = b.db, ImportStats()
    project_id, provider_id, geo_id = (b.params.get(k) for k in ("project_id", "provider_id", "geo_id"))
    status_id = b.params.get("status_id") or services.default_status_id(db)
    raw, e164 = b.raw, b.values
    stats.total = len(raw)
    t2 = time.perf_counter()

    b.progress(0.45, "dedupe")
    bad = e164.isna()
    stats.invalid = int(bad.sum())
    good = e164[~bad]
    dup_in_file = good.duplicated(keep="first")
    candidates = good[~dup_in_file]
    t3 = time.perf_counter()
    b.seconds["dedupe"] = t3 - t2

    b.progress(0.6, "write")
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    columns = "phone, project_id, provider_id, geo_id, status_id, created_at, status_changed_at"
    conn = _pg(db)
    in_base_phones: list[str] = []
    with conn.cursor() as cur:
        bulk = len(candidates) > 0 and _bulk_mode(cur, project_id, provider_id, geo_id, status_id)
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS number_import_batch (phone text) ON COMMIT DROP")
        if len(candidates):
            # In index order: the unique index on phone (and the pages it touches) is then walked
            # once from left to right instead of at a million random places (about 12 % faster
            # at 10M rows, docs/benchmarks.md). A temporary table is read back in the order
            # written (local buffers: no synchronised scans).
            ordered = np.sort(candidates.to_numpy(dtype=str))
            with cur.copy("COPY number_import_batch (phone) FROM STDIN") as copy:
                copy.write(("\n".join(ordered.tolist()) + "\n").encode())
            # The unique index decides, atomically, which numbers are new: no separate lookup of a
            # million numbers, and no race with a concurrent insert. Only the refused come back.
            cur.execute(
                f"""WITH ins AS (
                        INSERT INTO phone_number ({columns})
                        SELECT phone, %s, %s, %s, %s, %s, %s FROM number_import_batch
                        ON CONFLICT (phone) DO NOTHING RETURNING phone)
                    SELECT b.phone FROM number_import_batch b LEFT JOIN ins USING (phone) WHERE ins.phone IS NULL""",
                (project_id, provider_id, geo_id, status_id, now, now),
            )
            in_base_phones = [r[0] for r in cur.fetchall()]
        cur.execute("DROP TABLE number_import_batch")
        accepted = len(candidates) - len(in_base_phones)
        if bulk:
            cur.execute("SET LOCAL session_replication_role = origin")
            _count_in_stats(cur, project_id, provider_id, status_id, now, accepted)
    in_base = candidates.isin(set(in_base_phones)) if in_base_phones else pd.Series(False, index=candidates.index)
    stats.accepted = accepted
    stats.duplicates = int(dup_in_file.sum()) + len(in_base_phones)
    t4 = time.perf_counter()
    b.seconds["write"] = t4 - t3

    b.progress(0.9, "report")
    if b.error_path is not None and (stats.invalid or stats.duplicates):
        _write_errors(b.error_path, raw, bad, good, dup_in_file, candidates, in_base, b.lang)
    b.seconds["report"] = time.perf_counter() - t4
    return {"total": stats.total, "accepted": stats.accepted, "duplicates": stats.duplicates, "invalid": stats.invalid}


#: Columns of the error report: (machine name, label key).
REPORT_COLUMNS = (("line", "numbers.report.line"), ("value", "numbers.report.value"), ("e164", "numbers.report.e164"),
                  ("reason", "numbers.report.reason"))


def _write_errors(path: Path, raw: pd.Series, bad: pd.Series, good: pd.Series, dup_in_file: pd.Series,
                  candidates: pd.Series, in_base: pd.Series, lang: str = "ru") -> None:
    """Line, value as written in the file, its E.164 form, reason — sorted by line, in the
    user's language, cells neutralised (the values come from an uploaded file)."""
    def part(lines: Any, e164: Any, reason: str) -> pd.DataFrame:
        return pd.DataFrame({"line": lines, "value": raw.loc[lines].to_numpy(), "e164": e164,
                             "reason": t(f"numbers.reason.{reason}", lang)})

    frame = pd.concat([
        part(raw.index[bad.to_numpy()], "", "invalid"),
        part(good.index[dup_in_file.to_numpy()], good[dup_in_file].to_numpy(), "duplicate_in_file"),
        part(candidates.index[in_base.to_numpy()], candidates[in_base].to_numpy(), "already_in_base"),
    ]).sort_values("line")
    frame["value"] = frame["value"].map(safe_cells.neutralise)
    frame.columns = [t(label, lang) for _name, label in REPORT_COLUMNS]
    frame.to_csv(path, index=False, encoding="utf-8-sig", quoting=csv.QUOTE_ALL)


# --------------------------------------------------------------------------- export
EXPORT_COLUMNS = ("phone", "status", "project", "provider", "geo", "created_at", "status_changed_at")
#: Header labels of an export for people (``lang`` given); SFTP files keep :data:`EXPORT_COLUMNS`.
EXPORT_LABELS = ("numbers.export.phone", "numbers.status", "numbers.project", "numbers.provider", "numbers.geo",
                 "numbers.export.created_at", "numbers.status_changed_at")


def export_query(user: CurrentUser, params: ListParams, lang: str | None = None) -> Any:
    """The list's query (scope, filters, search) with names instead of ids, sorted like the list.

    Texts are neutralised in SQL (:func:`app.core.safe_cells.sql_neutralise`: a project named
    ``=HYPERLINK(…)`` cannot become a formula) so that ``COPY`` still writes the file. With
    ``lang`` (a file for people) statuses are named in that language and times are local
    (``PULT_TIMEZONE``) without fractions of a second; without it (SFTP) the times keep their
    offset, as partners have always read them.
    """
    res = get_resource("numbers.numbers")()
    stmt = visible_query(res, user, params)
    # Names through the kit's relation columns: a LEFT JOIN to what the user may see of each
    # related table (``#<id>`` for the rest), as the list shows them.
    names = {}
    for name in ("status_id", "project_id", "provider_id", "geo_id"):
        stmt, names[name] = title_join(stmt, res, user, name, lang or "ru", wrap=safe_cells.sql_neutralise)
    sort_name, desc = resolve_sort(res, params.sort)
    stmt, order = sorted_query(res, user, stmt, sort_name, desc, lang or "ru")
    safe = safe_cells.sql_neutralise

    def moment(column: Any) -> Any:
        if lang is None:
            return column
        return func.date_trunc("second", column.op("AT TIME ZONE")(literal(TIMEZONE.key)))  # ISO under SQL_DATESTYLE

    return stmt.with_only_columns(
        safe(PhoneNumber.phone).label("phone"),
        names["status_id"].label("status"),
        names["project_id"].label("project"),
        names["provider_id"].label("provider"),
        names["geo_id"].label("geo"),
        moment(PhoneNumber.created_at).label("created_at"),
        moment(PhoneNumber.status_changed_at).label("status_changed_at"),
        maintain_column_froms=True,
    ).order_by(*order)


def export_numbers(db: Session, user: CurrentUser, params: ListParams, path: Path, lang: str | None = None) -> int:
    """Write the view to ``path`` as CSV (UTF-8 with BOM, so Excel reads it) via COPY; returns rows.

    ``lang`` makes a file for people (headers and statuses in that language, local times); without
    it the format of the SFTP exchange (``docs/integrations/sftp.md``). Either way every field is
    quoted and texts are neutralised (:mod:`app.core.safe_cells`), and the file appears under
    its name only when complete.
    """
    if not get_resource("numbers.numbers")().can(user, "view"):
        raise PermissionDenied()
    stmt = export_query(user, params, lang)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    header = list(EXPORT_COLUMNS) if lang is None else [t(label, lang) for label in EXPORT_LABELS]
    conn = _pg(db)
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        safe_cells.writer(f).writerow(header)
    with open(path, "ab") as out, conn.cursor() as cur:
        cur.execute(f"SET LOCAL TIME ZONE '{TIMEZONE.key}'")
        cur.execute(SQL_DATESTYLE)
        with cur.copy(f"COPY ({sql}) TO STDOUT WITH ({safe_cells.COPY_CSV})") as copy:
            for chunk in copy:
                out.write(chunk)
        n = cur.rowcount
    db.rollback()
    return n


def close_open_transfers(db: Session, run: Any, status: Any, cause: str, transfer_id: int | None = None) -> list[int]:
    """Bring the history rows of a job run that ended badly to a final state (an end hook, see
    ``app.core.jobs.on_run_end``): every transfer still ``queued``/``running`` that the run wrote
    (``job_run_id``) or was started for (``transfer_id``) becomes ``cancelled`` or ``failed`` with
    the reason in the run's language. When only an attempt ended and the run will be retried
    (``status`` queued), the row the run was started for waits as ``queued`` instead (the next
    attempt picks it up); rows the attempt wrote itself are closed. Final rows are left alone."""
    from sqlalchemy import and_, func, or_, update

    from app.core.i18n import t

    retried = getattr(status, "value", status) == "queued"
    error = (run.message or next(iter((run.error or "").strip().splitlines()), ""))[:300]
    message = t(f"numbers.transfer_end.{cause}", str((run.args or {}).get("lang") or "ru"), run=run.id, error=error)[:2000]
    closed = "cancelled" if cause == "cancelled" else "failed"
    mine = NumberTransfer.job_run_id == run.id
    started_for = NumberTransfer.id == transfer_id if isinstance(transfer_id, int) else None
    plans = [(and_(mine, ~started_for) if started_for is not None else mine, closed), (started_for, "queued")] if retried else \
        [(or_(mine, started_for) if started_for is not None else mine, closed)]
    ids: list[int] = []
    for which, new_status in plans:
        if which is None:
            continue
        ids += [r[0] for r in db.execute(
            update(NumberTransfer)
            .where(which, NumberTransfer.status.in_(("queued", "running")))
            .values(status=new_status, message=message, finished_at=None if new_status == "queued" else func.now(),
                    job_run_id=func.coalesce(NumberTransfer.job_run_id, run.id))
            .returning(NumberTransfer.id)
        ).all()]
    if ids:
        bus.mark(db, "number_transfer", ids, "update")
    return ids


def start_transfer(db: Session, user: CurrentUser, direction: str, source: str, filename: str | None, **links: Any) -> NumberTransfer:
    row = NumberTransfer(direction=direction, source=source, filename=filename, status="queued", user_id=user.id, **links)
    db.add(row)
    db.flush()
    return row


