"""Sign-in hardening: accounts waiting for approval (``user.pending``) have no role yet.

Revision ID: 8a1b2c3d4e01
Revises: 7b1c2d3e4f5a
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a1b2c3d4e01"
down_revision: str | None = "7b1c2d3e4f5a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("user", sa.Column("pending", sa.Boolean(), server_default=sa.text("false"), nullable=False))
    op.create_index("ix_user_pending", "user", ["pending"], unique=False)
    op.alter_column("user", "role", existing_type=sa.String(length=50), nullable=True)


def downgrade() -> None:
    # Accounts still waiting for approval get the operator role back, as before approval existed.
    op.execute("UPDATE \"user\" SET role = 'user' WHERE role IS NULL")
    op.alter_column("user", "role", existing_type=sa.String(length=50), nullable=False)
    op.drop_index("ix_user_pending", table_name="user")
    op.drop_column("user", "pending")
