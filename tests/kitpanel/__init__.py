"""The fixture panel: a small panel declared on the kit the way ``app/panels/*`` are, on which the
kit's own tests exercise its generic behaviour (CRUD and audit, the list contract, export, import,
bulk actions in a worker, the list view) without depending on a real panel's rules.

It is *declared* here and registered only where a test asks for it: importing this package
registers nothing (the production app, ``scripts/run`` and tests that walk every registered
resource never see it). Tests use the ``kitpanel`` fixture (``tests/conftest.py``), which creates
its tables (schema ``kitpanel``, a MetaData of its own) and calls :func:`enable` for the module;
a job worker started by ``tests/jobs/conftest.py`` loads :mod:`tests.kitpanel.enabled` through
``PULT_JOB_MODULES``. See docs/architecture.md, "Testing".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app.core import Panel
from app.core.registry import PANELS, RESOURCES, check, register
from tests.kitpanel.catalog import CATALOG
from tests.kitpanel.resources import Deliveries, Items, Orders, Tags

NAME = "kitpanel"

#: Roles as the ``users`` fixture grants them: the manager may do everything in the panel, the
#: operator ("user") sees everything, creates orders and issues them (not deny, not edit items).
ROLES = {
    "manager": ("role.kitpanel.manager", ["kitpanel.*", "admin.audit.view"]),
    "user": ("role.kitpanel.user", ["kitpanel.items.view", "kitpanel.deliveries.view", "kitpanel.orders.view", "kitpanel.tags.view",
                                    "kitpanel.orders.create", "kitpanel.orders.issue"]),
}

PANEL = Panel(name=NAME, label=NAME, icon="flask-conical", resources=[Items, Deliveries, Orders, Tags], roles=ROLES, catalog=CATALOG,
              # a permission that is not a resource operation (the reports tests declare theirs with it)
              permissions=["kitpanel.reports.view"])


def enable() -> Panel:
    """Register the panel (idempotent) and re-run the cross checks."""
    register(PANEL)
    check()
    return PANEL


def disable() -> None:
    """Take the panel out of the registry again (its catalogue entries stay: they harm nobody)."""
    PANELS.pop(NAME, None)
    for key in [k for k in RESOURCES if k.startswith(f"{NAME}.")]:
        RESOURCES.pop(key)


def enabled() -> bool:
    return NAME in PANELS


@contextmanager
def set_aside() -> Iterator[None]:
    """The registry without the fixture panel meanwhile (as it was afterwards): for what is built
    once for the whole session from the registry, like the REST API app of ``tests/api``."""
    was = enabled()
    disable()
    try:
        yield
    finally:
        if was:
            enable()


__all__ = ["PANEL", "ROLES", "disable", "enable", "enabled", "set_aside"]
