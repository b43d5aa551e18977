"""Passwords, sessions, expiry, throttling and permission wildcards."""

from __future__ import annotations

from app.core.registry import all_roles

import datetime as dt

import pytest
from sqlmodel import select

from app.core import auth
from app.core.auth import CurrentUser
from app.core.config import settings
from app.core.errors import NotAuthenticated, Throttled
from models.core import AuditLog, User, UserSession


@pytest.fixture()
def fast(cheap_hashing):
    """Cheap argon2id (see tests/conftest.py)."""
    return cheap_hashing


def test_argon2id_hash_and_verify():
    h = auth.hash_password("correct horse")
    assert h.startswith("$argon2id$")
    assert h != auth.hash_password("correct horse")  # salted
    assert auth.verify_password("correct horse", h)
    assert not auth.verify_password("Correct horse", h)
    assert not auth.verify_password("correct horse", "not-a-hash")
    assert not auth.verify_password("", h)


def test_login_returns_a_token_and_resolve_gives_the_user(db, fast):
    token = auth.login(db, "manager", "manager-pass", ip="10.0.0.1", user_agent="pytest")
    assert isinstance(token, str) and len(token) >= 40
    me = auth.resolve(db, token)
    assert isinstance(me, CurrentUser)
    assert (me.id, me.username, me.roles, me.full_name) == (fast["manager"].id, "manager", ("stock.manager", "numbers.manager"), "Manager")
    # the union of the user's roles, one per panel; neither role carries the other panel's rights
    assert me.permissions == frozenset(all_roles()["stock.manager"][1]) | frozenset(all_roles()["numbers.manager"][1])
    assert {"stock.*", "admin.audit.view", "numbers.numbers.view"} <= me.permissions
    assert not any(p.startswith("numbers.") for p in all_roles()["stock.manager"][1])
    assert not any(p.startswith(("stock.", "admin.")) for p in all_roles()["numbers.manager"][1])
    assert me.has_perm("stock.orders.deny") and not me.has_perm("admin.users.view")
    # only the token's hash is stored
    row = db.exec(select(UserSession)).one()
    assert row.token_hash != token and len(row.token_hash) == 64
    assert (row.ip, row.user_agent) == ("10.0.0.1", "pytest")
    login_row = db.exec(select(AuditLog).where(AuditLog.action == "login")).one()
    assert login_row.username == "manager" and login_row.diff == {"ip": "10.0.0.1"}


def test_username_is_trimmed(db, fast):
    assert auth.resolve(db, auth.login(db, "  user ", "user-pass")).username == "user"


def test_wrong_password_is_refused_and_audited(db, fast):
    with pytest.raises(NotAuthenticated) as info:
        auth.login(db, "user", "nope", ip="10.0.0.2")
    assert info.value.key == "login.bad"
    row = db.exec(select(AuditLog).where(AuditLog.action == "login_failed")).one()
    assert row.user_id is None and row.entity_id == str(fast["user"].id)
    assert row.diff == {"username": "user", "ip": "10.0.0.2"}
    # an unknown username gives the very same error
    with pytest.raises(NotAuthenticated) as info:
        auth.login(db, "ghost", "nope")
    assert info.value.key == "login.bad"
    assert db.exec(select(UserSession)).all() == []


def test_resolve_refuses_unknown_or_missing_tokens(db, users):
    for token in (None, "", "made-up-token"):
        with pytest.raises(NotAuthenticated):
            auth.resolve(db, token)


def test_throttle_per_account_after_five_failures(db, fast):
    for _ in range(settings.login_max_per_account):
        with pytest.raises(NotAuthenticated):
            auth.login(db, "user", "wrong")
    with pytest.raises(Throttled) as info:
        auth.login(db, "user", "user-pass")  # even the right password is refused now
    assert info.value.key == "login.throttled"
    assert info.value.params["minutes"] == settings.login_window_seconds // 60
    assert "15" in info.value.message("en")
    # the throttle is per account: another user still gets in
    assert auth.login(db, "manager", "manager-pass")
    # the account key counts case-insensitively
    with pytest.raises(Throttled):
        auth.login(db, "USER", "whatever")


def test_unknown_and_inactive_users_cost_a_hash_check_too(db, fast, monkeypatch):
    """Timing must not reveal whether a username exists: every attempt verifies one hash."""
    checked: list[str] = []
    real = auth.verify_password

    def spy(password, hashed):
        checked.append(hashed)
        return real(password, hashed)

    monkeypatch.setattr(auth, "verify_password", spy)
    with pytest.raises(NotAuthenticated):
        auth.login(db, "ghost", "whatever")
    assert len(checked) == 1 and checked[0].startswith("$argon2id$")
    u = db.get(User, fast["user"].id)
    u.is_active = False
    db.commit()
    with pytest.raises(NotAuthenticated):
        auth.login(db, "user", "user-pass")
    assert len(checked) == 2 and checked[1] == u.hashed_password


def test_throttle_per_ip_across_usernames(db, fast, redis_conn):
    ip = "192.0.2.7"
    for i in range(settings.login_max_per_ip):
        with pytest.raises(NotAuthenticated):
            auth.login(db, f"nobody{i}", "wrong", ip=ip)
    with pytest.raises(Throttled):
        auth.login(db, "admin", "admin-pass", ip=ip)
    # the same account from another address is fine: each name failed only once
    assert auth.login(db, "admin", "admin-pass", ip="192.0.2.8")
    ttl = redis_conn.ttl(f"pult:login:ip:{ip}")
    assert 0 < ttl <= settings.login_window_seconds


def test_success_clears_the_account_counter(db, fast, redis_conn):
    for _ in range(settings.login_max_per_account - 1):
        with pytest.raises(NotAuthenticated):
            auth.login(db, "user", "wrong")
    assert redis_conn.get("pult:login:acct:user") == str(settings.login_max_per_account - 1)
    auth.login(db, "user", "user-pass")
    assert redis_conn.get("pult:login:acct:user") is None
    for _ in range(settings.login_max_per_account - 1):
        with pytest.raises(NotAuthenticated):
            auth.login(db, "user", "wrong")
    assert auth.login(db, "user", "user-pass")  # 4 + 4 failures, never 5 in a row: not throttled


def test_logout_revokes_the_session(db, fast):
    token = auth.login(db, "user", "user-pass")
    other = auth.login(db, "user", "user-pass")
    auth.resolve(db, token)
    auth.logout(db, token)
    with pytest.raises(NotAuthenticated):
        auth.resolve(db, token)
    assert auth.resolve(db, other).username == "user"  # only that session
    assert db.exec(select(AuditLog).where(AuditLog.action == "logout")).one().username == "user"
    auth.logout(db, token)  # twice is harmless
    auth.logout(db, None)


def _session_row(db, token) -> UserSession:
    return db.get(UserSession, auth._token_hash(token))


def test_idle_expiry(db, fast):
    token = auth.login(db, "user", "user-pass")
    row = _session_row(db, token)
    row.last_seen_at = auth._now() - dt.timedelta(minutes=settings.session_idle_minutes - 1)
    db.commit()
    auth.resolve(db, token)  # still within the idle window, and touched
    db.refresh(row)
    assert auth._now() - row.last_seen_at < dt.timedelta(seconds=10)
    row.last_seen_at = auth._now() - dt.timedelta(minutes=settings.session_idle_minutes + 1)
    db.commit()
    with pytest.raises(NotAuthenticated):
        auth.resolve(db, token)
    db.refresh(row)
    assert row.revoked_at is not None


def test_absolute_expiry(db, fast):
    token = auth.login(db, "user", "user-pass")
    row = _session_row(db, token)
    assert row.expires_at - row.created_at == dt.timedelta(hours=settings.session_absolute_hours)
    row.expires_at = auth._now() - dt.timedelta(seconds=1)
    db.commit()
    with pytest.raises(NotAuthenticated):
        auth.resolve(db, token)


def test_inactive_or_deleted_user_cannot_log_in_and_loses_sessions(db, fast):
    token = auth.login(db, "user", "user-pass")
    u = db.get(User, fast["user"].id)
    u.is_active = False
    db.commit()
    with pytest.raises(NotAuthenticated) as info:
        auth.login(db, "user", "user-pass")
    assert info.value.key == "login.bad"
    with pytest.raises(NotAuthenticated):
        auth.resolve(db, token)
    u.is_active, u.deleted_at = True, auth._now()
    db.commit()
    with pytest.raises(NotAuthenticated):
        auth.login(db, "user", "user-pass")


def test_revoke_all(db, fast):
    tokens = [auth.login(db, "user", "user-pass") for _ in range(3)]
    mine = auth.login(db, "admin", "admin-pass")
    auth.revoke_all(db, fast["user"].id)
    db.commit()
    for t in tokens:
        with pytest.raises(NotAuthenticated):
            auth.resolve(db, t)
    assert auth.resolve(db, mine).username == "admin"


def test_has_perm_wildcards():
    everything = CurrentUser(1, "a", "admin", frozenset({"*"}))
    assert everything.has_perm("stock.products.delete") and everything.has_perm("anything") and everything.is_admin
    panel = CurrentUser(2, "m", "manager", frozenset({"stock.*"}))
    assert panel.has_perm("stock.products.view") and panel.has_perm("stock.analytics.rate")
    assert not panel.has_perm("stockroom.items.view")
    assert not panel.has_perm("admin.users.view")
    assert not panel.is_admin
    resource = CurrentUser(3, "r", "x", frozenset({"stock.orders.*"}))
    assert resource.has_perm("stock.orders.issue") and not resource.has_perm("stock.products.view")
    exact = CurrentUser(4, "u", "user", frozenset({"stock.orders.issue"}))
    assert exact.has_perm("stock.orders.issue")
    assert not exact.has_perm("stock.orders.deny")
    assert not exact.has_perm("stock.orders")
    assert not exact.has_perm("stock.orders.issue.extra")  # a longer name is not implied
    assert not CurrentUser(5, "n", "none").has_perm("stock.products.view")


def test_outdated_hash_is_upgraded_on_login(db, users):
    """A hash made with weaker parameters than the current policy is replaced at the next login."""
    from passlib.context import CryptContext

    old = CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=64, argon2__rounds=1).hash("user-pass")
    u = db.get(User, users["user"].id)
    u.hashed_password = old
    db.commit()
    auth.login(db, "user", "user-pass")
    db.refresh(u)
    assert u.hashed_password != old and u.hashed_password.startswith("$argon2id$v=19$m=65536")
    assert auth.verify_password("user-pass", u.hashed_password)
