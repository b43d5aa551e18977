"""What every API route of the kit and of a panel stands on: the request's language, its database
session and signed-in user, the JSON shape of a record and of an error. Below :mod:`app.core.api`
(which builds the app from the registry) and the kit's other routers (settings, reports), so they
share it without importing the app builder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.core import auth, crypto
from app.core.audit import jsonable  # noqa: F401 - the one JSON shape of a value, where API routes find it
from app.core.auth import CurrentUser
from app.core.db import engine
from app.core.http_security import SESSION_COOKIE


def request_lang(request: Request) -> str:
    """``en`` when the client prefers English (``Accept-Language``), otherwise Russian."""
    header = request.headers.get("accept-language", "")
    best, best_q = "ru", -1.0
    for part in header.split(","):
        lang, _, params = part.strip().partition(";")
        code = lang.strip().lower().split("-")[0]
        if code not in ("ru", "en"):
            continue
        q = 1.0
        m = re.search(r"q\s*=\s*([0-9.]+)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = code, q
    return best


def get_db() -> Iterator[Session]:
    """One session per request, closed (and so rolled back if uncommitted) when the request ends."""
    db = Session(engine(), expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()


_bearer = HTTPBearer(auto_error=False, description="The token from POST /api/auth/login")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Set by POST /api/auth/login")


def request_token(
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    cookie: str | None = Depends(_cookie),
) -> str | None:
    """The session token: the ``Authorization: Bearer`` header first, then the session cookie."""
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return cookie or None


def current_user(request: Request, db: Session = Depends(get_db), token: str | None = Depends(request_token)) -> CurrentUser:
    """The signed-in user, or 401 when the token is missing, unknown, revoked or expired, or the
    role's IP allowlist (Administration → Security) does not include the client's address."""
    from app.core.http_security import request_ip

    return auth.resolve(db, token, ip=request_ip(request))


def public_columns(model: type) -> list[str]:
    """The model's database columns a client may see: the kit's one rule (``crypto.is_secret_column``)."""
    return crypto.public_columns(model)


def item_json(record: Any) -> dict[str, Any]:
    return {name: jsonable(getattr(record, name, None)) for name in public_columns(type(record))}


class ErrorOut(BaseModel):
    detail: str = Field(examples=["Исправьте ошибки в форме"])
    errors: dict[str, str] = Field(default_factory=dict, examples=[{"phone": "Неверный номер телефона"}])


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not signed in, or the session expired"},
    403: {"model": ErrorOut, "description": "The user's role does not allow this"},
}
NOT_FOUND = {404: {"model": ErrorOut, "description": "No such record (or not visible to the user)"}}
INVALID = {422: {"model": ErrorOut, "description": "Invalid values: ``errors`` holds a message per field"}}
