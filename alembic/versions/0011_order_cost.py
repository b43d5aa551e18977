"""An order keeps its EUR→RUB rate and the product's purchase price (EUR) of the time of sale.

Before, analytics costed every past sale at today's rate and today's purchase price, so changing
the rate rewrote the profit of sales already made. Existing orders are backfilled with the rate
saved now (``setting`` ``stock.eur_rub_rate``, 100 if none was saved) and their product's current
purchase price — the best that is known about them; orders made from now on keep their own.

Revision ID: 1b2c3d4e5f04
Revises: 0a1b2c3d4e03
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1b2c3d4e5f04"
down_revision: str | None = "0a1b2c3d4e03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("order", sa.Column("eur_rub_rate", sa.Numeric(12, 4), nullable=True))
    op.add_column("order", sa.Column("unit_cost_eur", sa.Numeric(12, 2), nullable=True))
    op.execute("""
        UPDATE "order" o SET
            eur_rub_rate = COALESCE((SELECT CASE WHEN jsonb_typeof(value) IN ('string', 'number')
                                                  AND (value #>> '{}') ~ '^[0-9]+([.][0-9]+)?$'
                                             THEN (value #>> '{}')::numeric END
                                     FROM setting WHERE key = 'stock.eur_rub_rate'), 100),
            unit_cost_eur = p.buy_price_eur
        FROM product p WHERE p.id = o.product_id
    """)


def downgrade() -> None:
    op.drop_column("order", "unit_cost_eur")
    op.drop_column("order", "eur_rub_rate")
