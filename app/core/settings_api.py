"""The API of a ``Settings`` page (:mod:`app.core.settings_page`), under ``/api/<panel>/settings/<name>``:

* ``GET``  — the values (a secret is ``"***"`` when set, else null) and the status;
* ``PUT``  — change the fields given (an empty or missing secret keeps the stored one); 422 with a
  message per field, as the page shows them;
* ``POST .../check`` and ``POST .../actions/<action>`` — the check's / action's outcome
  ``{"level": "ok" | "warn" | "fail", "message": ...}`` (a generated secret comes back once, as ``secret``).

The same permission, parsing, encryption and audit as the page: both call the same services.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel
from sqlmodel import Session

from app.core import settings_page as svc
from app.core.api_base import ERRORS, INVALID, current_user, get_db, request_lang
from app.core.i18n import t
from app.core.kinds import Field, kind_named
from app.core.principal import CurrentUser


class SettingsOut(BaseModel):
    values: dict[str, Any]
    status: dict[str, Any]


class OutcomeOut(BaseModel):
    level: str
    message: str
    secret: str | None = None


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _answer(db: Session, decl: svc.Settings, user: CurrentUser, lang: str, origin: str) -> dict[str, Any]:
    values = svc.read(db, decl, user)
    return {"values": values, "status": svc.status(db, decl, user, lang, origin=origin).json()}


def body_schema(decl: svc.Settings) -> dict[str, Any]:
    props: dict[str, Any] = {}
    example: dict[str, Any] = {}
    for f in decl.editable():
        kind = kind_named(f.kind)
        spec = Field(None, f.name, f)
        schema = dict(kind.json_schema(spec))
        if kind.write_only:
            schema["writeOnly"] = True
            schema["description"] = "write-only: never returned (GET shows \"***\" when set); empty or left out keeps it"
        elif f.label:
            schema["description"] = t(f.label, "en")
        props[f.name] = schema
        example[f.name] = kind.example(spec)
    return {"type": "object", "properties": props, "additionalProperties": False, "example": example}


def _action_route(decl: svc.Settings, name: str) -> Any:
    def act(request: Request, db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
        return svc.run(db, decl, user, name, request_lang(request), origin=_origin(request)).json()

    return act


def settings_router(decl: svc.Settings) -> APIRouter:
    """The routes of one settings page (mounted at the API root: ``Panel(root_routers=[...])``)."""
    router = APIRouter(prefix=f"/api/{decl.panel}/settings/{decl.name}", tags=[f"{decl.panel}.settings.{decl.name}"])
    title = t(decl.title, "en")
    op = f"{decl.panel}_settings_{decl.name}"

    @router.get("", summary=f"{title}: values and status", response_model=SettingsOut, responses={**ERRORS}, operation_id=f"{op}_get")
    def get_settings(request: Request, db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
        return _answer(db, decl, user, request_lang(request), _origin(request))

    @router.put(
        "", summary=f"{title}: change", response_model=SettingsOut, responses={**ERRORS, **INVALID}, operation_id=f"{op}_put",
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": body_schema(decl)}}}},
    )
    def put_settings(request: Request, body: dict[str, Any] = Body(...), db: Session = Depends(get_db),
                     user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
        lang = request_lang(request)
        svc.save(db, decl, user, body, lang)
        return _answer(db, decl, user, lang, _origin(request))

    for spec in decl.all_actions():
        path = "/check" if spec is decl.check else f"/actions/{spec.name}"

        router.add_api_route(path, _action_route(decl, spec.name), methods=["POST"], summary=f"{title}: {t(spec.label, 'en')}", response_model=OutcomeOut,
                             response_model_exclude_none=True, responses={**ERRORS}, operation_id=f"{op}_{spec.name}")
    return router


def settings_routers() -> list[APIRouter]:
    """The routes of every declared settings page of a registered panel."""
    from app.core.registry import PANELS

    return [settings_router(decl) for decl in svc.SETTINGS.values() if decl.panel in PANELS]


__all__ = ["settings_router", "settings_routers", "body_schema"]
