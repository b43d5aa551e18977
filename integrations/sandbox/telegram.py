"""A local Telegram Bot API server for tests and development.

It speaks the Bot API's HTTP protocol (https://core.telegram.org/bots/api): ``GET`` or ``POST
/bot{token}/{method}`` with query, JSON, form-encoded or multipart parameters, answered by
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": "..."}`` with
the same HTTP status and the descriptions the real server uses. Implemented methods: getMe,
sendMessage, editMessageText, answerCallbackQuery, getUpdates, setWebhook, deleteWebhook,
getWebhookInfo; any other method answers 404 like an unknown one.

In tests::

    sandbox = start_sandbox()                       # own thread, free port
    sandbox.add_bot("123456:TEST", "pult_bot")
    sandbox.add_chat(42)
    client = TelegramClient("123456:TEST", base_url=sandbox.url)
    msg = client.send_message(42, "Approve?", reply_markup=inline_keyboard([[("Yes", "ok:1")]]))
    sandbox.sent(42)                                # every message the bots sent to chat 42
    sandbox.press_button(42, msg["message_id"], "ok:1", from_user=42)   # → callback_query update
    sandbox.force_error("sendMessage", times=2, error_code=429, retry_after=1)
    sandbox.stop()

A button press (or a message a user writes, :meth:`TelegramSandbox.user_message`) becomes an
update: queued for ``getUpdates`` (offset semantics as documented: the updates with ``update_id <
offset`` are confirmed and dropped; ``timeout`` long-polls, capped at ``max_poll_timeout``; a second
getUpdates while one waits ends the first with 409 "terminated by other getUpdates request", and
any getUpdates answers 409 while a webhook is set), or, once ``setWebhook`` was called, POSTed at
once (from the calling thread) to the webhook URL with ``X-Telegram-Bot-Api-Secret-Token``. An
update the webhook does not accept with a 2xx stays pending (``getWebhookInfo`` shows the error)
and is POSTed again, as Telegram does, after ``webhook_retry_delay`` seconds, doubling up to
``webhook_retry_max_delay``, until accepted or the webhook is deleted (or at once by
:meth:`TelegramSandbox.deliver_webhook_updates`).

Standalone (for the app run by hand or by browser tests in another process)::

    python -m integrations.sandbox.telegram --port 8081 --bot 123456:TEST=pult_bot --chat 42

which also serves a small control API under ``/sandbox/`` (add bots and chats, list sent
messages, press buttons, force errors; see :func:`control_routes`).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import copy
import itertools
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations.sandbox.server import ServedApp, serve

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
PARSE_MODES = {"html", "markdown", "markdownv2"}
#: Update types a bot gets when ``allowed_updates`` is unset or empty (the documented default).
NOT_BY_DEFAULT = {"chat_member", "message_reaction", "message_reaction_count"}
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]*$")
_INT_RE = re.compile(r"^-?\d+$")
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay",
)

CONFLICT_WEBHOOK = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
CONFLICT_TERMINATED = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """An ``ok: false`` answer: HTTP status = ``error_code``."""

    def __init__(self, error_code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class _Ok:
    result: Any
    description: str | None = None


@dataclass
class _Bot:
    token: str
    user: dict[str, Any]
    next_update_id: int
    queue: list[dict[str, Any]] = field(default_factory=list)
    webhook_url: str = ""
    webhook_secret: str | None = None
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    open_queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    delivery_lock: threading.Lock = field(default_factory=threading.Lock)
    #: Bumped by every getUpdates: a waiting call that sees another number was superseded (409).
    poll_generation: int = 0
    #: Failed webhook deliveries in a row, and the timer of the next try.
    failures: int = 0
    retry_timer: threading.Timer | None = None


@dataclass
class _Stored:
    bot_token: str
    message: dict[str, Any]


def _now() -> int:
    return int(time.time())


def _type_of(update: dict[str, Any]) -> str:
    return next(k for k in update if k != "update_id")


class TelegramSandbox:
    """The fake Bot API: state, test hooks and the Starlette app (``.app``). Thread-safe."""

    def __init__(
        self,
        *,
        require_https: bool = False,
        max_poll_timeout: float = 5.0,
        webhook_timeout: float = 10.0,
        webhook_retry_delay: float = 0.5,
        webhook_retry_max_delay: float = 5.0,
    ) -> None:
        #: The real server wants an HTTPS webhook; local receivers are plain HTTP, so off by default.
        self.require_https = require_https
        #: Longest a ``getUpdates`` long poll waits here, whatever ``timeout`` asks.
        self.max_poll_timeout = max_poll_timeout
        self.webhook_timeout = webhook_timeout
        #: First pause before re-POSTing a refused update; doubled per failure up to the max.
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_retry_max_delay = webhook_retry_max_delay
        self._lock = threading.RLock()
        self._closing = False
        self._http = httpx.Client(timeout=webhook_timeout)  # webhook deliveries
        self._ids = itertools.count(1)
        self._methods: dict[str, tuple[str, Callable[..., Any]]] = {
            name.lower(): (name, fn)
            for name, fn in {
                "getMe": self._get_me,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "answerCallbackQuery": self._answer_callback_query,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
            }.items()
        }
        self.reset()
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                *control_routes(self),
                Route("/{path:path}", self._not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            ]
        )

    # ------------------------------------------------------------------ test hooks
    def reset(self) -> None:
        """Forget every bot, chat, message, update, answer, forced error and call."""
        with self._lock:
            for bot in getattr(self, "_bots", {}).values():
                self._cancel_retry(bot)
            self._bots: dict[str, _Bot] = {}
            self._chats: dict[int, dict[str, Any]] = {}
            self._blocked: set[int] = set()
            self._messages: dict[int, list[_Stored]] = {}
            self._next_message_id: dict[int, int] = {}
            self._forced: dict[str, deque[ApiError]] = {}
            self._answers: list[dict[str, Any]] = []
            self._calls: list[dict[str, Any]] = []
            self._deliveries: list[dict[str, Any]] = []

    def add_bot(self, token: str, username: str, first_name: str | None = None) -> dict[str, Any]:
        """Register a bot; calls with any other token answer 401. Returns its ``User``."""
        head = token.partition(":")[0]
        bot_id = int(head) if head.isdigit() else 10_000_000 + next(self._ids)
        user = {"id": bot_id, "is_bot": True, "first_name": first_name or username, "username": username}
        with self._lock:
            self._bots[token] = _Bot(token=token, user=user, next_update_id=random.randint(100_000, 900_000))
        return dict(user)

    def add_chat(
        self,
        chat_id: int,
        type: str = "private",
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        blocked: bool = False,
    ) -> dict[str, Any]:
        """Make a chat known to the bots (a user who pressed Start, or a group they are in).

        ``blocked=True``: the user blocked the bots; sending answers 403 as the real server does.
        """
        chat: dict[str, Any] = {"id": int(chat_id), "type": type}
        if type == "private":
            chat["first_name"] = first_name or f"User {chat_id}"
        else:
            chat["title"] = title or f"Chat {chat_id}"
        if username:
            chat["username"] = username
        with self._lock:
            self._chats[int(chat_id)] = chat
            self._messages.setdefault(int(chat_id), [])
            (self._blocked.add if blocked else self._blocked.discard)(int(chat_id))
        return dict(chat)

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message the bots sent to ``chat_id``, oldest first, as they are now (after edits)."""
        with self._lock:
            return [copy.deepcopy(s.message) for s in self._messages.get(int(chat_id), [])]

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Every API call received (``method``, ``http_method``, ``params``, ``status``, ``bot``)."""
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls if method is None or c["method"].lower() == method.lower()]

    def callback_answers(self) -> list[dict[str, Any]]:
        """Every accepted ``answerCallbackQuery`` (``callback_query_id``, ``text``, ``show_alert``, …)."""
        with self._lock:
            return copy.deepcopy(self._answers)

    def pending_updates(self, token: str) -> list[dict[str, Any]]:
        """Updates of the bot not yet confirmed (getUpdates) or accepted (webhook)."""
        with self._lock:
            return copy.deepcopy(self._bot(token).queue)

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every webhook POST tried: ``url``, ``update_id``, ``status`` (None: no answer), ``error``."""
        with self._lock:
            return copy.deepcopy(self._deliveries)

    def force_error(
        self,
        method: str,
        times: int = 1,
        *,
        error_code: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (any bot) fail without doing anything.

        429 answers ``"Too Many Requests: retry after N"`` with ``parameters.retry_after``.
        """
        if error_code == 429:
            wait = 1 if retry_after is None else retry_after
            error = ApiError(429, description or f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        else:
            default = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(error_code, "Error")
            error = ApiError(error_code, description or default, {"retry_after": retry_after} if retry_after else None)
        with self._lock:
            q = self._forced.setdefault(method.lower(), deque())
            q.extend(error for _ in range(times))

    def force_429(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Shorthand for ``force_error(method, times, error_code=429, retry_after=...)``."""
        self.force_error(method, times, error_code=429, retry_after=retry_after)

    def press_button(self, chat_id: int, message_id: int, callback_data: str, from_user: int | dict[str, Any]) -> dict[str, Any]:
        """A user presses an inline button of a sent message: returns the ``callback_query`` update.

        Raises ``ValueError`` if the message does not exist or has no button with that data (a
        real client could not produce such a press).
        """
        with self._lock:
            stored = self._find(int(chat_id), int(message_id))
            if stored is None:
                raise ValueError(f"no message {message_id} in chat {chat_id}")
            buttons = [
                b.get("callback_data")
                for row in (stored.message.get("reply_markup") or {}).get("inline_keyboard", [])
                for b in row
            ]
            if callback_data not in buttons:
                raise ValueError(f"message {message_id} in chat {chat_id} has no button with callback_data {callback_data!r}")
            bot = self._bot(stored.bot_token)
            query_id = str(random.getrandbits(62))
            query = {
                "id": query_id,
                "from": self._user(from_user, int(chat_id)),
                "message": copy.deepcopy(stored.message),
                "chat_instance": str((bot.user["id"] * 1_000_003 + int(chat_id)) % 10**19),
                "data": callback_data,
            }
            bot.open_queries[query_id] = query
            update = self._push(bot, "callback_query", query)
        self.deliver_webhook_updates(bot.token)
        return copy.deepcopy(update)

    def user_message(self, chat_id: int, text: str, from_user: int | dict[str, Any] | None = None, bot_token: str | None = None) -> dict[str, Any]:
        """A user writes ``text`` to a bot (``/start`` …): returns the ``message`` update.

        ``bot_token`` may be left out when only one bot is registered.
        """
        with self._lock:
            if bot_token is None:
                if len(self._bots) != 1:
                    raise ValueError("several bots are registered: name one with bot_token")
                bot_token = next(iter(self._bots))
            bot = self._bot(bot_token)
            chat = self._chats.get(int(chat_id))
            if chat is None:
                raise ValueError(f"unknown chat {chat_id}: add_chat() first")
            message = {
                "message_id": self._take_message_id(int(chat_id)),
                "from": self._user(from_user if from_user is not None else int(chat_id), int(chat_id)),
                "chat": dict(chat),
                "date": _now(),
                "text": text,
            }
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
            update = self._push(bot, "message", message)
        self.deliver_webhook_updates(bot.token)
        return copy.deepcopy(update)

    def deliver_webhook_updates(self, token: str | None = None) -> None:
        """POST every pending update of the bot(s) with a webhook, in order, until one is refused."""
        with self._lock:
            bots = [self._bot(token)] if token else list(self._bots.values())
        for bot in bots:
            self._deliver(bot)

    # ------------------------------------------------------------------ internals
    def _bot(self, token: str) -> _Bot:
        try:
            return self._bots[token]
        except KeyError:
            raise ValueError("unknown bot token") from None

    def _find(self, chat_id: int, message_id: int) -> _Stored | None:
        return next((s for s in self._messages.get(chat_id, []) if s.message["message_id"] == message_id), None)

    def _take_message_id(self, chat_id: int) -> int:
        n = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = n + 1
        return n

    def _user(self, spec: int | dict[str, Any], chat_id: int) -> dict[str, Any]:
        if isinstance(spec, dict):
            if "id" not in spec:
                raise ValueError("from_user needs an id")
            user = {"is_bot": False, "first_name": f"User {spec['id']}", **spec}
            return user
        user = {"id": int(spec), "is_bot": False, "first_name": f"User {spec}"}
        chat = self._chats.get(int(spec))
        if chat and chat["type"] == "private":
            user["first_name"] = chat.get("first_name", user["first_name"])
            if chat.get("username"):
                user["username"] = chat["username"]
        user.setdefault("language_code", "ru")
        return user

    def _allowed(self, bot: _Bot, kind: str) -> bool:
        if not bot.allowed_updates:
            return kind not in NOT_BY_DEFAULT
        return kind in bot.allowed_updates

    def _push(self, bot: _Bot, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": bot.next_update_id, kind: payload}
        bot.next_update_id += 1
        if self._allowed(bot, kind):
            bot.queue.append(update)
        return update

    def _cancel_retry(self, bot: _Bot) -> None:
        if bot.retry_timer is not None:
            bot.retry_timer.cancel()
            bot.retry_timer = None

    def _schedule_retry(self, bot: _Bot) -> None:
        """Try the refused update again later, as Telegram does (called under the lock)."""
        bot.failures += 1
        if self._closing or bot.retry_timer is not None:
            return
        delay = min(self.webhook_retry_max_delay, self.webhook_retry_delay * 2 ** (bot.failures - 1))

        def retry() -> None:
            with self._lock:
                bot.retry_timer = None
            if not self._closing:
                self._deliver(bot)

        bot.retry_timer = threading.Timer(delay, retry)
        bot.retry_timer.daemon = True
        bot.retry_timer.start()

    def _deliver(self, bot: _Bot) -> None:
        with bot.delivery_lock:
            while True:
                with self._lock:
                    if not bot.webhook_url or not bot.queue or self._closing:
                        return
                    update, url, secret = bot.queue[0], bot.webhook_url, bot.webhook_secret
                headers = {"Content-Type": "application/json"}
                if secret:
                    headers[SECRET_HEADER] = secret
                status, error = None, None
                try:
                    r = self._http.post(url, content=json.dumps(update, ensure_ascii=False).encode(), headers=headers)
                    status = r.status_code
                    if not 200 <= status < 300:
                        error = f"Wrong response from the webhook: {status} {r.reason_phrase}"
                except httpx.HTTPError as exc:
                    error = f"Connection failed: {type(exc).__name__}"
                with self._lock:
                    self._deliveries.append({"url": url, "update_id": update["update_id"], "status": status, "error": error})
                    if error:
                        bot.last_error_date, bot.last_error_message = _now(), error
                        if bot.webhook_url == url:
                            self._schedule_retry(bot)
                        return
                    bot.failures = 0
                    if bot.queue and bot.queue[0] is update:
                        bot.queue.pop(0)

    # ------------------------------------------------------------------ HTTP
    async def _not_found(self, request: Request) -> JSONResponse:
        return JSONResponse(ApiError(404, "Not Found").body(), status_code=404)

    async def _endpoint(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        params: dict[str, Any] = {}
        name = method
        bot_name = None
        try:
            with self._lock:
                bot = self._bots.get(token)
            if bot is None:
                raise ApiError(401, "Unauthorized")
            bot_name = bot.user["username"]
            found = self._methods.get(method.lower())
            if found is None:
                raise ApiError(404, "Not Found")
            name, handler = found
            params = await _read_params(request)
            with self._lock:
                forced = self._forced.get(method.lower())
                if forced:
                    raise forced.popleft()
            if inspect.iscoroutinefunction(handler):
                out = await handler(bot, params)
            else:
                with self._lock:
                    out = handler(bot, params)
        except ApiError as e:
            self._record(name, request, params, e.error_code, bot_name)
            return JSONResponse(e.body(), status_code=e.error_code)
        self._record(name, request, params, 200, bot_name)
        ok = out if isinstance(out, _Ok) else _Ok(out)
        body: dict[str, Any] = {"ok": True, "result": ok.result}
        if ok.description:
            body["description"] = ok.description
        return JSONResponse(body)

    def _record(self, method: str, request: Request, params: dict[str, Any], status: int, bot: str | None) -> None:
        with self._lock:
            self._calls.append(
                {"method": method, "http_method": request.method, "params": copy.deepcopy(params), "status": status, "bot": bot, "at": time.time()}
            )

    # ------------------------------------------------------------------ parameters
    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("chat_id")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise _bad("chat_id is empty")
        chat = None
        if isinstance(raw, bool):
            raise _bad("chat not found")
        if isinstance(raw, int) or (isinstance(raw, str) and _INT_RE.match(raw.strip())):
            chat = self._chats.get(int(raw))
        elif isinstance(raw, str) and raw.startswith("@"):
            chat = next((c for c in self._chats.values() if c.get("username", "").lower() == raw[1:].lower()), None)
        if chat is None:
            raise _bad("chat not found")
        return chat

    @staticmethod
    def _text(params: dict[str, Any]) -> str:
        text = params.get("text")
        if text is None or not str(text).strip():
            raise _bad("message text is empty")
        text = str(text)
        if len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        mode = params.get("parse_mode")
        if mode and str(mode).lower() not in PARSE_MODES:
            raise _bad("unsupported parse_mode")
        return text

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        raw = params.get("reply_markup")
        if raw is None or raw == "":
            return None
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise _bad("can't parse reply keyboard markup JSON object") from None
        if not isinstance(raw, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in raw:
            return raw
        rows = raw["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
                if not any(k in button for k in _BUTTON_ACTIONS):
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                        raise _bad("BUTTON_DATA_INVALID")
        rows = [r for r in rows if r]
        return {"inline_keyboard": rows} if rows else None

    @staticmethod
    def _int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        if isinstance(raw, bool):
            return int(raw)
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    @staticmethod
    def _bool(params: dict[str, Any], name: str) -> bool:
        raw = params.get(name)
        if isinstance(raw, str):
            return raw.strip().lower() in ("true", "1", "yes")
        return bool(raw)

    @staticmethod
    def _list(params: dict[str, Any], name: str) -> list[str] | None:
        raw = params.get(name)
        if raw is None or raw == "":
            return None
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise _bad(f"can't parse {name} JSON array") from None
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise _bad(f"can't parse {name} JSON array")
        return raw

    # ------------------------------------------------------------------ methods (run under the lock, except getUpdates)
    def _get_me(self, bot: _Bot, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **bot.user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _send_message(self, bot: _Bot, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        text = self._text(params)
        markup = self._markup(params)
        if chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        message: dict[str, Any] = {
            "message_id": self._take_message_id(chat["id"]),
            "from": dict(bot.user),
            "chat": dict(chat),
            "date": _now(),
            "text": text,
        }
        if markup is not None:
            message["reply_markup"] = markup
        self._messages.setdefault(chat["id"], []).append(_Stored(bot.token, message))
        return copy.deepcopy(message)

    def _edit_message_text(self, bot: _Bot, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("inline_message_id"):
            raise _bad("invalid inline message identifier specified")
        chat = self._chat(params)
        message_id = self._int(params, "message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        stored = self._find(chat["id"], message_id)
        if stored is None:
            raise _bad("message to edit not found")
        if stored.bot_token != bot.token:
            raise _bad("message can't be edited")
        text = self._text(params)
        markup = self._markup(params)
        message = stored.message
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = text
        message["edit_date"] = _now()
        if markup is None:  # editMessageText without reply_markup removes the inline keyboard
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        return copy.deepcopy(message)

    def _answer_callback_query(self, bot: _Bot, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in bot.open_queries:
            raise ApiError(400, QUERY_TOO_OLD)
        bot.open_queries.pop(query_id)
        text = params.get("text")
        self._answers.append(
            {
                "callback_query_id": query_id,
                "text": None if text is None else str(text),
                "show_alert": self._bool(params, "show_alert"),
                "url": params.get("url"),
                "bot": bot.user["username"],
                "at": time.time(),
            }
        )
        return True

    async def _get_updates(self, bot: _Bot, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            if bot.webhook_url:
                raise ApiError(409, CONFLICT_WEBHOOK)
            bot.poll_generation += 1
            mine = bot.poll_generation
            offset = self._int(params, "offset")
            limit = min(100, max(1, self._int(params, "limit", 100) or 100))
            timeout = max(0, self._int(params, "timeout", 0) or 0)
            allowed = self._list(params, "allowed_updates")
            if allowed is not None:
                bot.allowed_updates = allowed
            if offset is not None and offset > 0:
                bot.queue = [u for u in bot.queue if u["update_id"] >= offset]
            elif offset is not None and offset < 0:
                bot.queue = bot.queue[offset:]
        deadline = time.monotonic() + min(float(timeout), self.max_poll_timeout)
        while True:
            with self._lock:
                if bot.webhook_url:
                    raise ApiError(409, CONFLICT_WEBHOOK)
                if bot.poll_generation != mine:
                    raise ApiError(409, CONFLICT_TERMINATED)
                updates = copy.deepcopy(bot.queue[:limit])
            if updates or self._closing or time.monotonic() >= deadline:
                return updates
            await asyncio.sleep(0.02)

    def _set_webhook(self, bot: _Bot, params: dict[str, Any]) -> _Ok:
        url = str(params.get("url") or "").strip()
        drop = self._bool(params, "drop_pending_updates")
        if not url:
            return self._delete_webhook(bot, {"drop_pending_updates": drop})
        scheme = urlsplit(url).scheme.lower()
        if scheme != "https" and (self.require_https or scheme != "http"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        secret = None if secret in (None, "") else str(secret)
        if secret is not None:
            if len(secret) > 256:
                raise _bad("secret token is too long")
            if not _SECRET_RE.match(secret):
                raise _bad("secret token contains unallowed characters")
        allowed = self._list(params, "allowed_updates")
        same = bot.webhook_url == url and bot.webhook_secret == secret
        bot.webhook_url, bot.webhook_secret = url, secret
        if allowed is not None:
            bot.allowed_updates = allowed
        if drop:
            bot.queue.clear()
        bot.last_error_date = bot.last_error_message = None
        bot.failures = 0
        self._cancel_retry(bot)
        if bot.queue:  # deliver what waited, off the server's event loop
            threading.Thread(target=self._deliver, args=(bot,), daemon=True).start()
        return _Ok(True, "Webhook is already set" if same else "Webhook was set")

    def _delete_webhook(self, bot: _Bot, params: dict[str, Any]) -> _Ok:
        had = bool(bot.webhook_url)
        bot.webhook_url, bot.webhook_secret = "", None
        bot.failures = 0
        self._cancel_retry(bot)
        if self._bool(params, "drop_pending_updates"):
            bot.queue.clear()
        return _Ok(True, "Webhook was deleted" if had else "Webhook is already deleted")

    def _get_webhook_info(self, bot: _Bot, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {"url": bot.webhook_url, "has_custom_certificate": False, "pending_update_count": len(bot.queue)}
        if bot.webhook_url:
            info["max_connections"] = 40
            if bot.allowed_updates:
                info["allowed_updates"] = list(bot.allowed_updates)
        if bot.last_error_date:
            info["last_error_date"] = bot.last_error_date
            info["last_error_message"] = bot.last_error_message
        return info


async def _read_params(request: Request) -> dict[str, Any]:
    """Parameters as the Bot API takes them: query string, then a JSON, urlencoded or multipart body."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return params
    ctype = request.headers.get("content-type", "").lower()
    if "application/json" in ctype:
        raw = await request.body()
        if raw.strip():
            try:
                data = json.loads(raw)
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if not isinstance(data, dict):
                raise _bad("can't parse JSON object")
            params.update(data)
    elif "application/x-www-form-urlencoded" in ctype or "multipart/form-data" in ctype:
        form = await request.form()
        params.update({k: v for k, v in form.multi_items() if isinstance(v, str)})
    return params


# --------------------------------------------------------------------------- control API
def control_routes(sandbox: TelegramSandbox) -> list[Route]:
    """``/sandbox/...``: the test hooks over HTTP, for a sandbox running in another process.

    ``POST /sandbox/bots {"token","username"}``, ``POST /sandbox/chats {"chat_id", "type"?, …}``,
    ``GET /sandbox/chats/{chat_id}/messages``, ``POST /sandbox/press {"chat_id","message_id",
    "callback_data","from_user"}``, ``POST /sandbox/user_message {"chat_id","text","from_user"?}``,
    ``POST /sandbox/force_error {"method","times"?,"error_code"?,"retry_after"?}``,
    ``GET /sandbox/answers``, ``GET /sandbox/calls``, ``GET /sandbox/deliveries`` (webhook POSTs
    tried), ``GET /sandbox/pending?token=...``, ``POST /sandbox/reset``.
    """

    def handler(fn: Callable[[dict[str, Any], Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> JSONResponse:
            body = await request.json() if request.method == "POST" and (await request.body()).strip() else {}
            try:
                # In a worker thread: a press may POST to a webhook that calls this server back.
                return JSONResponse({"ok": True, "result": await run_in_threadpool(fn, body, request)})
            except (ValueError, KeyError, TypeError) as e:
                return JSONResponse({"ok": False, "error": str(e)}, status_code=400)

        return endpoint

    return [
        Route("/sandbox/bots", handler(lambda b, r: sandbox.add_bot(b["token"], b["username"], b.get("first_name"))), methods=["POST"]),
        Route(
            "/sandbox/chats",
            handler(lambda b, r: sandbox.add_chat(int(b["chat_id"]), b.get("type", "private"), title=b.get("title"),
                                                  username=b.get("username"), first_name=b.get("first_name"),
                                                  blocked=bool(b.get("blocked")))),
            methods=["POST"],
        ),
        Route("/sandbox/chats/{chat_id}/messages", handler(lambda b, r: sandbox.sent(int(r.path_params["chat_id"]))), methods=["GET"]),
        Route(
            "/sandbox/press",
            handler(lambda b, r: sandbox.press_button(int(b["chat_id"]), int(b["message_id"]), b["callback_data"], b["from_user"])),
            methods=["POST"],
        ),
        Route(
            "/sandbox/user_message",
            handler(lambda b, r: sandbox.user_message(int(b["chat_id"]), b["text"], b.get("from_user"), b.get("bot_token"))),
            methods=["POST"],
        ),
        Route(
            "/sandbox/force_error",
            handler(lambda b, r: sandbox.force_error(b["method"], int(b.get("times", 1)), error_code=int(b.get("error_code", 429)),
                                                     retry_after=b.get("retry_after"), description=b.get("description"))),
            methods=["POST"],
        ),
        Route("/sandbox/answers", handler(lambda b, r: sandbox.callback_answers()), methods=["GET"]),
        Route("/sandbox/deliveries", handler(lambda b, r: sandbox.webhook_deliveries()), methods=["GET"]),
        Route("/sandbox/pending", handler(lambda b, r: sandbox.pending_updates(r.query_params["token"])), methods=["GET"]),
        Route("/sandbox/calls", handler(lambda b, r: sandbox.calls(r.query_params.get("method"))), methods=["GET"]),
        Route("/sandbox/reset", handler(lambda b, r: sandbox.reset()), methods=["POST"]),
    ]


# --------------------------------------------------------------------------- running it
class SandboxHandle(TelegramSandbox):
    """A sandbox being served: every hook of :class:`TelegramSandbox`, plus ``url`` and :meth:`stop`."""

    url: str
    _served: ServedApp | None = None

    def stop(self) -> None:
        self._closing = True  # ends long polls and webhook retries at once
        with self._lock:
            for bot in self._bots.values():
                self._cancel_retry(bot)
        if self._served is not None:
            self._served.stop()
            self._served = None
        self._http.close()

    def __enter__(self) -> "SandboxHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(host: str = "127.0.0.1", port: int = 0, **options: Any) -> SandboxHandle:
    """Serve a new sandbox on ``host:port`` (0: a free port) in a background thread.

    ``options`` go to :class:`TelegramSandbox` (``require_https``, ``max_poll_timeout``,
    ``webhook_timeout``, ``webhook_retry_delay``, ``webhook_retry_max_delay``).
    """
    handle = SandboxHandle(**options)
    handle._served = serve(handle.app, host, port, name="telegram-sandbox")
    handle.url = handle._served.url
    return handle


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    ap = argparse.ArgumentParser(prog="python -m integrations.sandbox.telegram", description="Local Telegram Bot API sandbox")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--bot", action="append", default=[], metavar="TOKEN=USERNAME",
                    help="register a bot (repeatable); default 123456789:sandbox-token=pult_sandbox_bot")
    ap.add_argument("--chat", action="append", type=int, default=[], metavar="CHAT_ID", help="a known private chat (repeatable)")
    ap.add_argument("--require-https", action="store_true", help="refuse http:// webhook URLs like the real server")
    args = ap.parse_args(argv)

    sandbox = TelegramSandbox(require_https=args.require_https)
    for spec in args.bot or ["123456789:sandbox-token=pult_sandbox_bot"]:
        token, _, username = spec.rpartition("=")
        if not token:
            ap.error(f"--bot wants TOKEN=USERNAME, got {spec!r}")
        sandbox.add_bot(token, username)
        print(f"bot @{username} registered")
    for chat_id in args.chat:
        sandbox.add_chat(chat_id)
    print(f"Telegram sandbox on http://{args.host}:{args.port} (Bot API at /bot<token>/<method>, control API at /sandbox/)")
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()


__all__ = ["ApiError", "SECRET_HEADER", "CONFLICT_WEBHOOK", "CONFLICT_TERMINATED", "SandboxHandle", "TelegramSandbox", "control_routes", "start_sandbox", "main"]
