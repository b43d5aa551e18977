"""Pluggable sign-in methods through ``POST /api/auth/login`` and ``/api/auth/login/{challenge}``
against the real PostgreSQL and Redis: a second factor after the password (a test-only code "by
SMS"), a two-phase method the browser polls until someone approves it (as Telegram approve-login
does), and the challenge's rules — wrong code under its field with no session, expiry, single
use, bound to the browser that started it, throttled."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from app.core import auth, login_methods
from app.core.login_methods import BROWSER_COOKIE, MAX_TRIES
from models.core import AuditLog, User, UserSession
from tests import login_fakes
from tests.login_fakes import CODE

LOGIN = "/api/auth/login"


@pytest.fixture()
def fakes():
    login_fakes.install()
    login_fakes.SENT.clear()
    yield login_fakes
    login_fakes.uninstall()


@pytest.fixture()
def sms_user(db, users):
    for name in ("sms_anna", "sms_short"):
        db.add(User(username=name, hashed_password=auth.hash_password(f"{name}-pass"), roles=["stock.manager"], full_name=name))
    db.commit()
    return "sms_anna"


def _sessions(db) -> int:
    db.expire_all()
    return len(db.exec(select(UserSession)).all())


def _start(client: TestClient, username: str) -> dict:
    r = client.post(LOGIN, json={"username": username, "password": f"{username}-pass"})
    assert r.status_code == 202, r.text
    return r.json()


def test_password_alone_signs_in_as_before(client, users, fakes, db):
    r = client.post(LOGIN, json={"username": "manager", "password": "manager-pass"})
    assert r.status_code == 200 and r.json()["user"]["username"] == "manager"
    r = client.post(LOGIN, json={"method": "password", "username": "user", "password": "user-pass"})
    assert r.status_code == 200 and r.json()["user"]["username"] == "user"
    r = client.post(LOGIN, json={"method": "nope", "username": "user", "password": "user-pass"})
    assert r.status_code == 422 and r.json()["errors"] == {"method": "Такого способа входа нет"}


def test_second_factor_asks_for_the_code_then_signs_in(client, sms_user, fakes, db):
    body = _start(client, sms_user)
    assert body["step"] == "form" and body["message"] == "Мы отправили код на +7 *** ***-**-12"
    assert body["fields"] == [{"name": "code", "label": "Код из SMS", "kind": "code", "autocomplete": "one-time-code"}]
    assert 0 < body["expires_in"] <= 120
    assert "pult_session" not in client.cookies and client.cookies.get(BROWSER_COOKIE)
    assert _sessions(db) == 0  # the password alone opened nothing
    assert client.get("/api/auth/me").status_code == 401

    r = client.post(f"{LOGIN}/{body['challenge']}", json={"code": "000000"})
    assert r.status_code == 422 and r.json()["errors"] == {"code": "Неверный код"}
    assert _sessions(db) == 0
    r = client.post(f"{LOGIN}/{body['challenge']}", json={"code": CODE}, headers={"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["username"] == sms_user and client.cookies.get("pult_session")
    assert client.get("/api/auth/me").json()["username"] == sms_user
    assert _sessions(db) == 1
    db.expire_all()
    failed = db.exec(select(AuditLog).where(AuditLog.action == "login_failed")).all()
    assert [f.diff["method"] for f in failed] == ["sms"]

    # used once: the same right code again is refused, and opens nothing
    r = client.post(f"{LOGIN}/{body['challenge']}", json={"code": CODE})
    assert r.status_code == 401 and r.json()["detail"] == "Подтверждение входа устарело — войдите снова"
    assert _sessions(db) == 1


def test_a_missing_code_is_a_field_error(client, sms_user, fakes):
    body = _start(client, sms_user)
    r = client.post(f"{LOGIN}/{body['challenge']}", json={})
    assert r.status_code == 422 and r.json()["errors"] == {"code": "Обязательное поле"}
    r = client.post(f"{LOGIN}/{body['challenge']}", json={"code": "42\x00"})
    assert r.status_code == 422 and set(r.json()["errors"]) == {"code"}


def test_expired_challenge(client, sms_user, fakes, db):
    body = _start(client, "sms_short")
    assert body["expires_in"] == login_fakes.SHORT_TTL
    time.sleep(login_fakes.SHORT_TTL + 0.5)
    r = client.post(f"{LOGIN}/{body['challenge']}", json={"code": CODE})
    assert r.status_code == 401 and r.json()["detail"] == "Подтверждение входа устарело — войдите снова"
    assert _sessions(db) == 0


def test_challenge_is_bound_to_the_browser_that_started_it(api_app, client, sms_user, fakes, db):
    body = _start(client, sms_user)
    with TestClient(api_app) as other:  # another browser that learnt the id
        r = other.post(f"{LOGIN}/{body['challenge']}", json={"code": CODE})
        assert r.status_code == 401 and "pult_session" not in other.cookies
        other.cookies.set(BROWSER_COOKIE, "a-guess", path="/api/auth/login")
        assert other.post(f"{LOGIN}/{body['challenge']}", json={"code": CODE}).status_code == 401
    assert _sessions(db) == 0
    for bad in ("x", "../../etc", "a" * 70):
        assert client.post(f"{LOGIN}/{bad}", json={"code": CODE}).status_code in (401, 404, 422)
    assert client.post(f"{LOGIN}/{body['challenge']}", json={"code": CODE}).status_code == 200


def test_wrong_codes_are_throttled_and_the_challenge_dropped(client, sms_user, fakes, db):
    body = _start(client, sms_user)
    statuses = [client.post(f"{LOGIN}/{body['challenge']}", json={"code": f"{i:06d}"}).status_code for i in range(MAX_TRIES + 1)]
    assert statuses[0] == 422 and set(statuses[1:]) <= {422, 429, 401} and statuses[-1] in (401, 429)
    # even the right code no longer helps: the challenge is gone or the account waits
    r = client.post(f"{LOGIN}/{body['challenge']}", json={"code": CODE})
    assert r.status_code in (401, 429) and _sessions(db) == 0
    # a fresh challenge (the password again) is throttled by the account's code failures as well
    body = _start(client, sms_user)
    r = client.post(f"{LOGIN}/{body['challenge']}", json={"code": CODE})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert _sessions(db) == 0


def test_throttled_at_the_limit_even_with_fresh_challenges(client, sms_user, fakes, db, monkeypatch):
    """The account's code failures count across challenges (progressive waits), so a thief with
    the password cannot try MAX_TRIES codes per new challenge forever."""
    from app.core.config import settings

    seen = []
    for _ in range(settings.login_max_per_account + 2):
        body = _start(client, sms_user)
        seen.append(client.post(f"{LOGIN}/{body['challenge']}", json={"code": "111111"}).status_code)
    assert seen[0] == 422 and 429 in seen


def test_two_phase_method_polls_until_approved(client, users, fakes, db):
    r = client.get("/api/auth/methods")
    assert [m["name"] for m in r.json()] == ["password", "telegram", "approve"]  # telegram: the built-in panel's
    r = client.post(LOGIN, json={"method": "approve", "username": "manager"})
    assert r.status_code == 202 and r.json()["step"] == "poll" and r.json()["fields"] == []
    challenge = r.json()["challenge"]
    assert r.json()["message"] == "Нажмите «Подтвердить» в сообщении"
    time.sleep(0.15)
    r = client.post(f"{LOGIN}/{challenge}", json={})
    assert r.status_code == 202 and r.json()["challenge"] == challenge  # still waiting
    assert client.post(f"{LOGIN}/{challenge}", json={}).status_code == 429  # faster than it said to poll
    fakes.approve("manager")
    time.sleep(0.15)
    r = client.post(f"{LOGIN}/{challenge}", json={})
    assert r.status_code == 200 and r.json()["user"]["username"] == "manager"
    assert client.get("/api/auth/me").json()["username"] == "manager"
    db.expire_all()
    assert db.exec(select(AuditLog).where(AuditLog.action == "login")).one().diff["method"] == "approve"
    time.sleep(0.15)
    assert client.post(f"{LOGIN}/{challenge}", json={}).status_code == 401  # used


def test_method_fields_are_checked(client, users, fakes):
    r = client.post(LOGIN, json={"method": "approve"})
    assert r.status_code == 422 and r.json()["errors"] == {"username": "Обязательное поле"}
    r = client.post(LOGIN, json={"method": "approve", "username": ["x"]})
    assert r.status_code == 422 and set(r.json()["errors"]) == {"username"}


def test_step_from_a_foreign_origin_is_refused(client, sms_user, fakes):
    body = _start(client, sms_user)
    r = client.post(f"{LOGIN}/{body['challenge']}", json={"code": CODE}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_registry_orders_methods_and_password_is_the_default(fakes):
    assert [m.name for m in login_methods.methods()] == ["password", "telegram", "approve"]
    assert login_methods.default_method() == "password"
    with pytest.raises(ValueError):
        login_methods.register_method(login_methods.LoginMethod("Bad Name", "x", (), start=lambda r: None))


def test_first_steps_of_a_method_are_counted_per_address(client, users, fakes, monkeypatch):
    """A method that sends something (a Telegram request) cannot be used to spam: at most
    ``login_max_per_ip`` first steps a window from one address."""
    import dataclasses

    from app.core.config import settings

    monkeypatch.setattr(login_methods, "settings", dataclasses.replace(settings, login_max_per_ip=3))
    seen = [client.post(LOGIN, json={"method": "approve", "username": "manager"}).status_code for _ in range(4)]
    assert seen == [202, 202, 202, 429]
    assert len(fakes.SENT) == 3  # the refused one sent nothing
    # the password keeps its own throttle (per account and address), not this one
    assert client.post(LOGIN, json={"username": "manager", "password": "manager-pass"}).status_code == 200


def test_a_redis_outage_mid_sign_in_answers_503(client, sms_user, fakes, db):
    """The challenge lives in Redis: without it the step answers 503 (never 500, never a session)."""
    import socket

    import redis

    from app.core import redis as redis_mod

    body = _start(client, sms_user)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    old = redis_mod._client
    redis_mod.set_redis(redis.Redis.from_url(f"redis://127.0.0.1:{port}/0", decode_responses=True, socket_connect_timeout=1))
    try:
        r = client.post(f"{LOGIN}/{body['challenge']}", json={"code": CODE}, headers={"Accept-Language": "en"})
        assert r.status_code == 503 and "temporarily unavailable" in r.json()["detail"]
        r = client.post(LOGIN, json={"method": "approve", "username": "manager"})
        assert r.status_code == 503
    finally:
        redis_mod.set_redis(old)
    assert _sessions(db) == 0
    assert client.post(f"{LOGIN}/{body['challenge']}", json={"code": CODE}).status_code == 200  # back: it goes on
