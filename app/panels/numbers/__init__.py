"""The numbers panel: seed 004 — a phone-number CRM with tens of millions of numbers."""

from app.core.registry import Page, Panel, register
from app.panels.numbers.api import router
from app.panels.numbers.catalog import CATALOG
from app.panels.numbers.pages import CONVERSION, IMPORT, SETUP, ConversionState, SetupState, TransferState, conversion_page, setup_page, transfer_page
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
# SoftPhone (seed 004, 7.2): signed call events, their settings page and the incoming-call card.
from app.panels.numbers.softphone import PERM as SOFTPHONE_PERM
from app.panels.numbers.softphone import softphone_router
from app.panels.numbers.softphone_card import softphone_card
from app.panels.numbers.softphone_page import ROUTE as SOFTPHONE_ROUTE
from app.panels.numbers.softphone_page import SoftphoneSettingsState, softphone_page

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
            Page(CONVERSION, "numbers.conversion", conversion_page, perm="numbers.conversion.view", icon="chart-column", on_load=ConversionState.load),
            Page(IMPORT, "numbers.import.title", transfer_page, perm="numbers.import", icon="upload", on_load=TransferState.load),
            Page(SETUP, "numbers.setup", setup_page, perm="numbers.projects.view", icon="sliders-horizontal", on_load=SetupState.load),
            Page(SOFTPHONE_ROUTE, "numbers.softphone", softphone_page, perm=SOFTPHONE_PERM, icon="phone-incoming", on_load=SoftphoneSettingsState.load),
        ],
        root_routers=[softphone_router()],
        overlays=[softphone_card],
    )
)
