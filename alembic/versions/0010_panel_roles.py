"""Each panel's roles are its own, and a user holds several (at most one per panel).

Before, a role was a bare name every panel added its permissions to: ``manager`` was the stock
panel's manager *and* the numbers panel's, so a stock manager got the numbers panel's rights and the
operation log with every panel's secrets. Now a panel's role is stored as ``<panel>.<name>``
(``stock.manager``, ``numbers.manager``, ``stock.user``); the kit's ``admin`` keeps its name, and
``user.role`` (one name) becomes ``user.roles`` (a JSON list).

Data: the old shared roles are split by the panel their permissions belong to, and every holder
keeps exactly the access they had — ``manager`` → ``stock.manager`` + ``numbers.manager``,
``user`` → ``stock.user`` (+ ``numbers.user`` if that role had numbers permissions); ``admin`` and
roles an admin made stay as they are. Notification rules and role-addressed notifications follow
the panel of their event. Permissions the panels declare are added at start-up (``sync_roles``).

Revision ID: 0a1b2c3d4e03
Revises: 9a1b2c3d4e02
Create Date: 2026-12-07
"""
from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0a1b2c3d4e03"
down_revision: str | None = "9a1b2c3d4e02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The shared built-in roles of before, split by panel.
SPLIT = {"manager": ("stock", "numbers"), "user": ("stock", "numbers")}


def _panel_of(perm: str, panels: tuple[str, ...]) -> str:
    head = perm.split(".", 1)[0]
    return head if head in panels else panels[0]  # the kit's own (admin.audit.view) stay with the first


def upgrade() -> None:
    op.add_column("user", sa.Column("roles", postgresql.JSONB(), server_default="[]", nullable=False))
    conn = op.get_bind()
    new_names: dict[str, list[str]] = {}
    for old, panels in SPLIT.items():
        row = conn.execute(sa.text("SELECT label, permissions FROM role WHERE name = :n"), {"n": old}).first()
        if row is None:
            continue
        label, perms = row[0], list(row[1] or [])
        parts: dict[str, list[str]] = {}
        for p in perms:
            parts.setdefault(_panel_of(p, panels), []).append(p)
        if old == "user":
            parts.setdefault("stock", [])  # the operator is the stock panel's, even if left empty
        for panel, ps in parts.items():
            name = f"{panel}.{old}"
            conn.execute(sa.text("INSERT INTO role (name, label, permissions, builtin) VALUES (:n, :l, CAST(:p AS jsonb), true) "
                                 "ON CONFLICT (name) DO NOTHING"), {"n": name, "l": label, "p": json.dumps(sorted(ps))})
            new_names.setdefault(old, []).append(name)
    # users: one name → a list, the split roles replaced by their parts
    for uid, role in conn.execute(sa.text('SELECT id, role FROM "user" WHERE role IS NOT NULL')).all():
        roles = new_names.get(role, [role])
        conn.execute(sa.text('UPDATE "user" SET roles = CAST(:r AS jsonb) WHERE id = :i'), {"r": json.dumps(roles), "i": uid})
    # rules and notifications addressed to a split role: the role of their event's panel
    for old, names in new_names.items():
        for name in names:
            panel = name.split(".", 1)[0]
            conn.execute(sa.text("UPDATE notification_rule SET role = :new WHERE role = :old AND event LIKE :p"),
                         {"new": name, "old": old, "p": f"{panel}.%"})
            conn.execute(sa.text("UPDATE notification SET role = :new WHERE role = :old AND kind LIKE :p"),
                         {"new": name, "old": old, "p": f"{panel}.%"})
        conn.execute(sa.text("UPDATE notification_rule SET role = :new WHERE role = :old"), {"new": names[0], "old": old})
        conn.execute(sa.text("UPDATE notification SET role = :new WHERE role = :old"), {"new": names[0], "old": old})
    op.drop_index("ix_user_role", table_name="user")
    op.drop_constraint("user_role_fkey", "user", type_="foreignkey")
    op.drop_column("user", "role")
    for old in new_names:
        conn.execute(sa.text("DELETE FROM role WHERE name = :n"), {"n": old})


def downgrade() -> None:
    op.add_column("user", sa.Column("role", sa.String(length=50), nullable=True))
    conn = op.get_bind()
    for old in SPLIT:
        names = [r[0] for r in conn.execute(sa.text("SELECT name FROM role WHERE name LIKE :p"), {"p": f"%.{old}"}).all()]
        if not names:
            continue
        perms = sorted({p for (ps,) in conn.execute(sa.text("SELECT permissions FROM role WHERE name = ANY(:n)"), {"n": names}).all() for p in ps})
        conn.execute(sa.text("INSERT INTO role (name, label, permissions, builtin) VALUES (:n, :n, CAST(:p AS jsonb), true) ON CONFLICT (name) DO NOTHING"),
                     {"n": old, "p": json.dumps(perms)})
        conn.execute(sa.text("UPDATE notification_rule SET role = :old WHERE role = ANY(:n)"), {"old": old, "n": names})
        conn.execute(sa.text("UPDATE notification SET role = :old WHERE role = ANY(:n)"), {"old": old, "n": names})
        conn.execute(sa.text("""UPDATE "user" SET role = :old WHERE role IS NULL AND EXISTS (
            SELECT 1 FROM jsonb_array_elements_text(roles) r WHERE r = ANY(:n))"""), {"old": old, "n": names})
    conn.execute(sa.text('UPDATE "user" SET role = roles->>0 WHERE role IS NULL AND jsonb_array_length(roles) > 0'))
    op.create_foreign_key("user_role_fkey", "user", "role", ["role"], ["name"])
    op.create_index("ix_user_role", "user", ["role"])
    op.drop_column("user", "roles")
    for old in SPLIT:
        conn.execute(sa.text("DELETE FROM role WHERE name LIKE :p AND NOT EXISTS (SELECT 1 FROM notification_rule WHERE role = role.name)"), {"p": f"%.{old}"})
