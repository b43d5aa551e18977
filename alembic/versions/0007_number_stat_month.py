"""Monthly conversion aggregates and a day index, so any period reads a few thousand rows.

Revision ID: 7b1c2d3e4f5a
Revises: 6a0b1c2d3e4f
Create Date: 2026-11-23
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b1c2d3e4f5a"
down_revision: str | None = "6a0b1c2d3e4f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from models.numbers_sql import STAT_FUNCTION

    op.create_table(
        "number_stat_month",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("status_id", sa.SmallInteger(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("n", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("project_id", "provider_id", "status_id", "month"),
    )
    op.create_index("ix_number_stat_day", "number_stat", ["day"], unique=False,
                    postgresql_include=["project_id", "provider_id", "status_id", "n"])
    op.execute(STAT_FUNCTION)
    op.execute("""INSERT INTO number_stat_month (project_id, provider_id, status_id, month, n)
                  SELECT project_id, provider_id, status_id, date_trunc('month', day)::date, sum(n) FROM number_stat GROUP BY 1, 2, 3, 4""")


def downgrade() -> None:
    op.drop_index("ix_number_stat_day", table_name="number_stat")
    op.drop_table("number_stat_month")
    # Back to the daily-only function of 0006 (it no longer writes number_stat_month).
    import runpy
    from pathlib import Path

    frozen = runpy.run_path(str(Path(__file__).with_name("0006_numbers_panel.py")))
    op.execute(frozen["STAT_FUNCTION"])
