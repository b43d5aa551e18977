"""The kit's admin panel: users and roles through the generic CRUD services."""

from __future__ import annotations

from app.core.registry import all_roles

import json

import pytest
from sqlmodel import func, select

from app.core import auth, crud
from app.core.errors import NotAuthenticated, PermissionDenied, ValidationFailed
from app.core.query import ListParams
from app.core.registry import resource
from app.core.setup import sync_roles
from models.core import AuditLog, Role, User, UserSession
from tests.uistate import sign_in


@pytest.fixture(autouse=True)
def fast_hashing(cheap_hashing):
    """Cheap argon2id for every test here (see tests/conftest.py)."""
    return cheap_hashing


@pytest.fixture()
def Users():
    return resource("admin.users")


@pytest.fixture()
def Roles():
    return resource("admin.roles")


def _all_audit_text(db) -> str:
    return json.dumps([r.diff for r in db.exec(select(AuditLog)).all()], ensure_ascii=False)


def test_admin_creates_a_user_with_a_password(db, users, Users):
    u = crud.create_record(db, Users, users["admin"], {"username": "olga", "full_name": "Ольга", "roles": "stock.manager,numbers.manager", "password": "s3cret-pass", "is_active": "1"})
    db.refresh(u)
    assert u.hashed_password.startswith("$argon2id$")
    assert auth.verify_password("s3cret-pass", u.hashed_password)
    row = db.exec(select(AuditLog).where(AuditLog.entity_type == "admin.users", AuditLog.action == "create")).one()
    assert row.entity_id == str(u.id)
    assert row.diff["username"] == "olga" and row.diff["roles"] == ["numbers.manager", "stock.manager"]
    assert "hashed_password" not in row.diff and "password" not in row.diff
    text = _all_audit_text(db)
    assert "$argon2" not in text and "s3cret-pass" not in text
    assert auth.resolve(db, auth.login(db, "olga", "s3cret-pass")).roles == ("numbers.manager", "stock.manager")


def test_password_rules_on_create(db, users, Users):
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, Users, users["admin"], {"username": "shorty", "roles": "stock.user", "password": "1234567"})
    assert info.value.errors == {"password": ("users.password_short", {"n": 8})}
    assert info.value.messages("ru")["password"] == "Не короче 8 символов"
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, Users, users["admin"], {"username": "nopass", "roles": "stock.user"})
    assert info.value.errors == {"password": ("error.required", {})}
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, Users, users["admin"], {"username": "bad name!", "roles": "stock.user", "password": "long-enough"})
    assert list(info.value.errors) == ["username"]
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, Users, users["admin"], {"username": "x", "roles": "superuser", "password": "long-enough"})
    assert info.value.errors == {"roles": ("error.choice", {})}
    assert db.exec(select(func.count()).select_from(User)).one() == 3


def test_duplicate_username_is_a_field_error(db, users, Users):
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, Users, users["admin"], {"username": "manager", "roles": "stock.user", "password": "long-enough"})
    assert info.value.errors == {"username": ("error.unique", {})}


def test_user_cannot_delete_themself(db, users, Users):
    with pytest.raises(ValidationFailed) as info:
        crud.delete_record(db, Users, users["admin"], users["admin"].id)
    assert info.value.errors == {"": ("self.delete", {})}
    assert db.get(User, users["admin"].id).deleted_at is None
    crud.delete_record(db, Users, users["admin"], users["user"].id)  # someone else: fine (to the trash)
    assert db.get(User, users["user"].id).deleted_at is not None


def test_deleting_a_user_ends_their_sessions(db, users, Users):
    token = auth.login(db, "user", "user-pass")
    crud.delete_record(db, Users, users["admin"], users["user"].id)
    with pytest.raises(NotAuthenticated):
        auth.resolve(db, token)


def test_user_cannot_change_own_role_or_deactivate_themself(db, users, Users):
    me = users["admin"]
    with pytest.raises(ValidationFailed) as info:
        crud.update_record(db, Users, me, me.id, {"roles": "stock.user"})
    assert info.value.errors == {"roles": ("self.demote", {})}
    with pytest.raises(ValidationFailed) as info:
        crud.update_record(db, Users, me, me.id, {"is_active": ""})
    assert info.value.errors == {"is_active": ("self.demote", {})}
    assert db.get(User, me.id).roles == ["admin"] and db.get(User, me.id).is_active
    # the same role again is not a change; other fields can be edited
    crud.update_record(db, Users, me, me.id, {"roles": "admin", "full_name": "Главный"})
    assert db.get(User, me.id).full_name == "Главный"
    # someone else's role can be changed
    crud.update_record(db, Users, me, users["user"].id, {"roles": "stock.manager"})
    assert db.get(User, users["user"].id).roles == ["stock.manager"]


def test_password_change_revokes_that_users_sessions(db, users, Users):
    theirs = auth.login(db, "user", "user-pass")
    mine = auth.login(db, "admin", "admin-pass")
    old_hash = db.get(User, users["user"].id).hashed_password
    crud.update_record(db, Users, users["admin"], users["user"].id, {"password": "brand-new-pass"})
    with pytest.raises(NotAuthenticated):
        auth.resolve(db, theirs)
    assert auth.resolve(db, mine).username == "admin"
    u = db.get(User, users["user"].id)
    assert u.hashed_password != old_hash and auth.verify_password("brand-new-pass", u.hashed_password)
    row = db.exec(select(AuditLog).where(AuditLog.entity_type == "admin.users", AuditLog.action == "update")).one()
    assert row.diff == {"password": ["***", "***"]}
    assert "$argon2" not in _all_audit_text(db)
    # an empty password on edit keeps the old one and revokes nothing
    token = auth.login(db, "user", "brand-new-pass")
    crud.update_record(db, Users, users["admin"], users["user"].id, {"password": "", "full_name": "Оператор"})
    assert auth.resolve(db, token).full_name == "Оператор"


def test_deactivating_a_user_revokes_their_sessions(db, users, Users):
    token = auth.login(db, "user", "user-pass")
    crud.update_record(db, Users, users["admin"], users["user"].id, {"is_active": ""})
    assert db.exec(select(UserSession)).one().revoked_at is not None
    with pytest.raises(NotAuthenticated):
        auth.resolve(db, token)


@pytest.mark.parametrize("role", ["manager", "user"])
def test_non_admins_are_denied_on_users_and_roles(db, users, Users, Roles, role):
    who = users[role]
    for res, some_id in ((Users, users["admin"].id), (Roles, "admin")):
        with pytest.raises(PermissionDenied):
            crud.list_records(db, res, who, ListParams())
        with pytest.raises(PermissionDenied):
            crud.get_record(db, res, who, some_id)
        with pytest.raises(PermissionDenied):
            crud.update_record(db, res, who, some_id, {"full_name": "x", "label": "x"})
        with pytest.raises(PermissionDenied):
            crud.delete_record(db, res, who, some_id)
    with pytest.raises(PermissionDenied):
        crud.create_record(db, Users, who, {"username": "intruder", "roles": "admin", "password": "long-enough"})
    with pytest.raises(PermissionDenied):
        crud.create_record(db, Roles, who, {"name": "root", "permissions": "*"})
    assert crud.search_options(db, Users, who, "adm") == []
    assert db.get(User, users["admin"].id).full_name == "Admin"


def test_audit_log_is_visible_to_manager_not_to_user_and_read_only(db, users):
    audit_res = resource("admin.audit")
    crud.create_record(db, resource("stock.products"), users["admin"], {"name": "Кабель", "sell_price_rub": "10"})
    rows = crud.list_records(db, audit_res, users["manager"], ListParams()).rows
    assert [(r.action, r.entity_type) for r in rows] == [("create", "stock.products")]  # not the roles' rows
    with pytest.raises(PermissionDenied):
        crud.list_records(db, audit_res, users["user"], ListParams())
    with pytest.raises(PermissionDenied):
        crud.create_record(db, audit_res, users["admin"], {"action": "forged"})


# --------------------------------------------------------------------------- roles
def test_roles_list_and_get_by_name(db, users, Roles):
    page = crud.list_records(db, Roles, users["admin"], ListParams())
    assert [r.name for r in page.rows] == ["admin", "equipment.chief", "equipment.storekeeper", "equipment.support",
                                           "numbers.manager", "stock.manager", "stock.user"]
    assert page.total == 7
    assert crud.get_record(db, Roles, users["admin"], "stock.manager").permissions == all_roles()["stock.manager"][1]


def test_builtin_role_cannot_be_deleted(db, users, Roles):
    with pytest.raises(ValidationFailed) as info:
        crud.delete_record(db, Roles, users["admin"], "stock.user")
    assert info.value.errors == {"": ("roles.builtin", {})}
    assert db.get(Role, "stock.user") is not None


def test_custom_role_create_assign_and_delete(db, users, Roles, Users):
    admin = users["admin"]
    role = crud.create_record(db, Roles, admin, {"name": "auditor", "label": "Аудитор", "permissions": "admin.audit.view,stock.products.view"})
    assert role.permissions == ["admin.audit.view", "stock.products.view"] and role.builtin is False
    with pytest.raises(ValidationFailed) as info:
        crud.create_record(db, Roles, admin, {"name": "bogus", "permissions": "stock.rockets.launch"})
    assert info.value.errors == {"permissions": ("error.choice", {})}
    u = crud.create_record(db, Users, admin, {"username": "ivan", "roles": "stock.user", "password": "long-enough"})
    # the role field is a relation to the roles resource, so a custom role is assignable like any other
    crud.update_record(db, Users, admin, u.id, {"roles": "auditor"})
    assert db.get(User, u.id).roles == ["auditor"]
    with pytest.raises(ValidationFailed) as info:
        crud.delete_record(db, Roles, admin, "auditor")
    assert info.value.errors == {"": ("roles.in_use", {})}
    crud.update_record(db, Users, admin, u.id, {"roles": "stock.user"})
    crud.delete_record(db, Roles, admin, "auditor")
    assert db.get(Role, "auditor") is None
    row = db.exec(select(AuditLog).where(AuditLog.entity_type == "admin.roles", AuditLog.action == "delete")).one()
    assert row.entity_id == "auditor"


def test_admin_cannot_drop_star_from_own_role(db, users, Roles):
    with pytest.raises(ValidationFailed) as info:
        crud.update_record(db, Roles, users["admin"], "admin", {"permissions": "stock.products.view"})
    assert info.value.errors == {"permissions": ("self.demote", {})}
    assert db.get(Role, "admin").permissions == ["*"]


def test_sync_roles_is_idempotent_and_keeps_added_permissions(db, users, Roles):
    def state():
        db.expire_all()
        return {r.name: (r.label, list(r.permissions), r.builtin) for r in db.exec(select(Role)).all()}

    def audit_count():
        return db.exec(select(func.count()).select_from(AuditLog)).one()

    first, n = state(), audit_count()
    sync_roles(db)
    db.commit()
    assert state() == first and audit_count() == n  # nothing to do, nothing written

    # an admin grants the operator one more permission in the role editor ...
    crud.update_record(db, Roles, users["admin"], "stock.user", {"permissions": ",".join([*first["stock.user"][1], "stock.orders.deny"])})
    # ... and someone removed a declared one by hand
    role = db.get(Role, "stock.manager")
    role.permissions = ["stock.*"]
    db.commit()
    n = audit_count()
    sync_roles(db)
    db.commit()
    after = state()
    assert "stock.orders.deny" in after["stock.user"][1]  # kept
    assert set(first["stock.user"][1]) <= set(after["stock.user"][1])
    assert after["stock.manager"][1] == all_roles()["stock.manager"][1]  # the declared one is back
    assert audit_count() == n + 1  # one row: permissions_added for manager
    sync_roles(db)
    db.commit()
    assert state() == after and audit_count() == n + 1


def test_telegram_chat_id_is_a_secret_encrypted_and_never_shown(db, users, Users):
    """Stored encrypted, kept when the form leaves it empty, shown as *** and absent from the API."""
    import reflex as rx
    from sqlalchemy import text as sql

    from app.core.api import public_columns
    from app.core.ui.base import AuthState
    from app.core.ui.detail import DetailState

    admin, target = users["admin"], users["user"]
    crud.update_record(db, Users, admin, target.id, {"telegram_chat_id": "987654321"})
    raw = db.exec(sql('SELECT telegram_chat_id FROM "user" WHERE id = :i'), params={"i": target.id}).one()[0]
    assert raw.startswith("gAAAA") and "987654321" not in raw
    crud.update_record(db, Users, admin, target.id, {"telegram_chat_id": "", "full_name": "Без смены чата"})
    db.expire_all()
    assert db.get(User, target.id).telegram_chat_id == "987654321"
    assert "telegram_chat_id" not in public_columns(User)

    from app.core.display import form_value
    from app.core.resource import FormField

    # the edit form starts empty (the value never travels to the browser) ...
    assert form_value(db.get(User, target.id), FormField("telegram_chat_id", "secret")) == ""
    # ... and the detail page shows only that one is set
    token = auth.login(db, "admin", "admin-pass")
    root = rx.State(_reflex_internal_init=True)
    detail = root.substates[AuthState.get_name()].substates[DetailState.get_name()]
    sign_in(detail, token)
    detail.res_key, detail.record_id = "admin.users", str(target.id)
    detail._reload()
    assert detail.values["telegram_chat_id"] == "***"
