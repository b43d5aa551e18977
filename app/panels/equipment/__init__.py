"""The equipment panel: seed 000 — serial assets with three status axes, consumables, warehouse
documents, requests from templates, reservations, shipments, Yandex Delivery with a timeline,
store cards, "delivered but not installed", forecasting."""

from app.core import Panel, register
from app.panels.equipment.catalog import CATALOG
from app.panels.equipment.roles import ROLES

# process side: templates, requests, reservations, shipments, deliveries (requests.py, process.py)
from app.panels.equipment.process import SLA_EVENTS
from app.panels.equipment.requests import RESOURCES as PROCESS_RESOURCES
from app.panels.equipment.sla_settings import SLA, SLA_PERM, SLA_ROUTE
from app.panels.equipment.stand_in import STAND_IN  # dropped at merge: the warehouse side's resources replace it

PANEL = register(
    Panel(
        name="equipment",
        label="equipment",
        icon="router",
        resources=[*STAND_IN, *PROCESS_RESOURCES],
        roles=ROLES,
        catalog=CATALOG,
        permissions=["equipment.sla.check", SLA_PERM],
        events={**SLA_EVENTS},
        pages=[SLA.page(SLA_ROUTE, icon="alarm-clock", title="equipment.sla")],
    )
)
