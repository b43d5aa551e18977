"""Secrets at rest: Fernet round trip, masking, key errors, and an encrypted column in PostgreSQL."""

from __future__ import annotations

import os

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import MetaData, text
from sqlmodel import Field, Session, SQLModel, select

from app.core import crypto
from app.core.crypto import EncryptedString


def use_key(monkeypatch, key: str) -> None:
    monkeypatch.setenv("PULT_SECRET_KEY", key)  # read at each use (models.encrypted)


def test_round_trip():
    for plain in ("123456:ABC-def_ghi", "пароль с пробелами ✓", ""):
        token = crypto.encrypt(plain)
        assert token != plain and token.startswith("gAAAA")
        assert crypto.decrypt(token) == plain
    assert crypto.encrypt("same") != crypto.encrypt("same")  # randomised


def test_mask():
    assert crypto.mask("123456:ABC") == "***"
    assert crypto.mask("") == "" and crypto.mask(None) == ""


@pytest.mark.parametrize("key", ["", "   ", "not-a-fernet-key"])
def test_missing_or_invalid_key_is_a_clear_error(monkeypatch, key):
    use_key(monkeypatch, key)
    with pytest.raises(crypto.SecretKeyError, match="PULT_SECRET_KEY") as info:
        crypto.encrypt("x")
    assert "generate one with" in str(info.value)
    if key.strip():
        assert key not in str(info.value)


def test_wrong_key_cannot_decrypt_and_keys_rotate(monkeypatch):
    old_key = os.environ["PULT_SECRET_KEY"]
    old_token = crypto.encrypt("secret")
    new_key = Fernet.generate_key().decode()
    use_key(monkeypatch, new_key)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(old_token)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("garbage")

    use_key(monkeypatch, f"{new_key},{old_key}")  # new key first, old one still decrypts
    assert crypto.decrypt(old_token) == "secret"
    rotated = crypto.rotate(old_token)
    use_key(monkeypatch, new_key)
    assert crypto.decrypt(rotated) == "secret"


class _TestBase(SQLModel):
    metadata = MetaData()  # not the app's metadata: no migration, no truncation for this table


class SecretHolder(_TestBase, table=True):
    __tablename__ = "tmp_secret_holder"
    __table_args__ = {"prefixes": ["TEMPORARY"]}

    id: int | None = Field(default=None, primary_key=True)
    name: str
    token: str | None = Field(default=None, sa_type=EncryptedString())


def test_encrypted_column_stores_ciphertext_in_postgresql(engine):
    with engine.connect() as conn:
        SecretHolder.__table__.create(conn)
        with Session(bind=conn) as db:
            db.add(SecretHolder(name="bot", token="123456:PLAINTEXT-token"))
            db.add(SecretHolder(name="none", token=None))
            db.flush()

            raw = dict(conn.execute(text("SELECT name, token FROM tmp_secret_holder")).all())
            assert raw["none"] is None
            assert "PLAINTEXT" not in raw["bot"] and raw["bot"].startswith("gAAAA")
            assert crypto.decrypt(raw["bot"]) == "123456:PLAINTEXT-token"
            column_type = conn.execute(
                text("SELECT data_type FROM information_schema.columns WHERE table_name = 'tmp_secret_holder' AND column_name = 'token'")
            ).scalar_one()
            assert column_type == "text"

            db.expire_all()
            rows = {r.name: r.token for r in db.exec(select(SecretHolder))}
            assert rows == {"bot": "123456:PLAINTEXT-token", "none": None}
        conn.rollback()
