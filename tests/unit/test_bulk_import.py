"""``BulkImport`` as a declaration, on a resource of its own (not the numbers panel): the kit reads
the declared column (by header, else the first; no header when the first cell normalises), calls
the vectorised normaliser once over the whole column, hands the loader the raw and normalised
Series indexed by file line, writes the audit row and commits once; params are parsed and
checked; the declaration registers its job kind; bad declarations are refused."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlmodel import select

from app.core import BulkImport, Resource, fields
from app.core.bulk_import import parse_params, read_column, run_file
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.jobs import KINDS
from models.core import AuditLog
from tests.kitpanel.models import Item  # a model of the fixture panel (tests/kitpanel); no row is written to it

CALLS: list[int] = []
LOADED: list[dict] = []


def upper_or_none(values):
    """A normaliser over a whole column: trimmed, upper case; blank or with digits → invalid."""
    CALLS.append(len(values))
    s = pd.Series(values, dtype=object).str.strip().str.upper()
    return s.where(s.str.len().gt(0) & ~s.str.contains(r"\d", regex=True), None).to_numpy()


def load(b):
    LOADED.append({"raw": b.raw.to_dict(), "values": b.values.to_dict(), "params": dict(b.params), "lang": b.lang})
    b.progress(0.5, "write")
    good = b.values.dropna()
    return {"total": len(b.raw), "accepted": int(good.nunique()), "invalid": int(b.values.isna().sum())}


def check(db, user, params):
    if params.get("supplier") == "nobody":
        raise ValidationFailed.one("supplier", "error.relation")


class Codes(Resource, model=Item):
    slug = "codes"
    bulk_import = BulkImport(key="name", headers=("code", "код"), normalise=upper_or_none, run=load, check=check,
                             params=(fields.select("supplier", [("acme", "Acme")], required=True), fields.integer("batch")),
                             job="test.codes_import")


@pytest.fixture(autouse=True)
def _fresh():
    CALLS.clear()
    LOADED.clear()


def write(tmp_path, text, name="codes.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_column_is_read_by_header_or_else_the_first(tmp_path):
    spec = Codes.bulk_import
    by_header = read_column(write(tmp_path, "name;Код\nx;ab1\ny;cd\n"), spec)
    assert by_header.to_dict() == {2: "ab1", 3: "cd"}
    first = read_column(write(tmp_path, "whatever,other\nab,1\n\ncd,2\n"), spec)
    assert first.to_dict() == {2: "ab", 4: "cd"}  # lines of the file: the blank line is not a record
    no_header = read_column(write(tmp_path, "ab\ncd\n"), spec)
    assert no_header.to_dict() == {1: "ab", 2: "cd"}  # "ab" normalises: it is a value, not a header
    with pytest.raises(ValidationFailed) as empty:
        read_column(write(tmp_path, "code;other\n"), spec)
    assert empty.value.errors["file"][0] == "import.empty"


def test_run_file_normalises_once_then_loads_audits_and_commits(db, users, tmp_path):
    path = write(tmp_path, "n;code\n1; ab \n2;cd\n3;ab\n4;12\n\n5; x \n")
    out = run_file(db, Codes(), users["admin"], path, {"supplier": "acme", "batch": 7}, lang="en")
    assert CALLS == [5]  # one vectorised call for the whole column
    loaded = LOADED[0]
    assert loaded["raw"] == {2: "ab", 3: "cd", 4: "ab", 5: "12", 7: "x"}  # as the table reader gives cells
    assert loaded["values"] == {2: "AB", 3: "CD", 4: "AB", 5: None, 7: "X"}
    assert loaded["params"] == {"supplier": "acme", "batch": 7} and loaded["lang"] == "en"
    assert {k: out[k] for k in ("total", "accepted", "invalid")} == {"total": 5, "accepted": 3, "invalid": 1}
    assert set(out["seconds"]) >= {"read", "normalise"}
    row = db.exec(select(AuditLog).where(AuditLog.action == "import", AuditLog.entity_type == Codes.key())).one()
    assert row.diff["file"] == "codes.csv" and row.diff["accepted"] == 3 and row.diff["supplier"] == "acme"


def test_params_are_parsed_and_checked_and_the_user_must_be_allowed(db, users, tmp_path):
    res = Codes()
    assert parse_params(db, res, users["admin"], {"supplier": "acme", "batch": ""}) == {"supplier": "acme", "batch": None}
    with pytest.raises(ValidationFailed) as missing:
        parse_params(db, res, users["admin"], {"batch": "3"})
    assert set(missing.value.errors) == {"supplier"}
    with pytest.raises(ValidationFailed) as refused:
        parse_params(db, res, users["admin"], {"supplier": "nobody"})
    assert set(refused.value.errors) == {"supplier"}
    with pytest.raises(PermissionDenied):
        run_file(db, res, users["user"], write(tmp_path, "code\nab\n"), {"supplier": "acme"})
    with pytest.raises(ValueError, match="sftp"):  # a source the declaration does not name
        run_file(db, res, users["admin"], write(tmp_path, "code\nab\n"), {"supplier": "acme"}, source="sftp")
    assert LOADED == []
    from app.core.registry import resource

    assert resource("numbers.numbers").bulk_import.sources == ("upload", "sftp")


def test_the_declaration_registers_its_job_and_refuses_unknown_sources():
    kind = KINDS["test.codes_import"]
    assert kind.steps == ("read", "normalise", "write", "report") and kind.can(None, None) is False  # never on a schedule
    assert KINDS["numbers.import"].label == "numbers.job.import"
    with pytest.raises(ValueError, match="ftp"):
        BulkImport(key="name", normalise=upper_or_none, run=load, sources=("upload", "ftp"))
