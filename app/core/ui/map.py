"""A map block: places as coloured circles and a route as a line, on Leaflet (npm ``leaflet`` +
``react-leaflet``), with tiles from a configurable URL (``PULT_MAP_TILE_URL``, OpenStreetMap's by
default; the page's Content-Security-Policy lets images come from that host and no other).

A panel gives it plain data from its state — no Leaflet knowledge needed::

    map_view(
        points=StoreCard.map_points,     # [{"lat": 55.75, "lon": 37.61, "label": "Магазин №12", "kind": "store"}, ...]
        route=StoreCard.route_line,      # [[lat, lon], ...] or []
        height="320px",
    )

``kind`` picks the colour (``store``, ``warehouse``, ``courier``, anything else: grey). The map fits
itself to the points; with none it shows ``center``/``zoom``. Markers are circles, not Leaflet's
default pin, whose image files do not survive bundling. Nothing is fetched from outside the npm
registry at build time; in the browser only the tiles come from the tile host.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.components.component import NoSSRComponent
from reflex.vars.base import Var

from app.core.config import settings

LEAFLET = "leaflet@1.9.4"
REACT_LEAFLET = "react-leaflet@5.0.0"

#: Point kind -> circle colour.
COLOURS = {"store": "#2563eb", "warehouse": "#16a34a", "courier": "#ea580c"}


class _Leaflet(NoSSRComponent):
    library = REACT_LEAFLET
    lib_dependencies: list[str] = [LEAFLET]  # noqa: RUF012 - Reflex reads it as a class attribute


class MapContainer(_Leaflet):
    tag = "MapContainer"
    center: Var[list[float]]
    zoom: Var[int]
    bounds: Var[list[list[float]] | None]
    scroll_wheel_zoom: Var[bool]

    def add_imports(self) -> dict[str, Any]:
        return {"": ["leaflet/dist/leaflet.css"]}


class TileLayer(_Leaflet):
    tag = "TileLayer"
    url: Var[str]
    attribution: Var[str]


class CircleMarker(_Leaflet):
    tag = "CircleMarker"
    center: Var[list[float]]
    radius: Var[int]
    path_options: Var[dict[str, Any]]


class Polyline(_Leaflet):
    tag = "Polyline"
    positions: Var[list[list[float]]]
    path_options: Var[dict[str, Any]]


class Tooltip(_Leaflet):
    tag = "Tooltip"
    permanent: Var[bool]
    direction: Var[str]


def _marker(p: Var) -> rx.Component:
    colour = rx.match(p["kind"].to(str), *[(k, v) for k, v in COLOURS.items()], "#6b7280")
    return CircleMarker.create(
        Tooltip.create(p["label"].to(str), permanent=True, direction="top"),
        center=[p["lat"].to(float), p["lon"].to(float)],
        radius=9,
        path_options={"color": colour, "fillColor": colour, "fillOpacity": 0.85, "weight": 2},
    )


def map_view(points: Var, route: Var | None = None, *, center: tuple[float, float] = (55.751, 37.618),
             zoom: int = 10, height: str = "320px", id: str = "map") -> rx.Component:
    """A live map of ``points`` (a list of dicts with lat, lon, label, kind) and an optional ``route``
    (a list of [lat, lon]). Re-renders when the state vars change."""
    pts = points.to(list[dict[str, Any]])
    line = route.to(list[list[float]]) if route is not None else None
    # Leaflet reads ``bounds`` only when it creates the map: key the container on the points so a
    # new set of places re-creates it fitted to them.
    key = pts.to_string()
    children = [
        TileLayer.create(url=settings.map_tile_url, attribution=settings.map_attribution),
        rx.foreach(pts, _marker),
    ]
    if line is not None:
        children.append(rx.cond(line.length() > 1, Polyline.create(positions=line, path_options={"color": "#ea580c", "weight": 4})))
    bounds = rx.cond(
        pts.length() > 1,
        pts.map(lambda p: [p["lat"].to(float), p["lon"].to(float)]),
        None,
    )
    return rx.box(
        rx.cond(
            pts.length() > 0,
            MapContainer.create(*children, key=key, center=rx.cond(pts.length() > 0, [pts[0]["lat"].to(float), pts[0]["lon"].to(float)], list(center)),
                                zoom=zoom, bounds=bounds, scroll_wheel_zoom=False, style={"height": "100%", "width": "100%"}),
            MapContainer.create(children[0], center=list(center), zoom=zoom, scroll_wheel_zoom=False,
                                style={"height": "100%", "width": "100%"}),
        ),
        id=id,
        height=height,
        width="100%",
        border_radius="var(--radius-3)",
        overflow="hidden",
        border="1px solid var(--gray-a6)",
    )
