"""TOTP multi-factor sign-in (RFC 6238, ``pyotp``) with one-time recovery codes.

* **Enrol** (profile, or at sign-in when the policy requires it): a fresh secret is shown once as
  a QR code and as text (the ``otpauth://`` URI a phone app scans); it is stored only after the
  user typed a right code from the app. The secret is kept in ``user.totp_secret``, encrypted at
  rest by its column type. Ten recovery codes are made then and shown once; only their SHA-256 is
  kept (``recovery_code``), each is accepted once (an atomic ``UPDATE … WHERE used_at IS NULL``).
* **Sign in**: the ``totp`` second factor (:mod:`app.core.login_methods`) follows the password of
  every account with MFA on: a code from the app, or a recovery code.
* **No replay**: a code is accepted for its 30-second step only if that step is later than the
  last one accepted (``user.totp_last_step``, moved forward atomically in SQL): the same code
  (or an older one) typed again within its window is refused, even by a parallel request.
* **Required by policy**: for the roles chosen on Administration → Security
  (:mod:`app.core.security_policy`), the ``totp_enrol`` factor leads a user without MFA through
  enrolment right after their password, before any session is opened; such a user cannot switch
  MFA off.
* **Disable / new recovery codes**: only with a current code (or a recovery code to disable).

Every change is audited in the same transaction (``mfa_enabled``, ``mfa_disabled``,
``mfa_recovery_codes``, ``mfa_recovery_used``).
"""

from __future__ import annotations

import hashlib
import io
import secrets
import time
import urllib.parse
from datetime import datetime, timezone

import pyotp
from sqlalchemy import text
from sqlmodel import Session, select

from app.core import audit, crypto, security_policy
from app.core.errors import PermissionDenied, ValidationFailed, outage_is_unavailable
from app.core.login_methods import (Challenge, LoginField, LoginRequest, Pending, SecondFactor, SignedIn, Step,
                                    register_factor)
from app.core.principal import CurrentUser
from app.core.redis import redis_client
from models.core import RecoveryCode, User

ISSUER = "Pult"
INTERVAL = 30
#: Codes of the step before and after now are accepted too (clock drift), each once.
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
#: A secret being enrolled from the profile (encrypted), until confirmed: seconds it is kept.
ENROL_TTL = 600
ENROL_KEY = "pult:mfa:enrol"
CODE_FIELD = LoginField("code", "mfa.code", kind="text", autocomplete="one-time-code", max_length=20)
APP_CODE_FIELD = LoginField("code", "mfa.app_code", kind="code", max_length=20)


def spaced(secret: str) -> str:
    """The key in groups of four, as people type it into an app (apps ignore the spaces)."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- secrets, URIs, QR
def new_secret() -> str:
    return pyotp.random_base32()


def otpauth_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret, interval=INTERVAL).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The URI as a QR code: an SVG ``data:`` URI (the page's CSP allows ``data:`` images)."""
    import segno

    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, border=2, dark="#111", light="#fff", xmldecl=False)
    return "data:image/svg+xml;charset=utf-8," + urllib.parse.quote(out.getvalue().decode())


def enabled(user: User) -> bool:
    return bool(user.totp_secret and user.totp_enabled_at)


def _clean_code(code: str) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace())


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The 30-second step (around now) whose code ``code`` is, or None."""
    code = _clean_code(code)
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, interval=INTERVAL)
    current = int((time.time() if now is None else now) // INTERVAL)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.at(step * INTERVAL), code):
            return step
    return None


def _take_step(db: Session, user_id: int, step: int) -> bool:
    """Move the user's last accepted step forward to ``step``; False when it is not later (a replay)."""
    row = db.execute(text('UPDATE "user" SET totp_last_step = :s WHERE id = :u AND (totp_last_step IS NULL OR totp_last_step < :s) '
                          "RETURNING id"), {"s": step, "u": user_id}).first()
    return row is not None


def check_totp(db: Session, user: User, code: str) -> bool:
    """A right, not yet used code of the user's enrolled secret (and then it is used)."""
    if not enabled(user):
        return False
    step = _matching_step(user.totp_secret or "", code)
    return step is not None and _take_step(db, user.id, step)


# --------------------------------------------------------------------------- recovery codes
def _code_hash(code: str) -> str:
    norm = _clean_code(code).lower().replace("-", "")
    return hashlib.sha256(f"pult-recovery:{norm}".encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def new_recovery_codes(db: Session, user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them (shown once). Caller commits."""
    db.execute(text("DELETE FROM recovery_code WHERE user_id = :u"), {"u": user.id})
    codes = [_new_code() for _ in range(RECOVERY_CODES)]
    now = _now()
    for code in codes:
        db.add(RecoveryCode(user_id=user.id, code_hash=_code_hash(code), created_at=now))
    db.flush()
    return codes


def use_recovery_code(db: Session, user: User, code: str) -> bool:
    """Accept an unused recovery code once (atomically: two parallel uses, one wins). Caller commits."""
    norm = _clean_code(code).replace("-", "")
    if len(norm) != 10:
        return False
    row = db.execute(text("UPDATE recovery_code SET used_at = now() WHERE user_id = :u AND code_hash = :h AND used_at IS NULL "
                          "RETURNING id"), {"u": user.id, "h": _code_hash(code)}).first()
    return row is not None


def recovery_left(db: Session, user_id: int) -> int:
    return len(db.exec(select(RecoveryCode.id).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))).all())


# --------------------------------------------------------------------------- the profile's actions
def _user(db: Session, who: CurrentUser) -> User:
    user = db.get(User, who.id)
    if user is None:
        raise PermissionDenied()
    return user


def status(db: Session, who: CurrentUser) -> dict:
    user = _user(db, who)
    return {"enabled": enabled(user), "required": security_policy.mfa_required(db, user.roles or []),
            "recovery_codes_left": recovery_left(db, user.id) if enabled(user) else 0}


def begin_enrolment(db: Session, who: CurrentUser) -> dict:
    """A new secret for the signed-in user (kept encrypted in Redis until confirmed): its text,
    ``otpauth://`` URI and QR code — shown this once."""
    user = _user(db, who)
    if enabled(user):
        raise ValidationFailed.one("", "mfa.already_on")
    secret = new_secret()
    with outage_is_unavailable():
        redis_client().set(f"{ENROL_KEY}:{user.id}", crypto.encrypt(secret), ex=ENROL_TTL)
    uri = otpauth_uri(secret, user.username)
    return {"secret": secret, "uri": uri, "qr": qr_data_uri(uri)}


def _enable(db: Session, user: User, secret: str, step: int, who: CurrentUser | None, ip: str | None) -> list[str]:
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, _now(), step
    db.add(user)
    codes = new_recovery_codes(db, user)
    audit.record(db, who, "mfa_enabled", "user", user.id, {"ip": ip} if ip else {})
    db.commit()
    return codes


def confirm_enrolment(db: Session, who: CurrentUser, code: str, ip: str | None = None) -> list[str]:
    """Switch MFA on with the pending secret once ``code`` is right; returns the recovery codes."""
    user = _user(db, who)
    with outage_is_unavailable():
        raw = redis_client().get(f"{ENROL_KEY}:{user.id}")
    if raw is None:
        raise ValidationFailed.one("code", "mfa.enrol_expired")
    step = _matching_step(crypto.decrypt(raw), code)
    if step is None:
        raise ValidationFailed.one("code", "mfa.wrong_code")
    codes = _enable(db, user, crypto.decrypt(raw), step, who, ip)
    redis_client().delete(f"{ENROL_KEY}:{user.id}")
    return codes


def _require_code(db: Session, user: User, code: str, recovery: bool) -> str:
    if check_totp(db, user, code):
        return "totp"
    if recovery and use_recovery_code(db, user, code):
        return "recovery"
    db.rollback()
    raise ValidationFailed.one("code", "mfa.wrong_code")


def regenerate(db: Session, who: CurrentUser, code: str) -> list[str]:
    """Ten new recovery codes (the old ones stop working), with a current code from the app."""
    user = _user(db, who)
    if not enabled(user):
        raise ValidationFailed.one("", "mfa.not_on")
    _require_code(db, user, code, recovery=False)
    codes = new_recovery_codes(db, user)
    audit.record(db, who, "mfa_recovery_codes", "user", user.id, {})
    db.commit()
    return codes


def disable(db: Session, who: CurrentUser, code: str) -> None:
    """Switch MFA off with a current code (or a recovery code) — unless the user's role requires it."""
    user = _user(db, who)
    if not enabled(user):
        raise ValidationFailed.one("", "mfa.not_on")
    if security_policy.mfa_required(db, user.roles or []):
        raise PermissionDenied("mfa.required_cannot_disable")
    _require_code(db, user, code, recovery=True)
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
    db.add(user)
    db.execute(text("DELETE FROM recovery_code WHERE user_id = :u"), {"u": user.id})
    audit.record(db, who, "mfa_disabled", "user", user.id, {})
    db.commit()


# --------------------------------------------------------------------------- the sign-in steps
def _totp_applies(db: Session, user: User) -> bool:
    return enabled(user)


def _totp_start(db: Session, user: User) -> Pending:
    return Pending(Step("mfa.enter_code", fields=(CODE_FIELD,)), ttl=300)


def _totp_advance(request: LoginRequest, challenge: Challenge) -> SignedIn:
    db = request.db
    user = db.get(User, challenge.user_id)
    if user is None or not enabled(user):
        raise ValidationFailed.one("code", "mfa.wrong_code")
    code = request.values["code"]
    if check_totp(db, user, code):
        db.commit()
        return SignedIn(user)
    if use_recovery_code(db, user, code):
        audit.record(db, None, "mfa_recovery_used", "user", user.id, {"ip": request.ip, "left": recovery_left(db, user.id)})
        db.commit()
        return SignedIn(user)
    db.rollback()
    raise ValidationFailed.one("code", "mfa.wrong_code")


TOTP = register_factor(SecondFactor("totp", applies=_totp_applies, start=_totp_start, advance=_totp_advance))


def _enrol_applies(db: Session, user: User) -> bool:
    return not enabled(user) and security_policy.mfa_required(db, user.roles or [])


def _enrol_step(secret: str, username: str) -> Step:
    uri = otpauth_uri(secret, username)
    return Step("mfa.enrol_at_signin", fields=(APP_CODE_FIELD,), show=(spaced(secret),), qr=qr_data_uri(uri))


def _enrol_start(db: Session, user: User) -> Pending:
    secret = new_secret()
    return Pending(_enrol_step(secret, user.username), data={"secret": crypto.encrypt(secret)}, ttl=600)


def _enrol_advance(request: LoginRequest, challenge: Challenge) -> SignedIn | Pending:
    db = request.db
    user = db.get(User, challenge.user_id)
    if user is None:
        raise ValidationFailed.one("code", "mfa.wrong_code")
    if challenge.data.get("codes_shown"):  # "I saved them" pressed: now the session
        return SignedIn(user)
    secret = crypto.decrypt(challenge.data["secret"])
    step = _matching_step(secret, request.values.get("code", ""))
    if step is None:
        raise ValidationFailed.one("code", "mfa.wrong_code")
    codes = _enable(db, user, secret, step, None, request.ip)
    return Pending(Step("mfa.save_codes", confirm=True, show=tuple(codes)), data={"codes_shown": True}, ttl=600)


TOTP_ENROL = register_factor(SecondFactor("totp_enrol", applies=_enrol_applies, start=_enrol_start, advance=_enrol_advance))


__all__ = ["TOTP", "TOTP_ENROL", "begin_enrolment", "check_totp", "confirm_enrolment", "disable", "enabled", "new_recovery_codes",
           "new_secret", "otpauth_uri", "qr_data_uri", "regenerate", "status", "use_recovery_code"]
