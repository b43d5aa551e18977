"""Export of a resource's current view (its filters, search, sort and the user's scope) as CSV or XLSX.

CSV of plain columns is written by PostgreSQL itself (``COPY (SELECT …) TO STDOUT``, streamed to
the file); otherwise (computed columns, XLSX) rows stream from a server-side cursor in batches. In
both cases memory stays flat however big the table is and the file is written as it goes. Values are exported raw (numbers as numbers, ISO dates, enum
values) under the columns' labels, so a spreadsheet or a script can read them back — the import
maps the same labels or field names. The permission check is the resource's ``can(user, "view")``
and every scope in ``list_query`` applies, exactly as on the list page and the API.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import enum
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import cast, literal, text
from sqlalchemy import types as sa_types
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from app.core.auth import CurrentUser
from app.core.crud import require
from app.core.display import cell_value, label_for
from app.core.errors import ValidationFailed
from app.core.query import ListParams, base_query, pk_column, resolve_sort
from app.core.resource import Resource

BATCH = 5000
#: Rows an XLSX sheet can hold below its header (Excel's limit is 1,048,576 rows per sheet).
XLSX_MAX_ROWS = 1_048_575


def export_columns(res: Resource) -> list[tuple[str, str, Any]]:
    """(field name, label, column spec) exported: the list's columns, then the other model fields."""
    cols = [(c.name, label_for(type(res), c.name, c.label, "ru"), c) for c in res.columns]
    seen = {c[0] for c in cols}
    for name in res.model.__table__.columns.keys():
        if name not in seen and "password" not in name and "secret" not in name and "token" not in name:
            cols.append((name, label_for(type(res), name, None, "ru"), None))
    return cols


def raw_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, (list, dict)):
        return str(value)
    return value


def _order(res: Resource, params: ListParams) -> list[Any]:
    sort_name, desc = resolve_sort(res, params.sort)
    sort_col = getattr(res.model, sort_name)
    pk = pk_column(res.model)
    return [sort_col.desc(), pk.desc()] if desc else [sort_col.asc(), pk.asc()]


def iter_rows(db: Session, res: Resource, user: CurrentUser, params: ListParams) -> Iterator[list[Any]]:
    require(res, user, "view")
    stmt = base_query(res, user, params).order_by(*_order(res, params)).execution_options(yield_per=BATCH)
    # A server-side cursor is planned for its first 10 % of rows by default, which on a filtered
    # view walks an index row by row; the export reads every row, so plan for all of them.
    db.exec(text("SET LOCAL cursor_tuple_fraction = 1"))  # type: ignore[call-overload]
    cols = export_columns(res)
    for record in db.exec(stmt):
        yield [raw_value(cell_value(spec, record) if spec is not None else getattr(record, name, None)) for name, _label, spec in cols]


def copy_select(res: Resource, user: CurrentUser, params: ListParams) -> Any | None:
    """The export as one SELECT, when every exported column is a plain table column (no computed
    value): then PostgreSQL writes the CSV itself (``COPY … TO STDOUT``). None otherwise."""
    table = res.model.__table__
    exprs = []
    for name, _label, spec in export_columns(res):
        if (spec is not None and spec.value_fn is not None) or name not in table.columns:
            return None
        column = getattr(res.model, name)
        sa_type = table.columns[name].type
        if isinstance(sa_type, (sa_types.JSON, sa_types.ARRAY)):
            return None
        if isinstance(sa_type, sa_types.DateTime) and getattr(sa_type, "timezone", False):
            column = column.op("AT TIME ZONE")(literal("UTC"))  # naive UTC, as the Python path writes
        elif isinstance(sa_type, sa_types.Boolean):
            column = cast(column, sa_types.Text)  # true / false, which the import reads back
        exprs.append(column.label(name))
    return base_query(res, user, params).with_only_columns(*exprs).order_by(*_order(res, params))


def _export_copy(db: Session, stmt: Any, header: list[str], path: Path, progress: Callable[[int], None] | None) -> int:
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    conn = db.connection().connection.driver_connection
    with open(path, "w", newline="", encoding="utf-8-sig") as f:  # the BOM lets Excel read UTF-8
        csv.writer(f).writerow(header)
    seen, report_at = 0, BATCH
    with open(path, "ab") as out, conn.cursor() as cur:
        with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
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
) -> int:
    """Write the view to ``path`` (``csv`` or ``xlsx``); returns the number of rows written."""
    cols = export_columns(res)
    header = [label for _n, label, _c in cols]
    n = 0
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(title=(res.slug or "export")[:31])
        ws.append(header)
        for row in iter_rows(db, res, user, params):
            if n == XLSX_MAX_ROWS:  # the estimate was low: stop rather than write a file Excel cuts short
                raise ValidationFailed.one("", "export.xlsx_too_big", max=f"{XLSX_MAX_ROWS:,}".replace(",", "\u00a0"))
            ws.append([float(v) if isinstance(v, decimal.Decimal) else v for v in row])
            n += 1
            if progress and n % BATCH == 0:
                progress(n)
        wb.save(path)
    elif fmt == "csv" and (fast := copy_select(res, user, params)) is not None:
        require(res, user, "view")
        n = _export_copy(db, fast, header, path, progress)
    elif fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8-sig") as f:  # the BOM lets Excel read UTF-8
            w = csv.writer(f)
            w.writerow(header)
            for row in iter_rows(db, res, user, params):
                w.writerow(["" if v is None else v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v for v in row])
                n += 1
                if progress and n % BATCH == 0:
                    progress(n)
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    if progress:
        progress(n)
    return n
