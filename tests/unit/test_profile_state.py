"""Профиль и вход through its own Reflex handlers (as the browser calls them), with a real
server-side session: TOTP enrolment shows the QR code once and needs a right code, recovery codes
appear once, a wrong code shows under the field; the Telegram link code is checked; an IP
allowlist the user's role is outside of ends the page's session too."""

from __future__ import annotations

import time

import pyotp
import reflex as rx
from sqlmodel import select

from app.core import auth
from app.core.ui.base import AuthState
from models.core import Setting, User
from tests.uistate import sign_in


def _state(token: str):
    from app.panels.admin.profile import ProfileState

    root = rx.State(_reflex_internal_init=True)
    state = root.substates[AuthState.get_name()].substates[ProfileState.get_name()]
    sign_in(state, token)
    return state


def test_enrol_confirm_codes_and_wrong_codes(db, users):
    token = auth.login(db, "manager", "manager-pass")
    s = _state(token)
    s.load()
    assert s.loaded and not s.mfa_on and s.qr == ""
    s.start_enrol()
    assert s.qr.startswith("data:image/svg+xml") and len(s.secret_text.replace(" ", "")) == 32
    secret = s.secret_text.replace(" ", "")
    s.code = "000000"
    s.confirm_enrol()
    assert s.code_error == "Неверный или уже использованный код" and not s.mfa_on
    s.code = pyotp.TOTP(secret).at(time.time() - 30)
    s.confirm_enrol()
    assert s.mfa_on and len(s.codes) == 10 and s.qr == "" and s.secret_text == "" and s.codes_left == 10
    db.expire_all()
    assert db.exec(select(User).where(User.username == "manager")).one().totp_enabled_at is not None
    s.load()  # leaving and coming back: the codes are not shown again
    assert s.codes == []
    s.code = "nope"
    s.disable()
    assert s.code_error == "Неверный или уже использованный код" and s.mfa_on
    s.code = pyotp.TOTP(secret).now()
    s.disable()
    assert not s.mfa_on and s.code_error == ""


def test_link_code_is_checked(db, users):
    s = _state(auth.login(db, "user", "user-pass"))
    s.load()
    assert not s.tg_linked
    s.link_code = "ZZZZZZZZ"
    s.link()
    assert s.link_error == "Код неверный или устарел — напишите боту /start ещё раз" and not s.tg_linked


def test_an_allowlist_ends_the_page_session(db, users):
    s = _state(auth.login(db, "user", "user-pass"))
    s.load()
    assert s.loaded
    db.add(Setting(key="security.ip_allowlist", value="stock.user: 10.0.0.0/8"))
    db.commit()
    s.loaded = False
    out = s.load()  # the handshake's address is unknown here: refused for a restricted role
    assert not s.loaded and out is not None
