"""The asset's three status axes (seed 000, section 4) as declared state machines.

The axes move independently, each only along these transitions; every caller (a page's action,
the API, a job, a document being posted) goes through ``LOCATION`` / ``CONDITION`` / ``PROCESS``
``.move``/``.fire``, so an illegal move is refused the same way everywhere. Transitions marked
``system`` are made by the panel's services when something happens (a document posted, a
shipment handed to the courier, the provider reporting delivery), never asked for by a person.

Permissions (``equipment.<area>.<action>``, see roles.py):

* ``equipment.assets.condition`` — technical condition (storekeeper, chief);
* ``equipment.reservations.create`` — reserve / release (storekeeper, chief);
* ``equipment.shipments.pick`` — pick / put back (storekeeper, chief);
* ``equipment.assets.install`` — confirm installed / not installed (support, chief);
* ``equipment.stock.repair`` / ``equipment.stock.write_off`` — start a repair or a write-off
  (storekeeper, chief); the documents then move the asset on;
* ``equipment.assets.lost`` — mark lost / found (chief).
"""

from __future__ import annotations

from app.core import Machine, Transition
from models.equipment import Asset, Condition, Location, Process

IN_WAREHOUSE = (Location.MAIN_WAREHOUSE, Location.BIN)


def _reservable(asset: Asset) -> str | None:
    """Only a working asset that is in a warehouse can be reserved."""
    if asset.condition is not Condition.WORKING:
        return "equipment.not_working"
    if asset.location not in IN_WAREHOUSE:
        return "equipment.not_in_warehouse"
    return None


LOCATION = Machine("location", Location, [
    Transition("to_bin", [Location.MAIN_WAREHOUSE, Location.SERVICE_CENTER, Location.UNKNOWN, Location.LOST], Location.BIN,
               system=True),  # a MOVE / REPAIR_RETURN into a bin, inventory found it in a bin
    Transition("to_main", [Location.BIN, Location.SERVICE_CENTER, Location.LOST, Location.UNKNOWN], Location.MAIN_WAREHOUSE,
               system=True),  # a MOVE / REPAIR_RETURN / RECEIPT / inventory found it
    Transition("dispatch", list(IN_WAREHOUSE), Location.IN_TRANSIT, system=True),  # handed to the courier
    Transition("arrive", Location.IN_TRANSIT, Location.STORE, system=True),  # delivered
    Transition("to_service", list(IN_WAREHOUSE), Location.SERVICE_CENTER, system=True),  # a REPAIR_SEND document
    Transition("mark_lost", [Location.MAIN_WAREHOUSE, Location.BIN, Location.IN_TRANSIT, Location.STORE,
                             Location.SERVICE_CENTER, Location.UNKNOWN], Location.LOST, perm="equipment.assets.lost", confirm=True),
    Transition("mark_unknown", [Location.MAIN_WAREHOUSE, Location.BIN], Location.UNKNOWN, system=True),  # inventory missed it
], label="asset.location")

CONDITION = Machine("condition", Condition, [
    Transition("mark_working", [Condition.ON_TESTING, Condition.REQUIRES_REPAIR, Condition.WAITING_PARTS], Condition.WORKING,
               perm="equipment.assets.condition"),
    Transition("mark_defective", [Condition.WORKING, Condition.ON_TESTING], Condition.DEFECTIVE, perm="equipment.assets.condition"),
    Transition("send_to_test", [Condition.WORKING, Condition.DEFECTIVE], Condition.ON_TESTING, perm="equipment.assets.condition"),
    Transition("needs_repair", [Condition.WORKING, Condition.DEFECTIVE, Condition.ON_TESTING, Condition.WAITING_PARTS],
               Condition.REQUIRES_REPAIR, perm="equipment.assets.condition"),
    Transition("wait_parts", Condition.REQUIRES_REPAIR, Condition.WAITING_PARTS, perm="equipment.assets.condition"),
    Transition("not_repairable", [Condition.DEFECTIVE, Condition.REQUIRES_REPAIR, Condition.WAITING_PARTS], Condition.NOT_REPAIRABLE,
               perm="equipment.assets.condition", confirm=True),
    Transition("needs_write_off", [Condition.DEFECTIVE, Condition.NOT_REPAIRABLE], Condition.REQUIRES_WRITE_OFF,
               perm="equipment.assets.condition", confirm=True),
], label="asset.condition")

PROCESS = Machine("process", Process, [
    Transition("reserve", Process.FREE, Process.RESERVED, perm="equipment.reservations.create", guard=_reservable),
    Transition("release", Process.RESERVED, Process.FREE, perm="equipment.reservations.create"),
    Transition("pick", Process.RESERVED, Process.PICKED, perm="equipment.shipments.pick"),
    Transition("unpick", Process.PICKED, Process.RESERVED, perm="equipment.shipments.pick"),
    Transition("await_shipment", Process.PICKED, Process.WAITING_SHIPMENT, system=True),  # the shipment is confirmed
    Transition("ship", [Process.PICKED, Process.WAITING_SHIPMENT], Process.IN_SHIPMENT, system=True),  # handed over
    Transition("unship", [Process.PICKED, Process.WAITING_SHIPMENT], Process.FREE, system=True),  # shipment cancelled
    Transition("deliver", Process.IN_SHIPMENT, Process.DELIVERED, system=True),
    Transition("await_install", Process.DELIVERED, Process.NOT_INSTALLED, system=True),  # section 8
    Transition("install", Process.NOT_INSTALLED, Process.INSTALLED, perm="equipment.assets.install"),
    Transition("uninstall", Process.INSTALLED, Process.NOT_INSTALLED, perm="equipment.assets.install", confirm=True),
    Transition("to_repair", Process.FREE, Process.WAITING_REPAIR_SHIPMENT, perm="equipment.stock.repair"),
    Transition("in_repair", Process.WAITING_REPAIR_SHIPMENT, Process.IN_REPAIR, system=True),  # a REPAIR_SEND document
    Transition("repaired", [Process.IN_REPAIR, Process.WAITING_REPAIR_SHIPMENT], Process.FREE, system=True),  # REPAIR_RETURN / cancelled
    Transition("start_write_off", [Process.FREE, Process.IN_REPAIR], Process.WRITE_OFF_IN_PROGRESS, perm="equipment.stock.write_off",
               confirm=True),
    Transition("cancel_write_off", Process.WRITE_OFF_IN_PROGRESS, Process.FREE, perm="equipment.stock.write_off"),
    Transition("written_off", Process.WRITE_OFF_IN_PROGRESS, Process.WRITTEN_OFF, system=True),  # a WRITE_OFF document
    # counter-documents (warehouse.py): a reversed write-off or repair return puts the asset back
    Transition("write_off_reversed", Process.WRITTEN_OFF, Process.FREE, system=True),
    Transition("repair_return_reversed", Process.FREE, Process.IN_REPAIR, system=True),
], label="asset.process")

AXES = (LOCATION, CONDITION, PROCESS)
