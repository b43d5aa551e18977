"""Updates from the Telegram bot, and the registry of handlers panels hang on them.

Whichever way updates arrive — the webhook (``app.panels.telegram.webhook``) or long polling
(``app.panels.telegram.poller``) — each goes through :func:`dispatch`, once. Panels register what
they answer::

    from app.panels.telegram.updates import on_callback, on_command, on_message

    @on_command("start")                       # "/start", "/start@pult_bot", "/start CODE"
    def start(ctx):                            # ctx: MessageContext
        ctx.reply(f"Ваш chat ID: {ctx.chat_id}")

    @on_callback("login:", expect_chat=lambda ctx: chat_of_attempt(ctx.payload))
    def approve(ctx):                          # ctx: CallbackContext; ctx.payload == "ok:7" for "login:ok:7"
        ctx.edit_text("Вход подтверждён")      # replace the message (and drop its buttons)
        return "Готово"                        # toast text, CallbackAnswer(text, show_alert=True) or None

    @on_message(lambda ctx: ctx.text.isdigit())   # plain messages (not commands) the filter accepts
    def code(ctx): ...

* **Button presses** go to the handler of the longest registered prefix of ``callback_data`` and
  are always answered (``answerCallbackQuery``: the user's spinner stops), with the handler's
  return value, or a short error when it raised. With ``expect_chat`` the press must come from the
  chat (and, for a private chat, the user) the function names, otherwise the handler does not run
  and the user reads "this button is not for you".
* **Commands** (``/name``) go to their one handler; **plain messages** to every ``on_message``
  handler whose filter accepts them. A handler that raises is logged; a :class:`PultError`'s
  message is shown to the user in their Telegram language.
* **Exactly once.** An update is claimed in Redis by bot and ``update_id`` before it runs and
  marked done after; a redelivery (Telegram re-sends what it thinks was lost, a poller restarts
  before confirming) is skipped. One still running elsewhere answers :data:`BUSY` and is offered
  again later. A process killed in the middle of a handler leaves its claim behind: the poller
  that takes over re-runs that update at once (the dead one lost the poller lock), otherwise the
  claim expires after :data:`CLAIM_SECONDS`. Such an update runs again rather than never, so a
  handler that changes data should be idempotent (approve a login attempt only while it is pending).

Registration order does not matter; registering a second handler for the same prefix or command
fails at import, except over a kit default (``default=True``), which a panel's handler replaces.
Audit rows written by handlers say ``source="telegram"``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core import audit
from app.core.errors import PultError
from app.core.i18n import t
from integrations.telegram import TelegramClient, TelegramError

log = logging.getLogger(__name__)

#: Update kinds Pult asks for (``allowed_updates`` of setWebhook and getUpdates).
ALLOWED_UPDATES = ("message", "callback_query")
#: How long a running update's claim holds off redeliveries.
CLAIM_SECONDS = 120
#: How long a processed update_id is remembered (Telegram keeps updates at most 24 hours).
DONE_SECONDS = 24 * 3600

DONE, DUPLICATE, BUSY, IGNORED = "done", "duplicate", "busy", "ignored"


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
    entities: Optional[list[dict[str, Any]]] = None
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


# --------------------------------------------------------------------------- what handlers get
@dataclass
class CallbackAnswer:
    """What the user sees after pressing: a toast (``show_alert=False``) or an alert box."""

    text: Optional[str] = None
    show_alert: bool = False


@dataclass
class UpdateContext:
    """One update, as a handler gets it."""

    update: Update
    #: The bot to call back (None when no bot token is configured).
    bot: Optional[TelegramClient]
    #: How the update came: ``"webhook"`` or ``"polling"``.
    source: str = "webhook"

    @property
    def user(self) -> Optional[TgUser]:
        """Who wrote or pressed. Link accounts by ``user.id`` (never by username: it can change)."""
        raise NotImplementedError

    @property
    def chat_id(self) -> Optional[int]:
        raise NotImplementedError

    @property
    def lang(self) -> str:
        code = (self.user.language_code if self.user else None) or ""
        return "en" if code.lower().startswith("en") else "ru"

    def reply(self, text: str, reply_markup: Optional[dict[str, Any]] = None, parse_mode: Optional[str] = None) -> dict[str, Any]:
        """Send a message to the chat the update came from."""
        if self.bot is None or self.chat_id is None:
            raise RuntimeError("cannot reply: no bot configured or no chat in the update")
        return self.bot.send_message(self.chat_id, text, parse_mode=parse_mode, reply_markup=reply_markup)


@dataclass
class MessageContext(UpdateContext):
    """A message written to the bot. ``command``/``args`` are set for ``/name args``."""

    message: TgMessage = field(default=None)  # type: ignore[assignment]
    command: Optional[str] = None
    args: str = ""

    @property
    def user(self) -> Optional[TgUser]:
        return self.message.from_user

    @property
    def chat_id(self) -> Optional[int]:
        return self.message.chat.id

    @property
    def text(self) -> str:
        return self.message.text or ""


@dataclass
class CallbackContext(UpdateContext):
    """One button press."""

    query: CallbackQuery = field(default=None)  # type: ignore[assignment]
    #: The registered prefix that matched.
    prefix: str = ""
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
        return self.query.from_user

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
MessageHandler = Callable[[MessageContext], Any]
#: Names the chat a press must come from: a chat id, several, or None (nobody).
ChatRule = Callable[[CallbackContext], Union[int, str, Iterable[Union[int, str]], None]]


@dataclass
class _Callback:
    fn: CallbackHandler
    expect_chat: Optional[ChatRule] = None
    default: bool = False


@dataclass
class _Command:
    fn: MessageHandler
    default: bool = False


# --------------------------------------------------------------------------- the registry
_CALLBACKS: dict[str, _Callback] = {}
_COMMANDS: dict[str, _Command] = {}
_MESSAGES: dict[str, tuple[MessageHandler, Optional[Callable[[MessageContext], bool]]]] = {}
_LOCK = threading.Lock()


def _name(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _put(table: dict, key: str, entry: Any, what: str) -> None:
    existing = table.get(key)
    if existing is not None and _name(existing.fn) != _name(entry.fn):  # the same function re-imported is fine
        if entry.default:
            return  # a kit default never replaces a panel's handler
        if not existing.default:
            raise ValueError(f"a Telegram {what} handler for {key!r} is already registered: {_name(existing.fn)}")
    table[key] = entry


def on_callback(prefix: str, *, expect_chat: Optional[ChatRule] = None, default: bool = False) -> Callable[[CallbackHandler], CallbackHandler]:
    """Register the decorated function for button presses whose ``callback_data`` starts with ``prefix``.

    ``expect_chat(ctx)`` returns the chat id(s) the press must come from; the handler then runs only
    for presses in that chat (and, for a private chat, by that user)."""
    if not prefix:
        raise ValueError("on_callback needs a non-empty prefix")

    def register(fn: CallbackHandler) -> CallbackHandler:
        with _LOCK:
            _put(_CALLBACKS, prefix, _Callback(fn, expect_chat, default), "callback")
        return fn

    return register


def on_command(name: str, *, default: bool = False) -> Callable[[MessageHandler], MessageHandler]:
    """Register the decorated function for ``/name`` messages (``ctx.args`` holds what follows)."""
    name = name.lstrip("/").lower()
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"a Telegram command is 1-32 of a-z, 0-9 and _: {name!r}")

    def register(fn: MessageHandler) -> MessageHandler:
        with _LOCK:
            _put(_COMMANDS, name, _Command(fn, default), "command")
        return fn

    return register


def on_message(accepts: Optional[Callable[[MessageContext], bool]] = None) -> Callable[[MessageHandler], MessageHandler]:
    """Register the decorated function for plain messages (not commands) that ``accepts(ctx)``."""

    def register(fn: MessageHandler) -> MessageHandler:
        with _LOCK:
            _MESSAGES[_name(fn)] = (fn, accepts)
        return fn

    return register


def remove_callback(prefix: str) -> None:
    """Unregister the handler of ``prefix`` (tests, reloading)."""
    with _LOCK:
        _CALLBACKS.pop(prefix, None)


def remove_command(name: str) -> None:
    with _LOCK:
        _COMMANDS.pop(name.lstrip("/").lower(), None)


def remove_message_handler(fn: MessageHandler) -> None:
    with _LOCK:
        _MESSAGES.pop(_name(fn), None)


def find_handler(data: str) -> tuple[str, CallbackHandler] | None:
    """The handler whose prefix is the longest one ``data`` starts with."""
    found = _find_callback(data)
    return (found[0], found[1].fn) if found else None


def _find_callback(data: str) -> tuple[str, _Callback] | None:
    with _LOCK:
        matches = [(p, entry) for p, entry in _CALLBACKS.items() if data.startswith(p)]
    return max(matches, key=lambda m: len(m[0])) if matches else None


# --------------------------------------------------------------------------- running handlers
def _answer(bot: Optional[TelegramClient], query_id: str, answer: CallbackAnswer) -> None:
    if bot is None:
        log.warning("telegram: cannot answer callback query: no bot token is configured")
        return
    try:
        bot.answer_callback_query(query_id, text=answer.text, show_alert=answer.show_alert)
    except TelegramError as e:  # e.g. the query is too old: nothing left to do
        log.warning("telegram: answerCallbackQuery failed: %s", e)


def _chat_allowed(ctx: CallbackContext, rule: ChatRule) -> bool:
    expected = rule(ctx)
    if expected is None:
        return False
    allowed = {str(expected)} if isinstance(expected, (int, str)) else {str(c) for c in expected}
    if ctx.chat_id is None or str(ctx.chat_id) not in allowed:
        return False
    # In a private chat the chat id is the user's id: only that user can have pressed.
    return ctx.chat_id < 0 or str(ctx.user.id) == str(ctx.chat_id)


def handle_callback(update: Update, bot: Optional[TelegramClient], source: str = "webhook") -> Optional[CallbackAnswer]:
    """Run the handler for a ``callback_query`` update and answer the query. Returns the answer sent."""
    query = update.callback_query
    if query is None:
        return None
    found = _find_callback(query.data or "")
    if found is None:
        log.info("telegram: no handler for callback data %r", query.data)
        answer = CallbackAnswer()
        _answer(bot, query.id, answer)
        return answer
    prefix, entry = found
    ctx = CallbackContext(update=update, bot=bot, source=source, query=query, prefix=prefix)
    try:
        with audit.source("telegram"):
            if entry.expect_chat is not None and not _chat_allowed(ctx, entry.expect_chat):
                log.warning("telegram: press of %r by user %s in chat %s refused: not the expected chat", query.data, ctx.user.id, ctx.chat_id)
                answer = CallbackAnswer(text=t("telegram.wrong_chat", ctx.lang), show_alert=True)
            else:
                result = entry.fn(ctx)
                answer = result if isinstance(result, CallbackAnswer) else CallbackAnswer(text=result)
    except PultError as e:
        answer = CallbackAnswer(text=e.message(ctx.lang), show_alert=True)
    except Exception:
        log.exception("telegram: callback handler %s failed for data %r", _name(entry.fn), query.data)
        answer = CallbackAnswer(text=t("error.generic", ctx.lang), show_alert=True)
    if not ctx.answered:
        _answer(bot, query.id, answer)
    return answer


def _parse_command(text: str) -> tuple[Optional[str], str]:
    """``"/start@pult_bot CODE"`` → ``("start", "CODE")``; a plain text → ``(None, text)``."""
    if not text.startswith("/"):
        return None, text
    head, _, rest = text.partition(" ")
    return head[1:].partition("@")[0].lower(), rest.strip()


def handle_message(update: Update, bot: Optional[TelegramClient], source: str = "webhook") -> int:
    """Run the command's handler or the accepting message handlers; returns how many ran."""
    message = update.message
    if message is None or message.text is None:
        return 0
    command, args = _parse_command(message.text)
    ctx = MessageContext(update=update, bot=bot, source=source, message=message, command=command, args=args if command else "")
    with _LOCK:
        if command is not None:
            entry = _COMMANDS.get(command)
            handlers = [entry.fn] if entry else []
        else:
            handlers = [fn for fn, accepts in _MESSAGES.values() if accepts is None or _accepts(accepts, ctx)]
    for fn in handlers:
        try:
            with audit.source("telegram"):
                fn(ctx)
        except PultError as e:
            _safe_reply(ctx, e.message(ctx.lang))
        except Exception:
            log.exception("telegram: message handler %s failed", _name(fn))
            _safe_reply(ctx, t("error.generic", ctx.lang))
    return len(handlers)


def _accepts(accepts: Callable[[MessageContext], bool], ctx: MessageContext) -> bool:
    try:
        return bool(accepts(ctx))
    except Exception:
        log.exception("telegram: message filter %s failed", _name(accepts))
        return False


def _safe_reply(ctx: MessageContext, text: str) -> None:
    try:
        ctx.reply(text)
    except Exception as e:  # noqa: BLE001 - the user just gets no error message
        log.warning("telegram: could not tell the user about a failed handler: %s", e)


def process_update(update: Update, bot: Optional[TelegramClient], source: str = "webhook") -> None:
    """Run the handlers for one update, without the exactly-once bookkeeping (see :func:`dispatch`)."""
    if update.callback_query is not None:
        handle_callback(update, bot, source)
    elif update.message is not None:
        handle_message(update, bot, source)


# --------------------------------------------------------------------------- exactly once
def _claim_key(bot: Optional[TelegramClient], update_id: int) -> str:
    return f"pult:telegram:update:{(bot.bot_id if bot else None) or 0}:{update_id}"


# Replace a claim only if it still is the one we judged stale.
_TAKE_OVER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3]) else return nil end"


def _claim(key: str, owner: str, may_take_over: Optional[Callable[[str], bool]]) -> str:
    """``"claimed"``, or the state another process left: ``"done"`` / ``"running"``.

    ``may_take_over(other_owner)`` says whether a running claim is known to be abandoned."""
    try:
        from app.core.redis import redis_client

        r = redis_client()
        mine = f"running:{owner}"
        if r.set(key, mine, nx=True, ex=CLAIM_SECONDS):
            return "claimed"
        current = r.get(key)
        if current is None or current == mine:  # expired in between, or our own earlier try
            return "claimed"
        if current == "done":
            return "done"
        other = current.removeprefix("running:")
        if may_take_over is not None and may_take_over(other) and r.eval(_TAKE_OVER, 1, key, current, mine, CLAIM_SECONDS):
            log.warning("telegram: running %s again: %s died in its handler", key, other)
            return "claimed"
        return "running"
    except Exception as e:  # Redis down: better twice than never
        log.warning("telegram: cannot claim update %s: %s", key, e)
        return "claimed"


def _mark_done(key: str) -> None:
    try:
        from app.core.redis import redis_client

        redis_client().set(key, "done", ex=DONE_SECONDS)
    except Exception as e:
        log.warning("telegram: cannot mark update %s done: %s", key, e)


def dispatch(
    raw: Union[Update, dict[str, Any], bytes, str],
    bot: Optional[TelegramClient],
    source: str = "webhook",
    *,
    owner: Optional[str] = None,
    may_take_over: Optional[Callable[[str], bool]] = None,
) -> str:
    """Run one update's handlers once per bot and ``update_id``.

    ``owner`` names the claim (default: source, host and pid); ``may_take_over(other_owner)``
    lets a caller that knows a claimant is gone (the poller holding the lock) run its update.
    Returns :data:`DONE` (ran now), :data:`DUPLICATE` (ran before), :data:`BUSY` (running
    elsewhere right now: offer it again later) or :data:`IGNORED` (not an Update)."""
    try:
        if isinstance(raw, Update):
            update = raw
        elif isinstance(raw, (bytes, str)):
            update = Update.model_validate_json(raw)
        else:
            update = Update.model_validate(raw)
    except ValidationError:
        log.warning("telegram: ignoring something that is not an Update")
        return IGNORED
    key = _claim_key(bot, update.update_id)
    state = _claim(key, owner or f"{source}:{socket.gethostname()}:{os.getpid()}", may_take_over)
    if state == "done":
        return DUPLICATE
    if state == "running":
        return BUSY
    try:
        process_update(update, bot, source)
    finally:
        _mark_done(key)
    return DONE


__all__ = [
    "ALLOWED_UPDATES",
    "DONE",
    "DUPLICATE",
    "BUSY",
    "IGNORED",
    "Update",
    "CallbackQuery",
    "TgUser",
    "TgChat",
    "TgMessage",
    "CallbackAnswer",
    "UpdateContext",
    "MessageContext",
    "CallbackContext",
    "on_callback",
    "on_command",
    "on_message",
    "remove_callback",
    "remove_command",
    "remove_message_handler",
    "find_handler",
    "handle_callback",
    "handle_message",
    "process_update",
    "dispatch",
]
