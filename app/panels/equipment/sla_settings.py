"""Equipment → SLA, declared: how many hours a delivery may take (the due time a hand-over sets) and
how long a delivered device may wait for installation before the check notifies (section 13.5).
Saving it also keeps the check's schedule (``equipment:sla``, every 10 minutes) switched on."""

from __future__ import annotations

from typing import Any

from app.core import Settings, SettingsContext, fields
from app.panels.equipment import process

SLA_ROUTE = "/equipment/sla"
SLA_PERM = "equipment.sla.settings"


def _after_save(ctx: SettingsContext, changed: list[str]) -> Any:
    process.ensure_sla_schedule(ctx.db, ctx.user)
    ctx.db.commit()


SLA = Settings(
    "equipment.sla", title="equipment.sla", perm=SLA_PERM, id_prefix="sla", help="equipment.sla_help",
    fields=[
        fields.integer("delivery_hours", min=1, max=720, label="equipment.sla.delivery_hours", help="equipment.sla.delivery_hours_help",
                       default=process.DEFAULT_DELIVERY_HOURS),
        fields.integer("install_hours", min=1, max=720, label="equipment.sla.install_hours", help="equipment.sla.install_hours_help",
                       default=process.DEFAULT_INSTALL_HOURS),
    ],
    store={"delivery_hours": process.DELIVERY_HOURS_KEY, "install_hours": process.INSTALL_HOURS_KEY},
    after_save=_after_save,
)
