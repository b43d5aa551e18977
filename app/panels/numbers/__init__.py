"""The numbers panel: seed 004 — a phone-number CRM with tens of millions of numbers."""

from app.core import Page, Panel, register
from app.panels.numbers.api import router
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
from app.panels.numbers import jobs as _jobs  # noqa: F401 - registers the job kinds
from app.panels.numbers import sftp as _sftp  # noqa: F401
from app.panels.numbers.roles import ROLES
from app.panels.numbers.reports import CONVERSION
from app.panels.numbers.routes import IMPORT, SOFTPHONE
# SoftPhone (seed 004, 7.2): signed call events, their settings page and the incoming-call card.
from app.panels.numbers.softphone import PERM as SOFTPHONE_PERM
from app.panels.numbers.softphone import softphone_router
from app.panels.numbers.softphone_settings import SOFTPHONE as SOFTPHONE_SETTINGS

# Pages and the call card by reference: the web process imports them, a worker never does.
PAGES = "app.panels.numbers.pages"

PANEL = register(
    Panel(
        name="numbers",
        label="numbers",
        icon="phone",
        resources=[Numbers, Projects, DeletedProjects, Providers, GeoPlaces, Statuses, Schedules, Calls, Transfers, SftpHosts, Scopes],
        roles=ROLES,
        catalog=CATALOG,
        permissions=["numbers.all_providers", "numbers.import", "numbers.conversion.view", SOFTPHONE_PERM],
        api_router=router,
        pages=[
            CONVERSION,  # a declared report: page, menu entry, /api/numbers/reports/conversion(.csv)
            Page(IMPORT, "numbers.import.title", f"{PAGES}:transfer_page", perm="numbers.import", icon="upload", on_load=f"{PAGES}:ImportState.load_here"),
            SOFTPHONE_SETTINGS.page(SOFTPHONE, icon="phone-incoming", title="numbers.softphone"),
        ],
        root_routers=[softphone_router()],
        overlays=["app.panels.numbers.softphone_card:softphone_card"],
    )
)
