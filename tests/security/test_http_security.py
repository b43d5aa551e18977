"""The HTTP layer's rules on the API (app.core.http_security): CSRF on cookie-authenticated changes,
sign-in from foreign origins, security headers, HSTS and client addresses behind trusted proxies
only, local API docs, and 503 instead of 500 when PostgreSQL or Redis is down.

The attacks are the ones the security review ran: a plain HTML form on a same-site origin (another
port) denying an order, and a credentialed ``fetch`` from another site creating an admin user.
"""

from __future__ import annotations

import dataclasses
import io
import re
import socket

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select

from app.core import crud, http_security, net
from app.core.auth import SYSTEM
from app.core.i18n import t
from app.core.registry import resource
from models.core import AuditLog, User, UserSession
from models.jobs import JobRun
from models.stock import Order, OrderStatus

SAME = "http://testserver"  # TestClient's base URL: the app's own origin
SIBLING = "http://testserver:8081"  # same site, another port
FOREIGN = "https://evil.example"
CSRF = {"X-Pult-Request": "1"}
EN = {"Accept-Language": "en"}


def fresh(db):
    db.rollback()
    db.expire_all()
    return db


def sign_in(client: TestClient, role: str) -> None:
    """A browser-style session: the login's cookie stays in the client."""
    r = client.post("/api/auth/login", json={"username": role, "password": f"{role}-pass"}, headers={"Origin": SAME})
    assert r.status_code == 200, r.text
    assert client.cookies.get("pult_session")


def user_count(db) -> int:
    return fresh(db).exec(select(func.count()).select_from(User)).one()


def assert_csrf_refusal(r, lang: str = "ru") -> None:
    assert r.status_code == 403, r.text
    assert r.json() == {"detail": t("error.csrf", lang), "errors": {}}


@pytest.fixture()
def settings_with(monkeypatch):
    """Replace the settings the HTTP rules read (origins, trusted proxies)."""

    def use(**changes) -> None:
        new = dataclasses.replace(http_security.settings, **changes)
        monkeypatch.setattr(http_security, "settings", new)
        monkeypatch.setattr(net, "settings", new)

    return use


@pytest.fixture()
def order(db, users, stock_data):
    return crud.create_record(db, resource("stock.orders"), SYSTEM, {"phone": "+79161234567", "product_id": stock_data["cable"].id, "qty": 1})


def new_admin(name: str) -> dict:
    return {"username": name, "password": "a-long-password-1", "role": "admin", "full_name": "Mallory"}


# --------------------------------------------------------------------------- CSRF
@pytest.mark.parametrize("attacker", [{"Origin": SIBLING}, {"Origin": "null"}, {"Referer": f"{SIBLING}/attack.html"}])
def test_form_post_from_a_sibling_origin_changes_nothing(client, db, users, order, attacker):
    sign_in(client, "manager")
    for path in (f"/api/orders/{order.id}/deny", f"/api/stock/orders/{order.id}/actions/deny"):
        r = client.post(path, data={"confirm": "1"}, headers=attacker)  # what an HTML form sends: no custom header
        assert_csrf_refusal(r)
    assert fresh(db).get(Order, order.id).status == OrderStatus.paid_not_issued
    assert not fresh(db).exec(select(AuditLog).where(AuditLog.entity_type == "stock.orders", AuditLog.action != "create")).all()


def test_credentialed_fetch_from_another_site_cannot_create_an_admin(client, db, users):
    sign_in(client, "admin")
    before = user_count(db)
    r = client.post("/api/admin/users", json=new_admin("mallory"), headers={"Origin": FOREIGN, **CSRF, **EN})
    assert_csrf_refusal(r, "en")
    assert user_count(db) == before


def test_same_origin_needs_the_custom_header(client, db, users):
    sign_in(client, "admin")
    before = user_count(db)
    assert_csrf_refusal(client.post("/api/admin/users", json=new_admin("no-header"), headers={"Origin": SAME}))
    assert_csrf_refusal(client.post("/api/admin/users", json=new_admin("no-origin"), headers=CSRF))  # neither Origin nor Referer
    assert user_count(db) == before

    r = client.post("/api/admin/users", json=new_admin("alice"), headers={"Origin": SAME, **CSRF})
    assert r.status_code == 201, r.text
    # Without Origin, the Referer of a page of the app counts.
    r = client.patch(f"/api/admin/users/{r.json()['id']}", json={"full_name": "Alice"}, headers={"Referer": f"{SAME}/admin/users", **CSRF})
    assert r.status_code == 200, r.text
    assert client.delete(f"/api/admin/users/{r.json()['id']}", headers={"Origin": SIBLING, **CSRF}).status_code == 403
    assert client.delete(f"/api/admin/users/{r.json()['id']}", headers={"Origin": SAME, **CSRF}).status_code == 204


def test_bearer_clients_are_unaffected(client, db, users, order):
    r = client.post("/api/auth/login", json={"username": "manager", "password": "manager-pass"})
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {r.json()['token']}"}
    r = client.post(f"/api/orders/{order.id}/deny", headers=bearer)  # no Origin, no custom header
    assert r.status_code == 200, r.text
    assert fresh(db).get(Order, order.id).status == OrderStatus.paid_denied


def test_reads_need_no_header(client, users):
    sign_in(client, "manager")
    assert client.get("/api/stock/products", headers={"Origin": FOREIGN}).status_code == 200
    assert client.get("/api/auth/me").status_code == 200


def test_configured_origins_are_allowed(client, db, users, settings_with):
    settings_with(public_url="https://pult.example.com", allowed_origins=("http://localhost:5173",))
    sign_in(client, "admin")
    for i, origin in enumerate(("https://pult.example.com", "http://localhost:5173", "HTTPS://PULT.EXAMPLE.COM:443")):
        r = client.post("/api/admin/users", json=new_admin(f"u{i}"), headers={"Origin": origin, **CSRF})
        assert r.status_code == 201, (origin, r.text)
    assert_csrf_refusal(client.post("/api/admin/users", json=new_admin("x"), headers={"Origin": "https://evil.pult.example.com", **CSRF}))


def test_wildcard_origin_setting_is_refused(settings_with):
    settings_with(allowed_origins=("*",))
    with pytest.raises(ValueError, match="PULT_ALLOWED_ORIGINS"):
        http_security.allowed_origins()


def test_upload_and_job_routes_are_covered(client, db, users):
    sign_in(client, "admin")
    csv = ("name,sell_price_rub\nМышь,450\n").encode()
    files = {"file": ("p.csv", io.BytesIO(csv), "text/csv")}
    r = client.post("/api/stock/products/import", files=files, headers={"Origin": SAME})
    assert_csrf_refusal(r)
    assert not fresh(db).exec(select(JobRun)).all()
    files = {"file": ("p.csv", io.BytesIO(csv), "text/csv")}
    r = client.post("/api/stock/products/import", files=files, data={"dry_run": "true"}, headers={"Origin": SAME, **CSRF})
    assert r.status_code == 200, r.text
    # Downloads are GETs: a link in the bell works without the header.
    assert client.get("/api/jobs/999/file").status_code == 404


def test_sign_in_and_out(client, db, users):
    # Login CSRF: a foreign page cannot sign the browser in (to an account of the attacker's).
    r = client.post("/api/auth/login", json={"username": "user", "password": "user-pass"}, headers={"Origin": FOREIGN})
    assert_csrf_refusal(r)
    assert not client.cookies.get("pult_session")
    assert not fresh(db).exec(select(UserSession)).all()
    r = client.post("/api/auth/register", json={"username": "newbie", "password": "a-long-password-1"}, headers={"Origin": SIBLING})
    assert_csrf_refusal(r)
    # API clients send no Origin; the app's own sign-in page sends its own.
    assert client.post("/api/auth/login", json={"username": "user", "password": "user-pass"}).status_code == 200
    r = client.post("/api/auth/login", json={"username": "user", "password": "user-pass"},
                    headers={"Origin": SAME, **CSRF, "Content-Type": "application/json"})
    assert r.status_code == 200
    # Logout is a cookie-authenticated change like any other: what the UI's fetch sends passes.
    assert_csrf_refusal(client.post("/api/auth/logout", headers={"Origin": FOREIGN}))
    assert client.get("/api/auth/me").status_code == 200
    assert client.post("/api/auth/logout", headers={"Origin": SAME, **CSRF}).status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_webhooks_carry_no_cookie_and_keep_their_own_check(client):
    r = client.post("/api/integrations/softphone/events", content=b"{}", headers={"Origin": FOREIGN, "Content-Type": "application/json"})
    assert r.status_code == 401  # the signature check speaks, not the CSRF rule


# --------------------------------------------------------------------------- headers
def assert_common_headers(r) -> None:
    h = r.headers
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert h["x-frame-options"] == "DENY"
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "same-origin"
    assert "camera=()" in h["permissions-policy"] and "microphone=()" in h["permissions-policy"]


def test_security_headers_on_api_answers(client, users):
    for r in (client.get("/health"), client.get("/api/auth/me"), client.get("/api/openapi.json"),
              client.post("/api/auth/login", json={"username": "user", "password": "wrong"})):
        assert_common_headers(r)
        assert "strict-transport-security" not in r.headers  # plain HTTP
    assert client.get("/api/auth/me").headers["content-security-policy"].startswith("default-src 'none'")
    docs_csp = client.get("/api/docs").headers["content-security-policy"]
    assert "script-src 'self';" in docs_csp and "unsafe-eval" not in docs_csp


def test_hsts_and_secure_cookie_only_behind_tls(http_app, clean, users, settings_with):
    settings_with(trusted_proxies=("10.0.0.0/8",))
    https = {"X-Forwarded-Proto": "https"}
    with TestClient(http_app, client=("10.0.0.2", 5000)) as proxied:  # the peer is our proxy
        r = proxied.get("/health", headers=https)
        assert r.headers["strict-transport-security"].startswith("max-age=")
        r = proxied.post("/api/auth/login", json={"username": "user", "password": "user-pass"}, headers=https)
        assert "secure" in r.headers["set-cookie"].lower()
        assert "strict-transport-security" not in proxied.get("/health").headers
    with TestClient(http_app, client=("203.0.113.9", 5000)) as direct:  # anyone else saying https is ignored
        assert "strict-transport-security" not in direct.get("/health", headers=https).headers
        r = direct.post("/api/auth/login", json={"username": "user", "password": "user-pass"}, headers=https)
        assert "secure" not in r.headers["set-cookie"].lower()


def test_own_origin_follows_the_trusted_scheme(http_app, clean, users, settings_with):
    settings_with(trusted_proxies=("10.0.0.2",))
    with TestClient(http_app, client=("10.0.0.2", 5000)) as proxied:
        https = {"X-Forwarded-Proto": "https"}
        sign_in_r = proxied.post("/api/auth/login", json={"username": "admin", "password": "admin-pass"}, headers={"Origin": "https://testserver", **https})
        assert sign_in_r.status_code == 200
        proxied.cookies.set("pult_session", sign_in_r.json()["token"])
        r = proxied.post("/api/admin/users", json=new_admin("tls"), headers={"Origin": "https://testserver", **https, **CSRF})
        assert r.status_code == 201, r.text
        assert_csrf_refusal(proxied.post("/api/admin/users", json=new_admin("plain"), headers={"Origin": "http://testserver", **https, **CSRF}))


def test_client_address_from_trusted_proxies_only(http_app, clean, db, users, settings_with):
    settings_with(trusted_proxies=("10.0.0.2",))
    spoof = {"X-Forwarded-For": "6.6.6.6"}
    with TestClient(http_app, client=("198.51.100.4", 5000)) as direct:
        assert direct.post("/api/auth/login", json={"username": "user", "password": "user-pass"}, headers=spoof).status_code == 200
    with TestClient(http_app, client=("10.0.0.2", 5000)) as proxied:
        assert proxied.post("/api/auth/login", json={"username": "manager", "password": "manager-pass"},
                            headers={"X-Forwarded-For": "1.1.1.1, 192.0.2.7"}).status_code == 200
    ips = {s.user_id: s.ip for s in fresh(db).exec(select(UserSession)).all()}
    assert ips[users["user"].id] == "198.51.100.4"
    assert ips[users["manager"].id] == "192.0.2.7"


def test_softphone_notes_the_real_client_address(http_app, clean, settings_with, redis_conn):
    import json

    from app.panels.numbers.softphone import LAST_REJECTED

    settings_with(trusted_proxies=())
    with TestClient(http_app, client=("198.51.100.4", 5000)) as direct:
        direct.post("/api/integrations/softphone/events", content=b"{}", headers={"X-Forwarded-For": "6.6.6.6"})
    assert json.loads(redis_conn.get(LAST_REJECTED))["ip"] == "198.51.100.4"


# --------------------------------------------------------------------------- API docs
@pytest.mark.parametrize("path", ["/api/docs", "/api/redoc"])
def test_docs_pages_load_nothing_from_elsewhere(client, path):
    r = client.get(path)
    assert r.status_code == 200
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs and all(ref.startswith("/api/") for ref in refs), refs
    assert "<script>" not in r.text  # no inline script: the docs' CSP allows only files
    for ref in refs:
        asset = client.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 100, ref
        assert "cdn." not in asset.text[:2000] or ref.endswith(".js")


# --------------------------------------------------------------------------- outages
def _dead_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def outage(clean):
    """Point the kit at a PostgreSQL and a Redis that refuse connections; restore afterwards."""
    import redis
    from sqlalchemy import create_engine

    from app.core import db as dbm
    from app.core import redis as redis_mod

    def down(*, database: bool = False, cache: bool = False) -> None:
        if database:
            dbm.set_engine(create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_dead_port()}/pult", connect_args={"connect_timeout": 2}))
        if cache:
            redis_mod.set_redis(redis.Redis(host="127.0.0.1", port=_dead_port(), socket_connect_timeout=2, decode_responses=True))

    old_engine, old_redis = dbm._engine, redis_mod._client
    yield down
    dbm.set_engine(old_engine)
    redis_mod.set_redis(old_redis)


def assert_unavailable(r, lang: str = "ru") -> None:
    assert r.status_code == 503, r.text
    assert r.json() == {"detail": t("error.unavailable", lang), "errors": {}}
    assert int(r.headers["retry-after"]) > 0


def test_database_down_answers_503(client, users, outage):
    r = client.post("/api/auth/login", json={"username": "admin", "password": "admin-pass"})
    token = r.json()["token"]
    client.cookies.clear()
    outage(database=True)
    assert_unavailable(client.get("/api/stock/products", headers={"Authorization": f"Bearer {token}"}))
    assert_unavailable(client.post("/api/auth/login", json={"username": "admin", "password": "admin-pass"}, headers=EN), "en")
    r = client.get("/health")
    assert r.status_code == 503 and r.json()["database"] == "error"


def test_redis_down_answers_503(client, users, outage):
    outage(cache=True)
    assert_unavailable(client.post("/api/auth/login", json={"username": "admin", "password": "admin-pass"}))
    r = client.get("/health")
    assert r.status_code == 503 and r.json()["redis"] == "error"
