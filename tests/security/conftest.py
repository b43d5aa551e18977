"""Fixtures for the HTTP-layer security tests: the API app behind the security headers, as the
Reflex app serves it (``api_transformer=[build_api(), secure_app]``), and a client per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def http_app(engine, redis_conn):
    from app.core.api import build_api
    from app.core.http_security import secure_app

    return secure_app(build_api())


@pytest.fixture()
def client(http_app, clean) -> Iterator[TestClient]:
    with TestClient(http_app) as c:
        yield c
