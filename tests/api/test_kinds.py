"""Field kinds (app/core/kinds): a kind declared in one place — here, in this file — works end to
end in a resource: its form parsing (UI services and REST API alike), its type in the OpenAPI
document, its list cell and detail text, its search form, its form control; and the kit's own
kinds keep their behaviour (the phone kind's two parsers agree)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core import crud, display
from app.core.kinds import KINDS, Field, Kind, kind_for, kind_named, register_kind
from app.core.registry import PANELS, RESOURCES, Panel, check, register
from app.core.resource import ImproperlyConfigured, Resource, check_resource, col, fields
from tests.kitpanel.models import Item

_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_seq = itertools.count()

#: The throwaway panel's resource sits on the fixture panel's Item (``tests/kitpanel``): its tables.
pytestmark = pytest.mark.usefixtures("kitpanel")


class Colour(Kind):
    """The whole kind: a web colour, typed "#ABC" or "a0b1c2", stored "#aabbcc", shown upper-case."""

    name = "test_colour"
    invalid = "test_colour.invalid"
    messages = {"test_colour.invalid": ("Цвет в виде #a0b1c2", "A colour such as #a0b1c2")}

    def convert(self, field: Field, value: Any) -> Any:
        m = _HEX.fullmatch(str(value))
        if m is None:
            raise ValueError(value)
        digits = m.group(1).lower()
        return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": "string", "pattern": "^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"}

    def example(self, field: Field) -> Any:
        return "#a0b1c2"

    def display(self, value: Any, lang: str, currency: str | None = None) -> str:
        return value.upper()

    def search_form(self, q: str) -> str:
        return self.convert(Field(None, ""), q) if _HEX.fullmatch(q.strip()) else q


class Swatches(Resource, model=Item):
    """Items whose vendor field holds a colour: only declarations, no code of their own."""

    slug = "swatches"
    search = ["vendor"]
    columns = [col("name"), col("vendor").shown_as("test_colour")]
    form = [fields.section("details", ["name", fields.of("test_colour", "vendor", required=True)])]


@pytest.fixture()
def swatches(api_app) -> Iterator[tuple[str, TestClient]]:
    """The kind and a throwaway panel using it, registered as boot does; an API built with them."""
    from app.core.api import build_api

    panel = f"kinds{next(_seq)}"
    register_kind(Colour)
    try:
        register(Panel(name=panel, label=panel, resources=[Swatches]))
        check()
        yield panel, TestClient(build_api())
    finally:
        KINDS.pop("test_colour", None)
        PANELS.pop(panel, None)
        for key in [k for k in RESOURCES if k.startswith(f"{panel}.")]:
            RESOURCES.pop(key)


def _login(client: TestClient) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": "admin", "password": "admin-pass"})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_a_kind_declared_in_one_place_works_end_to_end(swatches, users, db):
    panel, client = swatches
    auth = _login(client)
    url = f"/api/{panel}/swatches"

    # The OpenAPI document types the field as the kind says, with its example.
    doc = client.get("/api/openapi.json").json()
    body = doc["paths"][url]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["vendor"] == Colour().json_schema(Field(Item, "vendor"))
    assert body["examples"]["example"]["value"]["vendor"] == "#a0b1c2"

    # A bad value is refused with the kind's own message, in the asked language; a good one stored as the kind reads it.
    bad = client.post(url, json={"name": "Красный", "vendor": "red"}, headers={**auth, "Accept-Language": "en"})
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"]["vendor"] == "A colour such as #a0b1c2"
    made = client.post(url, json={"name": "Красный", "vendor": "#F0a"}, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["vendor"] == "#ff00aa"

    # The search reads a typed colour as stored values spell it.
    found = client.get(url, params={"q": "f0a"}, headers=auth).json()
    assert [r["name"] for r in found["items"]] == ["Красный"]

    # The list cell and the detail text show it as the kind does.
    res = RESOURCES[f"{panel}.swatches"]
    record = crud.get_record(db, res(), users["admin"], made.json()["id"])
    column = res.columns[1]
    assert display.fmt_cell(column, record, "ru") == "#FF00AA"
    assert res.kind_of("vendor") is kind_named("test_colour")
    assert display.form_value(record, res.form_fields()[1]) == "#ff00aa"


def test_the_form_control_of_a_new_kind_is_the_kits_input(swatches):
    """A kind that names an existing control needs no UI code: the form builds its input."""
    from app.core.ui.form import WIDGETS, field_control

    panel, _client = swatches
    res = RESOURCES[f"{panel}.swatches"]
    f = res.form_fields()[1]
    assert kind_for(res.model, f).widget in WIDGETS
    assert "field-vendor" in str(field_control(res, f))


def test_an_unknown_kind_fails_at_start_up_naming_the_field():
    class Wrong(Resource, model=Item):
        panel = "chk"
        form = [fields.section("details", [fields.of("no_such_kind", "name")])]

    with pytest.raises(ImproperlyConfigured, match="chk.Wrong: form field 'name': unknown field kind 'no_such_kind'"):
        check_resource(Wrong)

    class WrongColumn(Resource, model=Item):
        panel = "chk"
        columns = [col("name").shown_as("no_such_kind")]

    with pytest.raises(ImproperlyConfigured, match="column 'name': unknown field kind"):
        check_resource(WrongColumn)


def test_the_phone_kind_owns_both_parsers_and_they_agree():
    phone = kind_named("phone")
    raws = ["8 (916) 123-45-67", "+7 916 1234567", "тел. 8-916-123-45-67 доб. 12", "12345", "", None, "+44 20 7946 0958", "8 800 555-35-35"]
    many = list(phone.parse_many(raws))
    assert many == [phone.parse_one(r) if r else None for r in raws]
    assert many[:2] == ["+79161234567", "+79161234567"]
    f = fields.phone("phone")
    assert phone.parse(Field(None, "phone", f), "8 916 123 45 67") == ("+79161234567", None)
    assert phone.parse(Field(None, "phone", f), "12345") == (None, ("error.phone", {}))
    assert phone.display("+79161234567", "ru") == "+7 916 123-45-67"
    assert phone.search_form("8 (916") == "+7916"
