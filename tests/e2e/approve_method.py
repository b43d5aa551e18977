"""Loaded into a server of its own by ``PULT_JOB_MODULES`` (tests/e2e/test_signin_methods.py): the
test-only ``approve`` sign-in method of :mod:`tests.login_fakes` (a username, then the page waits
while the request is approved elsewhere, as Telegram approve-login does)."""

from tests.login_fakes import install

install(sms=False)
