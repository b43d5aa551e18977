"""The numbers import fast path: normalisation, invalid rows, duplicates in the file and in the
base, the race fallback, the error file, counts in the transfer log, aggregates, scope, export."""

from __future__ import annotations

import csv

import pytest
from sqlmodel import Session, func, select

from app.core import crud
from app.core.auth import SYSTEM
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.query import ListParams
from app.core.registry import resource
from app.panels.numbers import services, transfers
from models.core import AuditLog
from models.numbers import NumberStat, PhoneNumber

ROWS = [
    "phone",
    "+7 (999) 123-45-67",   # valid
    "89991234568",          # valid, national format
    "8 999 123 45 67",      # the first one again: duplicate in the file
    "12345",                # invalid
    "+7 999 000 00 01",     # already in the base
    "abc",                  # invalid
    "7 495 123-45-67",      # valid Moscow landline
]


def write(tmp_path, rows, name="numbers.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n", encoding=encoding)
    return path


def phones(db):
    return sorted(db.exec(select(PhoneNumber.phone)).all())


def test_import_counts_reports_and_writes_once(db, users, numbers_world, tmp_path):
    crud.create_record(db, resource("numbers.numbers"), SYSTEM, {"phone": "+79990000001", "provider_id": numbers_world["mine"]})
    report = tmp_path / "errors.csv"
    stats = transfers.import_numbers(db, users["manager"], write(tmp_path, ROWS), project_id=numbers_world["project"],
                                     provider_id=numbers_world["mine"], error_path=report, lang="en")
    assert (stats.total, stats.accepted, stats.duplicates, stats.invalid) == (7, 3, 2, 2)
    assert phones(db) == ["+74951234567", "+79990000001", "+79991234567", "+79991234568"]
    with open(report, encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Line", "Value in the file", "E.164 number", "Reason"]  # for people: in their language
    assert rows[1:] == [["4", "8 999 123 45 67", "+79991234567", "repeated in the file"], ["5", "12345", "", "not a valid number"],
                        ["6", "'+7 999 000 00 01", "+79990000001", "already in the base"], ["7", "abc", "", "not a valid number"]]
    # aggregates follow by trigger: 4 numbers of status "new" (1 made before + 3 imported)
    new = numbers_world["status"]["new"]
    assert db.exec(select(func.sum(NumberStat.n)).where(NumberStat.status_id == new)).one() == 4
    # (the import may skip the per-row triggers and add the aggregate itself: both tables must agree with a scan)
    from models.numbers import NumberStatMonth

    assert db.exec(select(func.sum(NumberStatMonth.n))).one() == db.exec(select(func.count()).select_from(PhoneNumber)).one() == 4
    audit = db.exec(select(AuditLog).where(AuditLog.action == "import", AuditLog.entity_type == "numbers.numbers")).one()
    assert audit.diff["accepted"] == 3 and audit.username == "manager"
    # the same file again: everything is a duplicate now
    again = transfers.import_numbers(db, users["manager"], write(tmp_path, ROWS), provider_id=numbers_world["mine"])
    assert (again.accepted, again.duplicates, again.invalid) == (0, 5, 2)


def test_a_number_inserted_by_someone_else_meanwhile_is_a_duplicate_not_an_error(db, users, numbers_world, tmp_path, monkeypatch):
    """The unique index decides during the insert itself: a number that appears between reading
    the file and writing it is counted as already in the base, and the import still succeeds."""
    real = transfers._bulk_mode

    def meanwhile(cur, *args):
        crud.create_record(Session(db.get_bind()), resource("numbers.numbers"), SYSTEM, {"phone": "+79991234568", "provider_id": numbers_world["mine"]})
        return real(cur, *args)

    monkeypatch.setattr(transfers, "_bulk_mode", meanwhile)
    stats = transfers.import_numbers(db, users["admin"], write(tmp_path, ROWS), provider_id=numbers_world["mine"])
    assert (stats.accepted, stats.duplicates, stats.invalid) == (3, 2, 2)  # 4 distinct valid numbers, one taken meanwhile
    assert len(phones(db)) == 4


def test_cp1251_semicolon_files_and_xlsx(db, users, numbers_world, tmp_path):
    path = write(tmp_path, ["Телефон;Имя", "+79991112233;Иван", "89991112234;Пётр"], encoding="cp1251")
    assert transfers.import_numbers(db, users["admin"], path, provider_id=numbers_world["mine"]).accepted == 2
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Номер"])
    wb.active.append([79991112235])  # a number typed as a number in Excel
    wb.save(tmp_path / "n.xlsx")
    assert transfers.import_numbers(db, users["admin"], tmp_path / "n.xlsx", provider_id=numbers_world["mine"]).accepted == 1
    assert "+79991112235" in phones(db)


def test_scope_and_permission_are_checked_before_reading(db, users, numbers_world, tmp_path):
    path = write(tmp_path, ROWS)
    with pytest.raises(ValidationFailed) as e:
        transfers.import_numbers(db, users["manager"], path, provider_id=numbers_world["other"])
    assert set(e.value.errors) == {"provider_id"}
    with pytest.raises(ValidationFailed):
        transfers.import_numbers(db, users["manager"], path, project_id=numbers_world["other_project"], provider_id=numbers_world["mine"])
    with pytest.raises(PermissionDenied):
        transfers.import_numbers(db, users["user"], path, provider_id=numbers_world["mine"])
    assert phones(db) == []


def test_export_is_the_scoped_filtered_view(db, users, numbers_world, tmp_path):
    transfers.import_numbers(db, users["admin"], write(tmp_path, ["phone", "+79991110001", "+79991110002"]), provider_id=numbers_world["mine"],
                             project_id=numbers_world["project"])
    transfers.import_numbers(db, users["admin"], write(tmp_path, ["phone", "+79992220001"], "b.csv"), provider_id=numbers_world["other"])
    out = tmp_path / "export.csv"
    n = transfers.export_numbers(db, users["manager"], ListParams(sort="phone"), out)
    lines = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert n == 2 and lines[0] == ["phone", "status", "project", "provider", "geo", "created_at", "status_changed_at"]
    assert [x[:4] for x in lines[1:]] == [["+79991110001", "Новый", "Проект свой", "Своя"], ["+79991110002", "Новый", "Проект свой", "Своя"]]
    n = transfers.export_numbers(db, users["admin"], ListParams(search="2220"), out)
    assert n == 1
    # for people (a language given): their headers and status names, local times to the second
    import datetime as dt
    import re

    from app.core.display import TIMEZONE

    n = transfers.export_numbers(db, users["manager"], ListParams(sort="phone"), out, lang="en")
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0] == ["Phone", "Status", "Project", "Provider", "Geo", "Added", "Status changed"]
    assert rows[1][:4] == ["+79991110001", "New", "Проект свой", "Своя"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[1][5])
    stored = db.exec(select(PhoneNumber.created_at).where(PhoneNumber.phone == "+79991110001")).one()
    assert rows[1][5] == stored.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
    assert dt.datetime.fromisoformat(rows[1][5])  # a spreadsheet reads it as a time
    ru = transfers.export_numbers(db, users["manager"], ListParams(sort="phone"), out, lang="ru")
    assert ru == 2 and out.read_text(encoding="utf-8-sig").splitlines()[0].startswith('"Телефон","Статус"')
    services.forget_names()


@pytest.mark.parametrize("typed", ["+7 (999) 123-45-67", "8 999 123 45 67", "89991234567", "9991234567", "+79991234567", "999-123", "(999) 12",
                                   "8 (999", "+7 999 1", "8-999-12"])
def test_a_number_typed_as_people_type_it_is_found(db, users, numbers_world, typed):
    from app.core.query import ListParams, get_list
    from app.core.registry import RESOURCES
    from models.numbers import PhoneNumber

    new = numbers_world["status"]["new"]
    db.add_all([PhoneNumber(phone="+79991234567", provider_id=numbers_world["mine"], project_id=numbers_world["project"], status_id=new),
                PhoneNumber(phone="+79161112233", provider_id=numbers_world["mine"], project_id=numbers_world["project"], status_id=new)])
    db.commit()
    rows = get_list(db, RESOURCES["numbers.numbers"](), users["admin"], ListParams(search=typed)).rows
    assert [r.phone for r in rows] == ["+79991234567"]


def test_a_search_with_letters_is_left_alone(db, users, numbers_world):
    res = __import__("app.core.registry", fromlist=["RESOURCES"]).RESOURCES["numbers.numbers"]()
    assert res.search_terms("тест 999") == {"phone": "тест 999"}
    assert res.search_terms("12") == {"phone": "12"}  # short digits: a fragment, and also an id
    assert res.search_terms("8 (916") == {"phone": "+7916"} and res.search_terms("89") == {"phone": "89"}  # a bare "89…" may be anywhere
