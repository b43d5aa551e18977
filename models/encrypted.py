"""Secrets at rest: Fernet encryption under the key in ``PULT_SECRET_KEY``, and the column type
that applies it on the way in and out of the database.

It lives with the models, below the app: a model declares ``Field(sa_type=EncryptedString())``
without importing anything from ``app/``. The kit's :mod:`app.core.crypto` hands these names on
and adds what screens and exports need (``mask``, ``is_secret_column``)::

    token = encrypt("123456:ABC")      # 'gAAAAAB…' (different every call)
    decrypt(token)                     # '123456:ABC'

    class TelegramBot(SQLModel, table=True):
        token: str = Field(sa_type=EncryptedString())

The column holds the Fernet token (text); Python code sees the plaintext. Fernet tokens are
randomised, so an encrypted column cannot be searched, compared or made unique in SQL.

``PULT_SECRET_KEY`` is a Fernet key (``Fernet.generate_key()``: 32 url-safe base64 bytes;
``scripts/run`` generates one into ``.data/secret.key``). For key rotation it may hold several
keys separated by commas: the first encrypts, every one of them decrypts, and :func:`rotate`
re-encrypts a value under the first. The key is read from the environment at each use (parsed
once per value), the same variable ``app.core.config`` documents.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

_GENERATE_HINT = (
    "generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class CryptoError(Exception):
    """Base class of the errors below."""


class SecretKeyError(CryptoError):
    """``PULT_SECRET_KEY`` is missing or is not a Fernet key. The message never shows the key."""


class DecryptionError(CryptoError):
    """The value was not encrypted under any of the configured keys (or is not a Fernet token)."""


@functools.lru_cache(maxsize=4)
def _fernet_for(key_setting: str) -> MultiFernet:
    keys = [k.strip() for k in key_setting.split(",") if k.strip()]
    if not keys:
        raise SecretKeyError(f"PULT_SECRET_KEY is not set, so secrets cannot be encrypted or decrypted; {_GENERATE_HINT}")
    fernets = []
    for n, key in enumerate(keys, 1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            which = "" if len(keys) == 1 else f" (key {n} of {len(keys)})"
            raise SecretKeyError(
                f"PULT_SECRET_KEY{which} is not a valid Fernet key (32 url-safe base64-encoded bytes); {_GENERATE_HINT}"
            ) from None
    return MultiFernet(fernets)


def fernet() -> MultiFernet:
    """The configured keys (raises :class:`SecretKeyError` when ``PULT_SECRET_KEY`` is missing or invalid)."""
    return _fernet_for(os.environ.get("PULT_SECRET_KEY", ""))


def check_key() -> None:
    """Fail early (e.g. at start-up) with a clear message when the key is unusable."""
    fernet()


def encrypt(plaintext: str) -> str:
    """The Fernet token (ASCII text) of ``plaintext`` under the first configured key."""
    if not isinstance(plaintext, str):
        raise TypeError(f"encrypt() takes a str, not {type(plaintext).__name__}")
    return fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of a token made by :func:`encrypt` under any configured key."""
    if not isinstance(token, str):
        raise TypeError(f"decrypt() takes a str, not {type(token).__name__}")
    f = fernet()
    try:
        return f.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise DecryptionError(
            "cannot decrypt a stored secret: it was encrypted under another PULT_SECRET_KEY, or it is not a Fernet token"
        ) from None


def rotate(token: str) -> str:
    """``token`` re-encrypted under the first configured key (after adding a new key in front)."""
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise DecryptionError("cannot re-encrypt a stored secret: no configured key decrypts it") from None


class EncryptedString(TypeDecorator):
    """A text column holding a Fernet token; reads and writes plaintext ``str`` in Python.

    ``None`` stays NULL. Use in SQLModel as ``Field(sa_type=EncryptedString())``; in an Alembic
    migration the column is plain ``sa.Text()``.
    """

    impl = Text
    cache_ok = True

    @property
    def python_type(self) -> type:
        return str

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return encrypt(value)

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return decrypt(value)

    def process_literal_param(self, value: Any, dialect: Any) -> str:
        # A secret must never be inlined into SQL text (logs, compiled statements).
        raise NotImplementedError("EncryptedString values cannot be rendered as SQL literals")
