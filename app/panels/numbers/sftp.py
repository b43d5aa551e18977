"""SFTP exchange of the numbers panel (seed 004, 7.1): pull files of numbers from a host's folder
and import them, push exports of numbers to it, by hand ("Run now") or on the host's schedule.

* ``numbers.sftp_pull`` — for an import host: every file matching ``file_mask`` in ``remote_dir``
  is downloaded, imported through the declared bulk import (``Numbers.bulk_import``, source
  ``sftp``: :func:`app.core.bulk_import.run_file`, as an upload is; the host's project and provider,
  the scope of whoever runs it) and logged as a ``number_transfer`` (source ``sftp``); then it is
  moved to ``processed/`` on the server, so it is never imported twice. A file that cannot be
  read as numbers goes to ``failed/`` (its transfer says why). A file whose import committed but
  whose move failed is recognised on the next run (a ``done`` transfer of that name newer than
  the file) and only moved. All files' rejected rows end up in the run's ``errors.csv``.
* ``numbers.sftp_push`` — for an export host: the numbers of its provider/project go through
  :func:`transfers.export_numbers` into ``numbers-YYYYMMDD-HHMM.csv`` (``PULT_TIMEZONE``),
  uploaded under a temporary name and renamed (no reader ever sees half a file), and logged.

Runs of one host never overlap (a PostgreSQL advisory lock; a second run ends as skipped). A
manual run acts as the admin who started it; a scheduled one as the system user
(``app.core.jobs.acts_as_system``). The schedule is a ``schedule`` row named ``sftp:<host id>``
that :func:`sync_schedule` keeps in step with the host's ``cron``, direction and ``is_active``.

Host keys — trust on first use, by a person: "Test connection" on a host whose ``host:port`` has
no pinned key accepts the key the server presents, stores it (``setting`` row
``sftp.host_key:<host>:<port>``) and shows its fingerprint in the result, for the admin to compare
with the one the server's owner gives. From then on every connection (tests, pulls, pushes)
requires exactly that key; jobs never trust a key by themselves, so a host nobody tested fails
with "host key not confirmed". A key that changed is refused until an admin presses "Forget host
key" and tests again.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from app.core import CurrentUser, ListParams, audit, bus, engine, get_resource, notify, open_bulk_log, run_bulk_file, safe_cells, session_scope
from app.core.errors import PermissionDenied, PultError, ValidationFailed
from app.core.i18n import t
from app.core.jobs import JobContext, JobFailed, cron_timezone, drop_owned_schedule, enqueue, ensure_schedule, job_kind
from app.panels.numbers import transfers
from integrations.sftp import RemoteFile, SftpClient, SftpError, SftpTarget
from models.core import Setting
from models.jobs import JobRun, Schedule
from models.numbers import NumberTransfer, SftpHost

PULL, PUSH = "numbers.sftp_pull", "numbers.sftp_push"
RESOURCE = "numbers.sftp"
#: Permission to start a run by hand (the row action's); scheduled runs act as the system user.
RUN_PERM = "numbers.sftp.run_now"
PROCESSED, FAILED = "processed", "failed"
#: Seconds "Test connection" waits for the handshake and the listing (it runs in the request).
TEST_TIMEOUT = 10.0
#: Errors worth another attempt of a job; the others need a person.
RETRYABLE = {"unreachable", "timeout", "failed"}
#: First key of the advisory lock that keeps two runs of one host apart (the second is the id).
LOCK_SPACE = 0x5F70


# --------------------------------------------------------------------------- host keys
def host_key_setting(host: SftpHost) -> str:
    """The ``setting`` key of the pinned host key of ``host:port`` (hashed when too long)."""
    name = f"sftp.host_key:{host.host.strip().lower()}:{host.port}"
    return name if len(name) <= 100 else "sftp.host_key:" + hashlib.sha256(name.encode()).hexdigest()[:64]


def pinned_host_key(db: Session, host: SftpHost) -> dict[str, Any] | None:
    """``{"key": "ssh-ed25519 AAAA…", "fingerprint": "SHA256:…", "trusted_by", "trusted_at"}`` or None."""
    row = db.get(Setting, host_key_setting(host))
    return row.value if row is not None and isinstance(row.value, dict) and row.value.get("key") else None


def _pin(db: Session, user: CurrentUser, host: SftpHost, key: str, fingerprint: str) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    name = host_key_setting(host)
    row = db.get(Setting, name) or Setting(key=name)
    row.value = {"key": key, "fingerprint": fingerprint, "trusted_by": user.username, "trusted_at": now.isoformat()}
    row.updated_at, row.updated_by = now, user.username
    db.add(row)
    audit.record(db, user, "trust_host_key", RESOURCE, host.id, {"host": f"{host.host}:{host.port}", "fingerprint": fingerprint})


def forget_host_key(db: Session, user: CurrentUser, host: SftpHost) -> bool:
    """Drop the pinned key of ``host:port`` (after a planned key change). Does not commit."""
    _require(user, "forget_host_key")
    row = db.get(Setting, host_key_setting(host))
    if row is None:
        return False
    audit.record(db, user, "forget_host_key", RESOURCE, host.id, {"host": f"{host.host}:{host.port}", "fingerprint": (row.value or {}).get("fingerprint")})
    db.delete(row)
    return True


# --------------------------------------------------------------------------- connecting
def _require(user: CurrentUser, operation: str) -> None:
    if not get_resource(RESOURCE)().can(user, operation):
        raise PermissionDenied()


def target_for(db: Session, host: SftpHost, *, trust_unknown: bool = False, timeout: float | None = None) -> SftpTarget:
    """The connection settings of ``host``: decrypted secrets and its pinned key (if any)."""
    pinned = pinned_host_key(db, host)
    extra = {"connect_timeout": timeout, "timeout": timeout} if timeout else {}
    return SftpTarget(
        host=host.host.strip(), port=host.port, username=host.username, password=host.password or None,
        private_key=host.private_key or None, remote_dir=host.remote_dir or "/",
        host_key=pinned["key"] if pinned else None, trust_unknown_host_key=trust_unknown and pinned is None, **extra,
    )


def error_message(exc: SftpError, lang: str = "ru") -> str:
    return t(f"numbers.sftp.error.{exc.code}", lang, **exc.params)


def test_connection(db: Session, user: CurrentUser, host: SftpHost, lang: str = "ru") -> tuple[bool, str]:
    """Log in and list the remote folder, with a short timeout: ``(ok, message)``.

    When ``host:port`` has no pinned key yet, the key presented is trusted and pinned (in
    ``db``'s transaction — the caller commits) and the message shows its fingerprint.
    """
    _require(user, "test_connection")
    target = target_for(db, host, trust_unknown=True, timeout=TEST_TIMEOUT)
    try:
        with SftpClient(target) as client:
            entries = client.check_folder()
            key, fingerprint = client.server_key, client.server_fingerprint
    except SftpError as exc:
        return False, error_message(exc, lang)
    params = {"user": host.username, "host": host.host, "port": host.port, "path": target.remote_dir, "n": entries, "fingerprint": fingerprint}
    if target.host_key is None and key:
        _pin(db, user, host, key, fingerprint or "")
        return True, t("numbers.sftp.ok_new_key", lang, **params)
    return True, t("numbers.sftp.ok", lang, **params)


# --------------------------------------------------------------------------- schedule
def schedule_name(host_id: int) -> str:
    return f"sftp:{host_id}"


def kind_for(host: SftpHost) -> str:
    return PUSH if host.direction == "export" else PULL


def sync_schedule(db: Session, user: CurrentUser, host: SftpHost) -> Schedule | None:
    """The host's ``schedule`` row follows its cron, direction and ``is_active`` (the kit's
    :func:`app.core.jobs.ensure_schedule`, in ``db``'s transaction; the resource's ``after_save``)."""
    return ensure_schedule(db, user, schedule_name(host.id), kind_for(host), host.cron, {"host_id": host.id}, enabled=host.is_active)


def drop_schedule(db: Session, user: CurrentUser, host_id: int) -> None:
    """Delete the host's schedule row (the host is being deleted)."""
    drop_owned_schedule(db, user, schedule_name(host_id))


def has_history(db: Session, host_id: int) -> bool:
    return db.exec(select(NumberTransfer.id).where(NumberTransfer.sftp_host_id == host_id).limit(1)).first() is not None


# --------------------------------------------------------------------------- starting runs
def start_run(user: CurrentUser, host: SftpHost, lang: str = "ru") -> JobRun:
    """Enqueue a pull or push of ``host`` now, as ``user`` (in a transaction of its own)."""
    _require(user, "run_now")
    if not host.is_active:
        raise ValidationFailed.one("", "numbers.sftp.inactive")
    with session_scope() as s:
        return enqueue(s, user, kind_for(host), {"host_id": host.id, "lang": lang})


# --------------------------------------------------------------------------- jobs
@contextlib.contextmanager
def _host_lock(host_id: int) -> Iterator[bool]:
    """A session-level advisory lock on its own connection: True when this run got the host."""
    with engine().connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": LOCK_SPACE, "b": host_id}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), {"a": LOCK_SPACE, "b": host_id})
                conn.commit()


def _host(ctx: JobContext, host_id: int, direction: str) -> SftpHost | None:
    host = ctx.db.get(SftpHost, host_id)
    if host is None:
        raise JobFailed(f"SFTP host {host_id} no longer exists", retry=False)
    if host.direction != direction:
        raise JobFailed(t("numbers.sftp.wrong_direction", ctx.args.get("lang", "ru")), retry=False)
    return host if host.is_active else None


def _sftp_failed(exc: SftpError, lang: str) -> JobFailed:
    return JobFailed(error_message(exc, lang), retry=exc.code in RETRYABLE)


def _finish_transfer(db: Session, transfer_id: int, status: str, message: str | None = None, n: int | None = None) -> None:
    row = db.get(NumberTransfer, transfer_id)
    if row is None:
        return
    row.status, row.finished_at = status, dt.datetime.now(dt.timezone.utc)
    if message is not None:
        row.message = message[:2000]
    if n is not None:
        row.total = row.accepted = n
    bus.mark(db, "number_transfer", [row.id], "update")
    db.commit()


def _failure_text(exc: Exception, lang: str) -> str:
    """What the exchange log says about a failure: the user's words, never a catalog key or a trace."""
    if isinstance(exc, SftpError):
        return error_message(exc, lang)
    if isinstance(exc, PultError):
        return exc.message(lang)
    if isinstance(exc, JobFailed):
        return str(exc)
    return t("import.crashed", lang)


def _touch(db: Session, host_id: int) -> None:
    host = db.get(SftpHost, host_id)
    if host is not None:
        host.last_run_at = dt.datetime.now(dt.timezone.utc)
        bus.mark(db, "sftp_host", [host_id], "update")
        db.commit()


def _already_imported(db: Session, host: SftpHost, f: RemoteFile) -> bool:
    """A ``done`` import of this name from this host made after the file was last written."""
    since = dt.datetime.fromtimestamp(f.mtime, dt.timezone.utc)
    return db.exec(
        select(NumberTransfer.id).where(
            NumberTransfer.sftp_host_id == host.id, NumberTransfer.direction == "import", NumberTransfer.source == "sftp",
            NumberTransfer.filename == f.name, NumberTransfer.status == "done", NumberTransfer.created_at >= since,
        ).limit(1)
    ).first() is not None


def _work_dir(ctx: JobContext) -> Path:
    return ctx.scratch_dir("sftp")  # downloads: deleted with the attempt, even when its worker dies


def _merge_errors(ctx: JobContext, reports: list[tuple[str, Path]], lang: str = "ru") -> None:
    """One ``errors.csv`` for the run: the rows every file rejected, with the file's name."""
    reports = [(name, p) for name, p in reports if p.exists()]
    if not reports:
        return
    with open(ctx.result_path("errors.csv"), "w", newline="", encoding="utf-8-sig") as out:
        writer = safe_cells.writer(out)  # the values come from partners' files: no formula gets through
        writer.writerow([t(label, lang) for label in ("numbers.report.file", *(key for _n, key in transfers.REPORT_COLUMNS))])
        for name, path in reports:
            with open(path, newline="", encoding="utf-8-sig") as f:
                rows = csv.reader(f)
                next(rows, None)
                writer.writerows([name, *(safe_cells.restore(v) for v in r)] for r in rows)


def _pull_one(ctx: JobContext, client: SftpClient, host: SftpHost, f: RemoteFile, work: Path, lang: str) -> transfers.ImportStats | None:
    """Download, import and move one file; None when the file was unreadable (moved to failed/)."""
    db = ctx.db
    res = get_resource("numbers.numbers")
    targets = {"project_id": host.project_id, "provider_id": host.provider_id}
    transfer = open_bulk_log(db, res.bulk_import, ctx.user, "sftp", f.name, targets, sftp_host_id=host.id)
    transfer.status, transfer.job_run_id = "running", ctx.run.id
    db.commit()
    transfer_id = transfer.id
    try:
        local = client.download(f.name, work / f.name)
        # The declared bulk import's own path (Numbers.bulk_import, source "sftp"), as for an upload.
        out = run_bulk_file(db, res(), ctx.user, local, targets, log_row=transfer, error_path=work / f"{f.name}.errors.csv",
                            lang=lang, source="sftp")
        stats = transfers.ImportStats(total=out["total"], accepted=out["accepted"], duplicates=out["duplicates"], invalid=out["invalid"])
    except ValidationFailed as exc:
        db.rollback()
        message = "; ".join(exc.messages(lang).values())
        _finish_transfer(db, transfer_id, "failed", message)
        if "file" not in exc.errors:  # the host's project/provider, not the file: every file would fail
            raise JobFailed(message, retry=False) from None
        client.move(f.name, FAILED)
        return None
    except Exception as exc:
        db.rollback()
        _finish_transfer(db, transfer_id, "failed", _failure_text(exc, lang))
        raise
    client.move(f.name, PROCESSED)
    return stats


def _host_job(direction: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """The frame of both jobs: the host (skipped when inactive), its lock (skipped when another
    run holds it), then ``fn(ctx, host, lang)``, then the host's ``last_run_at``."""
    def wrap(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(fn)
        def run(ctx: JobContext, host_id: int, lang: str = "ru") -> dict[str, Any]:
            host = _host(ctx, host_id, direction)
            if host is None:
                return {"skipped": "inactive"}
            with _host_lock(host_id) as mine:
                if not mine:
                    return {"skipped": "busy"}
                ctx.step("connect", t("numbers.sftp.step.connect", lang))
                result = fn(ctx, host, lang)
            _touch(ctx.db, host_id)
            return result

        return run

    return wrap


@job_kind(PULL, timeout=3 * 3600, max_attempts=3, backoff=(30, 120, 300), perm=RUN_PERM, label="numbers.job.sftp_pull",
          steps=("connect", "import"))
@_host_job("import")
def pull_job(ctx: JobContext, host: SftpHost, lang: str) -> dict[str, Any]:
    totals = {"files": 0, "failed_files": 0, "moved_only": 0, "total": 0, "accepted": 0, "duplicates": 0, "invalid": 0}
    reports: list[tuple[str, Path]] = []
    work = _work_dir(ctx)
    try:
        with SftpClient(target_for(ctx.db, host)) as client:
            files = client.list_files(host.file_mask or "*")
            ctx.step("import", t("numbers.sftp.files_found", lang, n=len(files)))
            for i, f in enumerate(files):
                ctx.check_cancelled()
                if _already_imported(ctx.db, host, f):
                    client.move(f.name, PROCESSED)
                    totals["moved_only"] += 1
                    continue
                stats = _pull_one(ctx, client, host, f, work, lang)
                if stats is None:
                    totals["failed_files"] += 1
                else:
                    totals["files"] += 1
                    for k in ("total", "accepted", "duplicates", "invalid"):
                        totals[k] += getattr(stats, k)
                    reports.append((f.name, work / f"{f.name}.errors.csv"))
                ctx.progress((i + 1) / len(files), f"{i + 1} / {len(files)}")
    except SftpError as exc:
        raise _sftp_failed(exc, lang) from None
    _merge_errors(ctx, reports, lang)
    if totals["files"] or totals["failed_files"]:
        notify.to_user(ctx.db, ctx.user.id, "job.done", title=t("numbers.sftp.pull_done", lang, host=host.name, **totals),
                       link=f"/api/jobs/{ctx.run.id}/file" if ctx.run.result_file else "/numbers/transfers", data={"job_run_id": ctx.run.id})
        ctx.db.commit()
    return totals


def export_filename(now: dt.datetime | None = None) -> str:
    local = (now or dt.datetime.now(dt.timezone.utc)).astimezone(cron_timezone())
    return f"numbers-{local:%Y%m%d-%H%M}.csv"


@job_kind(PUSH, timeout=3 * 3600, max_attempts=3, backoff=(30, 120, 300), perm=RUN_PERM, label="numbers.job.sftp_push",
          steps=("connect", "export", "upload"))
@_host_job("export")
def push_job(ctx: JobContext, host: SftpHost, lang: str) -> dict[str, Any]:
    name = export_filename()
    filters = {k: str(v) for k, v in (("provider_id", host.provider_id), ("project_id", host.project_id)) if v is not None}
    transfer = transfers.start_transfer(ctx.db, ctx.user, "export", "sftp", name, project_id=host.project_id,
                                        provider_id=host.provider_id, sftp_host_id=host.id)
    transfer.status, transfer.job_run_id = "running", ctx.run.id
    ctx.db.commit()
    transfer_id, host_name = transfer.id, host.name
    try:
        with SftpClient(target_for(ctx.db, host)) as client:
            client.check_folder()
            ctx.step("export", t("numbers.sftp.step.export", lang))
            path = ctx.result_path(name)
            n = transfers.export_numbers(ctx.db, ctx.user, ListParams(filters=filters), path)
            ctx.step("upload", t("numbers.sftp.step.upload", lang))
            remote = client.upload(path, name)
    except SftpError as exc:
        ctx.db.rollback()
        _finish_transfer(ctx.db, transfer_id, "failed", error_message(exc, lang))
        raise _sftp_failed(exc, lang) from None
    except Exception as exc:
        ctx.db.rollback()
        _finish_transfer(ctx.db, transfer_id, "failed", _failure_text(exc, lang))
        raise
    _finish_transfer(ctx.db, transfer_id, "done", n=n)
    notify.to_user(ctx.db, ctx.user.id, "job.done", title=t("numbers.sftp.push_done", lang, host=host_name, n=n, file=name),
                   link="/numbers/transfers", data={"job_run_id": ctx.run.id})
    ctx.db.commit()
    return {"rows": n, "file": name, "remote": remote}
