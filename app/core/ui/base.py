"""The root UI state: who is signed in, in which language, and what they may see.

Every page state derives from :class:`AuthState`. Handlers never trust what the browser shows:
each one resolves the session token again (:meth:`AuthState.current_user`) and the services
check ``can`` themselves. The ``perms``/``menu`` vars only decide what to show.

The session token is not a state var. It lives in the HttpOnly ``pult_session`` cookie that the
sign-in answer sets over HTTP (:func:`app.core.api.set_session_cookie`), and the backend reads it
from the Cookie header of the page's WebSocket handshake (:meth:`AuthState.session_token`):
Reflex keeps that header server-side and never serialises it into the state the browser gets.
Signing in or out navigates the whole page, so the next WebSocket carries the new cookie.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import reflex as rx

from app.core import audit
from app.core import auth as auth_service
from app.core import db as dbm
from app.core.auth import CurrentUser
from app.core.config import SESSION_COOKIE
from app.core.errors import NotAuthenticated, PultError, ServiceUnavailable, ValidationFailed, outage_is_unavailable
from app.core.i18n import pair, t
from app.core.registry import PANELS


def tr(key: str) -> rx.Var:
    """A label that follows the user's language switch live."""
    ru, en = pair(key)
    return rx.cond(AuthState.lang == "en", en, ru)


@contextmanager
def ui_session() -> Iterator[Any]:
    """A DB session for one UI event, with audit rows marked as coming from the UI; an outage
    anywhere inside becomes :class:`ServiceUnavailable`."""
    with outage_is_unavailable(), audit.source("ui"), dbm.session_scope() as db:
        yield db


def cookie_value(header: str, name: str = SESSION_COOKIE) -> str:
    """One cookie's value from a ``Cookie`` request header ("" when absent).

    Split by hand rather than with ``http.cookies``: one malformed cookie from another app on the
    same host makes ``SimpleCookie`` drop everything after it, ours included.
    """
    for part in (header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return ""


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


#: A panel page's route -> (its permission or None, its state's ``on_load`` handler or None);
#: filled by :func:`app.core.ui.pages.register_pages`, read by :meth:`AuthState.enter_page`.
PAGE_GATES: dict[str, tuple[str | None, Any]] = {}


class AuthState(rx.State):
    lang: str = rx.LocalStorage("ru", name="pult_lang", sync=True)
    username: str = ""
    full_name: str = ""
    roles: list[str] = []
    menu: list[str] = []
    #: True once ``require_login`` confirmed the session on this page: the shell (sidebar, user
    #: menu) renders only then; before, a neutral loader.
    signed_in: bool = False
    #: Why the page could not confirm the session (an outage), shown instead of the loader.
    boot_error: str = ""
    #: The signed-in user lacks the open panel page's permission: the kit shows "not allowed"
    #: instead of the page, and the page's own ``on_load`` never ran (:meth:`enter_page`).
    page_denied: bool = False

    @rx.var
    def role_label(self) -> str:
        """The user's roles as they read in the chosen language ("Менеджер склада, Менеджер номеров")."""
        from app.core.roles import roles_label

        return roles_label(self.roles, self.lang if self.lang in ("ru", "en") else "ru")

    def session_token(self) -> str:
        """The session token from the WebSocket handshake's Cookie header (server-side only)."""
        return cookie_value(self.router.headers.cookie)

    def client_ip(self) -> str | None:
        """The client's address (the WebSocket handshake's peer; forwarded headers only from trusted proxies)."""
        from app.core.net import client_ip

        headers = {k.lower(): v for k, v in (self.router.headers.raw_headers or {}).items()}
        return client_ip(self.router.session.client_ip, headers)

    def current_user(self) -> CurrentUser:
        """The signed-in user, checked against the server-side session (and the role's IP
        allowlist) on every call."""
        with outage_is_unavailable(), dbm.session_scope() as db:
            return auth_service.resolve(db, self.session_token(), ip=self.client_ip())

    def _remember(self, user: CurrentUser) -> None:
        self.username, self.full_name, self.roles = user.username, user.full_name or user.username, list(user.roles)
        self.menu = menu_keys(user)
        self.signed_in, self.boot_error = True, ""

    def _to_login(self) -> rx.event.EventSpec:
        self.signed_in = False
        url = self.router.url
        path = url.path or "/"
        if path in ("/login", "/"):
            return rx.redirect("/login")
        nxt = path + (f"?{url.query}" if url.query else "")
        return rx.redirect("/login?next=" + quote(nxt, safe="/"))

    @rx.event
    def require_login(self):
        """``on_load`` of every page but /login: back to the login form when the session is gone.
        The shell shows only when this confirmed the session (an outage shows its message instead)."""
        self.signed_in = False
        try:
            user = self.current_user()
        except NotAuthenticated:
            return self._to_login()
        except ServiceUnavailable as exc:
            self.boot_error = exc.message(self.lang)
            return self.fail(exc)
        self._remember(user)

    @rx.event
    def enter_page(self, route: str):
        """``on_load`` of a panel's own page, after :meth:`require_login`: the kit checks the page's
        permission (``Page(perm=...)``) and only then runs the page's ``on_load``, so a page never
        loads data for someone it would refuse and never has to check by hand. Its handlers still
        check on the server, as every handler does."""
        perm, load = PAGE_GATES.get(route, (None, None))
        self.page_denied = False
        if not self.signed_in:
            return None
        if perm:
            try:
                user = self.current_user()
            except PultError as exc:
                return self.fail(exc)
            if not user.has_perm(perm):
                self.page_denied = True
                return None
        return load

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
            return rx.toast.error(text, id=ERROR_TOAST)
        if isinstance(exc, PultError):
            return rx.toast.error(exc.message(self.lang), id=ERROR_TOAST)
        raise exc

    def ok(self, message: str, **kwargs: Any) -> list[rx.event.EventSpec]:
        """A success toast that also takes away the error toast an earlier attempt left (a
        successful save must not sit beside "could not save")."""
        return ok_toast(message, **kwargs)

    def t(self, key: str, **params: object) -> str:
        return t(key, self.lang, **params)


#: The one id of error toasts: a new error replaces the last one, a success dismisses it.
ERROR_TOAST = "pult-error"


def ok_toast(message: str, **kwargs: Any) -> list[rx.event.EventSpec]:
    """See :meth:`AuthState.ok` (for states that are not an AuthState)."""
    return [rx.toast.dismiss(ERROR_TOAST), rx.toast.success(message, **kwargs)]


def set_url(path: str, query: dict[str, str]) -> rx.event.EventSpec:
    """Replace the address bar (filters, sort, page kept in the URL) without a navigation."""
    from urllib.parse import urlencode

    qs = urlencode({k: v for k, v in query.items() if v not in ("", None)})
    url = path + ("?" + qs if qs else "")
    return rx.call_script(f"window.history.replaceState(window.history.state, '', {json.dumps(url)})")


def push_url(path: str, query: dict[str, str]) -> rx.event.EventSpec:
    """Open ``path?query`` as a new browser history entry (Back returns to the view before),
    without a navigation: the state already shows that view. Back and Forward are navigations of
    the router, which runs the page's ``on_load`` on the entry's URL (the view comes back from it).

    Not ``rx.redirect``: a navigation per filter change re-ran ``on_load`` for a view on screen,
    and a quick Back could cancel (supersede) that chain and leave the page out of step with the URL."""
    return rx.call_script(f"window.history.pushState(window.history.state, '', {json.dumps(url_of(path, query))})")


def url_of(path: str, query: dict[str, str]) -> str:
    """``path`` with the non-empty ``query`` values (the form the address bar shows)."""
    from urllib.parse import urlencode

    qs = urlencode({k: v for k, v in query.items() if v not in ("", None)})
    return path + ("?" + qs if qs else "")

