"""The HTTP layer's rules on the real app (``reflex run --env prod --single-port``, the e2e server) and
in Chromium: CORS grants nothing to a foreign origin, the ``/_event`` WebSocket refuses a foreign
handshake, a same-site attacker page can neither deny an order with a form nor create an admin with
``fetch``, every kind of response carries the security headers, no page trips the CSP, and the API
docs render with every other origin blocked.

The attacker page is served by a small HTTP server of the test at ``http://127.0.0.1:<another port>``:
the same *site* as the app (cookies with SameSite=Lax go along, as the review found), another
*origin*, and the same address space (Chromium would block a public page's requests to loopback
on its own, which would prove nothing about the app).

It lives beside the other browser tests to share the session's server; the same rules at the ASGI
level (CSRF cases, HSTS behind a trusted proxy, outages) are in tests/security/test_http_security.py.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from app.core.i18n import t
from tests.e2e.conftest import login

FOREIGN = "https://evil.example"
COMMON = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "same-origin"}


def sibling(app_url: str) -> str:
    """Same host, another port: same site, another origin."""
    port = urlsplit(app_url).port or 80
    return f"http://{urlsplit(app_url).hostname}:{port + 1 if port < 65535 else port - 1}"


@contextlib.contextmanager
def attacker_site(html: str) -> Iterator[str]:
    """Serve ``html`` at ``/attack.html`` on 127.0.0.1, another port; yields the page's URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/attack.html"
    finally:
        server.shutdown()
        server.server_close()


def assert_headers(r: httpx.Response) -> None:
    for name, value in COMMON.items():
        assert r.headers.get(name) == value, (r.url, name, r.headers.get(name))
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"], r.url
    assert "camera=()" in r.headers["permissions-policy"]
    assert "strict-transport-security" not in r.headers, r.url  # plain HTTP, no trusted proxy


# --------------------------------------------------------------------------- CORS
def test_foreign_origins_get_no_cors_grant(app_url):
    with httpx.Client(base_url=app_url, timeout=10) as c:
        for origin in (FOREIGN, sibling(app_url), "null"):
            for path in ("/api/admin/users", "/api/auth/login", "/_upload", "/login/"):
                r = c.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "content-type,x-pult-request"})
                assert r.status_code == 400, (origin, path, r.status_code)
                assert "access-control-allow-origin" not in r.headers, (origin, path)
            for path in ("/api/auth/me", "/health", "/login/", "/api/openapi.json"):
                r = c.get(path, headers={"Origin": origin})
                assert "access-control-allow-origin" not in r.headers, (origin, path)
        # The app's own pages need no CORS at all; their requests simply work.
        own = f"{urlsplit(app_url).scheme}://{urlsplit(app_url).netloc}"
        assert c.get("/api/auth/me", headers={"Origin": own}).status_code == 401


# --------------------------------------------------------------------------- WebSocket
def _handshake(app_url: str, origin: str | None) -> str:
    """The status line the server answers a WebSocket upgrade of ``/_event`` with."""
    u = urlsplit(app_url)
    lines = ["GET /_event/?EIO=4&transport=websocket HTTP/1.1", f"Host: {u.netloc}", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return s.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_websocket_handshake_from_a_foreign_origin_is_refused(app_url):
    own = f"http://{urlsplit(app_url).netloc}"
    assert " 101 " in _handshake(app_url, own)
    for origin in (sibling(app_url), FOREIGN, "null"):
        status = _handshake(app_url, origin)
        assert " 101 " not in status and re.search(r" 4\d\d ", status), (origin, status)


# --------------------------------------------------------------------------- forged requests
ATTACK = """<!doctype html><html><body>
<form id="f" method="POST" action="{app}/api/orders/{order}/deny"><input name="confirm" value="1"></form>
<script>
window.results = {{}};
async function probe() {{
  // A credentialed fetch with the custom header: the preflight is refused, nothing is sent.
  try {{
    await fetch("{app}/api/admin/users", {{method: "POST", credentials: "include",
      headers: {{"Content-Type": "application/json", "X-Pult-Request": "1"}},
      body: JSON.stringify({{username: "{name}", password: "a-long-password-1", role: "admin"}})}});
    window.results.preflighted = "sent";
  }} catch (e) {{ window.results.preflighted = "blocked"; }}
  // A "simple" credentialed request (no preflight): sent with the cookie, refused by the server.
  try {{
    await fetch("{app}/api/admin/users", {{method: "POST", credentials: "include", mode: "no-cors",
      headers: {{"Content-Type": "text/plain"}},
      body: JSON.stringify({{username: "{name}", password: "a-long-password-1", role: "admin"}})}});
    window.results.simple = "sent";
  }} catch (e) {{ window.results.simple = "error " + e; }}
  // The reply of a credentialed read is not readable from here.
  try {{ await fetch("{app}/api/auth/me", {{credentials: "include"}}); window.results.read = "readable"; }}
  catch (e) {{ window.results.read = "blocked"; }}
  // The app's WebSocket does not open for this page.
  window.results.socket = await new Promise((resolve) => {{
    const ws = new WebSocket("{ws}/_event/?EIO=4&transport=websocket");
    ws.onopen = () => {{ ws.close(); resolve("open"); }};
    ws.onerror = () => resolve("refused");
  }});
}}
</script></body></html>"""


def _order_status(e2e_engine, order_id: int) -> str:
    with e2e_engine.connect() as c:
        return c.execute(text('SELECT status FROM "order" WHERE id = :i'), {"i": order_id}).scalar_one()


def test_a_same_site_page_cannot_forge_changes(page, app_url, e2e_engine):
    with e2e_engine.connect() as c:
        order_id = c.execute(text("""SELECT id FROM "order" WHERE status = 'paid_not_issued' ORDER BY id LIMIT 1""")).scalar_one()
    name = f"mallory-{uuid.uuid4().hex[:6]}"
    login(page, "admin", "admin")
    html = ATTACK.format(app=app_url, order=order_id, name=name, ws=app_url.replace("http", "ws", 1))
    with attacker_site(html) as attack:
        page.goto(attack)
        page.evaluate("probe()")
        page.wait_for_function("() => window.results && window.results.socket")
        results = page.evaluate("window.results")
        assert results == {"preflighted": "blocked", "simple": "sent", "read": "blocked", "socket": "refused"}, results

        with page.expect_navigation():
            page.evaluate("document.getElementById('f').submit()")
        assert t("error.csrf", "ru") in page.content()  # the form's POST was answered 403 with the message

    assert _order_status(e2e_engine, order_id) == "paid_not_issued"
    with e2e_engine.connect() as c:
        assert c.execute(text('SELECT count(*) FROM "user" WHERE username = :n'), {"n": name}).scalar_one() == 0

    # The app's own page still works with the same session: the WebSocket connects, a change is made.
    page.goto("/stock/orders")
    expect(page.locator("#current-user")).to_be_visible()
    opened = page.evaluate(
        """() => new Promise((resolve) => { const ws = new WebSocket(location.origin.replace('http', 'ws') + '/_event/?EIO=4&transport=websocket');
           ws.onopen = () => { ws.close(); resolve('open'); }; ws.onerror = () => resolve('refused'); })""")
    assert opened == "open"


# --------------------------------------------------------------------------- headers
def test_security_headers_on_every_kind_of_response(app_url):
    with httpx.Client(base_url=app_url, timeout=20) as c:
        page = c.get("/login/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert_headers(page)
        csp = page.headers["content-security-policy"]
        ws = app_url.replace("http", "ws", 1)
        assert f"connect-src 'self' {ws}" in csp and "object-src 'none'" in csp
        asset = re.search(r'(?:src|href)="(/assets/[^"]+\.js)"', page.text)
        assert asset, "no script asset in the login page"
        r = c.get(asset.group(1))
        assert r.status_code == 200
        assert_headers(r)
        for path in ("/api/auth/me", "/health", "/api/openapi.json", "/api/docs", "/api/redoc", "/api/docs/assets/swagger-ui.css", "/no-such-page"):
            assert_headers(c.get(path))
        assert c.get("/api/auth/me").headers["content-security-policy"].startswith("default-src 'none'")
        # Only a trusted proxy may say the browser used TLS (none is configured here).
        assert "strict-transport-security" not in c.get("/health", headers={"X-Forwarded-Proto": "https"}).headers


# --------------------------------------------------------------------------- CSP in the browser
CSP_WATCH = """document.addEventListener('securitypolicyviolation', (e) => {
  (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI); });"""
#: ReDoc's sidebar links to its maker with a logo from their CDN; the docs' CSP blocks it (and ReDoc
#: hides the broken image). Nothing else may be blocked.
KNOWN = {"img-src https://cdn.redoc.ly/redoc/logo-mini.svg"}


def test_no_page_trips_the_content_security_policy(page, e2e_engine):
    page.context.add_init_script(CSP_WATCH)
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, "admin", "admin")
    with e2e_engine.connect() as c:
        product = c.execute(text("SELECT id FROM product ORDER BY id LIMIT 1")).scalar_one()
    checks = {
        "/": "#current-user", "/stock/products": "#list-table", f"/stock/products/{product}": "#current-user",
        "/stock/products/new": "form", "/stock/products/import": "#import-upload", "/stock/analytics": "#current-user",
        "/numbers/numbers": "#list-table", "/admin/users": "#list-table", "/admin/jobs": "#current-user",
        "/api/docs": ".opblock", "/api/redoc": "[data-section-id]",
    }
    seen: dict[str, list[str]] = {}
    for path, ready in checks.items():
        page.goto(path)
        page.wait_for_selector(ready, timeout=30_000)
        page.wait_for_load_state("networkidle")
        seen[path] = [v for v in page.evaluate("window.__csp || []") if v not in KNOWN]
    assert all(not v for v in seen.values()), seen
    assert not [m for m in messages if "logo-mini" not in m], messages


# --------------------------------------------------------------------------- docs offline
@pytest.mark.parametrize("path,ready,minimum", [("/api/docs", ".opblock", 20), ("/api/redoc", "[data-section-id^='operation/']", 20)])
def test_docs_render_with_every_other_origin_blocked(page, app_url, path, ready, minimum):
    own = f"{urlsplit(app_url).scheme}://{urlsplit(app_url).netloc}"
    blocked: list[str] = []

    def only_own(route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or url.startswith(own + "/"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", only_own)
    page.goto(path)
    page.wait_for_selector(ready, timeout=30_000)
    assert page.locator(ready).count() >= minimum
    expect(page.locator("body")).to_contain_text("/api/stock/products")
    assert not blocked, blocked


def test_swagger_try_it_out_works_with_the_session_cookie(page):
    """Swagger UI's calls carry the browser's cookie: its request interceptor adds X-Pult-Request."""
    login(page, "user", "user")
    page.goto("/api/docs")  # no deep link: it expands the operation asynchronously, and a click could fold it again
    op = page.locator("#operations-auth-logout_api_auth_logout_post")
    op.locator(".opblock-summary").first.click()
    expect(op.locator(".try-out__btn")).to_be_visible(timeout=20_000)
    op.locator(".try-out__btn").click()
    op.locator("button.execute").click()
    expect(op.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("204", timeout=20_000)
    assert page.request.get("/api/auth/me").status == 401  # the session really ended
