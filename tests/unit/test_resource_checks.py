"""Misdeclared resources fail at boot, with a message naming the resource and the field: a
resource on its own when it registers, a reference to another resource when the registry is
checked (``registry.check``, after every panel registered, so order never matters). The throwaway
resources sit on the fixture panel's models and point at its resources (``tests/kitpanel``)."""

from __future__ import annotations

import itertools
from contextlib import contextmanager

import pytest

from app.core.registry import PANELS, RESOURCES, Panel, check, register
from app.core.resource import ImproperlyConfigured, Resource, check_resource, col, fields, filters
from tests.kitpanel.models import Item, Order

_seq = itertools.count()

pytestmark = pytest.mark.usefixtures("kitpanel")


def _panel_name() -> str:
    return f"chk{next(_seq)}"


@contextmanager
def registering(*resources: type[Resource]):
    """Register a throwaway panel and check the registry as boot does; remove every trace of it
    afterwards, whatever happened."""
    name = _panel_name()
    try:
        yield lambda: (register(Panel(name=name, label=name, resources=list(resources))), check())
    finally:
        PANELS.pop(name, None)
        for key in [k for k in RESOURCES if k.startswith(f"{name}.")]:
            RESOURCES.pop(key)


def _fails(res: type[Resource], *needles: str) -> str:
    with registering(res) as do, pytest.raises(ImproperlyConfigured) as info:
        do()
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    return message


@pytest.fixture(autouse=True)
def _registry_untouched():
    """Every test leaves the registry as it found it (the real panels and the fixture panel stay,
    nothing else)."""
    from app.boot import boot

    boot()
    before_panels, before_resources = dict(PANELS), dict(RESOURCES)
    yield
    assert PANELS == before_panels
    assert RESOURCES == before_resources


def test_a_correct_resource_registers_under_panel_and_slug():
    class Fine(Resource, model=Item):
        search = ["name"]
        columns = [col("name").sortable(), col("stock").numeric().sortable()]
        filters = [filters.ternary("is_low"), filters.relation("id", "kitpanel.items")]
        form = [fields.section("main", ["name", fields.money("price_rub")])]
        default_sort = "-stock"

    with registering(Fine) as do:
        panel, _ = do()
        assert panel.name in PANELS
        assert RESOURCES[f"{panel.name}.fine"] is Fine
        assert Fine.key() == f"{panel.name}.fine"
        assert Fine.perm("update") == f"{panel.name}.fine.update"


def test_column_naming_a_missing_field():
    class BadColumn(Resource, model=Item):
        columns = [col("name"), col("colour")]

    _fails(BadColumn, "BadColumn", "'colour'", "Item")


def test_column_with_value_function_need_not_be_a_field():
    class Computed(Resource, model=Order):
        columns = [col("total").value(lambda o: o.qty * o.unit_price)]

    check_resource(Computed)  # no error


def test_sortable_column_must_be_a_database_column_not_a_property(monkeypatch):
    monkeypatch.setattr(Item, "margin", property(lambda self: 1), raising=False)

    class PlainProperty(Resource, model=Item):
        columns = [col("margin")]

    check_resource(PlainProperty)  # shown, not sorted: fine

    class SortedProperty(Resource, model=Item):
        columns = [col("name").sortable(), col("margin").sortable()]

    msg = _fails(SortedProperty, "SortedProperty", "'margin'", "sortable")
    assert "database column" in msg


def test_filter_on_a_missing_column():
    class BadFilter(Resource, model=Item):
        filters = [filters.select("vendor"), filters.number("weight")]

    _fails(BadFilter, "BadFilter", "'weight'")


def test_unknown_filter_kind():
    from app.core.resource import Filter

    class OddFilter(Resource, model=Item):
        filters = [Filter("slider", "stock")]

    _fails(OddFilter, "OddFilter", "'stock'", "'slider'")


def test_search_field_missing():
    class BadSearch(Resource, model=Item):
        search = ["name", "barcode"]

    _fails(BadSearch, "BadSearch", "'barcode'", "search")


def test_search_on_a_property_is_refused(monkeypatch):
    monkeypatch.setattr(Item, "margin", property(lambda self: 1), raising=False)

    class SearchProperty(Resource, model=Item):
        search = ["margin"]

    _fails(SearchProperty, "SearchProperty", "'margin'")


def test_form_field_missing():
    class BadForm(Resource, model=Item):
        form = [fields.section("main", ["name", fields.money("price_usd", "USD")])]

    _fails(BadForm, "BadForm", "'price_usd'", "form field")


def test_virtual_and_password_form_fields_are_allowed():
    class Virtual(Resource, model=Item):
        form = [fields.section("main", ["name", fields.integer("initial_qty", virtual=True)])]

    check_resource(Virtual)


def test_bad_default_sort():
    class BadSort(Resource, model=Item):
        default_sort = "-popularity"

    _fails(BadSort, "BadSort", "'-popularity'", "default_sort")


def test_bad_pagination_value():
    class BadPaging(Resource, model=Item):
        pagination = "infinite"

    _fails(BadPaging, "BadPaging", "infinite")


def test_relation_filter_pointing_at_an_unknown_resource():
    class BadRelation(Resource, model=Order):
        filters = [filters.relation("item_id", "kitpanel.goods")]

    _fails(BadRelation, "BadRelation", "'item_id'", "'kitpanel.goods'")


def test_relation_form_field_pointing_at_an_unknown_resource():
    class BadPicker(Resource, model=Order):
        form = [fields.section("main", [fields.relation("item_id", "nowhere.products"), "qty"])]

    _fails(BadPicker, "BadPicker", "'item_id'", "'nowhere.products'")


def test_relation_column_pointing_at_an_unknown_resource():
    class BadTitles(Resource, model=Order):
        columns = [col("item_id").relation("kitpanel.goods")]

    _fails(BadTitles, "BadTitles", "relation column 'item_id'", "'kitpanel.goods'")


def test_relation_column_must_be_a_database_column_without_a_value_function(monkeypatch):
    monkeypatch.setattr(Item, "vendor_id", property(lambda self: 1), raising=False)

    class OnAProperty(Resource, model=Item):
        columns = [col("vendor_id").relation("kitpanel.items")]

    _fails(OnAProperty, "OnAProperty", "'vendor_id'", "database column")

    class Both(Resource, model=Order):
        columns = [col("item_id").relation("kitpanel.items").value(lambda o: o.item_name)]

    _fails(Both, "Both", "'item_id'", "value()")


def test_title_field_must_be_a_database_column():
    class BadTitle(Resource, model=Item):
        title_field = "label"

    _fails(BadTitle, "BadTitle", "title_field 'label'")


def test_relation_to_a_resource_of_the_same_panel_is_fine():
    name = _panel_name()

    class Things(Resource, model=Item):
        pass

    class ThingOrders(Resource, model=Order):
        columns = [col("item_id").relation(f"{name}.things")]
        filters = [filters.relation("item_id", f"{name}.things")]
        form = [fields.section("main", [fields.relation("item_id", f"{name}.things"), "qty"])]

    try:
        register(Panel(name=name, label=name, resources=[ThingOrders, Things]))  # the order does not matter
        check()
        assert RESOURCES[f"{name}.thingorders"] is ThingOrders
    finally:
        PANELS.pop(name, None)
        for key in [k for k in RESOURCES if k.startswith(f"{name}.")]:
            RESOURCES.pop(key)


def test_action_named_like_a_builtin_operation_is_refused():
    from app.core.resource import action

    class Clash(Resource, model=Item):
        @action("x")
        def delete(self, ctx, records):  # noqa: D102
            return None

    _fails(Clash, "Clash", "'delete'")


def test_same_resource_key_twice_is_refused():
    class Twice(Resource, model=Item):
        pass

    class Twice2(Resource, model=Item):
        slug = "twice"

    with registering(Twice, Twice2) as do, pytest.raises(ImproperlyConfigured) as info:
        do()
    assert ".twice" in str(info.value) and "registered twice" in str(info.value)


def test_real_panels_pass_their_own_checks():
    for res in RESOURCES.values():
        check_resource(res)
    assert {"stock.products", "stock.supplies", "stock.orders", "admin.users", "admin.roles", "admin.audit"} <= set(RESOURCES)


def test_a_set_based_twin_must_be_a_method_or_a_callable_on_a_job_action():
    from app.core.resource import action

    class NoSuchMethod(Resource, model=Item):
        @action("restock", bulk=True, job=True, many="restock_all")
        def restock(self, ctx, records):
            return None

    _fails(NoSuchMethod, "NoSuchMethod", "restock", "restock_all", "neither a method")

    class NotCallable(Resource, model=Item):
        @action("restock", bulk=True, job=True, many=42)
        def restock(self, ctx, records):
            return None

    _fails(NotCallable, "NotCallable", "many=42")

    class NotAJob(Resource, model=Item):
        @action("restock", bulk=True, many="restock_many")
        def restock(self, ctx, records):
            return None

        def restock_many(self, ctx, ids):
            return len(ids)

    _fails(NotAJob, "NotAJob", "job=True")

    class Fine(Resource, model=Item):
        @action("restock", bulk=True, job=True, many=lambda res, ctx, ids: len(ids))
        def restock(self, ctx, records):
            return None

    with registering(Fine) as do:
        do()
    assert callable(Fine.actions["restock"].many)


def test_a_trash_view_is_an_option_not_an_override(db, users):
    """``trash = True``: only soft-deleted records, through the resource's own ``list_query`` (its
    scope kept) and every path that finds records; no trash toggle of its own; refused on a model
    that does not soft-delete."""
    from sqlmodel import select

    from app.core import crud
    from app.core.errors import NotFound
    from app.core.query import ListParams, base_query
    from app.core.registry import resource
    from models.numbers import Project

    deleted = resource("numbers.deleted_projects")
    assert deleted.trash and not deleted.has_soft_delete() and resource("numbers.projects").has_soft_delete()
    live_p, gone = Project(name="Live one"), Project(name="Gone one")
    db.add_all([live_p, gone])
    db.commit()
    crud.delete_record(db, resource("numbers.projects"), users["admin"], gone.id)
    ids = {p.id for p in db.exec(base_query(deleted(), users["admin"], ListParams())).all()}
    assert gone.id in ids and live_p.id not in ids
    assert crud.get_record(db, deleted, users["admin"], gone.id).id == gone.id
    with pytest.raises(NotFound):
        crud.get_record(db, deleted, users["admin"], live_p.id)  # an action cannot reach a live project
    # the resource's own scope stays: a manager without the project sees nothing of it
    assert gone.id not in {p.id for p in db.exec(deleted().list_query(users["manager"], select(Project))).all()}

    class Inherits(deleted):  # a subclass keeps one trash clause, not two
        slug = "deleted_again"

    sql = str(Inherits().list_query(users["admin"], select(Project)))
    assert sql.count("deleted_at IS NOT NULL") == 1, sql

    class NoSoftDelete(Resource, model=Order):
        trash = True

    _fails(NoSoftDelete, "NoSoftDelete", "trash = True", "deleted_at", "Order")
