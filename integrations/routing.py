"""Road routes and ETAs: an OSRM HTTP API client, and a straight-line estimate when there is no router.

OSRM (https://project-osrm.org/docs/v5.24.0/api/) answers ``GET {base}/route/v1/{profile}/
{lon},{lat};{lon},{lat}?overview=full&geometries=geojson`` with ``{"code": "Ok", "routes":
[{"distance": m, "duration": s, "geometry": {"type": "LineString", "coordinates": [[lon, lat],
…]}, "legs": […]}], "waypoints": […]}``, and errors with HTTP 400 and ``{"code": "NoRoute" |
"NoSegment" | "InvalidQuery" | …, "message": "…"}``::

    router = Router(osrm_url)                        # or Router(None): estimates only
    route = router.route(GeoPoint(55.80, 37.59), GeoPoint(55.76, 37.61))
    route.distance_m, route.duration_s, route.latlngs()   # for Leaflet
    route.estimated                                  # True: a straight-line guess, label it so
    route.eta_seconds(search_margin_min=15)          # + the courier-search margin

Coordinates: :class:`GeoPoint` is (lat, lon) like Leaflet; OSRM and GeoJSON want lon first, and
this module does the swapping so nobody else has to.

Without a configured router — or when the configured one cannot be reached — :meth:`Router.route`
falls back to :func:`straight_line_estimate`: the great-circle distance times a road-detour factor,
at an assumed city speed. That is a guess, and the :class:`Route` says so (``estimated=True``,
``method="straight_line"``, ``fallback_reason``); the UI must label it. A router that answers
``NoRoute``/``NoSegment`` is not guessed over: :class:`NoRoute` is raised, since the points really
cannot be joined by road.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx

EARTH_RADIUS_M = 6_371_008.8
#: Assumed average speed of a city delivery by car, for estimates (km/h).
DEFAULT_SPEED_KMH = 25.0
#: Roads are longer than the straight line: a typical urban detour factor.
DEFAULT_DETOUR_FACTOR = 1.3


class GeoPoint(NamedTuple):
    """A point on the map, latitude first (as Leaflet and people say it)."""

    lat: float
    lon: float


@dataclass(frozen=True)
class Route:
    """A route between two points.

    ``geometry`` is GeoJSON order (``[lon, lat]`` pairs); :meth:`latlngs` gives Leaflet's order.
    ``estimated`` is True for a straight-line guess (``method`` ``"straight_line"``), False for a
    router's answer (``method`` ``"osrm"``).
    """

    distance_m: float
    duration_s: float
    geometry: list[list[float]]
    method: str
    estimated: bool
    speed_kmh: float | None = None
    fallback_reason: str | None = None
    raw: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def latlngs(self) -> list[list[float]]:
        """The geometry as ``[lat, lon]`` pairs (Leaflet's ``L.polyline``)."""
        return [[lat, lon] for lon, lat in self.geometry]

    def eta_seconds(self, search_margin_min: float = 0.0) -> float:
        """Driving time plus the courier-search margin (configurable: finding a courier takes time)."""
        return self.duration_s + max(0.0, float(search_margin_min)) * 60.0

    def label(self) -> str:
        """A short human description, saying when it is only an estimate."""
        km, minutes = self.distance_m / 1000, self.duration_s / 60
        text = f"{km:.1f} км, ~{minutes:.0f} мин"
        if self.estimated:
            text += f" (оценка по прямой, {self.speed_kmh:g} км/ч)"
        return text


class RoutingError(Exception):
    """The router refused the request (``code``/``message`` as OSRM gives them), or is unreachable."""

    retryable = False

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        self.code, self.message, self.status = code, message, status
        super().__init__(code, message)

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"


class NoRoute(RoutingError):
    """The points cannot be joined by road (``NoRoute``), or one is nowhere near a road (``NoSegment``)."""


class RoutingUnavailable(RoutingError):
    """The router did not answer (network error, 5xx) on every attempt."""

    retryable = True


def haversine_m(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _check_point(p: GeoPoint) -> None:
    if not (math.isfinite(p.lat) and math.isfinite(p.lon) and -90 <= p.lat <= 90 and -180 <= p.lon <= 180):
        raise ValueError(f"not a point on Earth: lat={p.lat}, lon={p.lon}")


def straight_line_estimate(
    origin: GeoPoint,
    destination: GeoPoint,
    *,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
    fallback_reason: str | None = None,
) -> Route:
    """A guess without a router: distance = great circle × ``detour_factor``, time at ``speed_kmh``.

    The geometry is the straight segment (draw it dashed). Flagged ``estimated=True``.
    """
    _check_point(origin)
    _check_point(destination)
    if speed_kmh <= 0 or detour_factor < 1:
        raise ValueError("speed_kmh must be positive and detour_factor at least 1")
    distance = haversine_m(origin, destination) * detour_factor
    return Route(
        distance_m=distance,
        duration_s=distance / (speed_kmh * 1000 / 3600),
        geometry=[[origin.lon, origin.lat], [destination.lon, destination.lat]],
        method="straight_line",
        estimated=True,
        speed_kmh=speed_kmh,
        fallback_reason=fallback_reason,
    )


class OsrmClient:
    """The route service of an OSRM server (``osrm-routed``, or the public demo for trying out).

    ``log`` receives one dict per HTTP attempt (method, url, status, duration, the answer).
    """

    def __init__(
        self,
        base_url: str,
        *,
        profile: str = "driving",
        timeout: float = 10.0,
        max_attempts: int = 2,
        backoff: float = 0.3,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("an OSRM base URL is required")
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self._own_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._sleep = sleep
        self._log = log

    def __repr__(self) -> str:
        return f"OsrmClient(base_url={self.base_url!r}, profile={self.profile!r})"

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> "OsrmClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def route(self, origin: GeoPoint, destination: GeoPoint, *via: GeoPoint) -> Route:
        """The fastest road route through the points, with its full GeoJSON geometry."""
        points = (origin, *via, destination)
        for p in points:
            _check_point(p)
        coords = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in points)
        url = f"{self.base_url}/route/v1/{self.profile}/{coords}"
        params = {"overview": "full", "geometries": "geojson"}
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                resp = self._http.get(url, params=params, timeout=self.timeout)
            except httpx.TransportError as exc:
                self._emit(url, None, started, None, f"{type(exc).__name__}: {exc}")
                if attempt >= self.max_attempts:
                    raise RoutingUnavailable("NetworkError", f"маршрутизатор недоступен: {type(exc).__name__}: {exc}") from None
                self._sleep(self.backoff * 2 ** (attempt - 1))
                continue
            try:
                data = resp.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                data = None
            self._emit(url, resp.status_code, started, data, None)
            if resp.status_code >= 500 or resp.status_code == 429:
                if attempt >= self.max_attempts:
                    message = (data or {}).get("message") if isinstance(data, dict) else None
                    raise RoutingUnavailable(f"HTTP{resp.status_code}", message or resp.reason_phrase, resp.status_code)
                self._sleep(self.backoff * 2 ** (attempt - 1))
                continue
            if not isinstance(data, dict):
                raise RoutingError("BadAnswer", "ответ маршрутизатора не в формате JSON", resp.status_code)
            code = str(data.get("code") or "")
            if code != "Ok":
                message = str(data.get("message") or code or resp.reason_phrase)
                cls = NoRoute if code in ("NoRoute", "NoSegment") else RoutingError
                raise cls(code or f"HTTP{resp.status_code}", message, resp.status_code)
            routes = data.get("routes") or []
            if not routes:
                raise NoRoute("NoRoute", "маршрутизатор не вернул ни одного маршрута", resp.status_code)
            best = routes[0]
            geometry = best.get("geometry") or {}
            return Route(
                distance_m=float(best["distance"]),
                duration_s=float(best["duration"]),
                geometry=[list(map(float, c)) for c in geometry.get("coordinates", [])],
                method="osrm",
                estimated=False,
                raw=data,
            )

    def _emit(self, url: str, status: int | None, started: float, data: Any, error: str | None) -> None:
        if self._log is None:
            return
        try:
            self._log({"method": "GET", "url": url, "status": status, "error": error, "response": data,
                       "duration_ms": round((time.monotonic() - started) * 1000, 1)})
        except Exception:  # a log failure must not cost the route
            pass


class Router:
    """What the app asks for a route: OSRM when a URL is configured, else (or when it is down) an estimate.

    ``speed_kmh`` and ``detour_factor`` tune the estimate; ``osrm_options`` go to :class:`OsrmClient`.
    """

    def __init__(
        self,
        osrm_url: str | None,
        *,
        speed_kmh: float = DEFAULT_SPEED_KMH,
        detour_factor: float = DEFAULT_DETOUR_FACTOR,
        **osrm_options: Any,
    ) -> None:
        self.speed_kmh = speed_kmh
        self.detour_factor = detour_factor
        self.osrm = OsrmClient(osrm_url, **osrm_options) if osrm_url else None

    def close(self) -> None:
        if self.osrm is not None:
            self.osrm.close()

    def __enter__(self) -> "Router":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def route(self, origin: GeoPoint, destination: GeoPoint) -> Route:
        """A road route, or a labelled estimate. Raises :class:`NoRoute` when the router says no
        road joins the points, ``ValueError`` for coordinates off the planet."""
        if self.osrm is None:
            return straight_line_estimate(origin, destination, speed_kmh=self.speed_kmh, detour_factor=self.detour_factor,
                                          fallback_reason="маршрутизатор не настроен")
        try:
            return self.osrm.route(origin, destination)
        except RoutingUnavailable as exc:
            return straight_line_estimate(origin, destination, speed_kmh=self.speed_kmh, detour_factor=self.detour_factor,
                                          fallback_reason=f"маршрутизатор недоступен: {exc.message}")


__all__ = [
    "DEFAULT_DETOUR_FACTOR", "DEFAULT_SPEED_KMH", "GeoPoint", "NoRoute", "OsrmClient", "Route", "Router",
    "RoutingError", "RoutingUnavailable", "haversine_m", "straight_line_estimate",
]
