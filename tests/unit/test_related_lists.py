"""A detail page's related list shows the rows of that one record — also when the related
resource declares no filter on the foreign key (a shipment's items, its deliveries): the walk found
every shipment's items under each shipment."""

from __future__ import annotations

import pytest

from app.core import crud, query
from app.core.errors import ValidationFailed
from app.core.principal import CurrentUser
from app.core.query import ListParams
from app.core.registry import resource
from tests.unit.test_equipment_process import picked_shipment, world  # noqa: F401 - the fixture

ADMIN = CurrentUser(id=None, username="t", roles=("admin",), permissions=frozenset({"*"}))


def test_the_items_of_one_shipment_only(db, world):  # noqa: F811
    _r1, one = picked_shipment(db, world)
    _r2, two = picked_shipment(db, world)  # the world has routers and cables for two
    items = resource("equipment.shipment_items")
    assert "shipment_id" not in {f.name for f in items.filters} and "shipment_id" in query.related_fks(items())

    page = crud.list_records(db, items, ADMIN, ListParams(filters={"shipment_id": str(one.id)}, page_size=50))
    assert page.rows and {r.shipment_id for r in page.rows} == {one.id}
    everything = crud.list_records(db, items, ADMIN, ListParams(page_size=50)).rows
    assert {r.shipment_id for r in everything} == {one.id, two.id}
    assert crud.list_records(db, items, ADMIN, ListParams(filters={"shipment_id": str(one.id + 1000)})).rows == []
    with pytest.raises(ValidationFailed):  # from a URL: not a number
        crud.list_records(db, items, ADMIN, ListParams(filters={"shipment_id": "1; drop"}))
    # a column no resource relates by is still no filter
    assert crud.list_records(db, items, ADMIN, ListParams(filters={"qty": "999"}, page_size=50)).rows


def test_the_more_link_of_a_related_list_filters_the_list_page():
    """'Подробности' opens /equipment/shipment_items?f_shipment_id=<id>: the page reads it as a filter."""
    items = resource("equipment.shipment_items")()
    got = query.filters_from_query(items, {"f_shipment_id": "7", "f_qty": "3"})
    assert got["shipment_id"] == "7" and "qty" not in got
