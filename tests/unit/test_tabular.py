"""Reading uploaded tables, for both import paths (the kit's import and the numbers bulk loader),
on files crafted like the independent data set: an encoding decided on every byte, files that are
not tables refused with a message (and nothing written), UTF-16 read, physical record lines. The
kit's import runs on the fixture panel's items (``tests/kitpanel``)."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile

import pytest
from openpyxl import Workbook
from sqlmodel import func, select

from app.core import importer, tabular
from app.core.errors import ValidationFailed
from app.core.registry import resource
from app.panels.numbers import transfers
from models.numbers import PhoneNumber
from tests.kitpanel.models import Item

pytestmark = pytest.mark.usefixtures("kitpanel")

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" + bytes(range(256))


@pytest.fixture()
def uploads(tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "UPLOADS", tmp_path / "uploads")
    return tmp_path / "uploads"


def refusal(fn, *args, lang: str = "en") -> str:
    with pytest.raises(ValidationFailed) as e:
        fn(*args)
    return e.value.messages(lang)["file"]


def straddling_utf8(path, header: str, row) -> bytes:
    """About 70 KB of UTF-8 where a two-byte Cyrillic letter starts at byte 65,535, so that the
    first 64 KiB end in the middle of it (what the numbers import used to probe). ``row(i, pad)``
    makes line ``i`` with ``pad`` inside a text field."""
    data = (header + "\n").encode()
    i = 0
    while len(data) + 2 * len((row(i, "") + "\n").encode()) < 65_535:
        data += (row(i, "") + "\n").encode()
        i += 1
    k = 65_535 - len(data) - row(i, "\x01").encode().index(b"\x01")
    assert 0 <= k < 1000
    data += (row(i, "z" * k + "Ж") + "\n").encode()
    assert data[65_535:65_537] == "Ж".encode()
    while len(data) < 70_000:
        i += 1
        data += (row(i, "") + "\n").encode()
    path.write_bytes(data)
    return data


# --------------------------------------------------------------------------- encodings
def test_utf8_is_decided_on_every_byte_not_on_a_64k_cut(tmp_path, db, users, numbers_world):
    path = tmp_path / "numbers.csv"
    data = straddling_utf8(path, "Имя,Телефон", lambda i, pad: f"Иван Петров {i}{pad},+7999{i:07d}")
    assert tabular.detect_encoding(path) == "utf-8"
    rows = list(tabular.records(path))
    assert rows[0] == (1, ["Имя", "Телефон"]) and len(rows) == data.count(b"\n")
    assert all(r[1][0].startswith("Иван Петров") for r in rows[1:])
    assert any(r[1][0].endswith("zЖ") for r in rows)
    # the numbers import finds the "Телефон" column (misread as Windows-1251 it did not: every row invalid)
    stats = transfers.import_numbers(db, users["admin"], path, provider_id=numbers_world["mine"])
    assert (stats.total, stats.invalid, stats.accepted) == (len(rows) - 1, 0, len(rows) - 1)


def test_the_kit_import_reads_the_same_file(tmp_path, db, users, uploads):
    path = tmp_path / "products.csv"
    long_text = "подробное описание товара " * 12  # long rows: a few hundred records, not thousands
    straddling_utf8(path, 'Название,"Цена, ₽",Описание', lambda i, pad: f"Товар {i:05d},{100 + i},{long_text}{pad}")
    token = importer.save_upload(users["manager"], "products.csv", path.read_bytes())
    saved = importer.upload_path(users["manager"], token)
    res = resource("kitpanel.items")()
    result = importer.run_import(db, res, users["manager"], saved, importer.auto_map(res, importer.read_head(saved)[0]))
    assert result.failed == 0 and result.created == result.total > 100
    assert db.exec(select(func.count()).select_from(Item).where(Item.name.like("Товар %"))).one() == result.total


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_read(tmp_path, db, users, numbers_world, codec):
    """Excel's "Unicode text": UTF-16 with a BOM, tab-separated."""
    bom = codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE
    text = "Телефон\tИмя\r\n+7 999 111-22-33\tАнна\r\n89991112234\tПётр\r\n"
    path = tmp_path / "unicode.csv"
    path.write_bytes(bom + text.encode(codec))
    assert list(tabular.records(path)) == [(1, ["Телефон", "Имя"]), (2, ["+7 999 111-22-33", "Анна"]), (3, ["89991112234", "Пётр"])]
    assert transfers.import_numbers(db, users["admin"], path, provider_id=numbers_world["mine"]).accepted == 2
    products = tmp_path / "products.csv"
    products.write_bytes(bom + "Название\tЦена, ₽\r\nЧайник\t1500\r\n".encode(codec))
    assert importer.read_head(products) == (["Название", "Цена, ₽"], [["Чайник", "1500"]])


def test_cp1251_still_works_and_an_undefined_byte_is_refused(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes("Телефон;Имя\n+79991112233;Иван\n".encode("cp1251"))
    assert tabular.detect_encoding(path) == "cp1251"
    assert list(tabular.records(path))[1] == (2, ["+79991112233", "Иван"])
    path.write_bytes(b"name\n\x98\xff\n")  # 0x98 means nothing in Windows-1251 and is not UTF-8
    assert refusal(lambda: list(tabular.records(path))) == 'The text is neither UTF-8 nor Windows-1251: save the file as "CSV UTF-8"'


# --------------------------------------------------------------------------- files that are not tables
def _xlsx_bytes(rows) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


BAD_FILES = [
    ("picture.csv", PNG, "This is a PNG image, not a table: upload a CSV or XLSX file"),
    ("blob.csv", b"a,b\n\x00\x01\x02\x00", "This is a binary file, not CSV text (or UTF-16 text without a byte-order mark): save the table as \"CSV UTF-8\" or XLSX"),
    ("book.csv", _xlsx_bytes([["phone"], ["+79991112233"]]), "This is a ZIP archive or an Excel workbook, not CSV text: if it is XLSX, name the file .xlsx"),
    ("empty.csv", b"", "The file is empty"),
    ("blank.csv", b"\r\n  \n", "The file is empty"),
    ("empty.xlsx", b"", "The file is empty"),
    ("truncated.xlsx", _xlsx_bytes([["phone"], ["+79991112233"]])[:900], "The file does not open as an XLSX workbook: it is empty, damaged or another format. Open it in Excel and save it as \"Excel Workbook (.xlsx)\" or CSV"),
    ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "This is an old Excel workbook (.xls): save it as XLSX or CSV"),
    ("text.xlsx", "phone\n+79991112233\n".encode(), "This is a text file, not an XLSX workbook: name it .csv"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_file_that_is_not_a_table_is_refused_at_upload_and_by_both_readers(tmp_path, db, users, uploads, numbers_world, name, data, message):
    # at upload (the kit's page, the numbers page and both APIs go through save_upload): nothing kept
    assert refusal(importer.save_upload, users["admin"], name, data) == message
    assert not list(uploads.rglob("*.*"))
    # a file that arrives another way (SFTP) meets the same refusal in both readers; nothing is written
    path = tmp_path / name
    path.write_bytes(data)
    assert refusal(importer.read_head, path) == message
    assert refusal(lambda: transfers.import_numbers(db, users["admin"], path, provider_id=numbers_world["mine"])) == message
    assert db.exec(select(func.count()).select_from(PhoneNumber)).one() == 0
    assert refusal(importer.read_head, path, lang="ru")  # and in Russian


def test_a_header_without_rows_is_refused_by_both_paths(tmp_path, db, users, uploads, numbers_world):
    for name, data in (("h.csv", b"phone,name\n\n"), ("h.xlsx", _xlsx_bytes([["phone", "name"]]))):
        path = tmp_path / name
        path.write_bytes(data)
        assert refusal(importer.read_head, path) == "The file has no data rows"
        assert refusal(transfers.check_file, path) == "The file has no data rows"  # the numbers upload
        assert refusal(lambda: transfers.import_numbers(db, users["admin"], path, provider_id=numbers_world["mine"])) == "The file has no data rows"
        res = resource("kitpanel.items")()
        assert refusal(importer.run_import, db, res, users["admin"], path, {"name": "phone"}) == "The file has no data rows"
    # a one-number file without a header is a file of one number, not a header
    one = tmp_path / "one.csv"
    one.write_text("+79991112233\n")
    transfers.check_file(one)
    assert transfers.import_numbers(db, users["admin"], one, provider_id=numbers_world["mine"]).accepted == 1


def _without_cached_values(rows) -> bytes:
    """What openpyxl, pandas and other generators write: formulas with no computed value."""
    return _xlsx_bytes(rows)


def _with_cached_values(data: bytes, values: dict[str, str]) -> bytes:
    """The same workbook as Excel saves it: each formula cell also holds its last value."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                for ref, value in values.items():
                    start = body.index(f'<c r="{ref}"'.encode())
                    end = body.index(b"</c>", start)
                    cell = body[start:end].replace(b"<v />", f"<v>{value}</v>".encode())
                    if not value.isdigit():  # a text result, as Excel marks it
                        cell = cell.replace(f'<c r="{ref}"'.encode(), f'<c r="{ref}" t="str"'.encode(), 1)
                    body = body[:start] + cell + body[end:]
            dst.writestr(item, body)
    return out.getvalue()


def test_xlsx_formulas_without_computed_values_are_named_not_imported_empty(tmp_path, db, users, numbers_world):
    data = _without_cached_values([["phone", "n"], ["+79991112233", 1], ["=\"+7999111\"&\"2234\"", "=B2+1"]])
    path = tmp_path / "f.xlsx"
    path.write_bytes(data)
    message = refusal(importer.read_head, path)
    assert message.startswith("Cell A3 holds the formula =\"+7999111\"&\"2234\" without a computed value")
    assert refusal(lambda: transfers.import_numbers(db, users["admin"], path, provider_id=numbers_world["mine"])) == message
    assert db.exec(select(func.count()).select_from(PhoneNumber)).one() == 0
    # saved by Excel (values cached): the values come in
    path.write_bytes(_with_cached_values(data, {"A3": "+79991112234", "B3": "2"}))
    assert importer.read_head(path)[1] == [["+79991112233", "1"], ["+79991112234", "2"]]
    assert transfers.import_numbers(db, users["admin"], path, provider_id=numbers_world["mine"]).accepted == 2


# --------------------------------------------------------------------------- physical lines
def test_report_lines_are_the_files_lines_when_fields_hold_line_breaks(tmp_path, db, users, uploads):
    """A quoted field may span lines: the report names the line where the record starts (header = 1)."""
    path = tmp_path / "multi.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Название", "Цена, ₽", "Описание"])
        w.writerow(["Чайник", "1500", "первая строка\nвторая строка\nтретья"])  # lines 2-4
        w.writerow(["Утюг", "дорого", "одна строка"])  # line 5: a bad price
        f.write("\n")  # line 6: blank
        w.writerow(["Плита", "abc", "две\r\nстроки"])  # lines 7-8: bad
    assert [line for line, _row in tabular.records(path)] == [1, 2, 5, 7]
    res = resource("kitpanel.items")()
    mapping = {"name": "Название", "price_rub": "Цена, ₽", "description": "Описание"}
    _headers, outcomes, _raws = importer.preview(db, res, users["admin"], path, mapping, "")
    assert [(o.line, o.op) for o in outcomes] == [(2, "create"), (5, "error"), (7, "error")]
    result = importer.run_import(db, res, users["admin"], path, mapping, report_path=lambda: tmp_path / "errors.csv")
    report = list(csv.reader(open(tmp_path / "errors.csv", encoding="utf-8-sig")))
    assert [r[0] for r in report[1:]] == ["5", "7"] and result.created == 1


def test_the_numbers_report_names_physical_lines_too(tmp_path, db, users, numbers_world):
    path = tmp_path / "numbers.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["phone", "comment"])
        w.writerow(["+79991112233", "звонить\nпосле обеда"])  # lines 2-3
        w.writerow(["12345", "неверный"])  # line 4
        f.write("\n\n")  # lines 5, 6 blank
        w.writerow(["+7 999 111 22 33", "повтор"])  # line 7
    stats = transfers.import_numbers(db, users["admin"], path, provider_id=numbers_world["mine"], error_path=tmp_path / "e.csv", lang="en")
    assert (stats.accepted, stats.invalid, stats.duplicates) == (1, 1, 1)
    report = list(csv.reader(open(tmp_path / "e.csv", encoding="utf-8-sig")))
    assert [(r[0], r[3]) for r in report[1:]] == [("4", "not a valid number"), ("7", "repeated in the file")]
