"""The form's upload handler (``FormState.upload_file``) driven directly, against the embedded
SeaweedFS: a photo is stored and shown, a refused file gets its message under the field and stores
nothing, and a user who may not change the record is refused on the server whatever the page
showed. Also: the page's CSP lets the browser load images from the store, and only from it."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
import reflex as rx
from PIL import Image
from sqlmodel import func, select

from app.core import auth, crud
from app.core.registry import resource
from app.core.ui.base import AuthState
from app.core.ui.form import FormState
from models.files import StoredFile
from tests.aio import run
from tests.uistate import sign_in


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (500, 250), (0, 150, 90)).save(buf, "PNG")
    return buf.getvalue()


def _form(db, username: str, record_id: str = "") -> FormState:
    root = rx.State(_reflex_internal_init=True)
    state = root.substates[AuthState.get_name()].substates[FormState.get_name()]
    sign_in(state, auth.login(db, username, f"{username}-pass"))
    state.res_key, state.record_id = "stock.products", record_id
    return state


def _upload(state: FormState, data: bytes, name: str):
    return run(state.upload_file("photo_id", [rx.UploadFile(file=io.BytesIO(data), path=Path(name))]))


def _count(db) -> int:
    return db.exec(select(func.count()).select_from(StoredFile)).one()


def test_a_photo_uploaded_in_the_form_is_stored_and_shown(db, users):
    form = _form(db, "manager")
    _upload(form, _png(), "фото.png")
    assert "photo_id" not in form.errors
    file_id = int(form.values["photo_id"])
    assert form.file_names["photo_id"] == "фото.png" and form.dirty
    thumb = httpx.get(form.file_urls["photo_id"], timeout=10)
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.content)).size == (320, 160)
    assert db.get(StoredFile, file_id).uploaded_by == "manager"


def test_removing_a_pending_upload_deletes_it(db, users, stock_data):
    form = _form(db, "manager")
    _upload(form, _png(), "a.png")
    url = form.file_urls["photo_id"]
    form.remove_file("photo_id")
    assert form.values["photo_id"] == "" and "photo_id" not in form.file_urls
    assert _count(db) == 0 and httpx.get(url, timeout=10).status_code == 404

    # A record's own photo stays when the form merely clears the field (until it is saved so).
    _upload(form, _png(), "b.png")
    product = crud.create_record(db, resource("stock.products"), users["manager"], {"name": "С фото", "photo_id": form.values["photo_id"]})
    edit = _form(db, "manager", str(product.id))
    edit.values = {"photo_id": str(product.photo_id)}
    edit.remove_file("photo_id")
    assert _count(db) == 1


@pytest.mark.parametrize("data, name, message", [
    (b"%PDF-1.4\n" * 10, "scan.png", "Такой тип файла не принимается (можно: GIF, JPEG, PNG, WebP)"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * (5 * 1024 * 1024 + 1), "huge.png", "Файл больше 5 МБ"),
])
def test_a_refused_file_gets_its_message_and_stores_nothing(db, users, data, name, message):
    form = _form(db, "manager")
    _upload(form, data, name)
    assert form.errors["photo_id"] == message
    assert form.values.get("photo_id", "") == "" and _count(db) == 0


def test_an_upload_into_a_record_the_user_may_not_change_is_refused(db, users, stock_data):
    cable = str(stock_data["cable"].id)
    form = _form(db, "user", cable)  # an operator: sees products, may not edit them
    _upload(form, _png(), "p.png")
    assert form.errors["photo_id"] == "Недостаточно прав" and _count(db) == 0
    form = _form(db, "user")  # nor create one
    _upload(form, _png(), "p.png")
    assert form.errors["photo_id"] == "Недостаточно прав" and _count(db) == 0


def test_page_csp_allows_images_from_the_store_only(monkeypatch):
    """The object store's origin, and no other besides the map's tile host (none configured here)."""
    import dataclasses

    from app.core import http_security
    from app.core.http_security import security_headers

    monkeypatch.setattr(http_security, "settings", dataclasses.replace(http_security.settings, map_tile_url=""))

    scope = {"type": "http", "path": "/stock/products", "headers": [(b"host", b"pult.example.com")], "scheme": "https"}
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://seaweedfs:8333")
    monkeypatch.setenv("S3_PUBLIC_URL", "https://files.example.com/")
    csp = dict(security_headers(scope))["Content-Security-Policy"]
    img = next(d for d in csp.split("; ") if d.startswith("img-src"))
    assert img == "img-src 'self' data: blob: https://files.example.com"
    monkeypatch.delenv("S3_PUBLIC_URL")
    monkeypatch.delenv("S3_ENDPOINT_URL")
    csp = dict(security_headers(scope))["Content-Security-Policy"]
    assert "img-src 'self' data: blob:;" in csp
