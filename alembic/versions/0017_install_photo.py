"""The installation photo of a shipment (section 8: support confirms "installed" with a photo).

Revision ID: 4e5f6a7b8c17
Revises: 3d4e5f6a7b13
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4e5f6a7b8c17"
down_revision: str | None = "3d4e5f6a7b13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("eq_shipment", sa.Column("install_photo_id", sa.Integer(), sa.ForeignKey("stored_file.id", ondelete="SET NULL"),
                                           nullable=True))


def downgrade() -> None:
    op.drop_column("eq_shipment", "install_photo_id")
