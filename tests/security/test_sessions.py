"""Sign-in, sessions and registration under attack (issue 8), against the real PostgreSQL and Redis.

Throttling is atomic under parallel attempts; the lockout policy keeps the owner in while the
attacker waits longer and longer; the session cookie's flags follow the connection; forwarded
headers count only from trusted proxies; outages answer 503; registration is the admin's setting,
with optional approval; the session token never enters the state the browser receives.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import reflex as rx
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlmodel import Session, select

from app.core import auth, crud, login_throttle, net
from app.core import db as dbm
from app.core import redis as redis_mod
from app.core.config import Settings, settings
from app.core.i18n import t
from app.core.errors import NotAuthenticated, PermissionDenied, ServiceUnavailable, Throttled, ValidationFailed
from app.core.registry import resource
from models.core import AuditLog, Notification, Setting, User
from tests.api.conftest import api_app, client  # noqa: F401 - the REST API fixtures
from tests.uistate import sign_in

LIMIT = settings.login_max_per_account


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def checks(monkeypatch):
    """Counts the password checks that actually run (thread-safe)."""
    counter = {"n": 0}
    lock = threading.Lock()
    real = auth.verify_password

    def spy(password, hashed):
        with lock:
            counter["n"] += 1
        return real(password, hashed)

    monkeypatch.setattr(auth, "verify_password", spy)
    return counter


@pytest.fixture()
def clock(monkeypatch):
    """Moves the throttle's clock forward without sleeping."""
    now = {"t": login_throttle._clock()}
    monkeypatch.setattr(login_throttle, "_clock", lambda: now["t"])

    def advance(seconds: float) -> None:
        now["t"] += seconds

    return advance


def _parallel(engine, attempts: list[tuple[str, str, str | None]]) -> list[str]:
    """Run ``auth.login`` for each (username, password, ip) at once, one session per thread."""
    start = threading.Barrier(len(attempts))

    def one(args) -> str:
        username, password, ip = args
        with Session(engine, expire_on_commit=False) as db:
            start.wait()
            try:
                auth.login(db, username, password, ip=ip)
                return "ok"
            except Throttled:
                return "throttled"
            except NotAuthenticated:
                return "bad"

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return list(pool.map(one, attempts))


# --------------------------------------------------------------------------- atomic throttling
def test_50_parallel_wrong_passwords_reach_at_most_the_limit(engine, users, checks):
    outcomes = _parallel(engine, [("user", f"wrong-{i}", "198.51.100.1") for i in range(50)])
    assert checks["n"] <= LIMIT
    assert outcomes.count("bad") == checks["n"] and outcomes.count("throttled") == 50 - checks["n"]


def test_50_parallel_wrong_passwords_from_50_addresses_wait_their_turn(engine, cheap_hashing, checks, clock):
    """A distributed burst: the account-wide budget is spent once, then one attempt per wait."""
    outcomes = _parallel(engine, [("user", f"wrong-{i}", f"198.51.100.{i + 10}") for i in range(50)])
    assert checks["n"] <= settings.login_account_free_failures + 1
    assert outcomes.count("throttled") >= 50 - settings.login_account_free_failures - 1


# --------------------------------------------------------------------------- lockout policy
def test_attacker_from_one_address_does_not_lock_out_the_owner(db, cheap_hashing):
    for _ in range(LIMIT):
        with pytest.raises(NotAuthenticated):
            auth.login(db, "admin", "guess", ip="203.0.113.66")
    with pytest.raises(Throttled) as info:
        auth.login(db, "admin", "admin-pass", ip="203.0.113.66")  # the attacker's address: locked
    assert info.value.retry_after > 60
    # the owner, elsewhere, with the right password: in at once
    token = auth.login(db, "admin", "admin-pass", ip="192.0.2.10")
    assert auth.resolve(db, token).username == "admin"


def test_distributed_attacker_waits_longer_and_longer(db, cheap_hashing, clock):
    free = settings.login_account_free_failures
    for i in range(free):
        with pytest.raises(NotAuthenticated):
            auth.login(db, "manager", "guess", ip=f"203.0.113.{i + 1}")
    waits = []
    for step in range(4):
        with pytest.raises(NotAuthenticated):  # the attempt that takes the next slot is checked
            auth.login(db, "manager", "guess", ip=f"198.18.0.{step + 1}")
        with pytest.raises(Throttled) as info:  # the one right after it must wait
            auth.login(db, "manager", "guess", ip=f"198.18.1.{step + 1}")
        assert info.value.key == "login.wait" and info.value.params["seconds"] == info.value.retry_after
        waits.append(info.value.retry_after)
        clock(info.value.retry_after + 0.01)
    assert waits == [1, 2, 4, 8]


def test_the_wait_is_capped(db, cheap_hashing, clock, monkeypatch):
    monkeypatch.setattr(login_throttle, "settings", dataclasses.replace(settings, login_delay_max_seconds=3))
    for i in range(settings.login_account_free_failures + 5):
        try:
            auth.login(db, "manager", "guess", ip=f"203.0.113.{i + 1}")
        except (NotAuthenticated, Throttled):
            pass
        clock(10)
    with pytest.raises(NotAuthenticated):
        auth.login(db, "manager", "guess", ip="198.18.9.1")
    with pytest.raises(Throttled) as info:
        auth.login(db, "manager", "guess", ip="198.18.9.2")
    assert info.value.retry_after <= 3


def test_the_owners_usual_address_skips_the_wait_and_success_clears_it(db, cheap_hashing, redis_conn, clock):
    auth.login(db, "manager", "manager-pass", ip="192.0.2.44")  # the owner's usual place
    for i in range(settings.login_account_free_failures + 1):
        with pytest.raises(NotAuthenticated):
            auth.login(db, "manager", "guess", ip=f"203.0.113.{i + 1}")
    with pytest.raises(Throttled):
        auth.login(db, "manager", "manager-pass", ip="192.0.2.99")  # a stranger's address waits
    assert auth.login(db, "manager", "manager-pass", ip="192.0.2.44")  # the owner's does not
    assert redis_conn.get("pult:login:acct:manager") is None and redis_conn.get("pult:login:acct_nb:manager") is None
    assert auth.login(db, "manager", "manager-pass", ip="192.0.2.99")


def test_per_ip_limit_across_accounts_over_the_api(client, cheap_hashing):
    ip = "203.0.113.200"
    with TestClient(client.app, client=(ip, 40000)) as c:
        for i in range(settings.login_max_per_ip):
            assert c.post("/api/auth/login", json={"username": f"spray{i}", "password": "Winter2026"}).status_code == 401
        r = c.post("/api/auth/login", json={"username": "admin", "password": "admin-pass"}, headers={"Accept-Language": "en"})
    assert r.status_code == 429 and "Too many sign-in attempts" in r.json()["detail"]
    assert 0 < int(r.headers["Retry-After"]) <= settings.login_window_seconds
    with TestClient(client.app, client=("192.0.2.5", 40000)) as c:
        assert c.post("/api/auth/login", json={"username": "admin", "password": "admin-pass"}).status_code == 200


def test_ipv6_clients_count_per_64():
    assert login_throttle.client_key("2001:db8:1:2:aaaa::1") == login_throttle.client_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert login_throttle.client_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert login_throttle.client_key(None) == "-"


# --------------------------------------------------------------------------- cookie flags
def _session_cookie(response) -> str:
    cookies = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie" and v.startswith("pult_session=")]
    assert len(cookies) == 1, response.headers
    return cookies[0]


def _flags(cookie: str) -> dict[str, str]:
    out = {}
    for part in cookie.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        out[k.lower()] = v
    return out


@pytest.fixture()
def proxies(monkeypatch):
    def use(*spec: str) -> None:
        monkeypatch.setattr(net, "settings", dataclasses.replace(net.settings, trusted_proxies=spec))

    return use


def _login(app, base_url="http://testserver", client=("198.51.100.20", 5000), **headers):
    with TestClient(app, base_url=base_url, client=client) as c:
        return c.post("/api/auth/login", json={"username": "user", "password": "user-pass"}, headers=headers)


def test_cookie_flags_on_plain_http(client, users, proxies):
    proxies()
    r = _login(client.app)
    assert r.status_code == 200
    flags = _flags(_session_cookie(r))
    assert "httponly" in flags and flags["samesite"].lower() == "lax" and flags["path"] == "/"
    assert int(flags["max-age"]) == settings.session_absolute_hours * 3600
    assert "secure" not in flags


def test_cookie_is_secure_over_tls_and_behind_a_trusted_proxy(client, users, proxies):
    proxies("10.0.0.0/8")
    assert "secure" in _flags(_session_cookie(_login(client.app, base_url="https://testserver")))
    behind = _login(client.app, client=("10.0.0.2", 5000), **{"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.3"})
    assert "secure" in _flags(_session_cookie(behind))


def test_an_untrusted_peer_claiming_https_gets_no_secure_flag(client, users, proxies):
    proxies("10.0.0.0/8")
    r = _login(client.app, client=("203.0.113.50", 5000), **{"X-Forwarded-Proto": "https"})
    assert "secure" not in _flags(_session_cookie(r))


def test_logout_clears_the_cookie(client, users):
    r = _login(client.app)
    with TestClient(client.app) as c:
        # As the page's sign-out form posts it: same origin, with the CSRF header.
        out = c.post("/api/auth/logout", cookies={"pult_session": r.json()["token"]},
                     headers={"X-Pult-Request": "1", "Origin": "http://testserver"})
    assert out.status_code == 204
    cleared = _session_cookie(out)
    assert 'pult_session=""' in cleared or "pult_session=;" in cleared
    assert "max-age=0" in cleared.lower()
    with TestClient(client.app) as c:
        assert c.get("/api/auth/me", cookies={"pult_session": r.json()["token"]}).status_code == 401


# --------------------------------------------------------------------------- forwarded headers
def test_spoofed_forwarded_for_gets_no_fresh_budget_and_no_audit_entry(client, cheap_hashing, db, proxies):
    proxies("10.0.0.0/8")
    peer = "203.0.113.77"
    with TestClient(client.app, client=(peer, 5000)) as c:
        for i in range(settings.login_max_per_ip):
            r = c.post("/api/auth/login", json={"username": f"nobody{i}", "password": "x"}, headers={"X-Forwarded-For": f"6.6.6.{i}"})
            assert r.status_code == 401
        r = c.post("/api/auth/login", json={"username": "nobody99", "password": "x"}, headers={"X-Forwarded-For": "6.6.6.250"})
    assert r.status_code == 429  # a fresh header is not a fresh address
    ips = {row.diff.get("ip") for row in db.exec(select(AuditLog).where(AuditLog.action == "login_failed")).all()}
    assert ips == {peer}


def test_a_trusted_proxy_names_the_client(client, users, db, proxies):
    proxies("10.0.0.0/8")
    with TestClient(client.app, client=("10.0.0.9", 5000)) as c:
        r = c.post("/api/auth/login", json={"username": "user", "password": "user-pass"}, headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.8"})
    assert r.status_code == 200
    row = db.exec(select(AuditLog).where(AuditLog.action == "login")).one()
    assert row.diff == {"ip": "198.51.100.8"}


# --------------------------------------------------------------------------- outages
@pytest.fixture()
def dead_redis():
    old = redis_mod._client
    redis_mod.set_redis(redis.Redis.from_url(f"redis://127.0.0.1:{_free_port()}/0", decode_responses=True, socket_connect_timeout=1))
    yield
    redis_mod.set_redis(old)


@pytest.fixture()
def dead_database(engine):
    dead = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/pult", connect_args={"connect_timeout": 2})
    dbm.set_engine(dead)
    yield dead
    dbm.set_engine(engine)
    dead.dispose()


def test_sign_in_during_a_redis_outage_answers_503(client, users, dead_redis):
    r = client.post("/api/auth/login", json={"username": "user", "password": "user-pass"}, headers={"Accept-Language": "en"})
    assert r.status_code == 503 and "temporarily unavailable" in r.json()["detail"]


def test_sign_in_during_a_database_outage_answers_503(client, users, dead_database, redis_conn):
    r = client.post("/api/auth/login", json={"username": "user", "password": "user-pass"})
    assert r.status_code == 503 and "недоступен" in r.json()["detail"]
    # the attempt that could not be checked does not count against the user
    assert not redis_conn.get("pult:login:pair:user:testclient") and not redis_conn.get("pult:login:acct:user")


def test_ui_handlers_turn_a_database_outage_into_a_toast(db, users, dead_database):
    from app.core.ui.base import AuthState, ui_session
    from app.core.ui.settings_page import state_of

    SecurityState = state_of("admin.security")  # the Settings page kind's generated state

    root = rx.State(_reflex_internal_init=True)
    auth_state = root.substates[AuthState.get_name()]
    sign_in(auth_state, "any-token")
    with pytest.raises(ServiceUnavailable):
        auth_state.current_user()
    with pytest.raises(ServiceUnavailable), ui_session() as s:
        s.exec(select(User)).all()
    out = auth_state.require_login()  # an on_load: a toast and a message instead of a generic error
    assert "недоступен" in repr(out) and auth_state.boot_error and not auth_state.signed_in
    page = auth_state.substates[SecurityState.get_name()]
    assert "недоступен" in repr(page.load())


# --------------------------------------------------------------------------- the token stays server-side
def test_the_session_token_never_enters_the_browser_state(db, cheap_hashing):
    from reflex.utils import format as rx_format

    from app.core.ui.base import AuthState

    token = auth.login(db, "admin", "admin-pass")
    root = rx.State(_reflex_internal_init=True)
    auth_state = root.substates[AuthState.get_name()]
    sign_in(auth_state, token, **{"user-agent": "pytest"})
    assert auth_state.session_token() == token
    auth_state.require_login()
    assert auth_state.signed_in and auth_state.username == "admin"
    assert token not in rx_format.json_dumps(root.dict())
    assert token not in rx_format.json_dumps(root.get_delta())
    assert not any("token" in name.lower() for name in AuthState.vars)  # no var could carry it


def test_the_cookie_is_read_whatever_else_the_header_holds():
    from app.core.ui.base import cookie_value

    assert cookie_value("a=1; pult_session=abc-_.DEF; theme=dark") == "abc-_.DEF"
    assert cookie_value('broken="unterminated; pult_session=tok') == "tok"
    assert cookie_value("") == "" and cookie_value("other=1") == ""


# --------------------------------------------------------------------------- registration
def test_registration_is_off_for_a_new_deployment(monkeypatch):
    monkeypatch.delenv("PULT_ALLOW_REGISTRATION", raising=False)
    monkeypatch.delenv("PULT_REGISTRATION_APPROVAL", raising=False)
    fresh = Settings()
    assert fresh.allow_registration is False and fresh.registration_approval is False


def test_the_demo_opens_registration(db):
    from app.demo import open_registration

    open_registration(db)
    assert auth.registration_policy(db) == auth.RegistrationPolicy(open=True, approval=False)
    auth.save_registration_policy(db, None, False, False)
    open_registration(db)  # an admin's later choice is kept
    assert auth.registration_policy(db).open is False


def test_only_admin_security_changes_the_policy_and_it_is_audited(db, users):
    with pytest.raises(PermissionDenied):
        auth.save_registration_policy(db, users["manager"], False, True)
    auth.save_registration_policy(db, users["admin"], False, True)
    assert auth.registration_policy(db) == auth.RegistrationPolicy(open=False, approval=True)
    assert db.get(Setting, auth.REGISTRATION_KEY).updated_by == "admin"
    row = db.exec(select(AuditLog).where(AuditLog.entity_type == "setting", AuditLog.entity_id == "security")).one()
    assert row.username == "admin" and row.diff["registration"][1] is False and row.diff["approval"] == [False, True]


def test_closed_registration_is_refused_with_a_message(client, users, db):
    auth.save_registration_policy(db, users["admin"], False, False)
    r = client.post("/api/auth/register", json={"username": "petrov", "password": "long-enough-1"}, headers={"Accept-Language": "en"})
    assert r.status_code == 403 and "Registration is switched off" in r.json()["detail"]
    assert db.exec(select(User).where(User.username == "petrov")).first() is None


def test_registration_with_approval_over_the_api(client, users, db):
    auth.save_registration_policy(db, users["admin"], True, True)
    r = client.post("/api/auth/register", json={"username": "sidorov", "password": "long-enough-1", "full_name": "Сидоров"})
    assert r.status_code == 202 and r.json()["pending"] is True and "одобрения" in r.json()["detail"]
    assert not [k for k in r.headers.keys() if k.lower() == "set-cookie"]
    db.expire_all()
    new = db.exec(select(User).where(User.username == "sidorov")).one()
    assert new.pending and new.roles == []
    assert db.exec(select(Notification).where(Notification.user_id == users["admin"].id, Notification.kind == "admin.user_pending")).one()
    assert db.exec(select(AuditLog).where(AuditLog.action == "register")).one().diff["pending"] is True

    # the right password tells them why they cannot come in; a wrong one does not
    r = client.post("/api/auth/login", json={"username": "sidorov", "password": "long-enough-1"}, headers={"Accept-Language": "en"})
    assert r.status_code == 403 and "waiting for an administrator's approval" in r.json()["detail"]
    assert client.post("/api/auth/login", json={"username": "sidorov", "password": "nope"}).status_code == 401

    admin = {"Authorization": "Bearer " + auth.login(db, "admin", "admin-pass")}
    manager = {"Authorization": "Bearer " + auth.login(db, "manager", "manager-pass")}
    assert client.post(f"/api/admin/users/{new.id}/actions/approve", json={"params": {"role": "stock.user"}}, headers=manager).status_code == 403
    r = client.post(f"/api/admin/users/{new.id}/actions/approve", json={"params": {"role": "stock.user"}}, headers=admin)
    assert r.status_code == 200, r.text
    db.expire_all()
    assert (db.get(User, new.id).pending, db.get(User, new.id).roles) == (False, ["stock.user"])
    row = db.exec(select(AuditLog).where(AuditLog.action == "approve")).one()
    assert row.username == "admin" and row.diff["params"] == {"role": "stock.user"}
    r = client.post("/api/auth/login", json={"username": "sidorov", "password": "long-enough-1"})
    assert r.status_code == 200 and r.json()["user"]["roles"] == ["stock.user"]


def test_approve_needs_a_role_and_a_pending_account(db, users):
    res = resource("admin.users")
    with pytest.raises(ValidationFailed):  # an approved account is not "approved" again into another role
        crud.run_action(db, res, users["admin"], "approve", [users["manager"].id], params={"role": "admin"})
    waiting = User(username="waiting", hashed_password="-", roles=[], pending=True)
    db.add(waiting)
    db.commit()
    with pytest.raises(ValidationFailed) as info:
        crud.run_action(db, res, users["admin"], "approve", [waiting.id], params={})
    assert "role" in info.value.errors
    db.expire_all()
    assert db.get(User, users["manager"].id).roles == ["stock.manager", "numbers.manager"] and db.get(User, waiting.id).pending


def test_a_pending_account_cannot_use_a_session(db, cheap_hashing):
    token = auth.login(db, "user", "user-pass")
    u = db.get(User, cheap_hashing["user"].id)
    u.pending = True
    db.commit()
    with pytest.raises(NotAuthenticated):
        auth.resolve(db, token)


def test_registration_pages_follow_the_setting(db, users):
    from app.core.ui.base import AuthState
    from app.core.ui.pages import LoginState, RegisterState
    from app.core.ui.settings_page import state_of

    SecurityState = state_of("admin.security")  # the Settings page kind's generated state

    root = rx.State(_reflex_internal_init=True)
    auth_state = root.substates[AuthState.get_name()]
    login_page, register_page = auth_state.substates[LoginState.get_name()], auth_state.substates[RegisterState.get_name()]
    security = auth_state.substates[SecurityState.get_name()]

    sign_in(security, auth.login(db, "manager", "manager-pass"))
    security.load()
    assert security.forbidden
    security.registration, security.approval = False, False
    assert t("forbidden") in repr(security.save())
    assert auth.registration_policy(db).open is True  # the manager changed nothing

    sign_in(security, auth.login(db, "admin", "admin-pass"))
    security.load()
    assert not security.forbidden and security.registration and not security.approval
    security.set_registration(False)
    security.save()
    db.expire_all()
    assert auth.registration_policy(db).open is False
    login_page.on_open()
    register_page.on_open()
    assert login_page.registration == "closed" and register_page.reg_state == "closed"
    security.set_registration(True)
    security.set_approval(True)
    security.save()
    login_page.on_open()
    register_page.on_open()
    assert login_page.registration == "open" and register_page.reg_state == "open"
    assert auth.registration_policy(db) == auth.RegistrationPolicy(open=True, approval=True)


def test_accounts_made_by_an_admin_always_have_a_role(db, users):
    """Only a self-registered account waiting for approval has no role."""
    res = resource("admin.users")
    made = crud.create_record(db, res, users["admin"], {"username": "norole", "password": "long-enough-1"})
    assert made.roles == ["stock.user"] and not made.pending
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, res, users["admin"], {"username": "emptyrole", "password": "long-enough-1", "roles": ""})
    assert info.value.errors["roles"][0] == "error.required"
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, res, users["admin"], {"username": "emptyrole", "password": "long-enough-1", "roles": []})
    assert info.value.errors["roles"][0] == "error.required"
