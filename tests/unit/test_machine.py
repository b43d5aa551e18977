"""The state-machine block: illegal moves refused with a message, permissions, guards, audit, races."""

from __future__ import annotations

import enum
import threading

import pytest
from sqlmodel import Session, select

from app.core.errors import PermissionDenied
from app.core.i18n import t
from app.core.machine import IllegalTransition, Machine, Transition
from app.core.principal import SYSTEM, CurrentUser
from models.core import AuditLog
from models.equipment import Asset, EqProduct, Process


class Light(str, enum.Enum):
    RED = "RED"
    GREEN = "GREEN"


def process_machine() -> Machine:
    return Machine("process", Process, [
        Transition("reserve", Process.FREE, Process.RESERVED, perm="t.reserve",
                   guard=lambda a: "machine.test.broken" if a.note == "broken" else None),
        Transition("release", Process.RESERVED, Process.FREE, perm="t.reserve"),
        Transition("deliver", [Process.IN_SHIPMENT], Process.NOT_INSTALLED, system=True),
        Transition("install", Process.NOT_INSTALLED, Process.INSTALLED, roles=("equipment.support",)),
    ], label="asset.process")


SUPPORT = CurrentUser(id=None, username="s", roles=("equipment.support",), permissions=frozenset({"t.reserve"}))
NOBODY = CurrentUser(id=None, username="n", roles=(), permissions=frozenset())


@pytest.fixture()
def asset(db) -> Asset:
    p = EqProduct(sku="R1", name="Router")
    db.add(p)
    db.flush()
    a = Asset(sn="SN-1", product_id=p.id)
    db.add(a)
    db.commit()
    return a


def test_a_value_outside_the_enum_fails_at_declaration():
    with pytest.raises(ValueError):
        Machine("x", Light, [Transition("go", Light.RED, "BLUE")])
    with pytest.raises(ValueError):
        Machine("x", Light, [Transition("go", Light.RED, Light.GREEN), Transition("go", Light.GREEN, Light.RED)])


def test_legal_move_changes_the_field_and_audits_in_the_same_transaction(db, asset):
    m = process_machine()
    mv = m.move(db, SUPPORT, asset, Process.RESERVED)
    db.commit()
    assert (mv.before, mv.after, mv.transition) == ("FREE", "RESERVED", "reserve")
    db.refresh(asset)
    assert asset.process is Process.RESERVED
    row = db.exec(select(AuditLog).where(AuditLog.action == "eq_asset.process")).one()
    assert row.diff["process"] == ["FREE", "RESERVED"] and row.entity_id == str(asset.id)


def test_illegal_move_is_refused_with_a_readable_message_and_changes_nothing(db, asset):
    m = process_machine()
    with pytest.raises(IllegalTransition) as exc:
        m.move(db, SYSTEM, asset, Process.INSTALLED)
    assert exc.value.status_code == 409
    assert exc.value.message("ru") == f"{t('asset.process')}: из «{t('asset.process.FREE')}» в «{t('asset.process.INSTALLED')}» перейти нельзя"
    assert asset.process is Process.FREE
    assert db.exec(select(AuditLog).where(AuditLog.entity_type == "eq_asset")).all() == []


def test_permission_role_guard_and_system_only(db, asset):
    m = process_machine()
    with pytest.raises(PermissionDenied):
        m.fire(db, NOBODY, asset, "reserve")
    asset.note = "broken"
    with pytest.raises(IllegalTransition) as exc:
        m.fire(db, SUPPORT, asset, "reserve")
    assert exc.value.key == "machine.test.broken"
    asset.note = None
    asset.process = Process.IN_SHIPMENT
    with pytest.raises(IllegalTransition) as exc:  # a person cannot ask for what only the system does
        m.move(db, SUPPORT, asset, Process.NOT_INSTALLED)
    assert exc.value.key == "machine.system_only"
    m.move(db, SYSTEM, asset, Process.NOT_INSTALLED, system=True)
    assert [t.name for t in m.available(SUPPORT, asset)] == ["install"]
    assert m.available(NOBODY, asset) == []


def test_available_lists_what_the_user_may_do_now(db, asset):
    m = process_machine()
    assert [t.name for t in m.available(SUPPORT, asset)] == ["reserve"]
    assert m.graph()["FREE"] == ["RESERVED"]


def test_move_where_lets_exactly_one_of_many_racers_win(engine, db, asset):
    m = process_machine()
    won: list[list[int]] = []
    barrier = threading.Barrier(8)

    def racer() -> None:
        with Session(engine) as s:
            barrier.wait()
            ids = m.move_where(s, Asset, [asset.id], Process.FREE, Process.RESERVED)
            s.commit()
            won.append(ids)

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(len(w) for w in won) == [0] * 7 + [1]
    with pytest.raises(IllegalTransition):
        m.move_where(db, Asset, [asset.id], Process.FREE, Process.INSTALLED)


def test_a_resource_turns_its_machines_transitions_into_row_actions():
    """``Resource.machines``: every transition a person may ask for is a row action named after
    it (confirm carried over, the machine audits), shown by state and guard; system ones are not."""
    from app.core import ImproperlyConfigured, Resource, action

    m = process_machine()

    class Things(Resource, model=Asset):
        machines = [m]

    assert set(Things.actions) == {"reserve", "release", "install"}
    spec = Things.actions["reserve"]
    assert (spec.row, spec.bulk, spec.audit, spec.label) == (True, False, False, "asset.process.reserve")
    assert spec.visible(Asset(sn="x", product_id=1, process=Process.FREE))
    assert not spec.visible(Asset(sn="x", product_id=1, process=Process.RESERVED))
    assert not spec.visible(Asset(sn="x", product_id=1, process=Process.FREE, note="broken"))  # the guard
    viewer = CurrentUser(id=None, username="v", roles=(), permissions=frozenset({".things.view", "t.reserve"}))
    assert Things().can(viewer, "reserve") and not Things().can(NOBODY, "reserve")
    assert Things.action_perm("reserve") == "t.reserve"

    with pytest.raises(ImproperlyConfigured):
        class Clash(Resource, model=Asset):
            machines = [m]

            @action("x")
            def reserve(self, ctx, records):  # noqa: ANN001
                return None
