"""A photo field in the browser: upload on the product form, see the thumbnail in the form, the list
cell and the detail page (served by the object store through presigned URLs); a file of another
type or one too big gets a message under the field and nothing is stored; a user who may not
change products does not get to upload."""

from __future__ import annotations

import io
import re
import uuid

import httpx
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot


def _png(width: int = 900, height: int = 600) -> bytes:
    img = Image.new("RGB", (width, height), (30, 110, 200))
    for x in range(0, width, 60):  # stripes: a thumbnail that is visibly a picture
        img.paste((240, 180, 40), (x, 0, x + 30, height))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _file_count(e2e_engine) -> int:
    with e2e_engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM stored_file")).scalar()


def _loaded(img) -> None:
    """The <img> really loaded from the store (a broken image has naturalWidth 0)."""
    expect(img).to_be_visible()
    img.page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle(), timeout=15_000)


def test_upload_a_photo_on_the_product_form_and_see_its_thumbnail(page, e2e_engine, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "manager", "manager")
    page.goto("/stock/products/new")
    zone_input = page.locator("#upload-photo_id input[type=file]")
    expect(zone_input).to_be_attached()
    page.wait_for_selector("#field-name")

    # A PDF named like a photo: refused by its bytes, a message under the field, nothing stored.
    before = _file_count(e2e_engine)
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"%PDF-1.7\n%fake\n" * 20)
    zone_input.set_input_files(str(fake))
    expect(page.locator("#error-photo_id")).to_contain_text("Такой тип файла не принимается")
    page.wait_for_timeout(300)  # a second selection right after the first upload
    expect(page.locator("#error-photo_id")).to_contain_text("JPEG")
    assert _file_count(e2e_engine) == before
    expect(page.locator("#preview-photo_id")).to_have_count(0)

    # Over the field's 5 MB: refused, the message says the limit.
    big = tmp_path / "huge.png"
    big.write_bytes(_png()[:64] + b"\0" * (5 * 1024 * 1024 + 10))
    zone_input.set_input_files(str(big))
    expect(page.locator("#error-photo_id")).to_have_text("Файл больше 5 МБ")
    assert _file_count(e2e_engine) == before
    shot(page, "photo-field-refused-1280")

    # A real photo: stored, its thumbnail shown in the form, the message gone.
    good = tmp_path / "роутер.png"
    good.write_bytes(_png())
    zone_input.set_input_files(str(good))
    preview = page.locator("#preview-photo_id")
    _loaded(preview)
    expect(page.locator("#error-photo_id")).to_have_count(0)
    src = preview.get_attribute("src")
    assert "X-Amz-Signature=" in src and ".thumb.jpg" in src
    assert httpx.get(src, timeout=10).headers["content-type"] == "image/jpeg"

    name = f"Роутер с фото {uuid.uuid4().hex[:6]}"
    page.fill("#field-name", name)
    shot(page, "photo-field-form-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "photo-field-form-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("#form-save")

    # The detail page: the thumbnail, opening the full photo.
    expect(page).to_have_url(re.compile(r"/stock/products/\d+$"))
    pid = int(page.url.rsplit("/", 1)[1])
    with e2e_engine.connect() as c:
        photo_id, owner = c.execute(text(
            "SELECT p.photo_id, f.owner_resource || ':' || f.owner_id FROM product p JOIN stored_file f ON f.id = p.photo_id WHERE p.id = :id"
        ), {"id": pid}).one()
    assert owner == f"stock.products:{pid}"
    shown = page.locator("#value-photo_id img")
    _loaded(shown)
    full = page.locator("a#value-photo_id").get_attribute("href")
    got = httpx.get(full, timeout=10)
    assert got.status_code == 200 and got.content == good.read_bytes()
    shot(page, "photo-detail-1280")

    # The list: the thumbnail in the product's row.
    page.goto(f"/stock/products?q={name}")
    cell = page.locator(f"#row-{pid} img[data-photo]")
    _loaded(cell)
    shot(page, "photo-list-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "photo-list-390")

    # An operator sees the product (and its photo), may not edit it: the server refuses an upload
    # into the edit form too (the form itself shows "forbidden").
    page.context.clear_cookies()
    login(page, "user", "user")
    page.goto(f"/stock/products/{pid}")
    _loaded(page.locator("#value-photo_id img"))
    page.goto(f"/stock/products/{pid}/edit")
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#upload-photo_id")).to_have_count(0)
    assert photo_id
