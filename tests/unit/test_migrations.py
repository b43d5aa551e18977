"""Alembic's migrations and the models describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import models  # noqa: F401


def test_upgrade_head_matches_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_generated_stock_columns_are_stored_and_indexed(engine):
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT column_name, is_generated FROM information_schema.columns "
            "WHERE table_name = 'product' AND column_name IN ('stock', 'is_low_stock') ORDER BY 1"
        )).all()
        indexes = {r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'product'"))}
    assert rows == [("is_low_stock", "ALWAYS"), ("stock", "ALWAYS")]
    assert {"ix_product_stock", "ix_product_is_low_stock"} <= indexes
