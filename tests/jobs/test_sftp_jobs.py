"""SFTP pull and push against the local SFTP server, run by real worker processes: imports with
valid, invalid and duplicate numbers, files moved to processed/ (a second pull imports nothing),
an export of exactly the host's numbers, the host key rule, overlap, schedules, no secret in logs."""

from __future__ import annotations

import csv
import io
import os
import re
import time
from pathlib import Path

import pytest
from jobtools import wait_for
from sqlmodel import select

from app.core import crud, jobs
from app.core.registry import resource
from integrations.sandbox.sftp import start_sandbox
from models.jobs import JobRun, JobStatus
from models.numbers import NumberTransfer, PhoneNumber

PASSWORD = "pull-Пароль-7d1e"
ROOT = Path(__file__).resolve().parents[2]

BATCH_1 = "\n".join([
    "phone",
    "+7 (999) 123-45-67",   # valid
    "89991234568",          # valid, national format
    "8 999 123 45 67",      # the first again: duplicate in the file
    "12345",                # invalid
    "+7 999 000 00 01",     # already in the base
    "abc",                  # invalid
]) + "\n"


@pytest.fixture()
def sandbox(tmp_path):
    box = start_sandbox(tmp_path / "root", username="demo", password=PASSWORD)
    box.path("in").mkdir()
    box.path("out").mkdir()
    yield box
    box.stop()


def make_host(db, users, box, pin: bool = True, **kw):
    values = {"name": kw.pop("name", "Партнёр"), "host": "127.0.0.1", "port": box.port, "username": "demo", "password": PASSWORD,
              "remote_dir": "/in", "direction": "import", "file_mask": "*.csv", **kw}
    host = crud.create_record(db, resource("numbers.sftp"), users["admin"], values)
    if pin:
        crud.run_action(db, resource("numbers.sftp"), users["admin"], "test_connection", [host.id])
    return host


def run_now(db, users, host) -> int:
    message = crud.run_action(db, resource("numbers.sftp"), users["admin"], "run_now", [host.id], lang="en")
    run_id = int(re.fullmatch(r"Job #(\d+) queued", message).group(1))
    return run_id


def finished(row, run_id: int, timeout: float = 60) -> JobRun:
    return wait_for(lambda: (lambda r: r if JobStatus(r.status).finished else None)(row(run_id)), timeout, f"run {run_id} to finish")


def add_number(db, phone: str, provider_id: int, project_id: int | None, status_id: int) -> None:
    db.add(PhoneNumber(phone=phone, provider_id=provider_id, project_id=project_id, status_id=status_id))
    db.commit()


def transfers_of(db, host_id: int) -> list[NumberTransfer]:
    db.expire_all()
    return db.exec(select(NumberTransfer).where(NumberTransfer.sftp_host_id == host_id).order_by(NumberTransfer.id)).all()


def test_pull_imports_new_files_once_and_moves_them(db, users, numbers_world, sandbox, start_worker, row):
    w = numbers_world
    add_number(db, "+79990000001", w["mine"], None, w["status"]["new"])
    (sandbox.path("in") / "batch-1.csv").write_text(BATCH_1)
    (sandbox.path("in") / "batch-2.csv").write_text("phone\n7 495 123-45-67\n")
    (sandbox.path("in") / "empty.csv").write_text("")
    (sandbox.path("in") / "photo.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))  # a picture renamed
    (sandbox.path("in") / "notes.txt").write_text("not numbers")
    host = make_host(db, users, sandbox, project_id=str(w["project"]), provider_id=str(w["mine"]))
    worker = start_worker()

    run_id = run_now(db, users, host)
    done = finished(row, run_id)
    assert done.status == JobStatus.succeeded, done.error
    assert done.result == {"files": 2, "failed_files": 2, "moved_only": 0, "total": 7, "accepted": 3, "duplicates": 2, "invalid": 2}
    assert done.username == "admin" and done.args == {"host_id": host.id, "lang": "en"}

    db.expire_all()
    imported = db.exec(select(PhoneNumber).where(PhoneNumber.phone != "+79990000001").order_by(PhoneNumber.phone)).all()
    assert [(n.phone, n.provider_id, n.project_id) for n in imported] == [
        ("+74951234567", w["mine"], w["project"]), ("+79991234567", w["mine"], w["project"]), ("+79991234568", w["mine"], w["project"])]

    logged = transfers_of(db, host.id)
    assert [(t.filename, t.direction, t.source, t.status, t.total, t.accepted, t.duplicates, t.invalid) for t in logged] == [
        ("batch-1.csv", "import", "sftp", "done", 6, 2, 2, 2),
        ("batch-2.csv", "import", "sftp", "done", 1, 1, 0, 0),
        ("empty.csv", "import", "sftp", "failed", 0, 0, 0, 0),
        ("photo.csv", "import", "sftp", "failed", 0, 0, 0, 0),
    ]
    assert all(t.job_run_id == run_id and t.user_id == users["admin"].id and t.finished_at for t in logged)
    # why each file was refused, in the words of the run's language (never a catalog key)
    assert [t.message for t in logged[2:]] == ["The file is empty", "This is a PNG image, not a table: upload a CSV or XLSX file"]

    # On the server: imported files in processed/, the unreadable one in failed/, the rest untouched.
    assert sorted(p.name for p in sandbox.path("in").iterdir()) == ["failed", "notes.txt", "processed"]
    assert sorted(p.name for p in sandbox.path("in/processed").iterdir()) == ["batch-1.csv", "batch-2.csv"]
    assert sorted(p.name for p in sandbox.path("in/failed").iterdir()) == ["empty.csv", "photo.csv"]

    # The run's error file: every rejected row with its file.
    with open(jobs.result_file_path(done), encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["File", "Line", "Value in the file", "E.164 number", "Reason"]
    assert [(r[0], r[1], r[4]) for r in rows[1:]] == [("batch-1.csv", "4", "repeated in the file"), ("batch-1.csv", "5", "not a valid number"),
                                                      ("batch-1.csv", "6", "already in the base"), ("batch-1.csv", "7", "not a valid number")]
    assert rows[3][2] == "'+7 999 000 00 01"  # a value from a partner's file cannot become a formula
    db.expire_all()
    assert db.get(type(host), host.id).last_run_at is not None

    # A second pull finds nothing new.
    again = finished(row, run_now(db, users, host))
    assert again.status == JobStatus.succeeded, again.error
    assert again.result["files"] == again.result["accepted"] == 0
    assert len(transfers_of(db, host.id)) == 4

    # A file imported before but not moved (the move failed after the commit) is only moved.
    back = sandbox.path("in/batch-2.csv")
    back.write_text("phone\n7 495 123-45-67\n")
    old = logged[1].created_at.timestamp() - 60
    os.utime(back, (old, old))
    third = finished(row, run_now(db, users, host))
    assert third.result["moved_only"] == 1 and third.result["files"] == 0
    assert sorted(p.name for p in sandbox.path("in/processed").iterdir()) == ["batch-1.csv", "batch-2-1.csv", "batch-2.csv"]
    assert len(transfers_of(db, host.id)) == 4

    for text in (worker.output(), " ".join(str(r.error) for r in db.exec(select(JobRun)).all())):
        assert PASSWORD not in text


def test_push_uploads_exactly_the_hosts_numbers(db, users, numbers_world, sandbox, start_worker, row):
    from models.numbers import Project

    w, new = numbers_world, numbers_world["status"]["new"]
    planted = Project(name='=HYPERLINK("http://evil.example","x")')  # typed by someone, read by a partner in Excel
    db.add(planted)
    db.commit()
    for phone, provider, project in [("+79990000011", w["mine"], w["project"]), ("+79990000012", w["mine"], planted.id),
                                     ("+79990000013", w["mine"], w["project"]), ("+79990000021", w["other"], w["other_project"]),
                                     ("+79990000022", w["other"], None)]:
        add_number(db, phone, provider, project, new)
    host = make_host(db, users, sandbox, direction="export", remote_dir="/out", provider_id=str(w["mine"]))
    start_worker()

    done = finished(row, run_now(db, users, host))
    assert done.status == JobStatus.succeeded, done.error
    name = done.result["file"]
    assert re.fullmatch(r"numbers-\d{8}-\d{4}\.csv", name) and done.result["rows"] == 3
    assert [p.name for p in sandbox.path("out").iterdir()] == [name]  # no temporary file left
    content = sandbox.path(f"out/{name}").read_bytes()
    assert content == jobs.result_file_path(done).read_bytes()
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert sorted(r["phone"] for r in rows) == ["+79990000011", "+79990000012", "+79990000013"]
    assert {r["provider"] for r in rows} == {"Своя"}
    # the SFTP format: machine headers, E.164 as is, every field quoted, no text a spreadsheet would run
    assert content.decode("utf-8-sig").splitlines()[0] == '"phone","status","project","provider","geo","created_at","status_changed_at"'
    assert {r["project"] for r in rows} == {"Проект свой", '\'=HYPERLINK("http://evil.example","x")'}
    writes = {d for op, d in sandbox.ops if op == "open_write"}
    assert writes and all(d.endswith(".part") for d in writes)  # written under a temp name, then renamed

    [t] = transfers_of(db, host.id)
    assert (t.direction, t.source, t.filename, t.status, t.total, t.accepted, t.provider_id) == ("export", "sftp", name, "done", 3, 3, w["mine"])

    # Narrowed to a project as well: only that project's numbers of the provider.
    crud.update_record(db, resource("numbers.sftp"), users["admin"], host.id, {"project_id": str(w["project"])})
    second = finished(row, run_now(db, users, host))
    assert second.status == JobStatus.succeeded, second.error
    rows = list(csv.DictReader(io.StringIO(sandbox.path(f"out/{second.result['file']}").read_bytes().decode("utf-8-sig"))))
    assert sorted(r["phone"] for r in rows) == ["+79990000011", "+79990000013"]


def test_a_host_nobody_tested_is_refused_with_a_clear_message(db, users, numbers_world, sandbox, start_worker, row):
    host = make_host(db, users, sandbox, pin=False, provider_id=str(numbers_world["mine"]))
    (sandbox.path("in") / "a.csv").write_text("phone\n+79990000031\n")
    start_worker()
    done = finished(row, run_now(db, users, host))
    assert done.status == JobStatus.failed and done.attempts == 1  # not retried: a person must confirm the key
    assert done.error.startswith(f"The host key of 127.0.0.1:{sandbox.port} is not confirmed yet (fingerprint {sandbox.fingerprint})")
    assert not [op for op in sandbox.ops if op[0] == "login"]
    assert (sandbox.path("in") / "a.csv").exists()


def test_runs_of_one_host_never_overlap(db, users, numbers_world, sandbox, start_worker, row):
    from app.panels.numbers import sftp

    host = make_host(db, users, sandbox, provider_id=str(numbers_world["mine"]))
    (sandbox.path("in") / "a.csv").write_text("phone\n+79990000041\n")
    start_worker()
    with sftp._host_lock(host.id) as mine:  # another run holds the host
        assert mine
        done = finished(row, run_now(db, users, host))
    assert done.status == JobStatus.succeeded and done.result == {"skipped": "busy"}
    assert (sandbox.path("in") / "a.csv").exists()


def test_manager_cannot_run_and_scheduled_runs_act_as_the_system(db, users, numbers_world, sandbox, start_worker, row):
    from app.core.errors import PermissionDenied

    host = make_host(db, users, sandbox, provider_id=str(numbers_world["mine"]))
    with pytest.raises(PermissionDenied):
        crud.run_action(db, resource("numbers.sftp"), users["manager"], "run_now", [host.id])
    with pytest.raises(PermissionDenied):
        jobs.enqueue(db, users["manager"], "numbers.sftp_pull", {"host_id": host.id})

    (sandbox.path("in") / "a.csv").write_text("phone\n+79990000051\n")
    crud.update_record(db, resource("numbers.sftp"), users["admin"], host.id, {"cron": "* * * * * *"})
    start_worker()
    time.sleep(1.1)
    [run] = jobs.fire_due_schedules(db)
    assert (run.kind, run.user_id, run.username, run.args) == ("numbers.sftp_pull", None, f"schedule:sftp:{host.id}", {"host_id": host.id})
    done = finished(row, run.id)
    assert done.status == JobStatus.succeeded, done.error
    assert done.result["accepted"] == 1
    [t] = transfers_of(db, host.id)
    assert t.user_id is None and t.status == "done"

    # Deactivated: the schedule stops firing.
    crud.update_record(db, resource("numbers.sftp"), users["admin"], host.id, {"is_active": "false"})
    time.sleep(1.1)
    assert jobs.fire_due_schedules(db) == []
