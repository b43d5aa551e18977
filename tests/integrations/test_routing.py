"""The OSRM route client and the straight-line fallback, against the OSRM sandbox over real sockets."""

from __future__ import annotations

import httpx
import pytest

from integrations.routing import (
    DEFAULT_DETOUR_FACTOR,
    GeoPoint,
    NoRoute,
    OsrmClient,
    Router,
    RoutingError,
    RoutingUnavailable,
    haversine_m,
    straight_line_estimate,
)
from integrations.sandbox.osrm import encode_polyline

WAREHOUSE = GeoPoint(55.8040, 37.5900)
STORE = GeoPoint(55.7580, 37.6130)


@pytest.fixture(scope="module")
def osrm_server():
    from integrations.sandbox.osrm import start_osrm_sandbox

    handle = start_osrm_sandbox()
    yield handle
    handle.stop()


@pytest.fixture()
def osrm(osrm_server):
    osrm_server.reset()
    return osrm_server


def test_osrm_route_distance_duration_geometry(osrm):
    log = []
    with OsrmClient(osrm.url, log=log.append) as client:
        route = client.route(WAREHOUSE, STORE)
    assert route.method == "osrm" and not route.estimated and route.fallback_reason is None
    straight = haversine_m(WAREHOUSE, STORE)
    assert straight < route.distance_m < 1.6 * straight  # a road is longer than the crow's line
    assert route.duration_s == pytest.approx(route.distance_m / 8.0, rel=0.01)
    assert route.geometry[0] == [37.59, 55.804] and route.geometry[-1] == [37.613, 55.758]  # GeoJSON: lon, lat
    assert len(route.geometry) > 10
    assert route.latlngs()[0] == [55.804, 37.59]  # Leaflet: lat, lon
    assert route.raw["code"] == "Ok" and len(route.raw["waypoints"]) == 2
    # the request as OSRM documents it
    req = osrm.requests[0]
    assert req["path"] == "/route/v1/driving/37.590000,55.804000;37.613000,55.758000"
    assert req["query"] == {"overview": "full", "geometries": "geojson"}
    assert [(e["method"], e["status"]) for e in log] == [("GET", 200)]


def test_eta_adds_the_courier_search_margin(osrm):
    with OsrmClient(osrm.url) as client:
        route = client.route(WAREHOUSE, STORE)
    assert route.eta_seconds(15) == pytest.approx(route.duration_s + 900)
    assert route.eta_seconds() == route.duration_s
    assert "оценка" not in route.label() and "км" in route.label()


def test_no_route_and_no_segment(osrm):
    osrm.add_island(55.70, 20.50, radius_m=30_000)  # the other side of the water
    island = GeoPoint(55.70, 20.51)
    with OsrmClient(osrm.url) as client:
        with pytest.raises(NoRoute) as info:
            client.route(WAREHOUSE, island)
        assert (info.value.code, info.value.message, info.value.status) == ("NoRoute", "Impossible route between points", 400)
        assert client.route(island, GeoPoint(55.71, 20.52)).distance_m > 0  # roads on the island itself
        osrm.add_water(43.0, 35.0, radius_m=50_000)
        with pytest.raises(NoRoute) as info:
            client.route(WAREHOUSE, GeoPoint(43.0, 35.0))
        assert info.value.code == "NoSegment"
    # the router knows better than a guess: no fallback to an estimate for NoRoute
    with Router(osrm.url) as router:
        with pytest.raises(NoRoute):
            router.route(WAREHOUSE, island)


def test_sandbox_answers_the_documented_errors(osrm):
    base = osrm.url
    r = httpx.get(f"{base}/route/v1/driving/37.59,55.80;abc")
    assert r.status_code == 400 and r.json()["code"] == "InvalidQuery"
    assert r.json()["message"].startswith("Query string malformed close to position")
    r = httpx.get(f"{base}/route/v1/driving/37.59,55.80;37.61,95.0")
    assert (r.status_code, r.json()["code"]) == (400, "InvalidValue")
    r = httpx.get(f"{base}/route/v1/driving/37.59,55.80")
    assert r.json()["code"] == "InvalidOptions"
    r = httpx.get(f"{base}/route/v1/driving/37.59,55.80;37.61,55.75", params={"overview": "sometimes"})
    assert r.json()["code"] == "InvalidOptions"
    assert httpx.get(f"{base}/route/v2/driving/37.59,55.80;37.61,55.75").json()["code"] == "InvalidVersion"
    assert httpx.get(f"{base}/fly/v1/driving/37.59,55.80;37.61,55.75").json()["code"] == "InvalidService"
    assert httpx.get(f"{base}/route").json()["code"] == "InvalidUrl"
    # polyline geometry, as OSRM's default
    r = httpx.get(f"{base}/route/v1/driving/37.59,55.80;37.61,55.75.json", params={"overview": "false"})
    assert r.json()["code"] == "Ok" and "geometry" not in r.json()["routes"][0]
    r = httpx.get(f"{base}/route/v1/driving/-120.2,38.5;-120.95,40.7;-126.453,43.252", params={"overview": "full"})
    assert isinstance(r.json()["routes"][0]["geometry"], str) and len(r.json()["routes"][0]["legs"]) == 2
    # the encoder itself, on Google's documented example
    assert encode_polyline([(-120.2, 38.5), (-120.95, 40.7), (-126.453, 43.252)]) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@"


def test_bad_request_to_the_client_is_a_routing_error(osrm):
    with OsrmClient(osrm.url) as client:
        with pytest.raises(ValueError):
            client.route(GeoPoint(95.0, 37.0), STORE)  # refused before any request
        with OsrmClient(osrm.url, profile="driving/extra") as broken:
            with pytest.raises(RoutingError) as info:
                broken.route(WAREHOUSE, STORE)
        assert info.value.code == "InvalidUrl" and not isinstance(info.value, NoRoute)


def test_fallback_estimate_without_a_router():
    with Router(None) as router:
        route = router.route(WAREHOUSE, STORE)
    assert route.estimated and route.method == "straight_line"
    assert route.fallback_reason == "маршрутизатор не настроен"
    straight = haversine_m(WAREHOUSE, STORE)
    assert 5_000 < straight < 6_000  # ~5.5 km as the crow flies
    assert route.distance_m == pytest.approx(straight * DEFAULT_DETOUR_FACTOR)
    assert route.duration_s == pytest.approx(route.distance_m / (25 / 3.6))
    assert route.geometry == [[37.59, 55.804], [37.613, 55.758]]
    assert "оценка по прямой" in route.label()
    custom = straight_line_estimate(WAREHOUSE, STORE, speed_kmh=50, detour_factor=1.0)
    assert custom.distance_m == pytest.approx(straight) and custom.duration_s == pytest.approx(straight / (50 / 3.6))
    with pytest.raises(ValueError):
        straight_line_estimate(WAREHOUSE, STORE, speed_kmh=0)


def test_unreachable_router_falls_back_to_a_flagged_estimate(osrm):
    osrm.fail_next(status=503, times=2)
    with OsrmClient(osrm.url, backoff=0.01) as client:
        with pytest.raises(RoutingUnavailable) as info:
            client.route(WAREHOUSE, STORE)
    assert info.value.retryable and info.value.status == 503 and len(osrm.requests) == 2

    osrm.fail_next(status=502, times=1)
    with OsrmClient(osrm.url, backoff=0.01) as client:
        assert not client.route(WAREHOUSE, STORE).estimated  # one failure is retried through

    with Router("http://127.0.0.1:9", backoff=0.01, timeout=1) as router:
        route = router.route(WAREHOUSE, STORE)
    assert route.estimated and route.fallback_reason.startswith("маршрутизатор недоступен")
