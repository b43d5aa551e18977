"""The composition root: the one place that knows what a running Pult is made of.

``boot()`` imports the kit's job kinds, the built-in panels (``admin``, ``telegram``) and the
panels named in ``PULT_PANELS`` (each registers itself with :mod:`app.core.registry`), then any ``PULT_JOB_MODULES``, and then checks
every declaration once (:func:`app.core.registry.check`). The web app (``app/app.py``), the
workers, the scheduler, the Telegram poller and the demo loader call it first; nothing below
``app/`` imports it, so the kit never reaches up to a panel. Calling it again is cheap.
"""

from __future__ import annotations

import importlib
import os

from app.core import registry
from app.core.config import settings

#: The kit's own job kinds (export, import, bulk actions, schedules' ticks).
KIT_MODULES = ("app.core.kit_jobs", "app.core.backup")

#: The panels the kit ships, enabled everywhere before the project's own (``PULT_PANELS``):
#: ``admin`` (users, roles, audit, rules, jobs, schedules, security) and ``telegram`` (the bot's
#: settings, webhook and poller, and the ``telegram`` notification channel).
BUILTIN_PANELS = ("admin", "telegram")


def boot(panels: tuple[str, ...] | None = None) -> list[registry.Panel]:
    """Import the kit's parts and the enabled panels, then check the declarations."""
    for module in KIT_MODULES:
        importlib.import_module(module)
    wanted = panels if panels is not None else settings.panels
    for name in dict.fromkeys((*BUILTIN_PANELS, *wanted)):
        importlib.import_module(f"app.panels.{name}")
    for name in os.environ.get("PULT_JOB_MODULES", "").split(","):
        if name.strip():
            importlib.import_module(name.strip())
    return registry.check()


__all__ = ["BUILTIN_PANELS", "KIT_MODULES", "boot"]
