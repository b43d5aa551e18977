"""Schedules act as their owner: ``owner_id`` (re-checked at every tick), ``system`` for schedules
the code declares (an SFTP host's own polling), and the last refused tick with its reason.

Existing rows: ``sftp:<host id>`` rows were written by the numbers panel for its hosts and become
``system`` (they ran as the system user before and still do). Every other row is given to the
user its ``created_by`` names when that user still exists; a row whose author is gone is disabled
with the refusal ``no_owner`` until someone saves it again (and so becomes its owner) — it would
otherwise keep running with nobody's rights checked.

Revision ID: 9a1b2c3d4e02
Revises: 8a1b2c3d4e01
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "9a1b2c3d4e02"
down_revision: str | None = "8a1b2c3d4e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("schedule", sa.Column("owner_id", sa.Integer(), nullable=True))
    op.add_column("schedule", sa.Column("system", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("schedule", sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("schedule", sa.Column("refusal", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
    op.create_index(op.f("ix_schedule_owner_id"), "schedule", ["owner_id"], unique=False)
    op.create_foreign_key(None, "schedule", "user", ["owner_id"], ["id"], ondelete="SET NULL")
    op.execute("UPDATE schedule SET system = true WHERE name ~ '^sftp:[0-9]+$'")
    op.execute("""UPDATE schedule s SET owner_id = u.id FROM "user" u
                  WHERE NOT s.system AND u.username = s.created_by AND u.deleted_at IS NULL""")
    op.execute("""UPDATE schedule SET enabled = false, next_fire_at = NULL, refused_at = now(), refusal = 'no_owner'
                  WHERE NOT system AND owner_id IS NULL""")


def downgrade() -> None:
    op.drop_constraint("schedule_owner_id_fkey", "schedule", type_="foreignkey")
    op.drop_index(op.f("ix_schedule_owner_id"), table_name="schedule")
    op.drop_column("schedule", "refusal")
    op.drop_column("schedule", "refused_at")
    op.drop_column("schedule", "system")
    op.drop_column("schedule", "owner_id")
