"""TOTP MFA through the HTTP API against the real PostgreSQL and Redis: enrol (secret encrypted at
rest, shown once, confirmed by a code), sign in with a code as a second step, recovery codes used
once and regenerated, a replayed code refused, disable with a code; MFA required by role policy
(enrolment at sign-in before any session); the IP allowlist per role at sign-in and on every
request; login limits from the security page."""

from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import text
from sqlmodel import select

from app.core import mfa, security_policy
from models.core import AuditLog, RecoveryCode, Setting, User, UserSession

LOGIN = "/api/auth/login"


def _bearer(client, username: str) -> dict[str, str]:
    r = client.post(LOGIN, json={"username": username, "password": f"{username}-pass"})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _code(secret: str, step_offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + step_offset * 30)


def _enrol(client, headers) -> tuple[str, list[str]]:
    r = client.post("/api/auth/mfa/enrol", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["uri"].startswith("otpauth://totp/Pult:manager?secret=") and body["qr"].startswith("data:image/svg+xml")
    assert client.post("/api/auth/mfa/confirm", json={"code": "000000"}, headers=headers).json()["errors"] == {"code": "Неверный или уже использованный код"}
    # the previous step's code (clock drift): each later use needs a later step, and the test should not wait
    r = client.post("/api/auth/mfa/confirm", json={"code": _code(body["secret"], -1)}, headers=headers)
    assert r.status_code == 200, r.text
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    return body["secret"], codes


def _sessions(db) -> int:
    db.expire_all()
    return len(db.exec(select(UserSession).where(UserSession.revoked_at.is_(None))).all())


def _set(db, key, value):
    row = db.get(Setting, key) or Setting(key=key)
    row.value = value
    db.add(row)
    db.commit()


def test_enrol_sign_in_recovery_once_replay_refused_disable(client, users, db):
    headers = _bearer(client, "manager")
    assert client.get("/api/auth/mfa", headers=headers).json() == {"enabled": False, "required": False, "recovery_codes_left": 0}
    secret, codes = _enrol(client, headers)
    # the secret is encrypted at rest, the codes kept only hashed
    stored = db.execute(text("SELECT totp_secret FROM \"user\" WHERE username = 'manager'")).scalar()
    assert stored and secret not in stored
    hashes = db.execute(text("SELECT code_hash FROM recovery_code")).scalars().all()
    assert len(hashes) == 10 and not set(codes) & set(hashes)
    assert client.get("/api/auth/mfa", headers=headers).json()["enabled"] is True

    # sign in: the password alone opens nothing
    before = _sessions(db)
    r = client.post(LOGIN, json={"username": "manager", "password": "manager-pass"})
    assert r.status_code == 202 and r.json()["step"] == "form" and [f["name"] for f in r.json()["fields"]] == ["code"]
    challenge = r.json()["challenge"]
    assert _sessions(db) == before
    assert client.post(f"{LOGIN}/{challenge}", json={"code": "123456"}).status_code == 422
    code = _code(secret)
    r = client.post(f"{LOGIN}/{challenge}", json={"code": code})
    assert r.status_code == 200 and r.json()["user"]["username"] == "manager"
    client.cookies.clear()

    # the same code again (still inside its window) is a replay: refused
    r = client.post(LOGIN, json={"username": "manager", "password": "manager-pass"})
    challenge = r.json()["challenge"]
    r = client.post(f"{LOGIN}/{challenge}", json={"code": code})
    assert r.status_code == 422 and r.json()["errors"] == {"code": "Неверный или уже использованный код"}
    # a recovery code works once
    r = client.post(f"{LOGIN}/{challenge}", json={"code": codes[0].upper()})
    assert r.status_code == 200
    client.cookies.clear()
    r = client.post(LOGIN, json={"username": "manager", "password": "manager-pass"})
    challenge = r.json()["challenge"]
    assert client.post(f"{LOGIN}/{challenge}", json={"code": codes[0]}).status_code == 422
    assert client.get("/api/auth/mfa", headers=headers).json()["recovery_codes_left"] == 9
    assert db.exec(select(AuditLog).where(AuditLog.action == "mfa_recovery_used")).first() is not None

    # new recovery codes need a current code; the old ones stop working
    assert client.post("/api/auth/mfa/recovery-codes", json={"code": "000000"}, headers=headers).status_code == 422
    assert client.post("/api/auth/mfa/recovery-codes", json={"code": code}, headers=headers).status_code == 422  # used: a replay
    r = client.post("/api/auth/mfa/recovery-codes", json={"code": _code(secret, 1)}, headers=headers)  # the next step's (clock drift)
    assert r.status_code == 200 and len(r.json()["recovery_codes"]) == 10
    fresh = r.json()["recovery_codes"]
    db.expire_all()
    assert len(db.exec(select(RecoveryCode)).all()) == 10
    client.cookies.clear()
    r = client.post(LOGIN, json={"username": "manager", "password": "manager-pass"})
    assert client.post(f"{LOGIN}/{r.json()['challenge']}", json={"code": codes[1]}).status_code == 422

    # disable: with a code only
    assert client.post("/api/auth/mfa/disable", json={"code": "000000"}, headers=headers).status_code == 422
    assert client.post("/api/auth/mfa/disable", json={"code": fresh[3]}, headers=headers).status_code == 204
    assert client.get("/api/auth/mfa", headers=headers).json()["enabled"] is False
    client.cookies.clear()
    assert client.post(LOGIN, json={"username": "manager", "password": "manager-pass"}).status_code == 200


def test_totp_replay_is_refused_under_parallel_use(users, db):
    user = db.exec(select(User).where(User.username == "user")).one()
    user.totp_secret, user.totp_enabled_at = pyotp.random_base32(), mfa._now()
    db.add(user)
    db.commit()
    code = pyotp.TOTP(user.totp_secret).now()
    assert mfa.check_totp(db, user, code) is True
    db.commit()
    assert mfa.check_totp(db, user, code) is False  # within its window, used already
    assert mfa.check_totp(db, user, pyotp.TOTP(user.totp_secret).at(time.time() - 30)) is False  # an older step


def test_required_role_enrols_at_sign_in_before_any_session(client, users, db):
    _set(db, security_policy.MFA_ROLES_KEY, ["admin"])
    r = client.post(LOGIN, json={"username": "admin", "password": "admin-pass"})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["qr"].startswith("data:image/svg+xml") and len(body["show"]) == 1
    secret = body["show"][0].replace(" ", "")
    assert _sessions(db) == 0
    assert client.post(f"{LOGIN}/{body['challenge']}", json={"code": "000000"}).status_code == 422
    r = client.post(f"{LOGIN}/{body['challenge']}", json={"code": _code(secret)})
    assert r.status_code == 202 and len(r.json()["show"]) == 10 and r.json()["step"] == "form" and r.json()["fields"] == []
    assert _sessions(db) == 0  # the codes first
    r = client.post(f"{LOGIN}/{body['challenge']}", json={})
    assert r.status_code == 200 and r.json()["user"]["username"] == "admin"
    # and from now on the code is asked; MFA cannot be switched off for the role
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.post("/api/auth/mfa/disable", json={"code": _code(secret)}, headers=headers).status_code == 403
    client.cookies.clear()
    assert client.post(LOGIN, json={"username": "admin", "password": "admin-pass"}).status_code == 202
    # a role not in the policy is not asked
    assert client.post(LOGIN, json={"username": "manager", "password": "manager-pass"}).status_code == 200


def test_ip_allowlist_per_role_at_sign_in_and_on_every_request(client, users, db):
    headers = _bearer(client, "manager")  # TestClient's address is "testclient"
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    _set(db, security_policy.IP_ALLOWLIST_KEY, {"stock.manager": ["10.0.0.0/8"]})
    r = client.get("/api/auth/me", headers=headers)  # the open session: refused on its next request
    assert r.status_code == 401 and r.json()["detail"] == "Вход с этого IP-адреса для вашей роли запрещён"
    r = client.post(LOGIN, json={"username": "manager", "password": "manager-pass"})
    assert r.status_code == 403 and r.json()["detail"] == "Вход с этого IP-адреса для вашей роли запрещён"
    assert client.post(LOGIN, json={"username": "admin", "password": "admin-pass"}).status_code == 200  # another role
    assert db.exec(select(AuditLog).where(AuditLog.action == "login_failed")).all()[-1].diff["reason"] == "ip"
    assert security_policy.ip_allowed(db, ["stock.manager"], "10.1.2.3")
    assert not security_policy.ip_allowed(db, ["stock.manager"], "11.1.2.3")
    assert not security_policy.ip_allowed(db, ["stock.manager"], None)
    assert security_policy.ip_allowed(db, ["numbers.manager"], "11.1.2.3")


def test_parse_allowlist():
    assert security_policy.parse_allowlist("admin: 10.0.0.0/8, 192.168.1.7\n# note\nstock.manager: 2001:db8::/32") == {
        "admin": ["10.0.0.0/8", "192.168.1.7/32"], "stock.manager": ["2001:db8::/32"]}
    with pytest.raises(ValueError):
        security_policy.parse_allowlist("admin 10.0.0.0/8")
    with pytest.raises(ValueError):
        security_policy.parse_allowlist("admin: 10.0.0.300")


def test_login_limits_from_the_security_page(client, users, db):
    _set(db, security_policy.LIMIT_KEYS["login_max_per_account"], 2)
    statuses = [client.post(LOGIN, json={"username": "manager", "password": "wrong"}).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_the_security_page_sets_the_policy_and_only_an_admin_may(client, users, db, login):
    url = "/api/admin/settings/security"
    assert client.put(url, json={"mfa_roles": ["admin"]}, headers=login("manager")).status_code == 403
    admin = login("admin")
    r = client.put(url, json={"ip_allowlist": "stock.manager 10.0.0.0/8"}, headers=admin)
    assert r.status_code == 422 and "ip_allowlist" in r.json()["errors"]
    r = client.put(url, json={"ip_allowlist": "nosuchrole: 10.0.0.0/8"}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"]["ip_allowlist"] == "Нет такой роли: nosuchrole"
    r = client.put(url, json={"login_max_per_account": 0}, headers=admin)
    assert r.status_code == 422 and "login_max_per_account" in r.json()["errors"]
    r = client.put(url, json={"mfa_roles": ["stock.manager"], "ip_allowlist": "stock.user: 10.0.0.0/8", "login_max_per_account": 3},
                   headers=admin)
    assert r.status_code == 200, r.text
    assert security_policy.mfa_roles(db) == {"stock.manager"}
    assert security_policy.allowlist(db) == {"stock.user": ["10.0.0.0/8"]}
    assert security_policy.login_limits(db).max_per_account == 3
    r = client.post(LOGIN, json={"username": "manager", "password": "manager-pass"})
    assert r.status_code == 202 and r.json()["qr"]  # enrolment first
    assert db.exec(select(AuditLog).where(AuditLog.entity_type == "setting", AuditLog.entity_id == "security")).first() is not None
