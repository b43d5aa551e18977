"""The sign-in policy an administrator sets on Administration → Security, read by the server
wherever it decides: which roles must have a second factor (TOTP), from which networks each role
may work (IP allowlist, checked at sign-in *and* on every request of an open session), and the
login limits the throttle counts with.

The values are ``setting`` rows (written by the security page, :mod:`app.panels.admin.security`);
until an admin saves them, the environment's defaults apply (``PULT_MFA_ROLES``, comma-separated,
and the ``PULT_LOGIN_*`` limits of :mod:`app.core.config`). Each check reads the rows afresh (a
primary-key lookup): a change takes effect on the next request, in every process.

An allowlist names networks per role (``admin: 10.0.0.0/8, 192.168.1.7``). A user is let in when
*every* one of their roles that has a list allows the address; a role without a list does not
restrict. An unknown address (no peer) is refused for a restricted role: fail closed.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Any, Iterable

from sqlmodel import Session, select

from app.core.config import settings
from models.core import Setting

MFA_ROLES_KEY = "security.mfa_roles"
IP_ALLOWLIST_KEY = "security.ip_allowlist"
LIMIT_KEYS = {
    "login_max_per_account": "security.login_max_per_account",
    "login_max_per_ip": "security.login_max_per_ip",
    "login_window_minutes": "security.login_window_minutes",
}


@dataclass(frozen=True)
class LoginLimits:
    """What the throttle counts with: wrong answers per account and address, per address, and the window."""

    max_per_account: int
    max_per_ip: int
    window_seconds: int


def _rows(db: Session, keys: Iterable[str]) -> dict[str, Any]:
    return {r.key: r.value for r in db.exec(select(Setting).where(Setting.key.in_(list(keys))))}


# --------------------------------------------------------------------------- MFA
def mfa_roles(db: Session) -> frozenset[str]:
    """The roles whose users must have a second factor."""
    value = _rows(db, [MFA_ROLES_KEY]).get(MFA_ROLES_KEY)
    if value is None:
        value = [r.strip() for r in os.environ.get("PULT_MFA_ROLES", "").split(",") if r.strip()]
    return frozenset(r for r in value if isinstance(r, str)) if isinstance(value, list) else frozenset()


def mfa_required(db: Session, roles: Iterable[str]) -> bool:
    return bool(mfa_roles(db) & set(roles or ()))


# --------------------------------------------------------------------------- IP allowlist
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allowlist(text: str) -> dict[str, list[str]]:
    """``"role: cidr, cidr"`` lines → ``{role: [cidr, ...]}`` (networks normalised). Raises
    ``ValueError(line_number, what)`` on a line that is not ``role: networks`` or a bad network."""
    out: dict[str, list[str]] = {}
    for n, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        role, colon, nets = line.partition(":")
        role = role.strip()
        if not colon or not role or not nets.strip():
            raise ValueError(n, line)
        for item in nets.replace(";", ",").split(","):
            item = item.strip()
            if not item:
                continue
            try:
                net = ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(n, item) from None
            out.setdefault(role, [])
            if str(net) not in out[role]:
                out[role].append(str(net))
    return out


def format_allowlist(value: dict[str, list[str]]) -> str:
    return "\n".join(f"{role}: {', '.join(nets)}" for role, nets in sorted((value or {}).items()))


def allowlist(db: Session) -> dict[str, list[str]]:
    """``{role: [network, ...]}`` as saved (empty when none)."""
    value = _rows(db, [IP_ALLOWLIST_KEY]).get(IP_ALLOWLIST_KEY)
    if isinstance(value, str):
        try:
            return parse_allowlist(value)
        except ValueError:
            return {}
    return {k: list(v) for k, v in value.items()} if isinstance(value, dict) else {}


def ip_allowed(db: Session, roles: Iterable[str], ip: str | None) -> bool:
    """Whether an account with ``roles`` may work from ``ip`` (see the module's docstring)."""
    rules = allowlist(db)
    if not rules:
        return True
    restricted = [rules[r] for r in (roles or ()) if r in rules]
    if not restricted:
        return True
    try:
        addr = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return False
    if getattr(addr, "ipv4_mapped", None) is not None:
        addr = addr.ipv4_mapped
    for nets in restricted:
        if not any(addr.version == (net := ipaddress.ip_network(n, strict=False)).version and addr in net for n in nets):
            return False
    return True


# --------------------------------------------------------------------------- login limits
def login_limits(db: Session | None = None, defaults: Any = None) -> LoginLimits:
    """The throttle's limits: the security page's values, else the environment's (``defaults``: a
    config object, :data:`app.core.config.settings` unless given)."""
    defaults = defaults if defaults is not None else settings
    rows: dict[str, Any] = {}
    try:
        if db is not None:
            rows = _rows(db, LIMIT_KEYS.values())
        else:
            from app.core.db import session_scope

            with session_scope() as own:
                rows = _rows(own, LIMIT_KEYS.values())
    except Exception:  # the database being down must not lift the limits: fall back to the defaults
        rows = {}

    def num(name: str, default: int) -> int:
        value = rows.get(LIMIT_KEYS[name])
        return int(value) if isinstance(value, (int, float)) and int(value) > 0 else default

    return LoginLimits(
        max_per_account=num("login_max_per_account", defaults.login_max_per_account),
        max_per_ip=num("login_max_per_ip", defaults.login_max_per_ip),
        window_seconds=num("login_window_minutes", 0) * 60 or defaults.login_window_seconds,
    )


__all__ = ["IP_ALLOWLIST_KEY", "LIMIT_KEYS", "LoginLimits", "MFA_ROLES_KEY", "allowlist", "format_allowlist", "ip_allowed",
           "login_limits", "mfa_required", "mfa_roles", "parse_allowlist"]
