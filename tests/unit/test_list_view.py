"""The generated list's view handling through its own Reflex handlers (issue 8): "select all
matching" keeps the view and counts it exactly, a live refresh hands on its background recount,
and every change of the view is a new history entry (on the fixture panel, ``tests/kitpanel``)."""

from __future__ import annotations

import pytest
import reflex as rx

from app.core import auth, crud
from app.core.registry import resource
from app.core.ui.base import AuthState
from app.core.ui.list_state import ListState
from tests.uistate import sign_in

pytestmark = pytest.mark.usefixtures("kitpanel")


def _list(token: str, key: str, query: str = "") -> ListState:
    root = rx.State(_reflex_internal_init=True)
    lst = root.substates[AuthState.get_name()].substates[ListState.get_name()]
    sign_in(lst, token)
    _open(lst, key, query)
    assert lst.error == "" and not lst.forbidden
    return lst


def _open(lst: ListState, key: str, query: str) -> object:
    """What the router does on navigation: the page's URL in the router, then ``on_load``."""
    from reflex.istate.data import RouterData

    headers = {"cookie": lst.router.headers.cookie}
    path = resource(key).url()
    lst.router = RouterData.from_router_data({"headers": headers, "pathname": path, "asPath": path + (f"?{query}" if query else ""),
                                              "query": dict(p.split("=", 1) for p in query.split("&") if p)})
    return lst.load(key)


@pytest.fixture()
def token(db, users):
    return auth.login(db, "admin", "admin-pass")


@pytest.fixture()
def orders(db, users, kit_data):
    res = resource("kitpanel.orders")
    return [crud.create_record(db, res, users["admin"], {"phone": f"+7 916 555-00-{i:02d}", "item_id": str(kit_data["cable"].id), "qty": "1"})
            for i in range(7)]


def test_live_refresh_returns_the_background_recount(token, orders, monkeypatch):
    monkeypatch.setattr(resource("kitpanel.orders"), "page_size", 3)  # more than a page: the total is estimated first
    lst = _list(token, "kitpanel.orders")
    lst.total, lst.total_is_estimate = 1, True  # what a refresh shows before the recount
    out = lst.live_refresh()
    assert out is not None and any("refine_total" in repr(e) for e in out)  # app.core.live sends it to the tab


def test_select_all_matching_counts_the_filtered_set_exactly(token, orders, kit_data, monkeypatch):
    monkeypatch.setattr(resource("kitpanel.orders"), "page_size", 3)
    lst = _list(token, "kitpanel.orders", f"f_item_id={kit_data['cable'].id}")
    assert lst.has_next and lst.filters["item_id"] == str(kit_data["cable"].id)
    lst.total, lst.total_is_estimate = 99, True  # an estimate on screen
    lst.toggle_page(True)
    lst.select_all_matching()
    assert lst.all_matching and lst.total == 7 and not lst.total_is_estimate and lst.total_number == "7"
    assert lst.filters["item_id"] == str(kit_data["cable"].id)  # the view is kept


def test_exact_count_keeps_the_filters(token, orders, kit_data):
    lst = _list(token, "kitpanel.orders", f"f_item_id={kit_data['cable'].id}")
    lst.total, lst.total_is_estimate = 1, True
    lst.count_exact()
    assert lst.total_text == "Всего: 7" and lst.filters["item_id"] == str(kit_data["cable"].id)


def test_a_view_change_is_a_history_entry(token, orders, kit_data, monkeypatch):
    monkeypatch.setattr(resource("kitpanel.orders"), "page_size", 3)
    lst = _list(token, "kitpanel.orders")
    first = [r["id"] for r in lst.rows]
    out = lst.go("next")
    events = out if isinstance(out, list) else [out]
    assert any("history.pushState" in repr(e) for e in events), out  # a new entry, not history.replaceState
    assert not any("replaceState" in repr(e) for e in events)
    second = [r["id"] for r in lst.rows]
    assert second != first and lst.cursor
    out = lst.set_filter("status", "issued")
    assert any("history.pushState" in repr(e) and "f_status=issued" in repr(e) for e in (out if isinstance(out, list) else [out]))
    # Back: the router loads the previous entry's URL, the first page comes back
    _open(lst, "kitpanel.orders", "")
    assert [r["id"] for r in lst.rows] == first and lst.filters["status"] == ""


def test_back_to_an_entry_the_router_skips_follows_the_url(token, orders, kit_data, monkeypatch):
    """popstate → ``follow_url``: the view of the entry's URL, and no query when it is on screen."""
    from reflex.istate.data import RouterData

    lst = _list(token, "kitpanel.orders")
    lst.set_filter("status", "issued")
    assert lst.filters["status"] == "issued"

    def at(query: str) -> None:  # the address bar after Back, as the hidden button's event carries it
        path = resource("kitpanel.orders").url()
        lst.router = RouterData.from_router_data({"headers": {"cookie": lst.router.headers.cookie}, "pathname": path + "/",
                                                  "asPath": path + "/" + (f"?{query}" if query else ""),
                                                  "query": dict(p.split("=", 1) for p in query.split("&") if p)})

    at("f_status=issued")
    calls = []
    monkeypatch.setattr(crud, "list_records", lambda *a, **k: calls.append(a) or pytest.fail("queried for the view on screen"))
    assert lst.follow_url() is None and calls == []
    monkeypatch.undo()
    at("")
    lst.follow_url()
    assert lst.filters["status"] == "" and len(lst.rows) == 7


def test_a_choice_filter_in_the_url_applies_however_it_is_spelled(token, orders, db):
    """``/kitpanel/orders?status=ISSUED``: the bare name the REST API takes (not only the page's own
    ``f_status``) and the choice by its enum name or value in any case reach ListParams in the stored
    spelling, and the list shows only the matching rows (it used to show them all)."""
    from sqlmodel import update

    from tests.kitpanel.models import Order, OrderStatus

    issued = [o.id for o in orders[:2]]
    db.exec(update(Order).where(Order.id.in_(issued)).values(status=OrderStatus.issued))
    db.commit()
    for query in ("f_status=issued", "status=issued", "status=ISSUED", "f_status=Issued", "status=issued,DENIED"):
        lst = _list(token, "kitpanel.orders", query)
        assert lst._params().filters["status"] in ("issued", "issued,denied"), query
        assert sorted(int(r["id"]) for r in lst.rows) == sorted(issued), query
    lst = _list(token, "kitpanel.orders", "status=open&f_status=issued")  # the page's own parameter wins
    assert lst.filters["status"] == "issued"


def test_filters_from_query_reads_every_choice_filter_of_the_assets():
    """The equipment assets' three axes, as the list page reads them from its URL."""
    from app.core.query import filter_clause, filters_from_query
    from app.core.errors import ValidationFailed
    from models.equipment import Asset

    res = resource("equipment.assets")
    got = filters_from_query(res, {"process": "FREE", "f_location": "bin", "condition": "Working,requires_repair"})
    assert (got["process"], got["location"], got["condition"]) == ("FREE", "BIN", "WORKING,REQUIRES_REPAIR")
    assert filters_from_query(res, {})["process"] == ""
    assert filters_from_query(res, {"process": "NOPE"})["process"] == "NOPE"  # kept: the list says it is wrong
    with pytest.raises(ValidationFailed):
        filter_clause(Asset, next(f for f in res.filters if f.name == "process"), "NOPE")
