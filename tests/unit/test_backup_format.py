"""The backup file format: chunked Fernet with the chunk index bound in, an end marker, and
refusal of anything altered, truncated, reordered or read with another key."""

from __future__ import annotations

import io
import os

import pytest
from cryptography.fernet import Fernet

from app.core import backup
from app.core.backup import BackupError, decrypt_stream, encrypt_stream


@pytest.fixture()
def small_chunks(monkeypatch):
    monkeypatch.setattr(backup, "CHUNK", 1000)


def roundtrip(data: bytes, key: Fernet) -> bytes:
    enc = io.BytesIO()
    assert encrypt_stream(io.BytesIO(data), enc, key) == len(data)
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(enc.getvalue()), out, key)
    return out.getvalue()


def test_roundtrip_of_empty_one_and_many_chunks(small_chunks):
    key = Fernet(Fernet.generate_key())
    for data in (b"", b"x", os.urandom(1000), os.urandom(4321)):
        assert roundtrip(data, key) == data


def test_everything_but_the_right_bytes_and_key_is_refused(small_chunks):
    key = Fernet(Fernet.generate_key())
    enc = io.BytesIO()
    encrypt_stream(io.BytesIO(os.urandom(3500)), enc, key)
    blob = enc.getvalue()
    assert b"PULTBAK1" == blob[:8]

    def bad(b: bytes, k: Fernet = key) -> str:
        with pytest.raises(BackupError) as exc:
            decrypt_stream(io.BytesIO(b), io.BytesIO(), k)
        return str(exc.value)

    assert "wrong key" in bad(blob, Fernet(Fernet.generate_key()))
    flipped = bytearray(blob)
    flipped[100] ^= 1
    assert "altered" in bad(bytes(flipped))
    assert "truncated" in bad(blob[:-10])
    # cut exactly after a whole chunk: the end marker is missing
    first_len = int.from_bytes(blob[8:12], "big")
    assert "truncated" in bad(blob[: 12 + first_len])
    # two chunks swapped
    pos, chunks = 8, []
    while pos < len(blob):
        n = int.from_bytes(blob[pos:pos + 4], "big")
        chunks.append(blob[pos:pos + 4 + n])
        pos += 4 + n
    swapped = blob[:8] + chunks[1] + chunks[0] + b"".join(chunks[2:])
    assert "out of order" in bad(swapped)
    assert "header" in bad(b"NOTABACKUP" + blob[8:])


def test_never_unencrypted(monkeypatch):
    monkeypatch.delenv("PULT_BACKUP_KEY", raising=False)
    monkeypatch.delenv("PULT_SECRET_KEY", raising=False)
    with pytest.raises(BackupError):
        encrypt_stream(io.BytesIO(b"data"), io.BytesIO())
