"""Import through the REST API and a real worker: dry run, the job, the error report, the
notification, and who may start it."""

from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient
from jobtools import wait_for
from sqlmodel import select

from app.core.api import build_api
from models.core import Notification
from models.jobs import JobStatus
from models.stock import Product

CSV = "\n".join([
    "Название;sell_price_rub;Мин. остаток;Поставщик",  # cp1251 has no ₽: a field name works as a header too
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
    files = {"file": ("products.csv", CSV, "text/csv")}

    # An operator may not create products, so may not import them.
    r = client.post("/api/stock/products/import", files=files, headers=operator)
    assert r.status_code == 403

    # A bad mapping is a 422 with the field named, nothing queued.
    r = client.post("/api/stock/products/import", files=files, data={"mapping": "[1]"}, headers=manager)
    assert r.status_code == 422 and "mapping" in r.json()["errors"]

    r = client.post("/api/stock/products/import", files=files, data={"dry_run": "true", "key": "name"}, headers=manager)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["job_id"] is None
    assert body["mapping"] == {"name": "Название", "sell_price_rub": "sell_price_rub", "min_stock": "Мин. остаток", "supplier_name": "Поставщик"}
    assert [(p["line"], p["op"]) for p in body["preview"]] == [(2, "create"), (3, "error"), (4, "error"), (5, "create")]
    assert body["preview"][1]["errors"] == {"sell_price_rub": "Enter a number"}
    assert db.exec(select(Product)).all() == []

    start_worker()
    r = client.post("/api/stock/products/import", files=files, data={"key": "name"}, headers=manager)
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
    assert sorted(p.name for p in db.exec(select(Product)).all()) == ["Импорт 1", "Импорт 4"]

    note = db.exec(select(Notification).where(Notification.user_id == users["manager"].id, Notification.kind == "job.done")).one()
    assert note.link == f"/api/jobs/{run_id}/file"
    assert note.title == "Import into Products: 2 added, 0 updated, 2 failed"

    report = client.get(note.link, headers=manager)
    assert report.status_code == 200
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines == [["row", "column", "message"], ["3", "sell_price_rub", "Enter a number"], ["4", "Мин. остаток", "Must be at least 0"]]
    assert client.get(note.link, headers=operator).status_code == 404  # not theirs

    # The job is visible to its owner through the API.
    job = client.get(f"/api/admin/jobs/{run_id}", headers=manager)
    assert job.status_code == 200 and job.json()["kind"] == "kit.import"
    assert json.loads(json.dumps(job.json()["args"]))["key"] == "name"
