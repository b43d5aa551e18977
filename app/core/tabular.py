"""Reading the tables people upload (CSV or XLSX), for both import paths: the kit's import
(:mod:`app.core.importer`) and the numbers panel's bulk loader.

* **Encoding** (:func:`detect_encoding`): a byte-order mark says UTF-8, UTF-16 or UTF-32; without
  one, the whole file goes through an incremental UTF-8 decoder chunk by chunk (a character cut
  by a chunk boundary is completed by the next chunk, never judged half), and a file that is not
  valid UTF-8 is read as Windows-1251 (what Excel in Russia saves as "CSV"). The decision is
  made on every byte, not on a sample, so a valid UTF-8 file is never misread because of
  where its first 64 KiB happen to end.
* **Files that are not tables** are refused with a message that says what the file is and what
  to do (:func:`check`): empty files, binary files (a PNG renamed ``.csv``, a ZIP, an old
  ``.xls``...), a text file named ``.xlsx``, a damaged workbook, and XLSX formulas without a
  computed value (files written by programs that do not calculate: the value would silently
  come in empty).
* **Records** (:func:`records`): the non-blank rows as lists of strings, header first, each with
  the physical line where it starts (header = line 1) — a CSV field in quotes may hold line
  breaks, so the n-th record is not the n-th line. For XLSX the line is the sheet's row number.
  Cells the kit neutralised when exporting (``'=…``, see :mod:`app.core.safe_cells`) are read
  back as the original value.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import re
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.core import i18n
from app.core.errors import ValidationFailed
from app.core.safe_cells import restore

log = logging.getLogger("pult.tabular")

CHUNK = 1 << 20
#: Characters of a CSV looked at to tell its separator.
SAMPLE = 64 * 1024
#: Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
#: Signatures of common non-text files, for a message that says what was uploaded.
MAGIC = (
    (b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF8", "gif"), (b"%PDF", "pdf"),
    (b"PK\x03\x04", "zip"), (b"\xd0\xcf\x11\xe0", "xls"), (b"\x1f\x8b", "archive"), (b"Rar!", "archive"),
    (b"7z\xbc\xaf", "archive"),
)
DELIMITERS = (";", ",", "\t")

i18n.register({
    "import.empty_file": ("Файл пуст", "The file is empty"),
    "import.binary.png": ("Это картинка PNG, а не таблица: загрузите CSV или XLSX", "This is a PNG image, not a table: upload a CSV or XLSX file"),
    "import.binary.jpeg": ("Это картинка JPEG, а не таблица: загрузите CSV или XLSX", "This is a JPEG image, not a table: upload a CSV or XLSX file"),
    "import.binary.gif": ("Это картинка GIF, а не таблица: загрузите CSV или XLSX", "This is a GIF image, not a table: upload a CSV or XLSX file"),
    "import.binary.pdf": ("Это документ PDF, а не таблица: загрузите CSV или XLSX", "This is a PDF document, not a table: upload a CSV or XLSX file"),
    "import.binary.zip": ("Это архив ZIP или книга Excel, а не текст CSV: если это XLSX, дайте файлу расширение .xlsx",
                          "This is a ZIP archive or an Excel workbook, not CSV text: if it is XLSX, name the file .xlsx"),
    "import.binary.xls": ("Это книга старого Excel (.xls): сохраните её как XLSX или CSV", "This is an old Excel workbook (.xls): save it as XLSX or CSV"),
    "import.binary.archive": ("Это архив, а не таблица: распакуйте его и загрузите CSV или XLSX", "This is an archive, not a table: unpack it and upload the CSV or XLSX file"),
    "import.binary.binary": ("Это двоичный файл, а не текст CSV (или текст в UTF-16 без метки BOM): сохраните таблицу как «CSV UTF-8» или XLSX",
                             "This is a binary file, not CSV text (or UTF-16 text without a byte-order mark): save the table as \"CSV UTF-8\" or XLSX"),
    "import.encoding": ("Текст не в кодировке UTF-8 и не Windows-1251 — сохраните файл как «CSV UTF-8»",
                        "The text is neither UTF-8 nor Windows-1251: save the file as \"CSV UTF-8\""),
    "import.bad_csv": ("Не удалось разобрать CSV в строке {line}: проверьте кавычки", "Could not parse the CSV at line {line}: check the quotes"),
    "import.bad_xlsx": ("Файл не открывается как книга XLSX: он пуст, повреждён или в другом формате. Откройте его в Excel и сохраните как «Книга Excel (.xlsx)» или CSV",
                        "The file does not open as an XLSX workbook: it is empty, damaged or another format. Open it in Excel and save it as \"Excel Workbook (.xlsx)\" or CSV"),
    "import.xlsx_is_text": ("Это текстовый файл, а не книга XLSX: дайте ему расширение .csv", "This is a text file, not an XLSX workbook: name it .csv"),
    "import.xlsx_formula": ("В ячейке {cell} формула ={formula} без вычисленного значения (файл сохранила программа, которая не считает формулы). "
                            "Откройте файл в Excel или LibreOffice и сохраните заново или замените формулы значениями",
                            "Cell {cell} holds the formula ={formula} without a computed value (the file was saved by a program that does not "
                            "calculate). Open it in Excel or LibreOffice and save it again, or replace the formulas with values"),
})


def _refuse(key: str, **params: Any) -> ValidationFailed:
    return ValidationFailed.one("file", key, **params)


# --------------------------------------------------------------------------- encoding
def detect_encoding(path: Path) -> str:
    """The codec a CSV file is read with (``utf-8-sig``, ``utf-16``, ``utf-32``, ``utf-8`` or
    ``cp1251``); raises :class:`ValidationFailed` for a file that is empty or not text."""
    with open(path, "rb") as f:
        head = f.read(4)
        for bom, codec in BOMS:
            if head.startswith(bom):
                return codec
        if not head.strip():
            if not (head + f.read(CHUNK)).strip():
                raise _refuse("import.empty_file")
        for magic, kind in MAGIC:
            if head.startswith(magic):
                raise binary_file(kind)
        f.seek(0)
        utf8 = codecs.getincrementaldecoder("utf-8")()
        is_utf8, has_0x98 = True, False
        while chunk := f.read(CHUNK):
            if b"\x00" in chunk:
                raise binary_file("binary")
            if is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
            has_0x98 = has_0x98 or b"\x98" in chunk  # the one byte Windows-1251 leaves undefined
        if is_utf8:
            try:
                utf8.decode(b"", final=True)  # a character cut off at the very end
            except UnicodeDecodeError:
                is_utf8 = False
    if is_utf8:
        return "utf-8"
    if has_0x98:
        raise _refuse("import.encoding")
    return "cp1251"


def binary_file(kind: str) -> ValidationFailed:
    """The refusal of a non-text file, naming what it is (``png``, ``zip``, ``xls``, ``binary``...)."""
    return _refuse(f"import.binary.{kind}")


# --------------------------------------------------------------------------- XLSX
def _xlsx_refusal(path: Path) -> ValidationFailed:
    """Why ``path`` does not open as a workbook, in words a user can act on."""
    with open(path, "rb") as f:
        head = f.read(CHUNK)
    if not head.strip():
        return _refuse("import.empty_file")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return binary_file("xls")
    if not head.startswith(b"PK") and b"\x00" not in head:
        try:
            head.decode("utf-8")
            return _refuse("import.xlsx_is_text")
        except UnicodeDecodeError:
            pass
    return _refuse("import.bad_xlsx")


def _open_workbook(path: Path) -> Any:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(path):
        raise _xlsx_refusal(path)
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception:  # BadZipFile, KeyError (no workbook part), InvalidFileException, XML errors...
        log.info("%s does not open as a workbook", path.name, exc_info=True)
        raise _xlsx_refusal(path) from None


def formula_without_value(path: Path, member: str) -> tuple[str, str] | None:
    """The first cell of worksheet ``member`` that holds a formula but no cached value, as
    (cell reference, formula); None when there is none. A byte scan first: most sheets hold no
    formula at all, and then the XML is not parsed."""
    import xml.etree.ElementTree as ET

    with zipfile.ZipFile(path) as z:
        with z.open(member) as f:
            tail, found = b"", False
            while chunk := f.read(CHUNK):
                if re.search(rb"<(?:\w+:)?f[\s>/]", tail + chunk):
                    found = True
                    break
                tail = chunk[-16:]
        if not found:
            return None
        with z.open(member) as f:
            for _event, elem in ET.iterparse(f, events=("end",)):
                if elem.tag.rsplit("}", 1)[-1] != "c":
                    continue
                formula = value = None
                for child in elem:
                    name = child.tag.rsplit("}", 1)[-1]
                    if name == "f":
                        formula = child
                    elif name in ("v", "is"):
                        value = child
                # No cached value: no <v> at all, or an empty one that is not an empty-text result.
                if formula is not None and (value is None or (not "".join(value.itertext()) and elem.get("t") != "str")):
                    return elem.get("r", "?"), (formula.text or "…")[:80]
                elem.clear()
    return None


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a user would type in the form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return restore(str(value).strip())


def _xlsx_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    wb = _open_workbook(path)
    try:
        ws = wb.active
        member = getattr(ws, "_worksheet_path", None)
        if member:
            bad = formula_without_value(path, member)
            if bad is not None:
                raise _refuse("import.xlsx_formula", cell=bad[0], formula=bad[1])
        for line, values in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
            row = [cell_text(v) for v in values]
            if any(row):
                yield line, row
    finally:
        wb.close()


# --------------------------------------------------------------------------- CSV
def _delimiter(sample: str) -> str:
    """The separator of a CSV (``;``, ``,`` or tab): the one that splits the header into several
    columns and the most of the following lines into as many; ``,`` for a one-column file."""
    best, best_score = ",", (0, 0)
    for d in DELIMITERS:
        rows = [r for r in csv.reader(io.StringIO(sample), delimiter=d) if any(c.strip() for c in r)]
        if not rows or len(rows[0]) < 2:
            continue
        score = (sum(1 for r in rows if len(r) == len(rows[0])), len(rows[0]))
        if score > best_score:
            best, best_score = d, score
    return best


def _csv_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, newline="") as f:
        sample = f.read(SAMPLE)
        if len(sample) == SAMPLE:
            sample = sample[: max(sample.rfind("\n"), 0)]  # whole lines only
        f.seek(0)
        reader = csv.reader(f, delimiter=_delimiter(sample), quotechar='"', doublequote=True, strict=False)
        start = 1
        try:
            for row in reader:
                cells = [c.strip() for c in row]
                if any(c[:1] == "'" for c in cells):  # rare: only then look for neutralised cells
                    cells = [restore(c) for c in cells]
                if any(cells):
                    yield start, cells
                start = reader.line_num + 1
        except csv.Error:
            raise _refuse("import.bad_csv", line=start) from None


def records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The non-blank records of a CSV/XLSX file as (start line, cells), header first."""
    if path.suffix.lower() == ".xlsx":
        return _xlsx_records(path)
    return _csv_records(path)


def check(path: Path) -> None:
    """Refuse at upload a file that cannot be read as a table (see the module docstring)."""
    if path.suffix.lower() == ".xlsx":
        next(_xlsx_records(path), None)
    else:
        detect_encoding(path)
