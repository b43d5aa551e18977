"""Boundary rules of the kit's parsers (app/core/inputs.py): every value from outside is either
taken or refused with a message — never left for PostgreSQL or Python to fail on.

One test per class of input the review found giving 500s: ids beyond the column's type, deep
pages, NUL bytes, lone surrogates, money beyond ``numeric(p, s)``, far dates, nested JSON; each
through the parsers the UI and the API share (``crud.parse_value``/``parse_form``/
``parse_action_params``, ``query.filter_clause``/``parse_pk``/cursors/search). The kit's resources
here are the fixture panel's (``tests/kitpanel``), beside the numbers and admin ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal

import pytest

from app.core import crud, inputs
from app.core.errors import NotFound, ValidationFailed
from app.core.query import MAX_PAGE, ListParams, get_list, parse_pk
from app.core.registry import resource
from app.core.resource import FormField
from models.numbers import NumberStatus, PhoneNumber
from tests.kitpanel.models import Item, Order

INT4_MAX, INT8_MAX = 2**31 - 1, 2**63 - 1

pytestmark = pytest.mark.usefixtures("kitpanel")


# --------------------------------------------------------------------------- the rules themselves
def test_integers_fit_the_columns_type():
    order_id = Order.__table__.columns["id"]  # integer
    number_id = PhoneNumber.__table__.columns["id"]  # bigint
    status_id = NumberStatus.__table__.columns["id"]  # smallint
    assert inputs.check_int(INT4_MAX, order_id) == INT4_MAX
    with pytest.raises(inputs.OutOfRange) as exc:
        inputs.check_int(INT4_MAX + 1, order_id)
    assert exc.value.error() == ("error.max", {"max": str(INT4_MAX)})
    assert inputs.check_int(INT4_MAX + 1, number_id) == INT4_MAX + 1
    with pytest.raises(inputs.OutOfRange):
        inputs.check_int(INT8_MAX + 1, number_id)
    with pytest.raises(inputs.OutOfRange) as exc:
        inputs.check_int(-40_000, status_id)
    assert exc.value.error() == ("error.min", {"min": str(-(2**15))})


def test_decimals_fit_numeric_precision():
    price = Item.__table__.columns["price_rub"]  # numeric(12, 2)
    assert inputs.check_decimal(Decimal("9999999999.99"), price)
    with pytest.raises(inputs.OutOfRange) as exc:
        inputs.check_decimal(Decimal("10000000000"), price)
    assert exc.value.error() == ("error.max", {"max": "9999999999.99"})
    for bad in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(ValueError):
            inputs.check_decimal(Decimal(bad), price)
    with pytest.raises(ValueError):  # no declared precision: absurd exponents still refused
        inputs.check_decimal(Decimal("1e999999"))


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "lone \ud800 surrogate", "\udfff"])
def test_text_with_nul_or_a_lone_surrogate_is_refused(text):
    with pytest.raises(inputs.BadText):
        inputs.check_text(text)
    with pytest.raises(inputs.BadText):
        inputs.clean_text({"params": [text]})


def test_text_otherwise_passes_unchanged():
    for text in ("Кабель USB-C", "emoji 🙂", "tab\tand\nnewline", ""):
        assert inputs.check_text(text) == text


def test_nesting_is_bounded():
    deep: list = []
    for _ in range(inputs.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(ValueError):
        inputs.clean_text({"a": deep})
    assert inputs.clean_text({"a": [[["fine"]]]}) == {"a": [[["fine"]]]}


# --------------------------------------------------------------------------- primary keys (paths, bulk ids)
@pytest.mark.parametrize("raw", ["12345678901", 2**31, "99999999999999999999999", "1e5", "1.5", 1.5, "", "\x00", True, None, [1], {"a": 1}])
def test_ids_the_column_cannot_hold_name_no_record(raw):
    with pytest.raises((ValueError, TypeError)):
        parse_pk(Order, raw)


def test_ids_that_fit_are_taken():
    assert parse_pk(Order, " 12 ") == 12 and parse_pk(Order, INT4_MAX) == INT4_MAX
    assert parse_pk(PhoneNumber, str(INT4_MAX + 1)) == INT4_MAX + 1  # bigint


def test_get_record_with_a_huge_id_is_not_found(db, users):
    with pytest.raises(NotFound):
        crud.get_record(db, resource("kitpanel.orders"), users["admin"], "12345678901")


# --------------------------------------------------------------------------- form values (UI forms, API bodies)
def _parse(model, field: FormField, raw):
    return crud.parse_value(model, field, raw)


def test_form_integers_beyond_the_column_get_a_message():
    assert _parse(Item, FormField("min_stock"), "99999999999") == (None, ("error.max", {"max": str(INT4_MAX)}))
    assert _parse(Item, FormField("min_stock"), 10**40) == (None, ("error.max", {"max": str(INT4_MAX)}))
    assert _parse(Item, FormField("min_stock"), "7" * 5000) == (None, ("error.int", {}))
    assert _parse(Item, FormField("min_stock"), 1.5) == (None, ("error.int", {}))
    assert _parse(Item, FormField("min_stock"), "12") == (12, None)


def test_form_money_beyond_numeric_precision_gets_a_message():
    price = FormField("price_rub", "money")
    assert _parse(Item, price, "10000000000") == (None, ("error.max", {"max": "9999999999.99"}))
    assert _parse(Item, price, "1e30") == (None, ("error.max", {"max": "9999999999.99"}))
    assert _parse(Item, price, "9999999999.995") == (None, ("error.max", {"max": "9999999999.99"}))  # rounds up past it
    assert _parse(Item, price, "NaN") == (None, ("error.number", {}))
    assert _parse(Item, price, "1 490,50") == (Decimal("1490.50"), None)


def test_form_far_dates_get_a_message():
    created = FormField("created_at", "date")
    key, params = _parse(Item, created, "9999-12-31")[1]
    assert key == "error.date_range" and params == {"min": "01.01.1900", "max": "31.12.2999"}
    assert _parse(Item, created, "0001-01-01")[1][0] == "error.date_range"
    assert _parse(Item, created, "2026-02-30") == (None, ("error.date", {}))
    assert _parse(Item, created, "2026-03-01") == (dt.date(2026, 3, 1), None)


@pytest.mark.parametrize("raw", ["Кабель\x00", "Кабель \ud83d"])
def test_form_text_with_unstorable_characters_gets_a_message(raw):
    assert _parse(Item, FormField("name"), raw) == (None, ("error.text_chars", {}))


@pytest.mark.parametrize("raw", [{"a": 1}, [1, 2], {"deep": [[[[]]]]}])
def test_form_objects_where_a_value_belongs_get_a_message(raw):
    assert _parse(Item, FormField("name"), raw) == (None, ("error.value", {}))
    assert _parse(Item, FormField("min_stock"), raw) == (None, ("error.value", {}))


def test_multiselect_with_non_strings_is_refused():
    from models.core import Role

    perms = FormField("permissions", "multiselect", options=(("stock.products.view", "x"),))
    assert _parse(Role, perms, [{"a": 1}]) == (None, ("error.choice", {}))
    assert _parse(Role, perms, ["stock.products.view"]) == (["stock.products.view"], None)


def test_relation_ids_beyond_the_target_key_are_a_wrong_choice(db, users, kit_data):
    orders = resource("kitpanel.orders")
    with pytest.raises(ValidationFailed) as exc:
        crud.create_record(db, orders, users["admin"], {"phone": "+79161234567", "item_id": "99999999999", "qty": "1"})
    assert exc.value.errors == {"item_id": ("error.relation", {})}


def test_create_refuses_every_bad_field_at_once_and_writes_nothing(db, users):
    from sqlmodel import func, select

    items = resource("kitpanel.items")
    with pytest.raises(ValidationFailed) as exc:
        crud.create_record(db, items, users["admin"], {"name": "X\x00", "price_rub": "1e15", "min_stock": "4294967296"})
    assert exc.value.errors == {
        "name": ("error.text_chars", {}),
        "price_rub": ("error.max", {"max": "9999999999.99"}),
        "min_stock": ("error.max", {"max": str(INT4_MAX)}),
    }
    assert db.exec(select(func.count()).select_from(Item)).one() == 0


@pytest.mark.parametrize("args", ['{"a": "\\u0000"}', "[" * 5000 + "]" * 5000, '{"a": ' + "[" * 100 + "]" * 100 + "}"])
def test_schedule_args_that_jsonb_cannot_take_are_refused_under_the_field(db, users, args):
    with pytest.raises(ValidationFailed) as exc:
        crud.create_record(db, resource("admin.schedules"), users["admin"],
                           {"name": "nightly", "kind": "kit.export", "cron": "0 3 * * *", "args_json": args})
    assert exc.value.errors == {"args_json": ("schedules.args_invalid", {})}


def test_a_key_typed_by_people_is_required(db, users):
    with pytest.raises(ValidationFailed) as exc:  # was: a NULL primary key reaching the database
        crud.create_record(db, resource("admin.roles"), users["admin"], {"label": "Без имени", "permissions": []})
    assert exc.value.errors == {"name": ("error.required", {})}


def test_action_params_are_parsed_with_the_same_rules(db, users, numbers_world):
    res = resource("numbers.numbers")()
    with pytest.raises(ValidationFailed) as exc:
        crud.parse_action_params(db, res, users["admin"], "set_status", {"status_id": "99999"})  # beyond smallint
    assert exc.value.errors == {"status_id": ("error.relation", {})}
    with pytest.raises(ValidationFailed) as exc:
        crud.parse_action_params(db, res, users["admin"], "set_status", {"status_id": {"nested": ["x"]}})
    assert exc.value.errors == {"status_id": ("error.value", {})}


# --------------------------------------------------------------------------- lists: search, filters, cursors, pages
@pytest.fixture()
def orders_with_phones(db, users, kit_data):
    orders = resource("kitpanel.orders")
    made = [crud.create_record(db, orders, users["admin"], {"phone": phone, "item_id": str(kit_data["cable"].id), "qty": "1"})
            for phone in ("8 (916) 555-12-34", "+7 999 000-11-22")]
    return made


def _list(db, users, key: str, **kw):
    return get_list(db, resource(key)(), users["admin"], ListParams(page_size=50, **kw))


@pytest.mark.parametrize("q", ["12345678901", "2147483648", "99999999999999999999", "9223372036854775808"])
def test_a_long_number_searched_is_no_id_term(db, users, orders_with_phones, q):
    for key in ("kitpanel.orders", "kitpanel.items", "admin.users", "numbers.numbers"):
        assert _list(db, users, key, search=q).rows == []  # no "integer out of range"


def test_a_number_that_fits_still_finds_the_id(db, users, kit_data):
    router = kit_data["router"]  # no digit in any searched field of either item
    assert [p.id for p in _list(db, users, "kitpanel.items", search=str(router.id)).rows] == [router.id]


@pytest.mark.parametrize("q", ["a\x00b", "x\ud800"])
def test_search_with_unstorable_characters_is_refused(db, users, q):
    with pytest.raises(ValidationFailed) as exc:
        _list(db, users, "kitpanel.items", search=q)
    assert exc.value.errors == {"q": ("error.text_chars", {})}


@pytest.mark.parametrize("key,filters,error", [
    ("kitpanel.orders", {"item_id": "99999999999"}, ("error.relation", {})),
    ("kitpanel.orders", {"item_id": "1,abc"}, ("error.relation", {})),
    ("kitpanel.orders", {"status": "bogus"}, ("error.choice", {})),
    ("kitpanel.orders", {"phone": "12\x00"}, ("error.text_chars", {})),
    ("kitpanel.orders", {"created_at": "2026-13-01.."}, ("error.date", {})),
    ("kitpanel.items", {"stock": "..99999999999"}, ("error.max", {"max": str(INT4_MAX)})),
    ("kitpanel.items", {"stock": "-99999999999.."}, ("error.min", {"min": str(-(2**31))})),
    ("kitpanel.items", {"price_rub": "1e20.."}, ("error.max", {"max": "9999999999.99"})),
    ("kitpanel.items", {"price_rub": "NaN.."}, ("error.number", {})),
    ("numbers.numbers", {"status_id": "40000"}, ("error.relation", {})),
])
def test_a_filter_value_the_column_cannot_take_is_refused_under_its_name(db, users, numbers_world, key, filters, error):
    with pytest.raises(ValidationFailed) as exc:
        _list(db, users, key, filters=filters)
    assert exc.value.errors == {next(iter(filters)): error}


def test_date_filter_up_to_the_last_day_python_knows(db, users, orders_with_phones):
    got = _list(db, users, "kitpanel.orders", filters={"created_at": "0001-01-01..9999-12-31"}).rows
    assert len(got) == 2
    assert len(_list(db, users, "kitpanel.orders", filters={"created_at": "9999-12-31.."}).rows) == 0


def test_page_beyond_the_last_one_paging_can_reach_is_refused(db, users):
    schedules = "admin.schedules"  # offset paging
    with pytest.raises(ValidationFailed) as exc:
        _list(db, users, schedules, page=10**18)
    assert exc.value.errors == {"page": ("error.max", {"max": MAX_PAGE})}
    assert _list(db, users, schedules, page=MAX_PAGE).rows == []


def _token(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def test_cursors_outside_the_columns_fall_back_to_the_first_page(db, users, orders_with_phones):
    first = [o.id for o in _list(db, users, "kitpanel.orders", sort="id").rows]
    deep = "[" * 100_000 + "]" * 100_000
    for cursor in (_token([2**40, 2**40]), _token(["a\x00", 1]), "after:" + base64.urlsafe_b64encode(deep.encode()).decode(),
                   "after:" + _token([10**30, 1]), "after:" + _token(["x", 10**30])):
        if not cursor.startswith(("after:", "before:")):
            cursor = "after:" + cursor
        assert [o.id for o in _list(db, users, "kitpanel.orders", sort="id", cursor=cursor).rows] == first, cursor
    priced = [p.id for p in _list(db, users, "kitpanel.items", sort="name").rows]
    assert [p.id for p in _list(db, users, "kitpanel.items", sort="name", cursor="after:" + _token(["a\x00", 1])).rows] == priced


# --------------------------------------------------------------------------- phones in every search (item 5)
@pytest.mark.parametrize("typed", ["8 (916) 555-12-34", "916 555", "+7 916 555 12 34", "89165551234", "555-12-34", "8 (916"])
def test_orders_are_found_by_the_phone_as_a_customer_dictates_it(db, users, orders_with_phones, typed):
    rows = _list(db, users, "kitpanel.orders", search=typed).rows
    assert [o.phone for o in rows] == ["+79165551234"], typed


@pytest.mark.parametrize("typed", ["8 (916) 555", "916 555-12", "+7 916 555 12 34"])
def test_a_phone_filter_reads_the_phone_as_stored(db, users, orders_with_phones, typed):
    rows = _list(db, users, "kitpanel.orders", filters={"phone": typed}).rows
    assert [o.phone for o in rows] == ["+79165551234"], typed


def test_other_search_fields_still_get_the_term_as_typed(db, users, kit_data):
    orders = resource("kitpanel.orders")
    crud.create_record(db, orders, users["admin"], {"phone": "+79990001122", "customer_name": "Клиент 916 555", "item_id": str(kit_data["cable"].id), "qty": "1"})
    rows = _list(db, users, "kitpanel.orders", search="Клиент 916").rows
    assert [o.customer_name for o in rows] == ["Клиент 916 555"]
    assert resource("kitpanel.orders")().search_terms("916 555") == {"phone": "916555", "customer_name": "916 555", "item_name": "916 555"}


def test_a_fields_kind_comes_from_its_column_or_its_form_field():
    from app.core.resource import Resource, col

    class Contacts(Resource, model=Order):
        search = ["phone", "customer_name"]
        columns = [col("customer_name").phone()]

    assert Contacts.kind_of("customer_name").name == "phone"  # the column says so
    assert Contacts.kind_of("phone").name == "text"  # the model's form is inferred: nothing declared
    assert Contacts().search_terms("8 (916) 555") == {"phone": "8 (916) 555", "customer_name": "+7916555"}
    assert resource("kitpanel.orders").kind_of("phone").name == "phone"  # fields.phone on the form
    assert resource("numbers.numbers").kind_of("phone").name == "phone"
