"""Telegram approve-login (seed 000, section 6.2) and linking an account by Telegram ID.

**Sign in.** "Войти через Telegram": the user types a Telegram ID or @username. Only accounts
already *linked* by Telegram user id take part: a username is looked up among the usernames
stored when the link was made (display only), and the request always goes to the stored id — a
username alone is never trusted. Then:

1. a one-time attempt is kept in Redis (``pult:tg:login:<id>``: user, chat, ``PENDING``; TTL
   :data:`TTL` seconds);
2. the bot sends "Запрос входа в панель" with the IP, the browser and the time, and the buttons
   ✅ Принять / ❌ Отклонить (``tglogin:ok:<id>`` / ``tglogin:no:<id>``);
3. the press reaches Pult authenticated — the webhook with its secret token, or the long-polling
   worker — and goes through :func:`app.panels.telegram.updates.dispatch`; a press from any chat
   but the attempt's is refused there ("this button is not for you"); the attempt moves
   ``PENDING`` → ``APPROVED`` / ``DENIED`` atomically (a Lua script: a second press, a press after
   expiry, a replay of the update change nothing), the query is answered and the message edited;
4. the waiting page is woken (:func:`app.core.login_methods.wake`: Redis pub/sub to the page's
   ``/api/auth/login/{challenge}/events`` stream) and posts once to ``/api/auth/login/{challenge}``,
   bound to that browser by its cookie; an ``APPROVED`` attempt is consumed (``GETDEL``) and the
   kit opens the normal server-side session and sets the HttpOnly cookie. The challenge itself is
   the one-time exchange token.

The page gets the same answer whether or not the ID or username is linked (nothing tells which
accounts exist). Refused: expiry, a used or denied attempt, a press from another chat, and floods —
first steps per client address (the kit's ``throttle_start``) and :data:`PER_USER` requests per
account per login window. Approvals, denials and sign-ins are audited.

**Link.** An admin enters the Telegram user id on the user's form; or the user writes ``/start`` to
the bot, gets a code (:data:`LINK_TTL` seconds, one use) and enters it on their profile
(``POST /api/auth/telegram/link``): the account keeps the Telegram *user id* (encrypted) and the
username only for display.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from typing import Any, Optional

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from app.core import audit, bus, login_methods
from app.core.config import SESSION_COOKIE, settings
from app.core.db import session_scope
from app.core.errors import NotAuthenticated, PultError, Throttled, ValidationFailed, outage_is_unavailable
from app.core.i18n import t
from app.core.inputs import SafeStr
from app.core.login_methods import Challenge, LoginField, LoginMethod, LoginRequest, Pending, SignedIn, Step
from app.core.principal import CurrentUser
from app.core.redis import redis_client
from app.panels.telegram.bot import shared_bot
from app.panels.telegram.updates import CallbackAnswer, CallbackContext, MessageContext, on_callback, on_command
from integrations.telegram import TelegramError, inline_keyboard
from models.core import User

#: Seconds an attempt (and its page's challenge) lives: the seed's 60–120 s.
TTL = 90
PREFIX = "pult:tg:login"
CALLBACK = "tglogin:"
#: Requests one account may get per login window (Administration → Security's window).
PER_USER = 5
LINK_PREFIX = "pult:tg:link"
LINK_TTL = 600
PENDING, APPROVED, DENIED = "PENDING", "APPROVED", "DENIED"
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_USERNAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# --------------------------------------------------------------------------- who is meant
def linked_user(db: Session, who: str) -> Optional[User]:
    """The active account linked to a Telegram user id (digits) or to a username stored with the link.

    Chat ids are encrypted (randomised Fernet: not searchable in SQL), so the linked accounts are
    read and compared here; a username only ever selects among linked accounts."""
    who = (who or "").strip()
    rows = db.exec(select(User).where(User.telegram_chat_id.is_not(None), User.is_active.is_(True), User.deleted_at.is_(None),
                                      User.pending.is_(False))).all()
    if who.lstrip("-").isdigit():
        return next((u for u in rows if (u.telegram_chat_id or "").strip() == who.lstrip("+")), None)
    m = _USERNAME.match(who)
    if not m:
        return None
    name = m.group(1).lower()
    found = [u for u in rows if (u.telegram_username or "").lower() == name]
    return found[0] if len(found) == 1 else None


def browser_name(user_agent: str | None) -> str:
    """"Chrome 120, Linux" from a User-Agent (a short, human line for the message)."""
    ua = user_agent or ""
    name = "?"
    for pattern, label in ((r"Edg/(\d+)", "Edge"), (r"OPR/(\d+)", "Opera"), (r"YaBrowser/(\d+)", "Yandex"), (r"Firefox/(\d+)", "Firefox"),
                           (r"Chrom(?:e|ium)/(\d+)", "Chrome"), (r"Version/(\d+)[\d.]* .*Safari", "Safari")):
        m = re.search(pattern, ua)
        if m:
            name = f"{label} {m.group(1)}"
            break
    for pattern, os_name in ((r"Android", "Android"), (r"iPhone|iPad", "iOS"), (r"Windows", "Windows"), (r"Mac OS X", "macOS"), (r"Linux", "Linux")):
        if re.search(pattern, ua):
            return f"{name}, {os_name}"
    return name


# --------------------------------------------------------------------------- the attempt in Redis
def _key(attempt_id: str) -> str:
    return f"{PREFIX}:{attempt_id}"


def attempt(attempt_id: str) -> Optional[dict[str, Any]]:
    if not _ID.match(attempt_id or ""):
        return None
    raw = redis_client().get(_key(attempt_id))
    return json.loads(raw) if raw else None


# KEYS: the attempt. ARGV: the new status, who pressed (Telegram user id). PENDING → status, keeping the TTL.
_DECIDE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 'gone' end
local a = cjson.decode(raw)
if a['status'] ~= 'PENDING' then return a['status'] end
if tostring(a['chat']) ~= ARGV[2] then return 'wrong' end
a['status'] = ARGV[1]
redis.call('SET', KEYS[1], cjson.encode(a), 'KEEPTTL')
return 'ok'
"""


def _count_user(user_id: int) -> None:
    from app.core.security_policy import login_limits

    window = login_limits().window_seconds
    key = f"{PREFIX}:user:{user_id}"
    pipe = redis_client().pipeline()
    pipe.set(key, 0, ex=window, nx=True)
    pipe.incr(key)
    pipe.ttl(key)
    _set, count, ttl = pipe.execute()
    if count > PER_USER:
        raise Throttled("login.throttled", retry_after=max(int(ttl), 1), minutes=max(1, -(-int(ttl) // 60)))


def _waiting_step() -> Step:
    return Step("tglogin.wait", push=True, poll_seconds=1.0)


def _start(request: LoginRequest) -> Pending:
    """Send the request to the linked account's Telegram, if there is one; the page waits either way."""
    db = request.db
    wake = login_methods.wake_key()
    attempt_id = secrets.token_urlsafe(18)
    with outage_is_unavailable():
        bot = shared_bot(db)
        if bot is None:  # said to everyone alike: it tells nothing about accounts
            raise PultError("tglogin.not_configured")
        user = linked_user(db, request.values["telegram"])
    if user is not None:
        with outage_is_unavailable():
            _count_user(user.id)
        chat = int(user.telegram_chat_id)
        record = {"user": user.id, "chat": chat, "status": PENDING, "wake": wake, "ip": request.ip, "at": _now().isoformat()}
        with outage_is_unavailable():
            redis_client().set(_key(attempt_id), json.dumps(record), ex=TTL)
        text = t("tglogin.message", "ru", ip=request.ip or "?", browser=browser_name(request.user_agent),
                 time=_now().astimezone(dt.timezone(dt.timedelta(hours=3))).strftime("%d.%m.%Y %H:%M:%S МСК"), user=user.username)
        keyboard = inline_keyboard([[(t("tglogin.approve", "ru"), f"{CALLBACK}ok:{attempt_id}"), (t("tglogin.deny", "ru"), f"{CALLBACK}no:{attempt_id}")]])
        try:
            bot.send_message(chat, text, reply_markup=keyboard)
        except TelegramError:
            redis_client().delete(_key(attempt_id))
            raise PultError("tglogin.send_failed") from None
        audit.record(db, None, "login_requested", "user", user.id, {"ip": request.ip, "method": "telegram"}, source="telegram")
        db.commit()
    return Pending(_waiting_step(), data={"attempt": attempt_id, "wake": wake}, ttl=TTL)


def _advance(request: LoginRequest, challenge: Challenge) -> SignedIn | Pending:
    """Asked once the page was woken (or when it asks anyway): signed in only from ``APPROVED``, once."""
    attempt_id = challenge.data.get("attempt", "")
    r = redis_client()
    with outage_is_unavailable():
        current = attempt(attempt_id)
        if current is None:
            raise NotAuthenticated("login.challenge_gone")
        if current["status"] == PENDING:
            return Pending(challenge.step, challenge.data)
        raw = r.getdel(_key(attempt_id))  # one use: a replayed exchange finds nothing
    if raw is None:
        raise NotAuthenticated("login.challenge_gone")
    current = json.loads(raw)
    if current["status"] != APPROVED:
        raise NotAuthenticated("tglogin.denied")
    user = request.db.get(User, int(current["user"]))
    if user is None:
        raise NotAuthenticated("login.bad")
    return SignedIn(user)


TELEGRAM = login_methods.register_method(LoginMethod(
    "telegram", "tglogin.tab", fields=(LoginField("telegram", "tglogin.who", max_length=64, autocomplete="username"),),
    start=_start, advance=_advance, icon="send", order=10, second_factor=False,
))


# --------------------------------------------------------------------------- the buttons
def _attempt_chat(ctx: CallbackContext) -> Optional[int]:
    """The attempt's chat; for an attempt that is gone, whoever pressed (the handler then says "expired")."""
    current = attempt(ctx.payload.partition(":")[2])
    return int(current["chat"]) if current is not None else ctx.chat_id


@on_callback(CALLBACK, expect_chat=_attempt_chat)
def decide(ctx: CallbackContext) -> CallbackAnswer:
    """✅ or ❌ pressed in the attempt's own chat: the attempt moves once; the page is woken."""
    verb, _, attempt_id = ctx.payload.partition(":")
    if verb not in ("ok", "no") or not _ID.match(attempt_id):
        return CallbackAnswer(t("tglogin.gone", ctx.lang), show_alert=True)
    current = attempt(attempt_id)
    status = APPROVED if verb == "ok" else DENIED
    verdict = redis_client().eval(_DECIDE, 1, _key(attempt_id), status, str(ctx.user.id)) if current else "gone"
    if verdict != "ok":
        if verdict == "gone":
            ctx.edit_text(t("tglogin.expired_text", ctx.lang))
        return CallbackAnswer(t("tglogin.gone" if verdict in ("gone", APPROVED, DENIED) else "telegram.wrong_chat", ctx.lang), show_alert=True)
    with session_scope() as db:
        audit.record(db, None, "login_approved" if status == APPROVED else "login_denied", "user", current["user"],
                     {"ip": current.get("ip"), "method": "telegram"}, source="telegram")
        db.commit()
    login_methods.wake(current["wake"], ttl=TTL)
    ctx.edit_text(t("tglogin.approved_text" if status == APPROVED else "tglogin.denied_text", ctx.lang,
                    ip=current.get("ip") or "?"))
    return CallbackAnswer(t("tglogin.approved_answer" if status == APPROVED else "tglogin.denied_answer", ctx.lang))


# --------------------------------------------------------------------------- linking by /start
@on_command("start", default=True)
def start(ctx: MessageContext) -> None:
    """A one-time code to link this Telegram account on the profile (and the id, for an admin).
    The kit's /start: a panel may declare its own, which then wins."""
    if ctx.user is None or ctx.message.chat.type != "private":
        ctx.reply(t("tglogin.link_private", ctx.lang))
        return
    code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    redis_client().set(f"{LINK_PREFIX}:{code}", json.dumps({"tg": ctx.user.id, "username": ctx.user.username}), ex=LINK_TTL)
    ctx.reply(t("tglogin.link_reply", ctx.lang, code=code, chat_id=ctx.chat_id, minutes=LINK_TTL // 60))


def link(db: Session, who: CurrentUser, code: str, ip: str | None = None) -> dict[str, Any]:
    """Link the signed-in account to the Telegram account that got ``code`` from /start (one use)."""
    code = (code or "").strip().upper().replace(" ", "").replace("-", "")
    with outage_is_unavailable():
        _count_link(who.id)
        raw = redis_client().getdel(f"{LINK_PREFIX}:{code}") if re.fullmatch(r"[A-Z0-9]{8}", code) else None
    if raw is None:
        raise ValidationFailed.one("code", "tglogin.link_bad_code")
    data = json.loads(raw)
    user = db.get(User, who.id)
    tg_id = str(int(data["tg"]))
    for other in db.exec(select(User).where(User.telegram_chat_id.is_not(None), User.id != who.id)).all():
        if (other.telegram_chat_id or "").strip() == tg_id:  # one Telegram account, one Pult account
            raise ValidationFailed.one("code", "tglogin.link_taken")
    user.telegram_chat_id, user.telegram_username = tg_id, (data.get("username") or None)
    db.add(user)
    audit.record(db, who, "telegram_linked", "user", user.id, {"ip": ip, "username": user.telegram_username})
    bus.mark(db, "user", [user.id], "update")
    db.commit()
    return {"linked": True, "username": user.telegram_username}


def unlink(db: Session, who: CurrentUser) -> None:
    user = db.get(User, who.id)
    user.telegram_chat_id, user.telegram_username = None, None
    db.add(user)
    audit.record(db, who, "telegram_unlinked", "user", user.id, {})
    bus.mark(db, "user", [user.id], "update")
    db.commit()


def _count_link(user_id: int) -> None:
    key = f"{LINK_PREFIX}:tries:{user_id}"
    pipe = redis_client().pipeline()
    pipe.set(key, 0, ex=settings.login_window_seconds, nx=True)
    pipe.incr(key)
    pipe.ttl(key)
    _set, count, ttl = pipe.execute()
    if count > 10:
        raise Throttled("login.throttled", retry_after=max(int(ttl), 1), minutes=max(1, -(-int(ttl) // 60)))


class LinkIn(BaseModel):
    code: SafeStr = Field(max_length=20, examples=["K7QX2MPA"], description="The code the bot gave for /start")


class LinkOut(BaseModel):
    linked: bool
    username: Optional[str] = None


def _signed_in(request: Request, db: Session) -> CurrentUser:
    """The caller's account: the bearer token or the session cookie, checked like every API route
    (this module stays free of the kit's web-only modules: a worker imports the panel)."""
    from app.core import auth

    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(SESSION_COOKIE)
    return auth.resolve(db, token, ip=_ip(request))


def _ip(request: Request) -> Optional[str]:
    from app.core.net import client_ip

    return client_ip(request.client.host if request.client else None, request.headers)


_ANSWERS = {401: {"description": "Not signed in"}, 422: {"description": "Wrong or expired code (``errors.code``)"},
            429: {"description": "Too many codes tried"}}


def link_router() -> APIRouter:
    router = APIRouter(prefix="/api/auth/telegram", tags=["auth"])

    @router.post("/link", response_model=LinkOut, summary="Link the signed-in account to Telegram with the code /start gave",
                 responses=_ANSWERS)
    def post_link(body: LinkIn, request: Request) -> dict[str, Any]:
        with session_scope() as db:
            return link(db, _signed_in(request, db), body.code, ip=_ip(request))

    @router.delete("/link", status_code=204, response_class=Response, summary="Unlink Telegram from the signed-in account",
                   responses={401: _ANSWERS[401]})
    def delete_link(request: Request) -> Response:
        with session_scope() as db:
            unlink(db, _signed_in(request, db))
        return Response(status_code=204)

    return router


__all__ = ["TELEGRAM", "TTL", "attempt", "browser_name", "decide", "link", "link_router", "linked_user", "start", "unlink"]
