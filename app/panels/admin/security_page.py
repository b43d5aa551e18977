"""Administration → Security: whether anyone may register, and whether new accounts wait for an
admin's approval. Stored in the ``Setting`` table (:func:`app.core.auth.registration_policy`),
changed only with ``admin.security`` and audited."""

from __future__ import annotations

import reflex as rx

from app.core import auth as auth_service
from app.core.config import settings
from app.core.errors import PultError
from app.core.i18n import has, pair
from app.core.ui.base import AuthState, tr, ui_session
from app.core.ui.widgets import forbidden_box
from app.core.ui.widgets import page_header



class SecurityState(AuthState):
    registration_open: bool = False
    approval: bool = False
    forbidden: bool = False
    loaded: bool = False

    @rx.event
    def load(self):
        try:
            with ui_session() as db:
                user = self.current_user()
                self.forbidden = not user.has_perm(auth_service.SECURITY_PERM)
                if self.forbidden:
                    return None
                policy = auth_service.registration_policy(db)
                self.registration_open, self.approval, self.loaded = policy.open, policy.approval, True
        except PultError as exc:
            return self.fail(exc)

    @rx.event
    def set_registration_open(self, value: bool):
        self.registration_open = bool(value)

    @rx.event
    def set_approval(self, value: bool):
        self.approval = bool(value)

    @rx.event
    def save(self):
        try:
            with ui_session() as db:
                auth_service.save_registration_policy(db, self.current_user(), self.registration_open, self.approval)
        except PultError as exc:
            return self.fail(exc)
        return [*self.ok(self.t("saved")), SecurityState.load]


def _tr_fmt(key: str, **params: object) -> rx.Var:
    """A catalog text with its placeholders filled in when the page is built (the figures are settings)."""
    ru, en = pair(key)
    return rx.cond(AuthState.lang == "en", en.format(**params), ru.format(**params))


def _role_label(name: str) -> rx.Var | str:
    """A built-in role's name in the user's language (``role.<name>``), a custom role as named."""
    return tr(f"role.{name}") if has(f"role.{name}") else name


def _switch_row(label: str, help_key: str, checked: rx.Var, on_change, id: str, disabled: rx.Var | bool = False) -> rx.Component:
    return rx.hstack(
        rx.switch(checked=checked, on_change=on_change, id=id, disabled=disabled),
        rx.vstack(
            rx.text(tr(label), size="2", weight="medium", as_="label", html_for=id),
            rx.text(tr(help_key), size="1", color_scheme="gray"),
            spacing="1",
        ),
        align="start", spacing="3", width="100%",
    )


def security_page() -> rx.Component:
    S = SecurityState
    body = rx.vstack(
        page_header(tr("security.title")),
        rx.card(
            rx.vstack(
                rx.heading(tr("security.registration_section"), size="3"),
                _switch_row("security.registration", "security.registration_help", S.registration_open, S.set_registration_open, "sec-registration"),
                _switch_row("security.approval", "security.approval_help", S.approval, S.set_approval, "sec-approval", ~S.registration_open),
                rx.text(tr("security.role_help"), " ", rx.code(_role_label(settings.registration_role)), size="1", color_scheme="gray"),
                rx.hstack(
                    rx.button(tr("save"), on_click=S.save, id="sec-save", disabled=~S.loaded),
                    rx.link(tr("security.pending_link"), href="/admin/users?f_pending=1", size="2", id="sec-pending-link"),
                    spacing="4", align="center",
                ),
                spacing="4", width="100%",
            ),
            width="100%", max_width="720px",
        ),
        rx.card(
            rx.vstack(
                rx.heading(tr("security.signin_section"), size="3"),
                rx.text(_tr_fmt(
                    "security.signin_help", pair_max=settings.login_max_per_account, minutes=settings.login_window_seconds // 60,
                    ip_max=settings.login_max_per_ip, free=settings.login_account_free_failures, max_delay=settings.login_delay_max_seconds,
                ), size="2", id="sec-signin-policy"),
                spacing="2", width="100%",
            ),
            width="100%", max_width="720px",
        ),
        spacing="4", width="100%",
    )
    return rx.cond(S.forbidden, forbidden_box(), body)
