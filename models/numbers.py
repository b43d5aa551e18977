"""Seed 004: a phone-number CRM — numbers by the million, projects, providers, geo, schedules,
statuses, call events, conversion aggregates, imports/exports and SFTP hosts.

``phone_number`` is the big table (tens of millions of rows). Its indexes are chosen for the list
page's filters with keyset paging on ``id`` — ``(project_id, id)``, ``(provider_id, id)``,
``(status_id, id)``, ``(geo_id, id)`` — a unique index on ``phone`` (E.164) for dedupe, and a
trigram index on ``phone`` for digit-fragment search. ``number_stat`` holds the conversion
aggregates, kept current by statement-level triggers (migration 0006), so the conversion page
never scans the big table.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import Enum as SAEnum
from sqlalchemy import BigInteger, CheckConstraint, Column, Date, ForeignKey, Index, Integer, SmallInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.encrypted import EncryptedString
from models.base import created_at_field, optional_ts_field


class Provider(SQLModel, table=True):
    """Where numbers come from. ``group_name`` groups providers for managers' scopes."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    group_name: str | None = Field(default=None, max_length=100, index=True)
    kind: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=500)
    is_active: bool = Field(default=True)
    created_at: datetime = created_at_field()


class Geo(SQLModel, table=True):
    """A country, a region in it, or a city in a region (ISO 3166 codes where there are some)."""

    __table_args__ = (UniqueConstraint("country", "region", "city", name="uq_geo_place"),)

    id: int | None = Field(default=None, primary_key=True)
    country: str = Field(max_length=2)
    region: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=200)
    name: str = Field(max_length=500, index=True)  # "RU · Москва · Москва", kept by the resource
    created_at: datetime = created_at_field()


class Project(SQLModel, table=True):
    """A calling project. Deleting one is soft (``deleted_at``): its numbers stay; it can be restored
    or archived (``archived_at``: kept for reports, no longer restorable)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    description: str | None = Field(default=None, max_length=2000)
    is_active: bool = Field(default=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_ts_field(index=True)
    archived_at: datetime | None = optional_ts_field()


class ProjectProvider(SQLModel, table=True):
    """Providers feeding a project's incoming pool."""

    __tablename__ = "project_provider"
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("project.id", ondelete="CASCADE"), primary_key=True))
    provider_id: int = Field(sa_column=Column(Integer, ForeignKey("provider.id", ondelete="CASCADE"), primary_key=True, index=True))


class ProjectGeo(SQLModel, table=True):
    """Geo a project takes numbers from."""

    __tablename__ = "project_geo"
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("project.id", ondelete="CASCADE"), primary_key=True))
    geo_id: int = Field(sa_column=Column(Integer, ForeignKey("geo.id", ondelete="CASCADE"), primary_key=True, index=True))


class ProjectSchedule(SQLModel, table=True):
    """A weekday (0 = Monday) and a time window (Europe/Moscow) when a project works its numbers."""

    __tablename__ = "project_schedule"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_project_schedule_weekday"),
        CheckConstraint("start_time < end_time", name="ck_project_schedule_window"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("project.id", ondelete="CASCADE"), nullable=False, index=True))
    weekday: int = Field(sa_type=SmallInteger)
    start_time: time
    end_time: time


class StatusKind(str, enum.Enum):
    """What a status means for conversion: every configurable status maps to one kind."""

    new = "new"
    work = "work"
    success = "success"
    refusal = "refusal"
    no_answer = "no_answer"
    other = "other"


class NumberStatus(SQLModel, table=True):
    """A configurable processing status (new, in work, success, refusal, no answer...)."""

    __tablename__ = "number_status"
    id: int | None = Field(default=None, sa_column=Column(SmallInteger, primary_key=True, autoincrement=True))
    code: str = Field(max_length=50, unique=True)
    name: str = Field(max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    kind: StatusKind = Field(
        default=StatusKind.work,
        sa_column=Column(SAEnum(StatusKind, name="status_kind", native_enum=False, length=20), nullable=False, server_default="work"),
    )
    color: str = Field(default="gray", max_length=20)
    position: int = Field(default=0)


class PhoneNumber(SQLModel, table=True):
    """One phone number (E.164) in one project, from one provider and place."""

    __tablename__ = "phone_number"
    __table_args__ = (
        Index("ix_phone_number_project_id_id", "project_id", "id"),
        Index("ix_phone_number_provider_id_id", "provider_id", "id"),
        Index("ix_phone_number_status_id_id", "status_id", "id"),
        Index("ix_phone_number_geo_id_id", "geo_id", "id"),
        Index("ix_phone_number_phone_trgm", "phone", postgresql_using="gin", postgresql_ops={"phone": "gin_trgm_ops"}),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    phone: str = Field(max_length=16, unique=True)
    project_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("project.id"), nullable=True))
    provider_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("provider.id"), nullable=True))
    geo_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("geo.id"), nullable=True))
    status_id: int = Field(sa_column=Column(SmallInteger, ForeignKey("number_status.id"), nullable=False))
    created_at: datetime = created_at_field()
    status_changed_at: datetime = created_at_field()
    last_call_at: datetime | None = optional_ts_field()


class CallEvent(SQLModel, table=True):
    """A SoftPhone event (incoming, answered, ended...) on a number; the number's call history."""

    __tablename__ = "call_event"
    __table_args__ = (UniqueConstraint("call_id", "event", name="uq_call_event_call_event"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    number_id: int = Field(sa_column=Column(BigInteger, ForeignKey("phone_number.id", ondelete="CASCADE"), nullable=False, index=True))
    call_id: str = Field(max_length=100)
    event: str = Field(max_length=20)
    status_id: int | None = Field(default=None, sa_column=Column(SmallInteger, ForeignKey("number_status.id"), nullable=True))
    duration_s: int | None = None
    operator: str | None = Field(default=None, max_length=100)
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()


class NumberStat(SQLModel, table=True):
    """Conversion aggregate: how many numbers of a project and provider reached a status on a day
    (Moscow time). Maintained by triggers on ``phone_number``; ``0`` stands for "none"."""

    __tablename__ = "number_stat"
    #: Date-range queries read a slice of this index only (index-only scan).
    __table_args__ = (Index("ix_number_stat_day", "day", postgresql_include=["project_id", "provider_id", "status_id", "n"]),)
    project_id: int = Field(sa_column=Column(Integer, primary_key=True))
    provider_id: int = Field(sa_column=Column(Integer, primary_key=True))
    status_id: int = Field(sa_column=Column(SmallInteger, primary_key=True))
    day: date = Field(sa_column=Column(Date, primary_key=True))
    n: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


class NumberStatMonth(SQLModel, table=True):
    """The same counts per calendar month (``month`` = its first day): a period of a year reads
    twelve months' rows plus the days at its two ends, not 365 days' rows."""

    __tablename__ = "number_stat_month"
    project_id: int = Field(sa_column=Column(Integer, primary_key=True))
    provider_id: int = Field(sa_column=Column(Integer, primary_key=True))
    status_id: int = Field(sa_column=Column(SmallInteger, primary_key=True))
    month: date = Field(sa_column=Column(Date, primary_key=True))
    n: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


class TransferDirection(str, enum.Enum):
    import_ = "import"
    export = "export"


class NumberTransfer(SQLModel, table=True):
    """The log of imports and exports: file or SFTP, counts, status and the error file."""

    __tablename__ = "number_transfer"
    id: int | None = Field(default=None, primary_key=True)
    direction: str = Field(max_length=10, index=True)  # import | export
    source: str = Field(max_length=10, default="file")  # file | sftp
    filename: str | None = Field(default=None, max_length=500)
    status: str = Field(default="queued", max_length=20, index=True)
    project_id: int | None = Field(default=None, foreign_key="project.id")
    provider_id: int | None = Field(default=None, foreign_key="provider.id")
    sftp_host_id: int | None = Field(default=None, foreign_key="sftp_host.id")
    total: int = 0
    accepted: int = 0
    duplicates: int = 0
    invalid: int = 0
    message: str | None = Field(default=None, max_length=2000)
    job_run_id: int | None = Field(default=None, foreign_key="job_run.id", ondelete="SET NULL")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = created_at_field()
    finished_at: datetime | None = optional_ts_field()


class SftpHost(SQLModel, table=True):
    """A remote SFTP folder numbers are pulled from or pushed to, by hand or on a schedule."""

    __tablename__ = "sftp_host"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    host: str = Field(max_length=255)
    port: int = Field(default=22)
    username: str = Field(max_length=200)
    password: str | None = Field(default=None, sa_type=EncryptedString())
    private_key: str | None = Field(default=None, sa_type=EncryptedString())
    remote_dir: str = Field(default="/", max_length=500)
    direction: str = Field(default="import", max_length=10)  # import | export
    file_mask: str = Field(default="*.csv", max_length=200)
    cron: str | None = Field(default=None, max_length=100)
    project_id: int | None = Field(default=None, foreign_key="project.id")
    provider_id: int | None = Field(default=None, foreign_key="provider.id")
    is_active: bool = Field(default=True)
    last_run_at: datetime | None = optional_ts_field()
    created_at: datetime = created_at_field()


class ManagerScope(SQLModel, table=True):
    """What a manager may see: a provider, or every provider of a group."""

    __tablename__ = "manager_scope"
    __table_args__ = (CheckConstraint("(provider_id IS NULL) <> (group_name IS NULL)", name="ck_manager_scope_one_target"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True))
    provider_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("provider.id", ondelete="CASCADE"), nullable=True))
    group_name: str | None = Field(default=None, max_length=100)
