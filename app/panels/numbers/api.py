"""Numbers routes beyond the generated CRUD, mounted under ``/api/numbers``.

* (conversion per project is a declared report: ``/reports/conversion`` and ``.csv``, see
  :mod:`app.panels.numbers.reports`);
* ``POST /import`` — upload a CSV/XLSX of numbers for a project/provider/geo (202, a job);
* ``POST /export`` — export the numbers matching filters (202, a job; the file at
  ``/api/jobs/{job_id}/file``).

Every route checks the permission and applies the manager's scope like the pages do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
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
    visible_query,
)
from app.core.display import TIMEZONE
from app.core.errors import PermissionDenied
from app.core.inputs import Id, SafeStr
from app.panels.numbers import transfers

router = APIRouter(tags=["numbers"])


class JobOut(BaseModel):
    job_id: int
    transfer_id: int


class ExportIn(BaseModel):
    filters: dict[SafeStr, SafeStr] = Field(default_factory=dict, examples=[{"project_id": "3", "status_id": "1", "created_at": "2026-01-01..2026-01-31"}])
    search: SafeStr = ""
    sort: SafeStr = ""


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
