"""Many-to-many fields (``fields.many``) on the fixture panel (``tests/kitpanel``): items carry tags
through a link table. The kit alone, without a panel's scope rules (those are tried on the numbers
panel's projects in test_many_links.py): links replaced by difference in the record's transaction
and audited, unknown ids refused under the field with nothing half-saved, the update right
checked, links made with a new record, and the API reading and writing ids with titles."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core import crud
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.registry import resource
from models.core import AuditLog
from tests.kitpanel.models import ItemTag, Tag

pytestmark = pytest.mark.usefixtures("kitpanel")

ITEMS = "/api/kitpanel/items"


@pytest.fixture()
def tags(db):
    made = [Tag(name=n) for n in ("красный", "большой", "хрупкий")]
    db.add_all(made)
    db.commit()
    return {t.name: t.id for t in made}


def _linked(db, item_id: int) -> list[int]:
    db.expire_all()
    return sorted(db.exec(select(ItemTag.tag_id).where(ItemTag.item_id == item_id)).all())


def _audit(db, item_id: int) -> AuditLog:
    return db.exec(select(AuditLog).where(AuditLog.entity_type == "kitpanel.items", AuditLog.entity_id == str(item_id))
                   .order_by(AuditLog.id.desc())).first()


def test_links_are_replaced_by_difference_audited_and_checked(db, users, kit_data, tags):
    items, cable = resource("kitpanel.items"), kit_data["cable"]
    red, big, fragile = tags["красный"], tags["большой"], tags["хрупкий"]
    crud.update_record(db, items, users["manager"], cable.id, {"tags": [red, big]})
    assert _linked(db, cable.id) == sorted([red, big])
    assert _audit(db, cable.id).diff == {"tags": [[], sorted([red, big])]}
    crud.update_record(db, items, users["manager"], cable.id, {"tags": f"{big},{fragile}"})  # a form's string
    assert _linked(db, cable.id) == sorted([big, fragile])
    assert _audit(db, cable.id).diff == {"tags": [sorted([red, big]), sorted([big, fragile])]}
    # an unknown tag is refused under the field; the record's other change is not saved either
    n = db.exec(select(AuditLog)).all()
    with pytest.raises(ValidationFailed) as info:
        crud.update_record(db, items, users["manager"], cable.id, {"tags": [big, fragile + 1000], "name": "Другое имя"})
    assert info.value.errors == {"tags": ("error.relation", {})}
    assert _linked(db, cable.id) == sorted([big, fragile]) and db.get(items.model, cable.id).name == "Кабель USB-C"
    assert db.exec(select(AuditLog)).all() == n
    # garbage instead of ids
    for bad in ("1,x", [1.5], [True], [{"id": 1}]):
        with pytest.raises(ValidationFailed) as info:
            crud.update_record(db, items, users["manager"], cable.id, {"tags": bad})
        assert list(info.value.errors) == ["tags"], bad
    # nothing changed: no audit row
    crud.update_record(db, items, users["manager"], cable.id, {"tags": [fragile, big]})
    assert len(db.exec(select(AuditLog)).all()) == len(n)
    # the operator may see items but not change them: their links neither
    with pytest.raises(PermissionDenied):
        crud.update_record(db, items, users["user"], cable.id, {"tags": []})
    assert _linked(db, cable.id) == sorted([big, fragile])
    crud.update_record(db, items, users["manager"], cable.id, {"tags": []})
    assert _linked(db, cable.id) == []


def test_links_are_made_with_a_new_record_in_its_transaction(db, users, tags):
    items = resource("kitpanel.items")
    made = crud.create_record(db, items, users["manager"], {"name": "С метками", "tags": [tags["большой"]]})
    assert _linked(db, made.id) == [tags["большой"]]
    assert _audit(db, made.id).diff["tags"] == [tags["большой"]]
    with pytest.raises(ValidationFailed):
        crud.create_record(db, items, users["manager"], {"name": "Без меток", "tags": [999999]})
    assert not db.exec(select(items.model).where(items.model.name == "Без меток")).all()


def test_api_reads_and_writes_links_as_ids_with_titles(client, db, kit_data, tags, login):
    h, cable = login("manager"), kit_data["cable"]
    item = client.get(f"{ITEMS}/{cable.id}", headers=h).json()
    assert item["tags"] == [] and item["tags_titles"] == []
    r = client.patch(f"{ITEMS}/{cable.id}", headers=h, json={"tags": [tags["хрупкий"], tags["большой"]]})
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == sorted([tags["хрупкий"], tags["большой"]])
    assert sorted(r.json()["tags_titles"]) == ["большой", "хрупкий"]
    listed = client.get(ITEMS, headers=h).json()["items"]
    assert [sorted(i["tags_titles"]) for i in listed if i["id"] == cable.id] == [["большой", "хрупкий"]]
    r = client.patch(f"{ITEMS}/{cable.id}", headers=h, json={"tags": [999999]})
    assert r.status_code == 422 and "tags" in r.json()["errors"]
    r = client.patch(f"{ITEMS}/{cable.id}", headers=login("user"), json={"tags": []})
    assert r.status_code == 403
    assert _linked(db, cable.id) == sorted([tags["хрупкий"], tags["большой"]])
    body = client.get("/api/openapi.json").json()["paths"][ITEMS]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["tags"]["type"] == "array" and body["properties"]["tags"]["items"] == {"type": "integer"}
