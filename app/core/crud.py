"""Generic services behind every resource: list, get, create, update, delete, restore, actions.

Each function takes a DB session and the acting user, checks ``resource.can`` on the server, writes
the audit row in the same transaction, commits, and (through :mod:`app.core.bus`) publishes the
change after the commit. UI handlers, the REST API, jobs and tests all call these.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.core import audit, bus
from app.core.auth import CurrentUser
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.inputs import DATE_MAX, DATE_MIN, BadText, OutOfRange, check_date, check_decimal, check_int, clean_text
from app.core.phone import normalise_phone  # re-exported: panels import it from here
from app.core.query import ListParams, Page, get_list, parse_pk, pk_column, pk_name
from app.core.registry import RESOURCES
from app.core.resource import ActionContext, FormField, Resource, field_python_type, is_enum


def _instance(res: type[Resource] | Resource) -> Resource:
    return res() if isinstance(res, type) else res


def require(res: Resource, user: CurrentUser, operation: str, record: Any = None) -> None:
    if not res.can(user, operation, record):
        raise PermissionDenied()


# --------------------------------------------------------------------------- reading
def list_records(db: Session, res: type[Resource] | Resource, user: CurrentUser, params: ListParams) -> Page:
    r = _instance(res)
    require(r, user, "view")
    return get_list(db, r, user, params)


def get_record(db: Session, res: type[Resource] | Resource, user: CurrentUser, record_id: Any, *, for_update: bool = False) -> Any:
    """One record the user may see (the resource's scope applies), or :class:`NotFound`."""
    r = _instance(res)
    require(r, user, "view")
    try:
        pk = parse_pk(r.model, record_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    stmt = r.list_query(user, select(r.model).where(pk_column(r.model) == pk))
    if for_update:  # and re-read: the session may hold a stale copy from an earlier transaction
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    record = db.exec(stmt).first()
    if record is None:
        raise NotFound()
    return record


# --------------------------------------------------------------------------- form parsing
def field_kind(model: type, f: FormField) -> str:
    if f.kind != "auto":
        return f.kind
    tp = field_python_type(model, f.name)
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if tp in (float, Decimal):
        return "number"
    if tp in (dt.date, dt.datetime):
        return "date"
    if tp is dt.time:
        return "time"
    if is_enum(tp):
        return "select"
    info = model.model_fields.get(f.name)
    max_len = _max_length(model, f.name)
    if info is not None and max_len and max_len > 500:
        return "textarea"
    return "text"


def _max_length(model: type, name: str) -> int | None:
    column = model.__table__.columns.get(name)  # None for virtual fields
    return getattr(getattr(column, "type", None), "length", None) if column is not None else None


def field_required(model: type, f: FormField) -> bool:
    if f.required is not None:
        return f.required
    column = model.__table__.columns.get(f.name)
    if column is None:
        return False
    if column.primary_key:  # a generated id is not asked for; a key typed by people (a role's name) is
        return getattr(column.type, "python_type", None) is not int
    has_default = column.default is not None or column.server_default is not None
    info = model.model_fields.get(f.name)
    if info is not None and not info.is_required():
        has_default = True
    return not column.nullable and not has_default


def field_options(model: type, f: FormField) -> list[tuple[str, str]]:
    """(value, i18n key) pairs for select fields: declared options, or the enum's members."""
    if f.options is not None:
        return list(f.options)
    tp = field_python_type(model, f.name)
    if is_enum(tp):
        return [(m.value, f"{model.__tablename__}.{f.name}.{m.value}") for m in tp]
    return []


def parse_value(model: type, f: FormField, raw: Any) -> tuple[Any, tuple[str, dict] | None]:
    """Turn a submitted value (string from a form, or JSON value from the API) into the column's type.

    Returns ``(value, None)`` or ``(None, (i18n key, params))``. Whatever comes in, the answer is
    one of those two: a value the column cannot hold (an int beyond its type, a decimal beyond its
    ``numeric(p, s)``, a far date, text with a NUL, an object where a scalar belongs) is refused
    here with its message, never left for the database to fail on (see :mod:`app.core.inputs`).
    """
    kind = field_kind(model, f)
    if isinstance(raw, dict) or (isinstance(raw, list) and kind != "multiselect"):
        return None, ("error.value", {})  # an API client sent an object/array where a value belongs
    try:
        clean_text(raw)
    except BadText:
        return None, (BadText.key, {})
    empty = raw is None or (isinstance(raw, str) and raw.strip() == "") or (isinstance(raw, list) and not raw and kind != "multiselect")
    if kind == "bool":
        if isinstance(raw, bool):
            return raw, None
        return str(raw).strip().lower() in ("1", "true", "on", "yes", "да"), None
    if empty:
        if field_required(model, f):
            return None, ("error.required", {})
        return None, None
    if kind == "multiselect":
        values = raw if isinstance(raw, list) else [v for v in str(raw).split(",") if v]
        allowed = {v for v, _ in field_options(model, f)}
        bad = [v for v in values if not isinstance(v, str) or v not in allowed]
        return (None, ("error.choice", {})) if bad else (sorted(set(values)), None)
    text_value = raw.strip() if isinstance(raw, str) else raw
    if f.multiline and isinstance(text_value, str):  # a pasted key from Windows: one kind of line break
        text_value = text_value.replace("\r\n", "\n").replace("\r", "\n")
    column = model.__table__.columns.get(f.name)  # None for virtual fields and action params
    try:
        if kind == "relation" and f.resource and pk_name(RESOURCES[f.resource].model) != "id":
            value: Any = parse_pk(RESOURCES[f.resource].model, text_value)  # e.g. a role, keyed by name
        elif kind in ("int", "relation"):
            if isinstance(text_value, (bool, float)):
                raise ValueError
            if isinstance(text_value, str) and not re.fullmatch(r"[-+]?\d{1,30}", text_value.replace(" ", "")):
                raise ValueError
            value = int(str(text_value).replace(" ", ""))
            if kind == "relation" and f.resource:
                parse_pk(RESOURCES[f.resource].model, value)  # an id the target's key cannot hold names nothing
        elif kind in ("number", "money"):
            if isinstance(text_value, bool):
                raise ValueError
            value = Decimal(str(text_value).replace(" ", "").replace("\u00a0", "").replace(",", "."))
            check_decimal(value, column)  # before rounding: quantize cannot grow a huge value
            if kind == "money":
                value = check_decimal(value.quantize(Decimal("0.01")), column)
        elif kind == "date":
            value = check_date(dt.date.fromisoformat(str(text_value)[:10]))
        elif kind == "time":
            if not re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", str(text_value)):
                raise ValueError
            value = dt.time.fromisoformat(str(text_value).zfill(5) if len(str(text_value)) == 4 else str(text_value))
        elif kind == "select":
            options = field_options(model, f)
            if options and str(text_value) not in {v for v, _ in options}:
                return None, ("error.choice", {})
            tp = field_python_type(model, f.name)
            value = tp(str(text_value)) if is_enum(tp) or tp is int else str(text_value)
        elif kind == "phone":
            value = normalise_phone(str(text_value))
            if value is None:
                return None, ("error.phone", {})
        else:
            value = str(text_value)
        if isinstance(value, int) and not isinstance(value, bool) and kind != "relation":
            check_int(value, column)
    except OutOfRange as exc:
        if kind == "relation":
            return None, ("error.relation", {})
        if kind == "date":
            return None, ("error.date_range", {"min": _day(DATE_MIN), "max": _day(DATE_MAX)})
        return None, exc.error(_num)
    except (ValueError, InvalidOperation, TypeError):
        key = {"int": "error.int", "relation": "error.relation", "date": "error.date", "time": "error.time"}.get(kind, "error.number")
        return None, (key, {})
    if kind in ("int", "number", "money"):
        if f.min is not None and value < f.min:
            return None, ("error.min", {"min": _num(f.min)})
        if f.max is not None and value > f.max:
            return None, ("error.max", {"max": _num(f.max)})
    if isinstance(value, str):
        limit = _max_length(model, f.name)
        if limit and len(value) > limit:
            return None, ("error.max_length", {"n": limit})
    return value, None


def _day(d: dt.date) -> str:
    return d.strftime("%d.%m.%Y")


def _num(x: Any) -> str:
    if isinstance(x, (int, Decimal)):
        return str(x)
    return str(int(x)) if float(x).is_integer() else str(x)


def parse_form(
    db: Session, res: Resource, user: CurrentUser, raw: dict[str, Any], creating: bool, record: Any | None = None
) -> tuple[dict[str, Any], dict]:
    """Parse every declared form field present in ``raw`` (on create: every field). Unknown keys are ignored."""
    values: dict[str, Any] = {}
    errors: dict[str, tuple[str, dict]] = {}
    for f in res.form_fields():
        if f.name not in raw and not creating:
            continue
        if f.create_only and not creating:
            continue
        if f.kind == "secret" and not creating and not str(raw.get(f.name) or "").strip():
            continue  # a secret left empty keeps its stored value
        kind = field_kind(res.model, f)
        model_field = res.model.model_fields.get(f.name)
        if creating and f.name not in raw and f.default is None and model_field is not None and not model_field.is_required():
            # Left out (an API client): the model's default ("unchecked" or NULL would break a NOT
            # NULL column, or say something the client did not).
            model_default = model_field.get_default(call_default_factory=True)
            if model_default is not None or kind == "bool":
                values[f.name] = model_default
                continue
        value, error = parse_value(res.model, f, raw.get(f.name, f.default))
        if error:
            errors[f.name] = error
            continue
        if kind == "relation" and value is not None:
            target = _instance(RESOURCES[f.resource])
            try:
                linked = get_record(db, target, user, value)
            except (NotFound, PermissionDenied):
                errors[f.name] = ("error.relation", {})
                continue
            # A record in the trash cannot be newly linked (an existing link may stay as it is).
            unchanged = record is not None and getattr(record, f.name, None) == value
            if getattr(linked, "deleted_at", None) is not None and not unchanged:
                errors[f.name] = ("error.relation", {})
                continue
        values[f.name] = value
    return values, errors


# --------------------------------------------------------------------------- writing
def _rolls_back(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A write service owns the caller's transaction: when it fails, it rolls back, so nothing the
    failed call flushed (rows, row locks, change notices) rides along with the caller's next commit."""

    @functools.wraps(fn)
    def wrapper(db: Session, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(db, *args, **kwargs)
        except BaseException:
            db.rollback()
            raise

    return wrapper


def pk_of(record: Any) -> Any:
    """The record's primary key value (``id`` for most tables)."""
    return getattr(record, pk_name(type(record)))


def secret_columns(model: type) -> list[str]:
    """Names of the model's encrypted columns."""
    from app.core.crypto import EncryptedString

    return [c.key for c in sa_inspect(model).column_attrs if any(isinstance(col.type, EncryptedString) for col in c.columns)]


def snapshot(record: Any) -> dict[str, Any]:
    """Column values of a record, for audit diffs. Encrypted columns (secrets) appear as ``***``
    when set, so the audit log records that a secret changed, never what it is."""
    secret = set(secret_columns(type(record)))
    out = {}
    for c in sa_inspect(type(record)).column_attrs:
        value = getattr(record, c.key)
        out[c.key] = "***" if value is not None and c.key in secret else value
    return out


def _commit(db: Session, res: Resource) -> None:
    try:
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise _integrity_to_validation(res, exc) from None


def _integrity_to_validation(res: Resource, exc: IntegrityError) -> ValidationFailed:
    """Turn a unique violation into a message under the field it concerns."""
    msg = str(exc.orig)
    for f in res.form_fields():
        if f"({f.name})" in msg and "unique" in msg.lower() or (f"({f.name})=" in msg):
            return ValidationFailed.one(f.name, "error.unique")
    return ValidationFailed.one("", "error.generic")


def _flush(db: Session, res: Resource) -> None:
    try:
        db.flush()
    except IntegrityError as exc:
        raise _integrity_to_validation(res, exc) from None


def apply_create(db: Session, r: Resource, user: CurrentUser, raw: dict[str, Any], lang: str = "ru") -> Any:
    """Create without committing: parse, validate, hooks, audit row, change notice. The caller owns
    the transaction (``create_record`` commits; the importer runs one per savepoint)."""
    require(r, user, "create")
    values, errors = parse_form(db, r, user, raw, creating=True)
    ctx = ActionContext(db, user, lang)
    if not errors:
        errors.update(r.validate(ctx, values, None))
    if errors:
        raise ValidationFailed(errors)
    record = r.model(**{k: v for k, v in values.items() if k in r.model.model_fields})
    r.before_save(ctx, record, values, True)
    db.add(record)
    _flush(db, r)
    r.after_save(ctx, record, values, True)
    db.flush()
    db.refresh(record)
    audit.record(db, user, "create", r.key(), pk_of(record), {k: v for k, v in snapshot(record).items() if v is not None and k != "hashed_password"})
    bus.mark(db, r.model.__tablename__, [pk_of(record)], "create")
    return record


def apply_update(db: Session, r: Resource, user: CurrentUser, record: Any, raw: dict[str, Any], lang: str = "ru") -> Any:
    """Update a record already read (and locked) in ``db``, without committing; see :func:`apply_create`."""
    require(r, user, "update", record)
    values, errors = parse_form(db, r, user, raw, creating=False, record=record)
    ctx = ActionContext(db, user, lang)
    if not errors:
        errors.update(r.validate(ctx, values, record))
    if errors:
        raise ValidationFailed(errors)
    before = snapshot(record)
    secrets_before = {k: getattr(record, k) for k in secret_columns(type(record))}
    r.before_save(ctx, record, values, False)
    for k, v in values.items():
        if k in r.model.model_fields:
            setattr(record, k, v)
    _flush(db, r)
    r.after_save(ctx, record, values, False)
    db.flush()
    db.refresh(record)
    changes = audit.diff(before, snapshot(record))
    changes.pop("hashed_password", None) and changes.setdefault("password", ["***", "***"])
    for k, old in secrets_before.items():  # masked in the snapshot: say that it changed, not to what
        if getattr(record, k) != old:
            changes[k] = ["***" if old else None, "***" if getattr(record, k) else None]
    if changes:
        audit.record(db, user, "update", r.key(), pk_of(record), changes)
        bus.mark(db, r.model.__tablename__, [pk_of(record)], "update")
    return record


@_rolls_back
def create_record(db: Session, res: type[Resource] | Resource, user: CurrentUser, raw: dict[str, Any], lang: str = "ru") -> Any:
    r = _instance(res)
    record = apply_create(db, r, user, raw, lang)
    _commit(db, r)
    return record


@_rolls_back
def update_record(db: Session, res: type[Resource] | Resource, user: CurrentUser, record_id: Any, raw: dict[str, Any], lang: str = "ru") -> Any:
    r = _instance(res)
    record = get_record(db, r, user, record_id, for_update=True)
    apply_update(db, r, user, record, raw, lang)
    _commit(db, r)
    return record


@_rolls_back
def delete_record(db: Session, res: type[Resource] | Resource, user: CurrentUser, record_id: Any, lang: str = "ru") -> None:
    """Soft delete when the model has ``deleted_at`` (restorable from the Trash), hard delete otherwise."""
    r = _instance(res)
    record = get_record(db, r, user, record_id, for_update=True)
    require(r, user, "delete", record)
    ctx = ActionContext(db, user, lang)
    r.before_delete(ctx, record)
    if r.has_soft_delete():
        if record.deleted_at is None:
            record.deleted_at = dt.datetime.now(dt.timezone.utc)
            audit.record(db, user, "soft_delete", r.key(), pk_of(record), {"title": r.title(record)})
    else:
        audit.record(db, user, "delete", r.key(), pk_of(record), {k: v for k, v in snapshot(record).items() if k != "hashed_password"})
        db.delete(record)
    bus.mark(db, r.model.__tablename__, [record_id], "delete")
    _commit(db, r)


@_rolls_back
def restore_record(db: Session, res: type[Resource] | Resource, user: CurrentUser, record_id: Any) -> Any:
    r = _instance(res)
    if not r.has_soft_delete():
        raise NotFound()
    require(r, user, "view")
    try:
        pk = parse_pk(r.model, record_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    stmt = r.list_query(user, select(r.model).where(pk_column(r.model) == pk)).with_for_update().execution_options(populate_existing=True)
    record = db.exec(stmt).first()
    if record is None:
        raise NotFound()
    require(r, user, "restore", record)
    if record.deleted_at is not None:
        record.deleted_at = None
        audit.record(db, user, "restore", r.key(), pk_of(record), {"title": r.title(record)})
        bus.mark(db, r.model.__tablename__, [pk_of(record)], "update")
    _commit(db, r)
    return record


def parse_action_params(db: Session, r: Resource, user: CurrentUser, name: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """Parse an action's declared ``params`` like form fields; unknown keys are ignored."""
    spec = r.actions[name]
    values: dict[str, Any] = {}
    errors: dict[str, tuple[str, dict]] = {}
    raw = raw or {}
    for f in spec.params:
        value, error = parse_value(r.model, f, raw.get(f.name))
        if error is None and f.kind == "relation" and value is not None:
            try:
                get_record(db, _instance(RESOURCES[f.resource]), user, value)
            except (NotFound, PermissionDenied):
                error = ("error.relation", {})
        if error:
            errors[f.name] = error
        else:
            values[f.name] = value
    if errors:
        raise ValidationFailed(errors)
    return values


def action_options(db: Session, user: CurrentUser, f: FormField, limit: int = 200) -> list[tuple[str, str]]:
    """(value, label) choices of an action parameter: declared options, or a relation's records."""
    if f.kind == "relation" and f.resource:
        return [(str(i), title) for i, title in search_options(db, RESOURCES[f.resource], user, "", limit=limit)]
    return [(v, label) for v, label in (f.options or ())]


@_rolls_back
def run_action(db: Session, res: type[Resource] | Resource, user: CurrentUser, name: str, ids: list[Any], lang: str = "ru",
               params: dict[str, Any] | None = None) -> str | None:
    """Run a declared action on the given records, all or nothing, after checking ``can`` for each."""
    r = _instance(res)
    spec = r.actions.get(name)
    if spec is None:
        raise NotFound()
    if not r.can(user, name):
        raise PermissionDenied()
    parsed = parse_action_params(db, r, user, name, params)
    records = []
    for record_id in ids:
        record = get_record(db, r, user, record_id, for_update=True)
        require(r, user, name, record)
        records.append(record)
    if not records:
        raise ValidationFailed.one("", "error.generic")
    ctx = ActionContext(db, user, lang, parsed)
    result = getattr(r, name)(ctx, records)
    db.flush()
    if spec.audit:
        audit.record(db, user, name, r.key(), pk_of(records[0]) if len(records) == 1 else None,
                     {"ids": [pk_of(x) for x in records], **({"params": params_json(parsed)} if parsed else {})})
    bus.mark(db, r.model.__tablename__, [pk_of(x) for x in records], name)
    _commit(db, r)
    return result


def params_json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if hasattr(v, "value") else v if isinstance(v, (int, float, str, bool)) or v is None else str(v)) for k, v in values.items()}


def search_options(db: Session, res: type[Resource] | Resource, user: CurrentUser, q: str, limit: int = 20) -> list[tuple[int, str]]:
    """(id, title) of records matching ``q``, for relation pickers and relation filters."""
    r = _instance(res)
    if not r.can(user, "view"):
        return []
    params = ListParams(search=q, page_size=limit)
    page = get_list(db, r, user, params)
    return [(pk_of(row), r.title(row)) for row in page.rows]
