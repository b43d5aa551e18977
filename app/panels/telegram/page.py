"""Administration → Telegram: the bot token (write-only, stored encrypted), the Bot API address,
"check" buttons that talk to the bot for real, and receiving (off / webhook / long polling) with
its status as Telegram and the poller report it.

Every call to the bot runs in a background event: a 429 from Telegram is waited out (at most
:data:`MAX_WAIT` seconds in all) while the page says "retrying in N s", instead of failing or
freezing the page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Optional

import reflex as rx
from sqlmodel import Session

from app.core import auth as auth_service
from app.core import live
from app.core.auth import CurrentUser
from app.core.display import TIMEZONE
from app.core.errors import PermissionDenied, PultError, ValidationFailed
from app.core.i18n import t
from app.panels.telegram.bot import API_URL_KEY, PERM, bot_client, bot_config, save_bot_config, wait_out_rate_limit
from app.panels.telegram.handlers import last_ping, ping_keyboard
from app.panels.telegram.receiving import ReceiveStatus, reapply, receive_status, set_receive_mode, webhook_unavailable
from app.core.ui.base import ERROR_TOAST, AuthState, tr, ui_session
from app.core.ui.widgets import forbidden_box
from app.core.ui.widgets import page_header
from integrations.telegram import TelegramClient, TelegramError, TelegramRetryLater
from models.core import Setting, User

#: Longest the page waits out Telegram's rate limit (429 ``retry_after``) before giving up.
MAX_WAIT = 30


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


class TelegramState(AuthState):
    token_input: str = ""
    token_set: bool = False
    api_url: str = ""
    errors: dict[str, str] = {}
    check_text: str = ""
    check_ok: bool = False
    #: Waiting out a rate limit (the check text says for how long).
    check_wait: bool = False
    forbidden: bool = False
    #: Receiving: "off", "webhook" or "polling", as saved.
    mode: str = "off"
    #: Why the webhook cannot be chosen ('' when it can).
    webhook_blocked: str = ""
    status_color: str = "gray"
    status_lines: list[str] = []
    ping_text: str = ""
    busy: bool = False

    # ------------------------------------------------------------------ reading
    @rx.event
    def load(self):
        self.token_input, self.errors, self.check_text = "", {}, ""
        try:
            with ui_session() as db:
                user = self.current_user()
                self.forbidden = not user.has_perm(PERM)
                if self.forbidden:
                    return None
                self._read(db)
        except PultError as exc:
            return self.fail(exc)
        live.watch(self, {"setting"})  # a mode switched elsewhere, a test press arriving
        return TelegramState.refresh_status if self.mode == "webhook" else None

    def _read(self, db: Session, status: Optional[ReceiveStatus] = None) -> None:
        token, base = bot_config(db)
        self.token_set = bool(token)
        row = db.get(Setting, API_URL_KEY)
        self.api_url = row.value if row is not None and row.value else ""
        status = status or receive_status(db)
        self.mode = status.mode
        blocked = webhook_unavailable(base)
        self.webhook_blocked = t(blocked, self.lang) if blocked else ""
        self.status_color, self.status_lines = status_lines(status, self.lang)
        ping = last_ping(db)
        self.ping_text = (
            t("telegram.last_ping", self.lang, when=_when(ping.get("at"), seconds=True), user=ping.get("user", "?"),
              via=t(f"telegram.via.{ping.get('via', 'webhook')}", self.lang))
            if ping else t("telegram.last_ping_none", self.lang)
        )

    def live_refresh(self) -> None:
        """The change bus saw a setting change (another admin, a test press): read it again."""
        if self.forbidden:
            return
        try:
            with ui_session() as db:
                if self.current_user().has_perm(PERM):
                    self._read(db)
        except PultError:
            pass

    # ------------------------------------------------------------------ the form
    @rx.event
    def set_token(self, v: str):
        self.token_input = v
        self.errors.pop("token", None)

    @rx.event
    def set_api_url(self, v: str):
        self.api_url = v
        self.errors.pop("api_url", None)

    @rx.event
    def save(self):
        try:
            with ui_session() as db:
                changed = save_bot_config(db, self.current_user(), self.token_input or None, self.api_url.strip())
        except ValidationFailed as exc:
            self.errors = exc.messages(self.lang)
            return rx.toast.error(self.t("error.form"), id=ERROR_TOAST)
        except PultError as exc:
            return self.fail(exc)
        self.token_input, self.errors = "", {}
        # Another bot (or address): point its updates at Pult the way the old one's were.
        follow = [TelegramState.reapply_mode] if changed and self.mode != "off" else [TelegramState.load]
        return [*self.ok(self.t("saved")), *follow]

    # ------------------------------------------------------------------ talking to the bot
    async def _talk(self, work: Callable[[Session, CurrentUser], Any], clear: bool = True) -> tuple[bool, Any]:
        """Run ``work(db, user)`` in a thread, waiting out a 429 while the page says so.

        Returns (True, result), (False, message), or (None, event) when the session ended or the
        user may not do this (the caller returns the event: a toast or the way to the login)."""
        async with self:
            token, lang = self.session_token(), self.lang
            self.busy = True
            if clear:
                self.check_text = ""

        def call() -> Any:
            with ui_session() as db:
                user = auth_service.resolve(db, token)
                if not user.has_perm(PERM):
                    raise PermissionDenied()
                return work(db, user)

        async def waiting(seconds: int) -> None:
            async with self:
                self.check_ok, self.check_wait, self.check_text = False, True, t("telegram.retrying", lang, n=seconds)

        try:
            return True, await wait_out_rate_limit(call, waiting, MAX_WAIT)
        except TelegramRetryLater as exc:
            return False, t("telegram.rate_limited", lang, n=exc.retry_after)
        except TelegramError as exc:
            return False, t("telegram.check_failed", lang, error=exc.description)
        except ValidationFailed as exc:
            return False, next(iter(exc.messages(lang).values()))
        except PultError as exc:
            async with self:
                return None, self.fail(exc)
        except Exception as exc:  # noqa: BLE001 - an unreachable address is a message, not a crash
            return False, t("telegram.check_failed", lang, error=type(exc).__name__)
        finally:
            async with self:
                self.busy, self.check_wait = False, False

    @staticmethod
    def _bot(db: Session) -> TelegramClient:
        # One attempt per call: _talk waits out a 429 itself, saying so on the page.
        client = bot_client(db, max_attempts=1, max_rate_limit_retries=0, timeout=5)
        if client is None:
            raise ValidationFailed.one("token", "telegram.no_token")
        return client

    async def _show(self, work: Callable[[Session, CurrentUser], str]):
        """Run a check and put its outcome under the buttons."""
        ok, text = await self._talk(work)
        if ok is None:
            return text
        async with self:
            self.check_ok, self.check_text = ok, text
        return None

    @rx.event(background=True)
    async def check(self):
        """getMe: the token and the address work, and which bot answers."""
        async with self:
            lang = self.lang

        def work(db: Session, _user: CurrentUser) -> str:
            with self._bot(db) as bot:
                return t("telegram.check_ok", lang, username=bot.get_me().get("username", "?"))

        return await self._show(work)

    @rx.event(background=True)
    async def send_test(self):
        """A message to the signed-in admin's own linked chat, with a button that proves receiving."""
        async with self:
            lang = self.lang

        def work(db: Session, user: CurrentUser) -> str:
            me = db.get(User, user.id)
            if me is None or not me.telegram_chat_id:
                raise ValidationFailed.one("chat", "telegram.no_chat")
            with self._bot(db) as bot:
                bot.send_message(me.telegram_chat_id, t("telegram.test_message", lang), reply_markup=ping_keyboard(me.id, lang))
            return t("telegram.test_sent", lang)

        return await self._show(work)

    @rx.event(background=True)
    async def set_mode(self, mode: str):
        """Switch receiving (setWebhook / deleteWebhook); the poller follows the saved mode."""
        return await self._switch(lambda db, user: set_receive_mode(db, user, mode))

    @rx.event(background=True)
    async def reapply_mode(self):
        """After another bot was saved: point its updates at Pult the way the old one's were."""
        return await self._switch(reapply)

    async def _switch(self, work: Callable[[Session, CurrentUser], Any]):
        ok, result = await self._talk(work)
        if ok is None:
            return result
        async with self:
            with ui_session() as db:
                self._read(db)
            if not ok:
                self.check_ok, self.check_text = False, result
                return rx.toast.error(result, id=ERROR_TOAST)
            mode = (result or {}).get("mode", self.mode)
            events: list[Any] = [*self.ok(self.t("telegram.mode_saved", mode=self.t(f"telegram.mode.{mode}")))]
        if mode == "webhook":
            events.append(TelegramState.refresh_status)
        return events

    @rx.event(background=True)
    async def refresh_status(self):
        """The status again, asking Telegram (getWebhookInfo) in webhook mode."""
        ok, result = await self._talk(lambda db, _user: receive_status(db, ask_telegram=True), clear=False)
        if ok is None:
            return result
        async with self:
            with ui_session() as db:
                self._read(db, result if ok else None)
            if not ok:
                self.status_color = "red"
                self.status_lines = [*self.status_lines, result]
        return None


def _mode_card(value: str) -> rx.Component:
    S = TelegramState
    return rx.radio_cards.item(
        rx.vstack(
            rx.text(tr(f"telegram.mode.{value}"), weight="medium"),
            rx.text(tr(f"telegram.mode.{value}_help"), size="1", color_scheme="gray"),
            spacing="1", align="start", width="100%",
        ),
        value=value,
        disabled=(S.webhook_blocked != "") if value == "webhook" else False,
        id=f"tg-mode-{value}",
    )


def receive_card() -> rx.Component:
    S = TelegramState
    return rx.card(
        rx.vstack(
            rx.text(tr("telegram.receive"), size="3", weight="bold"),
            rx.text(tr("telegram.receive_help"), size="1", color_scheme="gray"),
            rx.radio_cards.root(
                _mode_card("off"), _mode_card("webhook"), _mode_card("polling"),
                value=S.mode, on_value_change=S.set_mode, disabled=S.busy,
                columns=rx.breakpoints(initial="1", sm="3"), width="100%", id="tg-mode",
            ),
            rx.cond(S.webhook_blocked != "", rx.text(S.webhook_blocked, size="1", color_scheme="amber", id="tg-webhook-blocked")),
            rx.callout(
                rx.vstack(rx.foreach(S.status_lines, lambda line: rx.text(line, size="2")), spacing="1"),
                color_scheme=S.status_color, icon="radio-tower", width="100%", id="tg-status",
            ),
            rx.hstack(
                rx.text(S.ping_text, size="1", color_scheme="gray", id="tg-last-ping"),
                rx.spacer(),
                rx.button(rx.icon("refresh-cw", size=14), tr("telegram.refresh"), size="1", variant="soft", on_click=S.refresh_status,
                          loading=S.busy, id="tg-refresh"),
                width="100%", align="center", wrap="wrap",
            ),
            spacing="3", width="100%",
        ),
        width="100%", max_width="720px",
    )


def telegram_page() -> rx.Component:
    S = TelegramState
    body = rx.vstack(
        page_header(tr("telegram.title")),
        rx.card(
            rx.vstack(
                rx.text(tr("telegram.token"), size="2", weight="medium"),
                rx.input(value=S.token_input, on_change=S.set_token, type="password", auto_complete="new-password", id="tg-token", width="100%",
                         placeholder=rx.cond(S.token_set, tr("telegram.token_kept"), "123456:ABC…")),
                rx.cond(S.errors.contains("token"), rx.text(S.errors.get("token", ""), color_scheme="red", size="1", id="tg-token-error")),
                rx.text(tr("telegram.api_url"), size="2", weight="medium"),
                rx.input(value=S.api_url, on_change=S.set_api_url, id="tg-api-url", width="100%", placeholder="https://…"),
                rx.text(tr("telegram.api_url_help"), size="1", color_scheme="gray"),
                rx.cond(S.errors.contains("api_url"), rx.text(S.errors.get("api_url", ""), color_scheme="red", size="1", id="tg-api-url-error")),
                rx.hstack(
                    rx.button(tr("save"), on_click=S.save, id="tg-save"),
                    rx.button(tr("telegram.check"), on_click=S.check, variant="soft", loading=S.busy, id="tg-check"),
                    rx.button(tr("telegram.send_test"), on_click=S.send_test, variant="soft", loading=S.busy, id="tg-send-test"),
                    spacing="3", wrap="wrap",
                ),
                rx.cond(S.check_text != "", rx.callout(S.check_text, color_scheme=rx.cond(S.check_wait, "amber", rx.cond(S.check_ok, "green", "red")),
                                                            icon=rx.cond(S.check_wait, "hourglass", rx.cond(S.check_ok, "circle-check", "triangle-alert")), id="tg-check-result", width="100%")),
                spacing="2", width="100%",
            ),
            width="100%", max_width="720px",
        ),
        receive_card(),
        spacing="4", width="100%",
    )
    return rx.cond(S.forbidden, forbidden_box(), body)
