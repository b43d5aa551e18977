"""Export of a resource's current view (its filters, search, sort and the user's scope) as CSV or XLSX.

CSV of plain columns is written by PostgreSQL itself (``COPY (SELECT …) TO STDOUT``, streamed to
the file); otherwise (computed columns, XLSX) rows stream from a server-side cursor in batches. In
both cases memory stays flat however big the table is and the file is written as it goes. Jobs
write to :meth:`app.core.jobs.JobContext.result_path`, a path inside the attempt's ``.partial-*``
folder that moves to its own name only when the run succeeds (and is deleted however else the
attempt ends): the one mechanism by which a reader never sees half a file.

What a file holds (the same on both paths; ``docs/architecture.md``, "Exports"):

* the list's columns, then the model's other columns — never a secret: encrypted columns and
  password/token columns are left out by the kit's one rule (``crypto.is_secret_column``);
* headers in the user's language (the labels the list shows; the import maps them back);
* times in the app's time zone (``PULT_TIMEZONE``) to the second, ``2026-03-01 14:05:09``;
* choices (statuses, kinds) as the labels the list shows; the import maps labels back to codes;
* numbers, amounts, booleans and E.164 phones raw, so a spreadsheet or a script can read them
  (``129.50``, ``true``); a share (progress) as the user's locale writes it in CSV (``45 %``) and as
  a percentage-formatted number in XLSX;
* every text cell neutralised against formula injection and every CSV field quoted
  (:mod:`app.core.safe_cells`; on the COPY path in the same SELECT).

The permission check is the resource's ``can(user, "view")`` and every scope in ``list_query``
applies, exactly as on the list page and the API.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import case, cast, func, literal, text
from sqlalchemy import types as sa_types
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from app.core import i18n, safe_cells
from app.core.auth import CurrentUser
from app.core.crud import require
from app.core.crypto import is_secret_column
from app.core.display import TIMEZONE, cell_value, label_for
from app.core.errors import ValidationFailed
from app.core.kinds import Kind, kind_named
from app.core.query import (
    ListParams,
    base_query,
    relation_text,
    relation_titles,
    resolve_sort,
    sorted_query,
    title_join,
)
from app.core.resource import Resource

BATCH = 5000
#: Rows an XLSX sheet can hold below its header (Excel's limit is 1,048,576 rows per sheet).
XLSX_MAX_ROWS = 1_048_575
#: How times are written (local time of ``PULT_TIMEZONE``, whole seconds): ``2026-03-01 14:05:09``.
#: COPY writes a timestamp so under ``DateStyle = ISO`` (cheaper than ``to_char`` on every row).
TIME_FORMAT, SQL_DATESTYLE = "%Y-%m-%d %H:%M:%S", "SET LOCAL DateStyle = 'ISO, YMD'"


def export_columns(res: Resource, lang: str = "ru") -> list[tuple[str, str, Any]]:
    """(field name, label, column spec) exported: the list's columns (but files), then the other
    model fields; never a secret column (``crypto.is_secret_column``: by type and by name)."""
    table = res.model.__table__.columns
    secret = {c.key for c in table if is_secret_column(c)}
    # A file/photo column is a thumbnail on screen and only a file id in a file: with the other fields.
    shown = [c for c in res.columns if c.name not in secret and not kind_named(c.kind).links_file]
    cols = [(c.name, label_for(type(res), c.name, c.label, lang), c) for c in shown]
    seen = {c.name for c in shown}
    for name in table.keys():
        if name not in seen and name not in secret:
            cols.append((name, label_for(type(res), name, None, lang), None))
    return cols


def raw_value(value: Any, spec: Any = None, lang: str = "ru") -> Any:
    """A value as an export holds it (see the module docstring): choices as labels, local times
    without fractions of a second, JSON as JSON; numbers and texts as they are."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    choices = getattr(spec, "choices_key", None)
    if choices and i18n.has(f"{choices}.{value}"):
        return i18n.t(f"{choices}.{value}", lang)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(TIMEZONE).replace(tzinfo=None)
        return value.replace(microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(microsecond=0)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def _csv_text(value: Any, kind: Kind, lang: str) -> Any:
    if value is None:
        return ""
    text = kind.export_text(value, lang)
    if text is not None:
        return text
    if isinstance(value, bool):
        return "true" if value else "false"  # what PostgreSQL's COPY writes; the import reads both
    if isinstance(value, dt.datetime):
        return value.strftime(TIME_FORMAT)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return value


def _ordered(res: Resource, user: CurrentUser, params: ListParams, lang: str) -> Any:
    """The view's SELECT in the list's order (a relation sort joins the related titles)."""
    sort_name, desc = resolve_sort(res, params.sort)
    stmt, order = sorted_query(res, user, base_query(res, user, params), sort_name, desc, lang)
    return stmt.order_by(*order)


def iter_rows(db: Session, res: Resource, user: CurrentUser, params: ListParams, lang: str = "ru") -> Iterator[list[Any]]:
    """The view's rows as the export writes them. Relation columns are read per batch of records
    (one ``get_many`` per related resource and batch), never per row."""
    require(res, user, "view")
    stmt = _ordered(res, user, params, lang).execution_options(yield_per=BATCH)
    # A server-side cursor is planned for its first 10 % of rows by default, which on a filtered
    # view walks an index row by row; the export reads every row, so plan for all of them.
    db.exec(text("SET LOCAL cursor_tuple_fraction = 1"))  # type: ignore[call-overload]
    cols = export_columns(res, lang)

    def rows(batch: list[Any]) -> Iterator[list[Any]]:
        titles = relation_titles(db, res, user, batch, lang)
        for record in batch:
            yield [relation_text(getattr(record, name, None), titles[name]) if spec is not None and spec.resource
                   else raw_value(cell_value(spec, record) if spec is not None else getattr(record, name, None), spec, lang)
                   for name, _label, spec in cols]

    batch: list[Any] = []
    for record in db.exec(stmt):
        batch.append(record)
        if len(batch) == BATCH:
            yield from rows(batch)
            batch = []
    yield from rows(batch)


def _sql_choices(column: Any, sa_type: Any, choices_key: str, lang: str) -> Any:
    """``CASE column WHEN code THEN label … ELSE column END`` for a column shown by its labels."""
    prefix = choices_key + "."
    labels = {key[len(prefix):]: i18n.t(key, lang) for key in i18n.CATALOG if key.startswith(prefix)}
    stored_to_code = {code: code for code in labels}
    if isinstance(sa_type, sa_types.Enum) and sa_type.enum_class is not None:
        stored_to_code = {stored: str(member.value) for stored, member in zip(sa_type.enums, sa_type.enum_class)}
    whens = {stored: labels[code] for stored, code in stored_to_code.items() if code in labels}
    if not whens:
        return column
    return case(whens, value=column, else_=cast(column, sa_types.Text))


def copy_select(res: Resource, user: CurrentUser, params: ListParams, lang: str = "ru") -> Any | None:
    """The export as one SELECT, when every exported column is a plain table column (no computed
    value): then PostgreSQL writes the CSV itself (``COPY … TO STDOUT``), values formatted and
    texts neutralised in SQL exactly as the Python path does. None otherwise."""
    table = res.model.__table__
    exprs = []
    stmt = base_query(res, user, params)
    for name, _label, spec in export_columns(res, lang):
        if (spec is not None and (spec.value_fn is not None or not kind_named(spec.kind).copy_exportable)) or name not in table.columns:
            return None
        if spec is not None and spec.resource:  # the related title through a LEFT JOIN, as the list shows it
            stmt, title = title_join(stmt, res, user, name, lang, wrap=safe_cells.sql_neutralise)  # neutralised once per related record
            if title is None:  # only Resource.title (Python) knows it
                return None
            exprs.append(title.label(name))
            continue
        column = getattr(res.model, name)
        sa_type = table.columns[name].type
        affinity = sa_type._type_affinity  # the SQL type under a TypeDecorator (e.g. SQLModel's AutoString)
        if issubclass(affinity, (sa_types.JSON, sa_types.ARRAY)):
            return None
        if spec is not None and spec.choices_key:
            column = safe_cells.sql_neutralise(_sql_choices(column, sa_type, spec.choices_key, lang))
        elif issubclass(affinity, sa_types.DateTime):
            if getattr(sa_type, "timezone", False):
                column = column.op("AT TIME ZONE")(literal(TIMEZONE.key))
            column = func.date_trunc("second", column)  # written as ISO by COPY (DateStyle set below)
        elif issubclass(affinity, sa_types.Boolean):
            column = cast(column, sa_types.Text)  # true / false, which the import reads back
        elif issubclass(affinity, sa_types.String):
            column = safe_cells.sql_neutralise(column)
        exprs.append(column.label(name))
    sort_name, desc = resolve_sort(res, params.sort)
    stmt, order = sorted_query(res, user, stmt, sort_name, desc, lang)
    return stmt.with_only_columns(*exprs, maintain_column_froms=True).order_by(*order)


def _export_copy(db: Session, stmt: Any, header: list[str], path: Path, progress: Callable[[int], None] | None) -> int:
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    conn = db.connection().connection.driver_connection
    with open(path, "w", newline="", encoding="utf-8-sig") as f:  # the BOM lets Excel read UTF-8
        safe_cells.writer(f).writerow(header)
    seen, report_at = 0, BATCH
    with open(path, "ab") as out, conn.cursor() as cur:
        cur.execute(SQL_DATESTYLE)
        with cur.copy(f"COPY ({sql}) TO STDOUT WITH ({safe_cells.COPY_CSV})") as copy:
            for chunk in copy:  # about one row per chunk
                out.write(chunk)
                if progress is not None:
                    seen += bytes(chunk).count(b"\n")
                    if seen >= report_at:  # once per BATCH rows, not on every row after the first batch
                        progress(seen)
                        report_at = seen + BATCH
        n = cur.rowcount
    return n


def check_xlsx_size(db: Session, res: Resource, user: CurrentUser, params: ListParams) -> None:
    """Refuse an XLSX export that Excel could not open, before minutes of work: offer CSV instead."""
    from app.core.query import estimate

    if estimate(db, base_query(res, user, params)) > XLSX_MAX_ROWS:
        raise ValidationFailed.one("", "export.xlsx_too_big", max=f"{XLSX_MAX_ROWS:,}".replace(",", "\u00a0"))


def export(
    db: Session,
    res: Resource,
    user: CurrentUser,
    params: ListParams,
    path: Path,
    fmt: str = "csv",
    progress: Callable[[int], None] | None = None,
    lang: str = "ru",
) -> int:
    """Write the view to ``path`` (``csv`` or ``xlsx``) for a user reading ``lang``; returns the
    number of rows written. Pass a ``JobContext.result_path``: it appears under its name only when the run succeeds."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown export format {fmt!r}")
    cols = export_columns(res, lang)
    header = [label for _n, label, _c in cols]
    kinds = [kind_named(spec.kind if spec is not None else "text") for _n, _l, spec in cols]
    n = 0
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(title=(res.slug or "export")[:31])
        ws.append(safe_cells.xlsx_cells(ws, header))
        formats = {i: kind.xlsx_format for i, kind in enumerate(kinds) if kind.xlsx_format}
        for row in iter_rows(db, res, user, params, lang):
            if n == XLSX_MAX_ROWS:  # the estimate was low: stop rather than write a file Excel cuts short
                ws.close()
                raise ValidationFailed.one("", "export.xlsx_too_big", max=f"{XLSX_MAX_ROWS:,}".replace(",", "\u00a0"))
            ws.append(safe_cells.xlsx_cells(ws, [float(v) if isinstance(v, decimal.Decimal) else v for v in row], formats))
            n += 1
            if progress and n % BATCH == 0:
                progress(n)
        wb.save(path)
    elif (fast := copy_select(res, user, params, lang)) is not None:
        require(res, user, "view")
        n = _export_copy(db, fast, header, path, progress)
    else:
        with open(path, "w", newline="", encoding="utf-8-sig") as f:  # the BOM lets Excel read UTF-8
            w = safe_cells.writer(f)
            w.writerow(header)
            for row in iter_rows(db, res, user, params, lang):
                w.writerow([_csv_text(v, kind, lang) for v, kind in zip(row, kinds)])
                n += 1
                if progress and n % BATCH == 0:
                    progress(n)
    if progress:
        progress(n)
    return n
