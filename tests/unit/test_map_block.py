"""The map block: tiles only from the configured host (the CSP names it), and the component compiles."""

from __future__ import annotations

import dataclasses

import pytest

from app.core import http_security
from app.core.config import settings


@pytest.mark.parametrize(
    ("template", "origin"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://127.0.0.1:8123/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8123"),
        ("javascript:alert(1)", None),
        ("/tiles/{z}/{x}/{y}.png", None),  # the app's own: 'self' covers it
    ],
)
def test_tile_origin(template, origin):
    assert http_security._origin_of(template) == origin


def test_page_csp_allows_images_from_the_tile_host_and_the_object_store_only(monkeypatch):
    monkeypatch.setenv("S3_PUBLIC_URL", "https://files.example.net/")
    monkeypatch.setattr(http_security, "settings", dataclasses.replace(settings, map_tile_url="https://{s}.tiles.example.net/{z}/{x}/{y}.png"))
    csp = http_security._csp({"type": "http", "path": "/equipment/stores", "headers": [], "scheme": "http", "server": ("127.0.0.1", 3000)})
    img = next(d for d in csp.split(";") if d.strip().startswith("img-src")).split()
    assert img == ["img-src", "'self'", "data:", "blob:", "https://files.example.net", "https://*.tiles.example.net"]
    # API answers never render images at all
    assert "img-src" not in http_security._csp({"type": "http", "path": "/api/equipment/stores", "headers": []})


def test_map_view_compiles_to_leaflet():
    import reflex as rx

    from app.core.ui import map_view

    class MapState(rx.State):
        points: list[dict] = [{"lat": 55.7, "lon": 37.6, "label": "Склад", "kind": "warehouse"}]
        route: list[list[float]] = []

    comp = map_view(MapState.points, MapState.route)
    js = str(comp.render())
    assert "MapContainer" in js and "TileLayer" in js and "CircleMarker" in js and "Polyline" in js
    imports = comp._get_all_imports()
    assert any(lib.startswith("react-leaflet") for lib in imports)


def test_map_view_fits_its_points_not_a_fixed_zoom():
    """react-leaflet's MapContainer does ``setView(center, zoom)`` when it has both and reads
    ``bounds`` only without them (and only once): the map with points gets bounds alone, and a
    child that refits it when the points or the route change live."""
    import reflex as rx

    from app.core.ui import map_view
    from app.core.ui.map import REACT_LEAFLET, _FitBounds

    class FitState(rx.State):
        points: list[dict] = [{"lat": 55.804, "lon": 37.59, "label": "Склад", "kind": "warehouse"},
                              {"lat": 55.758, "lon": 37.613, "label": "Магазин", "kind": "store"}]
        route: list[list[float]] = []

    comp = map_view(FitState.points, FitState.route, max_zoom=15)
    js = str(comp)
    fitted, empty = js.split("jsx(MapContainer")[1:]  # the map with points, then the one without
    own = fitted.split(",jsx(")[0]  # the container's own props, before its first child
    assert "bounds:" in own and "center:" not in own and "zoom:" not in own
    assert '["maxZoom"] : 15' in own
    assert "center:[55.751, 37.618]" in empty and "zoom:10" in empty
    assert "jsx(PultFitBounds" in fitted and "maxZoom:15" in fitted
    # the route's vertices count too, so a bending road is not cut off
    assert "route_rx_state_]" in fitted.split("jsx(PultFitBounds")[1]
    # react-leaflet (and useMap) only ever load in the browser, through ClientSide's dynamic import
    dyn = comp._get_all_dynamic_imports()
    assert any(d.startswith("const PultFitBounds = ClientSide(() => import('react-leaflet')") for d in dyn)
    assert any("function pultFitBounds(useMap)" in c for c in comp._get_all_custom_code())
    assert all(not v.render for v in comp._get_all_imports()[REACT_LEAFLET])  # installed, never imported statically
    assert _FitBounds.create(bounds=[[55.7, 37.6]]).render()
