"""Sign-in methods: how a person proves who they are, as declarations the login page and
``POST /api/auth/login`` are generated from. The kit knows methods through this registry, never a
provider by name; it brings ``password`` and a panel adds others (Telegram approve-login, a code
by e-mail)::

    register_method(LoginMethod(
        "telegram", "login.telegram", fields=(LoginField("username", "login.username"),),
        start=ask_in_telegram,            # -> Pending(Step("login.telegram_wait"), data={...})
        advance=approved_yet,             # polled: -> Pending(same step) until the button is pressed,
        icon="send"))                     #         then SignedIn(user)

and a second factor that follows any method's first step for the users it applies to::

    register_factor(SecondFactor("totp", applies=lambda db, user: user has a secret,
        start=lambda db, user: Pending(Step("login.totp", fields=(LoginField("code", "login.code", kind="code"),))),
        advance=check_code))              # wrong code: raise ValidationFailed.one("code", ...)

A method's ``start(request)`` gets the values of its declared fields (checked present and not too
long) and answers :class:`SignedIn` (one step) or :class:`Pending`: a challenge the browser
continues at ``POST /api/auth/login/{id}`` — a form with the step's fields, or, when the step has
no fields, the same request repeated every ``poll_seconds`` until the method says ``SignedIn`` (the
user pressed "Approve" elsewhere). Each continuation calls ``advance(request, challenge)``.

Challenges live in Redis with a time to live (the step's ``ttl``), are bound to the browser that
started them (a random value in an HttpOnly cookie whose hash the challenge keeps), are used once
(the answer that signs in deletes the challenge, atomically, so two parallel right answers make
one session), and are throttled: every answer to a form step goes through
:mod:`app.core.login_throttle` keyed by the account (per address, per account with progressive
waits), a challenge takes at most ``MAX_TRIES`` wrong answers and is then dropped, and a poll
faster than half its interval is refused with 429. What the method keeps in ``data`` never goes to
the browser.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from app.core import audit, auth, login_throttle, security_policy
from app.core.config import settings
from app.core.errors import NotAuthenticated, Throttled, ValidationFailed, outage_is_unavailable
from app.core.i18n import t
from app.core.inputs import BadText, check_text
from app.core.redis import redis_client
from models.core import User

PREFIX = "pult:login:challenge"
#: The cookie that binds a challenge to the browser that started it (HttpOnly, this path only).
BROWSER_COOKIE = "pult_login_step"
COOKIE_PATH = "/api/auth/login"
#: Seconds a challenge lives unless its step says otherwise.
DEFAULT_TTL = 300
#: Wrong answers one challenge takes before it is dropped (the account's throttle counts them too).
MAX_TRIES = 5
CHALLENGE_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
FIELD_KINDS = ("text", "password", "code")


# --------------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class LoginField:
    """One input a method or a step asks for: ``label`` is an i18n key; ``kind`` is ``text``,
    ``password`` (hidden) or ``code`` (a one-time code: digits keyboard, ``one-time-code``)."""

    name: str
    label: str
    kind: str = "text"
    autocomplete: str | None = None
    max_length: int = 1000

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"LoginField {self.name!r}: kind {self.kind!r} is not one of {FIELD_KINDS}")

    @property
    def auto_complete(self) -> str:
        if self.autocomplete:
            return self.autocomplete
        return {"password": "current-password", "code": "one-time-code"}.get(self.kind, "username" if self.name == "username" else "off")

    def as_json(self, lang: str) -> dict[str, Any]:
        return {"name": self.name, "label": t(self.label, lang), "kind": self.kind, "autocomplete": self.auto_complete}


@dataclass(frozen=True)
class Step:
    """What the browser does next: fill in ``fields`` (a form); or, with no fields, wait — told by
    the server when there is news (``push``: the page listens at ``GET /api/auth/login/{id}/events``
    and asks once the method calls :func:`wake`), or else polling every ``poll_seconds``; or, with
    ``confirm``, press "Continue" (a form without fields: after reading ``show``).
    ``message`` (an i18n key, ``params`` its placeholders) says why. ``show`` are lines the page
    shows as code (a secret to type in, recovery codes: shown in this step only), ``qr`` an image
    (a ``data:image/svg+xml`` URI) to scan."""

    message: str
    fields: tuple[LoginField, ...] = ()
    poll_seconds: float = 2.0
    params: Mapping[str, Any] = field(default_factory=dict)
    push: bool = False
    confirm: bool = False
    show: tuple[str, ...] = ()
    qr: str = ""

    @property
    def kind(self) -> str:
        if self.fields or self.confirm:
            return "form"
        return "push" if self.push else "poll"

    def dump(self) -> dict[str, Any]:
        return {"message": self.message, "poll_seconds": self.poll_seconds, "params": dict(self.params),
                "push": self.push, "confirm": self.confirm, "show": list(self.show), "qr": self.qr,
                "fields": [{"name": f.name, "label": f.label, "kind": f.kind, "autocomplete": f.autocomplete,
                            "max_length": f.max_length} for f in self.fields]}

    @classmethod
    def load(cls, raw: Mapping[str, Any]) -> "Step":
        return cls(raw["message"], tuple(LoginField(**f) for f in raw["fields"]), raw["poll_seconds"], raw["params"],
                   bool(raw.get("push")), bool(raw.get("confirm")), tuple(raw.get("show") or ()), raw.get("qr") or "")


@dataclass(frozen=True)
class SignedIn:
    """The method vouches for this account; the kit opens the session (or asks the second factor)."""

    user: User


@dataclass(frozen=True)
class Pending:
    """Not yet: the browser continues with ``step``. ``data`` (JSON-able) stays with the challenge
    on the server; ``user_id`` is the account it is about, when the method knows it already."""

    step: Step
    data: Mapping[str, Any] = field(default_factory=dict)
    user_id: int | None = None
    ttl: int = DEFAULT_TTL


Outcome = SignedIn | Pending


@dataclass(frozen=True)
class LoginRequest:
    """One request to a method: the database session, the values of the fields asked for (only
    those, each a string), and who is asking."""

    db: Session
    values: Mapping[str, str]
    ip: str | None = None
    user_agent: str | None = None
    lang: str = "ru"


@dataclass(frozen=True)
class Challenge:
    """A sign-in in progress, as stored in Redis."""

    id: str
    method: str
    step: Step
    data: Mapping[str, Any]
    user_id: int | None
    factor: str | None = None


@dataclass(frozen=True)
class LoginMethod:
    """A way to sign in: ``name`` (in the API's ``method``), ``label`` (i18n key of its tab),
    the ``fields`` its first form asks for, ``start`` (first step) and ``advance`` (every later
    step; needed when ``start`` can answer :class:`Pending`). ``second_factor=False`` when the
    method already proves possession (a Telegram approval) and a registered second factor should
    not follow it. Methods are shown in ``order``; the first is the login page's default."""

    name: str
    label: str
    fields: tuple[LoginField, ...]
    start: Callable[[LoginRequest], Outcome]
    advance: Callable[[LoginRequest, Challenge], Outcome] | None = None
    icon: str = "log-in"
    order: int = 100
    second_factor: bool = True
    #: Count first steps per client address (``login_max_per_ip`` a window): a method that sends
    #: something (a Telegram request, an e-mail) must not become a way to spam people. ``False``
    #: only for a method that throttles itself (the password, through :mod:`app.core.login_throttle`).
    throttle_start: bool = True


@dataclass(frozen=True)
class SecondFactor:
    """A step after a method's first one, for the accounts it ``applies`` to (those with a TOTP
    secret, say). ``start(db, user)`` gives the step; ``advance(request, challenge)`` checks the
    answer and answers :class:`SignedIn` — or raises :class:`ValidationFailed` on a field."""

    name: str
    applies: Callable[[Session, User], bool]
    start: Callable[[Session, User], Pending]
    advance: Callable[[LoginRequest, Challenge], Outcome]


METHODS: dict[str, LoginMethod] = {}
FACTORS: dict[str, SecondFactor] = {}


def register_method(method: LoginMethod) -> LoginMethod:
    """Add a sign-in method (a panel does it when imported); the same name again replaces it."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", method.name):
        raise ValueError(f"login method name {method.name!r}: lower-case letters, digits and _")
    METHODS[method.name] = method
    return method


def register_factor(factor: SecondFactor) -> SecondFactor:
    """Add a second factor; the same name again replaces it."""
    FACTORS[factor.name] = factor
    return factor


def methods() -> list[LoginMethod]:
    """The registered methods in the order the login page shows them."""
    return sorted(METHODS.values(), key=lambda m: (m.order, m.name))


def default_method() -> str:
    return methods()[0].name


# --------------------------------------------------------------------------- running them
@dataclass(frozen=True)
class Result:
    """What the HTTP layer sends back: a session ``token``, or a ``challenge`` (plus the browser
    value for the binding cookie when a new challenge was opened)."""

    token: str | None = None
    challenge: Challenge | None = None
    browser: str | None = None
    ttl: int = 0

    def challenge_json(self, lang: str) -> dict[str, Any]:
        assert self.challenge is not None
        step = self.challenge.step
        return {"challenge": self.challenge.id, "step": step.kind, "message": t(step.message, lang, **step.params),
                "fields": [f.as_json(lang) for f in step.fields], "poll_seconds": step.poll_seconds, "expires_in": self.ttl,
                "show": list(step.show), "qr": step.qr}


def _key(challenge_id: str) -> str:
    return f"{PREFIX}:{challenge_id}"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _BAD_TEXT(value: str) -> bool:  # noqa: N802
    try:
        check_text(value)
    except BadText:
        return True
    return False


def _clean(fields: tuple[LoginField, ...], values: Mapping[str, Any]) -> dict[str, str]:
    """The declared fields' values: each present, a string, not too long; nothing else is passed on."""
    errors: dict[str, tuple[str, dict]] = {}
    out: dict[str, str] = {}
    for f in fields:
        value = values.get(f.name)
        if value is None:  # an empty string is the method's to judge ("wrong password", "wrong code")
            errors[f.name] = ("error.required", {})
        elif not isinstance(value, str):
            errors[f.name] = ("error.value", {})
        elif _BAD_TEXT(value):
            errors[f.name] = (BadText.key, {})
        elif len(value) > f.max_length:
            errors[f.name] = ("error.max_length", {"n": f.max_length})
        else:
            out[f.name] = value
    if errors:
        raise ValidationFailed(errors)
    return out


def begin(db: Session, method_name: str, values: Mapping[str, Any], ip: str | None = None,
          user_agent: str | None = None, lang: str = "ru") -> Result:
    """Run a method's first step. Unknown method: 422 on ``method``; missing fields: 422 on each."""
    method = METHODS.get(method_name)
    if method is None:
        raise ValidationFailed.one("method", "login.unknown_method")
    request = LoginRequest(db, _clean(method.fields, values), ip, user_agent, lang)
    if method.throttle_start:
        _count_start(method.name, ip)
    return _after(request, method, method.start(request), browser=secrets.token_urlsafe(24))


def _count_start(method: str, ip: str | None) -> None:
    """At most ``login_max_per_ip`` first steps of one method per window from one address."""
    key = f"{PREFIX}:start:{method}:{login_throttle.client_key(ip)}"
    limits = security_policy.login_limits(defaults=settings)
    with outage_is_unavailable():
        pipe = redis_client().pipeline()  # MULTI/EXEC: start the window and count in one step
        pipe.set(key, 0, ex=limits.window_seconds, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _set, count, ttl = pipe.execute()
    if count > limits.max_per_ip:
        raise Throttled("login.throttled", retry_after=max(int(ttl), 1), minutes=max(1, -(-int(ttl) // 60)))


def _after(request: LoginRequest, method: LoginMethod, outcome: Outcome, browser: str | None = None,
           challenge: Challenge | None = None) -> Result:
    """A session, or a challenge stored for the next step (the second factor's when one applies)."""
    if isinstance(outcome, SignedIn):
        user = outcome.user
        auth.check_ip(request.db, user, request.ip)  # before any further step: the role's allowlist
        already = challenge.factor if challenge is not None else None
        if already is None and method.second_factor:
            for factor in FACTORS.values():
                if factor.applies(request.db, user):
                    return _store(method.name, factor.start(request.db, user), browser, factor=factor.name, user_id=user.id)
        via = None if method.name == default_method() else method.name
        return Result(token=auth.open_session(request.db, user, request.ip, request.user_agent, via=via))
    if challenge is not None:  # the same challenge, on to its next step (or still waiting)
        return _update(challenge, outcome)
    return _store(method.name, outcome, browser)


def _store(method: str, pending: Pending, browser: str | None, factor: str | None = None, user_id: int | None = None) -> Result:
    if browser is None:
        raise NotAuthenticated("login.challenge_gone")
    ch = Challenge(secrets.token_urlsafe(24), method, pending.step, dict(pending.data), pending.user_id or user_id, factor)
    record = {"method": method, "factor": factor, "user_id": ch.user_id, "step": pending.step.dump(),
              "data": ch.data, "browser": _hash(browser), "tries": 0}
    with outage_is_unavailable():
        redis_client().set(_key(ch.id), json.dumps(record), ex=max(int(pending.ttl), 1))
    return Result(challenge=ch, browser=browser, ttl=int(pending.ttl))


def _update(ch: Challenge, pending: Pending) -> Result:
    r = redis_client()
    with outage_is_unavailable():
        raw = r.get(_key(ch.id))
        if raw is None:
            raise NotAuthenticated("login.challenge_gone")
        record = json.loads(raw)
        record.update(step=pending.step.dump(), data=dict(pending.data), user_id=pending.user_id or ch.user_id)
        r.set(_key(ch.id), json.dumps(record), keepttl=True)
        ttl = r.ttl(_key(ch.id))
    return Result(challenge=Challenge(ch.id, ch.method, pending.step, dict(pending.data), record["user_id"], ch.factor), ttl=max(int(ttl), 0))


def _load(challenge_id: str, browser: str | None) -> tuple[Challenge, dict[str, Any]]:
    """The stored challenge, or ``login.challenge_gone`` (expired, used, unknown, or started in
    another browser: the same answer for all, so an id alone tells nothing)."""
    if not CHALLENGE_ID.match(challenge_id or "") or not browser:
        raise NotAuthenticated("login.challenge_gone")
    with outage_is_unavailable():
        raw = redis_client().get(_key(challenge_id))
    if raw is None:
        raise NotAuthenticated("login.challenge_gone")
    record = json.loads(raw)
    if not secrets.compare_digest(record["browser"], _hash(browser)):
        raise NotAuthenticated("login.challenge_gone")
    ch = Challenge(challenge_id, record["method"], Step.load(record["step"]), record["data"], record["user_id"], record["factor"])
    return ch, record


def advance(db: Session, challenge_id: str, values: Mapping[str, Any], browser: str | None, ip: str | None = None,
            user_agent: str | None = None, lang: str = "ru") -> Result:
    """Continue a challenge: check the step's answer (or ask again whether it was approved)."""
    ch, _record = _load(challenge_id, browser)
    method = METHODS.get(ch.method)
    factor = FACTORS.get(ch.factor) if ch.factor else None
    step_advance = factor.advance if factor is not None else (method.advance if method is not None else None)
    if method is None or step_advance is None or (ch.factor and factor is None):
        _drop(ch.id)  # its panel was switched off since
        raise NotAuthenticated("login.challenge_gone")
    r = redis_client()
    attempt = None
    if ch.step.kind in ("poll", "push"):
        poll_ms = max(int(ch.step.poll_seconds * 500), 100)
        with outage_is_unavailable():
            if not r.set(f"{_key(ch.id)}:poll", 1, nx=True, px=poll_ms):
                raise Throttled("login.wait", retry_after=max(1, math.ceil(ch.step.poll_seconds)), seconds=max(1, math.ceil(ch.step.poll_seconds)))
        clean: dict[str, str] = {}
    else:
        clean = _clean(ch.step.fields, values)
        # The account's own throttle (per address, progressive waits), keyed apart from its password's.
        attempt = login_throttle.Attempt.of(f"{ch.factor or ch.method}#{ch.user_id if ch.user_id is not None else ch.id}", ip)
        with outage_is_unavailable():
            login_throttle.admit(attempt)
            tries = r.eval(_COUNT_TRY, 1, _key(ch.id))
        if tries is None:
            raise NotAuthenticated("login.challenge_gone")
        if int(tries) > MAX_TRIES:
            _drop(ch.id)
            raise NotAuthenticated("login.challenge_tries")
    request = LoginRequest(db, clean, ip, user_agent, lang)
    try:
        outcome = step_advance(request, ch)
    except (ValidationFailed, NotAuthenticated):
        with outage_is_unavailable():
            db.rollback()
            audit.record(db, None, "login_failed", "user", ch.user_id, {"ip": ip, "method": ch.factor or ch.method, "step": True})
            db.commit()
        raise
    if isinstance(outcome, SignedIn):
        if attempt is not None:
            login_throttle.succeeded(attempt)
        with outage_is_unavailable():
            if not r.delete(_key(ch.id)):  # single use: a parallel answer got there first
                raise NotAuthenticated("login.challenge_gone")
        if outcome.user.id != ch.user_id and ch.user_id is not None:
            raise NotAuthenticated("login.challenge_gone")
        return _after(request, method, outcome, browser=browser, challenge=ch)
    return _after(request, method, outcome, browser=browser, challenge=ch)


# KEYS: the challenge. Count one answer, keeping the TTL; nil when the challenge is gone.
_COUNT_TRY = """
local raw = redis.call('GET', KEYS[1])
if not raw then return nil end
local record = cjson.decode(raw)
record['tries'] = (record['tries'] or 0) + 1
redis.call('SET', KEYS[1], cjson.encode(record), 'KEEPTTL')
return record['tries']
"""


def _drop(challenge_id: str) -> None:
    with outage_is_unavailable():
        redis_client().delete(_key(challenge_id))


# --------------------------------------------------------------------------- push: news for a waiting page
WAKE_PREFIX = "pult:login:wake"


def wake_key() -> str:
    """A new random name for a method to wake its waiting page with (keep it in ``Pending.data["wake"]``)."""
    return secrets.token_urlsafe(18)


def wake(name: str, ttl: int = DEFAULT_TTL) -> None:
    """Tell the page waiting on ``name`` that its step has news (an approval, a denial): a flag it
    finds if it (re)connects later, and a message on the channel it listens to now."""
    r = redis_client()
    pipe = r.pipeline()
    pipe.set(f"{WAKE_PREFIX}:{name}", 1, ex=max(int(ttl), 1))
    pipe.publish(f"{WAKE_PREFIX}:{name}", "1")
    pipe.execute()


def waiting(challenge_id: str, browser: str | None) -> tuple[str, int]:
    """For ``GET /api/auth/login/{id}/events``: the wake name of a ``push`` step of this browser's
    challenge and its seconds left — or ``login.challenge_gone`` as for an answer."""
    ch, _record = _load(challenge_id, browser)
    name = ch.data.get("wake") if isinstance(ch.data, Mapping) else None
    if ch.step.kind != "push" or not isinstance(name, str) or not name:
        raise NotAuthenticated("login.challenge_gone")
    with outage_is_unavailable():
        ttl = redis_client().ttl(_key(challenge_id))
    return name, max(int(ttl), 0)


def woken(name: str) -> bool:
    return bool(redis_client().exists(f"{WAKE_PREFIX}:{name}"))


# --------------------------------------------------------------------------- the kit's own method
def _password(request: LoginRequest) -> Outcome:
    """Username and password: throttled, audited and refused exactly as :func:`app.core.auth.login`."""
    return SignedIn(auth.check_password(request.db, request.values["username"], request.values["password"], request.ip))


PASSWORD = register_method(LoginMethod(
    "password", "login.by_password",
    fields=(LoginField("username", "login.username", max_length=200), LoginField("password", "login.password", kind="password")),
    start=_password, icon="key-round", order=0, throttle_start=False,
))


__all__ = ["BROWSER_COOKIE", "WAKE_PREFIX", "wake", "wake_key", "waiting", "woken", "Challenge", "FACTORS", "LoginField", "LoginMethod", "LoginRequest", "METHODS", "MAX_TRIES",
           "PASSWORD", "Pending", "Result", "SecondFactor", "SignedIn", "Step", "advance", "begin", "methods",
           "register_factor", "register_method"]
