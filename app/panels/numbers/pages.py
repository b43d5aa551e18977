"""Custom pages of the numbers panel (seed 004, 2.3): the number import (the kit's import page for
the declared bulk import). A project's setup (providers, geo, working windows) is on its own form."""

from __future__ import annotations

import reflex as rx

from app.core import get_resource
from app.core.ui import ImportState, resource_import_page  # noqa: F401 - ImportState.load_here: the import page's on_load

# --------------------------------------------------------------------------- import
def transfer_page() -> rx.Component:
    """Number import: the kit's import page for the declared ``Numbers.bulk_import`` (upload,
    project/provider/geo, the job's progress and error report); ``on_load`` is
    ``ImportState.load_here``."""
    return resource_import_page(get_resource("numbers.numbers"))
