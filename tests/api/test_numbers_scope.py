"""Managers see only their providers' numbers (seed 004, section 6.2) — through the REST API,
the services the UI handlers call, the list handler itself, exports and bulk status changes."""

from __future__ import annotations

import reflex as rx
from sqlmodel import select

from app.core import auth, crud, exporter
from app.core.auth import SYSTEM
from app.core.kinds.phone import format_phone
from app.core.query import ListParams
from app.core.registry import resource
from app.core.ui.base import AuthState
from app.core.ui.list_state import ListState
from app.panels.numbers import services
from models.numbers import PhoneNumber
from tests.uistate import sign_in

NUMBERS = "/api/numbers/numbers"


def make_numbers(db, world):
    res = resource("numbers.numbers")
    mine = [crud.create_record(db, res, SYSTEM, {"phone": f"+7999100000{i}", "provider_id": world["mine"], "project_id": world["project"]}) for i in range(3)]
    theirs = [crud.create_record(db, res, SYSTEM, {"phone": f"+7999200000{i}", "provider_id": world["other"], "project_id": world["other_project"]}) for i in range(2)]
    return mine, theirs


def test_api_list_get_update_and_options_stay_in_scope(client, db, users, numbers_world, login):
    mine, theirs = make_numbers(db, numbers_world)
    h = login("manager")
    items = client.get(NUMBERS, headers=h, params={"page_size": 100}).json()["items"]
    assert sorted(i["phone"] for i in items) == sorted(n.phone for n in mine)
    assert client.get(f"{NUMBERS}/{theirs[0].id}", headers=h).status_code == 404
    assert client.patch(f"{NUMBERS}/{theirs[0].id}", headers=h, json={"status_id": numbers_world["status"]["success"]}).status_code == 404
    # searching by a digit fragment does not leak either
    assert client.get(NUMBERS, headers=h, params={"q": "99920"}).json()["items"] == []
    # the provider picker offers only the manager's provider
    options = client.get("/api/numbers/providers/options", headers=h).json()["items"]
    assert [o["title"] for o in options] == ["Своя"]
    # a number cannot be moved to (or created at) a provider outside the scope
    r = client.patch(f"{NUMBERS}/{mine[0].id}", headers=h, json={"provider_id": numbers_world["other"]})
    assert r.status_code == 422 and "provider_id" in r.json()["errors"]
    r = client.post(NUMBERS, headers=h, json={"phone": "+79993000000", "provider_id": numbers_world["other"]})
    assert r.status_code == 422
    # the admin sees everything
    assert len(client.get(NUMBERS, headers=login("admin"), params={"page_size": 100}).json()["items"]) == 5


def test_bulk_status_change_and_export_stay_in_scope(db, users, numbers_world, tmp_path):
    mine, theirs = make_numbers(db, numbers_world)
    success = numbers_world["status"]["success"]
    changed = services.set_status_many(db, users["manager"], [n.id for n in mine + theirs], success)
    db.commit()
    assert changed == 3
    db.expire_all()
    assert {n.phone: n.status_id for n in db.exec(select(PhoneNumber)).all() if n.provider_id == numbers_world["other"]} == {
        n.phone: numbers_world["status"]["new"] for n in theirs}
    path = tmp_path / "numbers.csv"
    n = exporter.export(db, resource("numbers.numbers")(), users["manager"], ListParams(), path, "csv")
    text = path.read_text(encoding="utf-8-sig")
    assert n == 3 and all(x.phone in text for x in mine) and not any(x.phone in text for x in theirs)


def test_the_list_handler_and_conversion_stay_in_scope(db, users, numbers_world):
    mine, theirs = make_numbers(db, numbers_world)
    token = auth.login(db, "manager", "manager-pass")
    root = rx.State(_reflex_internal_init=True)
    lst = root.substates[AuthState.get_name()].substates[ListState.get_name()]
    sign_in(lst, token)
    lst.load("numbers.numbers")
    assert sorted(r["id"] for r in lst.rows) == sorted(str(n.id) for n in mine)
    assert sorted(r["c0"] for r in lst.rows) == sorted(format_phone(n.phone) for n in mine)  # as people read it
    rows = services.conversion(db, users["manager"])
    assert [(r.project, r.total) for r in rows] == [("Проект свой", 3)]
    assert {r.project for r in services.conversion(db, users["admin"])} == {"Проект свой", "Проект чужой"}


def test_the_detail_page_asks_for_the_new_status_and_stays_in_scope(db, users, numbers_world):
    """"Сменить статус" on a number's page: the dialog asks for the status (an empty choice gets a
    message under the input, the dialog stays open), then sets it; another provider's number is
    refused by the same handler."""
    from app.core.ui.detail import DetailState

    mine, theirs = make_numbers(db, numbers_world)
    token = auth.login(db, "manager", "manager-pass")
    root = rx.State(_reflex_internal_init=True)
    page = root.substates[AuthState.get_name()].substates[DetailState.get_name()]
    sign_in(page, token)
    page.res_key, page.record_id = "numbers.numbers", str(mine[0].id)

    page.ask("set_status")
    assert page.confirm_open and [f["name"] for f in page.param_fields] == ["status_id"]
    assert str(numbers_world["status"]["success"]) in [v for v, _ in page.param_options["status_id"]]
    page.run_pending()  # nothing chosen
    assert page.confirm_open and page.param_errors.get("status_id")
    page.set_param("status_id", str(numbers_world["status"]["success"]))
    page.run_pending()
    assert not page.confirm_open and page.param_fields == []
    db.expire_all()
    assert db.get(PhoneNumber, mine[0].id).status_id == numbers_world["status"]["success"]

    page.record_id = str(theirs[0].id)
    page.ask("set_status")
    page.set_param("status_id", str(numbers_world["status"]["success"]))
    page.run_pending()
    db.expire_all()
    assert db.get(PhoneNumber, theirs[0].id).status_id == numbers_world["status"]["new"]
