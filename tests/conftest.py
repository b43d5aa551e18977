"""Shared fixtures: a real PostgreSQL database and a real Redis database of the suite's own.

``DATABASE_URL`` / ``REDIS_URL`` name the servers (``scripts/test`` starts embedded ones when they
are unset). The suite creates ``<db>_test`` on that server, migrates it with Alembic once, and
truncates the tables between tests; Redis uses database 9 and is flushed before each test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pult")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
# Uploads go to a bucket of the suite's own in the object store scripts/test names (S3_ENDPOINT_URL):
# never into the data of a scripts/run beside it.
os.environ["S3_BUCKET"] = os.environ.get("PULT_TEST_S3_BUCKET", "pult-test")
os.environ.setdefault("PULT_SECRET_KEY", "y5rH0m5o7m5Yk0gGnQ2H1c8mQvKQ0v0n5cTqK3b0m8E=")
# The suite deploys the kit the way the stock demo runs it (seed 001: anyone may register);
# tests of a closed deployment switch it off themselves.
os.environ.setdefault("PULT_ALLOW_REGISTRATION", "1")
# Files the jobs write and uploads go to a folder of the test run's own (inherited by the servers
# and workers the tests start): run ids restart with every test database, so files in the
# repository's .data/ from another run would stand where a test expects none.
# This module is imported twice (as pytest's conftest and as ``tests.conftest``): the second
# import finds the folder the first made.
_OWN_FILES_DIR = "PULT_TEST_FILES_DIR" not in os.environ
FILES_DIR = os.environ.get("PULT_TEST_FILES_DIR") or tempfile.mkdtemp(prefix="pult-test-files-")
os.environ["PULT_TEST_FILES_DIR"] = os.environ["PULT_FILES_DIR"] = FILES_DIR


def _test_urls() -> tuple[str, str, str]:
    from app.core.config import _normalise_db_url

    base = make_url(_normalise_db_url(os.environ["DATABASE_URL"]))
    name = f"{base.database or 'pult'}_test"
    # A second pytest beside this one (scripts/test runs the browser tests so) works in databases of its own.
    shard = os.environ.get("PULT_TEST_SHARD") or os.environ.get("PYTEST_XDIST_WORKER")
    if shard:
        name += "_" + shard
    admin = base.set(database="postgres").render_as_string(hide_password=False)
    test = base.set(database=name).render_as_string(hide_password=False)
    redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/" + os.environ.get("PULT_TEST_REDIS_DB", "9")
    return admin, test, redis_url


# Derived once per process tree: this module may be imported twice (pytest's own import and
# ``from tests.conftest import ...``), and a second derivation must not append ``_test`` again.
if "PULT_TEST_DB_URL" not in os.environ:
    os.environ["PULT_TEST_ADMIN_URL"], os.environ["PULT_TEST_DB_URL"], os.environ["PULT_TEST_REDIS_URL"] = _test_urls()
ADMIN_URL, TEST_DB_URL, TEST_REDIS_URL = (
    os.environ["PULT_TEST_ADMIN_URL"], os.environ["PULT_TEST_DB_URL"], os.environ["PULT_TEST_REDIS_URL"]
)
# Everything imported from here on (and every subprocess the tests start) uses the test databases.
os.environ["DATABASE_URL"] = TEST_DB_URL
os.environ["REDIS_URL"] = TEST_REDIS_URL

KEEP_TABLES = {"alembic_version"}


def recreate_database(name: str) -> None:
    """Drop and create database ``name`` on the test server, ending any session still using it."""
    eng = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config("alembic.ini")
    cfg.attributes["url"] = url
    cfg.attributes["skip_logging"] = True
    command.upgrade(cfg, "head")


@pytest.fixture(scope="session")
def engine():
    recreate_database(make_url(TEST_DB_URL).database)
    migrate(TEST_DB_URL)
    from app.core import db as dbm
    from app.boot import boot

    boot()
    eng = create_engine(TEST_DB_URL, pool_pre_ping=True)
    dbm.set_engine(eng)
    yield eng
    dbm.set_engine(None)
    eng.dispose()


@pytest.fixture(scope="session")
def redis_conn():
    import redis

    from app.core.redis import set_redis

    client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    client.ping()
    set_redis(client)
    yield client
    set_redis(None)


def _truncate(eng) -> None:
    """Empty every table and restart its ids.

    DELETE (children first) rather than TRUNCATE: this runs before every test, and on tables this
    small TRUNCATE is more than ten times slower (it replaces every table's and index's files).
    """
    import models  # noqa: F401 - every table on the metadata
    from sqlmodel import SQLModel

    with eng.begin() as c:
        present = {r[0] for r in c.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))} - KEEP_TABLES
        ordered = [t.name for t in reversed(SQLModel.metadata.sorted_tables) if t.name in present]
        others = sorted(present - set(ordered))
        if others:  # tables the models do not describe: the slow, sure way
            c.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in others) + " RESTART IDENTITY CASCADE"))
        for name in ordered:
            c.execute(text(f'DELETE FROM "{name}"'))
        _clear_kit_tables(c)
        if "number_stat" in present:  # deleting numbers fired the aggregate trigger after it was emptied
            c.execute(text("DELETE FROM number_stat"))
        for (seq,) in c.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")).all():
            c.execute(text(f'ALTER SEQUENCE "{seq}" RESTART'))


def _clear_kit_tables(c) -> None:
    """Empty the fixture panel's tables (schema ``kitpanel``) too, when a test made them."""
    from tests.kitpanel.models import METADATA, SCHEMA

    present = {r[0] for r in c.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": SCHEMA})}
    for table in reversed(METADATA.sorted_tables):
        if table.name in present:
            c.execute(text(f'DELETE FROM "{SCHEMA}"."{table.name}"'))
    for (seq,) in c.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = :s"), {"s": SCHEMA}).all():
        c.execute(text(f'ALTER SEQUENCE "{SCHEMA}"."{seq}" RESTART'))


@pytest.fixture(scope="session")
def kit_schema(engine):
    """The fixture panel's tables (``tests/kitpanel``), made in the test database on first use in
    the session and dropped at its end. They live in their own schema with their own MetaData:
    the migrations check and Alembic compare only ``public`` with ``SQLModel.metadata``."""
    from tests.kitpanel.models import METADATA, SCHEMA

    with engine.begin() as c:
        c.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
        METADATA.create_all(c)
    yield
    with engine.begin() as c:
        c.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))


@pytest.fixture(scope="module")
def kitpanel(kit_schema):
    """The fixture panel, registered for the module that asks for it and taken out afterwards:
    ``pytestmark = pytest.mark.usefixtures("kitpanel")``. Being module-scoped it is set up before
    ``clean`` (which then syncs its roles) and ``users`` (which then grant them)."""
    import tests.kitpanel as kp

    kp.enable()
    yield kp
    kp.disable()


@pytest.fixture()
def clean(engine, redis_conn) -> Iterator[None]:
    """An empty schema with the built-in roles, and an empty Redis database."""
    _truncate(engine)
    redis_conn.flushdb()
    for sub in ("jobs", "uploads"):
        shutil.rmtree(os.path.join(FILES_DIR, sub), ignore_errors=True)
    from sqlmodel import Session

    from app.core.setup import sync_roles, sync_rules
    from models.numbers_sql import DEFAULT_STATUSES

    with Session(engine) as s:
        sync_roles(s)
        sync_rules(s)
        s.exec(text(DEFAULT_STATUSES))  # seeded by migration 0006, emptied above
        s.commit()
    yield


@pytest.fixture()
def db(clean, engine):
    """A session on the test database. Services commit for real; the next test starts clean."""
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture()
def cheap_hashing(db, users, monkeypatch):
    """Same algorithm (argon2id) at a tiny cost, for the users and every password set in a test:
    log-in heavy tests would otherwise spend seconds hashing."""
    from passlib.context import CryptContext
    from sqlmodel import select

    from app.core import auth
    from models.core import User

    cheap = CryptContext(schemes=["argon2"], argon2__type="ID", argon2__memory_cost=64, argon2__rounds=1)
    monkeypatch.setattr(auth, "pwd_context", cheap)
    monkeypatch.setattr(auth, "_DUMMY_HASH", cheap.hash("irrelevant"))
    for u in db.exec(select(User)).all():
        u.hashed_password = cheap.hash(f"{u.username}-pass")
    db.commit()
    return users


_HASHES: dict[str, str] = {}
#: The fixture users' roles, as the demo has them: "manager" manages stock and numbers.
FIXTURE_ROLES = {"admin": ("admin",), "manager": ("stock.manager", "numbers.manager"), "user": ("stock.user",)}
#: Added while the fixture panel (``kitpanel``) is registered: its manager and operator roles.
KIT_FIXTURE_ROLES = {"admin": (), "manager": ("kitpanel.manager",), "user": ("kitpanel.user",)}


@pytest.fixture()
def users(db):
    """One user per built-in role (password = username + "-pass"), as ``CurrentUser`` by role name."""
    import tests.kitpanel as kp
    from app.core import auth
    from models.core import User

    out = {}
    kit = kp.enabled()
    for role in ("admin", "manager", "user"):
        password = f"{role}-pass"
        if role not in _HASHES:
            _HASHES[role] = auth.hash_password(password)
        u = User(username=role, hashed_password=_HASHES[role], roles=[*FIXTURE_ROLES[role], *(KIT_FIXTURE_ROLES[role] if kit else ())], full_name=role.title())
        db.add(u)
        db.flush()
        out[role] = u
    db.commit()
    return {role: auth.current_user_for(db, u) for role, u in out.items()}


@pytest.fixture()
def stock_data(db, users):
    """Two products (one with stock 10, one low) created through the services as admin."""
    from app.core import crud
    from app.core.registry import resource

    products = resource("stock.products")
    a = crud.create_record(db, products, users["admin"], {"name": "Кабель USB-C", "buy_price_eur": "5", "sell_price_rub": "900", "min_stock": "2", "initial_qty": "10", "supplier_name": "Альфа"})
    b = crud.create_record(db, products, users["admin"], {"name": "Роутер Pro", "buy_price_eur": "40", "sell_price_rub": "6500", "min_stock": "5", "initial_qty": "3", "supplier_name": "Бета"})
    return {"cable": a, "router": b}


@pytest.fixture()
def kit_data(db, users):
    """The fixture panel's ``stock_data``: two items made through the services as admin, "cable"
    (stock 10, threshold 2, vendor Альфа) and "router" (stock 3, threshold 5: low, vendor Бета).
    Needs the ``kitpanel`` fixture."""
    from app.core import crud
    from app.core.registry import resource

    items = resource("kitpanel.items")
    a = crud.create_record(db, items, users["admin"], {"name": "Кабель USB-C", "cost_eur": "5", "price_rub": "900", "min_stock": "2", "initial_qty": "10", "vendor": "Альфа"})
    b = crud.create_record(db, items, users["admin"], {"name": "Роутер Pro", "cost_eur": "40", "price_rub": "6500", "min_stock": "5", "initial_qty": "3", "vendor": "Бета"})
    return {"cable": a, "router": b}


def make_numbers_world(db, manager_id: int) -> dict:
    """Numbers-panel basics: provider "Своя" in the manager's scope (directly) and "Чужая" outside
    it, a project fed by each, a geo; the default statuses come from ``clean``."""
    from models.numbers import Geo, ManagerScope, NumberStatus, Project, ProjectProvider, Provider

    mine = Provider(name="Своя", group_name="Север")
    other = Provider(name="Чужая", group_name="Юг")
    geo = Geo(country="RU", region="Москва", city="Москва", name="RU · Москва · Москва")
    db.add_all([mine, other, geo])
    db.flush()
    p_mine, p_other = Project(name="Проект свой"), Project(name="Проект чужой")
    db.add_all([p_mine, p_other])
    db.flush()
    db.add_all([ProjectProvider(project_id=p_mine.id, provider_id=mine.id), ProjectProvider(project_id=p_other.id, provider_id=other.id),
                ManagerScope(user_id=manager_id, provider_id=mine.id)])
    db.commit()
    from sqlmodel import select

    statuses = {s.code: s.id for s in db.exec(select(NumberStatus)).all()}
    return {"mine": mine.id, "other": other.id, "geo": geo.id, "project": p_mine.id, "other_project": p_other.id, "status": statuses}


@pytest.fixture()
def numbers_world(db, users):
    return make_numbers_world(db, users["manager"].id)


def pytest_sessionfinish(session, exitstatus) -> None:
    if _OWN_FILES_DIR:
        shutil.rmtree(FILES_DIR, ignore_errors=True)
