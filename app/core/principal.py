"""Who acts: the identity every service takes, and the system identity jobs and loaders act as.

A leaf: it imports nothing of the kit, so the audit log, notifications and sign-in can all name
the acting user without importing each other (``app.core.auth`` hands these names on).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CurrentUser:
    """The acting user as services see it: identity plus the role's permissions, detached from any session."""

    id: int | None
    username: str
    #: The user's roles by name (``("stock.manager", "numbers.manager")``); permissions are their union.
    roles: tuple[str, ...] = ()
    permissions: frozenset[str] = field(default_factory=frozenset)
    full_name: str | None = None

    def has_perm(self, perm: str) -> bool:
        """``*`` grants everything; ``stock.*`` grants every permission that starts with ``stock.``."""
        if "*" in self.permissions or perm in self.permissions:
            return True
        parts = perm.split(".")
        return any(".".join(parts[:i]) + ".*" in self.permissions for i in range(1, len(parts)))

    @property
    def is_admin(self) -> bool:
        return "*" in self.permissions


#: The identity jobs and the demo loader act as.
SYSTEM = CurrentUser(id=None, username="system", roles=("admin",), permissions=frozenset({"*"}))


__all__ = ["SYSTEM", "CurrentUser"]
