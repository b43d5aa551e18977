"""The composition root: the one place that knows what a running Pult is made of.

``boot()`` imports the kit's built-in parts and the panels named in ``PULT_PANELS`` (each
registers itself with :mod:`app.core.registry`), then any ``PULT_JOB_MODULES``, and then checks
every declaration once (:func:`app.core.registry.check`). The web app (``app/app.py``), the
workers, the scheduler, the Telegram poller and the demo loader call it first; nothing below
``app/`` imports it, so the kit never reaches up to a panel. Calling it again is cheap.
"""

from __future__ import annotations

import importlib
import os

from app.core import registry
from app.core.config import settings

#: The kit's own parts that register panels, job kinds or handlers.
KIT_MODULES = (
    "app.core.admin",
    "app.core.kit_jobs",
    "app.core.telegram_delivery",
    "app.core.telegram_handlers",
)


def boot(panels: tuple[str, ...] | None = None) -> list[registry.Panel]:
    """Import the kit's parts and the enabled panels, then check the declarations."""
    for module in KIT_MODULES:
        importlib.import_module(module)
    for name in panels if panels is not None else settings.panels:
        importlib.import_module(f"app.panels.{name}")
    for name in os.environ.get("PULT_JOB_MODULES", "").split(","):
        if name.strip():
            importlib.import_module(name.strip())
    return registry.check()


__all__ = ["KIT_MODULES", "boot"]
