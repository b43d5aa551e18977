"""``/api/auth/mfa``: the signed-in user's own TOTP second factor (the profile page uses it).

Cookie callers send ``X-Pult-Request: 1`` like every change (the CSRF rule of docs/security.md);
the secret and the recovery codes appear in exactly one answer each (enrol, confirm/regenerate).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.core import mfa
from app.core.api_base import ERRORS, INVALID, current_user, get_db
from app.core.http_security import request_ip
from app.core.inputs import SafeStr
from app.core.principal import CurrentUser


class CodeIn(BaseModel):
    code: SafeStr = Field(max_length=20, examples=["123456"], description="A code from the authenticator app (or, to disable, a recovery code)")


class MfaStatusOut(BaseModel):
    enabled: bool
    required: bool = Field(description="The user's role requires MFA (Administration → Security)")
    recovery_codes_left: int


class EnrolOut(BaseModel):
    secret: str = Field(description="Base32 secret, for typing into the app by hand; shown this once")
    uri: str = Field(description="The otpauth:// URI the QR code holds")
    qr: str = Field(description="The QR code as an SVG data: URI")


class CodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="Ten one-time recovery codes; shown this once")


def mfa_router() -> APIRouter:
    router = APIRouter(prefix="/api/auth/mfa", tags=["auth"])

    @router.get("", response_model=MfaStatusOut, summary="Whether MFA is on for the signed-in user", responses=ERRORS)
    def get_status(db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
        return mfa.status(db, user)

    @router.post("/enrol", response_model=EnrolOut, summary="Start enrolment: a new secret (QR code and text), kept 10 minutes until confirmed",
                 responses={**ERRORS, **INVALID})
    def enrol(db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
        return mfa.begin_enrolment(db, user)

    @router.post("/confirm", response_model=CodesOut, summary="Switch MFA on with a code from the app; returns the recovery codes",
                 responses={**ERRORS, **INVALID})
    def confirm(body: CodeIn, request: Request, db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
        return {"recovery_codes": mfa.confirm_enrolment(db, user, body.code, ip=request_ip(request))}

    @router.post("/recovery-codes", response_model=CodesOut, summary="Replace the recovery codes (needs a current code from the app)",
                 responses={**ERRORS, **INVALID})
    def regenerate(body: CodeIn, db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
        return {"recovery_codes": mfa.regenerate(db, user, body.code)}

    @router.post("/disable", status_code=204, summary="Switch MFA off (a code from the app or a recovery code); refused when the role requires MFA",
                 responses={**ERRORS, **INVALID})
    def disable(body: CodeIn, db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> None:
        mfa.disable(db, user, body.code)

    return router


__all__ = ["mfa_router"]
