"""Sign-in methods for tests only, registered by the tests that use them (never by the app):

* the ``sms`` second factor: after the password, accounts named ``sms_…`` are asked for a code
  "sent by SMS" — always ``424242``; accounts named ``sms_short…`` get a challenge that lives
  :data:`SHORT_TTL` seconds (the expiry tests);
* the ``approve`` method: a username, then the browser waits while someone approves the request
  elsewhere (as Telegram approve-login does): :func:`approve` presses the button.

The API tests call :func:`install`; the browser tests start an extra server with
``PULT_JOB_MODULES=tests.e2e.sms_factor`` (the composition root imports that module, which installs
the second factor there).
"""

from __future__ import annotations

import secrets

from sqlmodel import select

from app.core import i18n
from app.core.errors import ValidationFailed
from app.core.login_methods import (FACTORS, METHODS, Challenge, LoginField, LoginMethod, LoginRequest, Pending,
                                    SecondFactor, SignedIn, Step, register_factor, register_method)
from app.core.redis import redis_client
from models.core import User

CODE = "424242"
SHORT_TTL = 2
#: What the fake SMS gateway and the fake messenger "sent": (username, text).
SENT: list[tuple[str, str]] = []

i18n.register({
    "test.sms_sent": ("Мы отправили код на {phone}", "We sent a code to {phone}"),
    "test.sms_code": ("Код из SMS", "Code from the SMS"),
    "test.sms_wrong": ("Неверный код", "Wrong code"),
    "test.approve": ("Подтверждение в мессенджере", "Approve in the messenger"),
    "test.approve_wait": ("Нажмите «Подтвердить» в сообщении", "Press Approve in the message"),
})


def _sms_applies(db, user: User) -> bool:
    return user.username.startswith("sms_")


def _sms_start(db, user: User) -> Pending:
    SENT.append((user.username, CODE))
    return Pending(Step("test.sms_sent", fields=(LoginField("code", "test.sms_code", kind="code", max_length=12),),
                        params={"phone": "+7 *** ***-**-12"}),
                   ttl=SHORT_TTL if user.username.startswith("sms_short") else 120)


def _sms_advance(request: LoginRequest, challenge: Challenge) -> SignedIn:
    if request.values["code"].strip() != CODE:
        raise ValidationFailed.one("code", "test.sms_wrong")
    return SignedIn(request.db.get(User, challenge.user_id))


SMS = SecondFactor("sms", applies=_sms_applies, start=_sms_start, advance=_sms_advance)


def _approve_start(request: LoginRequest) -> Pending:
    # Always the same answer, whether the account exists or not.
    ticket = secrets.token_urlsafe(8)
    SENT.append((request.values["username"].strip(), ticket))
    return Pending(Step("test.approve_wait", poll_seconds=0.2), data={"username": request.values["username"].strip(), "ticket": ticket}, ttl=60)


def _approve_advance(request: LoginRequest, challenge: Challenge) -> SignedIn | Pending:
    ticket = challenge.data["ticket"]
    if not redis_client().get(f"test:approved:{ticket}"):
        return Pending(challenge.step, challenge.data)
    user = request.db.exec(select(User).where(User.username == challenge.data["username"])).first()
    from app.core.errors import NotAuthenticated

    if user is None:
        raise NotAuthenticated("login.bad")
    return SignedIn(user)


APPROVE = LoginMethod("approve", "test.approve", fields=(LoginField("username", "login.username", max_length=200),),
                      start=_approve_start, advance=_approve_advance, icon="send", order=50, second_factor=False)


def approve(username: str) -> None:
    """Press "Approve" on the last request sent to ``username``."""
    ticket = next(text for who, text in reversed(SENT) if who == username)
    redis_client().set(f"test:approved:{ticket}", 1, ex=60)


def install(sms: bool = True, approve_method: bool = True) -> None:
    if sms:
        register_factor(SMS)
    if approve_method:
        register_method(APPROVE)


def uninstall() -> None:
    FACTORS.pop("sms", None)
    METHODS.pop("approve", None)

