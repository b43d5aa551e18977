"""Signing in, registering and signing out in the browser (issue 8): the form posts over HTTP, so
it works before the page's WebSocket is ready; the session cookie is HttpOnly and never part of
the state the page receives; the shell appears only for a confirmed session; registration and
approval follow Administration → Security."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot

EVENT_SOCKET = re.compile(r"/_event")


class SocketGate:
    """Holds the pages' ``/_event`` WebSockets (the page sees a socket that never finishes its
    handshake, as when the backend is busy) until :meth:`release`; later sockets go through."""

    def __init__(self, page) -> None:
        self.held = True
        self.connected = 0
        page.route_web_socket(EVENT_SOCKET, self._route)

    def _route(self, ws) -> None:
        if not self.held:
            ws.connect_to_server()
            self.connected += 1

    def release(self) -> None:
        self.held = False


# The orders path itself: a bare /stock/orders/?$ also matches /login/?next=/stock/orders.
ORDERS = re.compile(r"^https?://[^/?]+/stock/orders/?$")


def _rows(page):
    return page.locator("#list-table tbody tr")


def test_login_with_next_lands_on_the_orders_list(page):
    page.goto("/login?next=/stock/orders")
    page.fill("#login-username", "manager")
    page.fill("#login-password", "manager")
    page.click("#login-submit")
    page.wait_for_url(ORDERS)
    expect(page.locator("#current-user")).to_have_text("Менеджер Демо")
    expect(_rows(page).first).to_be_visible()
    assert _rows(page).count() > 1


def test_submit_before_the_socket_is_ready(page):
    """The login page's WebSocket never connects; the sign-in still lands on ``next`` with rows."""
    gate = SocketGate(page)
    page.goto("/login?next=/stock/orders")
    page.fill("#login-username", "manager")
    page.fill("#login-password", "manager")
    assert gate.connected == 0  # the login page has no working socket ...
    gate.release()  # ... and keeps none: only sockets opened from now on (the next page's) get through
    page.click("#login-submit")
    page.wait_for_url(ORDERS)
    expect(page.locator("#current-user")).to_have_text("Менеджер Демо")
    expect(_rows(page).first).to_be_visible()
    assert gate.connected >= 1


def test_submit_on_dom_content_loaded(page):
    """Submitted by a script the moment the HTML is parsed, before React or the socket is up."""
    page.add_init_script("""
        document.addEventListener('DOMContentLoaded', () => {
          const form = document.querySelector('form[data-pult-auth=login]');
          if (!form || sessionStorage.getItem('submitted')) return;
          sessionStorage.setItem('submitted', '1');
          form.querySelector('[name=username]').value = 'manager';
          form.querySelector('[name=password]').value = 'manager';
          form.requestSubmit();
        });
    """)
    page.goto("/login?next=/stock/orders", wait_until="commit")
    page.wait_for_url(ORDERS)
    expect(_rows(page).first).to_be_visible()


def test_next_is_only_a_local_path(page):
    page.goto("/login?next=//evil.example/steal")
    page.fill("#login-username", "user")
    page.fill("#login-password", "user")
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"127\.0\.0\.1:\d+/$"))
    expect(page.locator("#current-user")).to_be_visible()


def test_wrong_password_shows_the_message_on_the_form(page):
    page.goto("/login")
    page.fill("#login-username", f"nobody_{uuid.uuid4().hex[:6]}")
    page.fill("#login-password", "nope")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_have_text("Неверный логин или пароль")
    expect(page).to_have_url(re.compile(r"/login"))


def test_session_cookie_is_httponly_and_never_in_the_page_state(page):
    frames: list[str] = []

    def watch(ws) -> None:
        for event in ("framereceived", "framesent"):
            ws.on(event, lambda payload: frames.append(payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))

    page.on("websocket", watch)
    login(page, "admin", "admin")
    page.goto("/stock/orders")
    expect(_rows(page).first).to_be_visible()
    page.goto("/admin/users")
    expect(_rows(page).first).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "pult_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # plain http here
    assert "pult_session" not in page.evaluate("document.cookie")
    assert len(frames) > 5 and any("admin" in f for f in frames)  # the state did arrive over the socket ...
    assert not [f for f in frames if cookie["value"] in f or "pult_session" in f]  # ... without the token


def test_signed_out_visitor_never_sees_the_shell(page):
    gate = SocketGate(page)
    page.goto("/")
    expect(page.locator("#page-loader")).to_be_visible()
    expect(page.locator("#logout")).to_have_count(0)
    expect(page.get_by_text("Выйти")).to_have_count(0)
    shot(page, "signin-loader")
    gate.release()
    page.reload()
    page.wait_for_url(re.compile(r"/login"))
    expect(page.locator("#logout")).to_have_count(0)


def test_logout_clears_the_cookie_and_a_second_tab_is_signed_out(page):
    login(page, "user", "user")
    other = page.context.new_page()
    other.goto("/stock/products")
    expect(other.locator("#current-user")).to_be_visible()
    page.locator("#logout").click()
    page.wait_for_url(re.compile(r"/login"))
    assert not [c for c in page.context.cookies() if c["name"] == "pult_session"]
    other.goto("/stock/products")
    other.wait_for_url(re.compile(r"/login\?next=/stock/products"))
    other.close()


@pytest.fixture()
def policy(server_services):
    """Set the registration switches on the server under test; put the demo's back afterwards."""
    from app.core import auth
    from app.core import db as dbm

    def set_(open_: bool, approval: bool) -> None:
        with dbm.session_scope() as db:
            auth.save_registration_policy(db, None, open_, approval)

    yield set_
    set_(True, False)


def test_security_page_switches_registration_off_and_on(browser, app_url, page, policy, e2e_engine):
    login(page, "admin", "admin")
    page.goto("/admin/security")
    switch = page.locator("#sec-registration")
    expect(switch).to_have_attribute("data-state", "checked")
    shot(page, "security-settings")
    switch.click()
    page.locator("#sec-save").click()
    expect(page.get_by_text("Сохранено")).to_be_visible()
    with e2e_engine.connect() as c:
        assert c.execute(text("SELECT value FROM setting WHERE key = 'security.registration'")).scalar() is False
        diff = c.execute(text("SELECT diff FROM audit_log WHERE entity_type = 'setting' AND entity_id = 'security' ORDER BY id DESC LIMIT 1")).scalar()
        assert diff == {"registration": [True, False]}

    visitor = browser.new_context(base_url=app_url, locale="ru-RU")
    try:
        v = visitor.new_page()
        v.goto("/login")
        expect(v.locator("#register-slot")).to_have_attribute("data-state", "closed")
        expect(v.locator("#register-link")).to_have_count(0)
        v.goto("/register")
        expect(v.locator("#register-closed")).to_contain_text("Регистрация отключена")
        r = v.request.post("/api/auth/register", data={"username": "latecomer", "password": "long-enough-1"},
                           headers={"X-Pult-Request": "1", "Origin": app_url})
        assert r.status == 403 and "отключена" in r.json()["detail"]
        shot(v, "register-closed")

        page.reload()
        page.locator("#sec-registration").click()
        page.locator("#sec-save").click()
        expect(page.get_by_text("Сохранено")).to_be_visible()
        v.goto("/login")
        expect(v.locator("#register-link")).to_be_visible()
    finally:
        visitor.close()


def test_security_page_is_refused_without_the_permission(page):
    login(page, "manager", "manager")
    page.goto("/admin/security")
    expect(page.locator("#forbidden")).to_be_visible()


def test_registration_with_approval(browser, app_url, page, policy, e2e_engine):
    """A new account waits: it sees why on sign-in; an admin finds it on Users, approves it with a
    role, and then it signs in."""
    policy(True, True)
    username = f"newbie_{uuid.uuid4().hex[:6]}"
    visitor = browser.new_context(base_url=app_url, locale="ru-RU", viewport={"width": 1280, "height": 800})
    try:
        v = visitor.new_page()
        v.goto("/register")
        v.fill("#register-username", username)
        v.fill("#register-full_name", "Новичок")
        v.fill("#register-password", "long-enough-1")
        v.fill("#register-password2", "long-enough-2")
        v.click("#register-submit")
        expect(v.locator("#register-error-password2")).to_have_text("Пароли не совпадают")
        v.fill("#register-password2", "long-enough-1")
        v.click("#register-submit")
        expect(v.locator("#register-message")).to_contain_text("ждёт одобрения")
        shot(v, "register-pending")

        v.goto("/login")
        v.fill("#login-username", username)
        v.fill("#login-password", "long-enough-1")
        v.click("#login-submit")
        expect(v.locator("#login-error")).to_contain_text("ждёт одобрения администратора")
        assert not [c for c in visitor.cookies() if c["name"] == "pult_session"]

        login(page, "admin", "admin")
        page.goto("/admin/users?f_pending=1")
        row = _rows(page).filter(has_text=username)
        expect(row).to_contain_text("Ждёт одобрения")
        shot(page, "users-pending")
        row.get_by_role("button", name="Одобрить").click()
        page.locator("#param-role button[role=combobox]").click()
        page.get_by_role("option", name=re.compile(r"^(stock\.user|Оператор склада)$")).click()
        page.locator("#confirm-ok").click()
        expect(_rows(page).filter(has_text=username)).to_have_count(0)
        with e2e_engine.connect() as c:
            pending, roles = c.execute(text('SELECT pending, roles FROM "user" WHERE username = :u'), {"u": username}).one()
            assert (pending, roles) == (False, ["stock.user"])
            assert c.execute(text("SELECT count(*) FROM audit_log WHERE action = 'approve' AND entity_type = 'admin.users' AND username = 'admin'")).scalar() >= 1

        v.goto("/login")
        v.fill("#login-username", username)
        v.fill("#login-password", "long-enough-1")
        v.click("#login-submit")
        expect(v.locator("#current-user")).to_have_text("Новичок")
    finally:
        visitor.close()
