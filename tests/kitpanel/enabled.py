"""Importing this module registers the fixture panel: how a job worker started by the tests gets it
(``PULT_JOB_MODULES=...,tests.kitpanel.enabled``; ``app.boot`` imports job modules before its checks)."""

from tests.kitpanel import enable

enable()
