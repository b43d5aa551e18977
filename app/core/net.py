"""Who is on the other end of a request: the client's address and whether it came over TLS.

Behind a reverse proxy the peer of every request is the proxy, and the real client is named in
``X-Forwarded-For`` / ``X-Forwarded-Proto``. Those headers are only as honest as whoever sent them:
a browser can put anything there. So they are believed only when the peer is one of the proxies
configured in ``PULT_TRUSTED_PROXIES`` (addresses or networks, comma-separated), and
``X-Forwarded-For`` is read from the right, hop by hop, while the hop is a trusted proxy: the first
untrusted address is the client (what uvicorn's ``ProxyHeadersMiddleware`` and werkzeug's
``ProxyFix`` do). With no trusted proxies configured the headers are ignored.

One rule for every entry point: the REST API passes the ASGI peer and headers, the Reflex UI passes
``router.session.client_ip`` and ``router.headers.raw_headers`` (the WebSocket handshake's).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache

from app.core.config import settings


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for item in spec:
        try:
            nets.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ValueError(f"PULT_TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
    return tuple(nets)


def is_trusted_proxy(addr: str | None) -> bool:
    """Whether ``addr`` is one of the configured reverse proxies."""
    if not addr:
        return False
    try:
        ip = ipaddress.ip_address(addr.strip())
    except ValueError:
        return False
    return any(ip in net for net in _networks(settings.trusted_proxies))


def _header(headers: Mapping[str, str], name: str) -> str:
    return headers.get(name) or headers.get(name.title()) or ""


def client_ip(peer: str | None, headers: Mapping[str, str]) -> str | None:
    """The client's address: ``peer`` unless a trusted proxy forwarded the request for someone else."""
    if not is_trusted_proxy(peer):
        return peer or None
    hops = [h.strip() for h in _header(headers, "x-forwarded-for").split(",") if h.strip()]
    addr = peer
    while hops and is_trusted_proxy(addr):
        addr = hops.pop()
    try:
        return str(ipaddress.ip_address(addr)) if addr else None
    except ValueError:  # a proxy passed on garbage: keep the last address we can vouch for
        return peer


def is_secure(scheme: str, peer: str | None, headers: Mapping[str, str]) -> bool:
    """Whether the browser reached us over TLS: the request's own scheme, or a trusted proxy's word."""
    if scheme in ("https", "wss"):
        return True
    if is_trusted_proxy(peer):
        proto = _header(headers, "x-forwarded-proto").split(",")[0].strip().lower()
        return proto == "https"
    return False
