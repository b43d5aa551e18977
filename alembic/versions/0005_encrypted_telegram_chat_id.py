"""Telegram chat ids encrypted at rest (Fernet under PULT_SECRET_KEY).

Revision ID: f4152e278a8a
Revises: dfc3243ad50d
Create Date: 2026-11-23
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f4152e278a8a"
down_revision: str | None = "dfc3243ad50d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("user", "telegram_chat_id", existing_type=sa.VARCHAR(length=64), type_=sa.Text(), existing_nullable=True)
    bind = op.get_bind()
    rows = bind.execute(sa.text('SELECT id, telegram_chat_id FROM "user" WHERE telegram_chat_id IS NOT NULL')).all()
    if rows:
        from app.core.crypto import encrypt

        for user_id, chat_id in rows:
            bind.execute(sa.text('UPDATE "user" SET telegram_chat_id = :v WHERE id = :i'), {"v": encrypt(chat_id), "i": user_id})


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text('SELECT id, telegram_chat_id FROM "user" WHERE telegram_chat_id IS NOT NULL')).all()
    if rows:
        from app.core.crypto import decrypt

        for user_id, token in rows:
            bind.execute(sa.text('UPDATE "user" SET telegram_chat_id = :v WHERE id = :i'), {"v": decrypt(token)[:64], "i": user_id})
    op.alter_column("user", "telegram_chat_id", existing_type=sa.Text(), type_=sa.VARCHAR(length=64), existing_nullable=True)
