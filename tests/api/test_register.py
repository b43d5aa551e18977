"""Self-registration (seed 001, section 7: POST /api/auth/register)."""

from __future__ import annotations

from sqlmodel import select

from models.core import AuditLog, User


def test_register_creates_an_operator_and_signs_in(client, db, users):
    r = client.post("/api/auth/register", json={"username": "ivanov", "password": "long-enough-1", "full_name": "Иван"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["username"] == "ivanov" and body["user"]["roles"] == ["stock.user"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["username"] == "ivanov"
    # an operator: may list products, may not create them
    h = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/stock/products", headers=h).status_code == 200
    assert client.post("/api/stock/products", headers=h, json={"name": "x", "sell_price_rub": "1"}).status_code == 403
    db.expire_all()
    user = db.exec(select(User).where(User.username == "ivanov")).one()
    assert user.hashed_password.startswith("$argon2id$")
    row = db.exec(select(AuditLog).where(AuditLog.action == "register")).one()
    assert row.source == "api" and row.entity_id == str(user.id)


def test_register_refuses_bad_fields_with_messages(client, users):
    r = client.post("/api/auth/register", json={"username": "a", "password": "short"})
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert set(errors) == {"username", "password"}
    r = client.post("/api/auth/register", json={"username": "Admin", "password": "long-enough-1"}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and r.json()["errors"] == {"username": "This value is already taken"}


def test_register_can_be_switched_off(client, users, monkeypatch):
    import dataclasses

    from app.core import auth, config

    monkeypatch.setattr(auth, "settings", dataclasses.replace(config.settings, allow_registration=False))
    r = client.post("/api/auth/register", json={"username": "petrov", "password": "long-enough-1"})
    assert r.status_code == 403


def test_register_is_throttled_per_ip(client, users, monkeypatch):
    import dataclasses

    from app.core import auth, config

    monkeypatch.setattr(auth, "settings", dataclasses.replace(config.settings, register_max_per_ip=2))
    codes = [client.post("/api/auth/register", json={"username": f"bulk{i}", "password": "long-enough-1"}).status_code for i in range(3)]
    assert codes == [201, 201, 429]
