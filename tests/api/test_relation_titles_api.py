"""Relation columns through the REST API: an item keeps its foreign keys as ids (react-admin's
records) and carries each related record's title beside it as ``<column>_title``, read once per
page; null when there is no link or the caller may not see the related record."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

from models.numbers import PhoneNumber

SUPPLIES = "/api/stock/supplies"
NUMBERS = "/api/numbers/numbers"


def test_supplies_carry_the_product_title_and_sort_by_it(client, stock_data, login):
    h = login("manager")
    r = client.get(SUPPLIES, headers=h, params={"sort": "product_id"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [(i["product_id"], i["product_id_title"]) for i in items] == [
        (stock_data["cable"].id, "Кабель USB-C"), (stock_data["router"].id, "Роутер Pro")]
    assert r.json()["page_info"]["keyset"] is False  # sorted through a join: offset paging
    r = client.get(SUPPLIES, headers=h, params={"sort": "-product_id"})
    assert [i["product_id_title"] for i in r.json()["items"]] == ["Роутер Pro", "Кабель USB-C"]
    one = client.get(f"{SUPPLIES}/{items[0]['id']}", headers=h).json()
    assert one["product_id"] == stock_data["cable"].id and one["product_id_title"] == "Кабель USB-C"


def test_the_openapi_document_describes_the_titles(client):
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]
    item = schema["StockSuppliesItem"]["properties"]
    assert "product_id" in item and "product_id_title" in item


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
