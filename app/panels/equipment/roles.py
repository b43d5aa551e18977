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

# Process side: templates, requests, reservations, shipments, deliveries, installation (process.py)
PROCESS = {
    "storekeeper": [],
    "support": [],
    "chief": [],
}

ROLES = {
    "storekeeper": ("role.equipment.storekeeper", MACHINES["storekeeper"] + WAREHOUSE["storekeeper"] + PROCESS["storekeeper"]),
    "support": ("role.equipment.support", MACHINES["support"] + WAREHOUSE["support"] + PROCESS["support"]),
    "chief": ("role.equipment.chief", ["equipment.*", "admin.audit.view"]),
}
