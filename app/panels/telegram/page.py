"""Administration → Telegram: the one part of the declared settings page (:mod:`.settings`) no kind
has — the receiving mode (off / webhook / long polling), switched with Telegram for real. The rest
(token, address, check, test, the receiving status and its refresh) is the kit's Settings page."""

from __future__ import annotations

import reflex as rx

from app.core import auth as auth_service
from app.core import live
from app.core.errors import PermissionDenied, PultError, ValidationFailed
from app.core.i18n import t
from app.core.ui import settings_state
from app.core.ui.base import ERROR_TOAST, AuthState, ok_toast, tr, ui_session
from app.panels.telegram.bot import PERM, bot_config, receive_mode, wait_out_rate_limit
from app.panels.telegram.receiving import set_receive_mode, webhook_unavailable
from app.panels.telegram.settings import MAX_WAIT, TELEGRAM
from integrations.telegram import TelegramError, TelegramRetryLater


class ModeState(AuthState):
    #: Receiving: "off", "webhook" or "polling", as saved.
    mode: str = "off"
    #: Why the webhook cannot be chosen ('' when it can).
    webhook_blocked: str = ""
    #: Waiting out Telegram's rate limit while switching ('' otherwise).
    waiting: str = ""
    busy: bool = False

    @rx.event
    def load(self):
        try:
            with ui_session() as db:
                if not self.current_user().has_perm(PERM):
                    return None
                self._read(db)
        except PultError as exc:
            return self.fail(exc)
        live.watch(self, {"setting"})  # a mode switched by another admin
        return None

    def _read(self, db) -> None:
        self.mode = receive_mode(db)["mode"]
        blocked = webhook_unavailable(bot_config(db)[1])
        self.webhook_blocked = t(blocked, self.lang) if blocked else ""

    def live_refresh(self) -> None:
        try:
            with ui_session() as db:
                if self.current_user().has_perm(PERM):
                    self._read(db)
        except PultError:
            pass

    @rx.event(background=True)
    async def set_mode(self, mode: str):
        """Switch receiving (setWebhook / deleteWebhook); the poller follows the saved mode."""
        async with self:
            token, lang, ip = self.session_token(), self.lang, self.client_ip()
            self.busy, self.waiting = True, ""

        def call():
            with ui_session() as db:
                user = auth_service.resolve(db, token, ip=ip)
                if not user.has_perm(PERM):
                    raise PermissionDenied()
                return set_receive_mode(db, user, mode)

        async def waiting(seconds: int) -> None:
            async with self:
                self.waiting = t("telegram.retrying", lang, n=seconds)

        error = ""
        try:
            await wait_out_rate_limit(call, waiting, MAX_WAIT)
        except TelegramRetryLater as exc:
            error = t("telegram.rate_limited", lang, n=exc.retry_after)
        except TelegramError as exc:
            error = t("telegram.check_failed", lang, error=exc.description)
        except ValidationFailed as exc:
            error = next(iter(exc.messages(lang).values()))
        except PultError as exc:
            async with self:
                self.busy = False
                return self.fail(exc)
        except Exception as exc:  # noqa: BLE001 - an unreachable address is a message, not a crash
            error = t("telegram.check_failed", lang, error=type(exc).__name__)
        async with self:
            self.busy, self.waiting = False, ""
            with ui_session() as db:
                self._read(db)
        refresh = settings_state(TELEGRAM.key).refresh  # the status block of the generated page
        if error:
            return [rx.toast.error(error, id=ERROR_TOAST), refresh]
        return [*ok_toast(t("telegram.mode_saved", lang, mode=t(f"telegram.mode.{mode}", lang))), refresh]


def _mode_card(value: str) -> rx.Component:
    S = ModeState
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


def mode_block() -> rx.Component:
    S = ModeState
    return rx.vstack(
        rx.radio_cards.root(
            _mode_card("off"), _mode_card("webhook"), _mode_card("polling"),
            value=S.mode, on_value_change=S.set_mode, disabled=S.busy,
            columns=rx.breakpoints(initial="1", sm="3"), width="100%", id="tg-mode",
        ),
        rx.cond(S.webhook_blocked != "", rx.text(S.webhook_blocked, size="1", color_scheme="amber", id="tg-webhook-blocked")),
        rx.cond(S.waiting != "", rx.text(S.waiting, size="1", color_scheme="amber")),
        spacing="2", width="100%",
    )
