"""Telegram webhook: ``POST /api/integrations/telegram/webhook`` and button-press handlers.

Telegram calls the endpoint with every update of the bot (``setWebhook(url, secret_token)``), each
call carrying ``X-Telegram-Bot-Api-Secret-Token``. A call whose header is missing or differs from
``PULT_TELEGRAM_WEBHOOK_SECRET`` (compared in constant time) gets 401 and nothing is read or run;
with no secret configured every call is refused.

Button presses (``callback_query`` updates) go to the handler registered for the longest prefix of
their ``callback_data``::

    from app.core.telegram_webhook import on_callback

    @on_callback("login:")
    def approve_login(ctx):                    # ctx: CallbackContext
        ...                                    # ctx.payload == "ok:7" for data "login:ok:7"
        ctx.edit_text("Вход подтверждён")      # replace the message (and drop its buttons)
        return "Готово"                        # toast text (or CallbackAnswer(text, show_alert=True), or None)

After the handler the query is answered (``answerCallbackQuery``) so the user's spinner stops. A
handler that raises is logged; the user sees a short error toast (a :class:`PultError`'s message,
in the user's Telegram language) and Telegram still gets 200, because a non-2xx answer makes it
re-send the update again and again, holding back every later one. Redelivered updates (same
``update_id`` within a day) are skipped, using Redis when it answers.

The bot that answers is ``TelegramClient(PULT_TELEGRAM_BOT_TOKEN, base_url=PULT_TELEGRAM_API_URL)``
unless :func:`telegram_router` is given another. Audit rows written by handlers say
``source="telegram"``.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from app.core import audit
from app.core.config import settings
from app.core.errors import PultError
from app.core.i18n import t
from integrations.telegram import DEFAULT_BASE_URL, TelegramClient, TelegramError

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/api/integrations/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: How long an update_id is remembered to skip Telegram's redeliveries.
DEDUPE_SECONDS = 24 * 3600


# --------------------------------------------------------------------------- the Update, as much as we read of it
class _TgModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TgUser(_TgModel):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: Optional[str] = None
    username: Optional[str] = None
    language_code: Optional[str] = None


class TgChat(_TgModel):
    id: int
    type: str = "private"
    title: Optional[str] = None
    username: Optional[str] = None
    first_name: Optional[str] = None


class TgMessage(_TgModel):
    message_id: int
    date: int = 0
    chat: TgChat
    from_user: Optional[TgUser] = Field(default=None, alias="from")
    text: Optional[str] = None
    reply_markup: Optional[dict[str, Any]] = None


class CallbackQuery(_TgModel):
    id: str
    from_user: TgUser = Field(alias="from")
    message: Optional[TgMessage] = None
    inline_message_id: Optional[str] = None
    chat_instance: str = ""
    data: Optional[str] = None


class Update(_TgModel):
    update_id: int
    message: Optional[TgMessage] = None
    edited_message: Optional[TgMessage] = None
    callback_query: Optional[CallbackQuery] = None


# --------------------------------------------------------------------------- handlers
@dataclass
class CallbackAnswer:
    """What the user sees after pressing: a toast (``show_alert=False``) or an alert box."""

    text: Optional[str] = None
    show_alert: bool = False


@dataclass
class CallbackContext:
    """One button press, as a handler gets it."""

    update: Update
    query: CallbackQuery
    #: The registered prefix that matched.
    prefix: str
    #: The bot to call back (None when no bot token is configured).
    bot: Optional[TelegramClient]
    answered: bool = field(default=False, init=False)

    @property
    def data(self) -> str:
        return self.query.data or ""

    @property
    def payload(self) -> str:
        """``callback_data`` without the prefix: ``"ok:7"`` for ``"login:ok:7"`` under ``"login:"``."""
        return self.data[len(self.prefix):]

    @property
    def user(self) -> TgUser:
        """Who pressed. Link accounts by ``user.id`` (never by username: it can change)."""
        return self.query.from_user

    @property
    def lang(self) -> str:
        return "en" if (self.user.language_code or "").lower().startswith("en") else "ru"

    @property
    def chat_id(self) -> Optional[int]:
        return self.query.message.chat.id if self.query.message else None

    @property
    def message_id(self) -> Optional[int]:
        return self.query.message.message_id if self.query.message else None

    def edit_text(self, text: str, reply_markup: Optional[dict[str, Any]] = None, parse_mode: Optional[str] = None) -> None:
        """Replace the pressed message's text (its buttons go unless ``reply_markup`` is given)."""
        if self.bot is None or self.chat_id is None or self.message_id is None:
            raise RuntimeError("cannot edit the message: no bot configured or no message in the callback")
        self.bot.edit_message_text(self.chat_id, self.message_id, text, parse_mode=parse_mode, reply_markup=reply_markup)

    def answer(self, text: Optional[str] = None, show_alert: bool = False) -> None:
        """Answer now (otherwise the handler's return value is the answer)."""
        _answer(self.bot, self.query.id, CallbackAnswer(text, show_alert))
        self.answered = True


HandlerResult = Union[str, CallbackAnswer, None]
CallbackHandler = Callable[[CallbackContext], HandlerResult]

_HANDLERS: dict[str, CallbackHandler] = {}
_HANDLERS_LOCK = threading.Lock()


def on_callback(prefix: str) -> Callable[[CallbackHandler], CallbackHandler]:
    """Register the decorated function for button presses whose ``callback_data`` starts with ``prefix``."""
    if not prefix:
        raise ValueError("on_callback needs a non-empty prefix")

    def register(fn: CallbackHandler) -> CallbackHandler:
        with _HANDLERS_LOCK:
            existing = _HANDLERS.get(prefix)
            if existing is not None and _name(existing) != _name(fn):  # the same function re-imported is fine
                raise ValueError(f"a Telegram callback handler for prefix {prefix!r} is already registered: {_name(existing)}")
            _HANDLERS[prefix] = fn
        return fn

    return register


def _name(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def remove_callback(prefix: str) -> None:
    """Unregister the handler of ``prefix`` (tests, reloading)."""
    with _HANDLERS_LOCK:
        _HANDLERS.pop(prefix, None)


def find_handler(data: str) -> tuple[str, CallbackHandler] | None:
    """The handler whose prefix is the longest one ``data`` starts with."""
    with _HANDLERS_LOCK:
        matches = [(p, fn) for p, fn in _HANDLERS.items() if data.startswith(p)]
    return max(matches, key=lambda m: len(m[0])) if matches else None


def _answer(bot: Optional[TelegramClient], query_id: str, answer: CallbackAnswer) -> None:
    if bot is None:
        log.warning("telegram: cannot answer callback query: PULT_TELEGRAM_BOT_TOKEN is not set")
        return
    try:
        bot.answer_callback_query(query_id, text=answer.text, show_alert=answer.show_alert)
    except TelegramError as e:  # e.g. the query is too old: nothing left to do
        log.warning("telegram: answerCallbackQuery failed: %s", e)


def handle_callback(update: Update, bot: Optional[TelegramClient]) -> Optional[CallbackAnswer]:
    """Run the handler for a ``callback_query`` update and answer the query. Returns the answer sent."""
    query = update.callback_query
    if query is None:
        return None
    found = find_handler(query.data or "")
    if found is None:
        log.info("telegram: no handler for callback data %r", query.data)
        answer = CallbackAnswer()
        _answer(bot, query.id, answer)
        return answer
    prefix, fn = found
    ctx = CallbackContext(update=update, query=query, prefix=prefix, bot=bot)
    try:
        with audit.source("telegram"):
            result = fn(ctx)
        answer = result if isinstance(result, CallbackAnswer) else CallbackAnswer(text=result)
    except PultError as e:
        answer = CallbackAnswer(text=e.message(ctx.lang), show_alert=True)
    except Exception:
        log.exception("telegram: callback handler %s failed for data %r", getattr(fn, "__qualname__", fn), query.data)
        answer = CallbackAnswer(text=t("error.generic", ctx.lang), show_alert=True)
    if not ctx.answered:
        _answer(bot, query.id, answer)
    return answer


def process_update(update: Update, bot: Optional[TelegramClient]) -> None:
    """Dispatch one update. Only button presses are handled for now; other kinds are ignored."""
    if update.callback_query is not None:
        handle_callback(update, bot)


# --------------------------------------------------------------------------- the endpoint
_default_bots: dict[tuple[str, str], TelegramClient] = {}


def default_bot() -> Optional[TelegramClient]:
    """The bot configured by ``PULT_TELEGRAM_BOT_TOKEN`` / ``PULT_TELEGRAM_API_URL`` (None without a token)."""
    token = settings.telegram_bot_token
    if not token:
        return None
    key = (token, settings.telegram_api_url or DEFAULT_BASE_URL)
    if key not in _default_bots:
        # Answer within Telegram's patience: a long rate-limit wait is not worth holding the request.
        _default_bots[key] = TelegramClient(token, base_url=key[1], max_retry_wait=5, timeout=10)
    return _default_bots[key]


def _first_delivery(update_id: int) -> bool:
    """False when this update_id was already processed (Telegram redelivers after a slow answer)."""
    try:
        from app.core.redis import redis_client

        return bool(redis_client().set(f"pult:telegram:update:{update_id}", "1", nx=True, ex=DEDUPE_SECONDS))
    except Exception as e:  # Redis down: better twice than never
        log.warning("telegram: cannot check update %s for redelivery: %s", update_id, e)
        return True


def secret_matches(given: Optional[str], expected: str) -> bool:
    """Constant-time comparison; an empty expected secret matches nothing."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def telegram_router(
    secret: Optional[str] = None,
    bot: Union[TelegramClient, Callable[[], Optional[TelegramClient]], None] = None,
) -> APIRouter:
    """The webhook route. ``secret`` defaults to ``PULT_TELEGRAM_WEBHOOK_SECRET`` (read per request),
    ``bot`` (a client, or a function returning one) to :func:`default_bot`."""
    router = APIRouter(tags=["integrations"])
    warned: list[bool] = []

    def current_bot() -> Optional[TelegramClient]:
        if bot is None:
            return default_bot()
        return bot if isinstance(bot, TelegramClient) else bot()

    @router.post(
        WEBHOOK_PATH,
        summary="Telegram Bot API webhook",
        description=f"Called by Telegram with an Update. Requires the `{SECRET_HEADER}` header set by setWebhook.",
        responses={401: {"description": "Missing or wrong secret token"}, 400: {"description": "Not a Telegram Update"}},
    )
    async def telegram_webhook(request: Request) -> JSONResponse:
        expected = settings.telegram_webhook_secret if secret is None else secret
        if not secret_matches(request.headers.get(SECRET_HEADER), expected):
            if not expected and not warned:
                warned.append(True)
                log.warning("telegram: webhook calls are refused: PULT_TELEGRAM_WEBHOOK_SECRET is not set")
            return JSONResponse({"detail": "unauthorized"}, status_code=401)
        try:
            update = Update.model_validate_json(await request.body())
        except ValidationError:
            return JSONResponse({"detail": "not a Telegram Update"}, status_code=400)
        if await run_in_threadpool(_first_delivery, update.update_id):
            await run_in_threadpool(process_update, update, current_bot())
        return JSONResponse({"ok": True})

    return router


__all__ = [
    "WEBHOOK_PATH",
    "SECRET_HEADER",
    "Update",
    "CallbackQuery",
    "TgUser",
    "TgChat",
    "TgMessage",
    "CallbackAnswer",
    "CallbackContext",
    "on_callback",
    "remove_callback",
    "find_handler",
    "handle_callback",
    "process_update",
    "default_bot",
    "secret_matches",
    "telegram_router",
]
