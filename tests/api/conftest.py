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
    from app.core.api import build_api

    return build_api()


@pytest.fixture()
def client(api_app, clean) -> Iterator[TestClient]:
    with TestClient(api_app) as c:
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
