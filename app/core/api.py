"""The REST API, generated from the registry: ``build_api() -> FastAPI``.

Every registered resource gets ``/api/<panel>/<slug>`` routes for the operations it offers
(list, get, create, update, delete, restore, its actions, relation-picker options). Each route
resolves the user from ``Authorization: Bearer <token>`` or the ``pult_session`` cookie and calls
the same services (:mod:`app.core.crud`) the UI calls, so ``Resource.can``, validation and the
audit log behave identically; audit rows written during an API request say ``source="api"``.

A panel may add routes of its own with ``Panel(api_router=APIRouter(...))``: its paths are relative
to ``/api/<panel>`` and are matched after the generated ones (they add paths, never replace one).
``Panel(root_routers=[...])`` mounts routers with absolute paths, for webhooks that outside systems
call at a fixed address (``/api/integrations/softphone/events``).
The dependencies such a router needs (:func:`get_db`, :func:`current_user`, :func:`request_lang`)
live here.

Reflex mounts its own ASGI app under this one (``rx.App(api_transformer=build_api())``), so this
app owns only ``/api/...`` and ``/health``; everything else falls through to Reflex.

Errors are JSON: ``{"detail": message, "errors": {field: message}}`` with the status of the
:class:`~app.core.errors.PultError` raised, messages in the language of ``Accept-Language``
(English for ``en``, Russian otherwise). PostgreSQL or Redis out of reach answers 503 with
``Retry-After``; other unexpected errors answer ``500 {"detail": "internal error"}`` and are logged,
never shown.

A cookie-authenticated state change must carry ``X-Pult-Request: 1`` and an allowed ``Origin``
(:class:`~app.core.http_security.CsrfMiddleware`); bearer-token clients are unaffected. Swagger UI
and ReDoc are served from local files (:mod:`app.core.api_docs`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import re
from collections.abc import Callable
from typing import Any, Literal, Optional

from fastapi import (
    APIRouter,
    Body,
    Depends,
    FastAPI,
    File,
    Form,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, create_model
from sqlalchemy import text
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from app.core import audit, auth, crud, importer, links, login_methods, rows
from app.core.api_docs import mount_docs
from app.core.observe import mount_metrics
from app.core.auth import CurrentUser
from app.core.config import settings
from app.core.db import engine
from app.core.errors import (
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    PultError,
    ServiceUnavailable,
    ValidationFailed,
    is_outage,
)
from app.core.http_security import (
    SESSION_COOKIE,
    CsrfMiddleware,
    request_ip,
    request_is_secure,
)
from app.core.i18n import t
from app.core.record_blocks_api import add_block_routes
from app.core.inputs import BadText, SafeDict, SafeStr
from app.core.kinds import field_of, kind_for
from app.core import query as _query
from app.core.query import MAX_PAGE, ListParams, parse_pk, pk_name, relation_titles
from app.core.redis import redis_client
from app.core.resource import FormField, Resource, field_python_type, is_enum

from app.core.api_base import (  # noqa: F401 - the request plumbing, where callers found it
    ERRORS,
    INVALID,
    NOT_FOUND,
    ErrorOut,
    current_user,
    get_db,
    item_json,
    jsonable,
    public_columns,
    request_lang,
    request_token,
)

log = logging.getLogger(__name__)

#: List query parameters of the kit; a filter with one of these names is exposed as ``filter_<name>``.
RESERVED_PARAMS = _query.RESERVED_PARAMS  # where callers found it


# --------------------------------------------------------------------------- request context
class AuditSourceMiddleware:
    """Marks audit rows written while serving ``/api/...`` as ``source="api"``.

    A plain ASGI middleware sets the context variable in the request's task; Starlette copies the
    context into the thread pool where the (sync) endpoints run. Only HTTP requests under ``/api/``
    are marked: Reflex's WebSocket events pass through this app too and keep their own source.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith("/api/"):
            with audit.source("api"):
                await self.app(scope, receive, send)
        else:
            await self.app(scope, receive, send)


# --------------------------------------------------------------------------- JSON shapes
def title_key(name: str) -> str:
    """Where a list or get answer puts a relation column's title: ``product_id`` → ``product_id_title``."""
    return f"{name}_title"


def items_json(db: Session, res: Resource, user: CurrentUser, records: list[Any], lang: str) -> list[dict[str, Any]]:
    """Records as the API reads them: the columns (foreign keys as ids, like react-admin's records)
    plus, for each relation column, ``<name>_title``: the related record's title, read once for the
    whole page (``query.relation_titles``); null without a link or when the user may not see it."""
    titles = relation_titles(db, res, user, records, lang)
    many = {f.name: links.shown(db, user, res.model, f, [crud.pk_of(r) for r in records], lang) for f in links.many_fields(res)}
    spec = {f.name: f for f in rows.rows_fields(res)}
    kids = {name: rows.children(db, user, f, [crud.pk_of(r) for r in records]) for name, f in spec.items()}
    out = []
    for record in records:
        item = item_json(record)
        for name, known in titles.items():
            item[title_key(name)] = known.get(getattr(record, name, None))
        for name, by_owner in many.items():  # a many-to-many field: the linked ids the user may see, and their titles
            pairs = by_owner.get(crud.pk_of(record), [])
            item[name], item[f"{name}_titles"] = [i for i, _t in pairs], [t for _i, t in pairs]
        for name, by_owner in kids.items():  # child rows (fields.rows): the children the user may see
            item[name] = rows.snapshot_rows(by_owner.get(crud.pk_of(record), []), spec[name])
        out.append(item)
    return out


def user_json(user: CurrentUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "roles": list(user.roles),
        "permissions": sorted(user.permissions),
    }


class PageInfo(BaseModel):
    has_next: bool
    has_prev: bool
    next_cursor: str = Field(description='Pass as ``cursor`` for the next page ("after:…"); empty on the last page')
    prev_cursor: str = Field(description='Pass as ``cursor`` for the previous page ("before:…")')
    page: int = Field(description="Zero-based page number (offset paging only)")
    keyset: bool = Field(description="True: page with cursors; false: page with ``page``")
    total: int | None
    total_is_estimate: bool
    sort: str


class LoginIn(BaseModel):
    """``{"username", "password"}`` signs in with the password; ``{"method": name, ...}`` with a
    registered method and the fields it declares (``GET /api/auth/methods`` lists them)."""

    model_config = ConfigDict(extra="allow")
    method: SafeStr | None = Field(default=None, max_length=32, examples=["password"], description="A registered sign-in method; the password when absent")
    username: SafeStr | None = Field(default=None, examples=["admin"], max_length=200)
    password: SafeStr | None = Field(default=None, examples=["admin-pass"], max_length=1000)

    def values(self) -> dict[str, Any]:
        out = {k: v for k, v in (self.model_extra or {}).items()}
        out.update({k: v for k, v in (("username", self.username), ("password", self.password)) if v is not None})
        return out


class ChallengeOut(BaseModel):
    challenge: str = Field(description="Continue at ``POST /api/auth/login/{challenge}`` (same browser: the binding cookie)")
    step: Literal["form", "poll", "push"] = Field(description="``form``: post the ``fields``; ``poll``: post ``{}`` every ``poll_seconds`` until signed in; "
                                                  "``push``: listen at ``GET /api/auth/login/{challenge}/events`` and post ``{}`` once it says ``ready``")
    message: str = Field(examples=["Введите код из SMS"])
    fields: list[dict[str, str]] = Field(default_factory=list, examples=[[{"name": "code", "label": "Код", "kind": "code", "autocomplete": "one-time-code"}]])
    poll_seconds: float
    expires_in: int = Field(description="Seconds the challenge stays valid")
    show: list[str] = Field(default_factory=list, description="Lines to show as code (a secret to type in, recovery codes): this step only")
    qr: str = Field(default="", description="A QR code to scan (an SVG data: URI), or empty")


class MethodOut(BaseModel):
    name: str
    label: str
    fields: list[dict[str, str]]


class RegisterIn(BaseModel):
    username: SafeStr = Field(examples=["ivanov"], max_length=200)
    password: SafeStr = Field(examples=["a-long-password"], max_length=1000)
    full_name: SafeStr | None = Field(default=None, examples=["Иван Иванов"], max_length=200)
    password2: SafeStr | None = Field(default=None, max_length=1000, description="The password again (the web form sends it); must match when given")


class UserOut(BaseModel):
    id: int | None
    username: str
    full_name: str | None
    #: The user's roles, at most one per panel (``["stock.manager", "numbers.manager"]``).
    roles: list[str]
    permissions: list[str]


class LoginOut(BaseModel):
    token: str
    user: UserOut


class BulkIn(BaseModel):
    ids: list[StrictInt | SafeStr] = Field(examples=[[1, 2, 3]], max_length=100_000, description="Primary keys of the records")
    params: SafeDict = Field(default_factory=dict, description="The action's inputs, if it declares any")


class ActionIn(BaseModel):
    params: SafeDict = Field(default_factory=dict, description="The action's inputs, if it declares any")


class ActionOut(BaseModel):
    detail: str
    ids: list[Any]
    item: dict[str, Any] | None = None
    job_id: int | None = Field(None, description="For actions that run as a background job (202): GET /api/admin/jobs/{job_id}")


class ImportRowOut(BaseModel):
    line: int = Field(description="Line in the file (the header is line 1)")
    op: Literal["create", "update", "error"]
    errors: dict[str, str] = Field(description='Field -> message ("" for the row as a whole)')


class ImportOut(BaseModel):
    mapping: dict[str, str] = Field(description="Field -> file column actually used")
    key: str
    job_id: int | None = Field(description="The import job (GET /api/admin/jobs/{job_id}); null for a dry run")
    preview: list[ImportRowOut] | None = None


class BulkImportOut(BaseModel):
    job_id: int = Field(description="The import job (GET /api/admin/jobs/{job_id})")
    log_id: int | None = Field(description="The file's row in the resource's import log, if it keeps one")


class OptionOut(BaseModel):
    id: Any
    title: str


class OptionsOut(BaseModel):
    items: list[OptionOut]


#: Said of every operation by :func:`_document_errors` (no route has to repeat them).
BAD_BODY = {"model": ErrorOut, "description": "The body is not JSON (or not UTF-8)"}


def _camel(*parts: str) -> str:
    return "".join(p[:1].upper() + p[1:] for part in parts for p in re.split(r"[^A-Za-z0-9]+", part) if p)


def _json_type(model: type, name: str) -> Any:
    column = model.__table__.columns[name]
    tp = field_python_type(model, name)
    if is_enum(tp):
        return Literal[tuple(m.value for m in tp)]  # type: ignore[valid-type]
    try:
        py = column.type.python_type
    except NotImplementedError:  # JSON / JSONB
        return Any
    if py is decimal.Decimal:
        return str
    if py in (dt.datetime, dt.date, dt.time):
        return str
    if py in (int, float, bool, str):
        return py
    if py in (list, dict):
        return py
    return Any


def item_model(res: type[Resource]) -> type[BaseModel]:
    """A pydantic model describing the resource's item JSON, for the OpenAPI document only."""
    fields: dict[str, Any] = {name: (Optional[_json_type(res.model, name)], None) for name in public_columns(res.model)}
    for c in res.columns:
        if c.resource:
            fields[title_key(c.name)] = (Optional[str], Field(None, description=f"Title of the related {c.resource} record (null: no link, or not visible to the user)"))
    for f in links.many_fields(res):
        fields[f.name] = (list[int], Field([], description=f"Ids of the linked {f.resource} records the user may see"))
        fields[f"{f.name}_titles"] = (list[str], Field([], description=f"Their titles, in the same order as {f.name}"))
    for f in rows.rows_fields(res):
        fields[f.name] = (list[dict[str, Any]], Field([], description=f"The {f.resource} records of this one: id and {', '.join(c.name for c in f.columns)}"))
    return create_model(_camel(res.panel, res.slug, "item"), **fields)


def _example_value(res: type[Resource], f: FormField) -> Any:
    return kind_for(res.model, f).example(field_of(res.model, f))


def form_schema(res: type[Resource], creating: bool) -> dict[str, Any]:
    """The request body's JSON schema, one property per form field as its kind types it (no
    ``required`` list: a create may leave out what has a default, an update what it keeps)."""
    props: dict[str, Any] = {}
    for f in res.form_fields():
        if f.create_only and not creating:
            continue
        kind = kind_for(res.model, f)
        schema = rows.json_schema(f) if kind.holds_rows else dict(kind.json_schema(field_of(res.model, f)))
        if f.help:
            schema.setdefault("description", t(f.help, "en"))
        props[f.name] = schema
    return {"properties": props}


def form_example(res: type[Resource], creating: bool) -> dict[str, Any]:
    """A request body example built from the resource's form fields."""
    out: dict[str, Any] = {}
    for f in res.form_fields():
        if f.create_only and not creating:
            continue
        out[f.name] = f.default if f.default is not None else _example_value(res, f)
    return out


_filter_param_name = _query.filter_param_name


_FILTER_HELP = {
    "text": 'substring, case-insensitive: "abc"',
    "number": 'inclusive range "10..20", "10.." or "..20"',
    "date": 'inclusive date range "2026-01-01..2026-01-31" (either end may be empty)',
    "select": 'one value "a" or several "a,b"',
    "ternary": '"1" (yes) or "0" (no)',
    "relation": 'id of the related record ("12"), or several "12,15"',
}


def _filter_parameters(res: type[Resource]) -> list[dict[str, Any]]:
    params = []
    for f in res.filters:
        desc = f"Filter `{f.name}` ({f.kind}): {_FILTER_HELP.get(f.kind, '')}"
        if f.kind == "relation" and f.resource:
            desc += f"; ids from /api/{f.resource.replace('.', '/')}/options"
        params.append({"name": _filter_param_name(f.name), "in": "query", "required": False, "schema": {"type": "string"}, "description": desc})
    return params


# --------------------------------------------------------------------------- generated resource routes
def resource_router(res_cls: type[Resource], prefix: str | None = None, in_schema: bool = True) -> APIRouter:
    """All routes of one resource, under ``/api/<panel>/<slug>`` (or ``prefix``), tagged with the resource key."""
    res = res_cls()
    key = res_cls.key()
    prefix = prefix or f"/api/{res_cls.panel}/{res_cls.slug}"
    router = APIRouter(prefix=prefix, tags=[key], include_in_schema=in_schema)
    ops = res_cls.operations
    Item = item_model(res_cls)
    List_ = create_model(_camel(res_cls.panel, res_cls.slug, "list"), items=(list[Item], ...), page_info=(PageInfo, ...))
    id_desc = f"Primary key ({pk_name(res_cls.model)})"
    name = t(res_cls.label, "en") if res_cls.label else res_cls.slug

    if "view" in ops:
        filter_names = [(f.name, _filter_param_name(f.name)) for f in res_cls.filters]

        @router.get(
            "",
            summary=f"List {name}",
            response_model=None,
            responses={200: {"model": List_}, **ERRORS, **INVALID},
            openapi_extra={"parameters": _filter_parameters(res_cls)} if res_cls.filters else None,
            operation_id=f"{res_cls.panel}_{res_cls.slug}_list",
        )
        def list_records(
            request: Request,
            sort: str = Query("", description=f'Column to sort by, "-" for descending (default "{res_cls.default_sort}")'),
            q: str = Query("", description=f"Search in: {', '.join(res_cls.search) or '(no search fields)'}"),
            cursor: str = Query("", description='Keyset paging: "" first page, "last", or next_cursor / prev_cursor of a previous answer'),
            page: int = Query(0, ge=0, le=MAX_PAGE, description="Offset paging (when page_info.keyset is false): zero-based page"),
            page_size: int = Query(res_cls.page_size, ge=1, le=500),
            trash: bool = Query(False, description="Soft-deleted records instead of live ones"),
            exact_count: bool = Query(False, description="Count exactly even on big tables"),
            db: Session = Depends(get_db),
            user: CurrentUser = Depends(current_user),
        ) -> dict[str, Any]:
            values = {}
            for fname, param in filter_names:
                raw = request.query_params.getlist(param)
                if raw:
                    values[fname] = ",".join(raw)
            lang = request_lang(request)
            params = ListParams(
                sort=sort, filters=values, search=q, trash=trash, page_size=page_size, cursor=cursor, page=page, exact_count=exact_count,
                lang=lang,
            )
            result = crud.list_records(db, res, user, params)
            return {
                "items": items_json(db, res, user, result.rows, lang),
                "page_info": {
                    "has_next": result.has_next,
                    "has_prev": result.has_prev,
                    "next_cursor": result.next_cursor,
                    "prev_cursor": result.prev_cursor,
                    "page": result.page,
                    "keyset": result.keyset,
                    "total": result.total,
                    "total_is_estimate": result.total_is_estimate,
                    "sort": result.sort,
                },
            }

        @router.get(
            "/options",
            summary=f"Search {name} for a relation picker",
            response_model=OptionsOut,
            responses={**ERRORS, **INVALID},
            operation_id=f"{res_cls.panel}_{res_cls.slug}_options",
        )
        def options(
            q: str = Query("", description="Search text"),
            limit: int = Query(20, ge=1, le=100),
            db: Session = Depends(get_db),
            user: CurrentUser = Depends(current_user),
        ) -> dict[str, Any]:
            if not res.can(user, "view"):
                raise PermissionDenied()
            return {"items": [{"id": pk, "title": title} for pk, title in crud.search_options(db, res, user, q, limit)]}

        @router.get(
            "/{id}",
            summary=f"Get one of {name}",
            response_model=None,
            responses={200: {"model": Item}, **ERRORS, **NOT_FOUND},
            operation_id=f"{res_cls.panel}_{res_cls.slug}_get",
        )
        def get_record(
            request: Request,
            id: str = Path(description=id_desc),
            db: Session = Depends(get_db),
            user: CurrentUser = Depends(current_user),
        ) -> dict[str, Any]:
            return items_json(db, res, user, [crud.get_record(db, res, user, id)], request_lang(request))[0]

        add_block_routes(router, res_cls, id_desc)  # a declared comment wall / timeline (app/core/record_blocks_api.py)

    if "create" in ops:

        @router.post(
            "",
            status_code=201,
            summary=f"Create one of {name}",
            response_model=None,
            responses={201: {"model": Item}, **ERRORS, **INVALID},
            operation_id=f"{res_cls.panel}_{res_cls.slug}_create",
        )
        def create_record(
            request: Request,
            body: dict[str, Any] = Body(openapi_examples={"example": {"value": form_example(res_cls, True)}}, json_schema_extra=form_schema(res_cls, True)),
            db: Session = Depends(get_db),
            user: CurrentUser = Depends(current_user),
        ) -> dict[str, Any]:
            return items_json(db, res, user, [crud.create_record(db, res, user, body, request_lang(request))], request_lang(request))[0]

    if "create" in ops and getattr(res_cls, "bulk_import", None) is not None:
        bulk_spec = res_cls.bulk_import
        bulk_params = tuple(p.name for p in bulk_spec.params)

        @router.post(
            "/import",
            status_code=202,
            summary=f"Bulk import of {name}: one column of a CSV or XLSX file, loaded set-based (a background job)",
            description="Multipart: `file` and the import's parameters as form fields: "
            + ", ".join(f"`{n}`" for n in bulk_params) + ". 202: the job and its log row.",
            response_model=BulkImportOut,
            responses={**ERRORS, **INVALID},
            operation_id=f"{res_cls.panel}_{res_cls.slug}_bulk_import",
        )
        async def bulk_import_records(
            request: Request,
            file: UploadFile = File(description=f"CSV (UTF-8 or Windows-1251) or XLSX; the column '{bulk_spec.key}' (by header, else the first)"),
            user: CurrentUser = Depends(current_user),
        ) -> dict[str, Any]:
            form = await request.form()
            params = {n: str(form.get(n) or "") for n in bulk_params}
            data = await file.read(importer.MAX_UPLOAD_BYTES + 1)
            return await run_in_threadpool(bulk_import_endpoint, res, user, request_lang(request), file.filename or "", data, params)

    elif "create" in ops:

        @router.post(
            "/import",
            status_code=202,
            summary=f"Import {name} from a CSV or XLSX file (a background job; dry_run previews the first rows)",
            response_model=ImportOut,
            responses={**ERRORS, **INVALID},
            operation_id=f"{res_cls.panel}_{res_cls.slug}_import",
        )
        def import_records(
            request: Request,
            response: Response,
            file: UploadFile = File(description="CSV (UTF-8 or Windows-1251; comma, semicolon or tab) or XLSX; first row = column names"),
            mapping: str = Form("", description='JSON {"field": "file column"}; empty maps columns named like fields or their labels'),
            key: str = Form("", description=f"Field that finds existing records to update: one of {importer.key_fields(res)}; empty only adds"),
            dry_run: bool = Form(False, description="Only parse the first rows and say what would happen"),
            db: Session = Depends(get_db),
            user: CurrentUser = Depends(current_user),
        ) -> dict[str, Any]:
            return import_endpoint(db, res, user, request_lang(request), response, file, mapping, key, dry_run)

    if "update" in ops:

        def update_record(
            request: Request,
            id: str = Path(description=id_desc),
            body: dict[str, Any] = Body(openapi_examples={"example": {"value": form_example(res_cls, False)}}, json_schema_extra=form_schema(res_cls, False)),
            db: Session = Depends(get_db),
            user: CurrentUser = Depends(current_user),
        ) -> dict[str, Any]:
            return items_json(db, res, user, [crud.update_record(db, res, user, id, body, request_lang(request))], request_lang(request))[0]

        for method in ("PATCH", "PUT"):
            router.add_api_route(
                "/{id}",
                update_record,
                methods=[method],
                summary=f"Update one of {name}" + (" (fields given only)" if method == "PATCH" else " (same as PATCH: fields given only)"),
                response_model=None,
                responses={200: {"model": Item}, **ERRORS, **NOT_FOUND, **INVALID},
                operation_id=f"{res_cls.panel}_{res_cls.slug}_{method.lower()}",
            )

    if "delete" in ops:
        soft = res_cls.has_soft_delete()

        @router.delete(
            "/{id}",
            status_code=204,
            summary=f"Delete one of {name}" + (" (to the trash)" if soft else ""),
            response_class=Response,
            responses={**ERRORS, **NOT_FOUND, **INVALID},
            operation_id=f"{res_cls.panel}_{res_cls.slug}_delete",
        )
        def delete_record(
            request: Request,
            id: str = Path(description=id_desc),
            db: Session = Depends(get_db),
            user: CurrentUser = Depends(current_user),
        ) -> Response:
            crud.delete_record(db, res, user, id, request_lang(request))
            return Response(status_code=204)

        if soft:

            @router.post(
                "/{id}/restore",
                summary=f"Restore one of {name} from the trash",
                response_model=None,
                responses={200: {"model": Item}, **ERRORS, **NOT_FOUND},
                operation_id=f"{res_cls.panel}_{res_cls.slug}_restore",
            )
            def restore_record(
                id: str = Path(description=id_desc),
                db: Session = Depends(get_db),
                user: CurrentUser = Depends(current_user),
            ) -> dict[str, Any]:
                return item_json(crud.restore_record(db, res, user, id))

    for action_name, spec in res_cls.actions.items():
        _add_action_routes(router, res, res_cls, action_name, spec, id_desc)
    return router


def _add_action_routes(router: APIRouter, res: Resource, res_cls: type[Resource], action_name: str, spec: Any, id_desc: str) -> None:
    label = t(spec.label, "en")
    if spec.row:

        def row_action(
            request: Request,
            id: str = Path(description=id_desc),
            body: ActionIn | None = None,
            db: Session = Depends(get_db),
            user: CurrentUser = Depends(current_user),
        ) -> dict[str, Any]:
            lang = request_lang(request)
            result = crud.run_action(db, res, user, action_name, [id], lang, body.params if body else None)
            detail = t(result, lang) if result else t("done", lang)
            try:
                record = crud.get_record(db, res, user, id)
            except NotFound:  # the action moved it out of this view (e.g. restored from "Deleted projects")
                return {"detail": detail, "ids": [parse_pk(res_cls.model, id)], "item": None}
            return {"detail": detail, "ids": [getattr(record, pk_name(res_cls.model))], "item": item_json(record)}

        router.add_api_route(
            f"/{{id}}/actions/{action_name}",
            row_action,
            methods=["POST"],
            summary=f"{label} (one record)",
            response_model=ActionOut,
            responses={**ERRORS, **NOT_FOUND, **INVALID},
            operation_id=f"{res_cls.panel}_{res_cls.slug}_{action_name}",
        )
    if spec.bulk:

        def bulk_action(
            request: Request,
            body: BulkIn,
            db: Session = Depends(get_db),
            user: CurrentUser = Depends(current_user),
        ) -> dict[str, Any]:
            lang = request_lang(request)
            if spec.job:
                from app.core.kit_jobs import enqueue_action

                crud.require(res, user, action_name)
                for i in body.ids:  # what cannot be a key names no record, as on the immediate path
                    try:
                        parse_pk(res_cls.model, i)
                    except (TypeError, ValueError):
                        raise NotFound() from None
                params = {f.name: body.params[f.name] for f in spec.params if f.name in body.params}  # declared ones only
                run = enqueue_action(db, user, res.key(), action_name, [str(i) for i in body.ids], lang=lang, params=params)
                return {"detail": t("jobs.action.queued", lang), "ids": list(body.ids), "item": None, "job_id": run.id}
            result = crud.run_action(db, res, user, action_name, list(body.ids), lang, body.params)
            return {"detail": t(result, lang) if result else t("done", lang), "ids": list(body.ids), "item": None}

        router.add_api_route(
            f"/actions/{action_name}",
            bulk_action,
            methods=["POST"],
            summary=f"{label} (several records: " + ("a background job, 202 with job_id)" if spec.job else "all or nothing)"),
            response_model=ActionOut,
            status_code=202 if spec.job else 200,
            responses={**ERRORS, **NOT_FOUND, **INVALID},
            operation_id=f"{res_cls.panel}_{res_cls.slug}_{action_name}_bulk",
        )


def import_endpoint(db: Session, res: Resource, user: CurrentUser, lang: str, response: Response, file: UploadFile,
                    mapping: str, key: str, dry_run: bool) -> dict[str, Any]:
    from app.core import jobs

    importer.require_import(res, user, key)
    token = importer.save_upload(user, file.filename or "", file.file.read(importer.MAX_UPLOAD_BYTES + 1))
    path = importer.upload_path(user, token)
    headers, _ = importer.read_head(path, 1)
    try:
        wanted = json.loads(mapping) if mapping.strip() else importer.auto_map(res, headers)
    except (ValueError, RecursionError):
        raise ValidationFailed.one("mapping", "import.bad_mapping") from None
    if not isinstance(wanted, dict) or not all(isinstance(v, str) for v in wanted.values()):
        raise ValidationFailed.one("mapping", "import.bad_mapping")
    clean = importer.check_mapping(res, headers, wanted, key, lang)
    if dry_run:
        _, outcomes, _raws = importer.preview(db, res, user, path, clean, key, lang)
        response.status_code = 200
        return {"mapping": clean, "key": key, "job_id": None,
                "preview": [{"line": o.line, "op": o.op, "errors": o.errors} for o in outcomes]}
    run = jobs.enqueue(db, user, "kit.import", {"resource": res.key(), "upload": token, "mapping": clean, "key": key, "lang": lang})
    return {"mapping": clean, "key": key, "job_id": run.id, "preview": None}


def bulk_import_endpoint(res: Resource, user: CurrentUser, lang: str, filename: str, data: bytes, params: dict[str, str]) -> dict[str, Any]:
    """The declared bulk import (:mod:`app.core.bulk_import`): permission and params first, then
    the upload kept and checked, the log row and the job — the same path as the import page."""
    from app.core import bulk_import
    from app.core.db import session_scope

    with session_scope() as db:
        bulk_import.require(res, user)
        bulk_import.parse_params(db, res, user, params)  # a target out of scope: 422 before the file is kept
        token = importer.save_upload(user, filename, data)
        run, row = bulk_import.start(db, res, user, token, filename, params, lang)
        return {"job_id": run.id, "log_id": getattr(row, "id", None)}


# --------------------------------------------------------------------------- auth routes
def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """The one place the browser session cookie is set (the API login and the UI's sign-in form).

    HttpOnly (no script can read it), SameSite=Lax, Secure when the browser reached us over TLS
    (:func:`app.core.net.is_secure`: the request's scheme, or a trusted proxy's
    ``X-Forwarded-Proto``), and it lives exactly as long as the server-side session can.
    """
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=request_is_secure(request),
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=request_is_secure(request))


class PendingOut(BaseModel):
    pending: bool = True
    detail: str = Field(examples=["Учётная запись создана и ждёт одобрения администратора"])


def _sse(event: str) -> bytes:
    return f"event: {event}\ndata: {{}}\n\n".encode()


async def _login_event_stream(name: str, ttl: int):  # noqa: ANN202
    """``ready`` when the method wakes ``name`` (or already did), ``gone`` when the step expires;
    a comment every 15 s keeps proxies from closing the idle stream."""
    import asyncio
    import time

    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    channel = f"{login_methods.WAKE_PREFIX}:{name}"
    deadline = time.monotonic() + ttl + 1
    try:
        async with client.pubsub() as pubsub:
            await pubsub.subscribe(channel)
            if await client.exists(channel):  # woken before we listened
                yield _sse("ready")
                return
            yield b": waiting\n\n"
            while (left := deadline - time.monotonic()) > 0:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=min(15.0, left))
                if message is not None:
                    yield _sse("ready")
                    return
                yield b": waiting\n\n"
                await asyncio.sleep(0)
            yield _sse("gone")
    finally:
        await client.aclose()


def auth_router() -> APIRouter:
    """Sign-in, registration and sign-out. The web UI's forms post here too (over HTTP, never the
    WebSocket), so the session cookie is always set by an HTTP response."""
    router = APIRouter(prefix="/api/auth", tags=["auth"])
    unavailable = {503: {"model": ErrorOut, "description": "The database or Redis is down; try again shortly"}}

    def signed_in_or_challenge(result: login_methods.Result, request: Request, response: Response, db: Session) -> Any:
        lang = request_lang(request)
        if result.challenge is not None:
            out = JSONResponse(result.challenge_json(lang), status_code=202)
            if result.browser:
                out.set_cookie(login_methods.BROWSER_COOKIE, result.browser, max_age=max(result.ttl, 1), httponly=True,
                               samesite="strict", secure=request_is_secure(request), path=login_methods.COOKIE_PATH)
            return out
        assert result.token is not None
        user = auth.resolve(db, result.token, touch=False)
        set_session_cookie(response, request, result.token)
        if request.cookies.get(login_methods.BROWSER_COOKIE):
            response.delete_cookie(login_methods.BROWSER_COOKIE, path=login_methods.COOKIE_PATH, httponly=True,
                                   samesite="strict", secure=request_is_secure(request))
        return {"token": result.token, "user": user_json(user)}

    challenge_responses = {
        202: {"model": ChallengeOut, "description": "Not signed in yet: the method (or a second factor) asks for another step"},
        401: {"model": ErrorOut, "description": "Wrong username or password; or the challenge expired, was used, or belongs to another browser"},
        403: {"model": ErrorOut, "description": "The account waits for an administrator's approval"},
        422: {"model": ErrorOut, "description": "A field is missing or wrong (a wrong code comes back under its field)"},
        429: {"model": ErrorOut, "description": "Too many attempts; ``Retry-After`` says when to try again"},
        **unavailable,
    }

    @router.post(
        "/login",
        response_model=LoginOut,
        summary="Sign in: returns a session token and sets the session cookie, or a challenge (202) for the next step",
        responses=challenge_responses,
    )
    def login(body: LoginIn, request: Request, response: Response, db: Session = Depends(get_db)) -> Any:
        result = login_methods.begin(db, body.method or login_methods.default_method(), body.values(), ip=request_ip(request),
                                     user_agent=request.headers.get("user-agent"), lang=request_lang(request))
        return signed_in_or_challenge(result, request, response, db)

    @router.post(
        "/login/{challenge}",
        response_model=LoginOut,
        summary="The next step of a sign-in: a challenge's fields, or ``{}`` to ask whether it was approved",
        responses=challenge_responses,
    )
    def login_step(request: Request, response: Response, challenge: str = Path(max_length=64, description="The challenge id from the 202 answer"),
                   body: SafeDict = Body(default_factory=dict), db: Session = Depends(get_db)) -> Any:
        result = login_methods.advance(db, challenge, body, request.cookies.get(login_methods.BROWSER_COOKIE), ip=request_ip(request),
                                       user_agent=request.headers.get("user-agent"), lang=request_lang(request))
        return signed_in_or_challenge(result, request, response, db)

    @router.get(
        "/login/{challenge}/events",
        summary="Wait for news of a ``push`` step (an approval elsewhere): a text/event-stream that sends ``ready`` once, then ends",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, 401: challenge_responses[401], **unavailable},
    )
    async def login_events(request: Request, challenge: str = Path(max_length=64, description="The challenge id from the 202 answer")) -> StreamingResponse:
        # The browser is told, not polling: it posts ``{}`` to /login/{challenge} once this says ``ready``.
        import asyncio

        name, ttl = await asyncio.to_thread(login_methods.waiting, challenge, request.cookies.get(login_methods.BROWSER_COOKIE))
        return StreamingResponse(_login_event_stream(name, ttl), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @router.get("/methods", response_model=list[MethodOut], summary="The registered sign-in methods and the fields each asks for")
    def methods(request: Request) -> list[dict[str, Any]]:
        lang = request_lang(request)
        return [{"name": m.name, "label": t(m.label, lang), "fields": [f.as_json(lang) for f in m.fields]} for m in login_methods.methods()]

    @router.post(
        "/register",
        response_model=LoginOut,
        status_code=201,
        summary="Create an operator account (when registration is open) and sign it in",
        responses={
            202: {"model": PendingOut, "description": "Created; the account waits for an administrator's approval"},
            403: {"model": ErrorOut, "description": "Registration is switched off"},
            422: {"model": ErrorOut, "description": "Invalid fields"},
            429: {"model": ErrorOut, "description": "Too many registrations"},
            **unavailable,
        },
    )
    def register(body: RegisterIn, request: Request, response: Response, db: Session = Depends(get_db)) -> Any:
        token = auth.register(db, body.username, body.password, body.full_name, ip=request_ip(request),
                              user_agent=request.headers.get("user-agent"), password2=body.password2)
        if token is None:
            return JSONResponse({"pending": True, "detail": t("register.pending", request_lang(request))}, status_code=202)
        user = auth.resolve(db, token, touch=False)
        set_session_cookie(response, request, token)
        return {"token": token, "user": user_json(user)}

    @router.post("/logout", status_code=204, response_class=Response, summary="Sign out: revoke the session and clear the cookie")
    def logout(request: Request, db: Session = Depends(get_db), token: str | None = Depends(request_token)) -> Response:
        auth.logout(db, token)
        response = Response(status_code=204)
        clear_session_cookie(response, request)
        return response

    @router.get("/me", response_model=UserOut, summary="The signed-in user and their permissions", responses={401: ERRORS[401]})
    def me(user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
        return user_json(user)

    return router


# --------------------------------------------------------------------------- health
def jobs_router() -> APIRouter:
    """Files produced by background jobs (exports, error reports), for whoever may see the run."""
    from app.core import jobs
    from models.jobs import JobRun

    router = APIRouter(prefix="/api/jobs", tags=["jobs"])

    @router.get("/{run_id}/file", response_class=FileResponse, summary="Download the file a job produced", responses={**ERRORS, 404: {"description": "Not found"}})
    def job_file(run_id: str = Path(description="The job run's id"), db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)):  # noqa: ANN201
        try:
            run = db.get(JobRun, parse_pk(JobRun, run_id))
        except (TypeError, ValueError):  # not an id the column can hold
            run = None
        if run is None or not jobs.can_view(user, run) or not run.result_file:
            raise NotFound()
        path = jobs.result_file_path(run)
        if path is None:
            raise NotFound()
        return FileResponse(path, filename=path.name)

    return router


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/health", summary="Database and Redis reachable", responses={503: {"description": "A dependency is down"}})
    def health() -> JSONResponse:
        status = {"status": "ok", "database": "ok", "redis": "ok"}
        try:
            with engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            log.exception("health: database check failed")
            status["database"] = "error"
        try:
            if not redis_client().ping():
                status["redis"] = "error"
        except Exception:
            log.exception("health: redis check failed")
            status["redis"] = "error"
        if "error" in status.values():
            status["status"] = "error"
            return JSONResponse(status, status_code=503)
        return JSONResponse(status)

    return router


# --------------------------------------------------------------------------- errors
def _pult_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PultError)
    lang = request_lang(request)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
    if getattr(exc, "retry_after", None):
        headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
    elif isinstance(exc, ServiceUnavailable):
        headers = {**(headers or {}), "Retry-After": str(RETRY_AFTER_SECONDS)}
    if isinstance(exc, ValidationFailed):
        messages = exc.messages(lang)
        form_message = messages.pop("", None)
        if form_message:
            detail = form_message
        elif len(messages) == 1:
            detail = next(iter(messages.values()))
        else:
            detail = exc.message(lang)
        return JSONResponse({"detail": detail, "errors": messages}, status_code=exc.status_code)
    return JSONResponse({"detail": exc.message(lang), "errors": {}}, status_code=exc.status_code, headers=headers)


def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    lang = request_lang(request)
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header", "cookie")]
        errors.setdefault(".".join(loc) or "", _pydantic_message(err, lang))
    form = errors.pop("", None)
    return JSONResponse({"detail": form or t("error.form", lang), "errors": errors}, status_code=422)


#: pydantic's error types as the kit's messages (the rest keep pydantic's English text).
_PYDANTIC_KEYS = {
    "missing": "error.required", "int_parsing": "error.int", "int_type": "error.int", "int_from_float": "error.int",
    "float_parsing": "error.number", "decimal_parsing": "error.number", "date_parsing": "error.date",
    "date_from_datetime_parsing": "error.date", "date_type": "error.date", "bool_parsing": "error.value",
    "literal_error": "error.choice", "enum": "error.choice", "string_too_long": "error.max_length",
}


def _pydantic_message(err: dict[str, Any], lang: str) -> str:
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), BadText):
        return t(BadText.key, lang)
    if kind in ("less_than_equal", "less_than"):
        return t("error.max", lang, max=ctx.get("le", ctx.get("lt")))
    if kind in ("greater_than_equal", "greater_than"):
        return t("error.min", lang, min=ctx.get("ge", ctx.get("gt")))
    if kind in _PYDANTIC_KEYS:
        return t(_PYDANTIC_KEYS[kind], lang, n=ctx.get("max_length", ""))
    return str(err.get("msg", ""))


#: Messages of the HTTP errors the router and FastAPI raise themselves.
_HTTP_MESSAGES = {400: "error.body", 404: "not_found", 405: "error.method"}


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Router and framework errors (unknown path, wrong method, a body that is not JSON) in the
    same JSON shape as every other error, instead of Starlette's text/plain."""
    assert isinstance(exc, StarletteHTTPException)
    key = _HTTP_MESSAGES.get(exc.status_code)
    detail = t(key, request_lang(request)) if key else str(exc.detail)
    return JSONResponse({"detail": detail, "errors": {}}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def fallback_router() -> APIRouter:
    """The last route under ``/api/``: an unknown path answers a JSON 404, a known path with
    another method a JSON 405 with ``Allow`` (in the running app everything else under ``/``
    falls through to Reflex, which would answer with its HTML page)."""
    router = APIRouter(include_in_schema=False)
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @router.api_route("/api/{path:path}", methods=[*methods, "HEAD", "OPTIONS", "TRACE"])
    def api_fallback(request: Request, path: str) -> None:
        others = [r for r in request.app.router.routes if getattr(r, "original_router", None) is not router]
        allowed = [m for m in methods if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in others)]
        if allowed:
            raise StarletteHTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise NotFound()

    return router


def _document_errors(app: FastAPI) -> None:
    """Make the OpenAPI document say what the API answers (schemathesis checks it does).

    FastAPI documents request validation as its own ``HTTPValidationError`` (``detail`` a list);
    ours answers ``ErrorOut`` (``detail`` a message, ``errors`` per field). Every operation that
    takes parameters or a body may answer 422; one that takes a body, 400 when it is not JSON;
    every operation 503 while PostgreSQL or Redis is down.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        error_ref = {"$ref": "#/components/schemas/ErrorOut"}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}"))

        def error(description: str) -> dict[str, Any]:
            return {"description": description, "content": {"application/json": {"schema": error_ref}}}

        for operation in (op for item in schema.get("paths", {}).values() for op in item.values() if isinstance(op, dict)):
            responses = operation.setdefault("responses", {})
            invalid = responses.get("422")
            if invalid is not None or operation.get("parameters") or operation.get("requestBody"):
                text = (invalid or {}).get("description") or ""
                responses["422"] = error(text if text and text != "Validation Error" else INVALID[422]["description"])
            if operation.get("requestBody"):
                responses.setdefault("400", error(BAD_BODY["description"]))
            responses.setdefault("503", error("PostgreSQL or Redis is unreachable: try again in a minute"))
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    if is_outage(exc):
        return _outage(request, exc)
    log.exception("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


#: Seconds a client should wait before retrying when PostgreSQL or Redis is down.
RETRY_AFTER_SECONDS = 30


def _outage(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL or Redis cannot be reached: 503 with a message and ``Retry-After``, not a 500."""
    if not is_outage(exc):
        return _internal_error(request, exc)
    log.error("%s %s: service unavailable: %s", request.method, request.url.path, exc.__class__.__name__)
    return _pult_error(request, ServiceUnavailable())


def _outage_errors() -> tuple[type[Exception], ...]:
    """The exception classes :func:`~app.core.errors.is_outage` looks at."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DisconnectionError, OperationalError

    return (RedisConnectionError, RedisTimeoutError, DisconnectionError, OperationalError)


# --------------------------------------------------------------------------- the app
def build_api() -> FastAPI:
    """The FastAPI app for every registered panel (call ``app.boot.boot()`` first)."""
    from app.core.registry import PANELS, RESOURCES
    from app.core.report_api import page_routers

    app = FastAPI(
        title="Pult API",
        description=(
            "REST API of every Pult panel. Sign in with `POST /api/auth/login`, then send "
            "`Authorization: Bearer <token>` (or keep the `pult_session` cookie and send `X-Pult-Request: 1` "
            "from an allowed origin with every change). The same permission "
            "checks, validation and audit log as the web UI apply. Messages are Russian unless "
            "`Accept-Language: en`."
        ),
        version="1.0",
        docs_url=None,  # local Swagger UI and ReDoc: mount_docs below
        openapi_url="/api/openapi.json",
        redoc_url=None,
        openapi_tags=[{"name": "auth"}]
        + [{"name": key, "description": t(res.label, "en") if res.label else key} for key, res in RESOURCES.items()],
    )
    app.add_middleware(AuditSourceMiddleware)
    app.add_middleware(CsrfMiddleware, refuse=_pult_error)
    app.add_exception_handler(PultError, _pult_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    for outage in _outage_errors():
        app.add_exception_handler(outage, _outage)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    # /metrics, and metrics + request id + access log of every request (outermost middleware)
    mount_metrics(app)

    mount_docs(app, app.openapi_url or "/api/openapi.json")
    app.include_router(health_router())
    app.include_router(auth_router())
    from app.core.mfa_api import mfa_router  # also registers the TOTP second factors

    app.include_router(mfa_router())
    app.include_router(jobs_router())
    for res_cls in RESOURCES.values():
        app.include_router(resource_router(res_cls))
    # Panels' own routes after the generated ones: they add paths, they do not replace any (a
    # hand-written ``/orders/{id}/issue`` must not swallow the generated ``/orders/actions/issue``).
    for panel in PANELS.values():
        if panel.api_router is not None:
            app.include_router(panel.api_router, prefix=f"/api/{panel.name}")  # type: ignore[arg-type]
        for router in panel.root_routers:
            app.include_router(router)  # type: ignore[arg-type]
        for router in page_routers(panel.pages):  # Report / Dashboard pages' JSON (and CSV) twins
            app.include_router(router, prefix=f"/api/{panel.name}")
    # Declared settings pages (app/core/settings_page.py): /api/<panel>/settings/<name>
    from app.core.settings_api import settings_routers

    for router in settings_routers():
        app.include_router(router)
    # A panel may also answer at the unprefixed paths its spec names (seed 001: /api/products,
    # /api/orders/{id}/issue, /api/analytics/summary). Same handlers; only the prefixed paths are
    # listed in OpenAPI.
    for panel in PANELS.values():
        if panel.api_unprefixed:
            for res_cls in panel.resources:
                app.include_router(resource_router(res_cls, prefix=f"/api/{res_cls.slug}", in_schema=False))
            if panel.api_router is not None:
                app.include_router(panel.api_router, prefix="/api", include_in_schema=False)  # type: ignore[arg-type]
            for router in page_routers(panel.pages, in_schema=False):
                app.include_router(router, prefix="/api")
    app.include_router(fallback_router())  # last: only what nothing else matched
    _document_errors(app)
    return app


__all__ = ["build_api", "current_user", "get_db", "request_lang", "item_json", "jsonable", "ErrorOut", "ERRORS", "NOT_FOUND", "INVALID"]
