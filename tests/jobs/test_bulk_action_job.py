"""Bulk actions declared with ``job=True`` (the fixture panel's orders' ``issue``, ``tests/kitpanel``) run in a real worker: in chunks,
a record that fails is reported while the others are done, "every record matching the view" is
resolved under the user's scope when the job starts, and the permission is checked at both ends."""

from __future__ import annotations

import csv

import pytest
from jobtools import wait_for
from sqlmodel import select

from app.core import crud, kit_jobs
from app.core.auth import SYSTEM
from app.core.errors import PermissionDenied
from app.core.registry import resource
from models.core import AuditLog, Notification
from models.jobs import JobStatus
from tests.kitpanel.models import Item, Order, OrderStatus

pytestmark = pytest.mark.usefixtures("kitpanel")


def orders(db, item, n, qty=1):
    res = resource("kitpanel.orders")
    return [crud.create_record(db, res, SYSTEM, {"phone": "+79161234567", "item_id": item.id, "qty": str(qty)}) for _ in range(n)]


def finished(row, run_id):
    def check():
        r = row(run_id)
        return r if JobStatus(r.status).finished else None

    return wait_for(check, 60, "the bulk action to finish")


def test_bulk_issue_in_a_worker_reports_the_order_short_of_stock(db, users, kit_data, start_worker, row, monkeypatch):
    router = kit_data["router"]  # stock 3
    a, b = orders(db, router, 2, qty=2)  # only one of them fits
    cable_orders = orders(db, kit_data["cable"], 5)
    ids = [str(o.id) for o in (a, b, *cable_orders)]
    start_worker()
    run = kit_jobs.enqueue_action(db, users["user"], "kitpanel.orders", "issue", ids)
    done = finished(row, run.id)
    assert done.status == JobStatus.succeeded, done.error
    assert (done.result["total"], done.result["done"], done.result["failed"]) == (7, 6, 1)
    db.expire_all()
    statuses = {o.id: o.status for o in db.exec(select(Order))}
    assert statuses[a.id] == OrderStatus.issued and statuses[b.id] == OrderStatus.open
    assert all(statuses[o.id] == OrderStatus.issued for o in cable_orders)
    assert db.get(Item, router.id).stock == 1
    with open(jobs_result(done), encoding="utf-8-sig") as f:
        lines = list(csv.reader(f))
    assert lines[1][0] == str(b.id) and "Роутер Pro" in lines[1][1]
    # audited as the user, from a job
    audit = db.exec(select(AuditLog).where(AuditLog.action == "issue").order_by(AuditLog.id)).all()
    assert audit and {x.username for x in audit} == {"user"} and {x.source for x in audit} == {"job"}
    note = db.exec(select(Notification).where(Notification.user_id == users["user"].id, Notification.kind == "job.done")).one()
    assert "6" in note.title and "1" in note.title and note.link == f"/api/jobs/{run.id}/file"


def test_every_matching_record_is_resolved_when_the_job_starts(db, users, kit_data, start_worker, row, monkeypatch):
    cable = kit_data["cable"]  # stock 10
    mine = orders(db, cable, 6)
    other = orders(db, kit_data["router"], 1)
    view = {"filters": {"item_id": str(cable.id)}, "sort": "-id", "search": "", "trash": False}
    start_worker()
    run = kit_jobs.enqueue_action(db, users["manager"], "kitpanel.orders", "issue", None, view)
    done = finished(row, run.id)
    assert done.status == JobStatus.succeeded, done.error
    assert (done.result["total"], done.result["done"], done.result["failed"]) == (6, 6, 0)
    db.expire_all()
    assert {db.get(Order, o.id).status for o in mine} == {OrderStatus.issued}
    assert db.get(Order, other[0].id).status == OrderStatus.open


def test_a_user_without_the_permission_cannot_queue_it(db, users, kit_data):
    order = orders(db, kit_data["cable"], 1)[0]
    with pytest.raises(PermissionDenied):
        kit_jobs.enqueue_action(db, users["user"], "kitpanel.orders", "deny", [str(order.id)])


def jobs_result(run):
    from app.core.jobs import result_file_path

    return result_file_path(run)
