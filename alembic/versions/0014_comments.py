"""Comments on any record (the detail page's comment wall and timeline).

Revision ID: 0c1d2e3f4a14
Revises: 2c3d4e5f6a05
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0c1d2e3f4a14"
down_revision: str | None = "2c3d4e5f6a05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("comment.id", ondelete="CASCADE"), nullable=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", postgresql.JSONB(), nullable=False, server_default="[]"),
        sa.Column("attachments", postgresql.JSONB(), nullable=False, server_default="[]"),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_comment_record", "comment", ["resource", "record_id", "id"])
    op.create_index("ix_comment_created_at", "comment", ["created_at"])
    op.create_index("ix_comment_parent_id", "comment", ["parent_id"])
    op.create_index("ix_comment_user_id", "comment", ["user_id"])


def downgrade() -> None:
    op.drop_table("comment")
