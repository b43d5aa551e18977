"""Reflex configuration. URLs come from the environment (see app/core/config.py and scripts/run).

Ports: the app (pages, ``/_event`` WebSocket, API) listens on ``PULT_PORT`` (3000) in production,
one port (``reflex run --env prod --single-port``). ``PULT_BACKEND_PORT`` moves the backend: the
default is ``PULT_PORT`` in prod and 8000 in dev mode, where Reflex serves the pages from a
frontend server of its own on ``PULT_PORT``. ``--backend-only`` (an API process) gets no frontend
port and ``--frontend-only`` no backend port, since Reflex refuses a port for a part it does not run.

CORS: only the origins of :func:`app.core.http_security.allowed_origins` (``PULT_PUBLIC_URL``,
``PULT_ALLOWED_ORIGINS``, the dev frontend), never Reflex's default ``*``; same-origin pages need
no CORS.
"""

import os
import sys

import reflex as rx

from app.core.http_security import allowed_origins


def _cli_env() -> str:
    """``--env`` of the ``reflex`` command being run, else the mode it left for its subprocesses."""
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg == "--env" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--env="):
            return arg.split("=", 1)[1]
    return os.environ.get("REFLEX_ENV_MODE", "dev")


def _flag(name: str, env: str) -> bool:
    return name in sys.argv[1:] or os.environ.get(env, "").lower() in ("1", "true", "yes")


_dev = _cli_env() == "dev"
_frontend_port = int(os.environ.get("PULT_PORT", "3000"))
_backend_port = int(os.environ.get("PULT_BACKEND_PORT") or (8000 if _dev else _frontend_port))
_ports = {}
if not _flag("--backend-only", "REFLEX_BACKEND_ONLY"):
    _ports["frontend_port"] = _frontend_port
if not _flag("--frontend-only", "REFLEX_FRONTEND_ONLY"):
    _ports["backend_port"] = _backend_port

config = rx.Config(
    app_name="app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    # Share state between backend workers and servers through Redis when it is configured.
    redis_url=os.environ.get("REDIS_URL") or None,
    **_ports,
    cors_allowed_origins=allowed_origins(_frontend_port if _dev and _frontend_port != _backend_port else None),
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="indigo", radius="medium", scaling="95%"))],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
