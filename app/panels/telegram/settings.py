"""Administration → Telegram, declared as a ``Settings`` page: the bot token (write-only, stored
encrypted), the Bot API address, "check" (getMe) and "send myself a test", and how updates are
received (the status, and the mode switch: a declared block, :mod:`app.panels.telegram.page`).

The kit gives the page, its API (``/api/telegram/settings/telegram``), the permission check, the
parsing (a bad URL is refused under the field), encryption and the audit row. Every call to the bot
waits out a 429 from Telegram (at most :data:`MAX_WAIT` seconds in all) while the page says
"retrying in N s" (``ctx.report``), instead of failing or freezing the page."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any, Optional, TypeVar

from app.core.display import TIMEZONE
from app.core.errors import ValidationFailed
from app.core.i18n import t
from app.core.resource import fields
from sqlmodel import Session

from app.core import settings_page
from app.core.principal import CurrentUser
from app.core.settings_page import Block, CheckResult, Line, Settings, SettingsAction, SettingsContext, Status
from app.panels.telegram.bot import API_URL_KEY, BOT_TOKEN_KEY, PERM, bot_client, bot_config, receive_mode
from app.panels.telegram.handlers import last_ping, ping_keyboard
from app.panels.telegram.receiving import ReceiveStatus, reapply, receive_status
from integrations.telegram import TelegramClient, TelegramError, TelegramRetryLater
from models.core import User

#: Longest the page waits out Telegram's rate limit (429 ``retry_after``) before giving up.
MAX_WAIT = 30

T = TypeVar("T")


def _when(iso: Optional[str], seconds: bool = False) -> str:
    try:
        value = dt.datetime.fromisoformat(iso) if isinstance(iso, str) else iso
    except ValueError:
        return ""
    if not isinstance(value, dt.datetime):
        return ""
    return value.astimezone(TIMEZONE).strftime("%d.%m.%Y %H:%M:%S" if seconds else "%d.%m.%Y %H:%M")


def status_lines(status: ReceiveStatus, lang: str) -> tuple[str, list[str]]:
    """(colour, lines) describing how updates reach Pult right now."""
    lines: list[str] = []
    if status.mode == "off":
        return "gray", [t("telegram.status.off", lang)]
    color = "green"
    if status.mode == "webhook":
        info = status.webhook
        if info is None:
            lines.append(t("telegram.status.webhook_ok", lang, url=status.expected_url))
        elif info.get("url") != status.expected_url:
            color = "red"
            lines.append(t("telegram.status.webhook_wrong", lang, url=info.get("url") or "—"))
        else:
            lines.append(t("telegram.status.webhook_ok", lang, url=info["url"]))
        if info:
            if info.get("pending_update_count"):
                lines.append(t("telegram.status.pending", lang, n=info["pending_update_count"]))
            if info.get("last_error_date"):
                when = _when(dt.datetime.fromtimestamp(info["last_error_date"], dt.timezone.utc).isoformat(), seconds=True)
                lines.append(t("telegram.status.last_error", lang, when=when, error=info.get("last_error_message") or "?"))
                if info.get("pending_update_count"):  # Telegram keeps the last error after it recovered
                    color = "amber" if color == "green" else color
    else:
        beat = status.poller
        if beat is None:
            color = "red"
            lines.append(t("telegram.status.polling_none", lang))
        elif beat.get("state") == "idle":
            color = "amber"
            lines.append(t("telegram.status.polling_idle", lang, id=beat.get("id", "?")))
        else:
            lines.append(t("telegram.status.polling_ok", lang, id=beat.get("id", "?"), when=_when(beat.get("at"), seconds=True)))
            lines.append(t("telegram.status.processed", lang, n=beat.get("processed", 0)))
        if beat and beat.get("last_error"):
            color = "red" if beat.get("state") == "error" else "amber"
            lines.append(t("telegram.status.polling_error", lang, error=beat["last_error"]))
    if status.since:
        lines.append(t("telegram.status.since", lang, when=_when(status.since), who=status.by or "?"))
    return color, lines


# --------------------------------------------------------------------------- talking to the bot
def patient(ctx: SettingsContext, call: Callable[[], T], max_wait: float = MAX_WAIT, sleep: Callable[[float], None] = time.sleep) -> T:
    """``call()``, waiting out Telegram's 429 (saying so through ``ctx.report``) for at most
    ``max_wait`` seconds in all; a longer wait raises the :class:`TelegramRetryLater`."""
    waited = 0.0
    while True:
        try:
            return call()
        except TelegramRetryLater as exc:
            wait = max(1, int(exc.retry_after or 1))
            if waited + wait > max_wait:
                raise
            ctx.report(ctx.t("telegram.retrying", n=wait))
            sleep(wait)
            waited += wait


def talk(ctx: SettingsContext, work: Callable[[], str]) -> CheckResult:
    """Run ``work`` patiently; Telegram's refusal (or an unreachable address) is the red result."""
    try:
        return CheckResult.ok(patient(ctx, work))
    except TelegramRetryLater as exc:
        return CheckResult.fail(ctx.t("telegram.rate_limited", n=exc.retry_after))
    except TelegramError as exc:
        return CheckResult.fail(ctx.t("telegram.check_failed", error=exc.description))
    except ValidationFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - an unreachable address is a message, not a crash
        return CheckResult.fail(ctx.t("telegram.check_failed", error=type(exc).__name__))


def _bot(ctx: SettingsContext) -> TelegramClient:
    # One attempt per call: ``patient`` waits out a 429 itself, saying so on the page.
    client = bot_client(ctx.db, max_attempts=1, max_rate_limit_retries=0, timeout=5)
    if client is None:
        raise ValidationFailed.one("token", "telegram.no_token")
    return client


def check(ctx: SettingsContext) -> CheckResult:
    """getMe: the token and the address work, and which bot answers."""
    def work() -> str:
        with _bot(ctx) as bot:
            return ctx.t("telegram.check_ok", username=bot.get_me().get("username", "?"))

    return talk(ctx, work)


def send_test(ctx: SettingsContext) -> CheckResult:
    """A message to the signed-in admin's own linked chat, with a button that proves receiving."""
    me = ctx.db.get(User, ctx.user.id)
    if me is None or not me.telegram_chat_id:
        raise ValidationFailed.one("chat", "telegram.no_chat")

    def work() -> str:
        with _bot(ctx) as bot:
            bot.send_message(me.telegram_chat_id, ctx.t("telegram.test_message"), reply_markup=ping_keyboard(me.id, ctx.lang))
        return ctx.t("telegram.test_sent")

    return talk(ctx, work)


def after_save(ctx: SettingsContext, changed: list[str]) -> Optional[CheckResult]:
    """Another bot (or address): point its updates at Pult the way the old one's were."""
    if receive_mode(ctx.db)["mode"] == "off":
        return None
    result: dict[str, Any] = {}

    def work() -> str:
        result.update(reapply(ctx.db, ctx.user) or {})
        return ctx.t("telegram.mode_saved", mode=ctx.t(f"telegram.mode.{result.get('mode', 'off')}"))

    return talk(ctx, work)


def validate(ctx: SettingsContext, values: dict[str, Any]) -> None:
    token = values.get("token")
    if token and (":" not in token or len(token) > 100):
        raise ValidationFailed.one("token", "telegram.bad_token")


def status(ctx: SettingsContext) -> Status:
    """How updates reach Pult (asking Telegram, getWebhookInfo, on "refresh"), and the last test press."""
    error = ""
    try:
        current = patient(ctx, lambda: receive_status(ctx.db, ask_telegram=ctx.refresh))
    except ValidationFailed as exc:
        current, error = receive_status(ctx.db), next(iter(exc.messages(ctx.lang).values()))
    except TelegramRetryLater as exc:
        current, error = receive_status(ctx.db), ctx.t("telegram.rate_limited", n=exc.retry_after)
    except TelegramError as exc:
        current, error = receive_status(ctx.db), ctx.t("telegram.check_failed", error=exc.description)
    except Exception as exc:  # noqa: BLE001 - an unreachable Bot API is a red line, not a crash
        current, error = receive_status(ctx.db), ctx.t("telegram.check_failed", error=type(exc).__name__)
    color, lines = status_lines(current, ctx.lang)
    out = [Line(text) for text in lines]
    if error:
        color = "red"
        out.append(Line(error))
    ping = last_ping(ctx.db)
    out.append(Line(
        ctx.t("telegram.last_ping", when=_when(ping.get("at"), seconds=True), user=ping.get("user", "?"),
              via=ctx.t(f"telegram.via.{ping.get('via', 'webhook')}")) if ping else ctx.t("telegram.last_ping_none"),
        id="last_ping",
    ))
    return Status(color, out)


TELEGRAM = Settings(
    "telegram.telegram", title="telegram.title", perm=PERM, id_prefix="tg",
    fields=[
        fields.secret("token", label="telegram.token"),
        fields.url("api_url", label="telegram.api_url", help="telegram.api_url_help"),
    ],
    store={"token": BOT_TOKEN_KEY, "api_url": API_URL_KEY},
    placeholders={"token": ("telegram.token_kept", "123456:ABC…"), "api_url": ("", "https://…")},
    validate=validate,
    check=SettingsAction("check", "telegram.check", check, slow=True),
    actions=[SettingsAction("send_test", "telegram.send_test", send_test, slow=True)],
    after_save=after_save,
    status=status, status_title="telegram.receive", status_help="telegram.receive_help", refreshable=True, refresh_on_load=True,
    blocks=[Block("app.panels.telegram.page:mode_block", on_load="app.panels.telegram.page:ModeState.load", place="in_status")],
)


def save_bot_config(db: Session, user: CurrentUser, token: str | None = None, api_url: str | None = None) -> bool:
    """Store the bot token (encrypted; an empty value keeps the current one) and the API URL,
    through the settings page's service (:data:`TELEGRAM`: the
    permission, the checks, the audit row).

    Returns whether the bot changed (another token or address), so the caller can point the new
    bot's updates at Pult again."""
    before = bot_config(db)
    raw: dict[str, Any] = {"token": token} if token else {}
    if api_url is not None:
        raw["api_url"] = api_url
    settings_page.save(db, TELEGRAM, user, raw)
    return bot_config(db) != before
