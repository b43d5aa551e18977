"""Профиль и вход (``/profile``): the signed-in user's own sign-in settings — the TOTP second factor
(enrol with a QR code, confirm with a code, recovery codes shown once, new codes, disable) and the
Telegram link (the code ``/start`` gave; unlink). Every user may open it for their own account;
the handlers call the same services as ``/api/auth/mfa`` and ``/api/auth/telegram/link``
(:mod:`app.core.mfa`, :mod:`app.panels.telegram.login`), which check, change and audit.

The secret and the recovery codes are shown once: they are in the page's state only between the
step that made them and the next action (or leaving the page), never read back from the server.
"""

from __future__ import annotations

import reflex as rx

from app.core import mfa
from app.core.errors import PultError, ValidationFailed
from app.core.i18n import t
from app.core.ui.base import AuthState, tr, ui_session
from models.core import User



class ProfileState(AuthState):
    mfa_on: bool = False
    mfa_required: bool = False
    codes_left: int = 0
    #: Enrolment in progress: the QR code (data: URI) and the key as text; shown once.
    qr: str = ""
    secret_text: str = ""
    #: Recovery codes just made: shown once.
    codes: list[str] = []
    code: str = ""
    code_error: str = ""
    tg_linked: bool = False
    tg_username: str = ""
    link_code: str = ""
    link_error: str = ""
    loaded: bool = False

    @rx.event
    def load(self):
        self.qr, self.secret_text, self.codes, self.code, self.code_error, self.link_code, self.link_error = "", "", [], "", "", "", ""
        try:
            self._read()
        except PultError as exc:
            return self.fail(exc)
        return None

    def _read(self) -> None:
        with ui_session() as db:
            who = self.current_user()
            status = mfa.status(db, who)
            self.mfa_on, self.mfa_required, self.codes_left = status["enabled"], status["required"], status["recovery_codes_left"]
            user = db.get(User, who.id)
            self.tg_linked = bool(user.telegram_chat_id)
            self.tg_username = user.telegram_username or ""
        self.loaded = True

    def _field_error(self, exc: PultError, field: str) -> str:
        if isinstance(exc, ValidationFailed):
            messages = exc.messages(self.lang)
            return messages.get(field) or messages.get("") or exc.message(self.lang)
        return exc.message(self.lang)

    @rx.event
    def set_code(self, value: str):
        self.code = value

    @rx.event
    def set_link_code(self, value: str):
        self.link_code = value

    @rx.event
    def start_enrol(self):
        self.codes, self.code, self.code_error = [], "", ""
        try:
            with ui_session() as db:
                out = mfa.begin_enrolment(db, self.current_user())
        except PultError as exc:
            return self.fail(exc)
        self.qr, self.secret_text = out["qr"], mfa.spaced(out["secret"])
        return None

    @rx.event
    def confirm_enrol(self):
        self.code_error = ""
        try:
            with ui_session() as db:
                self.codes = mfa.confirm_enrolment(db, self.current_user(), self.code)
        except ValidationFailed as exc:
            self.code_error = self._field_error(exc, "code")
            return None
        except PultError as exc:
            return self.fail(exc)
        self.qr, self.secret_text, self.code = "", "", ""
        self._read()
        return self.ok(t("profile.mfa_enabled", self.lang))

    @rx.event
    def new_codes(self):
        self.code_error = ""
        try:
            with ui_session() as db:
                self.codes = mfa.regenerate(db, self.current_user(), self.code)
        except ValidationFailed as exc:
            self.code_error = self._field_error(exc, "code")
            return None
        except PultError as exc:
            return self.fail(exc)
        self.code = ""
        self._read()
        return None

    @rx.event
    def disable(self):
        self.code_error = ""
        try:
            with ui_session() as db:
                mfa.disable(db, self.current_user(), self.code)
        except ValidationFailed as exc:
            self.code_error = self._field_error(exc, "code")
            return None
        except PultError as exc:
            self.code_error = exc.message(self.lang)
            return None
        self.code, self.codes = "", []
        self._read()
        return self.ok(t("profile.mfa_disabled", self.lang))

    @rx.event
    def link(self):
        from app.panels.telegram import login as tglogin

        self.link_error = ""
        try:
            with ui_session() as db:
                tglogin.link(db, self.current_user(), self.link_code, ip=self.client_ip())
        except ValidationFailed as exc:
            self.link_error = self._field_error(exc, "code")
            return None
        except PultError as exc:
            self.link_error = exc.message(self.lang)
            return None
        self.link_code = ""
        self._read()
        return self.ok(t("profile.tg_linked", self.lang))

    @rx.event
    def unlink(self):
        from app.panels.telegram import login as tglogin

        try:
            with ui_session() as db:
                tglogin.unlink(db, self.current_user())
        except PultError as exc:
            return self.fail(exc)
        self._read()
        return None


def _error(text: rx.Var, id: str) -> rx.Component:
    return rx.cond(text != "", rx.text(text, color_scheme="red", size="1", id=id), rx.fragment())


def _codes() -> rx.Component:
    return rx.cond(
        ProfileState.codes.length() > 0,
        rx.callout.root(
            rx.vstack(
                rx.text(tr("profile.codes_once"), size="2", weight="medium"),
                rx.el.pre(rx.foreach(ProfileState.codes, lambda c: rx.el.div(c)), id="profile-codes",
                          style={"margin": 0, "fontSize": "15px", "columns": "2", "userSelect": "all"}),
                spacing="2", width="100%",
            ),
            color_scheme="amber", width="100%",
        ),
        rx.fragment(),
    )


def _code_input() -> rx.Component:
    return rx.vstack(
        rx.text(tr("mfa.code"), size="2", weight="medium"),
        rx.input(value=ProfileState.code, on_change=ProfileState.set_code, id="profile-code", auto_complete="one-time-code",
                 max_length=20, width="100%", max_width="260px"),
        _error(ProfileState.code_error, "profile-code-error"),
        spacing="1", width="100%",
    )


def _mfa_card() -> rx.Component:
    off = rx.cond(
        ProfileState.qr != "",
        rx.vstack(
            rx.text(tr("profile.scan"), size="2"),
            rx.image(src=ProfileState.qr, width="200px", height="200px", id="profile-qr", alt="QR"),
            rx.code(ProfileState.secret_text, id="profile-secret", style={"wordBreak": "break-all"}),
            _code_input(),
            rx.button(tr("login.step_submit"), on_click=ProfileState.confirm_enrol, id="profile-confirm"),
            spacing="3", width="100%",
        ),
        rx.button(rx.icon("shield-plus", size=16), tr("profile.enrol"), on_click=ProfileState.start_enrol, id="profile-enrol"),
    )
    on = rx.vstack(
        rx.text(tr("profile.codes_left"), " ", ProfileState.codes_left, size="2", id="profile-codes-left"),
        _code_input(),
        rx.flex(
            rx.button(tr("profile.new_codes"), on_click=ProfileState.new_codes, variant="soft", id="profile-new-codes"),
            rx.cond(ProfileState.mfa_required, rx.fragment(),
                    rx.button(tr("profile.disable"), on_click=ProfileState.disable, color_scheme="red", variant="soft", id="profile-disable")),
            gap="2", wrap="wrap",
        ),
        spacing="3", width="100%",
    )
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon("shield-check", size=18), rx.heading(tr("profile.mfa"), size="4"), align="center", spacing="2"),
            rx.badge(rx.cond(ProfileState.mfa_on, tr("profile.on"), tr("profile.off")), color_scheme=rx.cond(ProfileState.mfa_on, "green", "gray"),
                     id="profile-mfa-status"),
            rx.cond(ProfileState.mfa_required, rx.text(tr("mfa.required_cannot_disable"), size="2", color_scheme="gray"), rx.fragment()),
            _codes(),
            rx.cond(ProfileState.mfa_on, on, off),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _telegram_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon("send", size=18), rx.heading(tr("profile.telegram"), size="4"), align="center", spacing="2"),
            rx.cond(
                ProfileState.tg_linked,
                rx.vstack(
                    rx.text(tr("profile.tg_is_linked"), " ", rx.cond(ProfileState.tg_username != "", "@" + ProfileState.tg_username, ""),
                            size="2", id="profile-tg-status"),
                    rx.button(tr("profile.tg_unlink"), on_click=ProfileState.unlink, variant="soft", color_scheme="red", id="profile-tg-unlink"),
                    spacing="2",
                ),
                rx.vstack(
                    rx.text(tr("profile.tg_how"), size="2", id="profile-tg-status"),
                    rx.input(value=ProfileState.link_code, on_change=ProfileState.set_link_code, id="profile-link-code",
                             placeholder="K7QX2MPA", max_length=20, width="100%", max_width="260px"),
                    _error(ProfileState.link_error, "profile-link-error"),
                    rx.button(tr("profile.tg_link"), on_click=ProfileState.link, id="profile-tg-link"),
                    spacing="2", width="100%",
                ),
            ),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def profile_page() -> rx.Component:
    return rx.vstack(
        rx.heading(tr("profile.title"), size="6", id="profile-title"),
        rx.cond(ProfileState.loaded, rx.vstack(_mfa_card(), _telegram_card(), spacing="4", width="100%"), rx.spinner()),
        spacing="4", width="100%", max_width="720px",
    )
