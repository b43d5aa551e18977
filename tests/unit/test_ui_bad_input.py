"""Bad input through the UI's own Reflex handlers: a message in the user's language, never an
exception (which the browser shows as an English "An error occurred" with stale rows).

Same inputs as tests/api/test_bad_input.py, driven through ListState (search, filters, paging),
the global search, the form and the detail page, as tests/unit/test_ui_permissions.py drives them;
the kit's own resources here are the fixture panel's (``tests/kitpanel``).
"""

from __future__ import annotations

import pytest
import reflex as rx

from app.core import auth, crud
from app.core.registry import resource
from app.core.ui.base import AuthState
from app.core.ui.detail import DetailState
from app.core.ui.form import FormState
from app.core.ui.layout import SearchState
from app.core.ui.list_state import ListState
from tests.uistate import sign_in

pytestmark = pytest.mark.usefixtures("kitpanel")


def _state(cls, token: str):
    root = rx.State(_reflex_internal_init=True)
    state = root.substates[AuthState.get_name()].substates[cls.get_name()]
    return sign_in(state, token)


@pytest.fixture()
def token(db, users):
    return auth.login(db, "admin", "admin-pass")


@pytest.fixture()
def orders(db, users, kit_data):
    res = resource("kitpanel.orders")
    return [crud.create_record(db, res, users["admin"], {"phone": p, "item_id": str(kit_data["cable"].id), "qty": "1"})
            for p in ("8 (916) 555-12-34", "+7 999 000-11-22")]


def _list(token: str, key: str):
    lst = _state(ListState, token)
    lst.load(key)
    assert lst.error == "" and not lst.forbidden
    return lst


@pytest.mark.parametrize("key", ["kitpanel.orders", "kitpanel.items", "admin.users", "numbers.numbers"])
def test_a_long_number_searched_shows_an_empty_list_not_an_error(token, orders, key):
    lst = _list(token, key)
    lst.set_search("12345678901")
    assert lst.error == "" and lst.rows == []


@pytest.mark.parametrize("typed", ["8 (916) 555-12-34", "916 555", "89165551234"])
def test_orders_list_finds_a_dictated_phone(token, orders, typed):
    lst = _list(token, "kitpanel.orders")
    lst.set_search(typed)
    assert lst.error == "" and [r["id"] for r in lst.rows] == [str(orders[0].id)]


@pytest.mark.parametrize("name,value,message", [
    ("item_id", "99999999999", "Фильтр «Позиция»: Выберите запись из списка"),
    ("created_at", "2026-99-01..", "Фильтр «Создано»: Введите дату ГГГГ-ММ-ДД"),
    ("phone", "12\x00", "Фильтр «Телефон»: Текст содержит недопустимые символы"),
])
def test_a_bad_filter_value_shows_its_message_and_keeps_the_page(token, orders, name, value, message):
    lst = _list(token, "kitpanel.orders")
    out = lst.set_filter(name, value)
    assert lst.error == message and lst.rows == []
    assert "set_url" in repr(out) or out is not None  # the view (with the bad value) still goes to the URL
    lst.set_filter(name, "")  # fixing the filter brings the rows back
    assert lst.error == "" and len(lst.rows) == 2


def test_a_number_range_beyond_the_column_shows_the_limit(token, kit_data):
    lst = _list(token, "kitpanel.items")
    lst.set_range("price_rub", "lo", "1e20")
    assert lst.error.endswith("Не больше 9999999999.99") and lst.rows == []
    lst.set_range("price_rub", "lo", "")
    assert lst.error == "" and len(lst.rows) == 2


def test_search_with_a_nul_shows_a_message(token, kit_data):
    lst = _list(token, "kitpanel.items")
    lst.set_search("USB\x00")
    assert lst.error == "Поиск: Текст содержит недопустимые символы" and lst.rows == []


def test_a_page_beyond_reach_shows_a_message(token, users):
    lst = _list(token, "admin.schedules")  # offset paging
    lst.page = 10**18
    lst.refresh()
    assert lst.error == "Страница: Не больше 1000000"


def test_english_users_read_the_message_in_english(token, orders):
    lst = _list(token, "kitpanel.orders")
    lst.lang = "en"
    lst.set_filter("item_id", "99999999999")
    assert lst.error == "Filter “Item”: Choose a record from the list"


@pytest.mark.parametrize("q", ["12345678901", "9999999999999999999999", "a\x00b"])
def test_global_search_never_raises(token, orders, q):
    search = _state(SearchState, token)
    out = search.search(q)
    assert search.hits == [] or all(h["href"] for h in search.hits)
    assert out is None or "toast" in repr(out)


def test_global_search_finds_an_order_by_a_dictated_phone(token, orders):
    search = _state(SearchState, token)
    search.search("8 (916) 555-12-34")
    assert f"/kitpanel/orders/{orders[0].id}" in [h["href"] for h in search.hits]


def test_form_shows_each_bad_value_under_its_field(token, kit_data):
    form = _state(FormState, token)
    form.res_key, form.record_id = "kitpanel.items", ""
    form.values = {"name": "Флешка\x00", "price_rub": "100000000000", "min_stock": "99999999999"}
    form.save()
    assert form.errors == {"name": "Текст содержит недопустимые символы", "price_rub": "Не больше 9999999999.99",
                           "min_stock": "Не больше 2147483647"}


@pytest.mark.parametrize("rid", ["99999999999", "2147483648", "1e3"])
def test_detail_and_edit_pages_of_an_id_beyond_the_column_say_not_found(token, orders, rid):
    detail = _state(DetailState, token)
    detail.res_key, detail.record_id = "kitpanel.orders", rid
    detail._reload()
    assert detail.missing
