"""Roles of the equipment panel (seed 000, section 2), stored as ``equipment.<name>``.

The administrator is the kit's ``admin`` role (everything): users, roles, settings, integrations,
keys and security policies are its alone (section 2: "управление интеграциями (админ)").

* storekeeper (кладовщик) — warehouse operations (receipt, move, write-off, repair, inventory),
  picking and confirming shipments, assets' technical condition (repair/test/defect/write-off),
  request templates; reads everything of the panel.
* support (техподдержка) — creates requests, sees availability, starts deliveries, comments,
  confirms installation.
* chief (начальник) — almost everything: catalogues, templates, reports, corrections; not
  integrations or secrets (admin only) — and reads the operation log of the panel.

Permissions are ``equipment.<resource>.<action>``; the resources and their state machines name
them (see resources.py and machines.py).
"""

# The asset axes' transitions (machines.py)
MACHINES = {
    "storekeeper": ["equipment.assets.condition", "equipment.reservations.create", "equipment.shipments.pick",
                    "equipment.stock.repair", "equipment.stock.write_off"],
    "support": ["equipment.assets.install"],
    "chief": [],
}

# Warehouse side: catalogue, places, assets, consumables, documents, forecast (resources.py, warehouse.py)
# storekeeper: runs the warehouse (documents posted and reversed, the catalogue and places kept,
# serial numbers corrected, minimums set, the forecast read); support: sees availability only.
WAREHOUSE = {
    "storekeeper": ["equipment.products.view", "equipment.products.create", "equipment.products.update",
                    "equipment.warehouses.view", "equipment.warehouses.create", "equipment.warehouses.update",
                    "equipment.bins.view", "equipment.bins.create", "equipment.bins.update", "equipment.bins.delete",
                    "equipment.stores.view",
                    "equipment.assets.view", "equipment.assets.update",
                    "equipment.stock.view", "equipment.stock.update",
                    "equipment.documents.view", "equipment.documents.create", "equipment.documents.update",
                    "equipment.documents.delete", "equipment.documents.post", "equipment.documents.reverse",
                    "equipment.asset_events.view", "equipment.moves.view", "equipment.forecast.view"],
    "support": ["equipment.products.view", "equipment.warehouses.view", "equipment.bins.view", "equipment.stores.view",
                "equipment.assets.view", "equipment.asset_events.view", "equipment.stock.view"],
    "chief": [],
}

# Process side: templates, requests, reservations, shipments, deliveries, installation (process.py, requests.py)
_READ_PROCESS = ["equipment.templates.view", "equipment.template_lines.view", "equipment.requests.view", "equipment.request_lines.view",
                 "equipment.reservations.view", "equipment.shipments.view", "equipment.shipment_items.view", "equipment.deliveries.view"]
# what the process's pickers and columns name (the warehouse side's resources): seen by both
_PICKED = ["equipment.products.view", "equipment.warehouses.view", "equipment.stores.view", "equipment.assets.view",
           "equipment.stock.view"]
PROCESS = {
    # makes templates; reserves (by SN, by quantity, automatically) and releases; picks with the
    # checklist, confirms shipments and hands them to the courier
    "storekeeper": _READ_PROCESS + _PICKED + [
        "equipment.templates.create", "equipment.templates.update", "equipment.templates.delete",
        "equipment.template_lines.create", "equipment.template_lines.update", "equipment.template_lines.delete",
        "equipment.requests.reserve_auto", "equipment.requests.reserve_sn", "equipment.requests.reserve_qty",
        "equipment.requests.start_picking", "equipment.reservations.release",
        "equipment.shipments.pick", "equipment.shipments.confirm", "equipment.shipments.hand_over",
        "equipment.deliveries.refresh", "equipment.requests.comment", "equipment.shipments.comment",
    ],
    # creates requests (from a template or by hand) and cancels them, confirms installation and ticks
    # the installation checklist; never confirms a shipment
    "support": _READ_PROCESS + _PICKED + [
        "equipment.requests.create", "equipment.requests.update", "equipment.requests.delete", "equipment.requests.cancel",
        "equipment.request_lines.create", "equipment.request_lines.update", "equipment.request_lines.delete",
        "equipment.requests.tick_install", "equipment.shipments.install",
        # section 2: support starts the delivery (orders the courier), follows and cancels it, and discusses
        "equipment.delivery.create", "equipment.shipments.order_courier", "equipment.deliveries.refresh",
        "equipment.deliveries.cancel", "equipment.requests.comment", "equipment.shipments.comment",
    ],
    # chief: everything of the panel (``equipment.*`` below), marking a manual delivery delivered included
    "chief": [],
}

ROLES = {
    "storekeeper": ("role.equipment.storekeeper", MACHINES["storekeeper"] + WAREHOUSE["storekeeper"] + PROCESS["storekeeper"]),
    "support": ("role.equipment.support", MACHINES["support"] + WAREHOUSE["support"] + PROCESS["support"]),
    "chief": ("role.equipment.chief", ["equipment.*", "admin.audit.view"]),
}
