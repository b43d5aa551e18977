"""Numbers routes beyond the generated CRUD, mounted under ``/api/numbers``.

* ``GET  /conversion`` and ``/conversion.csv`` — per-project conversion from the aggregates;
* ``POST /import`` — upload a CSV/XLSX of numbers for a project/provider/geo (202, a job);
* ``POST /export`` — export the numbers matching filters (202, a job; the file at
  ``/api/jobs/{job_id}/file``).

Every route checks the permission and applies the manager's scope like the pages do.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.core import (
    ERRORS,
    INVALID,
    MAX_UPLOAD_BYTES,
    CurrentUser,
    ListParams,
    bulk_import_endpoint,
    current_user,
    get_db,
    get_resource,
    jobs,
    request_lang,
    safe_cells,
    visible_query,
)
from app.core.display import TIMEZONE, fmt_percent
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.i18n import t
from app.core.inputs import Day, Id, SafeStr, check_date, id_param
from app.panels.numbers import services, transfers

router = APIRouter(tags=["numbers"])


class ConversionRowOut(BaseModel):
    project_id: int
    project: str
    total: int
    processed: int
    success: int
    refusal: int
    no_answer: int
    success_rate: float
    refusal_rate: float
    no_answer_rate: float


class JobOut(BaseModel):
    job_id: int
    transfer_id: int


class ExportIn(BaseModel):
    filters: dict[SafeStr, SafeStr] = Field(default_factory=dict, examples=[{"project_id": "3", "status_id": "1", "created_at": "2026-01-01..2026-01-31"}])
    search: SafeStr = ""
    sort: SafeStr = ""


def _conversion(db: Session, user: CurrentUser, date_from: dt.date | None, date_to: dt.date | None, provider_id: int | None) -> list[dict[str, Any]]:
    if not user.has_perm("numbers.conversion.view"):
        raise PermissionDenied()
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed.one("from", "numbers.conversion.bad_range")
    return [{
        "project_id": r.project_id, "project": r.project, "total": r.total, "processed": r.processed, "success": r.success,
        "refusal": r.refusal, "no_answer": r.no_answer, "success_rate": round(r.rate(r.success), 4),
        "refusal_rate": round(r.rate(r.refusal), 4), "no_answer_rate": round(r.rate(r.no_answer), 4),
    } for r in services.conversion(db, user, date_from, date_to, provider_id)]


@router.get("/conversion", response_model=list[ConversionRowOut], summary="Conversion per project (Moscow days of the status change)", responses={**ERRORS, **INVALID})
def conversion(
    date_from: Day | None = Query(None, alias="from"), date_to: Day | None = Query(None, alias="to"),
    provider_id: Id | None = Query(None), db: Session = Depends(get_db), user: CurrentUser = Depends(current_user),
) -> list[dict[str, Any]]:
    return _conversion(db, user, date_from, date_to, provider_id)


@router.get("/conversion.csv", response_class=Response, summary="The same as CSV", responses={**ERRORS, **INVALID})
def conversion_csv(
    request: Request, date_from: str = Query("", alias="from"), date_to: str = Query("", alias="to"), provider_id: str = Query(""),
    db: Session = Depends(get_db), user: CurrentUser = Depends(current_user),
) -> Response:
    """For people: headers in the reader's language (``Accept-Language``), shares as they write
    them (``66,7 %``), project names neutralised against formula injection."""
    def day(s: str) -> dt.date | None:
        try:
            return check_date(dt.date.fromisoformat(s)) if s else None
        except ValueError:
            raise ValidationFailed.one("from", "error.date") from None

    rows = _conversion(db, user, day(date_from), day(date_to), id_param(provider_id, "provider_id"))
    lang = request_lang(request)
    out = io.StringIO()
    w = safe_cells.writer(out)
    w.writerow([t(key, lang) for key in ("numbers.project", "numbers.processed", "numbers.kind.success", "numbers.kind.refusal",
                                         "numbers.kind.no_answer", "numbers.success_rate", "numbers.refusal_rate", "numbers.no_answer_rate")])
    for r in rows:
        w.writerow([r["project"], r["processed"], r["success"], r["refusal"], r["no_answer"],
                    *(fmt_percent(r[k], lang) for k in ("success_rate", "refusal_rate", "no_answer_rate"))])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="conversion.csv"'})


@router.post("/import", status_code=202, response_model=JobOut, summary="Import numbers from a CSV/XLSX file (a job)", responses={**ERRORS, **INVALID})
async def import_numbers(
    request: Request,
    file: UploadFile = File(description="CSV (UTF-8 or Windows-1251) or XLSX with a phone column (phone/телефон/номер, else the first)"),
    project_id: Id | None = Form(None), provider_id: Id | None = Form(None), geo_id: Id | None = Form(None),
    user: CurrentUser = Depends(current_user),
) -> dict[str, Any]:
    """The panel's address of the kit's bulk import (``POST /api/numbers/numbers/import``, declared
    by ``Numbers.bulk_import``): same checks, same job; answers with the transfer's id."""
    params = {"project_id": project_id or "", "provider_id": provider_id or "", "geo_id": geo_id or ""}
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    out = await run_in_threadpool(bulk_import_endpoint, get_resource("numbers.numbers")(), user, request_lang(request), file.filename or "", data, params)
    return {"job_id": out["job_id"], "transfer_id": out["log_id"]}


@router.post("/export", status_code=202, response_model=JobOut, summary="Export the numbers matching filters as CSV (a job)", responses={**ERRORS, **INVALID})
def export_numbers(request: Request, body: ExportIn, db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
    numbers = get_resource("numbers.numbers")()
    if not numbers.can(user, "view"):
        raise PermissionDenied()
    visible_query(numbers, user, ListParams(**body.model_dump()))  # a filter the list would refuse is refused now (422)
    stamp = dt.datetime.now(TIMEZONE).strftime("%Y%m%d-%H%M%S")
    row = transfers.start_transfer(db, user, "export", "file", f"numbers-{stamp}.csv")
    run = jobs.enqueue(db, user, "numbers.export", {"transfer_id": row.id, "view": body.model_dump(), "lang": request_lang(request)})
    return {"job_id": run.id, "transfer_id": row.id}
