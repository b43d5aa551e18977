"""The file service against the embedded SeaweedFS that scripts/test starts (S3_ENDPOINT_URL):
put, presigned GET over real HTTP, thumbnails, delete, refusals, and who may get a URL."""

from __future__ import annotations

import io
import os
import time
import zipfile

import httpx
import pytest
from PIL import Image
from sqlmodel import select

from app.core import crud, files
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.registry import resource
from models.core import AuditLog, User
from models.files import StoredFile
from models.stock import Product



@pytest.fixture(autouse=True)
def _store():
    if not os.environ.get("S3_ENDPOINT_URL"):
        pytest.fail("S3_ENDPOINT_URL is unset: run through scripts/test, which starts the embedded SeaweedFS")


def png(width: int = 800, height: int = 600, colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return buf.getvalue()


def jpeg(width: int = 640, height: int = 480) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture()
def nobody(db, users):
    """A signed-in user with no role: may see no product."""
    from app.core import auth

    u = User(username="nobody", hashed_password="x", roles=[], full_name="Nobody")
    db.add(u)
    db.commit()
    return auth.current_user_for(db, u)


def test_put_presigned_get_thumbnail_and_delete_round_trip(db, users):
    admin = users["admin"]
    data = png()
    f = files.put(db, admin, data, "C:\\fakepath\\фото товара.png", limits=files.Limits.of(photo=True))

    assert f.content_type == "image/png" and f.size == len(data) and (f.width, f.height) == (800, 600)
    assert f.name == "фото товара.png" and f.uploaded_by == "admin" and f.owner_resource is None
    assert len(f.sha256) == 64 and f.thumb_key and f.key != f.name

    # The original, over real HTTP from the store, byte for byte.
    url = files.url(db, admin, f.id)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    got = httpx.get(url, timeout=10)
    assert got.status_code == 200 and got.content == data and got.headers["content-type"] == "image/png"

    # The thumbnail: a JPEG no larger than 320 px on its long side, proportions kept.
    thumb = httpx.get(files.url(db, admin, f.id, thumb=True), timeout=10)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    img = Image.open(io.BytesIO(thumb.content))
    assert img.format == "JPEG" and img.size == (320, 240)

    # Without the signature, or with a forged one, the store says no.
    cfg = files.store_config()
    assert httpx.get(f"{cfg.endpoint}/{cfg.bucket}/{f.key}", timeout=10).status_code == 403
    assert httpx.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=10).status_code == 403

    audit = db.exec(select(AuditLog).where(AuditLog.entity_type == "stored_file")).all()
    assert [(a.action, a.entity_id, a.diff["sha256"]) for a in audit] == [("upload", str(f.id), f.sha256)]

    files.delete(db, admin, f.id)
    assert db.get(StoredFile, f.id) is None
    assert httpx.get(url, timeout=10).status_code == 404
    assert [a.action for a in db.exec(select(AuditLog).where(AuditLog.entity_type == "stored_file").order_by(AuditLog.id))] == ["upload", "delete"]


def test_presigned_url_expires(db, users, monkeypatch):
    monkeypatch.setenv("PULT_FILES_URL_TTL", "1")
    f = files.put(db, users["admin"], b"hello, store\n", "note.txt")
    url = files.url(db, users["admin"], f.id)
    assert httpx.get(url, timeout=10).status_code == 200
    time.sleep(2.2)
    assert httpx.get(url, timeout=10).status_code == 403


def test_a_document_downloads_as_an_attachment_under_its_name(db, users):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    f = files.put(db, users["admin"], buf.getvalue(), "отчёт.xlsx")
    assert f.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" and f.thumb_key is None
    got = httpx.get(files.url(db, users["admin"], f.id), timeout=10)
    assert got.status_code == 200 and got.content == buf.getvalue()
    assert got.headers["content-disposition"].startswith("attachment;") and "%D0%BE%D1%82" in got.headers["content-disposition"]


def test_streamed_put_is_cut_off_past_the_limit_and_stores_nothing(db, users):
    limits = files.Limits.of(max_mb=1, photo=True)
    before = files.client().list_objects_v2(Bucket=files.store_config().bucket).get("KeyCount", 0)
    big = io.BytesIO(png()[:8] + b"\0" * (2 * files.MB))  # a PNG header, then 2 MB
    with pytest.raises(ValidationFailed) as exc:
        files.put(db, users["admin"], big, "huge.png", limits=limits)
    assert exc.value.errors == {"file": ("files.too_big", {"max": "1"})}
    assert exc.value.messages("ru")["file"] == "Файл больше 1 МБ"
    assert big.tell() <= files.MB + 2 * 1024 * 1024  # stopped reading soon after the limit
    assert db.exec(select(StoredFile)).all() == []
    assert files.client().list_objects_v2(Bucket=files.store_config().bucket).get("KeyCount", 0) == before


@pytest.mark.parametrize("data, name, key", [
    (b"%PDF-1.7\n...", "photo.jpg", "files.bad_type"),              # a PDF named .jpg: its bytes decide
    (b"<html><script>alert(1)</script></html>", "a.png", "files.bad_type"),
    (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10, "broken.png", "files.bad_image"),
    (b"", "empty.png", "files.empty"),
])
def test_photo_refuses_what_is_not_an_image(db, users, data, name, key):
    with pytest.raises(ValidationFailed) as exc:
        files.put(db, users["admin"], data, name, limits=files.Limits.of(photo=True))
    assert exc.value.errors["file"][0] == key
    assert db.exec(select(StoredFile)).all() == []


def test_a_file_field_refuses_html_even_named_txt(db, users):
    with pytest.raises(ValidationFailed) as exc:
        files.put(db, users["admin"], b"<!DOCTYPE html><p>hi", "readme.txt")
    assert exc.value.errors["file"][0] == "files.bad_type"
    assert "PDF" in exc.value.messages("en")["file"]


def test_url_only_for_who_may_see_the_owning_record(db, users, nobody):
    products = resource("stock.products")
    admin = users["admin"]
    f = files.put(db, admin, jpeg(), "router.jpg", limits=files.Limits.of(photo=True))

    # Waiting in a form: only its uploader gets a URL.
    assert files.url(db, admin, f.id)
    with pytest.raises(NotFound):
        files.url(db, users["user"], f.id)

    product = crud.create_record(db, products, admin, {"name": "Роутер с фото", "photo_id": str(f.id)})
    db.refresh(f)
    assert (f.owner_resource, f.owner_id) == ("stock.products", str(product.id))

    # Now whoever may see the product gets one; a user who may not, does not (and is not told it exists).
    assert httpx.get(files.url(db, users["user"], f.id), timeout=10).status_code == 200
    with pytest.raises(NotFound):
        files.url(db, nobody, f.id)


def test_deleting_a_records_file_needs_the_right_to_change_the_record(db, users):
    products = resource("stock.products")
    f = files.put(db, users["admin"], jpeg(), "p.jpg", limits=files.Limits.of(photo=True))
    product = crud.create_record(db, products, users["admin"], {"name": "Товар", "photo_id": str(f.id)})
    with pytest.raises(PermissionDenied):
        files.delete(db, users["user"], f.id)  # sees products, may not edit them
    files.delete(db, users["admin"], f.id)
    db.refresh(product)
    assert product.photo_id is None  # ON DELETE SET NULL


def test_a_form_cannot_link_someone_elses_file(db, users):
    products = resource("stock.products")
    theirs = files.put(db, users["admin"], jpeg(), "a.jpg", limits=files.Limits.of(photo=True))
    with pytest.raises(ValidationFailed) as exc:
        crud.create_record(db, products, users["manager"], {"name": "Чужое фото", "photo_id": str(theirs.id)})
    assert exc.value.errors == {"photo_id": ("files.not_yours", {})}
    with pytest.raises(ValidationFailed):
        crud.create_record(db, products, users["manager"], {"name": "Нет такого", "photo_id": "999999"})

    # Once linked to one product, the same file cannot be put on another.
    mine = files.put(db, users["manager"], jpeg(), "b.jpg", limits=files.Limits.of(photo=True))
    first = crud.create_record(db, products, users["manager"], {"name": "Первый", "photo_id": str(mine.id)})
    with pytest.raises(ValidationFailed):
        crud.create_record(db, products, users["manager"], {"name": "Второй", "photo_id": str(mine.id)})
    # The product's own photo stays valid on an edit that does not touch it.
    crud.update_record(db, products, users["manager"], first.id, {"name": "Первый!", "photo_id": str(mine.id)})
    assert db.get(Product, first.id).photo_id == mine.id


def test_urls_for_signs_only_files_the_rows_own(db, users):
    products = resource("stock.products")
    admin = users["admin"]
    f = files.put(db, admin, jpeg(), "p.jpg", limits=files.Limits.of(photo=True))
    p = crud.create_record(db, products, admin, {"name": "С фото", "photo_id": str(f.id)})
    other = files.put(db, admin, jpeg(), "q.jpg", limits=files.Limits.of(photo=True))
    stray = Product(name="Подложено", photo_id=other.id)  # a row pointing at a file it does not own
    db.add(stray)
    db.commit()
    urls = files.urls_for(db, products(), [p, stray], ["photo_id"])
    assert set(urls["photo_id"]) == {f.id}
    thumb, full = urls["photo_id"][f.id]
    assert httpx.get(thumb, timeout=10).headers["content-type"] == "image/jpeg"
    assert httpx.get(full, timeout=10).status_code == 200


def test_bucket_is_created_when_missing(db, users, monkeypatch):
    bucket = f"pult-test-new-{os.getpid()}"
    monkeypatch.setenv("S3_BUCKET", bucket)
    s3 = files.client()
    try:
        f = files.put(db, users["admin"], b"x,y\n1,2\n", "t.csv")
        assert f.content_type == "text/csv"
        assert httpx.get(files.url(db, users["admin"], f.id), timeout=10).content == b"x,y\n1,2\n"
    finally:
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)


def test_two_forms_saved_at_once_with_the_same_upload_one_gets_it(db, users, engine):
    import threading

    from sqlmodel import Session

    products = resource("stock.products")
    manager = users["manager"]
    f = files.put(db, manager, jpeg(), "same.jpg", limits=files.Limits.of(photo=True))
    first = crud.apply_create(db, products(), manager, {"name": "Первый", "photo_id": str(f.id)})  # holds the file's row lock
    outcome: dict[str, object] = {}

    def second() -> None:
        with Session(engine) as other:
            try:
                crud.create_record(other, products, manager, {"name": "Второй", "photo_id": str(f.id)})
                outcome["result"] = "saved"
            except ValidationFailed as exc:
                outcome["result"] = exc.errors

    t = threading.Thread(target=second)
    t.start()
    t.join(1.5)
    assert t.is_alive()  # waiting for the first form's transaction
    db.commit()
    t.join(30)
    assert outcome["result"] == {"photo_id": ("files.not_yours", {})}
    db.refresh(f)
    assert (f.owner_resource, f.owner_id) == ("stock.products", str(first.id))
    assert db.exec(select(Product).where(Product.name == "Второй")).first() is None
