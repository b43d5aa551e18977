"""Loaded into an extra server by ``PULT_JOB_MODULES`` (tests/e2e/test_signin_steps.py): the
test-only ``sms`` second factor of :mod:`tests.login_fakes`, for accounts named ``sms_…``."""

from tests.login_fakes import install

install(approve_method=False)
