"""Roles as people read them, and the rule that a user holds at most one role per panel.

A panel's role is stored as ``<panel>.<name>`` (``stock.manager``), the kit's own as ``admin``
(:mod:`app.core.registry`). The label of a built-in role comes from the catalogue
(``role.<stored name>``) in the reader's language; a role an admin made shows the label it was
given, or its name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, select

from app.core import i18n
from models.core import Role

log = logging.getLogger(__name__)


def role_label(name: str, lang: str = i18n.DEFAULT_LANG, stored: str | None = None) -> str:
    """``stock.manager`` → "Менеджер склада" (ru) / "Stock manager" (en)."""
    key = f"role.{name}"
    if i18n.has(key):
        return i18n.t(key, lang)
    return stored or name


def roles_label(names: Iterable[str], lang: str = i18n.DEFAULT_LANG) -> str:
    """Several roles for one cell: labels joined with a comma, in the stored order."""
    return ", ".join(role_label(n, lang) for n in names)


def panel_label(panel: str | None, lang: str = i18n.DEFAULT_LANG) -> str:
    from app.core.registry import PANELS

    p = PANELS.get(panel or "")
    return i18n.t(p.label, lang) if p is not None and i18n.has(p.label) else (p.label if p else (panel or ""))


def check_roles(db: Session, names: list[str]) -> tuple[str, dict] | None:
    """Why ``names`` cannot be a user's roles (an i18n key and params), or ``None``: every role
    must exist and no two may belong to one panel (a stock manager who is also a stock operator
    is a contradiction; custom roles without a panel prefix combine freely)."""
    from app.core.registry import role_panel

    if not names:
        return None
    known = set(db.exec(select(Role.name).where(Role.name.in_(names))).all())
    if any(n not in known for n in names):
        return ("error.choice", {})
    seen: dict[str, str] = {}
    for n in names:
        panel = role_panel(n)
        if panel is None:
            continue
        if panel in seen:
            return ("users.one_role_per_panel", {"panel": panel_label(panel)})
        seen[panel] = n
    return None


#: The roles an admin made, read at most every few seconds (the user form's options are asked for
#: on every parse); a role saved or deleted in this process clears it (:func:`forget_choices`).
_CUSTOM: dict[str, Any] = {"at": 0.0, "roles": []}
CUSTOM_TTL = 5.0


def forget_choices() -> None:
    _CUSTOM["at"] = 0.0


def _custom_roles() -> list[tuple[str, str]]:
    from app.core import db as dbm

    if time.monotonic() - _CUSTOM["at"] > CUSTOM_TTL:
        try:
            with dbm.session_scope() as db:
                _CUSTOM["roles"] = [(n, lbl or n) for n, lbl in db.exec(select(Role.name, Role.label).order_by(Role.name)).all()]
            _CUSTOM["at"] = time.monotonic()
        except Exception as exc:  # noqa: BLE001 - declarations are checked at start-up, maybe before the database is up
            log.debug("roles: the role table cannot be read yet: %s", exc)
    return _CUSTOM["roles"]


def role_choices() -> list[tuple[str, str]]:
    """(name, i18n key or label) of the roles a user form offers: the built-in ones by panel, then
    those an admin made (read from the table when it is reachable)."""
    from app.core.registry import all_roles

    out = [(name, f"role.{name}" if i18n.has(f"role.{name}") else label) for name, (label, _p) in all_roles().items()]
    known = {name for name, _ in out}
    return out + [(name, label) for name, label in _custom_roles() if name not in known]
