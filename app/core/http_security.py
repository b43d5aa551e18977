"""The HTTP layer's security rules, one place for every route the app serves.

* **Allowed origins.** A browser request may use the session only from the app's own origin (the
  scheme and ``Host`` of the request itself, so whatever name the app is opened at works), from
  ``PULT_PUBLIC_URL``, from ``PULT_ALLOWED_ORIGINS`` and, under ``reflex run`` in dev mode, from the
  dev frontend (another port on localhost). :func:`allowed_origins` is what ``rxconfig.py`` gives
  Reflex's CORS middleware (never ``*``: with credentials that echoes every origin);
  :func:`guard_socket` applies the same rule to the ``/_event`` WebSocket handshake.
* **CSRF** (:class:`CsrfMiddleware`). A state change under ``/api`` that carries the session cookie
  must come from an allowed origin (``Origin``, or the ``Referer`` when there is no ``Origin``) and
  carry ``X-Pult-Request: 1``, a header an HTML form cannot send and a cross-origin script cannot
  send without a CORS preflight we refuse. Bearer-token requests without the cookie are exempt, and
  so are webhooks (they carry no cookie). Login, its next steps (``/api/auth/login/{challenge}``)
  and registration (no session cookie yet) are refused from a foreign ``Origin`` (login CSRF); a
  step's challenge is bound to its browser by a SameSite=Strict cookie as well.
* **Security headers** (:class:`SecurityHeadersMiddleware`) on every HTTP response: pages, static
  files, the API, ``/health``.

The scheme and client address come from :mod:`app.core.net` (forwarded headers only from
``PULT_TRUSTED_PROXIES``), like everywhere else.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response

from app.core import net
from app.core.config import settings

log = logging.getLogger(__name__)

from app.core.config import SESSION_COOKIE
#: The custom header every cookie-authenticated state change must carry (value ``1``).
CSRF_HEADER = "X-Pult-Request"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: Routes that create a session: no cookie to protect yet, but a foreign ``Origin`` is refused.
SIGN_IN_PATHS = frozenset({"/api/auth/login", "/api/auth/register"})
#: A sign-in's next steps (``/api/auth/login/{challenge}``): the same rule as :data:`SIGN_IN_PATHS`.
SIGN_IN_STEP_PREFIX = "/api/auth/login/"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


# --------------------------------------------------------------------------- the request's own side
def _headers(scope: dict) -> dict[str, str]:
    """The request's headers, names lower-cased (the first of repeated ones)."""
    out: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        out.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return out


def _peer(scope: dict) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def scope_is_secure(scope: dict) -> bool:
    """Whether the browser reached us over TLS (a trusted proxy's ``X-Forwarded-Proto`` counts)."""
    return net.is_secure(scope.get("scheme", "http"), _peer(scope), _headers(scope))


def request_ip(request: Request) -> str | None:
    """The client's address for throttling and the audit log (forwarded only by trusted proxies)."""
    return net.client_ip(_peer(request.scope), _headers(request.scope))


def request_is_secure(request: Request) -> bool:
    """Whether the request came over TLS: decides the cookie's ``Secure`` flag and HSTS."""
    return scope_is_secure(request.scope)


# --------------------------------------------------------------------------- origins
def normalise_origin(value: str | None) -> str | None:
    """``scheme://host[:port]`` lower-cased without a default port, or None for anything else
    (``null``, a bare host, garbage). A URL with a path is reduced to its origin."""
    if not value or value == "null":
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def own_origin(scope: dict) -> str | None:
    """The origin the request was sent to: its scheme (TLS as :mod:`app.core.net` says) and ``Host``."""
    host = _headers(scope).get("host")
    if not host:
        return None
    return normalise_origin(f"{'https' if scope_is_secure(scope) else 'http'}://{host}")


def allowed_origins(dev_frontend_port: int | None = None) -> tuple[str, ...]:
    """The origins besides the app's own that may use the session: ``PULT_PUBLIC_URL``,
    ``PULT_ALLOWED_ORIGINS`` and, given ``dev_frontend_port``, the dev frontend on localhost.

    ``*`` is refused: with credentials it would let every site act as the signed-in user.
    """
    out: list[str] = []
    for raw in (settings.public_url, *settings.allowed_origins):
        if not raw:
            continue
        if raw.strip() == "*":
            raise ValueError("PULT_ALLOWED_ORIGINS: '*' is not allowed; list the origins (https://app.example.com)")
        origin = normalise_origin(raw)
        if origin is None:
            raise ValueError(f"PULT_PUBLIC_URL / PULT_ALLOWED_ORIGINS: {raw!r} is not an http(s) origin")
        out.append(origin)
    if dev_frontend_port:
        out += [f"http://localhost:{dev_frontend_port}", f"http://127.0.0.1:{dev_frontend_port}"]
    return tuple(dict.fromkeys(out))


def _dev_frontend_port() -> int | None:
    """Under ``reflex run`` in dev mode the pages come from a frontend server on another port."""
    if os.environ.get("REFLEX_ENV_MODE") != "dev":
        return None
    from reflex.config import get_config

    cfg = get_config()
    if cfg.frontend_port and cfg.frontend_port != cfg.backend_port:
        return cfg.frontend_port
    return None


def origin_allowed(origin: str | None, scope: dict) -> bool:
    """Whether a browser at ``origin`` may use the session on this request."""
    origin = normalise_origin(origin)
    if origin is None:
        return False
    return origin == own_origin(scope) or origin in allowed_origins(_dev_frontend_port())


def guard_socket(sio: Any) -> None:
    """Apply :func:`origin_allowed` to the Socket.IO server's WebSocket handshake.

    Reflex passes the CORS list to python-engineio, where an empty list *disables* the origin check
    and ``None`` means "same host" judged by unverified forwarded headers; a callable is asked for
    every request that carries an ``Origin`` and a refusal ends the handshake with 400.
    """

    from reflex.config import get_config

    if "*" in get_config().cors_allowed_origins:  # e.g. REFLEX_CORS_ALLOWED_ORIGINS=* in the environment
        raise RuntimeError("cors_allowed_origins '*' would let every site use the session; list origins in PULT_ALLOWED_ORIGINS")

    def allowed(origin: str, environ: dict) -> bool:
        scope = environ.get("asgi.scope") or {}
        ok = origin_allowed(origin, scope)
        if not ok:
            log.warning("refused a WebSocket handshake from origin %r", origin)
        return ok

    sio.eio.cors_allowed_origins = allowed


# --------------------------------------------------------------------------- CSRF
ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]
Refusal = Callable[[Request, Exception], Response]


def csrf_refusal(scope: dict) -> str | None:
    """Why this request must be refused as a possible cross-site request forgery, or None."""
    if scope.get("type") != "http" or scope.get("method", "GET") in SAFE_METHODS:
        return None
    path = scope.get("path", "")
    if not path.startswith("/api/"):
        return None
    headers = _headers(scope)
    origin = headers.get("origin")
    if path in SIGN_IN_PATHS or path.startswith(SIGN_IN_STEP_PREFIX):
        return f"sign-in from origin {origin!r}" if origin and not origin_allowed(origin, scope) else None
    if not _has_session_cookie(headers.get("cookie", "")):
        return None  # a bearer token or a webhook's own secret: nothing a browser adds by itself
    source = origin if origin else headers.get("referer")
    if not source:
        return "no Origin or Referer"
    if not origin_allowed(source, scope):
        return f"origin {normalise_origin(source) or source!r} not allowed"
    if headers.get(CSRF_HEADER.lower(), "").strip() != "1":
        return f"no {CSRF_HEADER}: 1 header"
    return None


def _has_session_cookie(cookie_header: str) -> bool:
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value.strip():
            return True
    return False


class CsrfMiddleware:
    """Refuses cookie-authenticated state changes under ``/api`` that a foreign site could forge.

    ``refuse(request, exc)`` renders the refusal (the API's error handler: 403 JSON in the user's
    language). The body is never read: a refused upload is not even received.
    """

    def __init__(self, app: ASGIApp, refuse: Refusal) -> None:
        self.app = app
        self.refuse = refuse

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        reason = csrf_refusal(scope)
        if reason is None:
            await self.app(scope, receive, send)
            return
        from app.core.errors import PermissionDenied

        log.warning("CSRF: refused %s %s: %s", scope.get("method"), scope.get("path"), reason)
        response = self.refuse(Request(scope), PermissionDenied("error.csrf"))
        await response(scope, receive, send)


# --------------------------------------------------------------------------- security headers
#: The Reflex frontend runs inline bootstrap scripts, and ``rx.call_script`` evaluates code sent by
#: the server, hence the script exceptions; everything else comes from the app's own origin.
PAGE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:{img}; font-src 'self' data:; connect-src 'self'{ws}; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: Swagger UI and ReDoc (local files, no inline script; ReDoc runs a worker from a blob and
#: styled-components inject <style> elements).
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: JSON answers and downloads are never rendered as documents.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_PATHS = ("/api/docs", "/api/redoc")
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), browsing-topics=()"
)
HSTS = "max-age=31536000; includeSubDomains"


def _csp(scope: dict) -> str:
    path = scope.get("path", "")
    if path.startswith(DOCS_PATHS):
        return DOCS_CSP
    if path.startswith("/api/") or path in ("/health", "/metrics"):
        return API_CSP
    # Name the WebSocket of this origin explicitly: not every browser lets 'self' cover ws(s).
    own = own_origin(scope)
    ws = " " + own.replace("http", "ws", 1) if own else ""
    return PAGE_CSP.format(ws=ws, img="".join(" " + o for o in image_origins()))


def _origin_of(template: str) -> str | None:
    """``https://{s}.tile.example.org/{z}/{x}/{y}.png`` -> ``https://*.tile.example.org``."""
    parts = urlsplit(template.replace("{s}", "SUBDOMAIN"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.netloc.replace("SUBDOMAIN", "*")
    return f"{parts.scheme}://{host}"


def files_origin() -> str:
    """``scheme://host[:port]`` of the object store as browsers reach it (``S3_PUBLIC_URL``, else
    ``S3_ENDPOINT_URL``), or "" — read here rather than from app.core.files, which this module,
    on every response's path, need not import."""
    url = os.environ.get("S3_PUBLIC_URL", "") or os.environ.get("S3_ENDPOINT_URL", "")
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def image_origins() -> list[str]:
    """Hosts pages may show images from besides their own: the object store (photos by presigned
    URL, :mod:`app.core.files`) and the map's tile server (:mod:`app.core.ui.map`)."""
    out = [files_origin()]
    out.append(_origin_of(settings.map_tile_url) if settings.map_tile_url else "")
    return list(dict.fromkeys(o for o in out if o))


def security_headers(scope: dict) -> list[tuple[str, str]]:
    """The headers every response to this request gets (HSTS only when it came over TLS)."""
    out = [
        ("Content-Security-Policy", _csp(scope)),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if scope_is_secure(scope):
        out.append(("Strict-Transport-Security", HSTS))
    return out


class SecurityHeadersMiddleware:
    """Adds :func:`security_headers` to every HTTP response that does not set them itself.

    Placed at the top of the app (``rx.App(api_transformer=[api, SecurityHeadersMiddleware])``), so
    the frontend files served in single-port mode, Reflex's own routes, the API and ``/health``
    all pass through it; WebSocket traffic passes untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope)

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def secure_app(app: ASGIApp) -> ASGIApp:
    """``app`` behind :class:`SecurityHeadersMiddleware` (an ``api_transformer`` step)."""
    return SecurityHeadersMiddleware(app)


__all__ = [
    "CSRF_HEADER", "CsrfMiddleware", "SecurityHeadersMiddleware", "allowed_origins", "guard_socket",
    "origin_allowed", "request_ip", "request_is_secure", "secure_app", "security_headers",
]
