"""The login page is generated from the registered sign-in methods (issue 9): with the password
alone it is the plain card with the ids the browser tests know; with another method, buttons switch
between one form per method, each holding the fields its declaration names — and nothing in the
page is written for a particular method."""

from __future__ import annotations

import pytest

from app.boot import boot
from app.core import login_methods
from tests import login_fakes


@pytest.fixture()
def page_with(request):
    boot()
    login_fakes.install(sms=False)
    yield
    login_fakes.uninstall()


def _render() -> str:
    from app.core.ui.pages import login_page

    return str(login_page().render())


def test_password_and_telegram_are_the_booted_methods():
    boot()
    assert [m.name for m in login_methods.methods()] == ["password", "telegram"]  # telegram: the built-in panel's approve-login
    html = _render()
    for dom_id in ("login-form", "login-username", "login-password", "login-submit", "login-error", "register-slot",
                   "login-telegram-form", "login-telegram-telegram", "login-method-telegram"):
        assert f'"{dom_id}"' in html, dom_id
    assert html.count('"data-pult-auth":"login"') == 2 and html.count("data-pult-show-method") == 2
    assert '"current-password"' in html and '"username"' in html
    # the step parts are there, hidden, for whatever a challenge asks
    assert "data-pult-step-fields" in html and "dangerouslySetInnerHTML" in html


def test_a_second_method_gets_its_own_form_and_a_switch(page_with):
    html = _render()
    assert html.count('"data-pult-auth":"login"') == 3
    for dom_id in ("login-form", "login-username", "login-password", "login-submit", "login-approve-form",
                   "login-approve-username", "login-approve-submit", "login-method-password", "login-method-approve"):
        assert f'"{dom_id}"' in html, dom_id
    assert "login-approve-password" not in html  # only the fields the method declares
    assert html.count("data-pult-show-method") == 3


def test_the_page_script_names_no_method():
    from app.core.ui.signin import script_source

    src = script_source()
    assert "/api/auth/login/" in src and "data-pult-step-fields" in src
    src = src.replace('spec.kind === "password" ? "password"', "")  # a field kind (hidden input), not the method
    for name in ("password", "totp", "telegram", "sms", "approve"):
        assert f'"{name}"' not in src and f"'{name}'" not in src, name


def test_login_field_kinds_are_checked():
    with pytest.raises(ValueError, match="kind"):
        login_methods.LoginField("code", "login.code", kind="otp")
