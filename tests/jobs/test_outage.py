"""Starting a job while Redis or PostgreSQL is down answers "service unavailable" (503, a message
in the user's language) and records nothing — never a 500. The dead servers are real: a port
nothing listens on."""

from __future__ import annotations

import socket
from contextlib import contextmanager

import pytest
import redis
from sqlalchemy import create_engine, make_url
from sqlmodel import Session, select

from app.core import jobs, kit_jobs
from app.core import redis as kit_redis
from app.core.errors import ServiceUnavailable
from app.core.i18n import t
from models.jobs import JobRun
from models.numbers import NumberTransfer

#: The kit's own resources in these tests are the fixture panel's (tests/kitpanel).
pytestmark = pytest.mark.usefixtures("kitpanel")


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


@contextmanager
def redis_down():
    previous = kit_redis._client
    kit_redis.set_redis(redis.Redis.from_url(f"redis://127.0.0.1:{dead_port()}/0", decode_responses=True))
    try:
        yield
    finally:
        kit_redis.set_redis(previous)


def test_enqueue_with_redis_down_is_503_and_records_nothing(db, users, redis_conn, kit_data):
    with redis_down():
        with pytest.raises(ServiceUnavailable) as info:
            jobs.enqueue(db, users["admin"], "test.count", {})
        assert info.value.status_code == 503 and info.value.message("en") == t("error.unavailable", "en")
        with pytest.raises(ServiceUnavailable):
            kit_jobs.enqueue_action(db, users["user"], "kitpanel.orders", "issue", ["1"])
    db.rollback()
    assert db.exec(select(JobRun)).all() == [] and db.exec(select(NumberTransfer)).all() == []  # no history row either


def test_enqueue_with_postgresql_down_is_503(users, redis_conn, engine):
    url = make_url(engine.url.render_as_string(hide_password=False)).set(port=dead_port())
    dead = create_engine(url)
    with Session(dead) as db, pytest.raises(ServiceUnavailable):
        jobs.enqueue(db, users["admin"], "test.count", {})
    dead.dispose()


def test_the_page_shows_a_toast_and_the_api_answers_503(db, users, redis_conn):
    import reflex as rx
    from fastapi.testclient import TestClient

    from app.core import auth
    from app.core.api import build_api
    from app.core.ui.base import AuthState
    from app.core.ui.list_state import ListState
    from tests.uistate import sign_in

    token = auth.login(db, "admin", "admin-pass")
    lst = rx.State(_reflex_internal_init=True).substates[AuthState.get_name()].substates[ListState.get_name()]
    sign_in(lst, token)
    lst.res_key = "kitpanel.items"
    with TestClient(build_api()) as client, redis_down():
        toast = lst.export("csv")
        response = client.post("/api/numbers/export", json={"filters": {}, "search": ""},
                               headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"})
    assert t("error.unavailable") in repr(toast)
    assert response.status_code == 503, response.text
    assert response.json()["detail"] == t("error.unavailable", "en")
    db.rollback()
    assert db.exec(select(JobRun)).all() == [] and db.exec(select(NumberTransfer)).all() == []  # no history row either
