"""Import through the REST API and a real worker: dry run, the job, the error report, the
notification, and who may start it."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient
from jobtools import wait_for
from sqlmodel import select

from app.core.api import build_api
from models.core import Notification
from models.jobs import JobStatus
from tests.kitpanel.models import Item

pytestmark = pytest.mark.usefixtures("kitpanel")  # the fixture panel, tests/kitpanel

CSV = "\n".join([
    "Название;price_rub;Мин. остаток;Поставщик",  # cp1251 has no ₽: a field name works as a header too
    "Импорт 1;100;1;Альфа",
    "Импорт 2;сто;1;Альфа",
    "Импорт 3;300;-1;Бета",
    "Импорт 4;400;2;Бета",
]).encode("cp1251")


def test_import_job_keeps_good_rows_and_reports_bad_ones(db, users, start_worker, row):
    client = TestClient(build_api())

    def login(name: str) -> dict[str, str]:
        token = client.post("/api/auth/login", json={"username": name, "password": f"{name}-pass"}).json()["token"]
        client.cookies.clear()
        return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

    manager, operator = login("manager"), login("user")
    files = {"file": ("items.csv", CSV, "text/csv")}

    # An operator may not create items, so may not import them.
    r = client.post("/api/kitpanel/items/import", files=files, headers=operator)
    assert r.status_code == 403

    # A bad mapping is a 422 with the field named, nothing queued.
    r = client.post("/api/kitpanel/items/import", files=files, data={"mapping": "[1]"}, headers=manager)
    assert r.status_code == 422 and "mapping" in r.json()["errors"]

    r = client.post("/api/kitpanel/items/import", files=files, data={"dry_run": "true", "key": "name"}, headers=manager)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["job_id"] is None
    assert body["mapping"] == {"name": "Название", "price_rub": "price_rub", "min_stock": "Мин. остаток", "vendor": "Поставщик"}
    assert [(p["line"], p["op"]) for p in body["preview"]] == [(2, "create"), (3, "error"), (4, "error"), (5, "create")]
    assert body["preview"][1]["errors"] == {"price_rub": "Enter a number"}
    assert db.exec(select(Item)).all() == []

    start_worker()
    r = client.post("/api/kitpanel/items/import", files=files, data={"key": "name"}, headers=manager)
    assert r.status_code == 202, r.text
    run_id = r.json()["job_id"]

    def finished():
        x = row(run_id)
        return x if JobStatus(x.status).finished else None

    done = wait_for(finished, 30, "the import to finish")
    assert done.status == JobStatus.succeeded, done.error
    assert done.result == {"total": 4, "created": 2, "updated": 0, "failed": 2, "file": "errors.csv"}
    assert done.progress == 1.0
    db.expire_all()
    assert sorted(p.name for p in db.exec(select(Item)).all()) == ["Импорт 1", "Импорт 4"]

    note = db.exec(select(Notification).where(Notification.user_id == users["manager"].id, Notification.kind == "job.done")).one()
    assert note.link == f"/api/jobs/{run_id}/file"
    assert note.title == "Import into Items: 2 added, 0 updated, 2 failed"

    report = client.get(note.link, headers=manager)
    assert report.status_code == 200
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines == [["row", "column", "message"], ["3", "price_rub", "Enter a number"], ["4", "Мин. остаток", "Must be at least 0"]]
    assert client.get(note.link, headers=operator).status_code == 404  # not theirs

    # The job is visible to its owner through the API.
    job = client.get(f"/api/admin/jobs/{run_id}", headers=manager)
    assert job.status_code == 200 and job.json()["kind"] == "kit.import"
    assert json.loads(json.dumps(job.json()["args"]))["key"] == "name"


def _plant_upload(user, name: str, data: bytes) -> str:
    """A file in the user's upload folder as if it had arrived unchecked (the checks at upload
    are bypassed, so the job itself meets the bad file)."""
    import secrets

    from app.core import importer

    token = f"{secrets.token_urlsafe(18)}.{name.rsplit('.', 1)[1]}"
    folder = importer.UPLOADS / str(user.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / token).write_bytes(data)
    return token


def _finished(row, run_id):
    return wait_for(lambda: (lambda x: x if JobStatus(x.status).finished else None)(row(run_id)), 30, f"run {run_id}")


def test_a_bad_file_fails_the_kit_import_with_its_reason_and_writes_nothing(db, users, start_worker, row):
    from app.core import jobs

    start_worker()
    token = _plant_upload(users["manager"], "h.csv", "Название;Цена, ₽\n".encode())
    run = jobs.enqueue(db, users["manager"], "kit.import", {"resource": "kitpanel.items", "upload": token,
                                                            "mapping": {"name": "Название"}, "key": "", "lang": "en"})
    done = _finished(row, run.id)
    assert done.status == JobStatus.failed and done.attempts == 1
    # the reason itself, in the user's language: not "Please fix the errors in the form", no traceback
    assert done.error == "The file has no data rows" and done.message == "The file has no data rows"
    assert db.exec(select(Item)).all() == []


def test_a_bad_file_fails_the_numbers_import_and_the_log_says_why(db, users, numbers_world, start_worker, row):
    """The transfer log shows the reason in the user's language, not ``error.form``; the run has no traceback."""
    import io as _io

    from openpyxl import Workbook

    from app.core import jobs
    from app.panels.numbers import transfers
    from models.numbers import NumberTransfer, PhoneNumber

    wb = Workbook()
    wb.active.append(["phone"])
    wb.active.append(["=\"+7999\"&\"1234567\""])  # a formula without a computed value
    data = _io.BytesIO()
    wb.save(data)
    start_worker()
    for lang, expected in (("en", "Cell A2 holds the formula"), ("ru", "В ячейке A2 формула")):
        token = _plant_upload(users["manager"], "n.xlsx", data.getvalue())
        transfer = transfers.start_transfer(db, users["manager"], "import", "file", "n.xlsx", provider_id=numbers_world["mine"])
        db.commit()
        run = jobs.enqueue(db, users["manager"], "numbers.import", {"transfer_id": transfer.id, "upload": token,
                                                                   "provider_id": numbers_world["mine"], "lang": lang})
        done = _finished(row, run.id)
        assert done.status == JobStatus.failed and done.error.startswith(expected), done.error
        assert "Traceback" not in done.error
        db.expire_all()
        logged = db.get(NumberTransfer, transfer.id)
        assert logged.status == "failed" and logged.message == done.error
    assert db.exec(select(PhoneNumber)).all() == []


def test_the_numbers_import_job_reads_utf8_cut_at_64k(db, users, numbers_world, start_worker, row, tmp_path):
    """Through the real job: a valid UTF-8 file whose byte 65,536 falls inside a character."""
    from app.core import jobs
    from app.panels.numbers import transfers

    data = "Имя,Телефон\n".encode()
    i = 0
    while len(data) < 65_400:
        data += f"Абонент {i},+7999{i:07d}\n".encode()
        i += 1
    pad = 65_535 - len(data) - len(f"Абонент {i}".encode())
    data += f"Абонент {i}{'z' * pad}Ж,+7999{i:07d}\n".encode()
    assert data[65_535:65_537] == "Ж".encode()
    while len(data) < 70_000:
        i += 1
        data += f"Абонент {i},+7999{i:07d}\n".encode()
    token = _plant_upload(users["manager"], "cut.csv", data)
    transfer = transfers.start_transfer(db, users["manager"], "import", "file", "cut.csv", provider_id=numbers_world["mine"])
    db.commit()
    start_worker()
    run = jobs.enqueue(db, users["manager"], "numbers.import", {"transfer_id": transfer.id, "upload": token,
                                                               "provider_id": numbers_world["mine"], "lang": "en"})
    done = _finished(row, run.id)
    assert done.status == JobStatus.succeeded, done.error
    assert done.result["accepted"] == i + 1 and done.result["invalid"] == 0
