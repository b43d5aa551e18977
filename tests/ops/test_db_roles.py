"""The app's database role has no DDL rights: a real PostgreSQL database migrated by its owner
(a role that is not a superuser), then ``deploy/postgres/app-role.sql`` run as that owner. The app
role reads and writes rows and uses sequences, also in tables a later migration creates; CREATE,
ALTER, DROP, TRUNCATE and a change to ``alembic_version`` are refused."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql
from sqlalchemy import make_url

from tests.conftest import ADMIN_URL, migrate

ROOT = Path(__file__).resolve().parents[2]
ROLE_SQL = ROOT / "deploy/postgres/app-role.sql"


def _url(user: str, password: str, database: str) -> str:
    return make_url(ADMIN_URL).set(username=user, password=password, database=database, drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def deployed() -> Iterator[dict[str, str]]:
    """A database owned by a fresh owner role, migrated by it, with the app role made by the file."""
    tag = uuid.uuid4().hex[:8]
    owner, app, db = f"pult_owner_{tag}", f"pult_app_{tag}", f"pult_roles_{tag}"
    owner_pw, app_pw = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    admin = psycopg.connect(make_url(ADMIN_URL).set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(sql.Identifier(owner), sql.Literal(owner_pw)))
    admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db), sql.Identifier(owner)))
    try:
        owner_url = _url(owner, owner_pw, db)
        migrate(owner_url.replace("postgresql://", "postgresql+psycopg://", 1))  # the migrations, as the owner
        with psycopg.connect(owner_url, autocommit=True) as c:
            c.execute("SELECT set_config('pult.app_role', %s, false), set_config('pult.app_password', %s, false)", (app, app_pw))
            c.execute(ROLE_SQL.read_text())
            c.execute(ROLE_SQL.read_text())  # idempotent
        yield {"owner_url": owner_url, "app_url": _url(app, app_pw, db), "app": app, "owner": owner}
    finally:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (db,))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))
        for role in (app, owner):
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        admin.close()


@pytest.fixture()
def app_db(deployed) -> Iterator[psycopg.Connection]:
    with psycopg.connect(deployed["app_url"], autocommit=True) as c:
        yield c


def test_the_app_role_reads_and_writes_rows(app_db):
    c = app_db
    c.execute("INSERT INTO role (name, label, permissions, builtin) VALUES ('ops.test', 'Ops', '[]', false)")
    assert c.execute("SELECT label FROM role WHERE name = 'ops.test'").fetchone() == ("Ops",)
    c.execute("UPDATE role SET label = 'Ops 2' WHERE name = 'ops.test'")
    # a serial id: the sequence is usable
    rid = c.execute("INSERT INTO audit_log (created_at, diff, source, action, entity_type) "
                    "VALUES (now(), '{}', 'system', 'ops.test', 'role') RETURNING id").fetchone()[0]
    assert rid >= 1
    c.execute("DELETE FROM audit_log WHERE id = %s", (rid,))
    c.execute("DELETE FROM role WHERE name = 'ops.test'")
    assert c.execute("SELECT count(*) FROM role WHERE name = 'ops.test'").fetchone() == (0,)
    # a temporary table of its own session is fine (the planner's and a report's scratch space)
    c.execute("CREATE TEMP TABLE scratch (x int)")


@pytest.mark.parametrize("statement", [
    "CREATE TABLE evil (id int)",
    "CREATE TABLE public.evil (id int)",
    "ALTER TABLE role ADD COLUMN evil text",
    "ALTER TABLE role DROP COLUMN label",
    "DROP TABLE audit_log",
    "TRUNCATE audit_log",
    "CREATE INDEX evil ON role (label)",
    "CREATE SCHEMA evil",
    "CREATE VIEW evil AS SELECT 1",
    "CREATE FUNCTION evil() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "ALTER SEQUENCE audit_log_id_seq RESTART WITH 1",
    "UPDATE alembic_version SET version_num = 'x'",
    "DELETE FROM alembic_version",
    "ALTER TABLE role RENAME TO evil",
    "COMMENT ON TABLE role IS 'evil'",
    "CREATE ROLE evil",
    "CREATE DATABASE evil",
])
def test_the_app_role_cannot_change_the_schema(app_db, statement):
    with pytest.raises(errors.InsufficientPrivilege):
        app_db.execute(statement)


def test_tables_of_later_migrations_are_covered(deployed, app_db):
    with psycopg.connect(deployed["owner_url"], autocommit=True) as owner:
        owner.execute("CREATE TABLE later_table (id serial PRIMARY KEY, note text)")
    app_db.execute("INSERT INTO later_table (note) VALUES ('a')")
    assert app_db.execute("SELECT note FROM later_table").fetchall() == [("a",)]
    with pytest.raises(errors.InsufficientPrivilege):
        app_db.execute("DROP TABLE later_table")


def test_the_role_has_no_powers_and_is_no_owner(deployed, app_db):
    row = app_db.execute("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = current_user").fetchone()
    assert row == (False, False, False, False, False)
    owned = app_db.execute("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = current_user AND c.relpersistence <> 't'").fetchone()
    assert owned == (0,)
    assert app_db.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (deployed["owner"],)).fetchone() == (False,)


def test_the_script_refuses_the_owner_as_app_role(deployed):
    with psycopg.connect(deployed["owner_url"], autocommit=True) as c:
        c.execute("SELECT set_config('pult.app_role', current_user, false)")
        with pytest.raises(errors.RaiseException, match="must not be the owner"):
            c.execute(ROLE_SQL.read_text())


def test_the_app_works_as_the_restricted_role(deployed, engine, redis_conn):
    """The real API on an engine of the app role: sign in (a session row), create, change and
    list products (audit rows, sequences, the supply written with the product), refuse a bad one."""
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine
    from sqlmodel import Session

    from app.core import auth
    from app.core import db as dbm
    from app.core.api import build_api
    from app.core.setup import sync_roles, sync_rules
    from models.core import User

    app_engine = create_engine(deployed["app_url"].replace("postgresql://", "postgresql+psycopg://", 1))
    redis_conn.flushdb()
    dbm.set_engine(app_engine)
    try:
        with Session(app_engine) as s:
            sync_roles(s)  # what the app does at start: rows only
            sync_rules(s)
            s.add(User(username="manager", hashed_password=auth.hash_password("manager-pass"), roles=["stock.manager"], full_name="M"))
            s.commit()
        with TestClient(build_api()) as c:
            r = c.post("/api/auth/login", json={"username": "manager", "password": "manager-pass"})
            assert r.status_code == 200, r.text
            c.cookies.clear()
            h = {"Authorization": f"Bearer {r.json()['token']}"}
            r = c.post("/api/stock/products", headers=h, json={"name": "Мышь", "buy_price_eur": "3.5", "sell_price_rub": "450", "min_stock": 2, "initial_qty": 7})
            assert r.status_code == 201, r.text
            pid = r.json()["id"]
            assert c.patch(f"/api/stock/products/{pid}", headers=h, json={"min_stock": 3}).status_code == 200
            assert c.get("/api/stock/products", headers=h).json()["items"][0]["min_stock"] == 3
            assert c.post("/api/stock/products", headers=h, json={"name": ""}).status_code == 422
        with psycopg.connect(deployed["app_url"]) as conn:
            actions = {a for (a,) in conn.execute("SELECT action FROM audit_log")}
        assert {"create", "update"} <= actions
    finally:
        dbm.set_engine(engine)
        app_engine.dispose()
