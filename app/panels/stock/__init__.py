"""The stock panel: seed 001 (Sirius) — products, supplies, orders, analytics."""

from app.core.registry import Panel, register
from app.panels.stock.catalog import CATALOG
from app.panels.stock.resources import Orders, Products, Supplies
from app.panels.stock.roles import ROLES

PANEL = register(
    Panel(
        name="stock",
        label="stock",
        icon="warehouse",
        resources=[Products, Supplies, Orders],
        roles=ROLES,
        catalog=CATALOG,
        permissions=["stock.analytics.view", "stock.analytics.rate"],
    )
)
