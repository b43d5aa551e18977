"""Uploaded files: the ``stored_file`` table (objects in the S3 store, see app/core/files.py), and
a product's photo.

Revision ID: 3d4e5f6a7b13
Revises: 2c3d4e5f6a15
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3d4e5f6a7b13"
down_revision: str | None = "2c3d4e5f6a15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_file",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("thumb_key", sa.String(300), nullable=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("uploaded_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_resource", sa.String(100), nullable=True),
        sa.Column("owner_id", sa.String(100), nullable=True),
        sa.UniqueConstraint("key", name="uq_stored_file_key"),
        sa.CheckConstraint("size >= 0", name="ck_stored_file_size"),
    )
    op.create_index("ix_stored_file_owner", "stored_file", ["owner_resource", "owner_id"])
    op.create_index("ix_stored_file_sha256", "stored_file", ["sha256"])
    op.create_index("ix_stored_file_uploaded_by_id", "stored_file", ["uploaded_by_id"])
    op.create_index("ix_stored_file_created_at", "stored_file", ["created_at"])
    # A product's photo (the stock panel's form declares fields.photo("photo_id")).
    op.add_column("product", sa.Column("photo_id", sa.Integer(), sa.ForeignKey("stored_file.id", ondelete="SET NULL"), nullable=True))


def downgrade() -> None:
    op.drop_column("product", "photo_id")
    op.drop_table("stored_file")
