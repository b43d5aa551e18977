"""The kit's route of a declared bulk import (``POST /api/<panel>/<slug>/import`` when the
resource has ``bulk_import``): the numbers panel gets it from ``Numbers.bulk_import`` — the same
checks, log row and job as its page and its own address ``/api/numbers/import``."""

from __future__ import annotations

from sqlmodel import select

from models.jobs import JobRun
from models.numbers import NumberTransfer, PhoneNumber

ROUTE = "/api/numbers/numbers/import"


def test_the_declared_route_queues_the_bulk_job_with_its_log_row(client, db, numbers_world, login):
    w = numbers_world
    h = login("manager")
    files = {"file": ("bulk.csv", b"phone\n+79997770001\n+79997770002\n", "text/csv")}
    r = client.post(ROUTE, headers=h, files=files, data={"provider_id": str(w["mine"]), "project_id": str(w["project"])})
    assert r.status_code == 202, r.text
    body = r.json()
    run = db.get(JobRun, body["job_id"])
    transfer = db.get(NumberTransfer, body["log_id"])
    assert run.kind == "numbers.import" and run.args["transfer_id"] == transfer.id and run.args["provider_id"] == w["mine"]
    assert (transfer.direction, transfer.source, transfer.status, transfer.filename) == ("import", "file", "queued", "bulk.csv")
    assert (transfer.project_id, transfer.provider_id) == (w["project"], w["mine"])
    assert db.exec(select(PhoneNumber)).all() == []  # the job loads them, not the request


def test_the_declared_route_refuses_clearly(client, db, numbers_world, login):
    w = numbers_world
    h = login("manager")
    ok = {"file": ("n.csv", b"phone\n+79997770001\n", "text/csv")}
    r = client.post(ROUTE, headers=h, files=ok, data={"provider_id": str(w["other"])})  # out of the manager's scope
    assert r.status_code == 422 and "provider_id" in r.json()["errors"]
    r = client.post(ROUTE, headers=h, files=ok, data={})  # a manager's numbers need a provider
    assert r.status_code == 422 and "provider_id" in r.json()["errors"]
    r = client.post(ROUTE, headers=h, files=ok, data={"provider_id": "abc"})
    assert r.status_code == 422 and "provider_id" in r.json()["errors"]
    header_only = {"file": ("n.csv", b"phone\n", "text/csv")}
    r = client.post(ROUTE, headers=h, files=header_only, data={"provider_id": str(w["mine"])})
    assert r.status_code == 422 and r.json()["errors"]["file"] == "В файле нет строк с данными"
    picture = {"file": ("n.csv", b"\x89PNG\r\n\x1a\n" + bytes(64), "text/csv")}
    assert client.post(ROUTE, headers=h, files=picture, data={"provider_id": str(w["mine"])}).status_code == 422
    assert client.post(ROUTE, headers=login("user"), files=ok, data={"provider_id": str(w["mine"])}).status_code == 403
    assert db.exec(select(NumberTransfer)).all() == [] and db.exec(select(JobRun)).all() == []


def test_the_route_is_documented_with_its_params(client):
    spec = client.get("/api/openapi.json").json()
    op = spec["paths"][ROUTE]["post"]
    assert op["operationId"] == "numbers_numbers_bulk_import"
    assert all(f"`{p}`" in op["description"] for p in ("project_id", "provider_id", "geo_id"))
