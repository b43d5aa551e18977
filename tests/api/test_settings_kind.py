"""The ``Settings`` page kind (app/core/settings_page.py): a secret is write-only in the generated
page's state and in the API, a bad URL gets its message under the field, the check's result, the
audit row with the secret masked, the permission refused in the handler and in the API, and the
declaration checks. Against the real declarations (Telegram, SoftPhone, Security) where they fit."""

from __future__ import annotations

import json

import pytest
import reflex as rx
from sqlmodel import select

from app.core import crypto
from app.core import settings_page as svc
from app.core.auth import login as sign_in_service
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.i18n import t
from app.core.resource import FormField, ImproperlyConfigured, fields
from models.core import AuditLog, Setting
from tests.uistate import sign_in

TOKEN = "123456:SECRET-bot-token-never-shown"


def _state(db, key: str, username: str):
    from app.core.ui.base import AuthState
    from app.core.ui.settings_page import state_of

    cls = state_of(key)
    root = rx.State(_reflex_internal_init=True)
    st = root.substates[AuthState.get_name()].substates[cls.get_name()]
    sign_in(st, sign_in_service(db, username, f"{username}-pass"))
    return st


def _audit(db, entity_id: str) -> list[AuditLog]:
    db.expire_all()
    return list(db.exec(select(AuditLog).where(AuditLog.entity_type == "setting", AuditLog.entity_id == entity_id).order_by(AuditLog.id)))


# --------------------------------------------------------------------------- the API
def test_a_secret_is_write_only_in_the_api_and_encrypted_at_rest(client, login, db):
    admin = login("admin")
    r = client.put("/api/telegram/settings/telegram", json={"token": TOKEN, "api_url": "http://127.0.0.1:9/bot"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["values"] == {"token": "***", "api_url": "http://127.0.0.1:9/bot"}
    assert TOKEN not in r.text
    r = client.get("/api/telegram/settings/telegram", headers=admin)
    assert r.json()["values"]["token"] == "***" and TOKEN not in r.text
    assert "Приём выключен" in json.dumps(r.json()["status"], ensure_ascii=False)
    stored = db.get(Setting, "telegram.bot_token").value
    assert TOKEN not in str(stored) and crypto.decrypt(stored) == TOKEN
    # an empty (or missing) secret keeps the stored one
    r = client.put("/api/telegram/settings/telegram", json={"token": "", "api_url": ""}, headers=admin)
    db.expire_all()
    assert r.status_code == 200 and r.json()["values"] == {"token": "***", "api_url": None}
    assert crypto.decrypt(db.get(Setting, "telegram.bot_token").value) == TOKEN
    assert db.get(Setting, "telegram.api_url") is None
    # the audit rows name the secret's change, never its value
    rows = _audit(db, "telegram")
    assert rows[0].diff == {"token": [None, "***"], "api_url": [None, "http://127.0.0.1:9/bot"]}
    assert rows[-1].diff == {"api_url": ["http://127.0.0.1:9/bot", None]}
    assert all(TOKEN not in json.dumps(row.diff) for row in rows)


def test_bad_values_get_a_message_per_field(client, login, db):
    admin = login("admin")
    r = client.put("/api/telegram/settings/telegram", json={"api_url": "ftp://example.com", "token": "no-colon"}, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"] == {"api_url": "Адрес должен начинаться с http:// или https://"}  # the kinds first
    r = client.put("/api/telegram/settings/telegram", json={"token": "no-colon"}, headers={**admin, "Accept-Language": "en"})
    assert r.status_code == 422 and r.json()["errors"] == {"token": "A bot token looks like 123456:ABC…"}  # then the page's own rule
    r = client.put("/api/telegram/settings/telegram", json={"nope": 1}, headers=admin)
    assert r.status_code == 422 and "nope" in r.json()["errors"]
    r = client.put("/api/admin/settings/security", json={"registration": {"a": 1}}, headers=admin)
    assert r.status_code == 422 and "registration" in r.json()["errors"]
    assert db.get(Setting, "telegram.bot_token") is None and not _audit(db, "telegram")


def test_the_api_refuses_without_the_permission(client, login, db):
    manager = login("manager")
    for method, path in (("get", "/api/telegram/settings/telegram"), ("put", "/api/telegram/settings/telegram"),
                         ("post", "/api/telegram/settings/telegram/check"), ("post", "/api/numbers/settings/softphone/actions/generate"),
                         ("put", "/api/admin/settings/security")):
        r = client.request(method.upper(), path, json={"token": TOKEN} if method == "put" and "telegram" in path else ({"registration": True} if method == "put" else None), headers=manager)
        assert r.status_code == 403, (path, r.text)
    assert db.get(Setting, "telegram.bot_token") is None and db.get(Setting, "numbers.softphone.secret") is None
    assert client.get("/api/telegram/settings/telegram").status_code == 401


def test_actions_through_the_api_show_a_generated_secret_once(client, login, db):
    admin = login("admin")
    r = client.post("/api/numbers/settings/softphone/actions/generate", headers=admin)
    assert r.status_code == 200 and r.json()["level"] == "ok"
    secret = r.json()["secret"]
    assert len(secret) == 64
    r = client.get("/api/numbers/settings/softphone", headers=admin)
    assert r.json()["values"] == {"secret": "***"} and secret not in r.text
    assert r.json()["status"]["color"] == "green"
    # the check of a page without a bot token: a red result with the reason, not an error
    r = client.post("/api/telegram/settings/telegram/check", headers=admin)
    assert r.status_code == 200 and r.json() == {"level": "fail", "message": "Сначала сохраните токен бота"}


def test_the_openapi_documents_the_settings(client):
    spec = client.get("/api/openapi.json").json()
    put = spec["paths"]["/api/telegram/settings/telegram"]["put"]
    body = put["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["token"]["writeOnly"] is True and set(body["properties"]) == {"token", "api_url"}
    assert "/api/telegram/settings/telegram/check" in spec["paths"]
    assert "/api/numbers/settings/softphone/actions/rotate" in spec["paths"]
    assert {"403", "422"} <= set(put["responses"])


# --------------------------------------------------------------------------- the generated page
def test_the_page_state_never_holds_the_secret(db, users):
    st = _state(db, "telegram.telegram", "admin")
    st.load()
    assert not st.forbidden and st.token == "" and st.secrets_set == []
    st.set_token(TOKEN)
    st.set_api_url("not a url")
    st.save()
    assert st.errors == {"api_url": "Адрес должен начинаться с http:// или https://"}
    assert db.get(Setting, "telegram.bot_token") is None  # nothing saved: one transaction
    st.set_api_url("https://api.telegram.org")
    st.save()
    assert st.errors == {} and st.token == "" and st.secrets_set == ["token"]
    st.load()
    dumped = json.dumps(st.dict(), ensure_ascii=False)
    assert TOKEN not in dumped and st.token == "" and "token" in st.notes  # "set <when> by admin"
    assert "admin" in st.notes["token"]


def test_the_handler_refuses_without_the_permission(db, users):
    st = _state(db, "telegram.telegram", "manager")
    st.load()
    assert st.forbidden
    st.set_token(TOKEN)
    assert t("forbidden") in repr(st.save())
    assert t("forbidden") in repr(_state(db, "numbers.softphone", "manager").act("generate"))
    db.expire_all()
    assert db.get(Setting, "telegram.bot_token") is None and db.get(Setting, "numbers.softphone.secret") is None


def test_an_action_with_confirm_asks_first(db, users):
    st = _state(db, "numbers.softphone", "admin")
    st.load()
    st.act("generate")
    first = st.secret_shown
    st.hide()
    st.load()
    assert st.secrets_set == ["secret"] and st.secret_shown == ""
    st.act("rotate")  # asks first
    assert st.confirm == "rotate" and st.secret_shown == ""
    st.cancel()
    assert st.confirm == "" and st.secret_shown == ""
    st.act("rotate")
    st.act("rotate")  # "yes" (confirm_ok sends act again)
    assert st.secret_shown and st.secret_shown != first and st.check_level == "ok"


# --------------------------------------------------------------------------- the service and the declaration
def _decl(**kw) -> svc.Settings:
    key = kw.pop("key", "kitcheck.sample")
    svc.SETTINGS.pop(key, None)
    return svc.Settings(key, title="settings.check", perm="kitcheck.settings", **kw)


def test_check_results_and_a_checked_service(db, users):
    seen = {}

    def check(ctx):
        seen.update(ctx.values)
        if not ctx.values.get("key"):
            return svc.CheckResult.fail("no key")
        return svc.CheckResult.warn("key set, host unknown") if not ctx.values.get("host") else svc.CheckResult.ok("fine")

    decl = _decl(fields=[fields.secret("key"), fields.url("host"), fields.select("mode", [("a", "A"), ("b", "B")]), fields.boolean("on")],
                 check=check)
    admin = users["admin"]
    assert svc.run(db, decl, admin, "check").level == "fail"
    svc.save(db, decl, admin, {"key": "k-123", "mode": "b", "on": True})
    assert svc.run(db, decl, admin, "check") == svc.CheckResult.warn("key set, host unknown")
    assert seen["key"] == "k-123"  # the check sees the secret, server side
    svc.save(db, decl, admin, {"host": "https://example.com"})
    assert svc.run(db, decl, admin, "check").level == "ok"
    assert svc.read(db, decl, admin) == {"key": "***", "host": "https://example.com", "mode": "b", "on": True}
    with pytest.raises(ValidationFailed) as exc:
        svc.save(db, decl, admin, {"mode": "c", "host": "example.com"})
    assert set(exc.value.errors) == {"mode", "host"}
    with pytest.raises(PermissionDenied):
        svc.run(db, decl, users["manager"], "check")
    with pytest.raises(PermissionDenied):
        svc.save(db, decl, users["manager"], {"on": False})
    rows = _audit(db, "sample")
    assert rows[0].diff == {"key": [None, "***"], "mode": [None, "b"], "on": [None, True]}
    assert "k-123" not in json.dumps([r.diff for r in rows])


def test_declarations_are_checked():
    with pytest.raises(ImproperlyConfigured, match="<panel>.<name>"):
        _decl(key="nopanel")
    with pytest.raises(ImproperlyConfigured, match="unknown field kind"):
        _decl(fields=[FormField("x", "nokind")])
    with pytest.raises(ImproperlyConfigured, match="not allowed"):
        _decl(fields=[fields.text("errors")])
    with pytest.raises(ImproperlyConfigured, match="unknown field"):
        _decl(fields=[fields.text("a")], actions=[svc.SettingsAction("x", "x", lambda ctx: None, when="b")])
    with pytest.raises(ImproperlyConfigured, match="declared twice"):
        _decl(fields=[fields.text("a"), fields.text("a")])


def test_a_relation_field_names_a_record_the_user_may_see(db, users):
    from models.core import User

    decl = _decl(key="kitcheck.rel", fields=[fields.relation("owner", "admin.users")])
    admin = users["admin"]
    with pytest.raises(ValidationFailed) as exc:
        svc.save(db, decl, admin, {"owner": "987654"})
    assert exc.value.errors == {"owner": ("error.relation", {})}
    me = db.exec(select(User).where(User.username == "manager")).one()
    assert svc.save(db, decl, admin, {"owner": str(me.id)}) == ["owner"]
    assert svc.read(db, decl, admin) == {"owner": me.id}
    # the generated page shows the record's title, not its key
    st = _state(db, "kitcheck.rel", "admin")
    st.load()
    assert st.owner == str(me.id) and st.labels == {"owner": "manager"}


def test_a_number_field_is_stored_as_a_json_number(db, users):
    """A number field parses to a Decimal; the JSONB column holds a JSON number (an int when whole)."""
    from app.core import settings_page
    from app.core.resource import fields
    from app.core.settings_page import Settings
    from models.core import Setting

    decl = settings_page.SETTINGS.get("kittest.numbers") or Settings(
        "kittest.numbers", title="x", perm="admin.settings",
        fields=[fields.number("margin", min=0, max=240), fields.number("ratio", min=0, max=10)])
    settings_page.save(db, decl, users["admin"], {"margin": "20", "ratio": "1.5"})
    assert db.get(Setting, "kittest.numbers.margin").value == 20
    assert db.get(Setting, "kittest.numbers.ratio").value == 1.5
    assert decl.stored(db) == {"margin": 20, "ratio": 1.5}
    assert settings_page.save(db, decl, users["admin"], {"margin": "20.0"}) == []  # the same number: no change, no audit row
