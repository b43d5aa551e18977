"""Export of a resource's current view (its filters, search, sort and the user's scope) as CSV or XLSX.

Rows stream from a server-side cursor in batches, so memory stays flat however big the table is;
the file is written as it goes. Values are exported raw (numbers as numbers, ISO dates, enum
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

from sqlmodel import Session

from app.core.auth import CurrentUser
from app.core.crud import require
from app.core.display import cell_value, label_for
from app.core.query import ListParams, base_query, pk_column, resolve_sort
from app.core.resource import Resource

BATCH = 5000


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


def iter_rows(db: Session, res: Resource, user: CurrentUser, params: ListParams) -> Iterator[list[Any]]:
    require(res, user, "view")
    sort_name, desc = resolve_sort(res, params.sort)
    sort_col = getattr(res.model, sort_name)
    pk = pk_column(res.model)
    order = [sort_col.desc(), pk.desc()] if desc else [sort_col.asc(), pk.asc()]
    stmt = base_query(res, user, params).order_by(*order).execution_options(yield_per=BATCH)
    cols = export_columns(res)
    for record in db.exec(stmt):
        yield [raw_value(cell_value(spec, record) if spec is not None else getattr(record, name, None)) for name, _label, spec in cols]


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
            ws.append([float(v) if isinstance(v, decimal.Decimal) else v for v in row])
            n += 1
            if progress and n % BATCH == 0:
                progress(n)
        wb.save(path)
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
