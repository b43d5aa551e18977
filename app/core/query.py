"""The one data-access contract every table uses: ``get_list(params) -> Page`` (react-admin's shape).

Paging is keyset whenever the sort column is NOT NULL (the id breaks ties), so page 10 000 costs
the same as page 1 and "last page" is a reversed scan. Totals are exact for small results and an
estimate from the planner otherwise (``≈ 9.8 M``), with an exact count on request. Nothing here
checks permissions; :mod:`app.core.crud` does, then calls in.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, String, Text, and_, cast, func, literal, or_, text, tuple_, union_all
from sqlalchemy.exc import OperationalError
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, select

from app.core.auth import CurrentUser
from app.core.errors import ValidationFailed
from app.core.inputs import BadText, OutOfRange, check_column_value, check_decimal, check_int, check_text
from app.core.kinds.base import escape_like
from app.core.model_types import parse_pk, pk_column, pk_name  # noqa: F401 - where callers found them
from app.core.registry import RESOURCES
from app.core.resource import Column, Filter, Resource, field_python_type, is_enum

#: Below this estimated size a result is counted exactly (if the count is quick, see COUNT_TIMEOUT_MS).
EXACT_COUNT_BELOW = 100_000
#: An exact count inline (the API's "auto" count) that takes longer than this gives way to the
#: planner's estimate: the page itself takes a few milliseconds, the count must not make it ten
#: times slower (``exact_count`` counts however long it takes; the UI refines in the background).
COUNT_TIMEOUT_MS = 30
#: A searched page first walks the sort index for at most this long (see ``_fetch``).
WALK_BUDGET_MS = 20


@dataclass
class ListParams:
    """What a list view asks for. Every value is a plain string/int so it round-trips through the URL."""

    sort: str = ""  # "name" or "-name"; empty = resource default
    filters: dict[str, str] = field(default_factory=dict)
    search: str = ""
    trash: bool = False
    page_size: int = 25
    #: keyset: "" first page, "last", "after:<token>", "before:<token>"
    cursor: str = ""
    #: offset paging (used when keyset is not possible): zero-based page number
    page: int = 0
    exact_count: bool = False
    #: "auto": count exactly when the estimate is small (bounded by COUNT_TIMEOUT_MS); "estimate":
    #: never count inline (the list page refines the total in the background instead).
    count_mode: str = "auto"
    #: The reader's language: a sort by a relation column sorts by the title they see.
    lang: str = "ru"


@dataclass
class Page:
    rows: list[Any]
    has_next: bool
    has_prev: bool
    next_cursor: str = ""
    prev_cursor: str = ""
    page: int = 0
    keyset: bool = True
    total: int | None = None
    total_is_estimate: bool = False
    sort: str = ""


# --------------------------------------------------------------------------- filters
#: Offset paging stops here: deeper pages are meaningless (big tables page by keyset), and
#: ``page * size`` must stay a valid OFFSET.
MAX_PAGE = 1_000_000


def _parse_scalar(raw: str, tp: Any, column: Any = None) -> Any:
    """One typed bound of a number filter, checked against ``column`` (ValueError when it does not fit)."""
    raw = raw.strip()
    if tp is int:
        if not re.fullmatch(r"[-+]?\d{1,30}", raw):
            raise ValueError(raw)
        return check_int(int(raw), column)
    if tp in (float, Decimal):
        try:
            value = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            raise ValueError(raw) from None
        return check_decimal(value, column)
    if tp is dt.datetime or tp is dt.date:
        return dt.date.fromisoformat(raw)
    return check_text(raw)


def _range(raw: str) -> tuple[str, str]:
    lo, _, hi = raw.partition("..")
    return lo.strip(), hi.strip()


#: What a list's own view takes from a URL or API query; a filter of the same name travels as
#: ``filter_<name>`` instead (see :func:`filter_param_name`).
RESERVED_PARAMS = frozenset({"sort", "q", "cursor", "page", "page_size", "trash", "exact_count"})


def filter_param_name(name: str) -> str:
    """The query parameter that carries filter ``name`` in the REST API (``?process=FREE``)."""
    return f"filter_{name}" if name in RESERVED_PARAMS else name


def choice_value(model: type, f: Filter, raw: str) -> str:
    """A select filter's value (one, or several joined by commas) as the column stores it, however
    it was spelled: an enum member by its value or its name, a declared option by its value, in
    any letter case (``free``, ``Free`` → ``FREE``). A link typed by hand or written from a label
    then filters instead of failing or being ignored. A value no choice matches is returned as it
    came (:func:`filter_clause` refuses it), and a select whose options are the column's distinct
    values (no enum, none declared) keeps its values as typed: there the case is data."""
    if f.kind != "select" or not raw:
        return raw
    tp = field_python_type(model, f.name)
    spellings: dict[str, str] = {}
    if f.options is not None:
        for value, _label in f.options:
            spellings.setdefault(str(value).casefold(), str(value))
    if is_enum(tp):
        for member in tp:
            spellings.setdefault(str(member.value).casefold(), str(member.value))
            spellings.setdefault(member.name.casefold(), str(member.value))
    if not spellings:
        return raw
    return ",".join(spellings.get(v.strip().casefold(), v) for v in raw.split(","))


def filters_from_query(res: Resource, query: Mapping[str, str]) -> dict[str, str]:
    """A list page's filter values from its URL query: ``f_<name>``, as the page writes its own
    URL, or the bare parameter the REST API takes (``/equipment/assets?process=FREE``: a link
    written by hand, from the docs or from an API call), each choice in its stored spelling
    (:func:`choice_value`). Every filter of the resource gets a value ("" when not in the URL)."""
    out = {}
    for f in res.filters:
        raw = query.get(f"f_{f.name}") or query.get(filter_param_name(f.name)) or ""
        out[f.name] = choice_value(res.model, f, str(raw))
    # "Подробности" under a detail page's related list: the rows of that one parent record
    for fk in related_fks(res):
        raw = query.get(f"f_{fk}") or ""
        if raw and fk not in out:
            out[fk] = str(raw)
    return out


#: The message under a filter whose value cannot be read, by filter kind.
_FILTER_ERRORS = {"select": "error.choice", "relation": "error.relation", "date": "error.date", "text": "error.text_chars"}


def filter_clause(model: type, f: Filter, raw: str) -> Any | None:
    """A WHERE clause for one filter value, or None when the value is empty.

    A value that cannot be read, or that its column cannot hold (an id with twelve digits, a date
    PostgreSQL would overflow, a NUL), raises :class:`ValidationFailed` under the filter's name:
    the list page shows the message, the API answers 422 — never a silently different list.
    """
    if raw is None or str(raw).strip() == "":
        return None
    column = getattr(model, f.name)
    table_column = model.__table__.columns.get(f.name)
    tp = field_python_type(model, f.name)
    try:
        check_text(raw)
        if f.kind == "text":
            return column.ilike(f"%{escape_like(raw.strip())}%", escape="\\")
        if f.kind == "ternary":
            return column.is_(True) if raw in ("1", "true", "yes") else or_(column.is_(False), column.is_(None))
        if f.kind in ("select", "relation"):
            values: list[Any] = [v for v in choice_value(model, f, raw).split(",") if v != ""]
            if not values:
                return None
            if is_enum(tp):
                values = [tp(v) for v in values]
            elif tp is int:
                values = [_parse_scalar(v, int, table_column) for v in values]
            if table_column is not None and isinstance(table_column.type, postgresql.JSONB):  # a list column (a user's roles): holds any
                return or_(*[column.contains([v]) for v in values])
            return column.in_(values) if len(values) > 1 else column == values[0]
        if f.kind in ("number", "date"):
            lo, hi = _range(raw)
            clauses = []
            if f.kind == "date":
                if lo:
                    clauses.append(column >= dt.date.fromisoformat(lo))
                if hi:  # inclusive end date: everything before the next midnight ("9999-12-31": no end)
                    end = dt.date.fromisoformat(hi)
                    if end < dt.date.max:
                        clauses.append(column < end + dt.timedelta(days=1))
            else:
                if lo:
                    clauses.append(column >= _parse_scalar(lo, tp, table_column))
                if hi:
                    clauses.append(column <= _parse_scalar(hi, tp, table_column))
            return and_(*clauses) if clauses else None
    except OutOfRange as exc:
        raise ValidationFailed({f.name: ("error.relation", {}) if f.kind == "relation" else exc.error()}) from None
    except (ValueError, InvalidOperation):
        key = _FILTER_ERRORS.get(f.kind) or ("error.int" if tp is int else "error.number")
        raise ValidationFailed.one(f.name, key) from None
    return None


def _fits_id(column: Any, q: str) -> bool:
    """Whether a typed search is a whole number the id column can hold (int4 or int8)."""
    if not re.fullmatch(r"\d{1,19}", q):
        return False
    try:
        check_int(int(q), column)
    except OutOfRange:
        return False
    return True


def base_query(res: Resource, user: CurrentUser, params: ListParams) -> Select:
    """SELECT of the resource's rows with scope, trash, search and filters applied; no order, no limit."""
    model = res.model
    stmt = res.list_query(user, select(model))
    if res.has_soft_delete():
        stmt = stmt.where(model.deleted_at.is_not(None) if params.trash else model.deleted_at.is_(None))
    q = params.search.strip()
    if q and res.search:
        try:
            check_text(q)
        except BadText:
            raise ValidationFailed.one("q", BadText.key) from None
        terms = [res.kind_of(name).search_clause(getattr(model, name), term) for name, term in res.search_terms(q).items()]
        id_column = model.__table__.columns.get("id")
        if id_column is not None and _fits_id(id_column, q):  # "12" is also record #12; "89161234567" is not
            terms.append(model.id == int(q))
        stmt = stmt.where(or_(*terms))
    by_name = {f.name: f for f in res.filters}
    linked = related_fks(res)
    for name, raw in params.filters.items():
        f = by_name.get(name)
        if f is None and name in linked:  # the rows of one parent record: a detail page's related list, its "more" link
            stmt = stmt.where(getattr(model, name) == _fk_value(model, name, raw))
            continue
        if f is not None:
            if f.kind == "text" and isinstance(raw, str):  # a phone filter reads the phone as stored
                raw = res.kind_of(name).search_form(raw)
            clause = filter_clause(model, f, raw)
            if clause is not None:
                stmt = stmt.where(clause)
    return stmt


def related_fks(res: Resource) -> set[str]:
    """The foreign keys of ``res``'s model that another resource's ``related`` lists by (a
    shipment's items by ``shipment_id``): a list of ``res`` filters by them whether or not it
    declares a filter of its own."""
    key = res.key()
    return {fk for other in RESOURCES.values() for _title, target, fk in getattr(other, "related", ()) if target == key}


def _fk_value(model: type, name: str, raw: Any) -> Any:
    """``raw`` (from a URL) as the foreign key column's value; a value it cannot be names no row."""
    column = model.__table__.columns[name]
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return str(raw)
    if python_type is int:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ValidationFailed.one(name, "error.value") from None
        if not -(2**63) <= value < 2**63:
            raise ValidationFailed.one(name, "error.value")
        return value
    return str(raw)


# --------------------------------------------------------------------------- primary keys


# --------------------------------------------------------------------------- sorting and paging
def resolve_sort(res: Resource, sort: str) -> tuple[str, bool]:
    """(column, descending) for a requested sort, falling back to the default for unsortable names."""
    sortable = {c.name for c in res.columns if c.is_sortable} | {pk_name(res.model)}
    name, desc = sort.lstrip("-"), sort.startswith("-")
    if not sort or name not in sortable:
        name, desc = res.default_sort.lstrip("-"), res.default_sort.startswith("-")
    return name, desc


def keyset_possible(res: Resource, sort_name: str) -> bool:
    """Whether a sort by ``sort_name`` can page by keyset: a NOT NULL column of the table itself
    (a relation column sorted by the related title is a join: offset paging)."""
    if _title_sort(res, sort_name) is not None:
        return False
    column = res.model.__table__.columns.get(sort_name)
    return res.pagination == "keyset" and column is not None and (not column.nullable or column.primary_key)


def _title_sort(res: Resource, sort_name: str) -> Column | None:
    """The relation column ``sort_name`` when a sort by it reads the related title in SQL."""
    column = next((c for c in res.columns if c.name == sort_name and c.resource), None)
    if column is None or column.resource not in RESOURCES or RESOURCES[column.resource].title_sql() is None:
        return None
    return column


def sorted_query(res: Resource, user: CurrentUser, stmt: Select, sort_name: str, desc: bool, lang: str = "ru") -> tuple[Select, list[Any]]:
    """``stmt`` with what its ORDER BY needs, and that ORDER BY (the primary key breaks ties).

    A relation column sorts by the related record's title: a LEFT JOIN to the titles the user
    may see (:func:`title_join`), NULLs (no link, or a record they may not see) last, then the
    key itself. When the related title is not a SQL column (only ``Resource.title`` knows it) the
    sort is by the key's value (the related id)."""
    model = res.model
    id_col, id_name = pk_column(model), pk_name(model)
    sort_col = getattr(model, sort_name)
    if _title_sort(res, sort_name) is not None:
        stmt, title = title_join(stmt, res, user, sort_name, lang, alias=f"sort_{sort_name}", fallback=False)
        if title is not None:
            order = [title.desc().nulls_last() if desc else title.asc().nulls_last()]
            order += [sort_col.desc() if desc else sort_col.asc(), id_col.desc() if desc else id_col.asc()]
            return stmt, order
    # NULLS LAST only where NULLs exist: on a NOT NULL column it would stop PostgreSQL from
    # walking the index backwards and force a full sort (see docs/benchmarks.md).
    nullable = model.__table__.columns[sort_name].nullable
    order = [sort_col.desc() if desc else sort_col.asc()]
    if nullable and desc:
        order = [sort_col.desc().nulls_last()]
    if sort_name != id_name:
        order.append(id_col.desc() if desc else id_col.asc())
    return stmt, order


def encode_cursor(values: list[Any]) -> str:
    from app.core.audit import jsonable

    return base64.urlsafe_b64encode(json.dumps(jsonable(values)).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> list[Any]:
    """The values a cursor token carries; ValueError for anything that is not one of ours."""
    padded = token + "=" * (-len(token) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except RecursionError:  # a hand-made token nesting thousands of arrays
        raise ValueError("not a cursor") from None


def _cursor_values(res: Resource, sort_name: str, raw: Any) -> tuple[Any, Any]:
    """A cursor's (sort value, primary key) in the columns' types.

    The token comes from the URL, so it may be stale or hand-edited: anything that does not fit the
    columns raises ValueError/TypeError here (the caller falls back to the first page) instead of
    reaching the database as a value of the wrong type.
    """
    if not isinstance(raw, list) or len(raw) != 2:
        raise TypeError("a cursor is [value, key]")
    column = res.model.__table__.columns[sort_name]
    value = raw[0]
    try:
        py = column.type.python_type
    except NotImplementedError:
        py = str
    if value is not None:
        if isinstance(value, (dict, list)) or (isinstance(value, bool) and py is not bool):
            raise TypeError("cursor value of the wrong type")
        if py is dt.datetime:
            value = dt.datetime.fromisoformat(str(value))
        elif py is dt.date:
            value = dt.date.fromisoformat(str(value))
        elif py is Decimal:
            try:
                value = Decimal(str(value))
            except InvalidOperation:
                raise ValueError("not a number") from None
            if not value.is_finite():
                raise ValueError("not a number")
        elif py is int:
            value = int(value)
        elif is_enum(py):
            value = py(value)
        elif isinstance(getattr(column.type, "impl_instance", column.type), String) and not isinstance(value, str):
            raise TypeError("cursor value of the wrong type")
        value = check_column_value(column, value)
    return value, parse_pk(res.model, raw[1])


def get_list(db: Session, res: Resource, user: CurrentUser, params: ListParams) -> Page:
    model = res.model
    sort_name, desc = resolve_sort(res, params.sort)
    sort_str = ("-" if desc else "") + sort_name
    size = max(1, min(int(params.page_size or res.page_size), 500))
    base = base_query(res, user, params)
    sort_col = getattr(model, sort_name)
    id_col = pk_column(model)
    id_name = pk_name(model)

    if not keyset_possible(res, sort_name):
        ordered_base, order = sorted_query(res, user, base, sort_name, desc, params.lang)
        page = max(0, params.page)
        if page > MAX_PAGE:
            raise ValidationFailed.one("page", "error.max", max=MAX_PAGE)
        if params.cursor == "last":
            total = count(db, base)
            page = max(0, (total - 1) // size)
        rows = list(db.exec(ordered_base.order_by(*order).offset(page * size).limit(size + 1)).all())
        has_next = len(rows) > size
        result = Page(rows=rows[:size], has_next=has_next, has_prev=page > 0, page=page, keyset=False, sort=sort_str)
        _fill_total(db, base, params, result)
        return result

    keys = (sort_col, id_col) if sort_name != id_name else (id_col,)

    def ordered(reverse: bool) -> list[Any]:
        down = desc != reverse
        return [k.desc() if down else k.asc() for k in keys]

    def after(values: tuple[Any, Any], reverse: bool) -> Any:
        down = desc != reverse
        left = tuple_(*keys) if len(keys) > 1 else keys[0]
        right = tuple_(*values) if len(keys) > 1 else values[1]
        return left < right if down else left > right

    cursor = params.cursor or ""
    reverse = False
    stmt = base
    if cursor.startswith(("after:", "before:")):
        direction, _, token = cursor.partition(":")
        try:
            values = _cursor_values(res, sort_name, decode_cursor(token))
        except (ValueError, KeyError, IndexError, TypeError):
            values = None
        if values is not None:
            reverse = direction == "before"
            stmt = stmt.where(after(values, reverse))
        else:
            cursor = ""
    elif cursor == "last":
        reverse = True
    rows = _fetch(db, stmt.order_by(*ordered(reverse)).limit(size + 1), walk=bool(params.search.strip()))
    more = len(rows) > size
    rows = rows[:size]
    if reverse:
        rows.reverse()
    if cursor.startswith("after:"):
        has_prev, has_next = True, more
    elif cursor.startswith("before:"):
        has_prev, has_next = more, True
    elif cursor == "last":
        has_prev, has_next = more, False
    else:
        has_prev, has_next = False, more

    def token(row: Any) -> str:
        return encode_cursor([getattr(row, sort_name), getattr(row, id_name)])

    result = Page(
        rows=rows,
        has_next=has_next,
        has_prev=has_prev,
        next_cursor=f"after:{token(rows[-1])}" if rows and has_next else "",
        prev_cursor=f"before:{token(rows[0])}" if rows and has_prev else "",
        keyset=True,
        sort=sort_str,
    )
    _fill_total(db, base, params, result)
    return result


# --------------------------------------------------------------------------- relations
def get_many(db: Session, res: type[Resource] | Resource, user: CurrentUser, ids: Any, lang: str = "ru") -> dict[Any, str]:
    """Titles of the records ``ids`` of ``res`` that ``user`` may see, in one query (react-admin's
    ``getMany``): ``{id: title}``. What the user may not see is left out, never named: nothing
    when ``res.can(user, "view")`` is false, and only the records ``res.list_query`` lets them
    see otherwise (soft-deleted records keep their title: a link to one still reads). An id
    that is missing from the answer is shown as ``#<id>`` (:func:`relation_text`).

    The title is :meth:`Resource.title_sql` when the model holds it in a column (only the key
    and the title are read), else :meth:`Resource.title` of the loaded records."""
    r = res() if isinstance(res, type) else res
    keys = sorted({i for i in ids if i is not None}, key=str)
    if not keys or not r.can(user, "view"):
        return {}
    pk = pk_column(r.model)
    expr = r.title_sql(lang)
    if expr is not None:
        stmt = r.list_query(user, select(pk, expr)).where(pk.in_(keys))
        return {key: str(title) if title not in (None, "") else f"#{key}" for key, title in db.exec(stmt).all()}
    stmt = r.list_query(user, select(r.model)).where(pk.in_(keys))
    name = pk_name(r.model)
    return {getattr(record, name): r.title(record) for record in db.exec(stmt).all()}


def relation_titles(db: Session, res: Resource, user: CurrentUser, rows: list[Any], lang: str = "ru") -> dict[str, dict[Any, str]]:
    """The titles a page of ``rows`` shows in its relation columns: ``{column name: {id: title}}``,
    under :func:`get_many`'s rule, read in **one** round trip for every related resource whose
    title is a column (a ``UNION ALL`` of their scoped look-ups: a numbers page has four related
    tables, and four round trips cost as much as the page itself); a title only Python knows
    (:meth:`Resource.title`) is read by its own :func:`get_many`. Two columns naming the same
    resource share one look-up."""
    by_target: dict[str, list[str]] = {}
    for c in res.columns:
        if c.resource:
            by_target.setdefault(c.resource, []).append(c.name)
    titles: dict[str, dict[Any, str]] = {}
    parts, keys_by_text = [], {}
    for n, (key, names) in enumerate(by_target.items()):
        ids = {getattr(row, name, None) for row in rows for name in names} - {None}
        titles[key] = {}
        target = RESOURCES[key]()
        if not ids or not target.can(user, "view"):
            continue
        expr = target.title_sql(lang)
        if expr is None:
            titles[key] = get_many(db, target, user, ids, lang)
            continue
        pk = pk_column(target.model)
        keys_by_text[key] = {str(i): i for i in ids}
        stmt = select(literal(n).label("target"), cast(pk, String).label("key"), cast(expr, String).label("title"))
        parts.append((key, target.list_query(user, stmt).where(pk.in_(sorted(ids, key=str)))))
    if parts:
        names = [key for key, _ in parts]
        index = {n: key for n, key in enumerate(by_target) if key in names}
        compound = parts[0][1] if len(parts) == 1 else union_all(*(stmt for _, stmt in parts))
        for target_n, text_key, title in db.execute(compound).all():
            key = index[target_n]
            original = keys_by_text[key].get(text_key, text_key)
            titles[key][original] = str(title) if title not in (None, "") else f"#{original}"
    return {name: titles[key] for key, names in by_target.items() for name in names}


def relation_text(value: Any, titles: dict[Any, str]) -> str:
    """A relation cell: the related title, ``#<id>`` when the user may not see it, "" for no link."""
    if value is None:
        return ""
    return titles.get(value, f"#{value}")


def title_join(stmt: Select, res: Resource, user: CurrentUser, name: str, lang: str = "ru", *, alias: str | None = None,
               fallback: bool = True, wrap: Callable[[Any], Any] | None = None) -> tuple[Select, Any]:
    """``stmt`` LEFT JOINed to the titles of relation column ``name`` that ``user`` may see, and the
    title expression: what an export writes and a sort orders by, in SQL (so COPY serves it).

    The join is to a sub-select of the related resource's key and :meth:`Resource.title_sql`
    under its ``list_query`` (the same rule as :func:`get_many`), so a record the user may not
    see has no title. With ``fallback`` the expression is then ``#<id>`` (what the list shows);
    without it NULL. The expression is None when the related title is not SQL (see
    :meth:`Resource.title_sql`): the caller reads titles with :func:`get_many` instead.
    ``wrap`` is applied to the title inside the sub-select, once per related record rather than
    once per row (an export neutralises texts there: ``safe_cells.sql_neutralise``)."""
    spec = next(c for c in res.columns if c.name == name and c.resource)
    target = RESOURCES[spec.resource]()
    fk = getattr(res.model, name)
    expr = target.title_sql(lang)
    if expr is None:
        return stmt, None
    missing = literal("#") + cast(fk, Text) if fallback else None
    if not target.can(user, "view"):
        return stmt, missing if missing is not None else cast(literal(None), Text)
    key = pk_column(target.model)
    title_text = cast(expr, Text)
    sub = target.list_query(user, select(key.label("key"), (wrap(title_text) if wrap else title_text).label("title"))).subquery(alias or f"rel_{name}")
    stmt = stmt.outerjoin(sub, sub.c.key == fk)
    title = func.nullif(sub.c.title, "")
    return stmt, func.coalesce(title, missing) if missing is not None else title


def count(db: Session, stmt: Select) -> int:
    return int(db.exec(select(func.count()).select_from(stmt.order_by(None).subquery())).one())


def estimate(db: Session, stmt: Select) -> int:
    """The planner's row estimate for ``stmt`` (no scan): what "≈ 9.8 M" shows on big tables."""
    compiled = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    plan = db.exec(text(f"EXPLAIN (FORMAT JSON) {compiled}")).scalar()  # type: ignore[call-overload]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def _fetch(db: Session, stmt: Select, walk: bool) -> list[Any]:
    """The page's rows. For a searched page, first walk the sort index with a short budget.

    PostgreSQL has no statistics for ``ILIKE '%fragment%'``: it guesses about a thousand matches
    whatever the fragment and reads every match through the trigram index, then sorts. For a
    common fragment ("7999" matches one row in a hundred of ten million) that reads a hundred
    thousand rows to show fifty, while walking the sort index and filtering finds them in a few
    milliseconds; for a rare fragment the walk would read the whole table. So: walk first (bitmap
    scans off) for ``WALK_BUDGET_MS``; when that runs out, the fragment is rare and the planner's
    trigram plan is the right one.
    """
    if walk:
        try:
            with db.begin_nested():
                db.exec(text("SET LOCAL enable_bitmapscan = off"))  # type: ignore[call-overload]
                # Parallel workers cost more to start than a short walk takes.
                db.exec(text("SET LOCAL max_parallel_workers_per_gather = 0"))  # type: ignore[call-overload]
                db.exec(text(f"SET LOCAL statement_timeout = {int(WALK_BUDGET_MS)}"))  # type: ignore[call-overload]
                rows = list(db.exec(stmt).all())
                db.exec(text("SET LOCAL enable_bitmapscan TO DEFAULT"))  # type: ignore[call-overload]
                db.exec(text("SET LOCAL max_parallel_workers_per_gather TO DEFAULT"))  # type: ignore[call-overload]
                db.exec(text("SET LOCAL statement_timeout TO DEFAULT"))  # type: ignore[call-overload]
            return rows
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", "") != "57014":  # query_canceled: the budget ran out
                raise
    return list(db.exec(stmt).all())


def _fill_total(db: Session, base: Select, params: ListParams, page: Page) -> None:
    if params.exact_count:
        page.total, page.total_is_estimate = count(db, base), False
        return
    if not page.has_next and not page.has_prev:
        page.total, page.total_is_estimate = len(page.rows), False
        return
    try:
        guess = estimate(db, base)
    except Exception:  # literal rendering can fail for exotic types; fall back to counting
        guess = 0
    if guess < EXACT_COUNT_BELOW and params.count_mode != "estimate":
        exact = bounded_count(db, base)
        if exact is not None:
            page.total, page.total_is_estimate = exact, False
            return
    page.total, page.total_is_estimate = guess, True


def bounded_count(db: Session, stmt: Select, timeout_ms: int | None = None) -> int | None:
    """COUNT(*) when it finishes within ``COUNT_TIMEOUT_MS``, else None (the caller shows the estimate).

    A filtered count the planner thinks is small can still scan a big table (a substring search with
    no usable index); the page must not wait for it. The savepoint keeps the caller's transaction usable.
    """
    try:
        with db.begin_nested():
            db.exec(text(f"SET LOCAL statement_timeout = {int(timeout_ms or COUNT_TIMEOUT_MS)}"))  # type: ignore[call-overload]
            n = count(db, stmt)
            # A released savepoint keeps SET LOCAL for the rest of the transaction: undo it.
            db.exec(text("SET LOCAL statement_timeout TO DEFAULT"))  # type: ignore[call-overload]
            return n
    except OperationalError:
        return None


def distinct_values(db: Session, res: Resource, user: CurrentUser, name: str, limit: int = 200) -> list[str]:
    """Options for a select filter on a free-text column: its distinct non-empty values."""
    column = getattr(res.model, name)
    stmt = res.list_query(user, select(column).where(column.is_not(None)).distinct().order_by(column).limit(limit))
    return [str(v) for v in db.exec(stmt).all() if str(v) != ""]


__all__ = ["ListParams", "Page", "get_list", "get_many", "relation_titles", "relation_text", "title_join", "pk_name", "pk_column", "parse_pk", "count", "estimate", "base_query", "distinct_values"]
