"""``jobs.schedules`` is not admin in disguise: a schedule runs as the user who saved it, checked
again at every tick, and only kinds that user may run (with those arguments) are offered and
accepted. Schedules the code declares stay the system's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from app.core import auth, crud, jobs
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.registry import resource
from jobs.runner import execute
from models.core import AuditLog, Notification, Role, User
from models.jobs import JobRun, JobStatus, Schedule

#: The kit's bulk action here is the fixture panel's (``tests/kitpanel``).
pytestmark = pytest.mark.usefixtures("kitpanel")


@pytest.fixture()
def planner(db, users):
    """A role that may edit schedules and run ``test.secret``, nothing else; one user in it."""
    db.add(Role(name="planner", label="Planner", permissions=["jobs.schedules", "test.secret.run"]))
    u = User(username="planner", hashed_password=auth.hash_password("planner-pass"), roles=["planner"])
    db.add(u)
    db.commit()
    return u


def as_user(db, u: User):
    db.expire_all()
    return auth.current_user_for(db, db.get(User, u.id))


def due_now(db, sched: Schedule) -> None:
    sched = db.get(Schedule, sched.id)
    sched.next_fire_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    db.commit()


def test_a_schedules_only_role_cannot_schedule_what_it_cannot_do(db, users, planner, kit_data):
    me = as_user(db, planner)
    order = crud.create_record(db, resource("kitpanel.orders"), users["admin"], {"phone": "+79990001122", "item_id": kit_data["cable"].id, "qty": "1"})
    deny = {"resource": "kitpanel.orders", "action": "deny", "ids": [str(order.id)]}
    with pytest.raises(ValidationFailed) as refused:
        jobs.save_schedule(db, me, "deny all", "kit.action", "* * * * *", deny)
    assert refused.value.errors == {"kind": ("jobs.kind_not_allowed", {})}
    with pytest.raises(ValidationFailed) as through_the_editor:
        crud.create_record(db, resource("admin.schedules"), me, {"name": "deny all", "kind": "kit.action", "cron": "* * * * *",
                                                                  "args_json": '{"resource": "kitpanel.orders", "action": "deny", "ids": ["1"]}'})
    assert "kind" in through_the_editor.value.errors
    # internal kinds (neither perm nor can) are for administrators only
    with pytest.raises(ValidationFailed):
        jobs.save_schedule(db, me, "x", "test.admin_only", "* * * * *")
    offered = jobs.schedulable_kinds(me)
    assert "kit.action" not in offered and "test.admin_only" not in offered and "kit.import" not in offered
    assert {"test.secret", "test.guarded"} <= set(offered)
    assert {"kit.action", "test.admin_only", "test.secret"} <= set(jobs.schedulable_kinds(users["admin"]))
    assert db.exec(select(Schedule)).all() == []


def test_the_editor_offers_only_the_kinds_its_user_may_run(db, users, planner):
    import reflex as rx

    from app.core.ui.base import AuthState
    from app.core.ui.form import FormState
    from tests.uistate import sign_in

    token = auth.login(db, "planner", "planner-pass")
    form = rx.State(_reflex_internal_init=True).substates[AuthState.get_name()].substates[FormState.get_name()]
    sign_in(form, token)
    form.load("admin.schedules", False)
    assert not form.forbidden and form.allowed == {"kind": jobs.schedulable_kinds(as_user(db, planner))}
    assert "kit.action" not in form.allowed["kind"]


def test_a_tick_runs_as_its_owner_and_the_audit_names_them(db, users, planner, row, redis_conn):
    me = as_user(db, planner)
    sched = jobs.save_schedule(db, me, "mine", "test.guarded", "0 3 * * *", {"target": "planner"})
    assert (sched.owner_id, sched.created_by, sched.system) == (planner.id, "planner", False)
    with pytest.raises(ValidationFailed):  # someone else's name as the target: `can(user, args)` says no
        jobs.save_schedule(db, me, "theirs", "test.guarded", "0 3 * * *", {"target": "admin"})
    due_now(db, sched)
    [run] = jobs.fire_due_schedules(db)
    assert (run.user_id, run.username) == (planner.id, "planner")
    execute(run.id)
    assert row(run.id).status == JobStatus.succeeded
    by_job = db.exec(select(AuditLog).where(AuditLog.action == "test.guarded")).one()
    assert (by_job.username, by_job.source) == ("planner", "job")
    enqueued = db.exec(select(AuditLog).where(AuditLog.action == "job.enqueue", AuditLog.entity_id == str(run.id))).one()
    assert enqueued.username == "planner" and enqueued.diff["schedule"] == "mine"


def test_a_tick_is_refused_when_the_owner_left_or_lost_the_right(db, users, planner, redis_conn):
    sched = jobs.save_schedule(db, as_user(db, planner), "secret", "test.secret", "0 3 * * *")

    # the role loses the permission: refused, recorded, owner and admins told once per streak
    role = db.get(Role, "planner")
    role.permissions = ["jobs.schedules"]
    db.commit()
    due_now(db, sched)
    assert jobs.fire_due_schedules(db) == []
    db.expire_all()
    refused = db.get(Schedule, sched.id)
    assert refused.refusal == "not_allowed" and refused.refused_at is not None and refused.next_fire_at > datetime.now(timezone.utc)
    told = db.exec(select(Notification).where(Notification.kind == "jobs.schedule_refused")).all()
    assert {n.user_id for n in told} == {planner.id, users["admin"].id}
    assert "«secret»" in told[0].title and "нет прав" in told[0].title
    due_now(db, sched)
    assert jobs.fire_due_schedules(db) == []
    assert len(db.exec(select(Notification).where(Notification.kind == "jobs.schedule_refused")).all()) == 2  # not again
    reasons = [a.diff["reason"] for a in db.exec(select(AuditLog).where(AuditLog.action == "schedule.refuse")).all()]
    assert reasons == ["not_allowed", "not_allowed"]

    # the owner is deactivated: refused for that reason
    role.permissions = ["jobs.schedules", "test.secret.run"]
    db.get(User, planner.id).is_active = False
    db.commit()
    due_now(db, sched)
    assert jobs.fire_due_schedules(db) == []
    db.expire_all()
    assert db.get(Schedule, sched.id).refusal == "owner_inactive"

    # back in service: the next tick runs and the refusal is cleared
    db.get(User, planner.id).is_active = True
    db.commit()
    due_now(db, sched)
    [run] = jobs.fire_due_schedules(db)
    db.expire_all()
    assert run.username == "planner" and db.get(Schedule, sched.id).refusal is None
    assert len(db.exec(select(JobRun)).all()) == 1  # only the tick that was allowed ran


def test_a_schedule_taken_over_by_another_editor_runs_as_the_editor(db, users, planner):
    """Saving someone's schedule makes it yours: an editor cannot aim an admin's rights at new arguments."""
    sched = jobs.save_schedule(db, users["admin"], "admin's", "test.admin_only", "0 3 * * *")
    with pytest.raises(ValidationFailed):
        crud.update_record(db, resource("admin.schedules"), as_user(db, planner), sched.id, {"cron": "0 4 * * *"})
    with pytest.raises(ValidationFailed):
        jobs.save_schedule(db, as_user(db, planner), "admin's", "test.admin_only", "0 4 * * *", schedule_id=sched.id)
    db.expire_all()
    assert db.get(Schedule, sched.id).owner_id == users["admin"].id
    mine = crud.update_record(db, resource("admin.schedules"), as_user(db, planner), sched.id, {"kind": "test.secret", "args_json": "{}"})
    assert mine.owner_id == planner.id


def test_a_schedule_the_code_declares_stays_the_systems(db, users, redis_conn):
    sched = Schedule(name="sftp:1", kind="test.count", cron="0 3 * * *", args={"tag": "sys"}, enabled=True, system=True,
                     next_fire_at=datetime.now(timezone.utc) - timedelta(seconds=1))
    db.add(sched)
    db.commit()
    [run] = jobs.fire_due_schedules(db)
    assert run.user_id is None and run.username == "schedule:sftp:1" and jobs.acts_as_system(run)
    with pytest.raises(PermissionDenied):
        crud.update_record(db, resource("admin.schedules"), users["admin"], sched.id, {"cron": "0 4 * * *"})
    with pytest.raises(ValidationFailed):
        jobs.delete_schedule(db, users["admin"], sched.id)
