"""A local OSRM route service for tests and development.

It answers the route service of the OSRM HTTP API v5 (https://project-osrm.org/docs/v5.24.0/api/):
``GET /route/v1/{profile}/{lon},{lat};{lon},{lat}[;…][.json]?overview=full|simplified|false&
geometries=geojson|polyline|polyline6&steps=…&alternatives=…`` with ``{"code": "Ok", "routes":
[{"geometry", "legs", "distance", "duration", "weight_name", "weight"}], "waypoints": [{"hint",
"distance", "name", "location"}]}``, and the documented errors with HTTP 400: ``InvalidUrl``,
``InvalidService``, ``InvalidVersion``, ``InvalidQuery`` (malformed coordinates), ``InvalidValue``
(coordinates off the planet), ``InvalidOptions``, ``NoSegment`` and ``NoRoute``.

There is no map: a route goes from each point first along its parallel, then along the meridian
(an "L"), at ``speed_mps`` — deterministic and about as long as a city route. Tests shape the world
with the hooks::

    osrm = start_osrm_sandbox()
    osrm.add_island(55.0, 20.0, radius_m=5_000)   # no road leaves this circle → NoRoute
    osrm.add_water(43.0, 35.0, radius_m=50_000)  # no road at all inside → NoSegment
    osrm.fail_next(status=503)                    # the next request answers 503
    osrm.requests                                 # every path + query received

Standalone: ``python -m integrations.sandbox.osrm --port 5005``.
"""

from __future__ import annotations

import argparse
import math
import re
import threading
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route as StarletteRoute

from integrations.sandbox.server import ServedApp, serve

_NUM = r"-?\d+(?:\.\d+)?"
_COORD_RE = re.compile(rf"^({_NUM}),({_NUM})$")
_OPTIONS = {
    "overview": {"full", "simplified", "false"},
    "geometries": {"geojson", "polyline", "polyline6"},
    "steps": {"true", "false"},
    "alternatives": None,
    "annotations": None,
    "continue_straight": {"default", "true", "false"},
    "generate_hints": {"true", "false"},
    "skip_waypoints": {"true", "false"},
    "radiuses": None,
    "bearings": None,
    "hints": None,
    "approaches": None,
    "exclude": None,
    "snapping": {"default", "any"},
}


def _error(code: str, message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle metres between (lon, lat) pairs."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(h)))


def encode_polyline(coords: list[tuple[float, float]], precision: int = 5) -> str:
    """Google's encoded polyline of ``(lon, lat)`` pairs (OSRM's ``polyline``/``polyline6``)."""
    factor = 10 ** precision
    out: list[str] = []
    prev_lat = prev_lon = 0
    for lon, lat in coords:
        lat_i, lon_i = round(lat * factor), round(lon * factor)
        for delta in (lat_i - prev_lat, lon_i - prev_lon):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        prev_lat, prev_lon = lat_i, lon_i
    return "".join(out)


@dataclass
class _Circle:
    lon: float
    lat: float
    radius_m: float

    def contains(self, p: tuple[float, float]) -> bool:
        return _dist((self.lon, self.lat), p) <= self.radius_m


class OsrmSandbox:
    """The fake route service: state, hooks and the Starlette app (``.app``). Thread-safe."""

    def __init__(self, *, speed_mps: float = 8.0) -> None:
        #: Driving speed of every road here (8 m/s ≈ 29 km/h, a city average).
        self.speed_mps = speed_mps
        self._lock = threading.Lock()
        self.reset()
        self.app = Starlette(routes=[
            StarletteRoute("/sandbox/reset", self._reset_endpoint, methods=["POST"]),
            StarletteRoute("/sandbox/islands", self._island_endpoint, methods=["POST"]),
            StarletteRoute("/{path:path}", self._endpoint, methods=["GET"]),
        ])

    # -- hooks
    def reset(self) -> None:
        with self._lock:
            self._islands: list[_Circle] = []
            self._water: list[_Circle] = []
            self._fail: list[int] = []
            self.requests: list[dict[str, Any]] = []

    def add_island(self, lat: float, lon: float, radius_m: float) -> None:
        """Roads inside this circle do not connect to roads outside it (routes across: NoRoute)."""
        with self._lock:
            self._islands.append(_Circle(lon, lat, radius_m))

    def add_water(self, lat: float, lon: float, radius_m: float) -> None:
        """No road at all in this circle: a point inside cannot be snapped (NoSegment)."""
        with self._lock:
            self._water.append(_Circle(lon, lat, radius_m))

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        """The next ``times`` requests answer ``status`` (a proxy in front of osrm-routed failing)."""
        with self._lock:
            self._fail.extend([status] * times)

    async def _reset_endpoint(self, request: Request) -> JSONResponse:
        self.reset()
        return JSONResponse({"ok": True})

    async def _island_endpoint(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.add_island(float(body["lat"]), float(body["lon"]), float(body["radius_m"]))
        return JSONResponse({"ok": True})

    # -- the route service
    async def _endpoint(self, request: Request) -> JSONResponse:
        path = request.url.path
        query = dict(request.query_params)
        with self._lock:
            self.requests.append({"path": path, "query": query})
            fail = self._fail.pop(0) if self._fail else None
        if fail is not None:
            return JSONResponse({"message": "Service Unavailable"}, status_code=fail)
        parts = path.strip("/").split("/")
        if len(parts) != 4:
            return _error("InvalidUrl", f"URL string malformed close to position {len(path)}: \"{path}\"")
        service, version, profile, coords_raw = parts
        if service not in ("route", "nearest", "table", "match", "trip", "tile"):
            return _error("InvalidService", f"Service {service} not found!")
        if service != "route":
            return _error("InvalidService", f"Service {service} is not available in the sandbox")
        if version != "v1":
            return _error("InvalidVersion", f"Service {service} not found!")
        if coords_raw.endswith(".json"):
            coords_raw = coords_raw[: -len(".json")]
        coords: list[tuple[float, float]] = []
        position = len(f"/{service}/{version}/{profile}/")
        for chunk in coords_raw.split(";"):
            m = _COORD_RE.match(chunk)
            if not m:
                return _error("InvalidQuery", f"Query string malformed close to position {position}")
            coords.append((float(m.group(1)), float(m.group(2))))
            position += len(chunk) + 1
        if len(coords) < 2:
            return _error("InvalidOptions", "Number of coordinates needs to be at least two.")
        for lon, lat in coords:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                return _error("InvalidValue", "Invalid coordinate value.")
        for name, value in query.items():
            allowed = _OPTIONS.get(name, set())
            if name not in _OPTIONS or (allowed is not None and value not in allowed):
                return _error("InvalidOptions", f"Option {name} is not supported or its value {value!r} is invalid")
        with self._lock:
            water, islands = list(self._water), list(self._islands)
        for p in coords:
            if any(w.contains(p) for w in water):
                return _error("NoSegment", "Could not find a matching segment for any coordinate.")
        for a, b in zip(coords, coords[1:]):
            if any(i.contains(a) != i.contains(b) for i in islands):
                return _error("NoRoute", "Impossible route between points")
        return JSONResponse(self._answer(coords, query))

    def _answer(self, coords: list[tuple[float, float]], query: dict[str, str]) -> dict[str, Any]:
        legs, line = [], [coords[0]]
        for a, b in zip(coords, coords[1:]):
            corner = (b[0], a[1])  # along the parallel first, then the meridian
            pieces = [(a, corner), (corner, b)]
            distance = 0.0
            for start, end in pieces:
                d = _dist(start, end)
                distance += d
                n = max(1, int(d // 250))  # a vertex every ~250 m, like a real polyline
                line.extend((start[0] + (end[0] - start[0]) * k / n, start[1] + (end[1] - start[1]) * k / n)
                            for k in range(1, n + 1))
            duration = distance / self.speed_mps
            legs.append({"steps": [], "summary": "", "weight": round(duration, 1), "duration": round(duration, 1),
                         "distance": round(distance, 1)})
        total_d = round(sum(leg["distance"] for leg in legs), 1)
        total_t = round(sum(leg["duration"] for leg in legs), 1)
        overview = query.get("overview", "simplified")
        if overview == "simplified":
            line = [line[0], line[len(line) // 2], line[-1]] if len(line) > 2 else line
        geometries = query.get("geometries", "polyline")
        route: dict[str, Any] = {"legs": legs, "weight_name": "routability", "weight": total_t, "duration": total_t,
                                 "distance": total_d}
        if overview != "false":
            if geometries == "geojson":
                route["geometry"] = {"type": "LineString", "coordinates": [[round(x, 6), round(y, 6)] for x, y in line]}
            else:
                route["geometry"] = encode_polyline(line, 6 if geometries == "polyline6" else 5)
        waypoints = [{"hint": f"sandbox-{i}", "distance": 0.0, "name": "", "location": [round(lon, 6), round(lat, 6)]}
                     for i, (lon, lat) in enumerate(coords)]
        return {"code": "Ok", "routes": [route], "waypoints": waypoints}


class OsrmHandle(OsrmSandbox):
    """A served sandbox: the hooks plus ``url`` and :meth:`stop`."""

    url: str
    _served: ServedApp | None = None

    def stop(self) -> None:
        if self._served is not None:
            self._served.stop()
            self._served = None

    def __enter__(self) -> "OsrmHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_osrm_sandbox(host: str = "127.0.0.1", port: int = 0, **options: Any) -> OsrmHandle:
    """Serve a new OSRM sandbox on ``host:port`` (0: a free port) in a background thread."""
    handle = OsrmHandle(**options)
    handle._served = serve(handle.app, host, port, name="osrm-sandbox")
    handle.url = handle._served.url
    return handle


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    ap = argparse.ArgumentParser(prog="python -m integrations.sandbox.osrm", description="Local OSRM route service sandbox")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5005)
    ap.add_argument("--speed", type=float, default=8.0, help="driving speed, m/s")
    args = ap.parse_args(argv)
    sandbox = OsrmSandbox(speed_mps=args.speed)
    print(f"OSRM sandbox on http://{args.host}:{args.port} (GET /route/v1/driving/lon,lat;lon,lat)")
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()


__all__ = ["OsrmHandle", "OsrmSandbox", "encode_polyline", "main", "start_osrm_sandbox"]
