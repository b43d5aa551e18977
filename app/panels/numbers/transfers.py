"""Imports and exports of numbers at the scale of seed 004 (a million rows per file, tens of
millions in the table), with their log in ``number_transfer``.

Import (:func:`import_numbers`), one transaction:

1. read the file's phone column (pandas' C reader for CSV, openpyxl for XLSX);
2. normalise every value to E.164 with :func:`app.panels.numbers.phones.normalise_many` — the
   vectorised twin of ``phonenumbers`` (same answers, proven on a large sample in its tests);
3. drop duplicates inside the file, then the numbers the table already holds (one ``= ANY``
   lookup on the unique index);
4. ``COPY`` the new rows straight into ``phone_number`` from a buffer built column-wise, inside a
   savepoint. If a concurrent writer inserted one of the numbers in between (unique violation),
   the savepoint is rolled back and the rows go through a temporary table with
   ``INSERT … ON CONFLICT DO NOTHING`` instead, so the count stays right;
5. write the error file (line, value, reason: invalid / duplicate in the file / already in the
   base) and the transfer's counts; commit. The conversion aggregates follow by trigger.

Export (:func:`export_numbers`) runs the list's own scoped, filtered query through PostgreSQL's
``COPY (SELECT …) TO STDOUT`` into the file, so it costs what a bare COPY costs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from psycopg import errors as pg_errors
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from app.core import audit, bus
from app.core.auth import CurrentUser
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.query import ListParams, base_query, resolve_sort
from app.core.registry import RESOURCES
from app.panels.numbers import services
from app.panels.numbers.phones import normalise_many
from models.numbers import Geo, NumberStatus, NumberTransfer, PhoneNumber, Project, Provider

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
    """The file's phone column as strings (index = line number in the file, header = line 1)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=str, engine="openpyxl")
        else:
            frame = _read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValidationFailed.one("file", "import.unreadable", why=type(exc).__name__) from None
    if frame.shape[1] == 0:
        raise ValidationFailed.one("file", "import.empty")
    column = next((c for c in frame.columns if str(c).strip().casefold() in PHONE_HEADERS), frame.columns[0])
    phones = frame[column]
    phones.index = np.arange(2, len(phones) + 2)
    return phones


def _read_csv(path: Path) -> pd.DataFrame:
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    encoding = "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        encoding = "cp1251"
    sample = head.decode(encoding, errors="ignore")
    first = sample.splitlines()[0] if sample else ""
    sep = max((";", ",", "\t"), key=first.count) if any(d in first for d in ";,\t") else ","
    frame = pd.read_csv(path, dtype=str, sep=sep, encoding=encoding, keep_default_na=False, skip_blank_lines=True, engine="c")
    # A one-column file whose header is itself a phone number has no header at all.
    if frame.shape[1] == 1 and normalise_many([str(frame.columns[0])])[0] is not None:
        frame = pd.read_csv(path, dtype=str, sep=sep, encoding=encoding, keep_default_na=False, header=None, names=["phone"], engine="c")
        frame.index = frame.index - 1  # so that line numbers still start at the file's first line
    return frame


# --------------------------------------------------------------------------- import
def _pg(db: Session) -> Any:
    """The psycopg connection under the session (same transaction)."""
    return db.connection().connection.driver_connection


def check_targets(db: Session, user: CurrentUser, project_id: int | None, provider_id: int | None, geo_id: int | None) -> None:
    """The project/provider/geo an import assigns must exist and be in the user's scope."""
    from app.core import crud

    errors: dict[str, tuple[str, dict]] = {}
    for name, key, value in (("project_id", "numbers.projects", project_id), ("provider_id", "numbers.providers", provider_id),
                             ("geo_id", "numbers.geo", geo_id)):
        if value is None:
            continue
        try:
            crud.get_record(db, RESOURCES[key], user, value)
        except PermissionDenied:
            errors[name] = ("error.relation", {})
        except Exception:  # NotFound: missing or out of scope
            errors[name] = ("error.relation", {})
    from app.panels.numbers import scope

    if provider_id is None and not scope.sees_all(user):
        errors["provider_id"] = ("error.required", {})
    if errors:
        raise ValidationFailed(errors)


def existing_phones(conn: Any, phones: list[str]) -> set[str]:
    """Which of ``phones`` the table holds already (one lookup on the unique index)."""
    with conn.cursor() as cur:
        cur.execute("SELECT phone FROM phone_number WHERE phone = ANY(%s)", (phones,))
        return {r[0] for r in cur.fetchall()}


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
) -> ImportStats:
    """Import the numbers of ``path`` (see the module docstring); commits once at the end."""
    import time

    if not user.has_perm("numbers.import") or not RESOURCES["numbers.numbers"]().can(user, "create"):
        raise PermissionDenied()
    check_targets(db, user, project_id, provider_id, geo_id)
    status_id = status_id or services.default_status_id(db)
    stats = ImportStats()
    say = progress or (lambda _f, _m: None)
    t0 = time.perf_counter()

    say(0.05, "read")
    raw = read_phones(path)
    stats.total = len(raw)
    t1 = time.perf_counter()
    stats.seconds["read"] = t1 - t0

    say(0.2, "normalise")
    e164 = pd.Series(normalise_many(raw.to_numpy(dtype=object)), index=raw.index, dtype=object)
    t2 = time.perf_counter()
    stats.seconds["normalise"] = t2 - t1

    say(0.45, "dedupe")
    bad = e164.isna()
    stats.invalid = int(bad.sum())
    good = e164[~bad]
    dup_in_file = good.duplicated(keep="first")
    candidates = good[~dup_in_file]
    conn = _pg(db)
    existing = existing_phones(conn, candidates.tolist())
    in_base = candidates.isin(existing) if existing else pd.Series(False, index=candidates.index)
    new = candidates[~in_base]
    t3 = time.perf_counter()
    stats.seconds["dedupe"] = t3 - t2

    say(0.6, "write")
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    tail = "\t" + "\t".join(["\\N" if v is None else str(v) for v in (project_id, provider_id, geo_id, status_id)] + [now, now]) + "\n"
    columns = "phone, project_id, provider_id, geo_id, status_id, created_at, status_changed_at"
    payload = (tail.join(new.tolist()) + tail) if len(new) else ""
    accepted = len(new)
    with conn.cursor() as cur:
        cur.execute("SAVEPOINT number_import")
        try:
            if payload:
                with cur.copy(f"COPY phone_number ({columns}) FROM STDIN") as copy:
                    copy.write(payload.encode())
            cur.execute("RELEASE SAVEPOINT number_import")
        except pg_errors.UniqueViolation:
            # Someone inserted one of these numbers since the lookup: the careful way, same result.
            cur.execute("ROLLBACK TO SAVEPOINT number_import")
            cur.execute("CREATE TEMP TABLE number_import_batch (phone text) ON COMMIT DROP")
            with cur.copy("COPY number_import_batch (phone) FROM STDIN") as copy:
                copy.write(("\n".join(new.tolist()) + "\n").encode())
            cur.execute(
                f"""WITH ins AS (INSERT INTO phone_number ({columns})
                       SELECT phone, %s, %s, %s, %s, %s, %s FROM number_import_batch ON CONFLICT (phone) DO NOTHING RETURNING 1)
                    SELECT count(*) FROM ins""",
                (project_id, provider_id, geo_id, status_id, now, now),
            )
            accepted = cur.fetchone()[0]
    stats.accepted = accepted
    stats.duplicates = int(dup_in_file.sum()) + int(in_base.sum()) + (len(new) - accepted)
    t4 = time.perf_counter()
    stats.seconds["write"] = t4 - t3

    say(0.9, "report")
    if error_path is not None and (stats.invalid or stats.duplicates):
        _write_errors(error_path, raw, bad, good, dup_in_file, candidates, in_base)
    if transfer is not None:
        transfer.total, transfer.accepted, transfer.duplicates, transfer.invalid = stats.total, stats.accepted, stats.duplicates, stats.invalid
        transfer.status, transfer.finished_at = "done", dt.datetime.now(dt.timezone.utc)
        db.add(transfer)
        bus.mark(db, "number_transfer", [transfer.id], "update")
    audit.record(db, user, "import", "numbers.numbers", None, {
        "file": path.name, "project_id": project_id, "provider_id": provider_id, "geo_id": geo_id,
        "total": stats.total, "accepted": stats.accepted, "duplicates": stats.duplicates, "invalid": stats.invalid,
    })
    bus.mark(db, "phone_number", [], "import")
    db.commit()
    stats.seconds["report"] = time.perf_counter() - t4
    say(1.0, "done")
    return stats


def _write_errors(path: Path, raw: pd.Series, bad: pd.Series, good: pd.Series, dup_in_file: pd.Series,
                  candidates: pd.Series, in_base: pd.Series) -> None:
    """line, value as written in the file, its E.164 form, reason — sorted by line."""
    def part(lines: Any, e164: Any, reason: str) -> pd.DataFrame:
        return pd.DataFrame({"line": lines, "value": raw.loc[lines].to_numpy(), "e164": e164, "reason": reason})

    frame = pd.concat([
        part(raw.index[bad.to_numpy()], "", "invalid"),
        part(good.index[dup_in_file.to_numpy()], good[dup_in_file].to_numpy(), "duplicate_in_file"),
        part(candidates.index[in_base.to_numpy()], candidates[in_base].to_numpy(), "already_in_base"),
    ]).sort_values("line")
    frame.to_csv(path, index=False, encoding="utf-8-sig")


# --------------------------------------------------------------------------- export
EXPORT_COLUMNS = ("phone", "status", "project", "provider", "geo", "created_at", "status_changed_at")


def export_query(user: CurrentUser, params: ListParams) -> Any:
    """The list's query (scope, filters, search) with names instead of ids, sorted like the list."""
    res = RESOURCES["numbers.numbers"]()
    inner = base_query(res, user, params).subquery("n")
    sort_name, desc = resolve_sort(res, params.sort)
    order = [inner.c[sort_name].desc(), inner.c.id.desc()] if desc else [inner.c[sort_name].asc(), inner.c.id.asc()]
    return (
        select(
            inner.c.phone,
            NumberStatus.name.label("status"),
            Project.name.label("project"),
            Provider.name.label("provider"),
            Geo.name.label("geo"),
            inner.c.created_at,
            inner.c.status_changed_at,
        )
        .select_from(inner)
        .join(NumberStatus, NumberStatus.id == inner.c.status_id)
        .outerjoin(Project, Project.id == inner.c.project_id)
        .outerjoin(Provider, Provider.id == inner.c.provider_id)
        .outerjoin(Geo, Geo.id == inner.c.geo_id)
        .order_by(*order)
    )


def export_numbers(db: Session, user: CurrentUser, params: ListParams, path: Path) -> int:
    """Write the view to ``path`` as CSV (UTF-8 with BOM, so Excel reads it) via COPY; returns rows."""
    if not RESOURCES["numbers.numbers"]().can(user, "view"):
        raise PermissionDenied()
    stmt = export_query(user, params)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    conn = _pg(db)
    with open(path, "wb") as out, conn.cursor() as cur:
        out.write("\ufeff".encode())
        cur.execute("SET LOCAL TIME ZONE 'Europe/Moscow'")
        with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
            for chunk in copy:
                out.write(chunk)
        n = cur.rowcount
    db.rollback()
    return n


def start_transfer(db: Session, user: CurrentUser, direction: str, source: str, filename: str | None, **links: Any) -> NumberTransfer:
    row = NumberTransfer(direction=direction, source=source, filename=filename, status="queued", user_id=user.id, **links)
    db.add(row)
    db.flush()
    return row


