"""The kit's public faces (app.core, app.core.ui): every name a panel author is promised resolves
to a real object, no face name hides a kit module of the same name, and importing the face pulls
in neither the web framework nor the database driver until a name is used."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import app.core
import app.core.ui


@pytest.mark.parametrize("face", [app.core, app.core.ui], ids=["app.core", "app.core.ui"])
def test_every_face_name_resolves(face):
    for name in face.__all__:
        value = getattr(face, name)
        module, _, attr = face._FACE[name].partition(":")
        assert value is getattr(importlib.import_module(module), attr), name
    assert set(face.__all__) <= set(dir(face))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        face.nope  # noqa: B018


@pytest.mark.parametrize("face", [app.core, app.core.ui], ids=["app.core", "app.core.ui"])
def test_no_face_name_is_also_a_submodule(face):
    # ``from app.core import notify`` inside the kit must keep meaning the module.
    submodules = {m.name for m in pkgutil.iter_modules(face.__path__)}
    assert not submodules & set(face._FACE)


def test_importing_the_face_is_cheap():
    code = "import sys, app.core; print(sorted(m for m in ('reflex', 'fastapi', 'psycopg', 'app.core.query') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_the_panels_read_the_kit_through_the_face():
    """The rule itself is the import-linter contract "panels-use-the-public-face" (scripts/test runs
    it); this names the face's most used entries so a rename shows up here too."""
    from app.core import Panel, Resource, col, get_record, get_resource, visible_query  # noqa: F401
    from app.core.ui import AuthState, forbidden_box, page_header  # noqa: F401
