"""schemathesis against ``/api/openapi.json``: no input makes the API answer 500, and every answer
is what the spec says (status code, content type, JSON shape).

The whole generated API (every panel's routes, the kit's auth, jobs and webhook routes) is fuzzed
through the ASGI app ``build_api()`` returns, on the suite's real PostgreSQL and Redis, as two
users: an admin (everything allowed, so bodies reach the services and the database) and a plain
``user`` (few permissions, so most answers are refusals that must be documented too).

Bounded by example counts, not by time (no timed assertion): a few random cases per operation,
plus schemathesis' coverage cases (boundary values, wrong types, NUL bytes, huge numbers) for the
hand-written routes and one resource of each shape (``DEEP``) — about two minutes in all on a
quiet host.

Safe to fuzz: the database is the suite's own and is emptied before the module and after it;
workers do not run (queued jobs stay queued). Left out: ``/api/auth/logout`` (it would end the
fuzzing session itself) and the SFTP host's ``test_connection`` (it dials whatever host a fuzzed
record names). What the fuzz changes about its own user (a new password ends its sessions, a role
edited by an admin loses permissions) is undone before the next case.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text
from sqlmodel import Session, select

from app.core.api import build_api

#: The fuzzing users' roles (as the fixture users have them).
FIXTURE_ROLES = {"admin": ("admin",), "manager": ("stock.manager", "numbers.manager"), "user": ("stock.user",)}

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Operations that would end the fuzzing itself or reach outside the machine.
SKIPPED = {"path": "/api/auth/logout", "path_regex": r"/actions/test_connection$|/settings/telegram/(check|actions/send_test)$"}
#: Resources whose generated routes get schemathesis' coverage cases too: one of each key type
#: (integer, bigint, smallint, text), money, enums, relations, phones, secrets, passwords, job and
#: immediate bulk actions. The other resources' routes are the same kit code with other columns:
#: random cases suffice there. Hand-written routes (auth, jobs, panel routers) all get coverage.
DEEP = ("stock/products", "stock/orders", "numbers/numbers", "numbers/statuses", "numbers/sftp", "admin/roles", "admin/users")
_GENERATED = re.compile(r"^/api/(admin|stock|numbers)/[a-z_]+(/|$)")


def _deep(ctx) -> bool:  # noqa: ANN001 - schemathesis' filter context
    path = ctx.operation.path
    generated = _GENERATED.match(path) and ctx.operation.tags and "." in ctx.operation.tags[0]
    return not generated or any(path.startswith(f"/api/{key}") for key in DEEP)


def _schema(phases: list[str], examples: int, deep: bool | None = None):  # noqa: ANN202
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", build_api())
    schema.config.phases.update(phases=phases)
    schema.config.generation.update(max_examples=examples)
    schema = schema.exclude(path=SKIPPED["path"]).exclude(path_regex=SKIPPED["path_regex"])
    if deep is True:
        return schema.include(_deep)
    return schema.exclude(_deep) if deep is False else schema


#: The admin reaches every service: schemathesis' coverage cases (boundaries, wrong types, huge
#: numbers, NUL bytes, far dates) for every parameter of the routes above, random cases for all.
ADMIN_DEEP = _schema(["examples", "coverage", "fuzzing"], 3, deep=True)
ADMIN = _schema(["examples", "fuzzing"], 5, deep=False)
#: A plain user is refused almost everywhere: the refusals must be documented too; random cases suffice.
USER = _schema(["examples", "fuzzing"], 3)
SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
#: Writes after which the fuzzing user may have lost its session or permissions (a new password,
#: a role edited): signed in again before the next case.
_SELF_HARM = re.compile(r"^/api/admin/(users|roles|settings/security)")


class Fuzzer:
    """The signed-in fuzzing users; ``headers(role)`` heals what the last case may have done to them."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.tokens: dict[str, str] = {}

    def headers(self, role: str) -> dict[str, str]:
        if role not in self.tokens:
            self.heal(role)
        return {"Authorization": f"Bearer {self.tokens[role]}", "Accept-Language": "en"}

    def after(self, role: str, case, response) -> None:  # noqa: ANN001
        if response.status_code == 401 or (case.method.upper() != "GET" and _SELF_HARM.match(case.path)):
            self.tokens.pop(role, None)

    def heal(self, role: str) -> None:
        from app.core import auth
        from app.core.setup import sync_roles
        from models.core import User

        with Session(self.engine, expire_on_commit=False) as db:
            sync_roles(db)  # an admin case may have taken permissions from a built-in role
            # an admin case may have saved an IP allowlist the test client is not in
            db.execute(text("DELETE FROM setting WHERE key = 'security.ip_allowlist'"))
            user = db.exec(select(User).where(User.username == f"fuzz_{role}")).one()
            user.roles, user.is_active, user.deleted_at = list(FIXTURE_ROLES[role]), True, None
            user.hashed_password = auth.hash_password(f"fuzz-{role}-pass")
            db.commit()
            self.tokens[role] = auth.login(db, user.username, f"fuzz-{role}-pass")


@pytest.fixture(scope="module")
def fuzzer(engine, redis_conn) -> Iterator[Fuzzer]:
    from passlib.context import CryptContext

    from app.core import auth
    from tests.conftest import _truncate

    with pytest.MonkeyPatch.context() as mp:
        cheap = CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=64, argon2__rounds=1)
        mp.setattr(auth, "pwd_context", cheap)
        mp.setattr(auth, "_DUMMY_HASH", cheap.hash("irrelevant"))
        _seed(engine, redis_conn)
        yield Fuzzer(engine)
        _truncate(engine)
        redis_conn.flushdb()


def _seed(engine, redis_conn) -> None:
    """An empty database with the built-in roles, the two fuzzing users and a little of everything
    (products, orders, numbers), so fuzzed ids sometimes hit a real record."""
    from app.core import auth, crud
    from app.core.registry import resource
    from app.core.setup import sync_roles, sync_rules
    from models.core import User
    from models.numbers_sql import DEFAULT_STATUSES
    from sqlalchemy import text
    from tests.conftest import _truncate, make_numbers_world

    _truncate(engine)
    redis_conn.flushdb()
    with Session(engine, expire_on_commit=False) as db:
        sync_roles(db)
        sync_rules(db)
        db.exec(text(DEFAULT_STATUSES))
        users = {}
        for role in ("admin", "user", "manager"):
            u = User(username=f"fuzz_{role}", hashed_password=auth.hash_password(f"fuzz-{role}-pass"), roles=list(FIXTURE_ROLES[role]))
            db.add(u)
            db.flush()
            users[role] = u
        db.commit()
        admin = auth.current_user_for(db, users["admin"])
        world = make_numbers_world(db, users["manager"].id)
        product = crud.create_record(db, resource("stock.products"), admin, {"name": "Кабель", "sell_price_rub": "900", "initial_qty": "10"})
        crud.create_record(db, resource("stock.orders"), admin, {"phone": "+79161234567", "product_id": str(product.id), "qty": "1"})
        crud.create_record(db, resource("numbers.numbers"), admin, {"phone": "+79161234568", "provider_id": str(world["mine"]), "project_id": str(world["project"])})


def _run(case, fuzzer: Fuzzer, role: str) -> None:
    response = case.call(headers=fuzzer.headers(role))
    fuzzer.after(role, case, response)
    case.validate_response(response, checks=CHECKS)


@ADMIN_DEEP.parametrize()
@SETTINGS
def test_api_as_admin_with_coverage_cases(case, fuzzer):
    _run(case, fuzzer, "admin")


@ADMIN.parametrize()
@SETTINGS
def test_api_as_admin(case, fuzzer):
    _run(case, fuzzer, "admin")


@USER.parametrize()
@SETTINGS
def test_api_as_user(case, fuzzer):
    _run(case, fuzzer, "user")
