"""Login and home pages, and the registration of every panel's generated pages."""

from __future__ import annotations

import reflex as rx

from app.core import auth as auth_service
from app.core import login_methods
from app.core.errors import PultError
from app.core.registry import PANELS, import_ref
from app.core.ui import signin
from app.core.ui.base import PAGE_GATES, AuthState, tr, ui_session
from app.core.ui.bell import BellState
from app.core.ui.detail import DetailState, detail_page
from app.core.ui.form import FormState, form_page
from app.core.ui.import_page import ImportState, import_page
from app.core.ui.layout import page_loader, shell
from app.core.ui.list_page import head_script as list_head_script
from app.core.ui.list_page import list_page
from app.core.ui.list_state import ListState
from app.core.ui.signin import field_error, message_box, method_form_parts, method_switch
from app.core.ui.widgets import forbidden_box, resource_label


class LoginState(AuthState):
    """The sign-in page's state: only whether to offer the registration link. Signing in itself
    is an HTTP request from the form (:mod:`app.core.ui.signin`), never a WebSocket event."""

    #: "" until the backend answered, then "open" or "closed".
    registration: str = ""

    @rx.event
    def on_open(self):
        try:
            with ui_session() as db:
                self.registration = "open" if auth_service.registration_policy(db).open else "closed"
        except PultError:
            self.registration = "closed"


def _card_head(title_key: str) -> list[rx.Component]:
    return [rx.hstack(rx.icon("gauge", size=26), rx.heading(tr("app.title"), size="6"), align="center"),
            rx.text(tr(title_key), size="3", color_scheme="gray")]


def _card(body: rx.Component, width: str) -> rx.Component:
    return rx.center(rx.card(body, width=width, max_width="calc(100vw - 2em)", padding="1.5em"), min_height="100vh")


def auth_card(title_key: str, kind: str, *children: rx.Component, width: str = "22em", attrs: dict | None = None) -> rx.Component:
    """The centred card that holds the sign-in and registration forms: a plain ``<form>`` posted
    over HTTP by :mod:`app.core.ui.signin` (``data-pult-auth=kind``)."""
    return _card(
        rx.el.form(
            rx.vstack(*_card_head(title_key), *children, spacing="3", width="100%"),
            method="post", id=f"{kind}-form", width="100%",
            custom_attrs={"data-pult-auth": kind, **(attrs or {})},
        ),
        width,
    )


def _lang_and_theme() -> rx.Component:
    return rx.hstack(rx.spacer(), rx.button(rx.cond(AuthState.lang == "en", "RU", "EN"), variant="ghost", size="1", on_click=AuthState.toggle_lang, type="button"), rx.color_mode.button(size="1", variant="ghost", type="button"), width="100%")


def _register_slot() -> rx.Component:
    return rx.box(
        rx.cond(LoginState.registration == "open", rx.link(tr("register"), href="/register", size="2", id="register-link")),
        id="register-slot", custom_attrs={"data-state": LoginState.registration},
    )


def login_page() -> rx.Component:
    """Generated from the registered sign-in methods (:mod:`app.core.login_methods`): one form per
    method with the fields it declares, and the steps a challenge asks for filled in by the page's
    script from the API's answer. With the password alone it is the plain username/password card;
    with more methods, buttons above the forms switch between them."""
    all_methods = login_methods.methods()
    first = all_methods[0].name
    if len(all_methods) == 1:
        return auth_card("login", "login", *method_form_parts(all_methods[0], first), _register_slot(), _lang_and_theme(),
                         attrs={"data-pult-method": first})
    forms = [
        rx.el.form(
            rx.vstack(*method_form_parts(m, first), spacing="3", width="100%"),
            method="post", id="login-form" if m.name == first else f"login-{m.name}-form", width="100%",
            custom_attrs={"data-pult-auth": "login", "data-pult-method": m.name},
            style={} if m.name == first else {"display": "none"},
        )
        for m in all_methods
    ]
    return _card(rx.vstack(*_card_head("login"), method_switch(all_methods, first), *forms, _register_slot(), _lang_and_theme(),
                           spacing="3", width="100%"), "22em")


def home_page() -> rx.Component:
    cards = []
    for panel in PANELS.values():
        for res in panel.resources:
            if not res.menu:
                continue
            cards.append(rx.cond(
                AuthState.menu.contains(res.key()),
                rx.link(
                    rx.card(rx.hstack(rx.icon(res.icon, size=28), rx.vstack(rx.heading(resource_label(res.key()), size="4"), rx.text(tr(panel.label), size="1", color_scheme="gray"), spacing="1"), align="center", spacing="3"), width="100%", _hover={"box_shadow": "0 2px 10px rgba(0,0,0,0.08)"}),
                    href=res.url(), underline="none", color=rx.color("gray", 12),
                ),
            ))
        for page in panel.pages:
            if page.menu:
                cards.append(rx.cond(
                    AuthState.menu.contains(page.route),
                    rx.link(rx.card(rx.hstack(rx.icon(page.icon, size=28), rx.heading(tr(page.title), size="4"), align="center", spacing="3"), width="100%"), href=page.route, underline="none", color=rx.color("gray", 12)),
                ))
    return shell(rx.vstack(rx.heading(rx.cond(AuthState.lang == "en", "Welcome, ", "Здравствуйте, "), AuthState.full_name, size="6"), rx.grid(*cards, columns=rx.breakpoints(initial="1", sm="2", lg="3"), spacing="4", width="100%"), spacing="5", width="100%"))


def page_title(key: str) -> str:
    """The browser tab's title in the default language ("Пульт — Номера"), never a raw key."""
    from app.core.i18n import DEFAULT_LANG, t

    return f"{t('app.title', DEFAULT_LANG)} — {t(key, DEFAULT_LANG)}"


def register_pages(app: rx.App) -> None:
    """Add login, home, and list/new/detail/edit pages for every resource, plus panels' custom pages."""
    # Sign-in, registration and sign-out post over HTTP from a script in every page's head.
    app.head_components.append(signin.head_script())
    app.head_components.append(list_head_script())  # Back/Forward between a list's own history entries
    app.add_page(login_page, route="/login", title="Пульт — вход", on_load=LoginState.on_open)
    # Always routed: whether registration is open is the admin's runtime choice (the page says so).
    app.add_page(register_page, route="/register", title="Пульт — регистрация", on_load=RegisterState.on_open)
    app.add_page(home_page, route="/", title="Пульт", on_load=[AuthState.require_login, BellState.load])
    for panel in PANELS.values():
        for res in panel.resources:
            base = res.url()
            title = page_title(res.label or res.slug)
            app.add_page(lambda r=res: shell(list_page(r)), route=base, title=title, on_load=[AuthState.require_login, BellState.load, ListState.load(res.key())])
            app.add_page(lambda r=res: shell(detail_page(r)), route=f"{base}/[id]", title=title, on_load=[AuthState.require_login, BellState.load, DetailState.load(res.key())])
            if "create" in res.operations:
                app.add_page(lambda r=res: shell(import_page(r)), route=f"{base}/import", title=title, on_load=[AuthState.require_login, BellState.load, ImportState.load(res.key())])
                app.add_page(lambda r=res: shell(form_page(r, False)), route=f"{base}/new", title=title, on_load=[AuthState.require_login, BellState.load, FormState.load(res.key(), False)])
            if "update" in res.operations:
                app.add_page(lambda r=res: shell(form_page(r, True)), route=f"{base}/[id]/edit", title=title, on_load=[AuthState.require_login, BellState.load, FormState.load(res.key(), True)])
        for page in panel.pages:
            # The kit checks the page's permission before the page's own on_load runs
            # (AuthState.enter_page) and shows "not allowed" in its place.
            PAGE_GATES[page.route] = (page.perm, import_ref(page.on_load) if page.on_load is not None else None)
            on_load = [AuthState.require_login, BellState.load, AuthState.enter_page(page.route)]
            component = import_ref(page.component)
            app.add_page(lambda c=component: shell(rx.cond(AuthState.page_denied, forbidden_box(), c())), route=page.route,
                         title=page_title(page.title), on_load=on_load)


class RegisterState(AuthState):
    """The registration page's state: whether registration is open. The form itself posts over
    HTTP (:mod:`app.core.ui.signin`); ``/api/auth/register`` decides and explains."""

    #: "" until the backend answered, then "open" or "closed".
    reg_state: str = ""

    @rx.event
    def on_open(self):
        try:
            with ui_session() as db:
                self.reg_state = "open" if auth_service.registration_policy(db).open else "closed"
        except PultError as exc:
            self.reg_state = "closed"
            return self.fail(exc)


def _reg_field(name: str, label_key: str, kind: str = "text") -> rx.Component:
    return rx.vstack(
        rx.text(tr(label_key), size="2", weight="medium"),
        rx.input(name=name, id=f"register-{name}", type=kind, width="100%", auto_complete="new-password" if kind == "password" else "off"),
        field_error(name, f"register-error-{name}"),
        spacing="1", width="100%",
    )


def register_page() -> rx.Component:
    """The form when registration is open; a plain explanation (not a 404) when it is closed."""
    form = auth_card(
        "register", "register",
        _reg_field("username", "login.username"),
        _reg_field("full_name", "field.full_name"),
        _reg_field("password", "login.password", "password"),
        _reg_field("password2", "register.password2", "password"),
        message_box("register-message"),
        rx.button(tr("register.submit"), type="submit", width="100%", size="3", id="register-submit"),
        rx.link(tr("register.have_account"), href="/login", size="2"),
        width="24em",
    )
    closed = rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(rx.icon("gauge", size=26), rx.heading(tr("app.title"), size="6"), align="center"),
                rx.callout(tr("register.closed"), icon="lock", color_scheme="gray", id="register-closed", width="100%"),
                rx.link(tr("register.have_account"), href="/login", size="2"),
                spacing="3", width="100%",
            ),
            width="24em", max_width="calc(100vw - 2em)", padding="1.5em",
        ),
        min_height="100vh",
    )
    return rx.match(RegisterState.reg_state, ("open", form), ("closed", closed), page_loader())
