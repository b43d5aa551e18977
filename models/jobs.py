"""Background jobs: one ``JobRun`` row per enqueued job, and the cron ``Schedule``s that enqueue them.

The row is the truth the UI shows (status, steps, progress bar, result, error); RQ only carries
the run's id to a worker. See ``app/core/jobs.py``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, Text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_ts_field


class JobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled)


class JobRun(SQLModel, table=True):
    """One run of a job kind: who asked for it, with which arguments, and how far it got."""

    __tablename__ = "job_run"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 1", name="ck_job_run_progress_range"),
        CheckConstraint("attempts >= 0 AND max_attempts >= 1", name="ck_job_run_attempts"),
        # Lists filter by status; the reaper looks for running rows with an old heartbeat.
        Index("ix_job_run_status_heartbeat", "status", "heartbeat_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: The registered kind, e.g. ``stock.restock``.
    kind: str = Field(max_length=100, index=True)
    queue: str = Field(default="pult", max_length=50)
    #: The RQ job carrying the current attempt; a worker holding any other id for this run stands down.
    rq_job_id: str | None = Field(default=None, max_length=100, index=True)
    #: Same key, same run: a double click or a repeated import returns the existing run.
    idempotency_key: str | None = Field(default=None, max_length=200, unique=True)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="SET NULL")
    username: str | None = Field(default=None, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    status: JobStatus = Field(
        default=JobStatus.queued,
        sa_column=Column(
            SAEnum(JobStatus, name="job_status", native_enum=False, length=20),
            nullable=False,
            server_default=JobStatus.queued.value,
        ),
    )
    #: ``[{"name": "Загрузка", "status": "done"}, ...]``; step status is pending/running/done/failed.
    steps: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    #: 0..1
    progress: float = Field(default=0.0)
    message: str | None = Field(default=None, max_length=500)
    result: Any = Field(default=None, sa_column=Column(JSONB, nullable=True))
    #: A file the job produced (an export), relative to the project directory.
    result_file: str | None = Field(default=None, max_length=500)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: Attempts started so far, and how many are allowed (retries = max_attempts - 1).
    attempts: int = Field(default=0)
    max_attempts: int = Field(default=1)
    created_at: datetime = created_at_field()
    started_at: datetime | None = optional_ts_field()
    finished_at: datetime | None = optional_ts_field()
    #: Written every few seconds by the worker while the job runs; a stale one means the worker died.
    heartbeat_at: datetime | None = optional_ts_field()


class Schedule(SQLModel, table=True):
    """A cron expression that enqueues a job kind; fired by ``python -m jobs.scheduler``.

    A schedule acts as its owner (the user who last saved it), re-checked at every tick; one the
    code itself declares (``system``, e.g. an SFTP host's own polling) acts as the system user.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=100)
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    #: Five fields (minute hour day month weekday) in ``PULT_TIMEZONE``; a sixth field is seconds.
    cron: str = Field(max_length=100)
    enabled: bool = Field(default=True)
    last_fired_at: datetime | None = optional_ts_field()
    #: The next due tick; the scheduler fires rows whose tick has come and moves this forward.
    next_fire_at: datetime | None = optional_ts_field(index=True)
    created_by: str | None = Field(default=None, max_length=64)
    #: Whose rights a tick runs with; NULL (deleted user, or an old row nobody saved since) refuses
    #: every tick of a non-system schedule.
    owner_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="SET NULL")
    #: Declared by code (a record's own schedule): runs as the system user, not edited by hand.
    system: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    #: The last refused tick and why (a code, ``schedules.refusal.<code>`` in the catalog); cleared
    #: by the next tick that runs.
    refused_at: datetime | None = optional_ts_field()
    refusal: str | None = Field(default=None, max_length=40)
    created_at: datetime = created_at_field()
