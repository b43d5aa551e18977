"""Encrypted backups against the embedded object store and real PostgreSQL: a backup restored into
an empty database holds the data; the stored object is not a readable dump; a restore never lands
on a database that has tables; retention keeps the newest."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import create_engine, make_url, text

from app.core import backup, files


@pytest.fixture()
def restore_db(engine):
    url = make_url(str(engine.url.render_as_string(hide_password=False)))
    name = f"{url.database}_restore_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    target = url.set(database=name).render_as_string(hide_password=False)
    yield target
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture()
def clean_backups():
    for b in backup.backups():
        files.client().delete_object(Bucket=files.store_config().bucket, Key=b.key)
    yield


def test_a_backup_restores_into_an_empty_database(db, users, engine, restore_db, clean_backups):
    from models.core import User

    marker = f"backup-{uuid.uuid4().hex[:8]}"
    db.add(User(username=marker, hashed_password="x", roles=["admin"], full_name="Проверка бэкапа"))
    db.commit()
    made = backup.backup(engine.url.render_as_string(hide_password=False))
    assert made.key.startswith("backups/pult-") and made.size > 0
    # what lies in the store is not a dump anyone can read
    raw = files.client().get_object(Bucket=files.store_config().bucket, Key=made.key)["Body"].read()
    assert raw.startswith(b"PULTBAK1") and b"PGDMP" not in raw[:64] and marker.encode() not in raw
    backup.restore(made.key, restore_db)
    got = create_engine(restore_db)
    with got.connect() as c:
        assert c.execute(text("SELECT full_name FROM \"user\" WHERE username = :u"), {"u": marker}).scalar() == "Проверка бэкапа"
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar()
    got.dispose()
    # never on top of data
    with pytest.raises(backup.BackupError):
        backup.restore(made.key, restore_db)


def test_retention_keeps_the_newest(engine, clean_backups, monkeypatch):
    url = engine.url.render_as_string(hide_password=False)
    base = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.timezone.utc)
    monkeypatch.setenv("PULT_BACKUP_KEEP", "2")
    for day in range(3):
        backup.backup(url, now=base + dt.timedelta(days=day))
    keys = [b.key for b in backup.backups()]
    assert keys == ["backups/pult-20261203-030000.dump.enc", "backups/pult-20261202-030000.dump.enc"]


def test_wrong_key_cannot_restore(engine, restore_db, clean_backups, monkeypatch):
    from cryptography.fernet import Fernet

    made = backup.backup(engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PULT_BACKUP_KEY", Fernet.generate_key().decode())
    with pytest.raises(backup.BackupError, match="wrong key"):
        backup.restore(made.key, restore_db)
