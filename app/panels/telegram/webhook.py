"""Telegram webhook: ``POST /api/integrations/telegram/webhook``.

Telegram calls the endpoint with every update of the bot once the admin switched receiving to
"webhook" (``app.panels.telegram.receiving``: ``setWebhook(url, secret_token, allowed_updates)``),
each call carrying ``X-Telegram-Bot-Api-Secret-Token``. A call whose header is missing or differs
from the secret (the one generated on switching on, else ``PULT_TELEGRAM_WEBHOOK_SECRET``, and
during a switch the one being set; compared in constant time) gets 401 and nothing is read or run; with no secret at all every call is refused.
The endpoint carries no cookie and needs none: the secret header is its authentication (so it is
not subject to the browser's CSRF rules).

Accepted updates go to the one dispatcher (:func:`app.panels.telegram.updates.dispatch`), which runs
each at most once. The answer is 200 even when a handler failed (a non-2xx makes Telegram re-send
the update again and again, holding back every later one); 503 when the update is being processed
elsewhere right now or the database cannot be reached, so Telegram offers it again later.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Optional, Union

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.core import db as dbm
from app.panels.telegram.bot import shared_bot, webhook_secrets
from app.panels.telegram.updates import (  # noqa: F401 - re-exported: where panels found them first
    BUSY,
    CallbackAnswer,
    CallbackContext,
    CallbackQuery,
    TgChat,
    TgMessage,
    TgUser,
    Update,
    dispatch,
    find_handler,
    handle_callback,
    on_callback,
    process_update,
    remove_callback,
)
from integrations.telegram import TelegramClient

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/api/integrations/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def secret_matches(given: Optional[str], expected: Union[str, list[str]]) -> bool:
    """Constant-time comparison with the expected secret(s); an empty one matches nothing."""
    if given is None:
        return False
    found = False
    for candidate in [expected] if isinstance(expected, str) else expected:
        if candidate and hmac.compare_digest(given.encode("utf-8"), candidate.encode("utf-8")):
            found = True
    return found


def _configured(secret: Optional[str], bot: Optional[TelegramClient]) -> tuple[list[str], Optional[TelegramClient]]:
    """The accepted secrets and the bot to answer with: the overrides, else the saved configuration."""
    if secret is not None and bot is not None:
        return [secret], bot
    with dbm.session_scope() as db:
        return (webhook_secrets(db) if secret is None else [secret]), (shared_bot(db) if bot is None else bot)


def telegram_router(
    secret: Optional[str] = None,
    bot: Union[TelegramClient, Callable[[], Optional[TelegramClient]], None] = None,
) -> APIRouter:
    """The webhook route. ``secret`` and ``bot`` (a client, or a function returning one) override the
    configured ones (:func:`app.panels.telegram.bot.webhook_secret` / :func:`~app.panels.telegram.bot.shared_bot`)."""
    router = APIRouter(tags=["integrations"])
    warned: list[bool] = []

    @router.post(
        WEBHOOK_PATH,
        summary="Telegram Bot API webhook",
        description=f"Called by Telegram with an Update. Requires the `{SECRET_HEADER}` header set by setWebhook.",
        responses={
            401: {"description": "Missing or wrong secret token"},
            400: {"description": "Not a Telegram Update"},
            503: {"description": "Try again later (the update is being processed, or the database is unreachable)"},
        },
    )
    async def telegram_webhook(request: Request) -> JSONResponse:
        given = request.headers.get(SECRET_HEADER)
        if not given:  # refused before anything is looked up
            return JSONResponse({"detail": "unauthorized"}, status_code=401)
        override = bot if bot is None or isinstance(bot, TelegramClient) else bot()
        try:
            expected, current = await run_in_threadpool(_configured, secret, override)
        except Exception:
            log.exception("telegram: webhook cannot read its configuration")
            return JSONResponse({"detail": "unavailable"}, status_code=503, headers={"Retry-After": "10"})
        if not secret_matches(given, expected):
            if not expected and not warned:
                warned.append(True)
                log.warning("telegram: webhook calls are refused: no secret (switch receiving on in Администрирование → Telegram)")
            return JSONResponse({"detail": "unauthorized"}, status_code=401)
        try:
            update = Update.model_validate_json(await request.body())
        except ValidationError:
            return JSONResponse({"detail": "not a Telegram Update"}, status_code=400)
        outcome = await run_in_threadpool(dispatch, update, current, "webhook")
        if outcome == BUSY:
            return JSONResponse({"detail": "being processed"}, status_code=503, headers={"Retry-After": "5"})
        return JSONResponse({"ok": True})

    return router


__all__ = ["WEBHOOK_PATH", "SECRET_HEADER", "secret_matches", "telegram_router"]
