"""The kit's own tables: users, roles, sessions, the audit log and notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.encrypted import EncryptedString
from models.base import created_at_field, optional_ts_field, utcnow


class Role(SQLModel, table=True):
    """A named set of permissions such as ``stock.products.create``; ``*`` grants everything."""

    name: str = Field(primary_key=True, max_length=50)
    label: str = Field(default="", max_length=100)
    permissions: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    #: Built-in roles come from the panels' ``roles.py`` and cannot be deleted.
    builtin: bool = Field(default=False)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str | None = Field(default=None, max_length=200)
    hashed_password: str = Field(max_length=255)
    #: The user's roles by name, at most one per panel (``["stock.manager", "numbers.manager"]``);
    #: the permissions are their union. No role means no access: a self-registered account waiting
    #: for an admin's approval. Roles are checked to exist when saved (``app.panels.admin.resources.Users``).
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    is_active: bool = Field(default=True)
    #: Self-registered and not yet approved (Administration → Security → approval): cannot sign in.
    pending: bool = Field(default=False, sa_column_kwargs={"server_default": "false"}, index=True)
    #: Encrypted at rest (Fernet), never sent to the browser or through the API.
    telegram_chat_id: str | None = Field(default=None, sa_type=EncryptedString())
    #: The Telegram @username when the account was linked: shown only, never used to find the account.
    telegram_username: str | None = Field(default=None, max_length=64)
    #: The TOTP secret (encrypted at rest by the column type); MFA is on once ``totp_enabled_at`` is set.
    totp_secret: str | None = Field(default=None, sa_type=EncryptedString())
    totp_enabled_at: datetime | None = optional_ts_field()
    #: The last 30-second step a TOTP code was accepted for: that step's code (or an older one) is a replay.
    totp_last_step: int | None = Field(default=None, sa_type=BigInteger())
    created_at: datetime = created_at_field()
    deleted_at: datetime | None = optional_ts_field(index=True)


class UserSession(SQLModel, table=True):
    """A server-side login session. The browser holds the opaque token; we keep only its SHA-256."""

    __tablename__ = "user_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = created_at_field()
    last_seen_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    expires_at: datetime = Field(sa_type=DateTime(timezone=True), nullable=False)
    revoked_at: datetime | None = optional_ts_field()
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)


class RecoveryCode(SQLModel, table=True):
    """One of a user's ten one-time MFA recovery codes: only its SHA-256 is kept; ``used_at`` is set once."""

    __tablename__ = "recovery_code"
    __table_args__ = (Index("ix_recovery_code_user_hash", "user_id", "code_hash", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)
    used_at: datetime | None = optional_ts_field()


class AuditLog(SQLModel, table=True):
    """Who changed what, when, from where, and the field-by-field difference."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="SET NULL")
    username: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=64, index=True)
    entity_type: str = Field(max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    #: ``{"field": [old, new]}`` for updates, the new values for creates, extra context for actions.
    diff: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    source: str = Field(default="ui", max_length=16)  # ui | api | job | system


class Notification(SQLModel, table=True):
    """An in-app notification. ``user_id`` NULL with ``role`` set addresses every user of that role."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="CASCADE")
    role: str | None = Field(default=None, max_length=50)
    kind: str = Field(max_length=64, index=True)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=2000)
    link: str | None = Field(default=None, max_length=300)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    read_at: datetime | None = optional_ts_field()


class Setting(SQLModel, table=True):
    """Small editable settings (an exchange rate, a feature switch) as JSON values by key."""

    key: str = Field(primary_key=True, max_length=100)
    value: Any = Field(default=None, sa_column=Column(JSONB, nullable=True))
    updated_at: datetime | None = optional_ts_field()
    updated_by: str | None = Field(default=None, max_length=64)


class NotificationRule(SQLModel, table=True):
    """Who hears about an event, and where: an event kind, an audience (a role, or one user) and a
    channel (``inapp`` or ``telegram``). Panels declare their events with default rules; admins
    edit them in the UI."""

    __tablename__ = "notification_rule"
    __table_args__ = (Index("ix_notification_rule_event", "event"),)

    id: int | None = Field(default=None, primary_key=True)
    event: str = Field(max_length=100)
    role: str | None = Field(default=None, foreign_key="role.name", max_length=50, ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="CASCADE")
    channel: str = Field(default="inapp", max_length=16)
    enabled: bool = Field(default=True)
