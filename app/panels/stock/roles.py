"""Default roles of the stock panel (seed 001, section 1 and 5).

* admin — everything (the kit's ``*``), including users, roles and the operation log.
* manager — products, supplies, orders and analytics; no user management.
* user (operator) — sees stock and all orders, creates orders, marks them issued.
"""

ROLES = {
    "admin": ("role.admin", ["*"]),
    "manager": ("role.manager", ["stock.*", "admin.audit.view"]),
    "user": (
        "role.user",
        [
            "stock.products.view",
            "stock.supplies.view",
            "stock.orders.view",
            "stock.orders.create",
            "stock.orders.issue",
        ],
    ),
}
