"""Fixtures for the REST API tests: one FastAPI app for the session, a client per test, logins.

The app is built once (``build_api`` walks the registry); each test gets a fresh ``TestClient``
over the clean database of ``tests/conftest.py``. Users sign in through ``POST /api/auth/login``
like any API client; the helper returns ``Authorization`` headers and drops the session cookie
the client would otherwise keep, so one client can act as several users in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def api_app(engine, redis_conn):
    """The API of the real panels: built without the fixture panel even when the module that first
    asks for it has it registered (the permission matrix and schemathesis walk this app)."""
    import tests.kitpanel as kp
    from app.core.api import build_api

    with kp.set_aside():
        return build_api()


@pytest.fixture(scope="module")
def kit_api_app(kitpanel, engine, redis_conn):
    """The API with the fixture panel (``tests/kitpanel``) too, for a module that uses it."""
    from app.core.api import build_api

    return build_api()


@pytest.fixture()
def client(request, api_app, clean) -> Iterator[TestClient]:
    """A client of ``api_app``, or of ``kit_api_app`` in a module that registered the fixture panel."""
    import tests.kitpanel as kp

    app = request.getfixturevalue("kit_api_app") if kp.enabled() else api_app
    with TestClient(app) as c:
        yield c


@pytest.fixture()
def login(client, users) -> Callable[[str], dict[str, str]]:
    """``login("manager")`` → ``{"Authorization": "Bearer …"}`` (password ``<role>-pass``)."""
    cache: dict[str, dict[str, str]] = {}

    def do(role: str) -> dict[str, str]:
        if role not in cache:
            r = client.post("/api/auth/login", json={"username": role, "password": f"{role}-pass"})
            assert r.status_code == 200, r.text
            client.cookies.clear()
            cache[role] = {"Authorization": f"Bearer {r.json()['token']}"}
        return cache[role]

    return do
