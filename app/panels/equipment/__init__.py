"""The equipment panel: seed 000 — serial assets with three status axes, consumables, warehouse
documents, requests from templates, reservations, shipments, Yandex Delivery with a timeline,
store cards, "delivered but not installed", forecasting."""

from app.core import Page, Panel, register
from app.panels.equipment.catalog import CATALOG
from app.panels.equipment.dashboard import DASHBOARD
from app.panels.equipment.delivery import INTEGRATIONS, PERM_SETTINGS
from app.panels.equipment.forecast import FORECAST
from app.panels.equipment.resources import RESOURCES as WAREHOUSE_RESOURCES
from app.panels.equipment.roles import ROLES
from app.panels.equipment.routes import INTEGRATIONS as INTEGRATIONS_ROUTE
from app.panels.equipment.routes import STORE_CARD
from app.panels.equipment.store_card import VIEW_PERM as STORE_VIEW

# process side: templates, requests, reservations, shipments, deliveries (requests.py, process.py)
from app.panels.equipment.process import SLA_EVENTS
from app.panels.equipment.requests import RESOURCES as PROCESS_RESOURCES
from app.panels.equipment.sla_settings import SLA, SLA_PERM, SLA_ROUTE

CARD = "app.panels.equipment.store_card_page"

PANEL = register(
    Panel(
        name="equipment",
        label="equipment",
        icon="router",
        resources=[*WAREHOUSE_RESOURCES, *PROCESS_RESOURCES],
        roles=ROLES,
        catalog=CATALOG,
        permissions=["equipment.forecast.view", PERM_SETTINGS, "equipment.delivery.create", "equipment.sla.check", SLA_PERM],
        events={**SLA_EVENTS},
        # declared page kinds: each gives its page, menu entry and API twin
        pages=[
            DASHBOARD,
            FORECAST,
            Page(STORE_CARD, "equipment.card.title", f"{CARD}:store_card_page", perm=STORE_VIEW, icon="store", menu=False,
                 on_load=f"{CARD}:StoreCardState.load"),
            SLA.page(SLA_ROUTE, icon="alarm-clock", title="equipment.sla"),
            INTEGRATIONS.page(INTEGRATIONS_ROUTE, icon="plug", title="equipment.integrations"),
        ],
    )
)
