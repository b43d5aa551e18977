"""Comments on any record of any resource: the comment wall ("мини-чат") of a detail page.

A comment names its record by the resource key and the record's primary key as text
(``resource="stock.orders"``, ``record_id="42"``), like the audit log does, so one table serves
every resource without a foreign key per panel. Replies point at their parent (one level).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.base import created_at_field, optional_ts_field

#: The longest comment accepted (characters); the service says so under the field.
MAX_COMMENT_LENGTH = 4000


class Comment(SQLModel, table=True):
    """One message on a record's wall. Edits keep the row (``edited_at``); deleting marks it
    (``deleted_at``) so replies keep their place and the audit log keeps the text."""

    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_record", "resource", "record_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = created_at_field()
    resource: str = Field(max_length=64)
    record_id: str = Field(max_length=64)
    #: The comment this one answers (a top-level comment's id; replies are one level deep).
    parent_id: int | None = Field(default=None, foreign_key="comment.id", index=True, ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="SET NULL")
    #: The author's username when written (kept when the user is deleted).
    username: str = Field(max_length=64)
    body: str = Field(sa_column=Column(Text, nullable=False))
    #: Ids of the users the body @mentioned (and who were notified).
    mentions: list[int] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    #: Ids of stored files attached to the comment: the hook for the file block (photos on a
    #: comment). Empty until a file store registers itself; see :mod:`app.core.comments`.
    attachments: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    edited_at: datetime | None = optional_ts_field()
    deleted_at: datetime | None = optional_ts_field()
