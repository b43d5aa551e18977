"""Generic services behind every resource: list, get, create, update, delete, restore, actions.

Each function takes a DB session and the acting user, checks ``resource.can`` on the server, writes
the audit row in the same transaction, commits, and (through :mod:`app.core.bus`) publishes the
change after the commit. UI handlers, the REST API, jobs and tests all call these.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.core import audit, bus, links, rows
from app.core.auth import CurrentUser
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.kinds import field_of, kind_for
from app.core.query import ListParams, Page, get_list, parse_pk, pk_column, pk_name
from app.core.registry import RESOURCES
from app.core.resource import ActionContext, FormField, Resource


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
def parse_value(model: type, f: FormField, raw: Any) -> tuple[Any, tuple[str, dict] | None]:
    """Turn a submitted value (string from a form, or JSON value from the API) into the column's type.

    Returns ``(value, None)`` or ``(None, (i18n key, params))``. Whatever comes in, the answer is
    one of those two: a value the column cannot hold (an int beyond its type, a decimal beyond its
    ``numeric(p, s)``, a far date, text with a NUL, an object where a scalar belongs) is refused
    with its message, never left for the database to fail on (see :mod:`app.core.inputs`). The
    field's kind reads the value (:mod:`app.core.kinds`).
    """
    return kind_for(model, f).parse(field_of(model, f), raw)


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
        kind = kind_for(res.model, f)
        if kind.keeps_when_empty and not creating and not str(raw.get(f.name) or "").strip():
            continue  # a secret left empty keeps its stored value
        model_field = res.model.model_fields.get(f.name)
        if creating and f.name not in raw and f.default is None and model_field is not None and not model_field.is_required():
            # Left out (an API client): the model's default ("unchecked" or NULL would break a NOT
            # NULL column, or say something the client did not).
            model_default = model_field.get_default(call_default_factory=True)
            if model_default is not None or kind.model_default_when_left_out:
                values[f.name] = model_default
                continue
        value, error = parse_value(res.model, f, raw.get(f.name, f.default))
        if error:
            errors[f.name] = error
            continue
        if kind.links_record and value is not None:
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
        if kind.links_file and value is not None and not (record is not None and getattr(record, f.name, None) == value):
            from app.core import file_links

            error = file_links.check_link(db, user, value, res.key(), pk_of(record) if record is not None else None)
            if error:
                errors[f.name] = error
                continue
        if kind.holds_rows:
            row_errors = check_rows(db, user, f, value, record)
            if row_errors:
                errors.update(row_errors)
                continue
        if kind.links_many and f.through is not None:
            error = links.check(db, user, res.model, f, value, pk_of(record) if record is not None else None)
            if error:
                errors[f.name] = error
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
    _claim_files(db, r, user, record, values)
    linked = _save_links(db, r, user, record, values)
    linked.update(save_all_rows(db, r, user, record, values, lang))
    audit.record(db, user, "create", r.key(), pk_of(record),
                 {**{k: v for k, v in snapshot(record).items() if v is not None and k != "hashed_password"}, **{k: new for k, (_old, new) in linked.items()}})
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
    _claim_files(db, r, user, record, values)
    changes = audit.diff(before, snapshot(record))
    changes.update({k: [old, new] for k, (old, new) in _save_links(db, r, user, record, values).items() if old != new})
    changes.update({k: [old, new] for k, (old, new) in save_all_rows(db, r, user, record, values, lang).items() if old != new})
    changes.pop("hashed_password", None) and changes.setdefault("password", ["***", "***"])
    for k, old in secrets_before.items():  # masked in the snapshot: say that it changed, not to what
        if getattr(record, k) != old:
            changes[k] = ["***" if old else None, "***" if getattr(record, k) else None]
    if changes:
        audit.record(db, user, "update", r.key(), pk_of(record), changes)
        bus.mark(db, r.model.__tablename__, [pk_of(record)], "update")
    return record


def _claim_files(db: Session, r: Resource, user: CurrentUser, record: Any, values: dict[str, Any],
                 fields: list[FormField] | None = None) -> None:
    """The user's pending uploads now in the record's file fields (or an action's file ``fields``)
    become the record's (:func:`app.core.files.claim`): from then on, who may see the record may
    see them."""
    chosen = {f.name: values[f.name] for f in (r.form_fields() if fields is None else fields)
              if f.name in values and values[f.name] is not None and kind_for(r.model, f).links_file}
    if chosen:
        from app.core import file_links

        mine = file_links.claim(db, user, r.key(), pk_of(record), list(chosen.values()))
        lost = {name: ("files.not_yours", {}) for name, file_id in chosen.items() if int(file_id) not in mine}
        if lost:  # another record took the same upload a moment ago
            raise ValidationFailed(lost)


def _save_links(db: Session, r: Resource, user: CurrentUser, record: Any, values: dict[str, Any]) -> dict[str, tuple[list, list]]:
    """Replace the link rows of the many-to-many fields given in ``values`` (:mod:`app.core.links`);
    ``{field: (ids before, ids after)}`` for the audit row, the link tables marked as changed."""
    out = {}
    for f in links.many_fields(r):
        if f.name in values:
            out[f.name] = links.replace(db, user, r.model, f, pk_of(record), values[f.name])
            if out[f.name][0] != out[f.name][1]:
                bus.mark(db, f.through.__tablename__, [pk_of(record)], "update")
    return out


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
    apply_delete(db, r, user, record, lang)
    _commit(db, r)


def apply_delete(db: Session, r: Resource, user: CurrentUser, record: Any, lang: str = "ru") -> None:
    """Delete a record already read (and locked) in ``db``, without committing; see :func:`delete_record`."""
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
    bus.mark(db, r.model.__tablename__, [pk_of(record)], "delete")


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
        if error is None and kind_for(r.model, f).links_record and value is not None:
            try:
                get_record(db, _instance(RESOURCES[f.resource]), user, value)
            except (NotFound, PermissionDenied):
                error = ("error.relation", {})
        if error is None and kind_for(r.model, f).links_file and value is not None:
            # a photo the action asks for (the installation photo): the user's own upload that no
            # record holds yet; run_action gives it to the record the action runs on
            from app.core import file_links

            error = file_links.check_link(db, user, value, r.key(), None)
        if error:
            errors[f.name] = error
        else:
            values[f.name] = value
    if errors:
        raise ValidationFailed(errors)
    return values


def action_options(db: Session, user: CurrentUser, f: FormField, limit: int = 200) -> list[tuple[str, str]]:
    """(value, label) choices of an action parameter: declared options, or a relation's records."""
    if kind_for(None, f).links_record and f.resource:
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
    # a photo the action asked for becomes the file of the record it runs on (the first, of several)
    _claim_files(db, r, user, records[0], parsed, fields=spec.params)
    ctx = ActionContext(db, user, lang, parsed)
    result = spec.run(r, ctx, records) if spec.run is not None else getattr(r, name)(ctx, records)
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


# --------------------------------------------------------------------------- child rows (fields.rows)
def check_rows(db: Session, user: CurrentUser, f: FormField, sent_rows: list[dict[str, Any]], owner: Any | None) -> dict[str, tuple[str, dict]]:
    """Every cell's message (``<name>.<i>.<field>``) before anything is saved: each row parsed
    and validated as the child resource would, a row's id one of the owner's children."""
    child = rows.child_of(f)
    errors: dict[str, tuple[str, dict]] = {}
    mine = {str(pk_of(r)): r for r in rows.children(db, user, f, [pk_of(owner)])[pk_of(owner)]} if owner is not None else {}
    for i, row in enumerate(sent_rows):
        rid = rows.row_id(row)
        record = mine.get(rid) if rid else None
        if rid and record is None:
            errors[f"{f.name}.{i}"] = ("error.relation", {})
            continue
        raw = rows.raw_row(row, f)
        values, row_errors = parse_form(db, child, user, raw, creating=record is None, record=record)
        row_errors.pop(f.fk, None)  # the parent's key: set when the row is saved
        if not row_errors:
            row_errors.update(child.validate(ActionContext(db, user), values, record))
        errors.update({f"{f.name}.{i}.{k}" if k in raw else f"{f.name}.{i}": v for k, v in row_errors.items()})
    return errors


def save_rows(db: Session, user: CurrentUser, f: FormField, owner: Any, sent_rows: list[dict[str, Any]], lang: str = "ru") -> tuple[list, list]:
    """Make ``sent_rows`` the owner's children (as seen by ``user``); returns (rows before, rows after)."""
    child = rows.child_of(f)
    owner_id = pk_of(owner)
    existing = {str(pk_of(r)): r for r in rows.children(db, user, f, [owner_id], for_update=True)[owner_id]}
    before = rows.snapshot_rows(list(existing.values()), f)
    sent = {rows.row_id(r) for r in sent_rows if rows.row_id(r)}
    try:
        for rid, record in existing.items():
            if rid not in sent:
                apply_delete(db, child, user, record, lang)
        db.flush()
        for i, row in enumerate(sent_rows):
            try:
                rid = rows.row_id(row)
                if rid:
                    if rid not in existing:
                        raise ValidationFailed.one("", "error.relation")
                    apply_update(db, child, user, existing[rid], rows.raw_row(row, f), lang)
                else:
                    apply_create(db, child, user, {**rows.raw_row(row, f), f.fk: owner_id}, lang)
            except ValidationFailed as exc:
                raise ValidationFailed({(f"{f.name}.{i}.{k}" if k else f"{f.name}.{i}"): v for k, v in exc.errors.items()}) from None
    except (NotFound, PermissionDenied):
        raise ValidationFailed.one(f.name, "forbidden") from None
    after = rows.snapshot_rows(rows.children(db, user, f, [owner_id])[owner_id], f)
    return before, after


def save_all_rows(db: Session, r: Resource, user: CurrentUser, record: Any, values: dict[str, Any], lang: str = "ru") -> dict[str, tuple[list, list]]:
    """Save the child rows of every ``fields.rows`` field given in ``values``."""
    return {f.name: save_rows(db, user, f, record, values[f.name], lang) for f in rows.rows_fields(r) if f.name in values}
