"""Cells of the files the kit writes for people (CSV and XLSX exports, error reports, the numbers
files sent over SFTP) can never become live formulas: no formula injection.

A spreadsheet takes a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``, ``@SUM(...)``), and some also after a leading tab
or carriage return. Any user can put such a text into a record (a self-registered customer into
an order a manager exports), so every text cell written for people goes through
:func:`neutralise`, as OWASP's CSV Injection page recommends:

* A text whose first character (after any leading apostrophes) is one of :data:`DANGEROUS` gets
  a single quote in front: ``=HYPERLINK(...)`` → ``'=HYPERLINK(...)``. Spreadsheets show it as
  text; the kit's own import strips the quote again (:func:`restore`), so an exported file
  imports back to the original values.
* Except a plain number (:data:`PLAIN_NUMBER`: an optional sign, digits, one decimal point or
  comma, an optional exponent). A number cannot call anything, and it is what E.164 phones
  (``+79161234567``) and negative amounts look like: they stay as they are, so files stay
  machine-readable. ``+7 (916) 123-45-67`` is not a plain number and is quoted.
* Values that are not text (numbers, dates, booleans) are never changed.
* A text that already starts with apostrophes before a dangerous character gets one more, so
  :func:`restore` is the exact inverse of :func:`neutralise` for every string.

CSV files are also written with every field in double quotes (``csv.QUOTE_ALL``; PostgreSQL's
``FORCE_QUOTE *``): a ``;`` or ``,`` inside a value can then not start a new cell in a
spreadsheet that splits on another separator (Russian Excel splits on ``;``).
XLSX cells are always written as typed values or strings, never formulas (:func:`xlsx_cells`).

The same rule in SQL (:func:`sql_neutralise`) lets PostgreSQL's ``COPY`` write exports itself.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import IO, Any

#: First characters that make a spreadsheet read a cell as a formula (OWASP's list).
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
#: Texts left alone although they may start with + or -: they are numbers, nothing else.
PLAIN_NUMBER = r"[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)([eE][+-]?[0-9]+)?"
_PLAIN_NUMBER = re.compile(PLAIN_NUMBER)
#: The same test as :func:`needs_quote` as one PostgreSQL regular expression.
_PG_NEEDS_QUOTE = "^'*(?!" + PLAIN_NUMBER + "$)[-=+@\t\r]"


def needs_quote(text: str) -> bool:
    """True when ``text`` would be read as a formula (see the module docstring)."""
    rest = text.lstrip("'")
    return bool(rest) and rest[0] in DANGEROUS and _PLAIN_NUMBER.fullmatch(rest) is None


def neutralise(value: Any) -> Any:
    """``value`` as a file for people may hold it: a text that a spreadsheet would take as a
    formula gets a leading apostrophe; everything else is returned unchanged."""
    if isinstance(value, str) and value and needs_quote(value):
        return "'" + value
    return value


def restore(text: str) -> str:
    """The inverse of :func:`neutralise`: the value a cell of a kit-written file stands for."""
    if text[:1] == "'" and needs_quote(text[1:]):
        return text[1:]
    return text


class SafeWriter:
    """``csv.writer`` with every field quoted and every text cell neutralised."""

    def __init__(self, f: IO[str], **fmt: Any) -> None:
        self._w = csv.writer(f, quoting=csv.QUOTE_ALL, **fmt)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._w.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(f: IO[str], **fmt: Any) -> SafeWriter:
    """A CSV writer for files people open (see the module docstring)."""
    return SafeWriter(f, **fmt)


def xlsx_cells(ws: Any, values: Iterable[Any], formats: dict[int, str] | None = None) -> list[Any]:
    """Cells for ``ws.append`` of a write-only openpyxl sheet: texts neutralised and stored as
    strings (never formulas), characters XML cannot hold removed; ``formats`` maps a column
    index to a number format (e.g. ``"0%"``)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    out = []
    for i, value in enumerate(values):
        if isinstance(value, str):
            value = neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
        cell = WriteOnlyCell(ws, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # openpyxl makes any "=…" a formula unless told otherwise
        if formats and i in formats and not isinstance(value, str):
            cell.number_format = formats[i]
        out.append(cell)
    return out


def sql_neutralise(expr: Any) -> Any:
    """:func:`neutralise` as a SQL expression over a text column (for ``COPY`` exports).

    Two cheap tests first, because a regular expression costs about a microsecond a row: a text
    whose first character is harmless (most names) and a signed integer (every E.164 phone) are
    written as they are without running it."""
    from sqlalchemy import case, func, literal

    return case(
        (func.left(expr, 1).notin_((*DANGEROUS, "'")), expr),
        (expr.regexp_match("^[+-]?[0-9]+$"), expr),
        (expr.regexp_match(_PG_NEEDS_QUOTE), literal("'") + expr),
        else_=expr,
    )


#: COPY options that quote every non-NULL field, as :class:`SafeWriter` does.
COPY_CSV = "FORMAT csv, FORCE_QUOTE *"
