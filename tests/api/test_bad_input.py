"""The REST API answers every bad input with a 4xx and a message — never a 500 — and its answers
are what the OpenAPI document says (one regression per class of input the review found giving 500s).
The kit's generic routes are tried on the fixture panel (``tests/kitpanel``); the stock and numbers
panels' own routes (issue, analytics, reports) where they are.
"""

from __future__ import annotations

import json

import pytest

ORDERS = "/api/kitpanel/orders"
ITEMS = "/api/kitpanel/items"
INT4 = 2**31

pytestmark = pytest.mark.usefixtures("kitpanel")


@pytest.fixture()
def h(login, kit_data):
    return {**login("admin"), "Accept-Language": "en"}


def _order(client, h, kit_data, phone: str) -> dict:
    r = client.post(ORDERS, headers=h, json={"phone": phone, "item_id": kit_data["cable"].id, "qty": 1})
    assert r.status_code == 201, r.text
    return r.json()


def _error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"] and isinstance(body["errors"], dict)
    return body


# --------------------------------------------------------------------------- ids and pages
@pytest.mark.parametrize("q", ["12345678901", "2147483648", "9223372036854775808", "99999999999999999999"])
def test_searching_a_long_number_lists_nothing_instead_of_failing(client, h, kit_data, q):
    for url in (ORDERS, ITEMS, "/api/admin/users", "/api/numbers/numbers", f"{ORDERS}/options"):
        r = client.get(url, headers=h, params={"q": q})
        assert r.status_code == 200, (url, r.text)


@pytest.mark.parametrize("rid", [str(INT4), "99999999999999999999999", "-99999999999", "1e3", "%00"])
def test_a_path_id_beyond_the_column_is_not_found(client, h, kit_data, rid):
    for method, url in (("GET", f"{ORDERS}/{rid}"), ("PATCH", f"{ORDERS}/{rid}"), ("DELETE", f"{ORDERS}/{rid}"),
                        ("POST", f"{ORDERS}/{rid}/actions/issue"), ("POST", f"/api/stock/orders/{rid}/deny"),
                        ("GET", f"/api/jobs/{rid}/file"), ("GET", f"/api/stock/products/{rid}/stock")):
        r = client.request(method, url, headers=h, json={})
        _error(r, 404)


def test_bulk_ids_beyond_the_column_are_not_found_on_both_paths(client, h, kit_data):
    _error(client.post(f"{ORDERS}/actions/deny", headers=h, json={"ids": [INT4]}), 404)  # immediate
    _error(client.post(f"{ORDERS}/actions/issue", headers=h, json={"ids": [INT4]}), 404)  # a job: refused before queueing
    _error(client.post(f"{ORDERS}/actions/issue", headers=h, json={"ids": [True]}), 422)


def test_a_page_beyond_reach_is_refused(client, h, kit_data):
    body = _error(client.get("/api/admin/schedules", headers=h, params={"page": 10**18}), 422)
    assert "page" in body["errors"]


# --------------------------------------------------------------------------- text
@pytest.mark.parametrize("bad", ["Кабель\x00", "Кабель \ud800"])
def test_text_that_cannot_be_stored_is_refused_under_its_field(client, h, kit_data, bad):
    h = {**h, "Content-Type": "application/json"}  # json.dumps spells the lone surrogate as "\ud800"
    r = client.post(ITEMS, headers=h, content=json.dumps({"name": bad, "price_rub": "10"}))
    body = _error(r, 422)
    assert body["errors"] == {"name": "The text contains characters that cannot be stored"}
    r = client.post("/api/auth/login", headers=h, content=json.dumps({"username": bad, "password": "x"}))
    _error(r, 422)
    r = client.post(f"{ORDERS}/actions/issue", headers=h, content=json.dumps({"ids": [bad]}))
    _error(r, 422)


def test_nul_in_search_or_filters_is_refused(client, h, kit_data):
    assert set(_error(client.get(ORDERS, headers=h, params={"q": "a\x00"}), 422)["errors"]) == {"q"}
    assert set(_error(client.get(ORDERS, headers=h, params={"phone": "a\x00"}), 422)["errors"]) == {"phone"}
    _error(client.get(f"{ORDERS}/options", headers=h, params={"q": "\x00"}), 422)
    r = client.post("/api/numbers/export", headers=h, json={"filters": {"status_id": "\x00"}})
    _error(r, 422)


# --------------------------------------------------------------------------- numbers, money, dates
def test_money_and_integers_beyond_the_column_are_refused(client, h, kit_data):
    r = client.post(ITEMS, headers=h, json={"name": "Дорогой", "price_rub": "100000000000", "min_stock": 2**40})
    body = _error(r, 422)
    assert body["errors"] == {"price_rub": "Must be at most 9999999999.99", "min_stock": "Must be at most 2147483647"}
    r = client.put("/api/stock/analytics/rate", headers=h, json={"rate": "1e999999"})
    _error(r, 422)


def test_filters_beyond_the_column_are_refused_with_a_message(client, h, kit_data):
    body = _error(client.get(ITEMS, headers=h, params={"price_rub": "1e20.."}), 422)
    assert body["errors"] == {"price_rub": "Must be at most 9999999999.99"}
    body = _error(client.get(ORDERS, headers=h, params={"item_id": str(INT4)}), 422)
    assert body["errors"] == {"item_id": "Choose a record from the list"}
    body = _error(client.get("/api/numbers/numbers", headers=h, params={"created_at": "yesterday"}), 422)
    assert body["errors"] == {"created_at": "Enter a date as YYYY-MM-DD"}


def test_far_dates(client, h, kit_data):
    _order(client, h, kit_data, "+79161234567")
    r = client.get(ORDERS, headers=h, params={"created_at": "2000-01-01..9999-12-31"})  # a filter: "no end"
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    for url in ("/api/stock/reports/analytics", "/api/stock/analytics/summary", "/api/stock/reports/analytics.csv", "/api/numbers/reports/conversion"):
        _error(client.get(url, headers=h, params={"from": "2026-01-01", "to": "9999-12-31"}), 422)
    _error(client.get("/api/numbers/reports/conversion.csv", headers=h, params={"from": "9999-12-31"}), 422)
    _error(client.get("/api/numbers/reports/conversion.csv", headers=h, params={"provider_id": str(INT4)}), 422)
    _error(client.get("/api/stock/analytics/summary", headers=h, params={"product_id": str(INT4)}), 422)


# --------------------------------------------------------------------------- nested JSON
def test_deeply_nested_json_is_refused(client, h, kit_data):
    deep = "[" * 50_000 + "]" * 50_000
    r = client.post(ITEMS, headers={**h, "Content-Type": "application/json"}, content=f'{{"name": {deep}}}')
    assert _error(r, 400)["detail"] == "The request body could not be read as JSON"
    nested: list = []
    for _ in range(100):
        nested = [nested]
    r = client.post(f"{ORDERS}/actions/issue", headers=h, json={"ids": [1], "params": {"x": nested}})
    _error(r, 422)
    r = client.post(ITEMS, headers=h, json={"name": {"a": [1]}, "price_rub": "1"})
    assert _error(r, 422)["errors"] == {"name": "Invalid value"}
    files = {"file": ("p.csv", b"name\nX\n", "text/csv")}
    r = client.post(f"{ITEMS}/import", headers=h, files=files, data={"mapping": deep, "dry_run": "true"})
    _error(r, 422)
    r = client.get(ITEMS, headers=h, params={"cursor": "after:" + "W" * 4000})
    assert r.status_code == 200


# --------------------------------------------------------------------------- phones (item 5)
@pytest.mark.parametrize("typed", ["8 (916) 555-12-34", "916 555", "+7 916 555-12-34"])
def test_orders_are_found_by_a_dictated_phone(client, h, kit_data, typed):
    _order(client, h, kit_data, "8 916 555 12 34")
    _order(client, h, kit_data, "+7 999 000 11 22")
    r = client.get(ORDERS, headers=h, params={"q": typed})
    assert [o["phone"] for o in r.json()["items"]] == ["+79165551234"]


# --------------------------------------------------------------------------- router errors and the spec
def test_unknown_paths_and_wrong_methods_answer_json(client, h):
    body = _error(client.get("/api/no/such/thing", headers=h), 404)
    assert body["detail"] == "Not found"
    r = client.delete(f"{ORDERS}/actions/issue", headers=h)
    _error(r, 405)
    assert r.headers["allow"] == "POST"
    r = client.post("/api/admin/audit", headers=h, json={})
    _error(r, 405)
    assert r.headers["allow"] == "GET"


def test_openapi_describes_errors_as_they_are_sent(client):
    spec = client.get("/api/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            if op.get("parameters") or op.get("requestBody"):
                assert responses["422"]["content"]["application/json"]["schema"] == error, (method, path)
            if op.get("requestBody"):
                assert "400" in responses, (method, path)
    bulk = spec["paths"]["/api/kitpanel/orders/actions/issue"]["post"]["responses"]  # a job action
    assert "202" in bulk and "200" not in bulk
    assert "200" in spec["paths"]["/api/kitpanel/orders/actions/deny"]["post"]["responses"]  # immediate
