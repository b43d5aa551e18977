"""The numbers panel: seed 004 — a phone-number CRM with tens of millions of numbers."""

import app.core.admin  # noqa: F401 - registered first: the scopes resource points at admin.users
from app.core.registry import Panel, register
from app.panels.numbers.catalog import CATALOG
from app.panels.numbers.resources import (
    Calls,
    DeletedProjects,
    GeoPlaces,
    Numbers,
    Projects,
    Providers,
    Schedules,
    Scopes,
    SftpHosts,
    Statuses,
    Transfers,
)
from app.panels.numbers.roles import ROLES

PANEL = register(
    Panel(
        name="numbers",
        label="numbers",
        icon="phone",
        resources=[Numbers, Projects, DeletedProjects, Providers, GeoPlaces, Statuses, Schedules, Calls, Transfers, SftpHosts, Scopes],
        roles=ROLES,
        catalog=CATALOG,
        permissions=["numbers.all_providers", "numbers.import", "numbers.conversion.view"],
    )
)
