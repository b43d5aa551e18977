"""Formatting for the UI and CSV, and the translation catalog (records and labels of the fixture
panel, ``tests/kitpanel``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.core import i18n
from app.core.display import fmt_cell, fmt_datetime, fmt_money, fmt_number, fmt_value, form_value, label_for
from app.core.errors import ValidationFailed
from app.core.i18n import t
from app.core.resource import FormField, col
from tests.kitpanel.models import Item, Order, OrderStatus

NB = "\u00a0"
pytestmark = pytest.mark.usefixtures("kitpanel")  # its labels: order statuses, field names


@pytest.fixture(autouse=True, scope="module")
def _catalogs():
    from app.boot import boot

    boot()  # the built-in panels' labels (roles)


def test_numbers_ru_and_en():
    assert fmt_number(1234567, "ru") == f"1{NB}234{NB}567"
    assert fmt_number(1234567, "en") == "1,234,567"
    assert fmt_number(Decimal("1234.5"), "ru", 2) == f"1{NB}234,50"
    assert fmt_number(Decimal("1234.5"), "en", 2) == "1,234.50"
    assert fmt_number(Decimal("0.005"), "en", 2) in ("0.00", "0.01")
    assert fmt_number(-42, "ru") == "-42"
    assert fmt_number(None, "ru") == ""


def test_money_ru_and_en():
    assert fmt_money(Decimal("1234.5"), "RUB", "ru") == f"1{NB}234,50{NB}₽"
    assert fmt_money(Decimal("1234.5"), "RUB", "en") == f"1,234.50{NB}₽"
    assert fmt_money(3, "EUR", "ru") == f"3,00{NB}€"
    assert fmt_money("99.999", "USD", "en") == f"100.00{NB}$"
    assert fmt_money(Decimal("5"), "CHF", "en") == f"5.00{NB}CHF"
    assert fmt_money(Decimal("5"), None, "en") == "5.00"
    assert fmt_money(None, "RUB", "ru") == ""


def test_dates_and_datetimes_in_the_display_time_zone(monkeypatch):
    from zoneinfo import ZoneInfo

    from app.core import formats

    monkeypatch.setattr(formats, "TIMEZONE", ZoneInfo("Europe/Moscow"))  # the default, whatever PULT_TIMEZONE says here
    # 21:30 UTC is 00:30 the next day in Moscow (UTC+3)
    aware = dt.datetime(2026, 1, 5, 21, 30, tzinfo=dt.timezone.utc)
    assert fmt_datetime(aware) == "06.01.2026 00:30"
    assert fmt_datetime(aware, with_time=False) == "06.01.2026"
    assert fmt_datetime(dt.date(2026, 1, 5)) == "05.01.2026"
    assert fmt_datetime(dt.datetime(2026, 1, 5, 9, 5)) == "05.01.2026 09:05"  # naive: shown as is
    assert fmt_datetime(None) == ""
    assert fmt_value(aware, "en", "date") == "06.01.2026"
    assert fmt_value(aware, "en", "datetime") == "06.01.2026 00:30"


def test_enum_choices_label():
    assert fmt_value(OrderStatus.issued, "ru", choices_key="kit_order.status") == "Выдана"
    assert fmt_value(OrderStatus.issued, "en", choices_key="kit_order.status") == "Issued"
    assert fmt_value("denied", "en", choices_key="kit_order.status") == "Denied"
    assert fmt_value("admin", "ru", choices_key="role") == "Администратор"
    assert fmt_value(OrderStatus.open, "en") == "open"  # no labels asked for


def test_other_values():
    assert fmt_value(True, "ru") == "Да" and fmt_value(False, "en") == "No"
    assert fmt_value(0, "en", "bool") == "No"
    assert fmt_value(Decimal("1500.5"), "ru") == f"1{NB}500,5"
    assert fmt_value(Decimal("1500.5"), "ru", "money", "RUB") == f"1{NB}500,50{NB}₽"
    assert fmt_value(["a", "b"], "en") == "a, b"
    assert fmt_value(None, "en", "money", "RUB") == ""
    assert fmt_value("plain", "en") == "plain"


def test_cells_use_the_column_declaration():
    o = Order(phone="+79991234567", item_id=1, qty=3, unit_price=Decimal("250"), status=OrderStatus.denied)
    total = col("total").money("RUB").value(lambda o: o.qty * o.unit_price)
    assert fmt_cell(total, o, "ru") == f"750,00{NB}₽"
    assert fmt_cell(col("status").choices("kit_order.status"), o, "ru") == "Отклонена"
    assert fmt_cell(col("qty").numeric(), o, "en") == "3"
    assert fmt_cell(col("customer_name"), o, "en") == ""


def test_form_values_round_trip_as_strings():
    p = Item(name="Мышь", price_rub=Decimal("590.00"), min_stock=0, created_at=dt.datetime(2026, 1, 5, 12, tzinfo=dt.timezone.utc))
    assert form_value(p, FormField("price_rub")) == "590.00"
    assert form_value(p, FormField("min_stock")) == "0"
    assert form_value(p, FormField("description")) == ""
    assert form_value(p, FormField("created_at")) == "2026-01-05"
    o = Order(phone="x", item_id=1, qty=1, unit_price=Decimal(1), status=OrderStatus.issued)
    assert form_value(o, FormField("status")) == "issued"
    from models.core import Role, User

    assert form_value(User(username="u", hashed_password="h", is_active=True), FormField("is_active")) == "1"
    assert form_value(User(username="u", hashed_password="h", is_active=False), FormField("is_active")) == ""
    assert form_value(Role(name="r", permissions=["a", "b"]), FormField("permissions")) == "a,b"


def test_labels():
    assert label_for(None, "qty", None, "en") == "Quantity"
    assert label_for(None, "qty", None, "ru") == "Количество"
    assert label_for(None, "qty", "kitpanel.item", "en") == "Item"  # explicit key wins
    assert label_for(None, "qty", "Штук", "en") == "Штук"  # literal text passes through
    assert label_for(None, "shelf_code", None, "en") == "Shelf code"  # no entry: humanised


# --------------------------------------------------------------------------- i18n
def test_t_with_params_and_languages():
    assert t("rows.total", "en", n=5) == "Total: 5"
    assert t("rows.total", "ru", n=5) == "Всего: 5"
    assert t("rows.total", n=7) == "Всего: 7"  # Russian by default
    assert t("save", "de") == "Сохранить"  # an unknown language falls back to Russian
    assert t("login.throttled", "en", minutes=15) == "Too many sign-in attempts. Try again in 15 min."


def test_unknown_key_comes_back_as_is():
    assert t("no.such.key") == "no.such.key"
    assert t("no.such.key", "en", n=1) == "no.such.key"
    assert not i18n.has("no.such.key")


def test_errors_render_through_the_catalog():
    err = ValidationFailed({"qty": ("error.min", {"min": "1"}), "": ("kitpanel.delivery_in_use", {})})
    assert err.messages("en") == {"qty": "Must be at least 1", "": "This delivery cannot be deleted: its goods were issued"}
    assert err.message("ru") == "Исправьте ошибки в форме"


def test_register_refuses_a_conflicting_key():
    key = "test.display.only"
    try:
        i18n.register({key: ("Проверка", "Check")})
        assert t(key, "en") == "Check"
        i18n.register({key: ("Проверка", "Check")})  # the same text again is fine
        with pytest.raises(ValueError, match=key):
            i18n.register({key: ("Другое", "Other")})
        assert t(key, "en") == "Check"
        with pytest.raises(ValueError, match="'save'"):
            i18n.register({"save": ("Сохранить!", "Save!")})
        assert t("save", "en") == "Save"
    finally:
        i18n.CATALOG.pop(key, None)


def test_every_catalog_entry_has_both_languages():
    for key, pair in i18n.CATALOG.items():
        assert isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(x, str) and x for x in pair), key


def test_today_is_the_users_date_not_the_servers(monkeypatch):
    """At 22:30 UTC it is already tomorrow in Moscow: report periods and day aggregates use that day."""
    import datetime as dt

    from app.core import formats

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 12, 6, 22, 30, tzinfo=dt.timezone.utc).astimezone(tz)

    monkeypatch.setattr(formats.dt, "datetime", Clock)
    assert formats.today() == dt.date(2026, 12, 7)
