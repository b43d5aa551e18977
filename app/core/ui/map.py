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
itself to the points and the route (with a margin, and no closer than ``max_zoom``, so one point or
two next door show their street, not one building), again whenever they change live or the map's
box changes size; with no points it shows ``center``/``zoom``. Markers are circles, not Leaflet's
default pin, whose image files do not survive bundling. Nothing is fetched from outside the npm
registry at build time; in the browser only the tiles come from the tile host.
"""

from __future__ import annotations

import json
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
    bounds_options: Var[dict[str, Any]]
    zoom_snap: Var[float]
    scroll_wheel_zoom: Var[bool]

    def add_imports(self) -> dict[str, Any]:
        return {"": ["leaflet/dist/leaflet.css"]}


class _FitBounds(_Leaflet):
    """A child of the map that keeps it fitted to ``bounds``: calls Leaflet's ``fitBounds`` when the
    coordinates change (a live update: no re-created map, no re-fetched tiles) and when the map's
    box is resized (a phone turned sideways). react-leaflet has no such component and reads
    ``MapContainer``'s own ``bounds`` only when it creates the map (and then only without a
    ``center``/``zoom``), so this is the one place that follows later changes.

    It needs react-leaflet's ``useMap``, and react-leaflet must only load in the browser (Leaflet
    touches ``window`` on import), so the component is built inside the same ``ClientSide`` dynamic
    import that loads the library's own components."""

    tag = "PultFitBounds"
    bounds: Var[list[list[float]]]
    padding_top_left: Var[list[int]]
    padding_bottom_right: Var[list[int]]
    max_zoom: Var[int]

    def add_imports(self) -> dict[str, Any]:
        return {"react": ["useEffect"]}

    def add_custom_code(self) -> list[str]:
        return [_FIT_BOUNDS_JS]

    def _get_dynamic_imports(self) -> str:
        return (f"const {self.tag} = ClientSide(() => import('{REACT_LEAFLET.rsplit('@', 1)[0]}')"
                f".then((mod) => pultFitBounds(mod.useMap)), {json.dumps(self.tag)})")


# ``key`` is the coordinates as text: the effect re-runs when a point moves, not on every render
# (the array is a new object each time the state arrives).
_FIT_BOUNDS_JS = """function pultFitBounds(useMap) {
  return function PultFitBounds({ bounds, paddingTopLeft, paddingBottomRight, maxZoom }) {
    const map = useMap();
    const key = JSON.stringify(bounds ?? []);
    useEffect(() => {
      const pts = JSON.parse(key);
      if (pts.length === 0) return undefined;
      const fit = () => map.fitBounds(pts, { paddingTopLeft, paddingBottomRight, maxZoom, animate: false });
      fit();
      map.on("resize", fit);
      return () => { map.off("resize", fit); };
    }, [map, key, maxZoom]);
    return null;
  };
}"""


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


#: Fitting snaps the zoom to quarters, not whole levels: in a 300 px box a whole level can leave the
#: places in the middle half of the map (Leaflet draws the tiles of the nearest level, scaled).
ZOOM_SNAP = 0.25

#: Room around the fitted places, in pixels: more on top, where each point's label sits.
PADDING_TOP_LEFT = [40, 50]
PADDING_BOTTOM_RIGHT = [40, 20]


def map_view(points: Var, route: Var | None = None, *, center: tuple[float, float] = (55.751, 37.618),
             zoom: int = 10, max_zoom: int = 16, height: str = "320px", id: str = "map") -> rx.Component:
    """A live map of ``points`` (a list of dicts with lat, lon, label, kind) and an optional ``route``
    (a list of [lat, lon]), fitted to both. Re-renders when the state vars change. ``center`` and
    ``zoom`` are for a map with no points; ``max_zoom`` caps the fit."""
    pts = points.to(list[dict[str, Any]])
    line = route.to(list[list[float]]) if route is not None else None
    # Every coordinate the map must show: the places and the route's vertices (a road can bend
    # outside the box of its two ends).
    coords = pts.map(lambda p: [p["lat"].to(float), p["lon"].to(float)]).to(list[list[float]])
    if line is not None:
        coords = coords + line
    fit = {"padding_top_left": PADDING_TOP_LEFT, "padding_bottom_right": PADDING_BOTTOM_RIGHT, "max_zoom": max_zoom}
    children = [
        TileLayer.create(url=settings.map_tile_url, attribution=settings.map_attribution),
        rx.foreach(pts, _marker),
    ]
    if line is not None:
        children.append(rx.cond(line.length() > 1, Polyline.create(positions=line, path_options={"color": "#ea580c", "weight": 4})))
    children.append(_FitBounds.create(bounds=coords, **fit))
    return rx.box(
        rx.cond(
            pts.length() > 0,
            # ``bounds`` without ``center``/``zoom``: react-leaflet uses bounds only when neither is
            # given (it prefers ``setView(center, zoom)``), so the map is born fitted, with no first
            # frame at ``zoom``; _FitBounds keeps it fitted after that.
            MapContainer.create(*children, bounds=coords,
                                bounds_options={"paddingTopLeft": PADDING_TOP_LEFT, "paddingBottomRight": PADDING_BOTTOM_RIGHT, "maxZoom": max_zoom},
                                zoom_snap=ZOOM_SNAP, scroll_wheel_zoom=False, style={"height": "100%", "width": "100%"}),
            MapContainer.create(children[0], center=list(center), zoom=zoom, zoom_snap=ZOOM_SNAP, scroll_wheel_zoom=False,
                                style={"height": "100%", "width": "100%"}),
        ),
        id=id,
        height=height,
        width="100%",
        border_radius="var(--radius-3)",
        overflow="hidden",
        border="1px solid var(--gray-a6)",
    )
