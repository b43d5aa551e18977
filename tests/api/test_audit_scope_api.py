"""The REST API reads the operation log through the same scope as the pages (see
tests/unit/test_audit_scope.py): a manager never gets the admin's SFTP change, by list or by id."""

from __future__ import annotations

from sqlmodel import select

from app.core import auth
from models.core import AuditLog
from tests.unit.test_audit_scope import make_world


def test_the_api_applies_the_same_scope(db, client, cheap_hashing, numbers_world):
    world = make_world(db, cheap_hashing, numbers_world)
    if True:
        token = auth.login(db, "manager", "manager-pass")
        h = {"Authorization": f"Bearer {token}"}
        r = client.get("/api/admin/audit", headers=h, params={"page_size": 200})
        assert r.status_code == 200
        seen = {(x["entity_type"], x["entity_id"]) for x in r.json()["items"]}
        assert ("numbers.numbers", str(world["mine"])) in seen and ("numbers.numbers", str(world["other"])) not in seen
        assert not any(t in ("numbers.sftp", "setting", "admin.users") for t, _ in seen)
        sftp_row = db.exec(select(AuditLog).where(AuditLog.entity_type == "numbers.sftp")).first()
        assert client.get(f"/api/admin/audit/{sftp_row.id}", headers=h).status_code == 404
        admin = {"Authorization": "Bearer " + auth.login(db, "admin", "admin-pass")}
        assert client.get(f"/api/admin/audit/{sftp_row.id}", headers=admin).status_code == 200
