"""Secrets at rest as the kit handles them: saved secrets shown as ``***`` (:func:`mask`), and the
one rule that keeps them out of every answer and file (:func:`is_secret_column`).

The encryption itself (Fernet under ``PULT_SECRET_KEY``: ``encrypt``, ``decrypt``, ``rotate``) and
the column type :class:`EncryptedString` live in :mod:`models.encrypted`, below the app, so models
declare encrypted columns without importing the kit; they are handed on here for the kit's code::

    token = crypto.encrypt("123456:ABC")      # 'gAAAAAB…' (different every call)
    crypto.decrypt(token)                     # '123456:ABC'
    crypto.mask("123456:ABC")                 # '***'
"""

from __future__ import annotations

import re
from typing import Any

from models.encrypted import (
    CryptoError,
    DecryptionError,
    EncryptedString,
    SecretKeyError,
    check_key,
    decrypt,
    encrypt,
    fernet,
    rotate,
)

MASK = "***"


def mask(value: str | None) -> str:
    """What a screen shows for a saved secret: ``***``, or ``""`` when there is none."""
    return MASK if value else ""


#: Column names that hold secrets without being encrypted (password hashes, tokens).
SECRET_NAME = re.compile(r"password|secret|token", re.IGNORECASE)


def is_secret_column(column: Any) -> bool:
    """Whether a table column must never leave the server (API answers, exports, dumps): an
    encrypted column — decided by its type, whatever its name — or one named like a password,
    secret or token (hashes). The one rule every path that writes rows out goes through."""
    return isinstance(column.type, EncryptedString) or bool(SECRET_NAME.search(column.key))


def public_columns(model: type) -> list[str]:
    """The model's table columns that may leave the server (see :func:`is_secret_column`)."""
    return [c.key for c in model.__table__.columns if not is_secret_column(c)]


__all__ = [
    "MASK",
    "SECRET_NAME",
    "is_secret_column",
    "public_columns",
    "CryptoError",
    "SecretKeyError",
    "DecryptionError",
    "fernet",
    "check_key",
    "encrypt",
    "decrypt",
    "rotate",
    "mask",
    "EncryptedString",
]
