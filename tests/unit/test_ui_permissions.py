"""The permission matrix through the UI's own event handlers.

Every resource operation and action is called as each role through the same Reflex handlers the
browser triggers (list load, form save, confirm-and-run), with a real server-side session. What
the browser shows is never the check: a handler called directly must still refuse.
"""

from __future__ import annotations

import itertools

import pytest
import reflex as rx

from app.core import auth
from app.core.i18n import t
from app.core.registry import RESOURCES
from app.core.ui.base import AuthState
from app.core.ui.form import FormState
from app.core.ui.list_state import ListState
from tests.uistate import sign_in

FORBIDDEN = t("forbidden")
UPDATES = {
    "admin.schedules": {"cron": "0 4 * * *"}, "admin.rules": {"enabled": ""}, "admin.roles": {"label": "changed"},
    "stock.orders": {"customer_name": "X"}, "admin.users": {"full_name": "X"},
    "numbers.numbers": {"status_id": "2"}, "numbers.projects": {"description": "X"}, "numbers.providers": {"contact": "X"},
    "numbers.geo": {"city": "Тверь"}, "numbers.statuses": {"name": "X"}, "numbers.schedules": {"end_time": "19:00"},
    "numbers.sftp": {"port": "2222"},
    "equipment.products": {"vendor": "X"}, "equipment.warehouses": {"city": "Тверь"}, "equipment.bins": {"zone": "Z"},
    "equipment.stores": {"city": "Тверь"}, "equipment.documents": {"comment": "X"}, "equipment.document_lines": {"qty": "3"},
    "equipment.assets": {"note": "X"}, "equipment.stock": {"min_qty": "2"},
    "equipment.templates": {"description": "X"}, "equipment.template_lines": {"qty": "2"}, "equipment.requests": {"comment": "X"},
    "equipment.request_lines": {"qty": "2"},
}
_seq = itertools.count()


def _states(token: str):
    root = rx.State(_reflex_internal_init=True)
    auth_state = root.substates[AuthState.get_name()]
    form = auth_state.substates[FormState.get_name()]
    lst = auth_state.substates[ListState.get_name()]
    sign_in(form, token)  # one tree: the list state shares the router
    return form, lst


def _payload(res_key: str, ctx: dict) -> dict[str, str]:
    n = next(_seq)
    ctx["want"] = res_key
    w = ctx["numbers"]
    return {
        "stock.products": {"name": f"UI product {n}", "sell_price_rub": "100", "min_stock": "0"},
        "stock.supplies": {"product_id": str(ctx["product"].id), "qty": "1"},
        "stock.orders": {"phone": "+79991234567", "product_id": str(ctx["product"].id), "qty": "1"},
        "admin.users": {"username": f"ui_user_{n}", "password": "long-enough-1", "roles": "stock.user", "is_active": "1"},
        "admin.roles": {"name": f"ui_role_{n}", "label": "UI", "permissions": "stock.products.view"},
        "admin.rules": {"event": "stock.order_status", "role": "stock.user", "channel": "inapp", "enabled": "1"},
        "admin.schedules": {"name": f"ui_sched_{n}", "kind": "kit.export", "cron": "0 3 * * *", "enabled": "1", "args_json": '{"resource": "stock.products"}'},
        "numbers.numbers": {"phone": f"+7999{n:07d}", "provider_id": str(w["mine"]), "project_id": str(w["project"])},
        "numbers.projects": {"name": f"UI project {n}"},
        "numbers.providers": {"name": f"UI provider {n}", "group_name": "Север"},
        "numbers.geo": {"country": "RU", "region": f"Регион {n}"},
        "numbers.statuses": {"code": f"ui{n}", "name": f"UI {n}", "kind": "work", "color": "blue", "position": "5"},
        "numbers.schedules": {"project_id": str(w["project"]), "weekday": "1", "start_time": "09:00", "end_time": "18:00"},
        "numbers.sftp": {"name": f"ui_sftp_{n}", "host": "127.0.0.1", "port": "22", "username": "u", "remote_dir": "/", "direction": "import", "file_mask": "*.csv"},
        "numbers.scopes": {"user_id": str(w["manager_id"]), "group_name": f"G{n}"},
        **_equipment_payloads(ctx, n),
        **_eq_payloads(ctx, n),
    }[res_key]


def _equipment_payloads(ctx: dict, n: int) -> dict[str, dict[str, str]]:
    import json

    e = ctx.get("equipment") or {}
    return {
        "equipment.products": {"sku": f"UI{n}", "name": f"UI модель {n}", "kind": "SERIAL", "lead_time_days": "7", "min_qty": "0", "is_active": "1"},
        "equipment.warehouses": {"code": f"UIW{n}", "name": f"UI склад {n}", "is_active": "1"},
        "equipment.bins": {"warehouse_id": str(e.get("wh")), "code": f"UIB{n}"},
        "equipment.stores": {"code": f"UIS{n}", "name": f"UI магазин {n}", "is_active": "1"},
        "equipment.documents": {"kind": "RECEIPT", "warehouse_id": str(e.get("wh")), "lines": json.dumps([{"sku": "UI-C", "sn": "", "qty": "2"}])},
        "equipment.document_lines": {"document_id": str(e.get("draft")), "sku": "UI-C", "qty": "1"},
    }


def _equipment_world(db) -> dict:
    """A warehouse, a consumable (SKU UI-C) and a draft receipt for the equipment panel's resources."""
    from models.equipment import DocumentKind, EqProduct, ProductKind, StockDocument, Warehouse

    wh = Warehouse(code="UIW", name="UI склад")
    db.add_all([wh, EqProduct(sku="UI-C", name="UI кабель", kind=ProductKind.CONSUMABLE)])
    db.flush()
    draft = StockDocument(kind=DocumentKind.RECEIPT, warehouse_id=wh.id)
    db.add(draft)
    db.commit()
    return {"wh": wh.id, "draft": draft.id}


def _made_directly(res_key: str, db, ctx: dict) -> str:
    """A record of a resource nobody creates through a form (assets come by receipts, stock by documents)."""
    from models.equipment import Asset, EqProduct, StockItem

    n = next(_seq)
    p = EqProduct(sku=f"UID{n}", name=f"UI {n}")
    db.add(p)
    db.flush()
    row = Asset(sn=f"UI-SN-{n}", product_id=p.id) if res_key == "equipment.assets" else \
        StockItem(product_id=p.id, warehouse_id=ctx["equipment"]["wh"], qty_on_hand=3)
    db.add(row)
    db.commit()
    return str(row.id)


def _eq_world(db) -> dict:
    """The equipment process side's records the forms pick from: a product type, a warehouse, a
    store and a template with one line."""
    from models.equipment import Asset, EqProduct, ProductKind, RequestTemplate, RequestTemplateLine, StockItem, Store, Warehouse

    p, wh, st = EqProduct(sku="UI-1", name="UI роутер"), Warehouse(code="UIPW", name="UI склад процесса"), Store(code="UIPS", name="UI магазин")
    cable = EqProduct(sku="UI-2", name="UI кабель", kind=ProductKind.CONSUMABLE)
    tpl = RequestTemplate(name="UI шаблон", checklist=["Пункт"])
    db.add_all([p, cable, wh, st, tpl])
    db.flush()
    db.add_all([RequestTemplateLine(template_id=tpl.id, product_id=p.id, qty=1), RequestTemplateLine(template_id=tpl.id, product_id=cable.id, qty=5),
                Asset(sn="UI-SN-1", product_id=p.id, warehouse_id=wh.id), StockItem(product_id=cable.id, warehouse_id=wh.id, qty_on_hand=100)])
    db.commit()
    return {"db": db, "product": p.id, "cable": cable.id, "wh": wh.id, "store": st.id, "tpl": tpl.id}


def _eq_payloads(ctx: dict, n: int) -> dict:
    e = ctx.get("eq")
    if not e:
        return {}

    def request_id() -> str:
        from app.core.principal import SYSTEM
        from app.panels.equipment import process

        r = process.create_request(e["db"], SYSTEM, store_id=e["store"], warehouse_id=e["wh"], template_id=e["tpl"])
        e["db"].commit()
        return str(r.id)

    return {
        "equipment.templates": {"name": f"UI шаблон {n}", "kind": "REGULAR"},
        "equipment.template_lines": {"template_id": str(e["tpl"]), "product_id": str(e["product"]), "qty": "1"},
        "equipment.requests": {"template_id": str(e["tpl"]), "store_id": str(e["store"]), "warehouse_id": str(e["wh"])},
        **({"equipment.request_lines": {"request_id": request_id(), "product_id": str(e["product"]), "qty": "1"}}
           if ctx.get("want") == "equipment.request_lines" else {}),
    }


def _record_for(res_key: str, db, ctx: dict, users) -> str:
    """A fresh record to update/delete/act on, created as admin through the services."""
    from app.core import crud

    if "create" not in RESOURCES[res_key].operations:
        return _made_directly(res_key, db, ctx)
    record = crud.create_record(db, RESOURCES[res_key], users["admin"], _payload(res_key, ctx))
    if res_key in ("numbers.projects", "numbers.providers"):  # inside the manager's scope, so the check is the permission
        from models.numbers import ManagerScope, ProjectProvider

        link = ProjectProvider(project_id=record.id, provider_id=ctx["numbers"]["mine"]) if res_key == "numbers.projects" else ManagerScope(user_id=ctx["numbers"]["manager_id"], provider_id=record.id)
        db.add(link)
        db.commit()
    return str(crud.pk_of(record))


def _make_pending(db, user_id: str) -> None:
    from models.core import User

    u = db.get(User, int(user_id))
    u.pending, u.roles = True, []
    db.commit()


def _param_value(res_key: str, op: str, numbers_world: dict, name: str = "", ctx: dict | None = None) -> str:
    """What the confirmation dialog's input gets: a role to approve with, a number status, or an
    equipment request's SN / consumable / quantity / checklist line."""
    if res_key.startswith("equipment.") and ctx:
        return {"sn": "UI-SN-1", "product_id": str(ctx["eq"]["cable"]), "qty": "1", "number": "1", "code": "1"}[name]
    return "stock.user" if (res_key, op) == ("admin.users", "approve") else str(numbers_world["status"]["in_work"])


def _refused(out, state) -> bool:
    return FORBIDDEN in repr(out) or getattr(state, "form_error", "") == FORBIDDEN


@pytest.fixture()
def tokens(db, users):
    out = {}
    for role in ("admin", "manager", "user"):
        out[role] = auth.login(db, role, f"{role}-pass")
    return out


@pytest.mark.parametrize("role", ["admin", "manager", "user"])
def test_ui_handlers_enforce_permissions(role, db, users, tokens, stock_data, numbers_world):
    ctx = {"product": stock_data["cable"], "numbers": {**numbers_world, "manager_id": users["manager"].id},
           "equipment": _equipment_world(db), "eq": _eq_world(db)}
    user = users[role]
    checked = 0
    for res_key, res in RESOURCES.items():
        if not res.panel or res_key.startswith("test") or res_key == "admin.jobs":  # ownership-scoped: tests/api/test_jobs_scope.py
            continue
        form, lst = _states(tokens[role])
        # view: the list handler marks the page forbidden and loads no rows
        lst.load(res_key)
        assert lst.forbidden == (not user.has_perm(res.perm("view"))), (role, res_key, "view")
        checked += 1
        if "create" in res.operations:
            form.res_key, form.record_id, form.values = res_key, "", _payload(res_key, ctx)
            out = form.save()
            assert _refused(out, form) == (not user.has_perm(res.perm("create"))), (role, res_key, "create", form.form_error, form.errors)
            checked += 1
        if "update" in res.operations:
            rid = _record_for(res_key, db, ctx, users)
            form.res_key, form.record_id, form.form_error = res_key, rid, ""
            form.values = UPDATES.get(res_key, {"min_stock": "1"})
            out = form.save()
            assert _refused(out, form) == (not user.has_perm(res.perm("update"))), (role, res_key, "update", form.form_error)
            checked += 1
        for op in [*res.actions, "delete"]:
            if op == "delete" and "delete" not in res.operations:
                continue
            rid = _record_for(res_key, db, ctx, users) if "create" in res.operations else None
            if rid is None:
                continue
            if (res_key, op) == ("admin.users", "approve"):  # only accounts waiting for approval
                _make_pending(db, rid)
            lst.res_key, lst.pending, lst.pending_ids = res_key, op, [rid]
            lst.param_fields = [{"name": f.name} for f in res.actions[op].params] if op in res.actions else []
            lst.param_values = {f.name: _param_value(res_key, op, numbers_world, f.name, ctx) for f in res.actions[op].params} if op in res.actions else {}
            out = lst.run_pending()
            assert not lst.param_errors, (role, res_key, op, lst.param_errors)
            assert _refused(out, lst) == (not user.has_perm(res.perm(op))), (role, res_key, op, repr(out)[:300])
            checked += 1
    assert checked >= 15


def test_operator_cannot_deny_even_when_calling_the_handler(db, users, tokens, stock_data):
    """The seed's rule in one line: an operator issues orders but cannot cancel them."""
    from app.core import crud
    from models.stock import Order

    order = crud.create_record(db, RESOURCES["stock.orders"], users["user"], {"phone": "+79990001122", "product_id": str(stock_data["cable"].id), "qty": "1"})
    _form, lst = _states(tokens["user"])
    lst.res_key, lst.pending, lst.pending_ids = "stock.orders", "deny", [str(order.id)]
    assert _refused(lst.run_pending(), lst)
    db.expire_all()
    assert db.get(Order, order.id).status.value == "paid_not_issued"
    lst.pending, lst.pending_ids = "issue", [str(order.id)]
    assert not _refused(lst.run_pending(), lst)
    db.expire_all()
    assert db.get(Order, order.id).status.value == "paid_issued"


def test_expired_session_redirects_to_login(db, users, tokens):
    from app.core.auth import logout

    logout(db, tokens["admin"])
    _form, lst = _states(tokens["admin"])
    out = lst.load("stock.products")
    assert "/login" in repr(out)
    assert lst.rows == []
