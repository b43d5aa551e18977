"""Many-to-many fields (``fields.many``) and cells edited in place (``col().editable()``), on the
numbers panel's projects (providers and geo of the incoming pool) and the fixture panel's items
(min_stock; ``tests/kitpanel``)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core import crud, links
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.registry import resource
from models.core import AuditLog
from models.numbers import Geo, ProjectGeo, ProjectProvider

PROJECTS = "/api/numbers/projects"

pytestmark = pytest.mark.usefixtures("kitpanel")


def _linked(db, project_id):
    db.expire_all()
    return sorted(db.exec(select(ProjectProvider.provider_id).where(ProjectProvider.project_id == project_id)).all())


def _audit(db, project_id):
    return db.exec(select(AuditLog).where(AuditLog.entity_type == "numbers.projects", AuditLog.entity_id == str(project_id)).order_by(AuditLog.id.desc())).first()


def test_parse_reads_form_strings_and_json_lists_and_refuses_the_rest(db):
    from app.core.kinds import field_of, kind_for

    projects = resource("numbers.projects")
    f = next(f for f in projects.form_fields() if f.name == "providers")
    kind, field = kind_for(projects.model, f), field_of(projects.model, f)
    assert kind.parse(field, "3,1, 3") == ([1, 3], None)
    assert kind.parse(field, [5, "2"]) == ([2, 5], None)
    assert kind.parse(field, "") == ([], None) and kind.parse(field, []) == ([], None)
    for bad in ("1,x", [1.5], [True], [{"id": 1}], {"a": 1}, [2**70]):
        value, error = kind.parse(field, bad)
        assert value is None and error in (("error.relation", {}), ("error.value", {})), bad


def test_saving_links_replaces_by_difference_checks_scope_and_audits(db, users, numbers_world):
    w = numbers_world
    admin, manager = users["admin"], users["manager"]
    projects = resource("numbers.projects")
    crud.update_record(db, projects, admin, w["project"], {"providers": [w["mine"], w["other"]], "geos": [w["geo"]]})
    assert _linked(db, w["project"]) == sorted([w["mine"], w["other"]])
    assert _audit(db, w["project"]).diff["providers"] == [[w["mine"]], sorted([w["mine"], w["other"]])]
    assert db.exec(select(ProjectGeo.geo_id).where(ProjectGeo.project_id == w["project"])).all() == [w["geo"]]
    # the manager sees only their provider...
    assert links.shown(db, manager, projects.model, links.many_fields(projects)[0], [w["project"]])[w["project"]] == [(w["mine"], "Своя")]
    # ...removing it keeps the other manager's link; sending the hidden one back is no error
    crud.update_record(db, projects, manager, w["project"], {"providers": [w["mine"], w["other"]]})
    assert _linked(db, w["project"]) == sorted([w["mine"], w["other"]])
    # adding a provider they cannot see is refused under the field, nothing half-saved
    with pytest.raises(ValidationFailed) as info:
        crud.update_record(db, projects, manager, w["project"], {"providers": [w["mine"], w["other"] + 1000], "name": "x"})
    assert info.value.errors["providers"][0] == "error.relation"
    assert _linked(db, w["project"]) == sorted([w["mine"], w["other"]])
    crud.update_record(db, projects, manager, w["project"], {"providers": []})
    assert _linked(db, w["project"]) == [w["other"]]
    # (the project now has none of their providers: it left the manager's scope)
    # an unknown geo is refused too
    geo2 = Geo(country="RU", region="Тверь", city="Тверь", name="RU · Тверь · Тверь")
    db.add(geo2)
    db.commit()
    with pytest.raises(ValidationFailed):
        crud.update_record(db, projects, admin, w["project"], {"geos": [geo2.id, geo2.id + 1]})
    crud.update_record(db, projects, admin, w["project"], {"geos": [geo2.id]})
    assert db.exec(select(ProjectGeo.geo_id).where(ProjectGeo.project_id == w["project"])).all() == [geo2.id]
    # a user without update on projects changes nothing
    with pytest.raises(PermissionDenied):
        crud.update_record(db, projects, users["user"], w["project"], {"providers": [w["mine"]]})


def test_create_links_in_the_same_transaction(db, users, numbers_world):
    w = numbers_world
    projects = resource("numbers.projects")
    record = crud.create_record(db, projects, users["manager"], {"name": "Новый", "providers": f"{w['mine']}", "geos": str(w["geo"])})
    assert _linked(db, record.id) == [w["mine"]]
    assert _audit(db, record.id).diff["providers"] == [w["mine"]]
    with pytest.raises(ValidationFailed):
        crud.create_record(db, projects, users["manager"], {"name": "Второй", "providers": [w["other"]]})
    assert not db.exec(select(resource("numbers.projects").model).where(resource("numbers.projects").model.name == "Второй")).all()


def test_api_reads_and_writes_links_as_ids_with_titles(client, db, numbers_world, login):
    w = numbers_world
    h = login("admin")
    item = client.get(f"{PROJECTS}/{w['project']}", headers=h).json()
    assert item["providers"] == [w["mine"]] and item["providers_titles"] == ["Своя"] and item["geos"] == []
    r = client.patch(f"{PROJECTS}/{w['project']}", headers=h, json={"providers": [w["mine"], w["other"]], "geos": [w["geo"]]})
    assert r.status_code == 200, r.text
    assert r.json()["providers"] == sorted([w["mine"], w["other"]]) and r.json()["geos_titles"] == ["RU · Москва · Москва"]
    # the manager reads only their provider, and cannot add one they cannot see
    hm = login("manager")
    assert client.get(f"{PROJECTS}/{w['project']}", headers=hm).json()["providers"] == [w["mine"]]
    listed = client.get(PROJECTS, headers=hm).json()["items"]
    assert [p["providers_titles"] for p in listed if p["id"] == w["project"]] == [["Своя"]]
    r = client.post(PROJECTS, headers=hm, json={"name": "Из API", "providers": [w["other"]]})
    assert r.status_code == 422 and "providers" in r.json()["errors"]
    r = client.post(PROJECTS, headers=hm, json={"name": "Из API", "providers": [w["mine"]]})
    assert r.status_code == 201 and r.json()["providers"] == [w["mine"]]
    assert client.patch(f"{PROJECTS}/{w['project']}", headers=h, json={"providers": "абв"}).status_code == 422
    schema = client.get("/api/openapi.json").json()
    body = schema["paths"][PROJECTS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["providers"]["type"] == "array" and body["properties"]["providers"]["items"] == {"type": "integer"}


def test_a_cell_edited_in_place_saves_through_the_update_service(db, users, kit_data, cheap_hashing):
    import reflex as rx
    from reflex.istate.data import RouterData

    from app.core import auth
    from app.core.ui.base import AuthState
    from app.core.ui.list_state import ListState

    items = resource("kitpanel.items")
    j = next(i for i, c in enumerate(items.columns) if c.name == "min_stock")
    item = kit_data["cable"]
    root = rx.State(_reflex_internal_init=True)
    page = root.substates[AuthState.get_name()].substates[ListState.get_name()]
    token = auth.login(db, "admin", "admin-pass")
    page.router = RouterData.from_router_data({"headers": {"cookie": f"pult_session={token}"}, "pathname": "/kitpanel/items", "asPath": "/kitpanel/items", "query": {}})
    page.res_key = "kitpanel.items"
    page._reload(sync_url=False)
    row = next(r for r in page.rows if r["id"] == str(item.id))
    assert row[f"e{j}"] == str(item.min_stock) and row["can_update"] == "1"
    page.start_edit(str(item.id), j, "-3")
    page.save_edit()
    assert page.edit_error and page.editing  # refused: the message stays at the cell
    page.set_edit_value("7")
    assert page.edit_key("Enter") is not None
    page.save_edit()
    assert not page.edit_error and not page.editing
    db.expire_all()
    assert db.get(items.model, item.id).min_stock == 7
    entry = db.exec(select(AuditLog).where(AuditLog.entity_type == "kitpanel.items", AuditLog.entity_id == str(item.id)).order_by(AuditLog.id.desc())).first()
    assert entry.action == "update" and entry.diff["min_stock"][1] == 7


# --------------------------------------------------------------------------- child rows (fields.rows)
def _windows(db, project_id):
    from models.numbers import ProjectSchedule

    db.expire_all()
    return [(s.weekday, s.start_time.strftime("%H:%M"), s.end_time.strftime("%H:%M"))
            for s in db.exec(select(ProjectSchedule).where(ProjectSchedule.project_id == project_id).order_by(ProjectSchedule.weekday)).all()]


def test_child_rows_are_saved_with_the_record_through_the_child_services(db, users, numbers_world):
    from models.numbers import ProjectSchedule

    w = numbers_world
    projects = resource("numbers.projects")
    manager = users["manager"]
    crud.update_record(db, projects, manager, w["project"], {"windows": [
        {"weekday": "0", "start_time": "09:00", "end_time": "18:00"}, {"weekday": "5", "start_time": "10:00", "end_time": "14:00"}]})
    assert _windows(db, w["project"]) == [(0, "09:00", "18:00"), (5, "10:00", "14:00")]
    entry = _audit(db, w["project"])
    assert entry.diff["windows"][0] == [] and [r["weekday"] for r in entry.diff["windows"][1]] == [0, 5]
    # every refused cell is named by row and field, nothing is saved (the record's own change neither)
    with pytest.raises(ValidationFailed) as info:
        crud.update_record(db, projects, manager, w["project"], {"name": "Другое", "windows": [
            {"weekday": "1", "start_time": "18:00", "end_time": "09:00"}, {"weekday": "9", "start_time": "25:00", "end_time": "10:00"}]})
    assert set(info.value.errors) == {"windows.0.end_time", "windows.1.weekday", "windows.1.start_time"}
    assert info.value.errors["windows.0.end_time"][0] == "numbers.window_order"
    assert _windows(db, w["project"]) == [(0, "09:00", "18:00"), (5, "10:00", "14:00")]
    # a row keeps its child by id; a child left out is deleted; a row without id is new
    kept = db.exec(select(ProjectSchedule).where(ProjectSchedule.project_id == w["project"], ProjectSchedule.weekday == 0)).one()
    crud.update_record(db, projects, manager, w["project"], {"windows": [
        {"id": kept.id, "weekday": "0", "start_time": "08:00", "end_time": "17:00"}, {"weekday": "2", "start_time": "12:00", "end_time": "13:00"}]})
    assert _windows(db, w["project"]) == [(0, "08:00", "17:00"), (2, "12:00", "13:00")]
    assert db.exec(select(ProjectSchedule).where(ProjectSchedule.project_id == w["project"], ProjectSchedule.weekday == 0)).one().id == kept.id
    # an id that is not one of this record's children is refused (another project's window)
    other = ProjectSchedule(project_id=w["other_project"], weekday=3, start_time=kept.start_time, end_time=kept.end_time)
    db.add(other)
    db.commit()
    with pytest.raises(ValidationFailed) as info:
        crud.update_record(db, projects, users["admin"], w["project"], {"windows": [{"id": other.id, "weekday": "3", "start_time": "09:00", "end_time": "10:00"}]})
    assert "windows.0" in info.value.errors
    # garbage instead of rows
    for bad in ("не json", {"a": 1}, [1, 2], "[{]"):
        with pytest.raises(ValidationFailed) as info:
            crud.update_record(db, projects, manager, w["project"], {"windows": bad})
        assert "windows" in info.value.errors
    # a new record and its rows in one transaction
    record = crud.create_record(db, projects, manager, {"name": "С окнами", "providers": [w["mine"]],
                                                        "windows": [{"weekday": "4", "start_time": "10:00", "end_time": "11:00"}]})
    assert _windows(db, record.id) == [(4, "10:00", "11:00")]


def test_api_reads_and_writes_child_rows(client, db, numbers_world, login):
    w = numbers_world
    h = login("manager")
    r = client.patch(f"{PROJECTS}/{w['project']}", headers=h, json={"windows": [{"weekday": 1, "start_time": "09:30", "end_time": "12:00"}]})
    assert r.status_code == 200, r.text
    rows = r.json()["windows"]
    assert [(x["weekday"], x["start_time"], x["end_time"]) for x in rows] == [(1, "09:30:00", "12:00:00")] and rows[0]["id"]
    r = client.patch(f"{PROJECTS}/{w['project']}", headers=h, json={"windows": [{"weekday": 1, "start_time": "12:00", "end_time": "09:30"}]})
    assert r.status_code == 422 and "windows.0.end_time" in r.json()["errors"]
    assert client.get(f"{PROJECTS}/{w['project']}", headers=h).json()["windows"] == rows
    schema = client.get("/api/openapi.json").json()
    body = schema["paths"][PROJECTS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["windows"]["type"] == "array" and "weekday" in body["properties"]["windows"]["items"]["properties"]


def test_a_user_without_update_gets_no_editable_cell_and_cannot_save_one(db, users, kit_data, cheap_hashing):
    import reflex as rx
    from reflex.istate.data import RouterData

    from app.core import auth
    from app.core.ui.base import AuthState
    from app.core.ui.list_state import ListState

    items = resource("kitpanel.items")
    j = next(i for i, c in enumerate(items.columns) if c.name == "min_stock")
    item = kit_data["cable"]
    root = rx.State(_reflex_internal_init=True)
    page = root.substates[AuthState.get_name()].substates[ListState.get_name()]
    token = auth.login(db, "user", "user-pass")
    page.router = RouterData.from_router_data({"headers": {"cookie": f"pult_session={token}"}, "pathname": "/kitpanel/items", "asPath": "/kitpanel/items", "query": {}})
    page.res_key = "kitpanel.items"
    page._reload(sync_url=False)
    assert all(r["can_update"] == "" for r in page.rows)  # no pencil is drawn
    page.start_edit(str(item.id), j, "99")  # a hand-made event is refused on the server
    page.save_edit()
    assert page.edit_error
    db.expire_all()
    assert db.get(items.model, item.id).min_stock == 2
