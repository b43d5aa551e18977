"""The deployment's face lives in assets/: the favicon, the logo and pult.css reach every page."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def test_favicon_and_style_overrides_are_served_and_linked(page, app_url):
    page.goto("/login")
    assert page.locator('link[rel="icon"]').first.get_attribute("href") == "/favicon.svg"
    marker = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--pult-overrides-loaded')")
    assert marker.strip() == "1", "assets/pult.css did not reach the page"
    for name, kind in (("favicon.svg", "image/svg+xml"), ("logo.svg", "image/svg+xml")):
        reply = page.request.get(f"{app_url}/{name}")
        assert reply.status == 200 and reply.headers["content-type"].startswith(kind), (name, reply.status)
        assert reply.body() == (ASSETS / name).read_bytes()
