"""Default roles of the stock panel (seed 001, section 1 and 5), stored as ``stock.<name>``.

The administrator is the kit's ``admin`` role (everything, ``*``), not a panel's.

* manager (``stock.manager``) — products, supplies, orders and analytics; no user management. It
  reads the operation log, which shows it only the rows about what it may see (stock records; see
  ``app.panels.admin.resources.Audit.list_query``), never users, roles, settings or another panel's records.
* user (``stock.user``, operator) — sees stock and all orders, creates orders, marks them issued.
"""

ROLES = {
    "manager": ("role.stock.manager", ["stock.*", "admin.audit.view"]),
    "user": (
        "role.stock.user",
        [
            "stock.products.view",
            "stock.supplies.view",
            "stock.orders.view",
            "stock.orders.create",
            "stock.orders.issue",
            "stock.orders.comment",
        ],
    ),
}
