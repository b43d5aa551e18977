"""Import of CSV/XLSX into a resource: reading files, mapping, preview, upsert by key, the error
report, permissions and the all-or-nothing commit, on the fixture panel (``tests/kitpanel``)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import func, select

from app.core import crud, importer
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.registry import resource
from models.core import AuditLog
from tests.kitpanel.models import Delivery, Item

pytestmark = pytest.mark.usefixtures("kitpanel")


@pytest.fixture()
def items():
    return resource("kitpanel.items")()


@pytest.fixture()
def uploads(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "UPLOADS", tmp_path / "uploads")
    return tmp_path / "uploads"


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig", delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def upload(user, path: Path) -> Path:
    token = importer.save_upload(user, path.name, path.read_bytes())
    return importer.upload_path(user, token)


def item_names(db) -> list[str]:
    return sorted(db.exec(select(Item.name)).all())


ROWS = [
    ["Название", "Цена, ₽", "Мин. остаток", "Поставщик", "Начальный приход"],
    ["Кабель HDMI", "450", "2", "Альфа", "7"],
    ["Мышь", "abc", "1", "Бета", ""],  # bad price
    ["", "100", "1", "Бета", ""],  # no name (required)
    ["Клавиатура", "1 290,50", "-3", "Гамма", ""],  # min_stock below 0
    ["Монитор", "15000", "0", "Гамма", "2"],
]


def test_reads_csv_in_utf8_cp1251_and_semicolons_and_xlsx(tmp_path):
    rows = [["name", "price"], ["Кабель", "1,5"], ["", ""], ["Мышь", "2"]]
    for i, (encoding, delimiter) in enumerate([("utf-8-sig", ","), ("cp1251", ";"), ("utf-8", "\t")]):
        path = write_csv(tmp_path / f"f{i}.csv", rows, encoding, delimiter)
        assert list(importer.iter_table(path)) == [["name", "price"], ["Кабель", "1,5"], ["Мышь", "2"]], (encoding, delimiter)
    wb = Workbook()
    ws = wb.active
    ws.append(["name", "qty", "price", "when"])
    import datetime as dt

    ws.append(["Кабель", 3.0, 1.25, dt.datetime(2026, 1, 2)])
    wb.save(tmp_path / "f.xlsx")
    assert list(importer.iter_table(tmp_path / "f.xlsx")) == [["name", "qty", "price", "when"], ["Кабель", "3", "1.25", "2026-01-02"]]


def test_unreadable_and_wrong_files_get_a_message(tmp_path, users, uploads):
    with pytest.raises(ValidationFailed) as e:
        importer.save_upload(users["admin"], "report.pdf", b"%PDF")
    assert e.value.messages("en") == {"file": "Upload a CSV or XLSX file"}
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip at all")
    with pytest.raises(ValidationFailed) as e:
        importer.read_head(tmp_path / "bad.xlsx")
    assert e.value.messages("en")["file"] == "This is a text file, not an XLSX workbook: name it .csv"
    write_csv(tmp_path / "header.csv", [["name"]])
    with pytest.raises(ValidationFailed) as e:
        importer.read_head(tmp_path / "header.csv")
    assert e.value.messages("en") == {"file": "The file has no data rows"}


def test_an_upload_is_only_found_in_its_uploaders_folder(users, uploads, tmp_path):
    path = write_csv(tmp_path / "a.csv", ROWS)
    token = importer.save_upload(users["manager"], "a.csv", path.read_bytes())
    assert importer.upload_path(users["manager"], token).is_file()
    for user, tok in [(users["admin"], token), (users["manager"], "../../etc/passwd"), (users["manager"], "x" * 20 + ".csv")]:
        with pytest.raises(ValidationFailed):
            importer.upload_path(user, tok)


def test_auto_map_matches_labels_in_either_language_and_field_names(items):
    mapping = importer.auto_map(items, ["Название", "Price, ₽", "min_stock", "Что-то ещё"])
    assert mapping == {"name": "Название", "price_rub": "Price, ₽", "min_stock": "min_stock"}
    assert importer.key_fields(items) == ["id", "name"]


def test_preview_shows_each_rows_fate_and_writes_nothing(db, users, kit_data, items, uploads, tmp_path):
    path = upload(users["manager"], write_csv(tmp_path / "p.csv", ROWS + [["Кабель USB-C", "990", "2", "Альфа", ""]]))
    mapping = importer.auto_map(items, importer.read_head(path)[0])
    assert mapping == {"name": "Название", "price_rub": "Цена, ₽", "min_stock": "Мин. остаток",
                       "vendor": "Поставщик", "initial_qty": "Начальный приход"}
    before = item_names(db)
    audit_before = db.exec(select(func.count()).select_from(AuditLog)).one()
    headers, outcomes, raws = importer.preview(db, items, users["manager"], path, mapping, key="name", lang="en")
    assert [(o.line, o.op) for o in outcomes] == [(2, "create"), (3, "error"), (4, "error"), (5, "error"), (6, "create"), (7, "update")]
    assert outcomes[1].errors == {"price_rub": "Enter a number"}
    assert outcomes[2].errors == {"name": "This field is required"}
    assert outcomes[3].errors == {"min_stock": "Must be at least 0"}
    assert raws[0]["name"] == "Кабель HDMI"
    assert item_names(db) == before
    assert db.exec(select(func.count()).select_from(AuditLog)).one() == audit_before


def test_import_keeps_good_rows_reports_bad_ones_and_upserts_by_key(db, users, kit_data, items, uploads, tmp_path):
    cable = kit_data["cable"]
    rows = ROWS + [["Кабель USB-C", "990", "2", "Альфа", "50"]]  # existing by name: price changes, initial qty ignored
    path = upload(users["admin"], write_csv(tmp_path / "p.csv", rows))
    mapping = importer.auto_map(items, importer.read_head(path)[0])
    report = tmp_path / "errors.csv"
    seen = []
    result = importer.run_import(db, items, users["admin"], path, mapping, key="name", lang="ru",
                                 report_path=lambda: report, progress=lambda done, total: seen.append((done, total)))
    assert (result.total, result.created, result.updated, result.failed) == (6, 2, 1, 3)
    assert seen[-1] == (6, 6)
    assert item_names(db) == ["Кабель HDMI", "Кабель USB-C", "Монитор", "Роутер Pro"]
    db.expire_all()
    hdmi = db.exec(select(Item).where(Item.name == "Кабель HDMI")).one()
    assert (hdmi.stock, str(hdmi.price_rub), hdmi.vendor) == (7, "450.00", "Альфа")  # the save hook made a delivery
    assert db.exec(select(func.count()).select_from(Delivery).where(Delivery.item_id == hdmi.id)).one() == 1
    cable = db.get(Item, cable.id)
    assert (str(cable.price_rub), cable.stock) == ("990.00", 10)
    with open(report, encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    assert lines == [
        ["строка", "колонка", "ошибка"],
        ["3", "Цена, ₽", "Введите число"],
        ["4", "Название", "Обязательное поле"],
        ["5", "Мин. остаток", "Не меньше 0"],
    ]
    # one audit row per written record plus the import summary
    actions = list(db.exec(select(AuditLog.action).where(AuditLog.entity_type == "kitpanel.items").order_by(AuditLog.id)).all())
    assert actions[-4:] == ["create", "create", "update", "import"]
    summary = db.exec(select(AuditLog).where(AuditLog.action == "import")).one()
    assert summary.diff["created"] == 2 and summary.diff["failed"] == 3 and summary.username == "admin"


def test_rerunning_the_same_file_with_a_key_changes_nothing(db, users, items, uploads, tmp_path):
    path = upload(users["admin"], write_csv(tmp_path / "p.csv", [ROWS[0], ROWS[1], ROWS[5]]))
    mapping = importer.auto_map(items, importer.read_head(path)[0])
    first = importer.run_import(db, items, users["admin"], path, mapping, key="name")
    second = importer.run_import(db, items, users["admin"], path, mapping, key="name")
    assert (first.created, first.updated) == (2, 0)
    assert (second.created, second.updated, second.failed) == (0, 2, 0)
    assert db.exec(select(func.count()).select_from(Item)).one() == 2


def test_without_a_key_a_duplicate_name_is_a_row_error_under_its_column(db, users, kit_data, items, uploads, tmp_path):
    path = upload(users["admin"], write_csv(tmp_path / "p.csv", [["name", "min_stock"], ["Кабель USB-C", "1"], ["Новый", "1"]]))
    result = importer.run_import(db, items, users["admin"], path, {"name": "name", "min_stock": "min_stock"}, report_path=lambda: tmp_path / "e.csv")
    assert (result.created, result.failed) == (1, 1)
    assert list(csv.reader(open(tmp_path / "e.csv", encoding="utf-8-sig")))[1] == ["2", "name", "Такое значение уже есть"]


def test_a_failure_mid_file_leaves_nothing_half_written(db, users, items, uploads, tmp_path):
    path = upload(users["admin"], write_csv(tmp_path / "p.csv", [["name"], ["A"], ["B"], ["C"]]))
    calls = []

    def progress(done, total):
        calls.append(done)
        raise RuntimeError("worker lost")  # as if cancelled or killed between rows

    import app.core.importer as imp

    old = imp.PROGRESS_EVERY
    imp.PROGRESS_EVERY = 2
    try:
        with pytest.raises(RuntimeError):
            importer.run_import(db, items, users["admin"], path, {"name": "name"}, progress=progress)
    finally:
        imp.PROGRESS_EVERY = old
    assert calls == [2]
    assert item_names(db) == []


def test_import_needs_create_and_for_a_key_update(db, users, items, uploads, tmp_path):
    path = upload(users["user"], write_csv(tmp_path / "p.csv", [["name"], ["A"]]))
    with pytest.raises(PermissionDenied):
        importer.preview(db, items, users["user"], path, {"name": "name"}, key="")
    with pytest.raises(PermissionDenied):
        importer.run_import(db, items, users["user"], path, {"name": "name"})
    assert item_names(db) == []


def test_mapping_problems_are_reported_before_anything_runs(db, users, items, uploads, tmp_path):
    path = upload(users["admin"], write_csv(tmp_path / "p.csv", [["name", "x"], ["A", "1"]]))
    cases = [
        ({}, "", {"mapping": "Map at least one column to a field"}),
        ({"name": "nope"}, "", {"mapping": "The file has no column 'nope'"}),
        ({"min_stock": "x"}, "name", {"key": "The key 'Name' is not mapped to a file column"}),
        ({"name": "name"}, "vendor", {"key": "Records cannot be matched by this field"}),
    ]
    for mapping, key, message in cases:
        with pytest.raises(ValidationFailed) as e:
            importer.preview(db, items, users["admin"], path, mapping, key, lang="en")
        assert e.value.messages("en") == message, mapping
    assert crud.list_records  # the services are untouched by a refused preview
    assert item_names(db) == []


def test_a_bug_in_a_job_reads_as_a_sentence_and_the_traceback_goes_to_the_log(caplog):
    """``told_to_user``: the reason for people in their language, the details for the log only."""
    from app.core.jobs import JobCancelled, JobFailed
    from app.core.kit_jobs import told_to_user

    with pytest.raises(JobFailed) as e, caplog.at_level("ERROR"):
        with told_to_user("en"):
            {}["missing"]
    assert str(e.value) == "The import failed because of an internal error; nothing was written. The details are in the server log"
    assert not e.value.retry and "KeyError" in caplog.text
    with pytest.raises(JobFailed) as e:
        with told_to_user("ru"):
            raise ValidationFailed.one("file", "import.empty")
    assert str(e.value) == "В файле нет строк с данными"  # the reason itself, not "Исправьте ошибки в форме"
    with pytest.raises(JobCancelled):
        with told_to_user("en"):
            raise JobCancelled()
