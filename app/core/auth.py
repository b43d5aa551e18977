"""Users, passwords, server-side sessions and login throttling.

* Passwords: argon2id through passlib.
* Sessions: the browser gets a random opaque token; the database stores its SHA-256 with idle and
  absolute expiry. Logout (or an admin) revokes the row; nothing about the session lives client-side.
* Throttling: :mod:`app.core.login_throttle` (per account and address, per address, and
  progressive waits per account), decided in Redis before the password is checked.
* Registration: open or closed, with or without an admin's approval (Administration → Security).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from datetime import datetime, timedelta, timezone

from passlib.context import CryptContext

from sqlalchemy import func
from sqlmodel import Session, select

from app.core import audit, login_throttle, logs
from app.core.config import settings
from app.core.principal import SYSTEM, CurrentUser  # noqa: F401  (the acting user, handed on: most code imports it from here)
from app.core.errors import NotAuthenticated, PermissionDenied, Throttled, is_outage, outage_is_unavailable
from app.core.redis import redis_client
from models.core import Role, Setting, User, UserSession

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


def current_user_for(db: Session, user: User) -> CurrentUser:
    """The union of the user's roles' permissions; no role (an account waiting for approval) means none."""
    names = tuple(r for r in (user.roles or []) if isinstance(r, str))
    rows = db.exec(select(Role).where(Role.name.in_(names))).all() if names else []
    perms = frozenset(p for role in rows for p in role.permissions)
    return CurrentUser(id=user.id, username=user.username, roles=names, permissions=perms, full_name=user.full_name)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def login(db: Session, username: str, password: str, ip: str | None = None, user_agent: str | None = None) -> str:
    """Check the password and open a session. Returns the opaque token for the browser.

    ``ip`` is the client's address as :func:`app.core.net.client_ip` names it (never a forwarded
    header taken on trust): the throttle counts per address and the audit log records it.
    Raises :class:`Throttled` (429, with ``retry_after``) when :mod:`app.core.login_throttle`
    refuses the attempt, :class:`NotAuthenticated` ("wrong username or password") otherwise — the
    same message whether the user exists or not, so the form does not reveal which usernames
    exist — :class:`PermissionDenied` (``login.pending``) for the right password of an account
    still waiting for approval, and :class:`ServiceUnavailable` during a database or Redis outage.

    This is the password alone (tests, registration's own sign-in). The HTTP sign-in goes through
    :mod:`app.core.login_methods`, where the ``password`` method is :func:`check_password` and a
    registered second factor (a code) may follow before :func:`open_session`.
    """
    user = check_password(db, username, password, ip)
    return open_session(db, user, ip, user_agent)


def check_password(db: Session, username: str, password: str, ip: str | None = None) -> User:
    """The account behind a right username and password, throttled and audited as :func:`login`
    says; opens no session."""
    username = (username or "").strip()
    attempt = login_throttle.Attempt.of(username, ip)
    with outage_is_unavailable():
        login_throttle.admit(attempt)  # counted before the hash check: parallel attempts cannot race past
        try:
            user = db.exec(select(User).where(User.username == username, User.deleted_at.is_(None))).first()
        except Exception as exc:
            if is_outage(exc):
                login_throttle.not_attempted(attempt)
            raise
        # Always pay for one hash check, so the response time does not tell which usernames exist.
        password_ok = verify_password(password or "", user.hashed_password if user is not None else _dummy_hash())
        if user is None or not user.is_active or not password_ok:
            audit.record(db, None, "login_failed", "user", user.id if user else None, {"username": username, "ip": ip})
            db.commit()
            raise NotAuthenticated("login.bad")
        login_throttle.succeeded(attempt)
        if user.pending:
            audit.record(db, None, "login_failed", "user", user.id, {"username": username, "ip": ip, "reason": "pending"})
            db.commit()
            raise PermissionDenied("login.pending")
        if pwd_context.needs_update(user.hashed_password):
            user.hashed_password = hash_password(password)
            db.add(user)
            db.flush()
    return user


def open_session(db: Session, user: User, ip: str | None = None, user_agent: str | None = None, via: str | None = None) -> str:
    """Open a session for a user whose sign-in is complete; returns the browser's opaque token.

    Refuses an account that cannot sign in (inactive, deleted: ``login.bad``; waiting for
    approval: ``login.pending``), whatever method vouched for it. ``via`` names a sign-in method
    other than the password in the audit row."""
    with outage_is_unavailable():
        if not user.is_active or user.deleted_at is not None:
            raise NotAuthenticated("login.bad")
        if user.pending:
            raise PermissionDenied("login.pending")
        check_ip(db, user, ip)
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
        audit.record(db, current_user_for(db, user), "login", "user", user.id, {"ip": ip, **({"method": via} if via else {})})
        db.commit()
    return token


def check_ip(db: Session, user: User, ip: str | None) -> None:
    """Refuse (403 ``login.ip_refused``, audited) an account whose role's IP allowlist
    (Administration → Security) does not include ``ip``."""
    from app.core import security_policy

    with outage_is_unavailable():
        if security_policy.ip_allowed(db, user.roles or [], ip):
            return
        db.rollback()
        audit.record(db, None, "login_failed", "user", user.id, {"username": user.username, "ip": ip, "reason": "ip"})
        db.commit()
    raise PermissionDenied("login.ip_refused")


# --------------------------------------------------------------------------- registration
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
MIN_PASSWORD = 8
#: ``Setting`` keys of Administration → Security.
REGISTRATION_KEY = "security.registration"
APPROVAL_KEY = "security.approval"
#: The permission that edits them.
SECURITY_PERM = "admin.security"


@dataclass(frozen=True)
class RegistrationPolicy:
    """Whether /register is open, and whether new accounts wait for an admin's approval."""

    open: bool
    approval: bool


def registration_policy(db: Session) -> RegistrationPolicy:
    """The admin's choice on the security page; until they make one, ``PULT_ALLOW_REGISTRATION``
    and ``PULT_REGISTRATION_APPROVAL`` (both off by default)."""
    with outage_is_unavailable():
        rows = {r.key: r.value for r in db.exec(select(Setting).where(Setting.key.in_([REGISTRATION_KEY, APPROVAL_KEY])))}
    return RegistrationPolicy(
        open=bool(rows[REGISTRATION_KEY]) if rows.get(REGISTRATION_KEY) is not None else settings.allow_registration,
        approval=bool(rows[APPROVAL_KEY]) if rows.get(APPROVAL_KEY) is not None else settings.registration_approval,
    )


def save_registration_policy(db: Session, user: CurrentUser | None, open: bool, approval: bool) -> RegistrationPolicy:
    """Store the registration switches (``admin.security``; ``user=None`` is the system: the demo
    loader), audited as a change of the ``security`` setting in the same transaction."""
    if user is not None and not user.has_perm(SECURITY_PERM):
        raise PermissionDenied()
    before = registration_policy(db)
    now = _now()
    changes: dict[str, list[bool]] = {}
    for key, name, old, new in ((REGISTRATION_KEY, "registration", before.open, open), (APPROVAL_KEY, "approval", before.approval, approval)):
        row = db.get(Setting, key) or Setting(key=key)
        if row.value is None or bool(row.value) != bool(new):
            row.value, row.updated_at, row.updated_by = bool(new), now, user.username if user else "system"
            db.add(row)
        if old != bool(new):
            changes[name] = [old, bool(new)]
    if changes:
        audit.record(db, user or SYSTEM, "update", "setting", "security", changes, **({} if user else {"source": "system"}))
    db.commit()
    return RegistrationPolicy(bool(open), bool(approval))


def _count_registration(ip: str | None) -> None:
    """At most ``register_max_per_ip`` accounts an hour from one address, counted atomically."""
    if not ip:
        return
    key = f"pult:register:ip:{login_throttle.client_key(ip)}"
    pipe = redis_client().pipeline()  # MULTI/EXEC: start the window and count in one step
    pipe.set(key, 0, ex=3600, nx=True)
    pipe.incr(key)
    pipe.ttl(key)
    _set, count, ttl = pipe.execute()
    if count > settings.register_max_per_ip:
        raise Throttled("login.throttled", retry_after=max(int(ttl), 1), minutes=max(1, -(-int(ttl) // 60)))


def register(
    db: Session, username: str, password: str, full_name: str | None = None, ip: str | None = None,
    user_agent: str | None = None, password2: str | None = None,
) -> str | None:
    """Create an account (when registration is open) and sign it in; returns the session token.

    With approval on (Administration → Security) the account is created *pending*, with no role,
    and ``None`` is returned: it cannot sign in until an admin approves it and picks its role
    (the ``approve`` action on Users); admins get an ``admin.user_pending`` notification.
    Refused with :class:`PermissionDenied` (``register.closed``) when registration is off; field
    problems come back as :class:`ValidationFailed` (``password2``, when given, must repeat the
    password); more than ``register_max_per_ip`` accounts an hour from one address are :class:`Throttled`.
    """
    from app.core.errors import ValidationFailed

    policy = registration_policy(db)
    if not policy.open:
        raise PermissionDenied("register.closed")
    username = (username or "").strip()
    errors: dict[str, tuple[str, dict]] = {}
    if not USERNAME_RE.match(username):
        errors["username"] = ("auth.username_rules", {})
    if len(password or "") < MIN_PASSWORD:
        errors["password"] = ("users.password_short", {"n": MIN_PASSWORD})
    elif password2 is not None and password2 != password:
        errors["password2"] = ("register.mismatch", {})
    if full_name is not None and len(full_name) > 200:
        errors["full_name"] = ("error.max_length", {"n": 200})
    with outage_is_unavailable():
        if not errors and db.exec(select(User).where(func.lower(User.username) == username.lower())).first() is not None:
            errors["username"] = ("error.unique", {})
        if errors:
            raise ValidationFailed(errors)
        _count_registration(ip)
        user = User(
            username=username, hashed_password=hash_password(password), full_name=(full_name or "").strip() or None,
            roles=[] if policy.approval else [settings.registration_role], pending=policy.approval,
        )
        db.add(user)
        db.flush()
        audit.record(db, current_user_for(db, user), "register", "admin.users", user.id,
                     {"username": username, "roles": user.roles, "ip": ip, **({"pending": True} if user.pending else {})})
        if user.pending:
            from app.core import notify
            from app.core.i18n import t

            notify.notify(db, "admin.user_pending", t("users.pending_title", "ru", username=username),
                          link="/admin/users?f_pending=1", data={"user_id": user.id})
        db.commit()
    if user.pending:
        return None
    return login(db, username, password, ip=ip, user_agent=user_agent)


#: ``ip`` when the caller does not know the client's address (a test, an internal call): no check.
UNCHECKED = object()


def resolve(db: Session, token: str | None, touch: bool = True, ip: Any = UNCHECKED) -> CurrentUser:
    """The user behind a session token, or :class:`NotAuthenticated` if it is unknown, revoked or
    expired (or its account is inactive, deleted or still waiting for approval);
    :class:`ServiceUnavailable` when the database cannot be reached.

    Every front door passes the client's address (``ip``): an account whose role's IP allowlist
    does not include it is refused with :class:`PermissionDenied` (``login.ip_refused``) on every
    request, not only at sign-in — an allowlist saved while the session is open takes effect on
    its next request. (``None`` — the address is unknown — is refused for a restricted role.)"""
    if not token:
        raise NotAuthenticated()
    with outage_is_unavailable():
        row = db.get(UserSession, _token_hash(token))
        now = _now()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            raise NotAuthenticated()
        if row.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
            row.revoked_at = now
            db.commit()
            raise NotAuthenticated()
        user = db.get(User, row.user_id)
        if user is None or not user.is_active or user.deleted_at is not None or user.pending:
            raise NotAuthenticated()
        if ip is not UNCHECKED:
            from app.core import security_policy

            if not security_policy.ip_allowed(db, user.roles or [], ip):
                raise NotAuthenticated("login.ip_refused")
        # Touch at most once a minute: an active user keeps the session alive without a write per request.
        if touch and (now - row.last_seen_at).total_seconds() > 60:
            row.last_seen_at = now
            db.commit()
        logs.set_user(user.id)  # the request's log lines say whose it is (by id)
        return current_user_for(db, user)


def logout(db: Session, token: str | None) -> None:
    if not token:
        return
    with outage_is_unavailable():
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
