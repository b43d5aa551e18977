"""Files for a record, against the embedded SeaweedFS (S3_ENDPOINT_URL) and real PostgreSQL:
photos attached to comments and the installation photo an action asks for — through the services
and over REST — and who may upload, attach and see them."""

from __future__ import annotations

import io
import os

import httpx
import pytest
from PIL import Image
from sqlmodel import select

from app.core import auth, comments, crud, files
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.principal import SYSTEM
from app.core.registry import resource
from app.panels.equipment import process
from models.core import AuditLog, User
from models.equipment import Asset, Process, Shipment
from models.files import StoredFile
from tests.unit.test_equipment_process import KEEPER, shipped, world  # noqa: F401 - the fixture


@pytest.fixture(autouse=True)
def _store():
    if not os.environ.get("S3_ENDPOINT_URL"):
        pytest.fail("S3_ENDPOINT_URL is unset: run through scripts/test, which starts the embedded SeaweedFS")


def png(colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture()
def order_id(db, users, stock_data):
    o = crud.create_record(db, resource("stock.orders"), users["manager"],
                           {"phone": "+7 999 123-45-67", "product_id": str(stock_data["cable"].id), "qty": "1"})
    return o.id


def person(db, username: str, roles: list[str]):
    u = User(username=username, hashed_password=auth.hash_password(f"{username}-pass"), roles=roles, full_name=username.title())
    db.add(u)
    db.commit()
    return auth.current_user_for(db, u)


# --------------------------------------------------------------------------- comments (services)
def test_a_comment_carries_its_photos_and_gives_them_to_the_record(db, users, order_id):
    orders = resource("stock.orders")
    f = files.put_for_record(db, orders(), users["manager"], order_id, png(), "витрина.png")
    assert f.owner_resource is None and files.can_view(db, users["manager"], f)
    assert not files.can_view(db, users["user"], f)  # pending: only its uploader

    c = comments.add(db, orders, users["manager"], order_id, "Фото витрины", attachments=[str(f.id)])
    db.refresh(f)
    assert c.attachments == [str(f.id)] and (f.owner_resource, f.owner_id) == ("stock.orders", str(order_id))
    assert files.can_view(db, users["user"], f)  # who sees the order sees its photo now
    got = httpx.get(files.url(db, users["user"], f.id), timeout=10)
    assert got.status_code == 200 and got.content[:4] == b"\x89PNG"
    row = db.exec(select(AuditLog).where(AuditLog.action == "comment.create")).one()
    assert row.diff["files"] == [str(f.id)]


def test_someone_elses_upload_or_too_many_files_are_refused_and_nothing_is_posted(db, users, order_id):
    orders = resource("stock.orders")
    theirs = files.put_for_record(db, orders(), users["user"], order_id, png(), "чужое.png")
    with pytest.raises(ValidationFailed) as exc:
        comments.add(db, orders, users["manager"], order_id, "не моё", attachments=[str(theirs.id)])
    assert exc.value.messages("ru")["attachments"] == "Файл не найден"
    with pytest.raises(ValidationFailed) as exc:
        comments.add(db, orders, users["manager"], order_id, "много", attachments=[str(i) for i in range(1, 12)])
    assert exc.value.messages("ru")["attachments"] == "Не больше 10 файлов в одном комментарии"
    with pytest.raises(ValidationFailed):
        comments.add(db, orders, users["manager"], order_id, "нет такого", attachments=["999999", "f1"])
    db.rollback()
    assert comments.thread(db, orders, users["manager"], order_id) == []
    db.refresh(theirs)
    assert theirs.owner_resource is None  # still only its uploader's


def test_only_who_may_comment_uploads_for_a_record(db, users, order_id):
    nobody = person(db, "nobody", [])
    with pytest.raises((NotFound, PermissionDenied)):
        files.put_for_record(db, resource("stock.orders")(), nobody, order_id, png(), "x.png")
    assert db.exec(select(StoredFile)).all() == []


# --------------------------------------------------------------------------- the installation photo (services)
def delivered(db, w) -> Shipment:
    _req, sh = shipped(db, w)
    process.mark_delivered(db, SYSTEM, sh, system=True)
    db.commit()
    return sh


def test_support_confirms_installed_with_a_photo_the_shipment_then_owns(db, world):  # noqa: F811
    sh = delivered(db, world)
    support, keeper = person(db, "support1", ["equipment.support"]), person(db, "keeper1", ["equipment.storekeeper"])
    shipments = resource("equipment.shipments")
    with pytest.raises((NotFound, PermissionDenied)):  # a stock manager does not see shipments: uploads nothing for one
        files.put_for_record(db, shipments(), person(db, "stockman", ["stock.manager"]), sh.id, png(), "x.png")
    db.rollback()
    theirs = files.put_for_record(db, shipments(), keeper, sh.id, png(), "x.png")  # for the comment wall
    with pytest.raises(PermissionDenied):  # but a storekeeper does not confirm installations
        crud.run_action(db, shipments, keeper, "install", [sh.id], params={"photo": str(theirs.id)})
    db.rollback()
    photo = files.put_for_record(db, shipments(), support, sh.id, png((20, 160, 40)), "установлено.png")

    # someone else's upload is not a parameter one may give
    with pytest.raises(ValidationFailed) as exc:
        crud.run_action(db, shipments, person(db, "chief1", ["equipment.chief"]), "install", [sh.id], params={"photo": str(photo.id)})
    assert "photo" in exc.value.errors
    db.refresh(sh)
    assert sh.install_photo_id is None

    crud.run_action(db, shipments, support, "install", [sh.id], params={"photo": str(photo.id)})
    db.refresh(sh)
    db.refresh(photo)
    assert sh.install_photo_id == photo.id and (photo.owner_resource, photo.owner_id) == ("equipment.shipments", str(sh.id))
    assert {a.process for a in db.exec(select(Asset).where(Asset.shipment_id == sh.id)).all()} == {Process.INSTALLED}
    assert files.can_view(db, keeper, photo)  # the storekeeper sees the shipment, so its photo
    row = db.exec(select(AuditLog).where(AuditLog.action == "install")).one()
    assert row.diff == {"sns": ["SN-1", "SN-2"], "photo": "установлено.png"}


# --------------------------------------------------------------------------- over REST
def test_upload_attach_and_read_back_over_rest(client, login, order_id, db, users):
    base = f"/api/stock/orders/{order_id}"
    r = client.post(f"{base}/files", files={"file": ("витрина.png", png(), "image/png")}, headers=login("manager"))
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["pending"] is True and up["content_type"] == "image/png" and up["thumb_url"]
    # a pending upload is its uploader's only
    assert client.get(f"{base}/files/{up['id']}", headers=login("user")).status_code == 404

    r = client.post(f"{base}/comments", json={"body": "смотрите фото", "attachments": [str(up["id"])]}, headers=login("manager"))
    assert r.status_code == 201 and r.json()["attachments"] == [str(up["id"])]
    got = client.get(f"{base}/files/{up['id']}", headers=login("user"))
    assert got.status_code == 200 and got.json()["pending"] is False
    assert httpx.get(got.json()["url"], timeout=10).content == png()

    # bad input: not a picture pretending to be one, an empty file, a script
    r = client.post(f"{base}/files", files={"file": ("x.png", b"<script>alert(1)</script>", "image/png")}, headers=login("manager"))
    assert r.status_code == 422 and "file" in r.json()["errors"]
    r = client.post(f"{base}/files", files={"file": ("x.png", b"", "image/png")}, headers=login("manager"))
    assert r.status_code == 422 and r.json()["errors"]["file"] == "Файл пустой"
    assert client.post(f"{base}/files", headers=login("manager")).status_code == 422
    assert client.post("/api/stock/orders/999999/files", files={"file": ("a.png", png(), "image/png")},
                       headers=login("manager")).status_code == 404


def test_the_install_photo_over_rest(client, db, world):  # noqa: F811
    sh = delivered(db, world)
    person(db, "support2", ["equipment.support"])
    r = client.post("/api/auth/login", json={"username": "support2", "password": "support2-pass"})
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    base = f"/api/equipment/shipments/{sh.id}"
    up = client.post(f"{base}/files", files={"file": ("готово.jpg", png(), "image/png")}, headers=headers).json()
    r = client.post(f"{base}/actions/install", json={"params": {"photo": up["id"]}}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["item"]["install_photo_id"] == up["id"]
    assert client.get(f"{base}/files/{up['id']}", headers=headers).json()["pending"] is False


# --------------------------------------------------------------------------- abandoned uploads
def test_uploads_no_record_took_are_swept_after_a_day_and_the_rest_stay(db, users, order_id):
    from sqlalchemy import update

    from app.core import jobs

    orders = resource("stock.orders")
    old = files.put_for_record(db, orders(), users["manager"], order_id, png(), "брошено.png")
    fresh = files.put_for_record(db, orders(), users["manager"], order_id, png((1, 2, 3)), "пишу.png")
    kept = files.put_for_record(db, orders(), users["manager"], order_id, png((9, 9, 9)), "в комментарии.png")
    comments.add(db, orders, users["manager"], order_id, "с фото", attachments=[str(kept.id)])
    url = files.presign(old)
    db.exec(update(StoredFile).where(StoredFile.id.in_([old.id, kept.id])).values(created_at=StoredFile.created_at - __import__("datetime").timedelta(hours=25)))
    db.commit()

    assert files.sweep_pending(db) == 1
    assert db.get(StoredFile, old.id) is None and db.get(StoredFile, fresh.id) and db.get(StoredFile, kept.id)
    assert httpx.get(url, timeout=10).status_code == 404  # the object is gone from the store too
    assert db.exec(select(AuditLog).where(AuditLog.entity_type == "stored_file", AuditLog.action == "delete")).one().diff["reason"] == "pending"
    assert "files:sweep" in jobs.SYSTEM_SCHEDULES and jobs.SYSTEM_SCHEDULES["files:sweep"][0] == "files.sweep"
