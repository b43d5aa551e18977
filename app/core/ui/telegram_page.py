"""Administration → Telegram: the bot token (write-only, stored encrypted), the Bot API address,
and "check" buttons that talk to the bot for real before anyone relies on it."""

from __future__ import annotations

import reflex as rx

from app.core.errors import PermissionDenied, PultError, ValidationFailed
from app.core.telegram_delivery import API_URL_KEY, bot_config, save_bot_config
from app.core.ui.base import AuthState, tr, ui_session
from app.core.ui.list_page import forbidden_box
from app.core.ui.widgets import page_header
from integrations.telegram import TelegramClient, TelegramError
from models.core import Setting, User

ROUTE = "/admin/telegram"


class TelegramState(AuthState):
    token_input: str = ""
    token_set: bool = False
    api_url: str = ""
    errors: dict[str, str] = {}
    check_text: str = ""
    check_ok: bool = False
    forbidden: bool = False

    @rx.event
    def load(self):
        self.token_input, self.errors, self.check_text = "", {}, ""
        try:
            with ui_session() as db:
                user = self.current_user()
                self.forbidden = not user.has_perm("telegram.settings")
                if self.forbidden:
                    return None
                token, _base = bot_config(db)
                self.token_set = bool(token)
                row = db.get(Setting, API_URL_KEY)
                self.api_url = row.value if row is not None and row.value else ""
        except PultError as exc:
            return self.fail(exc)

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
                save_bot_config(db, self.current_user(), self.token_input or None, self.api_url.strip())
        except ValidationFailed as exc:
            self.errors = exc.messages(self.lang)
            return rx.toast.error(self.t("error.form"))
        except PultError as exc:
            return self.fail(exc)
        self.token_input, self.errors = "", {}
        return [rx.toast.success(self.t("saved")), TelegramState.load]

    def _client(self, db) -> TelegramClient:
        user = self.current_user()
        if not user.has_perm("telegram.settings"):
            raise PermissionDenied()
        token, base = bot_config(db)
        if not token:
            raise ValidationFailed.one("token", "telegram.no_token")
        return TelegramClient(token, base_url=base, max_attempts=1, max_rate_limit_retries=0, timeout=5)

    def _talk(self, action) -> object:
        """Run ``action(db, client) -> success text`` against the bot and show what happened."""
        try:
            with ui_session() as db, self._client(db) as client:
                text = action(db, client)
            self.check_ok, self.check_text = True, text
        except TelegramError as exc:
            self.check_ok, self.check_text = False, self.t("telegram.check_failed", error=exc.description)
        except ValidationFailed as exc:
            self.check_ok, self.check_text = False, next(iter(exc.messages(self.lang).values()))
        except PultError as exc:
            return self.fail(exc)
        except Exception as exc:  # noqa: BLE001 - an unreachable address is a message, not a crash
            self.check_ok, self.check_text = False, self.t("telegram.check_failed", error=type(exc).__name__)
        return None

    @rx.event
    def check(self):
        """getMe: the token and the address work, and which bot answers."""
        return self._talk(lambda _db, client: self.t("telegram.check_ok", username=client.get_me().get("username", "?")))

    @rx.event
    def send_test(self):
        """A message to the signed-in admin's own linked chat."""

        def action(db, client) -> str:
            me = db.get(User, self.current_user().id)
            if me is None or not me.telegram_chat_id:
                raise ValidationFailed.one("chat", "telegram.no_chat")
            client.send_message(me.telegram_chat_id, self.t("telegram.test_message"))
            return self.t("telegram.test_sent")

        return self._talk(action)


def telegram_page() -> rx.Component:
    S = TelegramState
    body = rx.vstack(
        page_header(tr("telegram.title")),
        rx.card(
            rx.vstack(
                rx.text(tr("telegram.token"), size="2", weight="medium"),
                rx.input(value=S.token_input, on_change=S.set_token, type="password", auto_complete="new-password", id="tg-token", width="100%",
                         placeholder=rx.cond(S.token_set, "*** (задан, оставьте пустым)", "123456:ABC…")),
                rx.cond(S.errors.contains("token"), rx.text(S.errors.get("token", ""), color_scheme="red", size="1", id="tg-token-error")),
                rx.text(tr("telegram.api_url"), size="2", weight="medium"),
                rx.input(value=S.api_url, on_change=S.set_api_url, id="tg-api-url", width="100%", placeholder="https://…"),
                rx.text(tr("telegram.api_url_help"), size="1", color_scheme="gray"),
                rx.cond(S.errors.contains("api_url"), rx.text(S.errors.get("api_url", ""), color_scheme="red", size="1", id="tg-api-url-error")),
                rx.hstack(
                    rx.button(tr("save"), on_click=S.save, id="tg-save"),
                    rx.button(tr("telegram.check"), on_click=S.check, variant="soft", id="tg-check"),
                    rx.button(tr("telegram.send_test"), on_click=S.send_test, variant="soft", id="tg-send-test"),
                    spacing="3",
                ),
                rx.cond(S.check_text != "", rx.callout(S.check_text, color_scheme=rx.cond(S.check_ok, "green", "red"), icon=rx.cond(S.check_ok, "circle-check", "triangle-alert"), id="tg-check-result", width="100%")),
                spacing="2", width="100%",
            ),
            width="100%", max_width="720px",
        ),
        spacing="4", width="100%",
    )
    return rx.cond(S.forbidden, forbidden_box(), body)
