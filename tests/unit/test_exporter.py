"""Export of a filtered view: the same rows the list shows, in the list's order, raw values, scope applied."""

from __future__ import annotations

import csv

import pytest
from openpyxl import load_workbook

from app.core import crud, exporter
from app.core.errors import PermissionDenied
from app.core.query import ListParams
from app.core.registry import resource


@pytest.fixture()
def products(db, users, stock_data):
    for i in range(30):
        crud.create_record(db, resource("stock.products"), users["admin"], {"name": f"Экспорт {i:02d}", "sell_price_rub": f"{100 + i}.50", "supplier_name": "Альфа" if i % 2 else "Бета"})
    return resource("stock.products")


def test_csv_export_of_a_filtered_sorted_view(db, users, products, tmp_path):
    params = ListParams(filters={"supplier_name": "Альфа"}, search="Экспорт", sort="-sell_price_rub")
    path = tmp_path / "p.csv"
    seen = []
    n = exporter.export(db, products(), users["user"], params, path, "csv", progress=seen.append)
    rows = list(csv.reader(open(path, encoding="utf-8-sig")))
    assert n == 15 and len(rows) == 16 and seen[-1] == 15
    header = rows[0]
    assert header[:2] == ["Название", "Остаток"]
    names = [r[0] for r in rows[1:]]
    assert names == [f"Экспорт {i:02d}" for i in range(29, 0, -2)]
    price = rows[1][header.index("Цена, ₽")]
    assert price == "129.50"  # raw, machine-readable


def test_xlsx_export_matches(db, users, products, tmp_path):
    path = tmp_path / "p.xlsx"
    n = exporter.export(db, products(), users["manager"], ListParams(search="Экспорт 0"), path, "xlsx")
    ws = load_workbook(path, read_only=True).active
    values = list(ws.values)
    assert n == 10 and len(values) == 11
    assert values[1][0] == "Экспорт 00"


def test_export_checks_permission(db, users, tmp_path):
    with pytest.raises(PermissionDenied):
        exporter.export(db, resource("admin.users")(), users["user"], ListParams(), tmp_path / "u.csv")


def test_export_never_writes_password_hashes(db, users, tmp_path):
    path = tmp_path / "u.csv"
    exporter.export(db, resource("admin.users")(), users["admin"], ListParams(), path)
    text = path.read_text(encoding="utf-8-sig")
    assert "argon2" not in text and "hashed_password" not in text


def test_copy_and_python_paths_write_the_same_values(db, users, products, tmp_path, monkeypatch):
    """CSV of plain columns is written by PostgreSQL (COPY); it must say what the Python path says
    (dates: ISO with a space instead of a "T"), and the import must read it back unchanged."""
    params = ListParams(sort="name")
    fast, slow = tmp_path / "fast.csv", tmp_path / "slow.csv"
    assert exporter.copy_select(products(), users["admin"], params) is not None
    exporter.export(db, products(), users["admin"], params, fast, "csv")
    monkeypatch.setattr(exporter, "copy_select", lambda *a: None)
    exporter.export(db, products(), users["admin"], params, slow, "csv")
    a = list(csv.reader(open(fast, encoding="utf-8-sig")))
    b = list(csv.reader(open(slow, encoding="utf-8-sig")))
    assert a[0] == b[0] and len(a) == len(b) == 33

    def norm(v: str) -> str:
        import datetime as dt

        if len(v) >= 19 and v[4] == "-" and v[10] in "T ":
            return dt.datetime.fromisoformat(v).isoformat()
        return {"True": "true", "False": "false"}.get(v, v)

    assert [[norm(v) for v in r] for r in a[1:]] == [[norm(v) for v in r] for r in b[1:]]
    # round trip: importing the export by name changes nothing
    from app.core import importer

    monkeypatch.undo()
    mapping = importer.auto_map(products(), a[0])
    result = importer.run_import(db, products(), users["admin"], fast, mapping, key="name")
    assert (result.created, result.failed) == (0, 0), result


def test_copy_export_reports_progress_once_per_batch(db, users, products, tmp_path, monkeypatch):
    """Not on every row after the first batch: a million-row export called it a million times."""
    monkeypatch.setattr(exporter, "BATCH", 10)
    seen: list[int] = []
    params = ListParams(sort="name")
    assert exporter.copy_select(products(), users["admin"], params) is not None
    n = exporter.export(db, products(), users["admin"], params, tmp_path / "p.csv", "csv", progress=seen.append)
    assert n == 32  # 30 made here, 2 by stock_data
    assert seen == [10, 20, 30, 32], seen


def test_xlsx_beyond_excels_row_limit_is_refused_with_a_message(db, users, products, tmp_path, monkeypatch):
    from app.core.errors import ValidationFailed

    monkeypatch.setattr(exporter, "XLSX_MAX_ROWS", 5)
    with pytest.raises(ValidationFailed) as exc:  # the estimate said less: caught while writing
        exporter.export(db, products(), users["admin"], ListParams(), tmp_path / "p.xlsx", "xlsx")
    assert "CSV" in exc.value.messages("ru")[""]
    monkeypatch.setattr(exporter, "XLSX_MAX_ROWS", 0)
    with pytest.raises(ValidationFailed):  # before any work, from the planner's estimate
        exporter.check_xlsx_size(db, products(), users["admin"], ListParams())
    monkeypatch.setattr(exporter, "XLSX_MAX_ROWS", 1_048_575)
    exporter.check_xlsx_size(db, products(), users["admin"], ListParams())  # a normal view passes
