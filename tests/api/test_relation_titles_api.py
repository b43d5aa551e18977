"""Relation columns through the REST API: an item keeps its foreign keys as ids (react-admin's
records) and carries each related record's title beside it as ``<column>_title``, read once per
page; null when there is no link or the caller may not see the related record. The generic case
runs on the fixture panel (``tests/kitpanel``), the scoped one on the numbers panel."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from models.numbers import PhoneNumber

DELIVERIES = "/api/kitpanel/deliveries"
NUMBERS = "/api/numbers/numbers"

pytestmark = pytest.mark.usefixtures("kitpanel")


def test_deliveries_carry_the_item_title_and_sort_by_it(client, kit_data, login):
    h = login("manager")
    r = client.get(DELIVERIES, headers=h, params={"sort": "item_id"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [(i["item_id"], i["item_id_title"]) for i in items] == [
        (kit_data["cable"].id, "Кабель USB-C"), (kit_data["router"].id, "Роутер Pro")]
    assert r.json()["page_info"]["keyset"] is False  # sorted through a join: offset paging
    r = client.get(DELIVERIES, headers=h, params={"sort": "-item_id"})
    assert [i["item_id_title"] for i in r.json()["items"]] == ["Роутер Pro", "Кабель USB-C"]
    one = client.get(f"{DELIVERIES}/{items[0]['id']}", headers=h).json()
    assert one["item_id"] == kit_data["cable"].id and one["item_id_title"] == "Кабель USB-C"


def test_the_openapi_document_describes_the_titles(client):
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]
    item = schema["KitpanelDeliveriesItem"]["properties"]
    assert "item_id" in item and "item_id_title" in item


def test_numbers_titles_are_one_query_each_and_hidden_out_of_scope(client, db, numbers_world, login):
    w = numbers_world
    new = w["status"]["new"]
    db.add_all([PhoneNumber(phone=f"+7999444{i:04d}", provider_id=w["mine"], project_id=w["project"] if i % 2 else w["other_project"],
                            geo_id=w["geo"], status_id=new) for i in range(20)])
    db.commit()
    h = login("manager")
    seen: list[str] = []

    def log(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", log)
    try:
        r = client.get(NUMBERS, headers=h, params={"page_size": 20})
    finally:
        event.remove(Engine, "before_cursor_execute", log)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 20
    assert len([s for s in seen if "FROM project" in s and "project.id IN" in s]) == 1  # not one per row
    titles = {(i["project_id"], i["project_id_title"]) for i in items}
    assert titles == {(w["project"], "Проект свой"), (w["other_project"], None)}  # not the manager's project: no name
    assert {i["provider_id_title"] for i in items} == {"Своя"} and {i["status_id_title"] for i in items} == {"Новый"}
    en = client.get(NUMBERS, headers={**h, "Accept-Language": "en"}, params={"page_size": 1}).json()["items"]
    assert en[0]["status_id_title"] == "New"
    admin = client.get(NUMBERS, headers=login("admin"), params={"page_size": 20}).json()["items"]
    assert {i["project_id_title"] for i in admin} == {"Проект свой", "Проект чужой"}
