"""The Yandex Delivery claims client against the sandbox, over real sockets; and the two pure
functions it ships (status normalisation, tariff choice)."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from integrations.sandbox.yandex_delivery import ALL_STATUSES, RETURN_WALK, WALK
from integrations.yandex_delivery import (
    CANCELLED,
    COURIER_ASSIGNED,
    CREATED,
    DELIVERED,
    IN_TRANSIT,
    NORMALIZED,
    PICKED_UP,
    PROBLEM,
    STATUSES,
    Item,
    NoTariffFits,
    Point,
    YandexDeliveryAuthError,
    YandexDeliveryClient,
    YandexDeliveryConflict,
    YandexDeliveryNotFound,
    YandexDeliveryRetryLater,
    YandexDeliveryUnavailable,
    YandexDeliveryValidationError,
    build_claim,
    build_price_check,
    choose_tariff,
    is_terminal,
    normalize_status,
)

TOKEN = "y0_AgAAAAAsandbox-SECRET-token-0123456789"
OTHER_TOKEN = "y0_AgAAAAAother-account-token-9876543210"

WAREHOUSE = Point("Москва, Складочная улица, 1с1", 55.8040, 37.5900, "Склад, кладовщик", "+79990000001",
                  contact_email="sklad@example.ru", comment="Ворота 3")
STORE = Point("Москва, Тверская улица, 7", 55.7580, 37.6130, "Магазин №12", "+79990000012", external_order_id="SHP-42")
ROUTER = Item("Роутер X", quantity=2, weight_kg=0.8, length_m=0.30, width_m=0.20, height_m=0.08, cost_value="4500.00",
              extra_id="SHP-42")


@pytest.fixture(scope="module")
def yd_server():
    from integrations.sandbox.yandex_delivery import start_sandbox

    handle = start_sandbox()
    yield handle
    handle.stop()


@pytest.fixture()
def sandbox(yd_server):
    yd_server.reset()
    yd_server.add_token(TOKEN, "c0ffee" * 5 + "00")
    yd_server.add_token(OTHER_TOKEN)
    return yd_server


@pytest.fixture()
def provider_log():
    return []


@pytest.fixture()
def yd(sandbox, provider_log):
    with YandexDeliveryClient(TOKEN, base_url=sandbox.url, backoff=0.01, max_backoff=0.05, timeout=5,
                              log=provider_log.append) as client:
        yield client


def new_claim(yd, request_id="req-1", items=(ROUTER,)):
    return yd.create_claim(request_id, build_claim(WAREHOUSE, STORE, list(items), comment="Отгрузка SHP-42"))


def ready(yd, sandbox, request_id="req-1"):
    claim = new_claim(yd, request_id)
    sandbox.advance(claim["id"], to="ready_for_approval")
    return yd.claim_info(claim["id"])


# --------------------------------------------------------------------------- pure functions
def test_every_documented_status_has_a_normalised_one():
    assert set(STATUSES) == set(ALL_STATUSES)  # the client and the sandbox know the same model
    for status in STATUSES:
        assert normalize_status(status) in NORMALIZED
    assert [normalize_status(s) for s in WALK] == [
        CREATED, CREATED, CREATED, CREATED, CREATED, CREATED,            # new … performer_draft
        COURIER_ASSIGNED, COURIER_ASSIGNED, COURIER_ASSIGNED,              # performer_found … pickup confirmation
        PICKED_UP,                                                         # pickuped
        IN_TRANSIT, IN_TRANSIT,                                            # at the recipient, not yet handed over
        DELIVERED, DELIVERED,                                              # delivered, delivered_finish
    ]
    assert {normalize_status(s) for s in RETURN_WALK} == {PROBLEM}
    for s in ("cancelled", "cancelled_with_payment", "cancelled_by_taxi", "cancelled_with_items_on_hands"):
        assert normalize_status(s) == CANCELLED
    for s in ("failed", "estimating_failed", "performer_not_found"):
        assert normalize_status(s) == PROBLEM
    assert normalize_status("pay_waiting") == IN_TRANSIT
    assert normalize_status("a_status_from_the_future") == PROBLEM and normalize_status(None) == PROBLEM
    assert normalize_status(" Delivered_Finish ") == DELIVERED
    assert is_terminal("delivered_finish") and is_terminal("cancelled") and not is_terminal("delivered")
    assert not is_terminal("ready_for_approval") and is_terminal("performer_not_found")


def test_tariff_passenger_car_for_a_small_light_shipment():
    choice = choose_tariff([ROUTER, Item("Кабель", quantity=5, weight_kg=0.2, length_m=0.2, width_m=0.2, height_m=0.05)])
    assert (choice.taxi_class, choice.cargo_type) == ("express", None)
    assert choice.client_requirements() == {"taxi_class": "express"}
    assert choice.total_weight_kg == pytest.approx(2.6)
    assert "легковой" in choice.reason


@pytest.mark.parametrize(
    "items, expected",
    [
        # 21 kg: over the car's 20 kg
        ([Item("Сервер", weight_kg=21, length_m=0.6, width_m=0.45, height_m=0.2)], ("cargo", "van")),
        # a 1.2 m long unit does not fit 1.00 × 0.60 × 0.50 however it is turned
        ([Item("Стойка", weight_kg=5, length_m=0.3, width_m=1.2, height_m=0.3)], ("cargo", "van")),
        # fits turned on its side (0.5 × 1.0 × 0.6 → 1.0 × 0.6 × 0.5): still a car
        ([Item("Коробка", weight_kg=10, length_m=0.5, width_m=1.0, height_m=0.6)], None),
        # ten small boxes, 0.36 m³ in all: over 80 % of the car's 0.30 m³
        ([Item("Терминал", quantity=10, weight_kg=1.5, length_m=0.4, width_m=0.3, height_m=0.3)], ("cargo", "van")),
        # 400 kg → the medium body; 2.0 m long → medium too
        ([Item("Холодильник", quantity=4, weight_kg=100, length_m=0.7, width_m=0.7, height_m=1.2)], ("cargo", "lcv_m")),
        ([Item("Витрина", weight_kg=60, length_m=2.0, width_m=0.8, height_m=1.0)], ("cargo", "lcv_m")),
        # 1 000 kg → the large body
        ([Item("Стеллаж", quantity=10, weight_kg=100, length_m=1.0, width_m=0.5, height_m=0.5)], ("cargo", "lcv_l")),
        # no sizes: cannot be proven to fit a car
        ([Item("Неизвестное", weight_kg=1)], ("cargo", "van")),
    ],
)
def test_tariff_cargo_body_by_size_and_weight(items, expected):
    choice = choose_tariff(items)
    if expected is None:
        assert choice.taxi_class == "express"
    else:
        assert (choice.taxi_class, choice.cargo_type) == expected
        assert choice.client_requirements() == {"taxi_class": "cargo", "cargo_type": expected[1]}


def test_tariff_refuses_what_fits_no_body_and_bad_figures():
    with pytest.raises(NoTariffFits, match="разделите"):
        choose_tariff([Item("Станок", weight_kg=1500, length_m=1, width_m=1, height_m=1)])
    with pytest.raises(NoTariffFits):
        choose_tariff([Item("Труба", weight_kg=10, length_m=4.0, width_m=0.1, height_m=0.1)])
    with pytest.raises(ValueError):
        choose_tariff([])
    with pytest.raises(ValueError):
        choose_tariff([Item("X", quantity=0)])
    with pytest.raises(ValueError):
        choose_tariff([Item("X", weight_kg=-1)])


# --------------------------------------------------------------------------- create / info / walk
def test_create_claim_shapes_and_info(yd, sandbox, provider_log):
    claim = new_claim(yd)
    assert claim["status"] == "new" and claim["version"] == 1 and 32 <= len(claim["id"]) <= 64
    assert [p["type"] for p in claim["route_points"]] == ["source", "destination", "return"]
    src = claim["route_points"][0]
    assert src["address"]["coordinates"] == [37.59, 55.804]  # longitude first, as Yandex wants it
    assert src["contact"] == {"name": "Склад, кладовщик", "phone": "+79990000001", "email": "sklad@example.ru"}
    assert claim["items"][0]["size"] == {"length": 0.3, "width": 0.2, "height": 0.08}
    assert claim["items"][0]["droppof_point"] == claim["items"][0]["dropoff_point"] == 2
    assert claim["client_requirements"] == {"taxi_class": "express"}

    create = sandbox.calls("claims/create")[0]
    assert create["query"] == {"request_id": "req-1"} and create["accept_language"] == "ru"

    info = yd.claim_info(claim["id"])
    assert info["id"] == claim["id"] and info["status"] == "new"
    # the provider log: every attempt, JSON both ways, no token anywhere
    assert [(e["method"], e["path"].split("?")[0].rsplit("/", 2)[-2:], e["status"]) for e in provider_log] == [
        ("POST", ["claims", "create"], 200), ("POST", ["claims", "info"], 200)]
    assert provider_log[0]["path"] == "/b2b/cargo/integration/v2/claims/create?request_id=req-1"
    assert provider_log[0]["request"]["route_points"][1]["external_order_id"] == "SHP-42"
    assert provider_log[0]["response"]["id"] == claim["id"]
    assert provider_log[0]["duration_ms"] >= 0
    assert TOKEN not in repr(provider_log) and TOKEN not in repr(yd)


def test_the_whole_walk_every_status_normalised(yd, sandbox):
    claim = new_claim(yd)
    seen = [(claim["status"], normalize_status(claim["status"]))]
    assert sandbox.advance(claim["id"], to="ready_for_approval") == ["estimating", "ready_for_approval"]
    info = yd.claim_info(claim["id"])
    assert info["pricing"]["offer"]["price"] and info["pricing"]["currency"] == "RUB"
    seen.append((info["status"], normalize_status(info["status"])))
    accepted = yd.accept_claim(claim["id"], info["version"])
    assert accepted["status"] == "accepted"
    seen.append(("accepted", normalize_status(yd.claim_info(claim["id"])["status"])))
    while not is_terminal(info["status"]):
        sandbox.advance(claim["id"])
        info = yd.claim_info(claim["id"])
        seen.append((info["status"], normalize_status(info["status"])))
    assert [s for s, _ in seen] == ["new", "ready_for_approval", "accepted", "performer_lookup", "performer_draft",
                                    "performer_found", "pickup_arrived", "ready_for_pickup_confirmation", "pickuped",
                                    "delivery_arrived", "ready_for_delivery_confirmation", "delivered", "delivered_finish"]
    assert [n for _, n in seen] == [CREATED] * 5 + [COURIER_ASSIGNED] * 3 + [PICKED_UP] + [IN_TRANSIT] * 2 + [DELIVERED] * 2
    assert info["performer_info"]["car_number"] and info["pricing"]["final_price"] == info["pricing"]["offer"]["price"]


def test_return_branch_and_failures_are_problems(yd, sandbox):
    info = ready(yd, sandbox)
    yd.accept_claim(info["id"], info["version"])
    sandbox.advance(info["id"], to="delivery_arrived")
    sandbox.start_return(info["id"])
    statuses = [yd.claim_info(info["id"])["status"]]
    while not is_terminal(statuses[-1]):
        sandbox.advance(info["id"])
        statuses.append(yd.claim_info(info["id"])["status"])
    assert statuses == list(RETURN_WALK)
    assert {normalize_status(s) for s in statuses} == {PROBLEM}

    other = new_claim(yd, "req-2")
    sandbox.set_status(other["id"], "estimating_failed")
    info = yd.claim_info(other["id"])
    assert normalize_status(info["status"]) == PROBLEM and info["error_messages"][0]["message"]


def test_same_request_id_twice_is_one_claim(yd, sandbox):
    first = new_claim(yd, "shipment-42-attempt-1")
    again = yd.create_claim("shipment-42-attempt-1", build_claim(WAREHOUSE, STORE, [Item("другое тело", weight_kg=1)]))
    assert again["id"] == first["id"] and again["items"] == first["items"]
    assert len(sandbox.claims()) == 1
    assert new_claim(yd, "shipment-43")["id"] != first["id"]
    assert len(sandbox.claims()) == 2


def test_429_is_waited_out_with_retry_after(yd, sandbox, provider_log):
    sandbox.fail_next("claims/create", status=429, retry_after=1)
    started = time.monotonic()
    claim = new_claim(yd)
    assert time.monotonic() - started >= 0.95  # Retry-After honoured
    assert [c["status"] for c in sandbox.calls("claims/create")] == [429, 200]
    assert len(sandbox.claims()) == 1 and claim["status"] == "new"
    assert [e["status"] for e in provider_log] == [429, 200]
    assert provider_log[0]["response"] == {"code": "too_many_requests", "message": "Слишком много запросов"}


def test_429_without_retry_after_backs_off_and_too_long_raises_retry_later(sandbox):
    sleeps = []
    with YandexDeliveryClient(TOKEN, base_url=sandbox.url, backoff=0.5, max_attempts=4, sleep=sleeps.append) as client:
        sandbox.fail_next("tariffs", status=429, times=2)
        assert client.tariffs(55.75, 37.61)
        assert sleeps == [0.5, 1.0]  # exponential
        sandbox.fail_next("claims/journal", status=429, retry_after=120)
        with pytest.raises(YandexDeliveryRetryLater) as info:
            client.journal()
    assert info.value.retryable and info.value.retry_after == 120 and info.value.status == 429


def test_500_after_the_claim_was_stored_retry_returns_the_same_claim(yd, sandbox):
    sandbox.fail_next("claims/create", status=500, after_commit=True)
    claim = new_claim(yd, "req-lost-answer")
    assert [c["status"] for c in sandbox.calls("claims/create")] == [500, 200]
    assert [c["query"]["request_id"] for c in sandbox.calls("claims/create")] == ["req-lost-answer"] * 2
    stored = sandbox.claims()
    assert len(stored) == 1 and stored[0]["id"] == claim["id"]  # one claim, one courier


def test_5xx_every_time_raises_unavailable(sandbox):
    with YandexDeliveryClient(TOKEN, base_url=sandbox.url, backoff=0.01, max_attempts=3) as client:
        sandbox.fail_next("claims/info", status=503, times=3)
        with pytest.raises(YandexDeliveryUnavailable) as info:
            client.claim_info("0" * 32)
    assert info.value.retryable and info.value.status == 503
    assert len(sandbox.calls("claims/info")) == 3


def test_network_error_is_retried_then_unavailable(provider_log):
    with YandexDeliveryClient(TOKEN, base_url="http://127.0.0.1:9", backoff=0.01, max_attempts=2, timeout=1,
                              log=provider_log.append) as client:
        with pytest.raises(YandexDeliveryUnavailable) as info:
            client.claim_info("0" * 32)
    assert info.value.status == 0 and info.value.code == "network_error"
    assert [e["status"] for e in provider_log] == [None, None] and provider_log[0]["error"]


def test_accept_retried_after_a_lost_answer_is_settled_by_reading_the_claim(yd, sandbox):
    info = ready(yd, sandbox)
    sandbox.fail_next("claims/accept", status=500, after_commit=True)
    result = yd.accept_claim(info["id"], info["version"])
    assert result["status"] == "accepted" and result["id"] == info["id"]
    assert [c["status"] for c in sandbox.calls("claims/accept")] == [500, 409]  # the retry saw it done


def test_accept_conflicts(yd, sandbox):
    claim = new_claim(yd)
    with pytest.raises(YandexDeliveryConflict) as info:
        yd.accept_claim(claim["id"], 1)  # not estimated yet
    assert info.value.code == "inappropriate_status" and info.value.message == "Недопустимое действие над заявкой"
    sandbox.advance(claim["id"], to="ready_for_approval")
    with pytest.raises(YandexDeliveryConflict) as info:
        yd.accept_claim(claim["id"], 7)
    assert info.value.code == "old_version"
    sandbox.offer_ttl = 0
    try:
        time.sleep(0.01)
        with pytest.raises(YandexDeliveryConflict) as info:
            yd.accept_claim(claim["id"], 1)
    finally:
        sandbox.offer_ttl = 600
    assert info.value.code == "offer_expired" and yd.claim_info(claim["id"])["status"] == "failed"


def test_cancel_free_and_paid(yd, sandbox):
    info = ready(yd, sandbox, "free-one")
    yd.accept_claim(info["id"], info["version"])
    assert yd.cancel_info(info["id"]) == {"cancel_state": "free"}
    with pytest.raises(YandexDeliveryConflict) as err:
        yd.cancel_claim(info["id"], 1, "paid")
    assert err.value.code == "state_mismatch"
    assert yd.cancel_claim(info["id"], 1, "free")["status"] == "cancelled"
    assert normalize_status(yd.claim_info(info["id"])["status"]) == CANCELLED

    info = ready(yd, sandbox, "paid-one")
    yd.accept_claim(info["id"], info["version"])
    sandbox.advance(info["id"], to="pickup_arrived")
    terms = yd.cancel_info(info["id"])
    assert terms["cancel_state"] == "paid" and float(terms["price"]) > 0 and terms["currency"] == "RUB"
    with pytest.raises(YandexDeliveryConflict) as err:
        yd.cancel_claim(info["id"], 1, "free")
    assert err.value.code == "free_cancel_is_unavailable"
    assert yd.cancel_claim(info["id"], 1, "paid")["status"] == "cancelled_with_payment"

    info = ready(yd, sandbox, "too-late")
    yd.accept_claim(info["id"], info["version"])
    sandbox.advance(info["id"], to="pickuped")
    assert yd.cancel_info(info["id"])["cancel_state"] == "unavailable"
    with pytest.raises(YandexDeliveryConflict) as err:
        yd.cancel_claim(info["id"], 1, "paid")
    assert err.value.code == "inappropriate_status"
    with pytest.raises(ValueError):
        yd.cancel_claim(info["id"], 1, "maybe")


def test_cancel_retried_after_a_lost_answer(yd, sandbox):
    info = ready(yd, sandbox)
    sandbox.fail_next("claims/cancel", status=502, after_commit=True)
    assert yd.cancel_claim(info["id"], 1, "free")["status"] == "cancelled"
    assert [c["status"] for c in sandbox.calls("claims/cancel")] == [502, 409]


def test_check_price_and_tariffs(yd, sandbox):
    small = yd.check_price(build_price_check(WAREHOUSE, STORE, [ROUTER]))
    assert small["requirements"] == {"taxi_class": "express"}
    assert small["currency_rules"]["code"] == "RUB" and float(small["price"]) > 0
    assert 4000 < small["distance_meters"] < 8000 and small["eta"] > 0
    big = [Item("Стеллаж", quantity=10, weight_kg=100, length_m=1.0, width_m=0.5, height_m=0.5)]
    cargo = yd.check_price(build_price_check(WAREHOUSE, STORE, big))
    assert cargo["requirements"] == {"taxi_class": "cargo", "cargo_type": "lcv_l"}
    assert float(cargo["price"]) > float(small["price"])
    body = sandbox.calls("check-price")[0]["body"]
    assert body["route_points"][0] == {"id": 1, "coordinates": [37.59, 55.804], "fullname": WAREHOUSE.fullname}

    tariffs = yd.tariffs(55.804, 37.59, WAREHOUSE.fullname)
    assert [t["name"] for t in tariffs] == ["courier", "express", "cargo"]
    cargo_types = next(r for r in tariffs[2]["supported_requirements"] if r["name"] == "cargo_type")
    assert [o["value"] for o in cargo_types["options"]] == ["van", "lcv_m", "lcv_l"]
    assert sandbox.calls("tariffs")[0]["body"] == {"start_point": [37.59, 55.804], "fullname": WAREHOUSE.fullname}


def test_wrong_token_is_401_typed_and_never_leaks(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    log = []
    wrong = "y0_AgAAAAAwrong-token-that-must-not-leak"
    with YandexDeliveryClient(wrong, base_url=sandbox.url, backoff=0.01, log=log.append) as client:
        with pytest.raises(YandexDeliveryAuthError) as info:
            client.claim_info("0" * 32)
        assert wrong not in repr(client)
    assert (info.value.status, info.value.code) == (401, "unauthorized") and not info.value.retryable
    assert len(sandbox.calls("claims/info")) == 1  # not retried
    for text in (str(info.value), repr(info.value), repr(log), caplog.text):
        assert wrong not in text


def test_validation_error_surfaces_the_providers_message(yd, sandbox):
    bad_phone = Point(STORE.fullname, STORE.lat, STORE.lon, "Магазин", "89990000012")
    with pytest.raises(YandexDeliveryValidationError) as info:
        yd.create_claim("bad-1", build_claim(WAREHOUSE, bad_phone, [ROUTER]))
    assert info.value.status == 400 and info.value.code == "invalid_phone_must_start_plus_symbol"
    assert "+" in info.value.message and info.value.message in str(info.value)

    body = build_claim(WAREHOUSE, STORE, [ROUTER])
    del body["route_points"][1]["address"]["fullname"]
    with pytest.raises(YandexDeliveryValidationError) as info:
        yd.create_claim("bad-2", body)
    assert info.value.code == "validation_error" and info.value.message.startswith("route_points[1].address.fullname")

    body = build_claim(WAREHOUSE, STORE, [ROUTER])
    body["items"][0]["pickup_point"] = 99
    with pytest.raises(YandexDeliveryValidationError) as info:
        yd.create_claim("bad-3", body)
    assert info.value.code == "item_source_point_not_found"
    assert sandbox.claims() == []  # nothing stored, and not retried
    assert [c["status"] for c in sandbox.calls("claims/create")] == [400, 400, 400]


def test_unknown_claim_and_another_accounts_claim_are_404(yd, sandbox):
    with pytest.raises(YandexDeliveryNotFound) as info:
        yd.claim_info("f" * 32)
    assert info.value.message == "Заявка не найдена"
    claim = new_claim(yd)
    with YandexDeliveryClient(OTHER_TOKEN, base_url=sandbox.url) as other:
        with pytest.raises(YandexDeliveryNotFound):
            other.claim_info(claim["id"])
        assert other.journal()["events"] == []


def test_journal_with_cursor(yd, sandbox):
    claim = new_claim(yd)
    page = yd.journal()
    assert [(e["claim_id"], e["change_type"], e["new_status"]) for e in page["events"]] == [(claim["id"], "status_changed", "new")]
    cursor = page["cursor"]
    assert yd.journal(cursor)["events"] == []  # nothing new since

    sandbox.advance(claim["id"], to="ready_for_approval")
    page = yd.journal(cursor, limit=2)
    assert [e.get("new_status") for e in page["events"]] == ["estimating", "ready_for_approval"]
    page2 = yd.journal(page["cursor"])
    assert [(e["change_type"], e["new_price"]) for e in page2["events"]] == [
        ("price_changed", yd.claim_info(claim["id"])["pricing"]["offer"]["price"])]
    ops = [e["operation_id"] for e in page["events"] + page2["events"]]
    assert ops == sorted(ops) and len(set(ops)) == 3

    info = yd.claim_info(claim["id"])
    yd.cancel_claim(claim["id"], info["version"], "free")
    last = yd.journal(page2["cursor"])["events"]
    assert [(e["new_status"], e["resolution"]) for e in last] == [("cancelled", "failed")]

    with pytest.raises(YandexDeliveryValidationError) as info:
        yd.journal("not-a-cursor")
    assert info.value.code == "invalid_cursor"


def test_control_api_for_a_standalone_sandbox(yd, sandbox):
    claim = new_claim(yd)
    r = httpx.post(f"{sandbox.url}/sandbox/claims/{claim['id']}/advance", json={"to": "ready_for_approval"})
    assert r.json() == {"ok": True, "result": ["estimating", "ready_for_approval"]}
    yd.accept_claim(claim["id"], 1)
    assert httpx.post(f"{sandbox.url}/sandbox/tick").json()["result"] == 1
    assert yd.claim_info(claim["id"])["status"] == "performer_lookup"
    r = httpx.post(f"{sandbox.url}/sandbox/claims/{claim['id']}/status", json={"status": "cancelled_by_taxi"})
    assert r.json()["ok"] and normalize_status(yd.claim_info(claim["id"])["status"]) == CANCELLED
    assert httpx.post(f"{sandbox.url}/sandbox/claims/{claim['id']}/status", json={"status": "bogus"}).status_code == 400
    httpx.post(f"{sandbox.url}/sandbox/fail", json={"method": "claims/info", "status": 500})
    assert yd.claim_info(claim["id"])["id"] == claim["id"]  # retried through
    assert [c["status"] for c in httpx.get(f"{sandbox.url}/sandbox/calls", params={"method": "claims/info"}).json()["result"]][-2:] == [500, 200]


def test_auto_tick_moves_claims():
    from integrations.sandbox.yandex_delivery import start_sandbox

    with start_sandbox(tick_interval=0.05, auto_estimate=True) as box:
        box.add_token(TOKEN)
        with YandexDeliveryClient(TOKEN, base_url=box.url) as client:
            claim = new_claim(client)
            assert claim["status"] == "new"
            info = client.claim_info(claim["id"])
            assert info["status"] == "ready_for_approval"  # estimated at once, then waits for accept
            client.accept_claim(claim["id"], info["version"])
            deadline = time.monotonic() + 5
            while not is_terminal(client.claim_info(claim["id"])["status"]) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert client.claim_info(claim["id"])["status"] == "delivered_finish"


def test_check_price_and_tariffs_validation(yd, sandbox):
    body = build_price_check(WAREHOUSE, STORE, [ROUTER])
    body["requirements"] = {"taxi_class": "rocket"}
    with pytest.raises(YandexDeliveryValidationError) as info:
        yd.check_price(body)
    assert info.value.code == "validation_error" and info.value.message.startswith("requirements.taxi_class")
    with pytest.raises(YandexDeliveryValidationError) as info:
        yd.tariffs(95.0, 37.6)  # latitude off the planet
    assert info.value.message.startswith("start_point")
    assert [c["status"] for c in sandbox.calls()] == [400, 400]
