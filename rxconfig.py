"""Reflex configuration. URLs come from the environment (see app/core/config.py and scripts/run)."""

import os

import reflex as rx

config = rx.Config(
    app_name="app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # Share state between backend workers and servers through Redis when it is configured.
    redis_url=os.environ.get("REDIS_URL") or None,
    frontend_port=int(os.environ.get("PULT_PORT", "3000")),
    backend_port=int(os.environ.get("PULT_BACKEND_PORT", os.environ.get("PULT_PORT", "3000"))),
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium", scaling="95%"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
