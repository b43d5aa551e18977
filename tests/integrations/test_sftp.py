"""The SFTP client against the local SFTP server over real sockets, and the SFTP hosts resource:
test connection (host key pinning), permissions, schedules kept in step, secrets never shown."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import asyncssh
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from integrations.sandbox.sftp import start_sandbox
from integrations.sftp import SftpClient, SftpError, SftpTarget, fingerprint, public_key_line

PASSWORD = "s3cret-Пароль-9f2c"


@pytest.fixture()
def sandbox(tmp_path):
    box = start_sandbox(tmp_path / "root", username="demo", password=PASSWORD)
    for folder in ("in", "out"):
        box.path(folder).mkdir()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def client_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


def private_text(key: asyncssh.SSHKey) -> str:
    return key.export_private_key("openssh").decode()


def target(box, **kw) -> SftpTarget:
    opts = {"host": "127.0.0.1", "port": box.port, "username": "demo", "password": PASSWORD, "remote_dir": "/in",
            "host_key": box.host_key, "connect_timeout": 5, "timeout": 10}
    return SftpTarget(**{**opts, **kw})


def error_of(t: SftpTarget, op=lambda c: c.check_folder()) -> SftpError:
    with pytest.raises(SftpError) as info:
        with SftpClient(t) as c:
            op(c)
    return info.value


# --------------------------------------------------------------------------- the client
def test_password_login_lists_downloads_and_moves(sandbox, tmp_path):
    (sandbox.path("in") / "b.csv").write_text("phone\n+79990000002\n")
    (sandbox.path("in") / "a.csv").write_text("phone\n+79990000001\n")
    (sandbox.path("in") / "notes.txt").write_text("x")
    (sandbox.path("in") / ".hidden.csv").write_text("x")
    (sandbox.path("in") / ".c.csv.1234.part").write_text("half")
    (sandbox.path("in") / "dir.csv").mkdir()
    with SftpClient(target(sandbox)) as c:
        assert c.check_folder() == 6
        files = c.list_files("*.csv")
        assert sorted(f.name for f in files) == ["a.csv", "b.csv"]
        assert {f.name: f.size for f in files} == {"a.csv": 19, "b.csv": 19}
        got = c.download("a.csv", tmp_path / "dl" / "a.csv")
        assert got.read_text() == "phone\n+79990000001\n"
        assert c.move("a.csv", "processed") == "/in/processed/a.csv"
        (sandbox.path("in") / "a.csv").write_text("again")
        assert c.move("a.csv", "processed") == "/in/processed/a-1.csv"
        assert [f.name for f in c.list_files("*.csv")] == ["b.csv"]
        with pytest.raises(SftpError) as missing:
            c.download("nope.csv", tmp_path / "nope.csv")
        assert missing.value.code == "file_missing" and missing.value.params == {"path": "/in/nope.csv"}
    assert sorted(p.name for p in sandbox.path("in/processed").iterdir()) == ["a-1.csv", "a.csv"]
    assert ("login", "demo password ok") in sandbox.ops


def test_key_login(sandbox, client_key):
    sandbox.authorize(public_key_line(client_key))
    with SftpClient(target(sandbox, password=None, private_key=private_text(client_key))) as c:
        assert c.check_folder() == 0
    assert ("login", "demo publickey ok") in sandbox.ops

    stranger = asyncssh.generate_private_key("ssh-ed25519")
    err = error_of(target(sandbox, password=None, private_key=private_text(stranger)))
    assert err.code == "auth_failed" and err.params == {"user": "demo", "host": "127.0.0.1"}


def test_wrong_password_is_a_clear_message_without_the_password(sandbox, caplog, client_key):
    caplog.set_level(logging.DEBUG)
    err = error_of(target(sandbox, password="wrong-" + PASSWORD))
    assert err.code == "auth_failed"

    from app.core import i18n
    from app.panels.numbers import catalog  # noqa: F401 - the messages
    from app.panels.numbers.sftp import error_message

    i18n.register(catalog.CATALOG)
    assert error_message(err, "en") == "Login failed for demo@127.0.0.1: wrong login, password or key"
    assert error_message(err, "ru") == "Вход не удался для demo@127.0.0.1: неверный логин, пароль или ключ"
    key = private_text(client_key)
    error_of(target(sandbox, password=None, private_key=key))  # a key not authorised: refused too
    secret_line = key.splitlines()[1]
    for text_ in (str(err), repr(err), caplog.text, repr(SftpClient(target(sandbox, private_key=key))), repr(target(sandbox, private_key=key))):
        assert PASSWORD not in text_ and secret_line not in text_


def test_unreachable_and_timeout(sandbox):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    err = error_of(target(sandbox, port=port))
    assert err.code == "unreachable" and err.params["port"] == str(port)

    with socket.socket() as mute:  # accepts TCP, never says a word of SSH
        mute.bind(("127.0.0.1", 0))
        mute.listen(1)
        err = error_of(target(sandbox, port=mute.getsockname()[1], connect_timeout=0.5))
    assert err.code == "timeout"

    err = error_of(target(sandbox, password=None))
    assert err.code == "no_credentials"


def test_missing_folder(sandbox):
    err = error_of(target(sandbox, remote_dir="/nope"))
    assert (err.code, err.params) == ("folder_missing", {"path": "/nope"})
    err = error_of(target(sandbox, remote_dir="/nope"), op=lambda c: c.list_files("*.csv"))
    assert (err.code, err.params) == ("folder_missing", {"path": "/nope"})


def test_host_key_is_pinned_and_checked_before_logging_in(sandbox):
    err = error_of(target(sandbox, host_key=None))
    assert (err.code, err.params["fingerprint"]) == ("host_key_unknown", sandbox.fingerprint)

    with SftpClient(target(sandbox, host_key=None, trust_unknown_host_key=True)) as c:
        assert c.server_key == sandbox.host_key and c.server_fingerprint == fingerprint(sandbox.host_key)

    sandbox.reset()
    other = public_key_line(asyncssh.generate_private_key("ssh-ed25519"))
    for trust in (False, True):  # a pinned key is never overridden by "trust on first use"
        err = error_of(target(sandbox, host_key=other, trust_unknown_host_key=trust))
        assert err.code == "host_key_changed"
        assert (err.params["expected"], err.params["got"]) == (fingerprint(other), sandbox.fingerprint)
    assert not [op for op in sandbox.ops if op[0] == "login"]  # the password never left


def test_upload_is_atomic(sandbox, tmp_path):
    local = tmp_path / "export.csv"
    local.write_bytes(b"phone\n" + b"+79990000000\n" * 50_000)  # several write requests
    (sandbox.path("out") / "numbers.csv").write_text("old")
    with SftpClient(target(sandbox, remote_dir="/out")) as c:
        assert c.upload(local, "numbers.csv") == "/out/numbers.csv"
    assert sandbox.path("out/numbers.csv").read_bytes() == local.read_bytes()
    writes = [d for op, d in sandbox.ops if op in ("open_write", "write")]
    assert writes and all(Path(d).name.startswith(".numbers.csv.") and d.endswith(".part") for d in writes)
    [(_, renamed)] = [op for op in sandbox.ops if op[0] in ("rename", "posix_rename")]
    assert renamed.endswith(" -> /out/numbers.csv") and renamed.split(" -> ")[0] == writes[0]

    sandbox.reset()
    sandbox.fail_writes(1)
    with SftpClient(target(sandbox, remote_dir="/out")) as c:
        with pytest.raises(SftpError) as failed:
            c.upload(local, "second.csv")
        assert failed.value.code == "failed"
        assert [f.name for f in c.list_files("*")] == ["numbers.csv"]
    assert sorted(p.name for p in sandbox.path("out").iterdir()) == ["numbers.csv"]  # no half file, no temp left
    assert [d for op, d in sandbox.ops if op == "remove"] == [d for op, d in sandbox.ops if op == "write_failed"]


def test_unusable_private_keys():
    from integrations.sftp import load_private_key

    with pytest.raises(SftpError) as bad:
        load_private_key("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAnotakeyatallAAAAthisisnotbase64ofakey\n-----END OPENSSH PRIVATE KEY-----")
    assert bad.value.code == "bad_key" and "notakeyatall" not in str(bad.value)
    rsa = asyncssh.generate_private_key("ssh-rsa", 2048)
    encrypted = rsa.export_private_key("pkcs8-pem", passphrase="x", cipher_name="aes256-cbc").decode()
    with pytest.raises(SftpError) as enc:
        load_private_key(encrypted)
    assert enc.value.code == "key_encrypted"


# --------------------------------------------------------------------------- the resource
@pytest.fixture()
def api(engine, redis_conn, users):
    from app.core.api import build_api

    with TestClient(build_api()) as c:
        def login(role: str) -> dict[str, str]:
            r = c.post("/api/auth/login", json={"username": role, "password": f"{role}-pass"})
            assert r.status_code == 200, r.text
            c.cookies.clear()
            return {"Authorization": f"Bearer {r.json()['token']}", "Accept-Language": "en"}

        c.login = login
        yield c


def host_payload(box, **kw) -> dict:
    return {"name": "Поставщик SFTP", "host": "127.0.0.1", "port": box.port, "username": "demo", "password": PASSWORD,
            "remote_dir": "/in", "direction": "import", "file_mask": "*.csv", **kw}


def test_test_connection_pins_the_key_and_is_admins_only(db, users, sandbox):
    from app.core import crud
    from app.core.errors import PermissionDenied, ValidationFailed
    from app.core.registry import resource
    from app.panels.numbers import sftp
    from models.core import AuditLog

    res = resource("numbers.sftp")
    host = crud.create_record(db, res, users["admin"], host_payload(sandbox))
    with pytest.raises(PermissionDenied):
        crud.run_action(db, res, users["manager"], "test_connection", [host.id])
    with pytest.raises(PermissionDenied):
        sftp.test_connection(db, users["manager"], host)
    assert sftp.pinned_host_key(db, host) is None

    message = crud.run_action(db, res, users["admin"], "test_connection", [host.id], lang="en")
    assert message.startswith("Connected: demo@127.0.0.1:") and "0 entries in /in" in message
    assert f"Host key {sandbox.fingerprint} saved" in message
    pinned = sftp.pinned_host_key(db, host)
    assert (pinned["key"], pinned["fingerprint"], pinned["trusted_by"]) == (sandbox.host_key, sandbox.fingerprint, "admin")
    assert db.exec(select(AuditLog).where(AuditLog.action == "trust_host_key")).one().diff["fingerprint"] == sandbox.fingerprint

    again = crud.run_action(db, res, users["admin"], "test_connection", [host.id], lang="ru")
    assert again.startswith("Подключение есть") and "сохранён" not in again

    # The server's key changes (a man in the middle, or a reinstall): refused until forgotten.
    sandbox.stop()
    impostor = start_sandbox(sandbox.root, username="demo", password=PASSWORD, port=sandbox.port)
    try:
        with pytest.raises(ValidationFailed) as changed:
            crud.run_action(db, res, users["admin"], "test_connection", [host.id], lang="en")
        text_ = changed.value.messages("en")[""]
        assert text_.startswith("Connection failed: The host key of 127.0.0.1:") and impostor.fingerprint in text_
        assert not [op for op in impostor.ops if op[0] == "login"]
        with pytest.raises(PermissionDenied):
            crud.run_action(db, res, users["manager"], "forget_host_key", [host.id])
        crud.run_action(db, res, users["admin"], "forget_host_key", [host.id])
        assert sftp.pinned_host_key(db, host) is None
        crud.run_action(db, res, users["admin"], "test_connection", [host.id])
        assert sftp.pinned_host_key(db, host)["fingerprint"] == impostor.fingerprint
    finally:
        impostor.stop()


def test_failed_test_connection_is_a_422_with_the_reason(db, users, sandbox, api):
    admin = api.login("admin")
    r = api.post("/api/numbers/sftp", json=host_payload(sandbox, password="wrong"), headers=admin)
    assert r.status_code == 201, r.text
    host_id = r.json()["id"]
    r = api.post(f"/api/numbers/sftp/{host_id}/actions/test_connection", headers=admin)
    assert r.status_code == 422
    assert r.json()["detail"] == "Connection failed: Login failed for demo@127.0.0.1: wrong login, password or key"
    r = api.patch(f"/api/numbers/sftp/{host_id}", json={"remote_dir": "/missing", "password": PASSWORD}, headers=admin)
    assert r.status_code == 200, r.text
    r = api.post(f"/api/numbers/sftp/{host_id}/actions/test_connection", headers=admin)
    assert r.json()["detail"] == "Connection failed: Folder /missing does not exist on the server"
    r = api.post(f"/api/numbers/sftp/{host_id}/actions/test_connection", headers=api.login("manager"))
    assert r.status_code == 403


def test_secrets_are_encrypted_and_never_shown(db, users, sandbox, api, client_key, caplog):
    caplog.set_level(logging.DEBUG)
    key = private_text(client_key)
    secret_line = key.splitlines()[1]
    sandbox.authorize(public_key_line(client_key))
    admin = api.login("admin")
    r = api.post("/api/numbers/sftp", json=host_payload(sandbox, private_key=key), headers=admin)
    assert r.status_code == 201, r.text
    host_id = r.json()["id"]
    ok = api.post(f"/api/numbers/sftp/{host_id}/actions/test_connection", headers=admin)
    assert ok.status_code == 200, ok.text
    for body in (r.text, ok.text, api.get(f"/api/numbers/sftp/{host_id}", headers=admin).text, api.get("/api/numbers/sftp", headers=admin).text):
        assert PASSWORD not in body and secret_line not in body and "BEGIN OPENSSH" not in body
    item = api.get(f"/api/numbers/sftp/{host_id}", headers=admin).json()
    assert "password" not in item and "private_key" not in item and item["username"] == "demo"
    stored = db.execute(text("SELECT password, private_key FROM sftp_host WHERE id = :i"), {"i": host_id}).one()
    assert stored[0].startswith("gAAAA") and PASSWORD not in stored[0] and secret_line not in stored[1]
    assert PASSWORD not in caplog.text and secret_line not in caplog.text
    assert api.get(f"/api/numbers/sftp/{host_id}", headers=api.login("manager")).status_code == 403


def test_audit_log_does_not_hold_secrets(db, users, sandbox):
    from app.core import crud
    from app.core.registry import resource
    from models.core import AuditLog

    host = crud.create_record(db, resource("numbers.sftp"), users["admin"], host_payload(sandbox))
    crud.update_record(db, resource("numbers.sftp"), users["admin"], host.id, {"password": PASSWORD + "-new"})
    rows = db.exec(select(AuditLog).where(AuditLog.entity_type == "numbers.sftp").order_by(AuditLog.id)).all()
    diffs = " ".join(str(a.diff) for a in rows)
    assert PASSWORD not in diffs
    assert rows[-1].action == "update" and rows[-1].diff["password"] == ["***", "***"]  # the change itself is recorded


def test_bad_private_key_is_refused_under_its_field(db, users, sandbox):
    from app.core import crud
    from app.core.errors import ValidationFailed
    from app.core.registry import resource

    with pytest.raises(ValidationFailed) as bad:
        crud.create_record(db, resource("numbers.sftp"), users["admin"], host_payload(sandbox, private_key="not a key"), lang="en")
    assert set(bad.value.errors) == {"private_key"}
    assert bad.value.messages("en")["private_key"].startswith("The private key cannot be read")


def test_schedule_follows_the_host(db, users, sandbox):
    from app.core import crud, jobs
    from app.core.errors import ValidationFailed
    from app.core.registry import resource
    from app.panels.numbers import transfers
    from models.jobs import Schedule

    res, admin = resource("numbers.sftp"), users["admin"]
    host = crud.create_record(db, res, admin, host_payload(sandbox))
    assert db.exec(select(Schedule)).all() == []  # no cron: nothing to schedule

    crud.update_record(db, res, admin, host.id, {"cron": "0 6 * * *"})
    s = db.exec(select(Schedule).where(Schedule.name == f"sftp:{host.id}")).one()
    assert (s.kind, s.cron, s.args, s.enabled, s.created_by) == ("numbers.sftp_pull", "0 6 * * *", {"host_id": host.id}, True, "admin")
    tick = s.next_fire_at
    assert tick is not None and tick.astimezone(jobs.cron_timezone()).strftime("%H:%M") == "06:00"

    crud.update_record(db, res, admin, host.id, {"name": "Переименован"})  # unrelated change: the tick stays
    db.refresh(s)
    assert s.next_fire_at == tick
    crud.update_record(db, res, admin, host.id, {"direction": "export", "cron": "30 7 * * 1-5"})
    db.refresh(s)
    assert (s.kind, s.cron, s.enabled) == ("numbers.sftp_push", "30 7 * * 1-5", True)
    crud.update_record(db, res, admin, host.id, {"is_active": "false"})
    db.refresh(s)
    assert (s.enabled, s.next_fire_at) == (False, None)
    crud.update_record(db, res, admin, host.id, {"is_active": "true", "cron": ""})
    db.refresh(s)
    assert (s.enabled, s.cron) == (False, "30 7 * * 1-5")
    with pytest.raises(ValidationFailed):
        crud.update_record(db, res, admin, host.id, {"cron": "every day"})

    crud.delete_record(db, res, admin, host.id)
    assert db.exec(select(Schedule)).all() == []

    kept = crud.create_record(db, res, admin, host_payload(sandbox, name="С историей", cron="0 6 * * *"))
    transfers.start_transfer(db, admin, "import", "sftp", "a.csv", sftp_host_id=kept.id)
    db.commit()
    with pytest.raises(ValidationFailed) as refused:
        crud.delete_record(db, res, admin, kept.id)
    assert refused.value.errors == {"": ("numbers.sftp.has_history", {})}


@pytest.mark.parametrize("algorithm", ["ssh-ed25519", "ssh-rsa"])
def test_a_multiline_private_key_entered_in_the_form_round_trips_and_connects(db, cheap_hashing, sandbox, algorithm):
    """Issue 8: the key was typed into a one-line password input, which drops its line breaks, so
    no key could be entered. The field is now the kit's multi-line write-only secret
    (``fields.secret_text``): a text area, never filled with the stored value, empty keeps it."""
    import reflex as rx

    from app.core import auth, crypto
    from app.core.kinds import kind_for
    from app.core.registry import resource
    from app.core.ui.base import AuthState
    from app.core.ui.form import FormState, field_control
    from app.panels.numbers import sftp
    from models.numbers import SftpHost
    from tests.uistate import sign_in

    res = resource("numbers.sftp")
    spec = next(f for f in res.form_fields() if f.name == "private_key")
    assert spec.kind == "secret_text" and spec.multiline and kind_for(res.model, spec).write_only
    rendered = str(field_control(res, spec))
    assert "element:RadixThemesTextArea" in rendered and "password" not in rendered  # not a one-line <input type=password>

    key = asyncssh.generate_private_key(algorithm, **({"key_size": 2048} if algorithm == "ssh-rsa" else {}))
    exported = private_text(key)  # (each export differs: OpenSSH's random check bytes)
    pasted = exported.replace("\n", "\r\n")  # pasted on Windows: CRLF line breaks
    assert pasted.count("\r\n") > 3
    sandbox.authorize(public_key_line(key))

    root = rx.State(_reflex_internal_init=True)
    form = root.substates[AuthState.get_name()].substates[FormState.get_name()]
    sign_in(form, auth.login(db, "admin", "admin-pass"))
    form.res_key = "numbers.sftp"
    form.values = {k: str(v) for k, v in host_payload(sandbox).items()}
    form.values["password"] = ""  # the key alone signs in
    form.set_value("private_key", pasted)
    form.save()
    assert not form.errors and not form.form_error, (form.errors, form.form_error)
    db.expire_all()
    host = db.exec(select(SftpHost).where(SftpHost.name == "Поставщик SFTP")).one()
    assert host.private_key == exported.strip()  # every line break kept, one kind of them
    raw = db.execute(text("SELECT private_key FROM sftp_host WHERE id = :i"), {"i": host.id}).scalar()
    assert raw.startswith("gAAAA") and crypto.decrypt(raw) == host.private_key

    ok, message = sftp.test_connection(db, cheap_hashing["admin"], host, "en")
    assert ok and message.startswith("Connected: demo@127.0.0.1:"), message
    assert any(op[0] == "login" for op in sandbox.ops)

    # the edit form never shows it; saved with the field left empty, the key stays
    from app.core.display import form_value

    assert form_value(host, spec) == ""
    form.record_id = str(host.id)
    form.values = {f.name: form_value(host, f) for f in res.form_fields()}
    form.set_value("name", "Поставщик SFTP 2")
    form.save()
    assert not form.errors, form.errors
    db.expire_all()
    again = db.get(SftpHost, host.id)
    assert again.name == "Поставщик SFTP 2" and again.private_key == exported.strip()
    ok, _ = sftp.test_connection(db, cheap_hashing["admin"], again, "en")
    assert ok
