"""TOTP second factor with recovery codes, and the Telegram username kept beside the linked id.

* ``user.totp_secret`` — the TOTP secret, Fernet-encrypted by its column type (``EncryptedString``);
  ``user.totp_enabled_at`` — when the user confirmed it with a code (MFA is on only then);
  ``user.totp_last_step`` — the last 30-second step a code was accepted for: a code of that step or
  an earlier one is refused (no replay within its window).
* ``user.telegram_username`` — shown only; sign-in and linking go by the Telegram user id
  (``telegram_chat_id``, encrypted).
* ``recovery_code`` — ten one-time codes per user, only their SHA-256 kept; ``used_at`` set once.

Revision ID: 2c3d4e5f6a15
Revises: 0c1d2e3f4a14
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2c3d4e5f6a15"
down_revision: str | None = "0c1d2e3f4a14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("user", sa.Column("totp_secret", sa.Text(), nullable=True))
    op.add_column("user", sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("user", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    op.add_column("user", sa.Column("telegram_username", sa.String(length=64), nullable=True))
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_recovery_code_user_id", "recovery_code", ["user_id"])
    op.create_index("ix_recovery_code_user_hash", "recovery_code", ["user_id", "code_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_recovery_code_user_hash", table_name="recovery_code")
    op.drop_index("ix_recovery_code_user_id", table_name="recovery_code")
    op.drop_table("recovery_code")
    op.drop_column("user", "telegram_username")
    op.drop_column("user", "totp_last_step")
    op.drop_column("user", "totp_enabled_at")
    op.drop_column("user", "totp_secret")
