"""Runs that end badly leave nothing behind: the records a run owns reach a final state and its
half-written files are deleted — whether the run times out, fails its last attempt, is cancelled,
or its worker is killed with SIGKILL mid-job (then the reaper does it). Finished files appear
only when a run succeeds.

The numbers panel's history rows (``number_transfer``) are the records under test: an import and
an export are held mid-job by a lock this test takes (the import waits for its project row, the
export for the ``geo`` table its query joins), the worker is killed, the lock let go, the reaper run.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from jobtools import wait_for
from sqlalchemy import text
from sqlmodel import Session, select

from app.core import importer, jobs
from app.panels.numbers import transfers
from models.jobs import JobRun, JobStatus
from models.numbers import NumberTransfer, PhoneNumber

STALE = 1.0


def finished(row, run_id: int, timeout: float = 30) -> JobRun:
    return wait_for(lambda: (lambda r: r if JobStatus(r.status).finished else None)(row(run_id)), timeout, f"run {run_id} to finish")


def partials(run_id: int) -> list[Path]:
    return sorted(jobs.run_dir(run_id).glob(f"{jobs.PARTIAL_PREFIX}*/*"))


def transfer(engine, transfer_id: int) -> NumberTransfer:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(NumberTransfer, transfer_id)


@contextlib.contextmanager
def holding(engine, sql: str, **params):
    """Run ``sql`` (a lock) in a transaction of its own and keep it until the block ends."""
    conn = engine.connect()
    tx = conn.begin()
    try:
        conn.execute(text(sql), params)
        yield
    finally:
        tx.rollback()
        conn.close()


def blocked(engine) -> bool:
    """Whether some session waits for a lock (the job under test: nothing else runs here)."""
    with engine.connect() as c:
        return bool(c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")).scalar())


def kill_and_reap(db, worker) -> list[int]:
    worker.kill_tree()  # worker, work horse and RQ scheduler: SIGKILL
    return wait_for(lambda: jobs.reap_orphans(db, stale_after=STALE), STALE + 10, "the reaper to notice", interval=0.2)


def new_import(db, user, world, text_: str) -> dict:
    """The upload and its history row, as the import page writes them before it enqueues."""
    token = importer.save_upload(user, "numbers.csv", text_.encode())
    row = transfers.start_transfer(db, user, "import", "file", "numbers.csv", project_id=world["project"], provider_id=world["mine"])
    db.commit()
    return {"transfer_id": row.id, "upload": token, "project_id": world["project"], "provider_id": world["mine"], "geo_id": None, "lang": "ru"}


def test_a_killed_numbers_import_leaves_its_history_row_failed(db, users, numbers_world, start_worker, row, engine):
    admin, w = users["admin"], numbers_world
    worker = start_worker()
    args = new_import(db, admin, w, "phone\n+79990000001\n+79990000002\n")
    transfer_id = args["transfer_id"]
    with holding(engine, "SELECT 1 FROM project WHERE id = :id FOR UPDATE", id=w["project"]):
        run_id = jobs.enqueue(db, admin, "numbers.import", args).id
        wait_for(lambda: transfer(engine, transfer_id).status == "running" and blocked(engine), 30, "the import to wait mid-job")
        assert partials(run_id) == [] and jobs.partial_dir(run_id, row(run_id).rq_job_id).is_dir()  # its error report's place
        reaped = kill_and_reap(db, worker)
    assert run_id in reaped
    failed = row(run_id)
    assert failed.status == JobStatus.failed and "was lost" in failed.error
    t = transfer(engine, transfer_id)
    assert t.status == "failed" and t.finished_at is not None and t.job_run_id == run_id
    assert t.message.startswith("Прервано: фоновый обработчик остановился") and f"#{run_id}" in t.message
    assert not list(jobs.run_dir(run_id).glob(f"{jobs.PARTIAL_PREFIX}*"))
    db.expire_all()
    assert db.exec(select(PhoneNumber)).all() == []  # the import's one transaction never committed


def test_a_killed_export_leaves_no_partial_file_and_a_final_history_row(db, users, numbers_world, start_worker, row, engine):
    """Both export paths: the numbers panel's own job, and the list's export (kit.export through
    the resource's COPY export, which writes its history row itself)."""
    admin, w = users["admin"], numbers_world
    for i in range(5):
        db.add(PhoneNumber(phone=f"+7999000000{i}", provider_id=w["mine"], project_id=w["project"], status_id=w["status"]["new"]))
    db.commit()
    worker = start_worker()
    with holding(engine, "LOCK TABLE geo IN ACCESS EXCLUSIVE MODE"):
        row_ = transfers.start_transfer(db, admin, "export", "file", "numbers-1.csv")
        own = jobs.enqueue(db, admin, "numbers.export", {"transfer_id": row_.id, "view": {"filters": {}, "search": ""}, "lang": "ru"})
        listed = jobs.enqueue(db, admin, "kit.export", {"resource": "numbers.numbers", "fmt": "csv", "sort": "", "filters": {}, "search": "", "trash": False})
        # the first export holds the worker; the second waits its turn in the queue
        wait_for(lambda: [p.name for p in partials(own.id)] == ["numbers-1.csv"] and blocked(engine), 30, "the export to write mid-job")
        assert kill_and_reap(db, worker) == [own.id]
    assert row(own.id).status == JobStatus.failed
    assert not partials(own.id) and not (jobs.run_dir(own.id) / "numbers-1.csv").exists()  # neither half a file nor a "finished" one
    t = transfer(engine, row_.id)
    assert (t.status, t.job_run_id) == ("failed", own.id) and "Прервано" in t.message

    worker = start_worker()
    with holding(engine, "LOCK TABLE geo IN ACCESS EXCLUSIVE MODE"):
        wait_for(lambda: partials(listed.id) and blocked(engine), 30, "the list's export to write mid-job")
        history = db.exec(select(NumberTransfer).where(NumberTransfer.job_run_id == listed.id)).one()
        assert history.status == "queued"  # what the resource wrote before its COPY started
        assert kill_and_reap(db, worker) == [listed.id]
    assert not partials(listed.id) and not (jobs.run_dir(listed.id) / "numbers.csv").exists()
    t = transfer(engine, history.id)
    assert t.status == "failed" and t.finished_at is not None


def test_cancelling_a_running_import_closes_its_history_row_at_once(db, users, numbers_world, start_worker, row, engine):
    admin, w = users["admin"], numbers_world
    start_worker()
    args = new_import(db, admin, w, "phone\n+79990000001\n")
    transfer_id = args["transfer_id"]
    with holding(engine, "SELECT 1 FROM project WHERE id = :id FOR UPDATE", id=w["project"]):
        run_id = jobs.enqueue(db, admin, "numbers.import", args).id
        wait_for(lambda: transfer(engine, transfer_id).status == "running" and blocked(engine), 30, "the import to wait mid-job")
        jobs.cancel(db, admin, run_id)
        t = transfer(engine, transfer_id)
        assert t.status == "cancelled" and t.message.startswith("Отменено") and t.finished_at is not None
    assert row(run_id).status == JobStatus.cancelled
    assert not list(jobs.run_dir(run_id).glob(f"{jobs.PARTIAL_PREFIX}*"))
    db.expire_all()
    assert db.exec(select(PhoneNumber)).all() == []


def test_a_queued_import_cancelled_before_it_started_is_closed_too(db, users, numbers_world, engine, redis_conn):
    args = new_import(db, users["admin"], numbers_world, "phone\n+79990000001\n")
    run_id, transfer_id = jobs.enqueue(db, users["admin"], "numbers.import", args).id, args["transfer_id"]
    assert transfer(engine, transfer_id).status == "queued"
    jobs.cancel(db, users["admin"], run_id)
    t = transfer(engine, transfer_id)
    assert (t.status, t.job_run_id) == ("cancelled", run_id)


def test_time_limit_failed_last_retry_and_cancel_run_the_end_hook_and_drop_partial_files(db, users, start_worker, row, redis_conn):
    start_worker()
    timed = jobs.enqueue(db, users["manager"], "test.write_then_hang", {"seconds": 30})
    broken = jobs.enqueue(db, users["manager"], "test.write_then_fail", {})
    assert finished(row, timed.id).status == JobStatus.failed and "Time limit" in row(timed.id).error
    done = finished(row, broken.id)
    assert done.status == JobStatus.failed and done.attempts == 2

    waiting = jobs.enqueue(db, users["manager"], "test.write_then_wait", {})
    wait_for(lambda: redis_conn.get(f"test:partial:{waiting.id}"), 20, "the waiting job to write")
    jobs.cancel(db, users["manager"], waiting.id)
    finished(row, waiting.id)
    wait_for(lambda: len(redis_conn.lrange("test:ended", 0, -1)) >= 4, 20, "the end hooks")

    ended = redis_conn.lrange("test:ended", 0, -1)
    # once per ending attempt: `broken`'s first attempt is closed before its retry, then the run for good
    assert sorted(ended) == sorted([f"{timed.id}:failed:timeout", f"{broken.id}:queued:failed", f"{broken.id}:failed:failed",
                                    f"{waiting.id}:cancelled:cancelled"])
    for run in (timed, broken, waiting):
        wait_for(lambda run=run: not partials(run.id), 10, f"run {run.id}'s partial files to go")
        assert not (jobs.run_dir(run.id) / "out.csv").exists()


def test_a_finished_file_appears_only_when_the_run_succeeds(db, users, start_worker, row):
    start_worker()
    run = jobs.enqueue(db, users["manager"], "test.audited", {"name": "report.csv"})
    done = finished(row, run.id)
    assert done.status == JobStatus.succeeded and done.result_file == f"jobs/{run.id}/report.csv"
    assert jobs.result_file_path(done).read_text() == "a,b\n1,2\n"
    assert not partials(run.id) and not list(jobs.run_dir(run.id).glob(f"{jobs.PARTIAL_PREFIX}*"))


def test_the_sweep_deletes_partial_files_of_attempts_that_are_not_running(db, users, redis_conn, row):
    """What a crash of a whole host leaves (no reaper saw the attempt die): the next sweep cleans it."""
    run = jobs.enqueue(db, users["manager"], "test.count", {})
    stale = jobs.partial_dir(run.id, "pult-run-x-dead")
    stale.mkdir(parents=True)
    (stale / "big.csv").write_text("x" * 1000)
    assert run.id in jobs.sweep_partials(db)
    assert not stale.exists()


def test_an_attempt_abandoned_before_a_retry_closes_only_what_it_opened(db, users, numbers_world):
    """The reaper re-queues a lost attempt (attempts left): the transfer the run was started for
    waits for the next attempt as "queued"; one the attempt opened itself (an SFTP file) is closed."""
    from models.jobs import JobRun as Run

    admin, w = users["admin"], numbers_world
    run = Run(kind="numbers.import", args={"lang": "en"}, status=JobStatus.queued, attempts=1, max_attempts=3, message="re-queued")
    db.add(run)
    db.commit()
    started = transfers.start_transfer(db, admin, "import", "file", "a.csv", provider_id=w["mine"])
    opened = transfers.start_transfer(db, admin, "import", "sftp", "b.csv", provider_id=w["mine"], job_run_id=run.id)
    done = transfers.start_transfer(db, admin, "import", "sftp", "c.csv", provider_id=w["mine"], job_run_id=run.id)
    started.status, opened.status, done.status, started.job_run_id = "running", "running", "done", run.id
    db.commit()
    with db.begin_nested():
        transfers.close_open_transfers(db, run, JobStatus.queued, jobs.CAUSE_LOST, transfer_id=started.id)
    db.commit()
    db.expire_all()
    assert db.get(NumberTransfer, started.id).status == "queued"
    closed = db.get(NumberTransfer, opened.id)
    assert closed.status == "failed" and closed.message.startswith("Interrupted: the background worker stopped")
    assert db.get(NumberTransfer, done.id).status == "done"
