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
from app.panels.numbers.routes import CONVERSION, IMPORT, SOFTPHONE
# SoftPhone (seed 004, 7.2): signed call events, their settings page and the incoming-call card.
from app.panels.numbers.softphone import PERM as SOFTPHONE_PERM
from app.panels.numbers.softphone import softphone_router

# Pages and the call card by reference: the web process imports them, a worker never does.
PAGES, SOFTPHONE_PAGE = "app.panels.numbers.pages", "app.panels.numbers.softphone_page"

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
            Page(CONVERSION, "numbers.conversion", f"{PAGES}:conversion_page", perm="numbers.conversion.view", icon="chart-column", on_load=f"{PAGES}:ConversionState.load"),
            Page(IMPORT, "numbers.import.title", f"{PAGES}:transfer_page", perm="numbers.import", icon="upload", on_load=f"{PAGES}:TransferState.load"),
            Page(SOFTPHONE, "numbers.softphone", f"{SOFTPHONE_PAGE}:softphone_page", perm=SOFTPHONE_PERM, icon="phone-incoming", on_load=f"{SOFTPHONE_PAGE}:SoftphoneSettingsState.load"),
        ],
        root_routers=[softphone_router()],
        overlays=["app.panels.numbers.softphone_card:softphone_card"],
    )
)
