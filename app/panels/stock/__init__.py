"""The stock panel: seed 001 (Sirius) — products, supplies, orders, analytics."""

from app.core import Panel, audit, register
from app.panels.stock.api import router
from app.panels.stock.catalog import CATALOG
from app.panels.stock.resources import Orders, Products, Supplies
from app.panels.stock.roles import ROLES
from app.panels.stock.reports import ANALYTICS, OVERVIEW
from app.panels.stock.services import EUR_RUB_KEY

# The EUR rate's changes are read by those who may set it.
audit.setting_readers(EUR_RUB_KEY, "stock.analytics.rate")

PANEL = register(
    Panel(
        name="stock",
        label="stock",
        icon="warehouse",
        resources=[Products, Supplies, Orders],
        roles=ROLES,
        catalog=CATALOG,
        permissions=["stock.analytics.view", "stock.analytics.rate"],
        events={
            "stock.low_stock": ("stock.low_stock", ["admin", "manager"]),
            "stock.order_status": ("stock.order_status", ["manager"]),
        },
        api_router=router,
        api_unprefixed=True,  # seed 001, section 7 names /api/products, /api/orders/{id}/issue, ...
        # declared page kinds: each gives its page, menu entry and API twin (the UI loads in the web process only)
        pages=[OVERVIEW, ANALYTICS],
    )
)
