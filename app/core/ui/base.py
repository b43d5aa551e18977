"""The root UI state: who is signed in, in which language, and what they may see.

Every page state derives from :class:`AuthState`. Handlers never trust what the browser shows:
each one resolves the session token again (:meth:`AuthState.current_user`) and the services
check ``can`` themselves. The ``perms``/``menu`` vars only decide what to show.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import reflex as rx

from app.core import audit
from app.core import auth as auth_service
from app.core import db as dbm
from app.core.auth import CurrentUser
from app.core.errors import NotAuthenticated, PultError, ValidationFailed
from app.core.i18n import pair, t
from app.core.registry import PANELS


def tr(key: str) -> rx.Var:
    """A label that follows the user's language switch live."""
    ru, en = pair(key)
    return rx.cond(AuthState.lang == "en", en, ru)


@contextmanager
def ui_session() -> Iterator[Any]:
    """A DB session for one UI event, with audit rows marked as coming from the UI."""
    with audit.source("ui"), dbm.session_scope() as db:
        yield db


def menu_keys(user: CurrentUser) -> list[str]:
    """Keys of the sidebar entries ``user`` may open: resource keys and custom page routes."""
    keys = []
    for panel in PANELS.values():
        for res in panel.resources:
            if res().can(user, "view"):
                keys.append(res.key())
        for page in panel.pages:
            if page.perm is None or user.has_perm(page.perm):
                keys.append(page.route)
    return keys


class AuthState(rx.State):
    token: str = rx.Cookie("", name="pult_session", same_site="lax", max_age=7 * 24 * 3600, path="/")
    lang: str = rx.LocalStorage("ru", name="pult_lang", sync=True)
    username: str = ""
    full_name: str = ""
    role: str = ""
    menu: list[str] = []
    signed_in: bool = False

    def current_user(self) -> CurrentUser:
        """The signed-in user, checked against the server-side session on every call."""
        with dbm.session_scope() as db:
            return auth_service.resolve(db, self.token)

    def _remember(self, user: CurrentUser) -> None:
        self.username, self.full_name, self.role = user.username, user.full_name or user.username, user.role
        self.menu = menu_keys(user)
        self.signed_in = True

    def _to_login(self) -> rx.event.EventSpec:
        self.signed_in = False
        path = self.router.url.path or "/"
        return rx.redirect(f"/login?next={path}" if path not in ("/login", "/") else "/login")

    @rx.event
    def require_login(self):
        """``on_load`` of every page but /login: back to the login form when the session is gone."""
        try:
            user = self.current_user()
        except NotAuthenticated:
            return self._to_login()
        self._remember(user)

    @rx.event
    def logout(self):
        with ui_session() as db:
            auth_service.logout(db, self.token)
        self.token = ""
        self.signed_in = False
        return rx.redirect("/login")

    @rx.event
    def toggle_lang(self):
        self.lang = "en" if self.lang != "en" else "ru"
        return rx.call_script("window.location.reload()")

    # -- helpers for subclasses -------------------------------------------------
    def fail(self, exc: Exception) -> rx.event.EventSpec:
        """Turn a service error into a toast (and a login redirect when the session ended)."""
        if isinstance(exc, NotAuthenticated):
            return self._to_login()
        if isinstance(exc, ValidationFailed):
            messages = exc.messages(self.lang)
            text = messages.get("") or next(iter(messages.values()), exc.message(self.lang))
            return rx.toast.error(text)
        if isinstance(exc, PultError):
            return rx.toast.error(exc.message(self.lang))
        raise exc

    def t(self, key: str, **params: object) -> str:
        return t(key, self.lang, **params)


def set_url(path: str, query: dict[str, str]) -> rx.event.EventSpec:
    """Replace the address bar (filters, sort, page kept in the URL) without a navigation."""
    from urllib.parse import urlencode

    qs = urlencode({k: v for k, v in query.items() if v not in ("", None)})
    url = path + ("?" + qs if qs else "")
    return rx.call_script(f"window.history.replaceState(window.history.state, '', {json.dumps(url)})")
