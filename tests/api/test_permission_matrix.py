"""The permission matrix: every resource × operation × role (and anonymous), through every front door.

The expected answer is computed from the roles the panels *declare* (``app/panels/stock/roles.py``
and ``app/panels/admin/resources.py``) with the wildcard rules of ``CurrentUser.has_perm`` re-implemented here,
and cross-checked against a hand-written table of the seed's key rules, so a change to a role, to
``has_perm`` or to ``Resource.can`` cannot make the matrix agree with itself by accident.

Each operation is tried through each *leg* — the REST API and the service layer the UI's event
handlers call — on a fresh record, and every leg must allow or refuse exactly as expected:
API: 401 anonymous, 403 refused, the operation's success status when allowed;
services: ``PermissionDenied`` when refused, no error when allowed.
To add a leg (e.g. the Reflex handlers), add a function to ``LEGS``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from app.core import audit, auth, crud, importer
from app.panels.admin import PANEL as ADMIN_PANEL
from app.core.auth import SYSTEM, CurrentUser
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.query import ListParams
from app.boot import boot
from app.core.registry import PANELS, RESOURCES, resource
from app.core.setup import sync_roles
from app.panels.stock import services
from app.panels.equipment.roles import ROLES as EQUIPMENT_ROLES
from app.panels.numbers.roles import ROLES as NUMBERS_ROLES
from app.panels.stock.roles import ROLES as STOCK_ROLES
from models.core import AuditLog, NotificationRule, Role, User
from models.jobs import Schedule
from models.numbers_sql import DEFAULT_STATUSES
from tests.conftest import make_numbers_world

boot()

ROLES = ("admin", "manager", "user", "storekeeper", "support", "chief")
ANON = None


# --------------------------------------------------------------------------- the expected truth
#: The matrix's users and the stored roles each holds (at most one per panel), as in the demo.
USER_ROLES = {"admin": ("admin",), "manager": ("stock.manager", "numbers.manager"), "user": ("stock.user",),
              "storekeeper": ("equipment.storekeeper",), "support": ("equipment.support",), "chief": ("equipment.chief",)}


def stored_roles() -> dict[str, set[str]]:
    """Stored role name → permissions, from the admin, stock, numbers and equipment panels' declarations:
    each panel's roles are its own, named ``<panel>.<name>`` (the kit's ``admin`` as it is)."""
    out: dict[str, set[str]] = {}
    for panel, roles in (("admin", ADMIN_PANEL.roles), ("stock", STOCK_ROLES), ("numbers", NUMBERS_ROLES), ("equipment", EQUIPMENT_ROLES)):
        for name, (_label, perms) in roles.items():
            stored = name if panel == "admin" else f"{panel}.{name}"
            assert stored not in out, f"two declarations of {stored}"
            out[stored] = set(perms)
    return out


STORED_PERMS = stored_roles()
#: A matrix user → the union of their roles' permissions.
ROLE_PERMS = {user: set().union(*(STORED_PERMS[r] for r in roles)) for user, roles in USER_ROLES.items()}


def granted(perms: set[str], perm: str) -> bool:
    """``*`` grants all; ``a.*`` grants everything below ``a``; otherwise the exact name."""
    return any(p == "*" or p == perm or (p.endswith(".*") and perm.startswith(p[:-1])) for p in perms)


def operations(res_cls) -> list[str]:
    """Every operation the resource offers, as the matrix names them."""
    ops: list[str] = []
    if "view" in res_cls.operations:
        ops += ["list", "get", "options"]
    ops += [op for op in ("create", "update", "delete") if op in res_cls.operations]
    if "create" in res_cls.operations:
        ops.append("import")  # a dry run of the import: needs what create needs
    if "delete" in res_cls.operations and res_cls.has_soft_delete():
        ops.append("restore")
    for name, spec in res_cls.actions.items():
        if spec.row:
            ops.append(f"action:{name}")
        if spec.bulk:
            ops.append(f"bulk:{name}")
    return ops


def permission_for(key: str, op: str) -> str:
    base = {"list": "view", "get": "view", "options": "view", "restore": "delete", "import": "create"}.get(op, op.split(":")[-1])
    return f"{key}.{base}"


def expected(role: str | None, key: str, op: str) -> bool:
    if role is None:
        return False
    perms = ROLE_PERMS[role]
    res_cls = RESOURCES[key]
    name = op.split(":")[-1]
    if op.startswith("action:") and name in res_cls.machine_actions:
        # a state machine's transition: the transition's own permission (and roles), on a record
        # one may see; a system transition is never an action at all
        tr = res_cls.machine_actions[name][1]
        if "*" in perms:
            return True
        return (granted(perms, f"{key}.view") and (tr.perm is None or granted(perms, tr.perm))
                and (not tr.roles or any(r in USER_ROLES[role] for r in tr.roles)))
    if key == "equipment.document_lines":  # a document's lines follow the document
        return granted(perms, "equipment.documents." + ("view" if permission_for(key, op).endswith(".view") else "update"))
    return granted(perms, permission_for(key, op))


#: The seed's key rules (sections 1 and 5), written out by hand: (role, resource, operation, allowed).
SEED_RULES: list[tuple[str, str, str, bool]] = [
    # user (operator): sees stock and all orders, creates orders, marks them issued; nothing else.
    ("user", "stock.products", "list", True),
    ("user", "stock.products", "get", True),
    ("user", "stock.products", "create", False),
    ("user", "stock.products", "import", False),
    ("user", "stock.orders", "import", True),
    ("manager", "stock.products", "import", True),
    ("manager", "admin.users", "import", False),
    ("user", "stock.products", "update", False),
    ("user", "stock.products", "delete", False),
    ("user", "stock.supplies", "create", False),
    ("user", "stock.orders", "list", True),
    ("user", "stock.orders", "create", True),
    ("user", "stock.orders", "action:issue", True),
    ("user", "stock.orders", "bulk:issue", True),
    ("user", "stock.orders", "action:deny", False),
    ("user", "stock.orders", "delete", False),
    ("user", "admin.users", "list", False),
    ("user", "admin.users", "create", False),
    ("user", "admin.roles", "list", False),
    ("user", "admin.audit", "list", False),
    ("user", "admin.rules", "list", False),
    ("manager", "admin.rules", "create", False),
    ("admin", "admin.rules", "update", True),
    # manager: products, supplies and orders; no user management.
    ("manager", "stock.products", "create", True),
    ("manager", "stock.products", "update", True),
    ("manager", "stock.products", "delete", True),
    ("manager", "stock.products", "restore", True),
    ("manager", "stock.supplies", "create", True),
    ("manager", "stock.supplies", "delete", True),
    ("manager", "stock.orders", "create", True),
    ("manager", "stock.orders", "update", True),
    ("manager", "stock.orders", "action:issue", True),
    ("manager", "stock.orders", "action:deny", True),
    ("manager", "admin.users", "list", False),
    ("manager", "admin.users", "create", False),
    ("manager", "admin.users", "update", False),
    ("manager", "admin.roles", "update", False),
    # admin: everything, users and the operation log included.
    ("admin", "admin.users", "create", True),
    ("admin", "admin.users", "delete", True),
    ("admin", "admin.roles", "create", True),
    ("admin", "admin.audit", "list", True),
    ("admin", "stock.products", "create", True),
    ("admin", "stock.orders", "action:deny", True),
    # equipment (seed 000, section 2): warehouse operations are the storekeeper's and the chief's;
    # support sees availability; the asset axes move by role.
    ("storekeeper", "equipment.documents", "create", True),
    ("storekeeper", "equipment.documents", "action:post", True),
    ("storekeeper", "equipment.documents", "action:reverse", True),
    ("chief", "equipment.documents", "action:post", True),
    ("support", "equipment.documents", "list", False),
    ("support", "equipment.documents", "create", False),
    ("support", "equipment.documents", "action:post", False),
    ("support", "equipment.assets", "list", True),
    ("support", "equipment.stock", "list", True),
    ("support", "equipment.moves", "list", False),
    ("storekeeper", "equipment.moves", "list", True),
    ("support", "equipment.stock", "update", False),
    ("support", "equipment.products", "update", False),
    ("storekeeper", "equipment.products", "create", True),
    ("storekeeper", "equipment.stores", "create", False),
    ("chief", "equipment.stores", "create", True),
    ("storekeeper", "equipment.assets", "action:needs_repair", True),
    ("support", "equipment.assets", "action:needs_repair", False),
    ("support", "equipment.assets", "action:install", True),
    ("storekeeper", "equipment.assets", "action:install", False),
    ("storekeeper", "equipment.assets", "action:mark_lost", False),
    ("chief", "equipment.assets", "action:mark_lost", True),
    ("manager", "equipment.assets", "list", False),
    ("storekeeper", "stock.products", "list", False),
]
SEED = {(role, key, op): allowed for role, key, op, allowed in SEED_RULES}

#: Panel routes outside the generated CRUD: (method, path template, JSON body, permission).
STOCK_ROUTES: list[tuple[str, str, dict | None, str]] = [
    ("GET", "/api/stock/products/{product}/stock", None, "stock.products.view"),
    ("GET", "/api/stock/analytics/summary", None, "stock.analytics.view"),
    ("GET", "/api/stock/reports/analytics.csv", None, "stock.analytics.view"),
    ("GET", "/api/stock/analytics/rate", None, "stock.analytics.view"),
    ("PUT", "/api/stock/analytics/rate", {"rate": "99.5"}, "stock.analytics.rate"),
    ("POST", "/api/stock/orders/{order}/issue", None, "stock.orders.issue"),
    ("POST", "/api/stock/orders/{order}/deny", None, "stock.orders.deny"),
]
#: The seed's rules for those routes, by hand: (role, method, path) → allowed.
SEED_ROUTES: dict[tuple[str, str, str], bool] = {
    ("user", "GET", "/api/stock/products/{product}/stock"): True,
    ("user", "GET", "/api/stock/analytics/summary"): False,
    ("user", "GET", "/api/stock/reports/analytics.csv"): False,
    ("user", "PUT", "/api/stock/analytics/rate"): False,
    ("user", "POST", "/api/stock/orders/{order}/issue"): True,
    ("user", "POST", "/api/stock/orders/{order}/deny"): False,
    ("manager", "GET", "/api/stock/analytics/summary"): True,
    ("manager", "GET", "/api/stock/reports/analytics.csv"): True,
    ("manager", "PUT", "/api/stock/analytics/rate"): True,
    ("manager", "POST", "/api/stock/orders/{order}/deny"): True,
    ("admin", "GET", "/api/stock/analytics/summary"): True,
    ("admin", "PUT", "/api/stock/analytics/rate"): True,
}


# --------------------------------------------------------------------------- fresh records per call
class Records:
    """Creates, as the system user, a fresh record for each call, so no call sees another's effects."""

    #: One sequence for the module: the tests share a database, so names must never repeat.
    n = itertools.count(1)

    def __init__(self, db, world: dict | None = None) -> None:
        self.db = db
        self.world = world or {}

    def _add(self, row: Any) -> Any:
        self.db.add(row)
        self.db.commit()
        return row

    def number(self) -> Any:
        """A number of the manager's own provider (in scope: the check left is the permission)."""
        return crud.create_record(self.db, resource("numbers.numbers"), SYSTEM, {
            "phone": f"+7999{next(self.n):07d}", "provider_id": self.world["mine"], "project_id": self.world["project"]})

    def numbers_target(self, key: str, op: str, n: int) -> Any:
        from models.base import utcnow
        from models.numbers import CallEvent, Geo, ManagerScope, NumberStatus, NumberTransfer, Project, ProjectProvider, ProjectSchedule, Provider, SftpHost

        w = self.world
        if key == "numbers.numbers":
            return self.number().id
        if key in ("numbers.projects", "numbers.deleted_projects"):
            deleted = op == "restore" or key == "numbers.deleted_projects"
            p = self._add(Project(name=f"Проект {n}", deleted_at=utcnow() if deleted else None))
            self._add(ProjectProvider(project_id=p.id, provider_id=w["mine"]))
            return p.id
        if key == "numbers.providers":
            p = self._add(Provider(name=f"Поставщик {n}"))
            self._add(ManagerScope(user_id=w["manager_id"], provider_id=p.id))
            return p.id
        if key == "numbers.geo":
            return self._add(Geo(country="RU", region=f"Регион {n}", name=f"RU · Регион {n}")).id
        if key == "numbers.statuses":
            return self._add(NumberStatus(code=f"st{n}", name=f"Статус {n}")).id
        if key == "numbers.schedules":
            import datetime as dt

            return self._add(ProjectSchedule(project_id=w["project"], weekday=2, start_time=dt.time(9), end_time=dt.time(18))).id
        if key == "numbers.calls":
            return self._add(CallEvent(number_id=self.number().id, call_id=f"c{n}", event="incoming")).id
        if key == "numbers.transfers":
            return self._add(NumberTransfer(direction="import", user_id=w["manager_id"])).id
        if key == "numbers.sftp":
            return self._add(SftpHost(name=f"sftp{n}", host="127.0.0.1", username="u")).id
        if key == "numbers.scopes":
            return self._add(ManagerScope(user_id=w["manager_id"], group_name=f"G{n}")).id
        raise AssertionError(key)

    def params(self, key: str, action: str) -> dict[str, Any]:
        """Inputs of actions that declare ``params``."""
        if (key, action) == ("numbers.numbers", "set_status"):
            return {"status_id": self.world["status"]["in_work"]}
        if (key, action) == ("admin.users", "approve"):
            return {"role": "stock.user"}
        if key in EQ_PROCESS_KEYS:
            return eq_process_params(self, key, action)
        return {}

    def product(self, trashed: bool = False) -> Any:
        p = crud.create_record(
            self.db, resource("stock.products"), SYSTEM,
            {"name": f"Товар {next(self.n)}", "sell_price_rub": "100", "buy_price_eur": "1", "initial_qty": 50},
        )
        if trashed:
            crud.delete_record(self.db, resource("stock.products"), SYSTEM, p.id)
        return p

    def equipment_target(self, key: str, op: str, n: int) -> Any:
        """A fresh equipment record: an asset in a state the transition ``op`` starts from, a draft
        document (a posted one for ``reverse``), a line of a draft."""
        from models.equipment import Asset, DocumentKind, DocumentStatus, EqProduct, ProductKind, StockDocument, StockDocumentLine, StockItem, Store, Warehouse, WarehouseBin

        w = self.world
        if "eq_wh" not in w:
            wh = self._add(Warehouse(code="MX", name="Матрица"))
            w["eq_wh"] = wh.id
            w["eq_serial"] = self._add(EqProduct(sku="MX-R", name="Роутер М", kind=ProductKind.SERIAL)).id
            w["eq_cable"] = self._add(EqProduct(sku="MX-C", name="Кабель М", kind=ProductKind.CONSUMABLE)).id
        if key == "equipment.products":
            return self._add(EqProduct(sku=f"P{n}", name=f"Модель {n}")).id
        if key == "equipment.warehouses":
            return self._add(Warehouse(code=f"W{n}", name=f"Склад {n}")).id
        if key == "equipment.bins":
            return self._add(WarehouseBin(warehouse_id=w["eq_wh"], code=f"B{n}")).id
        if key == "equipment.stores":
            return self._add(Store(code=f"S{n}", name=f"Магазин {n}")).id
        if key == "equipment.stock":
            return self._add(StockItem(product_id=w["eq_cable"], warehouse_id=w["eq_wh"], bin_id=self._add(WarehouseBin(warehouse_id=w["eq_wh"], code=f"SB{n}")).id, qty_on_hand=5)).id
        if key == "equipment.assets":
            asset = Asset(sn=f"MX-{n}", product_id=w["eq_serial"], warehouse_id=w["eq_wh"])
            name = op.split(":")[-1]
            res_cls = RESOURCES[key]
            if name in res_cls.machine_actions:
                machine, tr = res_cls.machine_actions[name]
                sources = tr.source if isinstance(tr.source, (list, tuple)) else [tr.source]
                setattr(asset, machine.field, sources[0])
            return self._add(asset).id
        if key in ("equipment.asset_events", "equipment.moves"):
            from models.equipment import AssetEvent, MoveKind, StockMove

            a = self._add(Asset(sn=f"MXE-{n}", product_id=w["eq_serial"], warehouse_id=w["eq_wh"]))
            if key == "equipment.asset_events":
                return self._add(AssetEvent(asset_id=a.id, axis="process", from_value="FREE", to_value="RESERVED")).id
            return self._add(StockMove(product_id=w["eq_serial"], warehouse_id=w["eq_wh"], kind=MoveKind.RECEIPT, qty=1, asset_id=a.id)).id
        if key in ("equipment.documents", "equipment.document_lines"):
            posted = op == "action:reverse"
            doc = self._add(StockDocument(kind=DocumentKind.RECEIPT, warehouse_id=w["eq_wh"]))
            line = self._add(StockDocumentLine(document_id=doc.id, product_id=w["eq_cable"], qty=1))
            if posted:
                from app.panels.equipment import warehouse

                warehouse.post(self.db, SYSTEM, doc)
                self.db.commit()
                assert doc.status is DocumentStatus.POSTED
            return doc.id if key == "equipment.documents" else line.id
        raise AssertionError(key)

    def target(self, key: str, op: str) -> Any:
        """The primary key of a fresh record ``op`` can act on (a trashed one for ``restore``)."""
        db, n = self.db, next(self.n)
        if key.startswith("numbers."):
            return self.numbers_target(key, op, n)
        if key.startswith("equipment.") and key not in EQ_PROCESS_KEYS:
            return self.equipment_target(key, op, n)
        if key == "stock.products":
            return self.product(trashed=op == "restore").id
        if key == "stock.supplies":
            return crud.create_record(db, resource(key), SYSTEM, {"product_id": self.product().id, "qty": 3}).id
        if key == "stock.orders":
            return crud.create_record(db, resource(key), SYSTEM, {"phone": "+79161234567", "product_id": self.product().id, "qty": 1}).id
        if key == "admin.users":
            u = User(username=f"target{n}", hashed_password="-", roles=["stock.user"])
            if op.endswith(":approve"):  # only a self-registered account waiting for approval
                u.roles, u.pending = [], True
            if op.endswith(":reset_mfa"):  # only an account with TOTP on
                from models.base import utcnow

                u.totp_secret, u.totp_enabled_at = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", utcnow()
            if op == "restore":
                from models.base import utcnow

                u.deleted_at = utcnow()
            db.add(u)
            db.commit()
            return u.id
        if key == "admin.roles":
            db.add(Role(name=f"role{n}", label="Тест", permissions=[]))
            db.commit()
            return f"role{n}"
        if key == "admin.audit":
            # a row about a record the role sees: readable by whoever reads the log and sees it (audit_scope):
            # stock for the stock and admin roles, equipment for the equipment roles
            about = "equipment.products" if getattr(self, "role", None) in ("storekeeper", "support", "chief") else "stock.products"
            row = audit.record(db, SYSTEM, "test", about, n, {})
            db.commit()
            return row.id
        if key == "admin.schedules":
            row = Schedule(name=f"sched{n}", kind="kit.export", cron="0 3 * * *", args={"resource": "stock.products"})
            db.add(row)
            db.commit()
            return row.id
        if key == "admin.rules":
            rule = NotificationRule(event="stock.low_stock", role="stock.user", channel="inapp")
            db.add(rule)
            db.commit()
            return rule.id
        if key in EQ_PROCESS_KEYS:  # the equipment panel's process side: its block at the end of this file
            return eq_process_target(self, key, op)
        raise AssertionError(f"tests/api/test_permission_matrix.py: add a fresh-record recipe for the new resource {key!r}")

    def payload(self, key: str, op: str) -> dict[str, Any]:
        """A valid body for ``create`` / ``update``."""
        n = next(self.n)
        creating = op == "create"
        if key == "stock.products":
            return {"name": f"Новый товар {n}", "sell_price_rub": "10", "initial_qty": 1} if creating else {"min_stock": 1}
        if key == "stock.supplies":
            return {"product_id": self.product().id, "qty": 2}
        if key == "stock.orders":
            return {"phone": "+79161234567", "product_id": self.product().id, "qty": 1} if creating else {"customer_name": "Пётр"}
        if key == "admin.users":
            return {"username": f"new{n}", "password": "a-long-password", "roles": ["stock.user"]} if creating else {"full_name": "Новое имя"}
        if key == "admin.roles":
            return {"name": f"clerk{n}", "label": "Clerk", "permissions": ["stock.orders.view"]} if creating else {"label": "Новая подпись"}
        if key == "admin.rules":
            return {"event": "stock.order_status", "role": "stock.user", "channel": "inapp"} if creating else {"enabled": False}
        if key == "admin.schedules":
            return {"name": f"s{n}", "kind": "kit.export", "cron": "0 3 * * *", "args_json": '{"resource": "stock.products"}'} if creating else {"cron": "0 4 * * *"}
        w = self.world
        numbers = {
            "numbers.numbers": ({"phone": f"+7999{n:07d}", "provider_id": w.get("mine"), "project_id": w.get("project")}, {"status_id": w.get("status", {}).get("in_work")}),
            "numbers.projects": ({"name": f"Проект п{n}"}, {"description": "Новое описание"}),
            "numbers.providers": ({"name": f"Поставщик п{n}", "group_name": "Север"}, {"contact": "+7 495 000-00-00"}),
            "numbers.geo": ({"country": "RU", "region": f"Регион п{n}"}, {"city": "Тверь"}),
            "numbers.statuses": ({"code": f"p{n}", "name": f"Статус п{n}", "kind": "work"}, {"name": "Другое имя"}),
            "numbers.schedules": ({"project_id": w.get("project"), "weekday": "1", "start_time": "09:00", "end_time": "18:00"}, {"end_time": "19:00"}),
            "numbers.sftp": ({"name": f"sftp п{n}", "host": "127.0.0.1", "port": 22, "username": "u", "remote_dir": "/", "direction": "import", "file_mask": "*.csv"}, {"port": 2222}),
            "numbers.scopes": ({"user_id": w.get("manager_id"), "group_name": f"Гр{n}"}, {}),
        }
        if key in numbers:
            return numbers[key][0 if creating else 1]
        if key in EQ_PROCESS_KEYS:
            return eq_process_payload(self, key, creating)
        if key.startswith("equipment."):
            self.equipment_target("equipment.products", "", n)  # the matrix's warehouse and products exist
            equipment = {
                "equipment.products": ({"sku": f"NP{n}", "name": f"Модель н{n}", "kind": "SERIAL", "lead_time_days": 7, "min_qty": 0}, {"vendor": "Вендор"}),
                "equipment.warehouses": ({"code": f"NW{n}", "name": f"Склад н{n}"}, {"city": "Тверь"}),
                "equipment.bins": ({"warehouse_id": w.get("eq_wh"), "code": f"NB{n}"}, {"zone": "Z"}),
                "equipment.stores": ({"code": f"NS{n}", "name": f"Магазин н{n}"}, {"city": "Тверь"}),
                "equipment.assets": (None, {"note": "Заметка"}),
                "equipment.stock": (None, {"min_qty": 3}),
                "equipment.documents": ({"kind": "RECEIPT", "warehouse_id": w.get("eq_wh"), "lines": [{"sku": "MX-C", "qty": 2}]},
                                        {"comment": "Черновик"}),
                "equipment.document_lines": ({"document_id": self.equipment_target("equipment.documents", "", n), "product_id": w.get("eq_cable"), "qty": 1},
                                             {"qty": 3}),
            }
            return equipment[key][0 if creating else 1]
        raise AssertionError(f"tests/api/test_permission_matrix.py: add a {op} payload for the new resource {key!r}")


def _needs_target(op: str) -> bool:
    return op not in ("list", "create")  # options: a fresh record makes sure there is something to offer


def _needs_payload(op: str) -> bool:
    return op in ("create", "update", "import")


def _csv(payload: dict) -> bytes:
    return (",".join(payload) + "\n" + ",".join(str(v) for v in payload.values()) + "\n").encode()


# --------------------------------------------------------------------------- legs
ALLOWED_STATUS = {"list": 200, "get": 200, "options": 200, "create": 201, "update": 200, "delete": 204, "restore": 200}


def api_leg(ctx: dict, key: str, op: str, target: Any, payload: dict | None) -> str:
    """Call the REST API; answer "allowed", "denied" or "anonymous" (or a description of anything else)."""
    client, headers = ctx["client"], ctx["headers"]
    base = "/api/" + key.replace(".", "/")
    calls: list[tuple[str, str, Any]]
    if op == "list":
        calls = [("GET", base, None)]
    elif op == "options":
        calls = [("GET", f"{base}/options", None)]
    elif op == "get":
        calls = [("GET", f"{base}/{target}", None)]
    elif op == "create":
        calls = [("POST", base, payload)]
    elif op == "update":
        calls = [("PATCH", f"{base}/{target}", payload), ("PUT", f"{base}/{target}", payload)]
    elif op == "delete":
        calls = [("DELETE", f"{base}/{target}", None)]
    elif op == "restore":
        calls = [("POST", f"{base}/{target}/restore", None)]
    elif op.startswith("action:"):
        calls = [("POST", f"{base}/{target}/actions/{op.split(':')[1]}", {"params": ctx["params"](key, op.split(":")[1])})]
    elif op.startswith("bulk:"):
        calls = [("POST", f"{base}/actions/{op.split(':')[1]}", {"ids": [target], "params": ctx["params"](key, op.split(":")[1])})]
    elif op == "import":
        calls = [("POST", f"{base}/import", payload)]
    else:
        raise AssertionError(op)
    success = ALLOWED_STATUS.get(op, 200)
    if op.startswith("bulk:") and RESOURCES[key].actions[op.split(":")[1]].job:
        success = 202  # queued for a worker
    bulk_import = op == "import" and getattr(RESOURCES[key], "bulk_import", None) is not None
    if bulk_import:
        success = 202  # a declared bulk import queues its job (no dry run)
    outcomes = set()
    for method, url, body in calls:
        if op == "import":  # multipart: the payload as a one-row CSV, previewed only
            r = client.post(url, headers=headers, files={"file": ("rows.csv", _csv(body), "text/csv")}, data={"dry_run": "true"})
        else:
            r = client.request(method, url, headers=headers, json=body)
        if r.status_code == 401:
            outcomes.add("anonymous")
        elif r.status_code == 403:
            outcomes.add("denied")
        elif r.status_code == success or (r.status_code == 422 and ((key, op) in EXTERNAL or bulk_import)):
            # a bulk import past its permission check may still refuse the row's targets (422)
            outcomes.add("allowed")
        else:
            outcomes.add(f"{method} {url} → {r.status_code} {r.text[:200]}")
    assert len(outcomes) == 1, outcomes
    return outcomes.pop()


def service_leg(ctx: dict, key: str, op: str, target: Any, payload: dict | None) -> str:
    """Call the services the UI's event handlers call, as the role's ``CurrentUser``."""
    db, user = ctx["db"], ctx["user"]
    if user is None:
        return "anonymous"  # the services always get a user; signing in is the front door's job
    res = resource(key)
    try:
        if op == "list":
            crud.list_records(db, res, user, ListParams())
        elif op == "options":
            # Pickers never raise: they offer nothing to a user who may not see the records.
            return "allowed" if crud.search_options(db, res, user, "") else "denied"
        elif op == "get":
            crud.get_record(db, res, user, target)
        elif op == "create":
            crud.create_record(db, res, user, payload)
        elif op == "update":
            crud.update_record(db, res, user, target, payload)
        elif op == "delete":
            crud.delete_record(db, res, user, target)
        elif op == "restore":
            crud.restore_record(db, res, user, target)
        elif op == "import" and getattr(res, "bulk_import", None) is not None:
            from app.core import bulk_import

            bulk_import.require(res(), user)
        elif op == "import":
            importer.require_import(res(), user, "")
        else:
            crud.run_action(db, res, user, op.split(":")[1], [target], params=ctx["params"](key, op.split(":")[1]))
    except PermissionDenied:
        return "denied"
    except ValidationFailed:
        if (key, op) not in EXTERNAL:
            raise
    finally:
        db.rollback()
    return "allowed"


#: Actions that reach an outside system: in the matrix they meet none (a dummy host), so after the
#: permission check they fail with a message (422 / ValidationFailed) — which still means "allowed".
EXTERNAL = {("numbers.sftp", "action:test_connection")}

#: name → function(ctx, resource key, operation, target pk, payload) -> "allowed" | "denied" | "anonymous"
LEGS: dict[str, Callable[..., str]] = {"api": api_leg, "service": service_leg}


def want(role: str | None, allowed: bool) -> str:
    return "anonymous" if role is None else ("allowed" if allowed else "denied")


# --------------------------------------------------------------------------- environment
@pytest.fixture(scope="module")
def env(engine, redis_conn, api_app) -> Iterator[SimpleNamespace]:
    """One clean database with the built-in roles, a user per role and their API sessions, for the module.

    Every call in the matrix acts on records made for it alone, so the tests need no clean database
    each; sharing one saves a truncate and a (deliberately slow) password check per test.
    """
    with engine.begin() as conn:
        names = [r[0] for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) if r[0] != "alembic_version"]
        conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
    redis_conn.flushdb()
    with Session(engine, expire_on_commit=False) as db:
        sync_roles(db)
        db.exec(text(DEFAULT_STATUSES))
        rows = {role: User(username=role, hashed_password=auth.hash_password(f"{role}-pass"), roles=list(USER_ROLES[role])) for role in ROLES}
        db.add_all(rows.values())
        db.commit()
        users = {role: auth.current_user_for(db, u) for role, u in rows.items()}
        with TestClient(api_app) as client:
            headers: dict[str | None, dict[str, str]] = {None: {}}
            for role in ROLES:
                r = client.post("/api/auth/login", json={"username": role, "password": f"{role}-pass"})
                assert r.status_code == 200, r.text
                headers[role] = {"Authorization": f"Bearer {r.json()['token']}"}
            client.cookies.clear()
            world = {**make_numbers_world(db, users["manager"].id), "manager_id": users["manager"].id}
            yield SimpleNamespace(db=db, client=client, users=users, headers=headers, world=world)


# --------------------------------------------------------------------------- tests
def test_declared_roles_are_what_the_database_holds(env):
    """The matrix reads the declarations; the app reads the ``role`` table. They must agree."""
    in_db = {r.name: set(r.permissions) for r in env.db.exec(select(Role))}
    assert in_db == STORED_PERMS
    for role, user in env.users.items():
        assert set(user.permissions) == ROLE_PERMS[role]
    # Every panel's roles are covered by the declarations the matrix reads, each under its own name.
    for panel in PANELS.values():
        for name, (_label, perms) in panel.roles.items():
            stored = name if panel.name == "admin" else f"{panel.name}.{name}"
            assert set(perms) == STORED_PERMS[stored], (panel.name, name)
    # a panel's role carries only its own panel's permissions (and the kit's audit log to read)
    for stored, perms in STORED_PERMS.items():
        if stored != "admin":
            panel = stored.split(".")[0]
            assert all(p.startswith(f"{panel}.") or p == "admin.audit.view" for p in perms), stored


def test_seed_rules_agree_with_the_declared_roles():
    """The hand-written rules and the computed ones agree, and every rule names a real operation."""
    for (role, key, op), allowed in SEED.items():
        assert op in operations(RESOURCES[key]), f"seed rule names an operation {key} does not offer: {op}"
        assert expected(role, key, op) == allowed, f"{role} {key} {op}: roles say {not allowed}, the seed says {allowed}"
    routes = {(method, path): perm for method, path, _body, perm in STOCK_ROUTES}
    for (role, method, path), allowed in SEED_ROUTES.items():
        assert granted(ROLE_PERMS[role], routes[(method, path)]) == allowed, (role, method, path)
    # Guard the wildcard rules themselves against a trivially permissive or strict rewrite.
    assert granted({"stock.*"}, "stock.orders.deny") and not granted({"stock.*"}, "admin.users.view")
    assert granted({"*"}, "admin.users.delete") and not granted({"stock.orders.view"}, "stock.orders.viewer")
    assert not granted(set(), "stock.products.view")


def test_every_resource_and_operation_is_covered():
    """The matrix below is parametrized from the registry; make sure it is not empty or partial."""
    assert {"stock.products", "stock.supplies", "stock.orders", "admin.users", "admin.roles", "admin.audit"} <= set(RESOURCES)
    assert "action:issue" in operations(RESOURCES["stock.orders"]) and "bulk:deny" in operations(RESOURCES["stock.orders"])
    assert "restore" in operations(RESOURCES["stock.products"]) and "restore" not in operations(RESOURCES["stock.orders"])
    assert operations(RESOURCES["admin.audit"]) == ["list", "get", "options"]
    assert "import" in operations(RESOURCES["stock.products"]) and "import" not in operations(RESOURCES["admin.audit"])


#: Resources whose rule is ownership, not one permission per operation; each has its own test
#: (admin.jobs: tests/api/test_jobs_scope.py).
OWNERSHIP_SCOPED = {"admin.jobs"}


@pytest.mark.parametrize("role", [*ROLES, ANON], ids=[*ROLES, "anonymous"])
@pytest.mark.parametrize("key", sorted(set(RESOURCES) - OWNERSHIP_SCOPED))
def test_matrix(key, role, env):
    records = Records(env.db, env.world)
    records.role = role
    ctx = {"client": env.client, "headers": env.headers[role], "db": env.db, "user": env.users.get(role), "params": records.params}
    wrong = []
    for op in operations(RESOURCES[key]):
        allowed = expected(role, key, op)
        if role is not None and (role, key, op) in SEED:
            assert SEED[(role, key, op)] == allowed, f"{role} {key} {op}: declared roles disagree with the seed"
        for leg_name, leg in LEGS.items():
            target = records.target(key, op) if _needs_target(op) else None
            payload = records.payload(key, "create" if op == "import" else op) if _needs_payload(op) else None
            got = leg(ctx, key, op, target, payload)
            if got != want(role, allowed):
                wrong.append(f"{leg_name}: {role or 'anonymous'} {op} {key}: expected {want(role, allowed)}, got {got}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", [*ROLES, ANON], ids=[*ROLES, "anonymous"])
def test_stock_routes(role, env):
    client, db = env.client, env.db
    records = Records(db)
    headers = env.headers[role]
    user: CurrentUser | None = env.users.get(role)
    wrong = []
    for method, path, body, perm in STOCK_ROUTES:
        allowed = role is not None and granted(ROLE_PERMS[role], perm)
        if (role, method, path) in SEED_ROUTES:
            assert SEED_ROUTES[(role, method, path)] == allowed, (role, method, path)
        product = records.product()
        order = crud.create_record(db, resource("stock.orders"), SYSTEM, {"phone": "+79161234567", "product_id": product.id, "qty": 1})
        url = path.format(product=product.id, order=order.id)
        r = client.request(method, url, headers=headers, json=body)
        got = {401: "anonymous", 403: "denied", 200: "allowed"}.get(r.status_code, f"{r.status_code} {r.text[:200]}")
        if got != want(role, allowed):
            wrong.append(f"api: {role or 'anonymous'} {method} {path}: expected {want(role, allowed)}, got {got}")
        if user is None:
            continue
        # The same rule through the services.
        order2 = crud.create_record(db, resource("stock.orders"), SYSTEM, {"phone": "+79161234567", "product_id": product.id, "qty": 1})
        try:
            if path.endswith("/stock"):
                crud.get_record(db, resource("stock.products"), user, product.id)
            elif "/orders/" in path:
                crud.run_action(db, resource("stock.orders"), user, path.rsplit("/", 1)[1], [order2.id])
            elif method == "PUT":
                services.set_eur_rub_rate(db, user, "98")
            else:  # summary, export and reading the rate all stand behind the analytics service's check
                services.analytics(db, user)
            got = "allowed"
        except PermissionDenied:
            got = "denied"
        finally:
            db.rollback()
        if got != want(role, allowed):
            wrong.append(f"service: {role} {method} {path}: expected {want(role, allowed)}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_audit_log_is_admin_and_manager_only(env):
    """The seed: the operation log is for the admin (and, in this kit, the manager, read-only, and
    only the rows about what the manager may see: a role's row is not one of them)."""
    client, h = env.client, env.headers
    row = audit.record(env.db, SYSTEM, "update", "stock.products", 1, {"min_stock": [0, 1]})
    about_a_role = env.db.exec(select(AuditLog).where(AuditLog.entity_type == "admin.roles")).first()
    env.db.commit()
    assert client.get(f"/api/admin/audit/{row.id}", headers=h["user"]).status_code == 403
    assert client.get(f"/api/admin/audit/{row.id}", headers=h["manager"]).status_code == 200
    assert client.get(f"/api/admin/audit/{about_a_role.id}", headers=h["manager"]).status_code == 404
    assert client.get(f"/api/admin/audit/{about_a_role.id}", headers=h["admin"]).status_code == 200
    assert client.get("/api/admin/audit", headers=h["admin"]).status_code == 200
    # The log is read-only for everybody: no write routes exist at all.
    assert client.post("/api/admin/audit", headers=h["admin"], json={}).status_code == 405
    assert client.delete(f"/api/admin/audit/{row.id}", headers=h["admin"]).status_code == 405


# =========================================================================== equipment: the process side
# (templates, requests, reservations, shipments, deliveries: app/panels/equipment/requests.py and
# process.py). Recipes for the fresh records the matrix above needs, and a matrix of the panel's own
# roles (storekeeper, support, chief) over these resources, with the seed's key rules by hand.
from app.core.principal import SYSTEM as EQ_SYSTEM  # noqa: E402
from app.panels.equipment import process as eq_process  # noqa: E402

EQ_PROCESS_RESOURCES = ["equipment.templates", "equipment.template_lines", "equipment.requests", "equipment.request_lines",
                        "equipment.reservations", "equipment.shipments", "equipment.shipment_items", "equipment.deliveries"]
EQ_PROCESS_KEYS = set(EQ_PROCESS_RESOURCES)


def _eq_world(rec: Records) -> dict[str, Any]:
    """A warehouse with 3 routers and 10 cables, a store and a template (1 router, 1 cable), fresh per call."""
    from models.equipment import Asset, EqProduct, ProductKind, RequestKind, RequestTemplate, RequestTemplateLine, StockItem, Store, Warehouse

    n, db = next(rec.n), rec.db
    router = EqProduct(sku=f"MR{n}", name=f"Роутер {n}", kind=ProductKind.SERIAL)
    cable = EqProduct(sku=f"MC{n}", name=f"Кабель {n}", kind=ProductKind.CONSUMABLE)
    wh = Warehouse(code=f"MW{n}", name=f"Склад {n}", lat=55.80, lon=37.59)  # coordinates: a courier can be ordered
    store = Store(code=f"MS{n}", name=f"Магазин {n}", lat=55.76, lon=37.61)
    db.add_all([router, cable, wh, store])
    db.flush()
    assets = [Asset(sn=f"M{n}-{i}", product_id=router.id, warehouse_id=wh.id) for i in range(3)]
    stock = StockItem(product_id=cable.id, warehouse_id=wh.id, qty_on_hand=10)
    tpl = RequestTemplate(name=f"Шаблон м{n}", kind=RequestKind.NEW_STORE, checklist=["Пункт"])
    db.add_all([*assets, stock, tpl])
    db.flush()
    line = RequestTemplateLine(template_id=tpl.id, product_id=router.id, qty=1)
    db.add_all([line, RequestTemplateLine(template_id=tpl.id, product_id=cable.id, qty=1)])
    db.commit()
    w = {"router": router.id, "cable": cable.id, "wh": wh.id, "store": store.id, "assets": [a.id for a in assets],
         "sns": [a.sn for a in assets], "stock": stock.id, "tpl": tpl.id, "tpl_line": line.id}
    rec.world["eq"] = w
    return w


def _eq_request(rec: Records, w: dict[str, Any], stage: str = "new") -> tuple[Any, Any]:
    """A request of the world's template brought to ``stage`` (new, reserved, picking, picked,
    confirmed, shipped, delivered) by the services as the system; returns (request, shipment)."""
    db = rec.db
    req = eq_process.create_request(db, EQ_SYSTEM, store_id=w["store"], warehouse_id=w["wh"], template_id=w["tpl"])
    sh = None
    stages = ["new", "reserved", "picking", "picked", "confirmed", "shipped", "delivered"]
    upto = stages.index(stage)
    if upto >= 1:
        eq_process.reserve_auto(db, EQ_SYSTEM, req)
    if upto >= 2:
        sh = eq_process.start_picking(db, EQ_SYSTEM, req)
    if upto >= 3:
        for code in ("1", w["sns"][0], "3"):
            eq_process.tick(db, EQ_SYSTEM, sh, code)
    if upto >= 4:
        eq_process.confirm_shipment(db, EQ_SYSTEM, sh)
    if upto >= 5:
        eq_process.hand_over(db, EQ_SYSTEM, sh)
    if upto >= 6:
        eq_process.mark_delivered(db, EQ_SYSTEM, sh, system=True)
    db.commit()
    return req, sh


_YANDEX: dict[str, Any] = {}


def _yandex_sandbox(rec: Records) -> None:
    """Yandex Delivery's sandbox for "order a courier" (started once per session, stopped at exit),
    and the integration settings pointing at it."""
    import atexit

    from app.core import settings_page
    from app.panels.equipment.delivery import INTEGRATIONS
    from integrations.sandbox.yandex_delivery import start_sandbox

    if "handle" not in _YANDEX:
        _YANDEX["handle"] = start_sandbox()
        atexit.register(_YANDEX["handle"].stop)
    _YANDEX["handle"].add_token("y0_matrix-token")
    settings_page.save(rec.db, INTEGRATIONS, EQ_SYSTEM, {"yandex_enabled": True, "yandex_token": "y0_matrix-token",
                                                          "yandex_url": _YANDEX["handle"].url})


def eq_process_target(rec: Records, key: str, op: str) -> Any:
    from models.equipment import DeliveryOrder, DeliveryProvider, RequestLine, Reservation, ShipmentItem

    db, w = rec.db, _eq_world(rec)
    simple = {"equipment.products": "router", "equipment.warehouses": "wh", "equipment.stores": "store", "equipment.stock_items": "stock",
              "equipment.templates": "tpl", "equipment.template_lines": "tpl_line"}
    if key in simple:
        return w[simple[key]]
    if key == "equipment.assets":
        return w["assets"][0]
    if key == "equipment.requests":
        stage = {"action:start_picking": "reserved", "action:tick_install": "delivered"}.get(op, "new")
        return _eq_request(rec, w, stage)[0].id
    if key == "equipment.request_lines":
        req, _ = _eq_request(rec, w)
        return db.exec(select(RequestLine).where(RequestLine.request_id == req.id)).first().id
    if key == "equipment.reservations":
        req, _ = _eq_request(rec, w, "reserved")
        return db.exec(select(Reservation).where(Reservation.request_id == req.id)).first().id
    if key in ("equipment.shipments", "equipment.shipment_items", "equipment.deliveries"):
        stage = {"action:pick": "picking", "action:confirm": "picked", "action:hand_over": "confirmed", "action:deliver": "shipped",
                 "action:install": "delivered", "action:order_courier": "confirmed"}.get(op, "picking")
        if op == "action:order_courier":
            _yandex_sandbox(rec)
        _req, sh = _eq_request(rec, w, stage)
        if key == "equipment.shipment_items":
            return db.exec(select(ShipmentItem).where(ShipmentItem.shipment_id == sh.id)).first().id
        if key == "equipment.deliveries":
            d = DeliveryOrder(shipment_id=sh.id, provider=DeliveryProvider.MANUAL, request_key=f"matrix-{sh.id}")
            db.add(d)
            db.commit()
            return d.id
        return sh.id
    raise AssertionError(key)


def eq_process_payload(rec: Records, key: str, creating: bool) -> dict[str, Any]:
    w, n = _eq_world(rec), next(rec.n)
    if key == "equipment.templates":
        return ({"name": f"Шаблон п{n}", "kind": "REGULAR", "lines": [{"product_id": w["router"], "qty": 2}], "checklist": ["Проверить"]}
                if creating else {"description": "Новое описание"})
    if key == "equipment.template_lines":
        return {"template_id": w["tpl"], "product_id": w["cable"], "qty": 3} if creating else {"qty": 4}
    if key == "equipment.requests":
        return {"template_id": w["tpl"], "store_id": w["store"], "warehouse_id": w["wh"]} if creating else {"comment": "Срочно"}
    if key == "equipment.request_lines":
        req, _ = _eq_request(rec, w)
        return {"request_id": req.id, "product_id": w["cable"], "qty": 2} if creating else {"qty": 2}
    raise AssertionError(f"tests/api/test_permission_matrix.py: add a payload for {key!r}")


def eq_process_params(rec: Records, key: str, action: str) -> dict[str, Any]:
    w = rec.world.get("eq") or {}
    return {
        ("equipment.requests", "reserve_sn"): {"sn": (w.get("sns") or ["-"])[0]},
        ("equipment.requests", "reserve_qty"): {"product_id": w.get("cable"), "qty": 1},
        ("equipment.requests", "tick_install"): {"number": 1},
        ("equipment.shipments", "pick"): {"code": "1"},
        ("equipment.shipments", "install"): {"sn": ""},
    }.get((key, action), {})


EQ_ROLES = ("storekeeper", "support", "chief")

#: The seed's process rules (section 2), by hand: (role, resource, operation, allowed).
EQ_SEED_RULES: list[tuple[str, str, str, bool]] = [
    # support creates requests (and cancels them), confirms installation; never reserves, picks or confirms a shipment
    ("support", "equipment.requests", "create", True),
    ("support", "equipment.requests", "action:cancel", True),
    ("support", "equipment.requests", "action:reserve_auto", False),
    ("support", "equipment.shipments", "action:pick", False),
    ("support", "equipment.shipments", "action:confirm", False),
    ("support", "equipment.shipments", "action:install", True),
    ("support", "equipment.templates", "create", False),
    ("support", "equipment.templates", "list", True),
    # the storekeeper makes templates, reserves, picks, confirms and hands over; creates no request, installs nothing
    ("storekeeper", "equipment.templates", "create", True),
    ("storekeeper", "equipment.requests", "create", False),
    ("storekeeper", "equipment.requests", "action:reserve_auto", True),
    ("storekeeper", "equipment.requests", "action:reserve_sn", True),
    ("storekeeper", "equipment.requests", "action:start_picking", True),
    ("storekeeper", "equipment.reservations", "action:release", True),
    ("storekeeper", "equipment.shipments", "action:pick", True),
    ("storekeeper", "equipment.shipments", "action:confirm", True),
    ("storekeeper", "equipment.shipments", "action:hand_over", True),
    ("storekeeper", "equipment.shipments", "action:install", False),
    ("storekeeper", "equipment.shipments", "action:deliver", False),
    # the chief: all of it, a manual delivery marked delivered included
    ("chief", "equipment.requests", "create", True),
    ("chief", "equipment.shipments", "action:confirm", True),
    ("chief", "equipment.shipments", "action:deliver", True),
    ("chief", "equipment.templates", "delete", True),
]


def eq_expected(role: str, key: str, op: str) -> bool:
    return granted(STORED_PERMS[f"equipment.{role}"], permission_for(key, op))


def test_equipment_process_seed_rules_agree_with_the_declared_roles():
    for role, key, op, allowed in EQ_SEED_RULES:
        assert op in operations(RESOURCES[key]), f"seed rule names an operation {key} does not offer: {op}"
        assert eq_expected(role, key, op) == allowed, f"{role} {key} {op}: roles say {not allowed}, the seed says {allowed}"


@pytest.fixture(scope="module")
def eq_env(env) -> SimpleNamespace:
    """The equipment roles' users and their API sessions, beside the matrix's own."""
    users, headers = {}, {}
    for role in EQ_ROLES:
        u = User(username=f"eq_{role}", hashed_password=auth.hash_password(f"{role}-pass"), roles=[f"equipment.{role}"])
        env.db.add(u)
        env.db.commit()
        users[role] = auth.current_user_for(env.db, u)
        r = env.client.post("/api/auth/login", json={"username": f"eq_{role}", "password": f"{role}-pass"})
        assert r.status_code == 200, r.text
        headers[role] = {"Authorization": f"Bearer {r.json()['token']}"}
    env.client.cookies.clear()
    return SimpleNamespace(users=users, headers=headers)


@pytest.mark.parametrize("role", EQ_ROLES)
@pytest.mark.parametrize("key", EQ_PROCESS_RESOURCES)
def test_equipment_process_matrix(key, role, env, eq_env):
    """Every process resource × operation for the panel's own roles, through the API and the services."""
    records = Records(env.db, env.world)
    ctx = {"client": env.client, "headers": eq_env.headers[role], "db": env.db, "user": eq_env.users[role], "params": records.params}
    rules = {(r, k, o): a for r, k, o, a in EQ_SEED_RULES}
    wrong = []
    for op in operations(RESOURCES[key]):
        allowed = eq_expected(role, key, op)
        assert rules.get((role, key, op), allowed) == allowed
        for leg_name, leg in LEGS.items():
            target = records.target(key, op) if _needs_target(op) else None
            payload = records.payload(key, "create" if op == "import" else op) if _needs_payload(op) else None
            got = leg(ctx, key, op, target, payload)
            if got != want(role, allowed):
                wrong.append(f"{leg_name}: {role} {op} {key}: expected {want(role, allowed)}, got {got}")
    assert not wrong, "\n".join(wrong)
