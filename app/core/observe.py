"""What every request leaves behind for operations: metrics, a request id, one access log line;
and ``GET /metrics`` for Prometheus, open only to configured networks or a bearer token.

:class:`ObserveMiddleware` is the outermost middleware of the API app (``build_api``), which
mounts Reflex's own ASGI app, so it sees every HTTP request the server answers (API, ``/health``,
Reflex's ``/ping`` and uploads, the frontend files in single-port mode) and every WebSocket
session (Reflex's ``/_event``). For each request it:

* takes the request id from ``X-Request-ID`` when a trusted proxy (``PULT_TRUSTED_PROXIES``,
  :mod:`app.core.net`) sent one, otherwise makes one, and returns it in ``X-Request-ID``;
* names the route by its **template** (``/api/stock/products/{pk}``) as the router matched it,
  never the raw path: ids and query strings would make a series per record. Frontend files and
  pages are ``frontend``, Reflex's socket ``/_event``, anything no route matched ``unmatched``;
* records requests, latency and 4xx/5xx answers (:mod:`app.core.metrics`) and writes one access
  line (logger ``pult.http``) with method, route, status, duration and the user id.

``/metrics`` access (both read when asked, so a deployment changes them without a rebuild):

* ``PULT_METRICS_TOKEN``: a client sending ``Authorization: Bearer <token>`` may scrape;
* ``PULT_METRICS_ALLOW``: addresses or networks (comma-separated, e.g. ``172.30.0.0/24``) that may
  scrape without the token. The client's address is the one :mod:`app.core.net` vouches for: a
  request relayed by the trusted reverse proxy counts as the browser's address, not the proxy's.

With neither set, ``/metrics`` answers 403 to everyone. The exposition holds counts by route
template, status, job kind and queue name: no user, no record, no secret.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount

from app.core import logs, metrics, net

access_log = logging.getLogger("pult.http")

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
#: Routes whose access lines are DEBUG: probes, scrapes and static files would drown the rest.
QUIET_ROUTES = frozenset({"/health", "/ping", "/metrics", "frontend"})


def route_template(scope: dict, root_path: str, status: int | None) -> str:
    """The matched route's template with the prefixes of the mounts it sits under."""
    route = scope.get("route")
    prefix = (scope.get("root_path") or "")[len(root_path):]
    if status == 404 and (route is None or isinstance(route, Mount)):  # no route, or a mount that found nothing
        return "unmatched"
    if route is None:  # FastAPI names only its API routes in the scope; a mount it matched shows in root_path
        return prefix or "unmatched"
    if isinstance(route, Mount):  # a leaf mount: the socket, the frontend's files, uploads
        return prefix or "frontend"
    return prefix + (getattr(route, "path", None) or "") or "unmatched"


def _request_id(scope: dict) -> str:
    peer = (scope.get("client") or (None,))[0]
    if net.is_trusted_proxy(peer):
        for name, value in scope.get("headers") or ():
            if name.lower() == REQUEST_ID_HEADER.encode():
                candidate = value.decode("latin-1").strip()
                if _REQUEST_ID.match(candidate):
                    return candidate
                break
    return uuid.uuid4().hex


class ObserveMiddleware:
    """Metrics, request id and access log for every HTTP request; counts WebSocket sessions."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ctx = logs.RequestContext(request_id=_request_id(scope), method=scope.get("method"))
        token = logs.bind(ctx)
        root_path = scope.get("root_path") or ""
        started = time.perf_counter()
        status: list[int] = []

        async def send_observed(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", ctx.request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except BaseException:
            if not status:
                status.append(500)
            raise
        finally:
            seconds = time.perf_counter() - started
            code = status[0] if status else 500
            ctx.route, ctx.status, ctx.duration_ms = route_template(scope, root_path, code), code, round(seconds * 1000, 2)
            metrics.record_http(ctx.method or "GET", ctx.route, code, seconds)
            level = logging.DEBUG if ctx.route in QUIET_ROUTES and code < 400 else logging.INFO
            access_log.log(level, "%s %s %s %.1f ms", ctx.method, ctx.route, code, ctx.duration_ms)
            logs.unbind(token)

    async def _websocket(self, scope: dict, receive: Callable, send: Callable) -> None:
        accepted = False

        async def send_observed(message: dict) -> None:
            nonlocal accepted
            await send(message)
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                metrics.websocket_opened()

        try:
            await self.app(scope, receive, send_observed)
        finally:
            if accepted:
                metrics.websocket_closed()


# --------------------------------------------------------------------------- /metrics
def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for item in os.environ.get("PULT_METRICS_ALLOW", "").split(","):
        if item.strip():
            try:
                out.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                access_log.error("PULT_METRICS_ALLOW: %r is not an address or network; ignored", item.strip())
    return out


def metrics_allowed(scope: dict) -> bool:
    """Whether this request may read ``/metrics``: the bearer token, or a client in an allowed network."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or ()}
    expected = os.environ.get("PULT_METRICS_TOKEN", "")
    scheme, _, given = headers.get("authorization", "").partition(" ")
    if expected and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode()):
        return True
    peer = (scope.get("client") or (None,))[0]
    client = net.client_ip(peer, headers)
    if not client:
        return False
    try:
        ip = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(ip in network for network in _allowed_networks())


def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics``: the Prometheus text format, or 403."""
    if not metrics_allowed(request.scope):
        return PlainTextResponse("forbidden\n", status_code=403)
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


def mount_metrics(app: Any) -> None:
    """Add ``/metrics`` and the middleware to a FastAPI/Starlette app (``build_api`` does)."""
    # an API route (not a plain one): FastAPI names only those in the scope, where the middleware reads the template
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False, response_class=Response)
    app.add_middleware(ObserveMiddleware)


__all__ = ["ObserveMiddleware", "metrics_allowed", "metrics_endpoint", "mount_metrics", "route_template"]
