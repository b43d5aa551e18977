"""Import of CSV/XLSX files into any resource: upload, column mapping, preview, the import job.

The flow every resource gets (list page → "Import", or ``POST /api/<panel>/<slug>/import``):

1. :func:`save_upload` keeps the file under ``.data/uploads/<user id>/`` and returns a token.
2. :func:`read_head` gives the header and the first rows; :func:`auto_map` maps file columns to the
   resource's form fields by field name or label (Russian or English, as the export writes them).
3. :func:`preview` parses the first rows exactly as the import will and shows each row's fate:
   created, updated (when a *key* such as ``id`` or a unique field matches an existing record), or
   its errors, field by field.
4. The ``kit.import`` job (:func:`run_import`) goes through every row. Each row is written through
   the same services as the form (``crud.apply_create`` / ``apply_update``: parsing, ``validate``,
   save hooks, permission check, audit row) inside a SAVEPOINT: a row that fails is rolled back to
   the savepoint and reported, the others stay. All rows commit together at the end, so a crash or
   a cancel leaves nothing half-imported, and re-running a file with a key is idempotent.
   Failures go to an error report (CSV: row, column, message), downloadable from the job.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Session, select

from app.core import audit, bus, crud, i18n, safe_cells, tabular
from app.core.auth import CurrentUser
from app.core.config import settings
from app.core.display import label_for
from app.core.errors import PermissionDenied, PultError, ValidationFailed
from app.core.i18n import t
from app.core.kinds import field_options, kind_for
from app.core.query import pk_column, pk_name
from app.core.resource import FormField, Resource

UPLOADS = settings.files_dir / "uploads"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
PREVIEW_ROWS = 20
#: Progress is written every this many rows (the job context throttles the writes further).
PROGRESS_EVERY = 200
FORMATS = ("csv", "xlsx")
log = logging.getLogger("pult.import")

i18n.register({
    "import.title": ("Импорт: {what}", "Import: {what}"),
    "import.button": ("Импорт", "Import"),
    "import.bad_format": ("Загрузите файл CSV или XLSX", "Upload a CSV or XLSX file"),
    "import.too_big": ("Файл больше {mb} МБ", "The file is larger than {mb} MB"),
    "import.empty": ("В файле нет строк с данными", "The file has no data rows"),
    "import.unreadable": ("Не удалось прочитать файл как таблицу CSV или XLSX", "Could not read the file as a CSV or XLSX table"),
    "import.crashed": ("Импорт не выполнен из-за внутренней ошибки; ничего не записано. Подробности — в журнале сервера",
                       "The import failed because of an internal error; nothing was written. The details are in the server log"),
    "import.no_upload": ("Файл не найден, загрузите его снова", "File not found; upload it again"),
    "import.nothing_mapped": ("Сопоставьте хотя бы одну колонку с полем", "Map at least one column to a field"),
    "import.key_unmapped": ("Ключ «{name}» не сопоставлен с колонкой файла", "The key '{name}' is not mapped to a file column"),
    "import.bad_mapping": ("Сопоставление — JSON-объект {\"поле\": \"колонка\"}", 'The mapping must be a JSON object {"field": "column"}'),
    "import.bad_key": ("По этому полю нельзя искать записи", "Records cannot be matched by this field"),
    "import.unknown_column": ("В файле нет колонки «{name}»", "The file has no column '{name}'"),
    "import.key_none": ("Только добавлять новые", "Only add new records"),
    "import.op.create": ("новая", "new"),
    "import.op.update": ("обновит", "updates"),
    "import.op.error": ("ошибка", "error"),
    "import.queued": ("Импорт запущен — прогресс виден здесь и на странице задач", "Import started: follow it here or on the Jobs page"),
    "import.done": ("Импорт в «{what}»: добавлено {created}, обновлено {updated}, ошибок {failed}",
                    "Import into {what}: {created} added, {updated} updated, {failed} failed"),
    "import.row_error": ("Строка не сохранена", "Row not saved"),
    "import.report.row": ("строка", "row"),
    "import.report.column": ("колонка", "column"),
    "import.report.message": ("ошибка", "message"),
    "jobs.kind.import": ("Импорт", "Import"),
    "import.drop": ("Перетащите сюда файл CSV или XLSX или нажмите, чтобы выбрать", "Drop a CSV or XLSX file here, or click to choose one"),
    "import.help": ("Первая строка файла — заголовки колонок. Колонки с названиями полей (как в экспорте) сопоставляются сами.",
                    "The file's first row holds the column names. Columns named like the fields (as the export writes them) are mapped for you."),
    "import.mapping": ("Колонки файла → поля", "File columns → fields"),
    "import.key": ("Как находить существующие записи", "How to find existing records"),
    "import.key_help": ("Строка с таким же значением обновит запись, остальные добавятся", "A row with the same value updates that record; the others are added"),
    "import.preview": ("Предпросмотр первых строк", "Preview of the first rows"),
    "import.preview_ok": ("без ошибок", "fine"),
    "import.preview_bad": ("с ошибками", "with errors"),
    "import.start": ("Импортировать", "Import"),
    "import.start_help": ("Строки с ошибками не сохранятся и попадут в отчёт; остальные сохранятся вместе в конце",
                          "Rows with errors are skipped and listed in a report; the others are saved together at the end"),
    "import.report": ("Отчёт об ошибках", "Error report"),
    "import.to_list": ("К списку", "Back to the list"),
    "jobs.import.counting": ("Чтение файла", "Reading the file"),
    "jobs.import.rows": ("Строк: {done} из {total}", "Rows: {done} of {total}"),
})


# --------------------------------------------------------------------------- uploads
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}\.(csv|xlsx)$")


def _user_dir(user: CurrentUser) -> Path:
    return UPLOADS / str(user.id)


def save_upload(user: CurrentUser, filename: str, data: bytes) -> str:
    """Keep an uploaded file for ``user``; returns the token that names it in later calls.
    A file that cannot be read as a table is refused here with a message that says why."""
    ext = Path(filename or "").suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise ValidationFailed.one("file", "import.bad_format")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed.one("file", "import.too_big", mb=MAX_UPLOAD_BYTES // (1024 * 1024))
    token = f"{secrets.token_urlsafe(18)}.{ext}"
    folder = _user_dir(user)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / token
    path.write_bytes(data)
    try:
        tabular.check(path)  # a PNG renamed .csv, a damaged workbook...: said now, not by a failed job
    except PultError:
        path.unlink(missing_ok=True)
        raise
    return token


def upload_path(user: CurrentUser, token: str) -> Path:
    """The file behind ``token``: only its uploader's folder is looked in."""
    path = _user_dir(user) / str(token)
    if not _TOKEN.match(str(token)) or not path.is_file():
        raise ValidationFailed.one("file", "import.no_upload")
    return path


# --------------------------------------------------------------------------- reading files
def iter_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """The file's non-blank records as (line where the record starts, cells), header first
    (see :mod:`app.core.tabular`: encodings, refusals of files that are not tables)."""
    try:
        yield from tabular.records(path)
    except PultError:
        raise
    except Exception:  # anything the checks did not foresee: a message for the user, details in the log
        log.warning("import: %s could not be read", path.name, exc_info=True)
        raise ValidationFailed.one("file", "import.unreadable") from None


def iter_table(path: Path) -> Iterator[list[str]]:
    """The file's rows as lists of strings, header first; blank rows are skipped."""
    return (row for _line, row in iter_records(path))


def read_head(path: Path, n: int = PREVIEW_ROWS) -> tuple[list[str], list[list[str]]]:
    headers, head = read_head_lines(path, n)
    return headers, [row for _line, row in head]


def read_head_lines(path: Path, n: int = PREVIEW_ROWS) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the first ``n`` records with their lines; refuses a file without data rows."""
    rows = iter_records(path)
    first = next(rows, None)
    if first is None:
        raise ValidationFailed.one("file", "import.empty")
    head = [r for _, r in zip(range(n), rows)]
    if not head:
        raise ValidationFailed.one("file", "import.empty")
    return _unique_headers(first[1]), head


def count_rows(path: Path) -> int:
    return max(0, sum(1 for _ in iter_records(path)) - 1)


def _unique_headers(header: list[str]) -> list[str]:
    out, seen = [], set()
    for i, h in enumerate(header):
        name = h or f"#{i + 1}"
        while name in seen:
            name += "'"
        seen.add(name)
        out.append(name)
    return out


# --------------------------------------------------------------------------- fields, keys, mapping
def importable_fields(res: Resource) -> list[FormField]:
    """Form fields a file may fill: everything on the form except passwords and secrets."""
    return [f for f in res.form_fields() if kind_for(res.model, f).importable]


def key_fields(res: Resource) -> list[str]:
    """Fields an import can match existing records by: the primary key and single-column unique fields."""
    table = res.model.__table__
    names = [pk_name(res.model)]
    importable = {f.name for f in importable_fields(res)}
    uniques = {c.name for c in table.columns if c.unique}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and len(constraint.columns) == 1:
            uniques |= {c.name for c in constraint.columns}
    for index in table.indexes:
        if index.unique and len(index.columns) == 1:
            uniques |= {c.name for c in index.columns}
    names += [n for n in sorted(uniques) if n in importable and n not in names]
    return names


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-.,:]+", " ", str(text)).strip().casefold()


def field_label(res: Resource, name: str, lang: str) -> str:
    spec = next((f for f in res.form_fields() if f.name == name), None)
    return label_for(type(res), name, spec.label if spec else None, lang)


def auto_map(res: Resource, headers: list[str]) -> dict[str, str]:
    """{field: file column} for columns named like a field (its name, or its label in any language)."""
    by_norm = {_norm(h): h for h in headers}
    mapping: dict[str, str] = {}
    names = [f.name for f in importable_fields(res)]
    if pk_name(res.model) not in names:
        names.insert(0, pk_name(res.model))
    for name in names:
        spec = next((f for f in res.form_fields() if f.name == name), None)
        column = next((c for c in res.columns if c.name == name), None)
        candidates = {name}
        for lang in ("ru", "en"):
            candidates.add(label_for(type(res), name, spec.label if spec else None, lang))
            if column is not None:
                candidates.add(label_for(type(res), name, column.label, lang))
        for candidate in candidates:
            header = by_norm.get(_norm(candidate))
            if header is not None and header not in mapping.values():
                mapping[name] = header
                break
    return mapping


def check_mapping(res: Resource, headers: list[str], mapping: dict[str, str], key: str, lang: str = "ru") -> dict[str, str]:
    """The usable part of ``mapping`` ({field: column}); raises when the import cannot start."""
    allowed = {f.name for f in importable_fields(res)} | {pk_name(res.model)}
    clean = {f: c for f, c in mapping.items() if c and f in allowed}
    for column in clean.values():
        if column not in headers:
            raise ValidationFailed.one("mapping", "import.unknown_column", name=column)
    if not set(clean) - {pk_name(res.model)}:
        raise ValidationFailed.one("mapping", "import.nothing_mapped")
    if key:
        if key not in key_fields(res):
            raise ValidationFailed.one("key", "import.bad_key")
        if key not in clean:
            raise ValidationFailed.one("key", "import.key_unmapped", name=field_label(res, key, lang))
    return clean


# --------------------------------------------------------------------------- one row
@dataclass
class RowOutcome:
    line: int
    op: str  # create | update | error
    errors: dict[str, str] = field(default_factory=dict)  # field ("" = the row) -> message
    record: Any = None


def _find(db: Session, res: Resource, user: CurrentUser, key: str, raw_key: str, lock: bool) -> tuple[Any, tuple[str, dict] | None]:
    """The live record whose ``key`` equals the row's key value (None when there is none)."""
    if key == pk_name(res.model):
        spec = FormField(key, "int" if pk_column(res.model).type.python_type is int else "text", required=True)
    else:
        spec = next(f for f in res.form_fields() if f.name == key)
        spec = FormField(spec.name, spec.kind, required=True, options=spec.options, resource=spec.resource)
    value, error = crud.parse_value(res.model, spec, raw_key)
    if error:
        return None, error
    stmt = res.list_query(user, select(res.model).where(getattr(res.model, key) == value))
    if res.has_soft_delete():
        stmt = stmt.where(res.model.deleted_at.is_(None))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return db.exec(stmt).first(), None


def apply_row(db: Session, res: Resource, user: CurrentUser, line: int, raw: dict[str, str], key: str, lang: str,
              write: bool = True) -> RowOutcome:
    """Import one row inside its own SAVEPOINT; on failure the savepoint is rolled back and the
    errors returned. With ``write=False`` (the preview) the savepoint is always rolled back."""
    pk = pk_name(res.model)
    data = {k: v for k, v in raw.items() if k != pk}
    outcome = RowOutcome(line, "create")
    savepoint = db.begin_nested()
    try:
        existing = None
        if key:
            existing, error = _find(db, res, user, key, raw.get(key, ""), lock=write)
            if error:
                raise ValidationFailed({key: error})
            if existing is None and key == pk:
                raise ValidationFailed.one(pk, "not_found")
        if existing is not None:
            outcome.op = "update"
            if not res.can(user, "update", existing):
                raise PermissionDenied()
            outcome.record = crud.apply_update(db, res, user, existing, data, lang)
        else:
            outcome.record = crud.apply_create(db, res, user, data, lang)
    except ValidationFailed as exc:
        outcome.op, outcome.errors = "error", exc.messages(lang)
    except PultError as exc:
        outcome.op, outcome.errors = "error", {"": exc.message(lang)}
    if outcome.op == "error" or not write:
        savepoint.rollback()
    else:
        savepoint.commit()
    return outcome


def _raw_row(headers: list[str], row: list[str], mapping: dict[str, str]) -> dict[str, str]:
    index = {h: i for i, h in enumerate(headers)}
    return {f: (row[index[c]] if index[c] < len(row) else "") for f, c in mapping.items()}


def _choice_values(res: Resource, raw: dict[str, str]) -> dict[str, str]:
    """Choices written as their labels (the export writes labels, in either language) → codes."""
    out = dict(raw)
    choices_keys = {c.name: c.choices_key for c in res.columns if c.choices_key}
    for f in res.form_fields():
        kind = kind_for(res.model, f)
        if not (f.name in out and out[f.name]) or not kind.chooses:
            continue
        by_label: dict[str, str] = {}
        for value, label in field_options(res.model, f):
            keys = [str(label)] + ([f"{choices_keys[f.name]}.{value}"] if f.name in choices_keys else [])
            for key in keys:
                for lang in i18n.LANGS:
                    if i18n.has(key):
                        by_label.setdefault(_norm(i18n.t(key, lang)), str(value))
        for value, _label in field_options(res.model, f):
            by_label[_norm(str(value))] = str(value)  # a code is always itself
        parts = out[f.name].split(",") if kind.takes_list else [out[f.name]]
        out[f.name] = ",".join(by_label.get(_norm(p), p.strip()) for p in parts)
    return out


# --------------------------------------------------------------------------- preview
def preview(db: Session, res: Resource, user: CurrentUser, path: Path, mapping: dict[str, str], key: str,
            lang: str = "ru", n: int = PREVIEW_ROWS) -> tuple[list[str], list[RowOutcome], list[dict[str, str]]]:
    """Headers, each first row's outcome (nothing is written) and the rows' mapped raw values."""
    headers, head = read_head_lines(path, n)
    clean = check_mapping(res, headers, mapping, key, lang)
    require_import(res, user, key)
    outcomes, raws = [], []
    try:
        for line, row in head:
            raw = _raw_row(headers, row, clean)
            outcomes.append(apply_row(db, res, user, line, _choice_values(res, raw), key, lang, write=False))
            raws.append(raw)
    finally:
        db.rollback()
    return headers, outcomes, raws


def require_import(res: Resource, user: CurrentUser, key: str) -> None:
    """Importing needs ``create``; matching a key may also update, which needs ``update``."""
    if "create" not in res.operations or not res.can(user, "create"):
        raise PermissionDenied()
    if key and ("update" not in res.operations or not res.can(user, "update")):
        raise PermissionDenied()


# --------------------------------------------------------------------------- the import itself
@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    report: Path | None = None


def run_import(
    db: Session,
    res: Resource,
    user: CurrentUser,
    path: Path,
    mapping: dict[str, str],
    key: str = "",
    lang: str = "ru",
    report_path: Callable[[], Path] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import every row of ``path``; commit once at the end (see the module docstring)."""
    require_import(res, user, key)
    total = count_rows(path)
    if total == 0:  # a header and nothing else: say so rather than "0 added"
        raise ValidationFailed.one("file", "import.empty")
    rows = iter_records(path)
    headers = _unique_headers(next(rows, (1, []))[1])
    clean = check_mapping(res, headers, mapping, key, lang)
    result = ImportResult(total=total)
    report = None
    writer = None
    column_of = {f: c for f, c in clean.items()}
    try:
        for i, (line, row) in enumerate(rows):  # line: where the record starts in the file (header = 1)
            outcome = apply_row(db, res, user, line, _choice_values(res, _raw_row(headers, row, clean)), key, lang)
            if outcome.op == "error":
                result.failed += 1
                if writer is None:
                    result.report = report_path() if report_path else path.with_suffix(".errors.csv")
                    report = open(result.report, "w", newline="", encoding="utf-8-sig")
                    writer = safe_cells.writer(report)
                    writer.writerow([t("import.report.row", lang), t("import.report.column", lang), t("import.report.message", lang)])
                for name, message in outcome.errors.items():
                    writer.writerow([line, column_of.get(name, field_label(res, name, lang) if name else ""), message or t("import.row_error", lang)])
            elif outcome.op == "update":
                result.updated += 1
            else:
                result.created += 1
            if progress and (i + 1) % PROGRESS_EVERY == 0:
                progress(i + 1, total)
        # One change notice for the table instead of one per row.
        changes = [c for c in db.info.get("pult_changes", []) if c["model"] != res.model.__tablename__]
        db.info["pult_changes"] = changes
        if result.created or result.updated:
            bus.mark(db, res.model.__tablename__, [], "import")
        audit.record(db, user, "import", res.key(), None, {
            "file": path.name, "key": key, "mapping": clean,
            "created": result.created, "updated": result.updated, "failed": result.failed,
        })
        db.commit()
    except BaseException:
        db.rollback()
        raise
    finally:
        if report is not None:
            report.close()
    if progress:
        progress(total, total)
    return result
