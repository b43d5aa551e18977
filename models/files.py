"""Uploaded files: one ``StoredFile`` row per object in the object store (see ``app/core/files.py``).

The bytes live in an S3-compatible store under ``key`` (and an image's thumbnail under
``thumb_key``); the row says what they are, who put them there and which record they belong to,
so a presigned URL is issued only to someone who may see that record.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.base import created_at_field


class StoredFile(SQLModel, table=True):
    __tablename__ = "stored_file"
    __table_args__ = (
        # A record's files ("the photos of shipment 12"); a form's pending uploads by their uploader.
        Index("ix_stored_file_owner", "owner_resource", "owner_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: The object's key in the bucket (``2026/12/<random>.jpg``): unguessable, never a user's file name.
    key: str = Field(max_length=300, unique=True)
    #: The thumbnail's key (images only).
    thumb_key: str | None = Field(default=None, max_length=300)
    #: The name the file had on the uploader's machine (shown, never used as a path).
    name: str = Field(max_length=255)
    size: int = Field(ge=0)
    #: The type read from the bytes themselves (not the name's extension, not the browser's claim).
    content_type: str = Field(max_length=100)
    sha256: str = Field(max_length=64, index=True)
    width: int | None = Field(default=None)
    height: int | None = Field(default=None)
    uploaded_by_id: int | None = Field(default=None, foreign_key="user.id", index=True, ondelete="SET NULL")
    uploaded_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_field()
    #: The record the file belongs to: a resource key (``stock.products``) and the record's key.
    #: Empty while it waits in a form that is not saved yet.
    owner_resource: str | None = Field(default=None, max_length=100)
    owner_id: str | None = Field(default=None, max_length=100)
