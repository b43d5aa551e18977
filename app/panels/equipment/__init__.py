"""The equipment panel: seed 000 — serial assets with three status axes, consumables, warehouse
documents, requests from templates, reservations, shipments, Yandex Delivery with a timeline,
store cards, "delivered but not installed", forecasting."""

from app.core import Panel, register
from app.panels.equipment.catalog import CATALOG
from app.panels.equipment.dashboard import OVERVIEW
from app.panels.equipment.forecast import FORECAST
from app.panels.equipment.resources import RESOURCES as WAREHOUSE_RESOURCES
from app.panels.equipment.roles import ROLES

PANEL = register(
    Panel(
        name="equipment",
        label="equipment",
        icon="router",
        resources=[*WAREHOUSE_RESOURCES],
        roles=ROLES,
        catalog=CATALOG,
        permissions=["equipment.forecast.view"],
        events={},
        pages=[OVERVIEW, FORECAST],
    )
)
