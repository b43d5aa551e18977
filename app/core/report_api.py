"""The API twins of report and dashboard pages (:mod:`app.core.report`), mounted by
:func:`app.core.api.build_api` for every such page a panel lists:

* ``GET /api/<panel>/reports/<name>`` — JSON: ``{"report", "params", "kpis", "series", "tables"}``;
* ``GET /api/<panel>/reports/<name>.csv`` — the tables as CSV (headers in ``Accept-Language``);
* ``GET /api/<panel>/dashboards/<name>`` — every widget the user may see, raw values.

The query string is parsed by the report's own parameter declarations (the same as the page's),
so a bad value is a 422 with a message by the parameter, and the permission is the page's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.core.api_base import ERRORS, INVALID, current_user, get_db, jsonable, request_lang
from app.core.auth import CurrentUser
from app.core.report import Dashboard, Report


def _parameters(rep: Report) -> list[dict[str, Any]]:
    """The report's parameters as OpenAPI query parameters, typed by their field kinds."""
    from app.core.kinds import Field, kind_named

    out = []
    for p in rep.params:
        schema = kind_named(p.kind).json_schema(Field(None, p.name, p))
        desc = f"{p.kind}" + (f"; ids from /api/{p.resource.replace('.', '/')}/options" if p.resource else "")
        out.append({"name": p.name, "in": "query", "required": False, "schema": schema, "description": desc})
    return out


def _raw(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items()}


def report_router(rep: Report, in_schema: bool = True) -> APIRouter:
    router = APIRouter(tags=["reports"], include_in_schema=in_schema)
    extra = {"parameters": _parameters(rep)}

    def as_json(request: Request, db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
        params, result = rep.run(db, user, _raw(request), request_lang(request))
        return rep.as_json(params, result)

    def as_csv(request: Request, db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> Response:
        lang = request_lang(request)
        params, result = rep.run(db, user, _raw(request), lang)
        return Response(rep.csv(result, lang), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{rep.csv_filename(params)}"'})

    as_json.__name__ = f"report_{rep.name}"
    as_csv.__name__ = f"report_{rep.name}_csv"
    summary = f"Report '{rep.name}' (the {rep.route} page's figures)"
    router.add_api_route(f"/reports/{rep.name}", as_json, methods=["GET"], summary=summary, openapi_extra=extra, responses={**ERRORS, **INVALID})
    router.add_api_route(f"/reports/{rep.name}.csv", as_csv, methods=["GET"], summary=f"Report '{rep.name}' as CSV", response_class=Response,
                         openapi_extra=extra, responses={200: {"content": {"text/csv": {}}}, **ERRORS, **INVALID})
    for path in rep.api_aliases:
        router.add_api_route(path, as_json, methods=["GET"], summary=f"{summary} (alias)", openapi_extra=extra, responses={**ERRORS, **INVALID},
                             name=f"report_{rep.name}_alias_{path}")
    return router


def dashboard_router(dash: Dashboard) -> APIRouter:
    router = APIRouter(tags=["dashboards"])

    def as_json(db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
        return jsonable({"dashboard": dash.name, "widgets": dash.run(db, user)})

    as_json.__name__ = f"dashboard_{dash.name}"
    router.add_api_route(f"/dashboards/{dash.name}", as_json, methods=["GET"], summary=f"Dashboard '{dash.name}' (the {dash.route} page's widgets)", responses=ERRORS)
    return router


def page_routers(pages: list[Any], in_schema: bool = True) -> list[APIRouter]:
    """The API twins of a panel's report and dashboard pages."""
    out = []
    for page in pages:
        if isinstance(page, Report):
            out.append(report_router(page, in_schema))
        elif isinstance(page, Dashboard) and in_schema:
            out.append(dashboard_router(page))
    return out
