"""Field kinds: one class per kind owns parsing, the API type, display and search (see :mod:`.base`).

Every module of this package is a kind (or a few close ones) and registers itself on import; they
are all imported here, so a new kit kind is one new file in this folder. A panel or a project can
register its own kind anywhere it is imported before the resources are checked (``app.boot``),
with :func:`register_kind`. Modules whose name starts with ``_`` are helpers, not kinds.
"""

from __future__ import annotations

import importlib
import pkgutil

from app.core.kinds.base import (
    KINDS,
    Error,
    Field,
    Invalid,
    Kind,
    field_of,
    field_options,
    field_required,
    infer_kind,
    kind_for,
    kind_named,
    register_kind,
)

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_") and _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "KINDS", "Error", "Field", "Invalid", "Kind", "field_of", "field_options", "field_required",
    "infer_kind", "kind_for", "kind_named", "register_kind",
]
