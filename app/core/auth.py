"""Users, passwords, server-side sessions and login throttling.

* Passwords: argon2id through passlib.
* Sessions: the browser gets a random opaque token; the database stores its SHA-256 with idle and
  absolute expiry. Logout (or an admin) revokes the row; nothing about the session lives client-side.
* Throttling: failed logins are counted per account and per IP in Redis over a sliding window.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from passlib.context import CryptContext
import re

from sqlalchemy import func
from sqlmodel import Session, select

from app.core import audit
from app.core.config import settings
from app.core.errors import NotAuthenticated, Throttled
from app.core.redis import redis_client
from models.core import Role, User, UserSession

pwd_context = CryptContext(schemes=["argon2"], deprecated="auto", argon2__type="ID")


def hash_password(password: str) -> str:
    return pwd_context.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    try:
        return pwd_context.verify(password, hashed)
    except (ValueError, TypeError):
        return False


_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    """A hash of a random password, checked when the username is unknown."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


@dataclass(frozen=True)
class CurrentUser:
    """The acting user as services see it: identity plus the role's permissions, detached from any session."""

    id: int | None
    username: str
    role: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    full_name: str | None = None

    def has_perm(self, perm: str) -> bool:
        """``*`` grants everything; ``stock.*`` grants every permission that starts with ``stock.``."""
        if "*" in self.permissions or perm in self.permissions:
            return True
        parts = perm.split(".")
        return any(".".join(parts[:i]) + ".*" in self.permissions for i in range(1, len(parts)))

    @property
    def is_admin(self) -> bool:
        return "*" in self.permissions


#: The identity jobs and the demo loader act as.
SYSTEM = CurrentUser(id=None, username="system", role="admin", permissions=frozenset({"*"}))


def current_user_for(db: Session, user: User) -> CurrentUser:
    role = db.get(Role, user.role)
    perms = frozenset(role.permissions) if role else frozenset()
    return CurrentUser(id=user.id, username=user.username, role=user.role, permissions=perms, full_name=user.full_name)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _throttle_keys(username: str, ip: str | None) -> list[tuple[str, int]]:
    keys = [(f"pult:login:acct:{username.lower()}", settings.login_max_per_account)]
    if ip:
        keys.append((f"pult:login:ip:{ip}", settings.login_max_per_ip))
    return keys


def check_throttle(username: str, ip: str | None) -> None:
    r = redis_client()
    for key, limit in _throttle_keys(username, ip):
        count = int(r.get(key) or 0)
        if count >= limit:
            ttl = max(int(r.ttl(key)), 60)
            raise Throttled("login.throttled", minutes=(ttl + 59) // 60)


def _record_failure(username: str, ip: str | None) -> None:
    r = redis_client()
    pipe = r.pipeline()
    for key, _limit in _throttle_keys(username, ip):
        # The window starts at the first failure; INCR keeps the TTL. (SET NX EX works on Redis 6.2,
        # which the embedded server is; EXPIRE NX would need Redis 7.)
        pipe.set(key, 0, ex=settings.login_window_seconds, nx=True)
        pipe.incr(key)
    pipe.execute()


def _clear_failures(username: str) -> None:
    redis_client().delete(f"pult:login:acct:{username.lower()}")


def login(db: Session, username: str, password: str, ip: str | None = None, user_agent: str | None = None) -> str:
    """Check the password and open a session. Returns the opaque token for the browser.

    Raises :class:`Throttled` when too many attempts failed recently and :class:`NotAuthenticated`
    (with the "wrong username or password" message) otherwise. The same message whether the user
    exists or not, so the form does not reveal which usernames exist.
    """
    username = (username or "").strip()
    check_throttle(username, ip)
    user = db.exec(select(User).where(User.username == username, User.deleted_at.is_(None))).first()
    # Always pay for one hash check, so the response time does not tell which usernames exist.
    password_ok = verify_password(password or "", user.hashed_password if user is not None else _dummy_hash())
    if user is None or not user.is_active or not password_ok:
        _record_failure(username, ip)
        audit.record(db, None, "login_failed", "user", user.id if user else None, {"username": username, "ip": ip})
        db.commit()
        raise NotAuthenticated("login.bad")
    if pwd_context.needs_update(user.hashed_password):
        user.hashed_password = hash_password(password)
    _clear_failures(username)
    token = secrets.token_urlsafe(32)
    now = _now()
    db.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_absolute_hours),
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    audit.record(db, current_user_for(db, user), "login", "user", user.id, {"ip": ip})
    db.commit()
    return token


USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
MIN_PASSWORD = 8


def register(
    db: Session, username: str, password: str, full_name: str | None = None, ip: str | None = None, user_agent: str | None = None
) -> str:
    """Create an account with the registration role and sign it in; returns the session token.

    Refused with :class:`PermissionDenied` when registration is switched off
    (``PULT_ALLOW_REGISTRATION=0``); field problems come back as :class:`ValidationFailed`;
    more than ``register_max_per_ip`` accounts an hour from one address are :class:`Throttled`.
    """
    from app.core.errors import PermissionDenied, ValidationFailed

    if not settings.allow_registration:
        raise PermissionDenied()
    username = (username or "").strip()
    errors: dict[str, tuple[str, dict]] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = ("auth.username_rules", {})
    if len(password or "") < MIN_PASSWORD:
        errors["password"] = ("users.password_short", {"n": MIN_PASSWORD})
    if full_name is not None and len(full_name) > 200:
        errors["full_name"] = ("error.max_length", {"n": 200})
    if not errors and db.exec(select(User).where(func.lower(User.username) == username.lower())).first() is not None:
        errors["username"] = ("error.unique", {})
    if errors:
        raise ValidationFailed(errors)
    if ip:
        r = redis_client()
        key = f"pult:register:ip:{ip}"
        if int(r.get(key) or 0) >= settings.register_max_per_ip:
            raise Throttled("login.throttled", minutes=max(int(r.ttl(key)), 60) // 60)
        pipe = r.pipeline()
        pipe.set(key, 0, ex=3600, nx=True)
        pipe.incr(key)
        pipe.execute()
    user = User(username=username, hashed_password=hash_password(password), role=settings.registration_role, full_name=(full_name or "").strip() or None)
    db.add(user)
    db.flush()
    audit.record(db, current_user_for(db, user), "register", "admin.users", user.id, {"username": username, "role": user.role, "ip": ip})
    db.commit()
    return login(db, username, password, ip=ip, user_agent=user_agent)


def resolve(db: Session, token: str | None, touch: bool = True) -> CurrentUser:
    """The user behind a session token, or :class:`NotAuthenticated` if it is unknown, revoked or expired."""
    if not token:
        raise NotAuthenticated()
    row = db.get(UserSession, _token_hash(token))
    now = _now()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise NotAuthenticated()
    if row.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        row.revoked_at = now
        db.commit()
        raise NotAuthenticated()
    user = db.get(User, row.user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise NotAuthenticated()
    # Touch at most once a minute: an active user keeps the session alive without a write per request.
    if touch and (now - row.last_seen_at).total_seconds() > 60:
        row.last_seen_at = now
        db.commit()
    return current_user_for(db, user)


def logout(db: Session, token: str | None) -> None:
    if not token:
        return
    row = db.get(UserSession, _token_hash(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = _now()
        user = db.get(User, row.user_id)
        if user is not None:
            audit.record(db, current_user_for(db, user), "logout", "user", user.id, {})
        db.commit()


def revoke_all(db: Session, user_id: int) -> None:
    """End every session of a user (password change, deactivation, deletion). Caller commits."""
    now = _now()
    for row in db.exec(select(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))):
        row.revoked_at = now
