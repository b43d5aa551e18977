"""Bootstrapping data every installation needs: the built-in roles and the first users."""

from __future__ import annotations

from sqlmodel import Session, select

from app.core import audit
from app.core.auth import SYSTEM, hash_password
from app.core.i18n import t
from app.core.registry import all_events, all_roles
from models.core import NotificationRule, Role, User


def sync_roles(db: Session) -> None:
    """Create the panels' built-in roles and add any permission they declare that a role lacks.

    Permissions an admin granted in the role editor are kept; only missing declared ones are added.
    The caller commits; it has booted the app (``app.boot.boot()``), so the panels are registered.
    """
    for name, (label, perms) in all_roles().items():
        role = db.get(Role, name)
        if role is None:
            db.add(Role(name=name, label=t(label, "ru"), permissions=list(perms), builtin=True))
            audit.record(db, SYSTEM, "create", "admin.roles", name, {"permissions": perms}, source="system")
        else:
            missing = [p for p in perms if p not in role.permissions]
            if missing:
                role.permissions = sorted(set(role.permissions) | set(missing))
                audit.record(db, SYSTEM, "update", "admin.roles", name, {"permissions_added": missing}, source="system")
            role.builtin = True


def sync_rules(db: Session) -> None:
    """Give every declared event its default in-app rules, once: an event that has any rule at all
    (even a disabled one an admin left) is not touched again. The caller commits."""
    db.flush()
    for event, (_label, roles) in all_events().items():
        if db.exec(select(NotificationRule).where(NotificationRule.event == event)).first() is not None:
            continue
        for role in roles:
            if db.get(Role, role) is not None:
                db.add(NotificationRule(event=event, role=role, channel="inapp", enabled=True))


def ensure_user(db: Session, username: str, password: str, roles: list[str] | str, full_name: str | None = None) -> User:
    """Create a user if the username is free; an existing user is left as it is. The caller commits.
    Roles that do not exist (a panel switched off) are left out."""
    user = db.exec(select(User).where(User.username == username)).first()
    if user is None:
        wanted = [roles] if isinstance(roles, str) else list(roles)
        roles = [r for r in wanted if db.get(Role, r) is not None]
        user = User(username=username, hashed_password=hash_password(password), roles=roles, full_name=full_name)
        db.add(user)
        db.flush()
        audit.record(db, SYSTEM, "create", "admin.users", user.id, {"username": username, "roles": roles}, source="system")
    return user
