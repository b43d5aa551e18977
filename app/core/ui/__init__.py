"""The kit's UI face: what a panel's own pages import (Reflex components and state helpers).

Only the web process imports this package; a panel names its pages by reference
(``Page(route, title, "app.panels.x.pages:page", on_load="app.panels.x.pages:State.load")``), so a
worker that boots the same panel never loads Reflex. The names load when first used (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.lazy import lazy_names

#: Public name -> "module:attribute" it comes from.
_FACE: dict[str, str] = {
    # Page states
    "AuthState": "app.core.ui.base:AuthState",
    "ui_session": "app.core.ui.base:ui_session",
    "tr": "app.core.ui.base:tr",
    "set_url": "app.core.ui.base:set_url",
    "ERROR_TOAST": "app.core.ui.base:ERROR_TOAST",
    "JobRunMixin": "app.core.ui.job_run:JobRunMixin",
    # The Report page kind's state (an ``extra`` block beside a report's parameters refreshes it)
    "ReportState": "app.core.ui.report_page:ReportState",
    # Components
    "page_header": "app.core.ui.widgets:page_header",
    "forbidden_box": "app.core.ui.widgets:forbidden_box",
    "confirm_dialog": "app.core.ui.widgets:confirm_dialog",
    "relation_picker": "app.core.ui.widgets:relation_picker",
    "job_run_card": "app.core.ui.job_run:job_run_card",
    # A map of places and a route (Leaflet; tiles from PULT_MAP_TILE_URL)
    "map_view": "app.core.ui.map:map_view",
    # The generated state of a Settings page (a custom block's handlers send it events: its refresh)
    "settings_state": "app.core.ui.settings_page:state_of",
    # The import page (a resource's declared bulk import at its own address: Page(..., on_load=ImportState.load_here))
    "ImportState": "app.core.ui.import_page:ImportState",
    "resource_import_page": "app.core.ui.import_page:import_page",  # not "import_page": that is the module's name
}

__all__ = sorted(_FACE)


__getattr__, __dir__ = lazy_names(__name__, globals(), _FACE)


if TYPE_CHECKING:
    from app.core.ui.base import ERROR_TOAST, AuthState, set_url, tr, ui_session  # noqa: F401
    from app.core.ui.import_page import ImportState  # noqa: F401
    from app.core.ui.import_page import import_page as resource_import_page  # noqa: F401
    from app.core.ui.job_run import JobRunMixin, job_run_card  # noqa: F401
    from app.core.ui.map import map_view  # noqa: F401
    from app.core.ui.settings_page import state_of as settings_state  # noqa: F401
    from app.core.ui.report_page import ReportState  # noqa: F401
    from app.core.ui.widgets import confirm_dialog, forbidden_box, page_header, relation_picker  # noqa: F401
