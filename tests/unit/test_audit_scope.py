"""The operation log is scoped like the records it describes (seed 004, section 6.2).

Each panel's roles are its own: the stock manager no longer gets the numbers panel's rights (nor
the reverse), and a reader of the log sees only the rows about what they may see — never the
administrator's SFTP host or SoftPhone secret changes, users or roles; for the numbers panel's
scoped records only those of their own providers. The rule is in ``Audit.list_query``, so the
list, one row, exports and the REST API (tests/api) apply it alike.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core import auth, crud
from app.core.errors import NotFound, PermissionDenied
from app.core.query import ListParams
from app.core.registry import resource
from app.panels.numbers import services as numbers_services
from app.panels.numbers import softphone
from models.core import AuditLog, User
from models.numbers import PhoneNumber


@pytest.fixture()
def world(db, cheap_hashing, numbers_world):
    return make_world(db, cheap_hashing, numbers_world)


def make_world(db, cheap_hashing, numbers_world) -> dict:
    """The admin's secret and user changes, and a number in and one out of the manager's scope."""
    admin = cheap_hashing["admin"]
    sftp = crud.create_record(db, resource("numbers.sftp"), admin, {
        "name": "Партнёр", "host": "sftp.example", "port": 22, "username": "bot", "password": "s3cret", "remote_dir": "/in",
        "direction": "import", "file_mask": "*.csv"})
    softphone.generate_secret(db, admin)
    db.commit()
    crud.create_record(db, resource("admin.users"), admin, {"username": "olga", "password": "long-enough-1", "roles": "stock.user"})
    mine = PhoneNumber(phone="+79160000001", provider_id=numbers_world["mine"], project_id=numbers_world["project"],
                       status_id=numbers_world["status"]["new"])
    other = PhoneNumber(phone="+79160000002", provider_id=numbers_world["other"], project_id=numbers_world["other_project"],
                        status_id=numbers_world["status"]["new"])
    db.add_all([mine, other])
    db.commit()
    numbers = resource("numbers.numbers")
    crud.update_record(db, numbers, admin, mine.id, {"status_id": numbers_world["status"]["callback"]})
    crud.update_record(db, numbers, admin, other.id, {"status_id": numbers_world["status"]["callback"]})
    product = crud.create_record(db, resource("stock.products"), admin, {"name": "Кабель", "sell_price_rub": "10"})
    return {"sftp": sftp.id, "mine": mine.id, "other": other.id, "product": product.id, **numbers_world}


def _seen(db, user) -> set[tuple[str, str | None]]:
    page = crud.list_records(db, resource("admin.audit"), user, ListParams(page_size=200))
    return {(r.entity_type, r.entity_id) for r in page.rows}


def _as(db, username: str, roles: list[str]):
    u = db.exec(select(User).where(User.username == username)).first()
    if u is None:
        u = User(username=username, hashed_password="-", roles=roles)
        db.add(u)
        db.commit()
    return auth.current_user_for(db, u)


def test_the_admin_reads_everything(db, world, users):
    seen = _seen(db, users["admin"])
    assert ("numbers.sftp", str(world["sftp"])) in seen and ("setting", "softphone") in seen
    assert ("numbers.numbers", str(world["other"])) in seen and any(t == "admin.users" for t, _ in seen)


def test_the_manager_does_not_read_the_admins_secrets_users_or_other_providers(db, world, users):
    """The demo's manager (stock and numbers): stock rows and the numbers of their providers only."""
    seen = _seen(db, users["manager"])
    assert ("stock.products", str(world["product"])) in seen
    assert ("numbers.numbers", str(world["mine"])) in seen
    assert ("numbers.numbers", str(world["other"])) not in seen
    assert not any(t in ("numbers.sftp", "setting", "admin.users", "admin.roles", "user") for t, _ in seen), seen
    # one row by id: the same rule (404, not the row)
    sftp_row = db.exec(select(AuditLog).where(AuditLog.entity_type == "numbers.sftp")).first()
    with pytest.raises(NotFound):
        crud.get_record(db, resource("admin.audit"), users["manager"], sftp_row.id)
    # searching and filtering cannot reach a hidden row either
    page = crud.list_records(db, resource("admin.audit"), users["manager"], ListParams(filters={"entity_type": "numbers.sftp"}))
    assert page.rows == []
    page = crud.list_records(db, resource("admin.audit"), users["manager"], ListParams(search="softphone"))
    assert page.rows == []


def test_a_managers_own_bulk_change_is_theirs_to_read(db, world, users):
    numbers_services.set_status_many(db, users["manager"], [world["mine"]], world["status"]["in_work"])
    rows = crud.list_records(db, resource("admin.audit"), users["manager"], ListParams(filters={"action": "set_status"})).rows
    assert [r.username for r in rows] == ["manager"]


def test_a_numbers_manager_alone_has_no_log_and_no_stock(db, world):
    numbers_only = _as(db, "nina", ["numbers.manager"])
    assert not numbers_only.has_perm("admin.audit.view") and not numbers_only.has_perm("stock.products.view")
    with pytest.raises(PermissionDenied):
        crud.list_records(db, resource("admin.audit"), numbers_only, ListParams())


def test_a_stock_manager_reads_no_numbers_rows(db, world):
    stock_only = _as(db, "sergey", ["stock.manager"])
    assert not stock_only.has_perm("numbers.numbers.view")
    seen = _seen(db, stock_only)
    assert ("stock.products", str(world["product"])) in seen
    assert not any(t.startswith("numbers.") or t == "setting" for t, _ in seen), seen


def test_one_role_per_panel(db, users):
    from app.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, resource("admin.users"), users["admin"],
                           {"username": "both", "password": "long-enough-1", "roles": "stock.manager,stock.user"})
    assert info.value.errors["roles"][0] == "users.one_role_per_panel"
    u = crud.create_record(db, resource("admin.users"), users["admin"],
                           {"username": "both", "password": "long-enough-1", "roles": "stock.user,numbers.manager"})
    assert sorted(u.roles) == ["numbers.manager", "stock.user"]
