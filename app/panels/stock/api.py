"""Stock routes beyond the generated CRUD (seed 001, section 7), mounted under ``/api/stock``.

* ``GET  /products/{id}/stock`` — the computed stock of a product;
* (sales, cost and profit are the analytics report's twin: ``/reports/analytics`` and
  ``/reports/analytics.csv``, alias ``/analytics/summary``, see :mod:`app.panels.stock.reports`);
* ``GET|PUT /analytics/rate`` — the EUR→RUB rate the cost is computed with;
* ``POST /orders/{id}/issue`` and ``/deny`` — the seed's spelling of the generated
  ``/orders/{id}/actions/issue|deny`` routes (same service, same permission, same audit).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.core import (
    ERRORS,
    INVALID,
    NOT_FOUND,
    CurrentUser,
    current_user,
    get_db,
    get_record,
    item_json,
    request_lang,
    run_action,
)
from app.core.errors import PermissionDenied
from app.core.i18n import t
from app.panels.stock import services
from app.panels.stock.resources import Orders, Products

router = APIRouter(tags=["stock"])


class StockOut(BaseModel):
    product_id: int
    quantity: int = Field(description="Everything ever supplied")
    issued_qty: int = Field(description="Everything handed out")
    stock: int = Field(description="quantity - issued_qty")
    min_stock: int
    is_low_stock: bool


class RateIn(BaseModel):
    rate: str | float | int = Field(examples=["98.50"], description="Roubles for one euro")


class RateOut(BaseModel):
    rate: str


@router.get("/products/{id}/stock", response_model=StockOut, summary="Current stock of a product", responses={**ERRORS, **NOT_FOUND})
def product_stock(id: str = Path(), db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
    product = get_record(db, Products, user, id)
    return {
        "product_id": product.id,
        "quantity": product.quantity,
        "issued_qty": product.issued_qty,
        "stock": services.current_stock(product),
        "min_stock": product.min_stock,
        "is_low_stock": services.current_stock(product) < product.min_stock,
    }


@router.get("/analytics/rate", response_model=RateOut, summary="The EUR→RUB rate used for cost", responses=ERRORS)
def get_rate(db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
    if not user.has_perm("stock.analytics.view"):
        raise PermissionDenied()
    return {"rate": str(services.eur_rub_rate(db))}


@router.put("/analytics/rate", response_model=RateOut, summary="Set the EUR→RUB rate", responses={**ERRORS, **INVALID})
def put_rate(body: RateIn, db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
    return {"rate": str(services.set_eur_rub_rate(db, user, str(body.rate)))}


def _order_action(name: str):
    def endpoint(request: Request, id: str = Path(), db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
        lang = request_lang(request)
        result = run_action(db, Orders, user, name, [id], lang)
        order = get_record(db, Orders, user, id)
        return {"detail": t(result, lang) if result else t("done", lang), "ids": [order.id], "item": item_json(order)}

    endpoint.__name__ = f"order_{name}"
    return endpoint


for _name, _summary in (("issue", "Issue an order (alias of /orders/{id}/actions/issue)"), ("deny", "Deny an order (alias of /orders/{id}/actions/deny)")):
    router.add_api_route(f"/orders/{{id}}/{_name}", _order_action(_name), methods=["POST"], summary=_summary, responses={**ERRORS, **NOT_FOUND, **INVALID})
