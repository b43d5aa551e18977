"""Every generated and custom page builds its component tree (what ``reflex run`` compiles), so a
bad prop or an unknown colour fails here in a second rather than in a browser test's server start."""

from __future__ import annotations

import pytest

from app.boot import boot
from app.core.registry import PANELS, import_ref

boot()


def _pages():
    from app.core.ui.detail import detail_page
    from app.core.ui.form import form_page
    from app.core.ui.import_page import import_page
    from app.core.ui.list_page import list_page

    for panel in PANELS.values():
        for res in panel.resources:
            yield f"{res.key()} list", lambda r=res: list_page(r)
            yield f"{res.key()} detail", lambda r=res: detail_page(r)
            if "create" in res.operations:
                yield f"{res.key()} new", lambda r=res: form_page(r, False)
                yield f"{res.key()} import", lambda r=res: import_page(r)
            if "update" in res.operations:
                yield f"{res.key()} edit", lambda r=res: form_page(r, True)
        for page in panel.pages:
            yield page.route, lambda p=page: import_ref(p.component)()


@pytest.mark.parametrize(("name", "build"), list(_pages()), ids=lambda x: x if isinstance(x, str) else "")
def test_page_builds(name, build):
    from app.core.ui.layout import shell

    assert shell(build()) is not None


def test_booting_imports_no_ui():
    """A worker boots the same panels as the web process without importing Reflex: pages, their
    states and overlays are references the web process resolves (import-linter holds the imports;
    this holds the references, which a linter cannot see)."""
    import subprocess
    import sys

    code = "import sys; from app.boot import boot; boot(); print('reflex' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
