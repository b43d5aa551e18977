"""Numbers panel through the REST API and its services: conversion from the aggregates, project
setup, deleted projects (restore / archive), status changes with a parameter, import/export routes."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from sqlmodel import select

from app.core import crud
from app.core.auth import SYSTEM
from app.core.errors import ValidationFailed
from app.core.registry import resource
from app.panels.numbers import services
from models.jobs import JobRun
from models.numbers import NumberTransfer, PhoneNumber, Project, ProjectProvider, ProjectSchedule

NUMBERS = "/api/numbers/numbers"


def add(db, world, phone, provider="mine", project="project"):
    return crud.create_record(db, resource("numbers.numbers"), SYSTEM, {"phone": phone, "provider_id": world[provider], "project_id": world[project]})


def test_conversion_counts_rates_and_follows_status_changes(client, db, users, numbers_world, login):
    w = numbers_world
    nums = [add(db, w, f"+7999555000{i}") for i in range(4)]
    h = login("manager")
    for n, code in zip(nums, ["success", "refusal", "success", "new"]):
        if code != "new":
            r = client.post(f"{NUMBERS}/{n.id}/actions/set_status", headers=h, json={"params": {"status_id": w["status"][code]}})
            assert r.status_code == 200, r.text
    report = "/api/numbers/reports/conversion"
    body = client.get(report, headers=h).json()
    assert body["tables"]["projects"] == [{"project_id": w["project"], "project": "Проект свой", "total": 4, "processed": 3, "success": 2, "refusal": 1,
                                           "no_answer": 0, "success_rate": 0.6667, "refusal_rate": 0.3333, "no_answer_rate": 0.0}]
    assert body["kpis"] == {"processed": 3, "success": 2, "refusal": 1, "no_answer": 0, "success_rate": 0.6667}
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert client.get(report, headers=h, params={"from": tomorrow, "to": ""}).json()["tables"]["projects"] == []
    r = client.get(report, headers=h, params={"from": tomorrow, "to": "2020-01-01"})
    assert r.status_code == 422 and "from" in r.json()["errors"]
    csv_rows = list(csv.reader(io.StringIO(client.get(f"{report}.csv", headers=h).text.lstrip("\ufeff"))))
    assert csv_rows[0][:2] == ["Проект", "Обработано"]  # for people: their language, shares as they write them
    assert csv_rows[1] == ["Проект свой", "3", "2", "66,7\u00a0%", "1", "33,3\u00a0%", "0", "0\u00a0%"]
    english = client.get(f"{report}.csv", headers={**h, "Accept-Language": "en"}).text
    assert list(csv.reader(io.StringIO(english.lstrip("\ufeff"))))[1][3] == "66.7%"
    assert client.get(report, headers=login("user")).status_code == 403
    # a set_status without its parameter is a 422 naming the field, nothing changes
    r = client.post(f"{NUMBERS}/{nums[3].id}/actions/set_status", headers=h, json={"params": {}})
    assert r.status_code == 422 and "status_id" in r.json()["errors"]


def test_bulk_status_change_is_queued_with_its_parameter(client, db, numbers_world, login):
    w = numbers_world
    nums = [add(db, w, f"+7999666000{i}") for i in range(3)]
    h = login("manager")
    r = client.post(f"{NUMBERS}/actions/set_status", headers=h, json={"ids": [n.id for n in nums], "params": {"status_id": w["status"]["success"]}})
    assert r.status_code == 202, r.text
    run = db.get(JobRun, r.json()["job_id"])
    assert run.kind == "kit.action" and run.args["params"] == {"status_id": w["status"]["success"]}
    r = client.post(f"{NUMBERS}/actions/set_status", headers=h, json={"ids": [nums[0].id], "params": {"status_id": 999}})
    assert r.status_code == 422  # refused before queueing


def _providers(db, project_id):
    db.expire_all()
    return sorted(db.exec(select(ProjectProvider.provider_id).where(ProjectProvider.project_id == project_id)).all())


def _pool(db, user, project_id, providers=None, geos=None, windows=None):
    """The project's providers, geo and working windows, saved through its form's service
    (``fields.many`` and ``fields.rows``: the setup page these replaced is gone)."""
    raw = {k: v for k, v in {"providers": providers, "geos": geos}.items() if v is not None}
    if windows is not None:
        raw["windows"] = [{"weekday": str(d), "start_time": start, "end_time": end} for d, start, end in windows]
    return crud.update_record(db, resource("numbers.projects"), user, project_id, raw)


def _windows(db, project_id):
    db.expire_all()
    return [(x.weekday, x.start_time.hour, x.end_time.hour) for x in db.exec(
        select(ProjectSchedule).where(ProjectSchedule.project_id == project_id).order_by(ProjectSchedule.weekday)).all()]


def test_project_setup_replaces_links_and_checks_scope(db, users, numbers_world):
    """The pool (providers, geo) and the windows, all through the project's form."""
    w = numbers_world
    manager = users["manager"]
    _pool(db, manager, w["project"], [w["mine"]], [w["geo"]], [(0, "09:00", "18:00"), (5, "10:00", "14:00")])
    assert _windows(db, w["project"]) == [(0, 9, 18), (5, 10, 14)]
    assert _providers(db, w["project"]) == [w["mine"]]
    for providers, windows, field in [([w["other"]], [], "providers"), ([w["mine"]], [(1, "18:00", "09:00")], "windows.0.end_time"),
                                      ([w["mine"]], [(2, "25:00", "26:00")], "windows.0.start_time")]:
        with pytest.raises(ValidationFailed) as info:
            _pool(db, manager, w["project"], providers, [], windows)
        assert field in info.value.errors
    assert _providers(db, w["project"]) == [w["mine"]] and len(_windows(db, w["project"])) == 2  # nothing half-saved


def test_a_manager_saves_a_setup_with_providers_they_cannot_see(db, users, numbers_world):
    """Issue 8: a project fed by a provider outside the manager's scope could not be saved at all
    ("Выберите запись из списка"). The manager changes their part; the rest stays as it was.
    (The pool moved from the setup page to the project's form: same outcome, through ``fields.many``.)"""
    from app.core import child_rows, shown_links

    w = numbers_world
    admin, manager = users["admin"], users["manager"]
    projects = resource("numbers.projects")
    _pool(db, admin, w["project"], [w["mine"], w["other"]], [w["geo"]], [(0, "09:00", "18:00")])
    providers, windows = (next(f for f in projects.form_fields() if f.name == n) for n in ("providers", "windows"))
    assert [x.weekday for x in child_rows(db, manager, windows, [w["project"]])[w["project"]]] == [0]
    seen = shown_links(db, manager, projects.model, providers, [w["project"]])[w["project"]]
    assert [i for i, _t in seen] == [w["mine"]]  # the form never shows (nor resends) what the manager cannot see
    # what the old page sent back (every provider of the project) is accepted too: the hidden one is kept
    for providers in ([w["mine"]], [w["mine"], w["other"]]):
        _pool(db, manager, w["project"], providers, [w["geo"]], [(1, "10:00", "17:00")])
        assert _providers(db, w["project"]) == sorted([w["mine"], w["other"]])
    assert _windows(db, w["project"]) == [(1, 10, 17)]
    # adding a provider the manager cannot see is refused
    _pool(db, admin, w["project"], [w["mine"]], [])
    with pytest.raises(ValidationFailed) as info:
        _pool(db, manager, w["project"], [w["mine"], w["other"]], [])
    assert "providers" in info.value.errors
    # removing their own provider leaves the other's link alone
    _pool(db, admin, w["project"], [w["mine"], w["other"]])
    _pool(db, manager, w["project"], [])
    assert _providers(db, w["project"]) == [w["other"]]


def test_deleted_projects_restore_and_archive(client, db, users, numbers_world, login):
    w = numbers_world
    h = login("admin")
    assert client.delete(f"/api/numbers/projects/{w['project']}", headers=h).status_code == 204
    listed = client.get("/api/numbers/deleted_projects", headers=h).json()["items"]
    assert [p["name"] for p in listed] == ["Проект свой"]
    assert [p["name"] for p in client.get("/api/numbers/projects", headers=h).json()["items"]] == ["Проект чужой"]
    r = client.post(f"/api/numbers/deleted_projects/{w['project']}/actions/bring_back", headers=h)
    assert r.status_code == 200 and r.json()["item"] is None
    assert client.get("/api/numbers/deleted_projects", headers=h).json()["items"] == []
    client.delete(f"/api/numbers/projects/{w['other_project']}", headers=h)
    assert client.post(f"/api/numbers/deleted_projects/{w['other_project']}/actions/archive", headers=h).status_code == 200
    r = client.post(f"/api/numbers/deleted_projects/{w['other_project']}/actions/bring_back", headers=h)
    assert r.status_code == 422 and "архив" in r.json()["detail"]
    db.expire_all()
    assert db.get(Project, w["other_project"]).archived_at is not None
    # the manager cannot restore (no permission) and sees only their own deleted projects
    assert client.post(f"/api/numbers/deleted_projects/{w['other_project']}/actions/bring_back", headers=login("manager")).status_code in (403, 404)


def test_import_and_export_routes_queue_jobs_in_scope(client, db, numbers_world, login):
    w = numbers_world
    h = login("manager")
    files = {"file": ("n.csv", b"phone\n+79997770001\n", "text/csv")}
    r = client.post("/api/numbers/import", headers=h, files=files, data={"provider_id": str(w["other"])})
    assert r.status_code == 422 and "provider_id" in r.json()["errors"]
    r = client.post("/api/numbers/import", headers=h, files=files, data={"provider_id": str(w["mine"]), "project_id": str(w["project"])})
    assert r.status_code == 202, r.text
    transfer = db.get(NumberTransfer, r.json()["transfer_id"])
    assert (transfer.direction, transfer.status, transfer.filename) == ("import", "queued", "n.csv")
    r = client.post("/api/numbers/export", headers=h, json={"filters": {"project_id": str(w["project"])}})
    assert r.status_code == 202
    assert client.post("/api/numbers/import", headers=login("user"), files=files).status_code == 403
    # transfers: a manager sees their own
    assert len(client.get("/api/numbers/transfers", headers=h).json()["items"]) == 2
    assert db.exec(select(PhoneNumber)).all() == []
    assert db.exec(select(ProjectProvider)).all()
    services.forget_names()


def test_the_project_form_saves_a_setup_for_a_manager(db, users, numbers_world, cheap_hashing):
    """The project's form as the manager drives it (it replaced the setup page): it shows only
    their provider, adds a working day and saves without the refusal issue 8 reported; the
    admin's other provider stays linked."""
    import json

    import reflex as rx
    from reflex.istate.data import RouterData

    from app.core import auth
    from app.core.ui.base import AuthState
    from app.core.ui.form import FormState

    w = numbers_world
    _pool(db, users["admin"], w["project"], [w["mine"], w["other"]], [w["geo"]], [(0, "09:00", "18:00")])
    root = rx.State(_reflex_internal_init=True)
    page = root.substates[AuthState.get_name()].substates[FormState.get_name()]
    token = auth.login(db, "manager", "manager-pass")
    page.router = RouterData.from_router_data({"headers": {"cookie": f"pult_session={token}"},
                                               "pathname": f"/numbers/projects/{w['project']}/edit", "asPath": f"/numbers/projects/{w['project']}/edit",
                                               "query": {"id": str(w["project"])}})
    page.load("numbers.projects", True)
    assert not page.forbidden and not page.missing
    assert page.chips["providers"] == [[str(w["mine"]), "Своя"]] and page.values["providers"] == str(w["mine"])
    assert [r["weekday"] for r in page.grid["windows"]] == ["0"]
    page.add_row("windows")
    page.set_cell("windows", 1, "weekday", "2")
    page.set_cell("windows", 1, "end_time", "08:00")  # no start time yet: refused under its cell
    page.save()
    assert set(page.errors) == {"windows.1.start_time"}, page.errors
    page.set_cell("windows", 1, "start_time", "10:00")
    page.set_cell("windows", 1, "end_time", "12:00")
    out = page.save()
    assert not page.errors, page.errors
    assert "Выберите запись из списка" not in repr(out)
    assert json.loads(page.values["windows"])[1]["weekday"] == "2"
    assert _providers(db, w["project"]) == sorted([w["mine"], w["other"]])
    assert {x[0] for x in _windows(db, w["project"])} == {0, 2}
