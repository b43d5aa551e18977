"""The field kind contract and its registry.

A *kind* says what a value of a column or form field is: how a submitted value (a form's string,
an API's JSON value, an import's cell) becomes the column's type, which JSON type the API documents
for it, how a list cell / detail page / export shows it, what a search for it matches, and how a
whole column of raw values is parsed at once (a bulk import). One class per kind, registered by
name; every consumer (:mod:`app.core.crud`, :mod:`app.core.api`, :mod:`app.core.display`, the
list search in :mod:`app.core.query`, the UI) asks the kind instead of branching on its name.

The Reflex side (the form control and the list cell component) lives in :mod:`app.core.ui` — the
workers never import Reflex — and is looked up there by the names a kind gives in :attr:`Kind.widget`
and :attr:`Kind.cell`, so a kind that reuses an existing control is one file.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from app.core.inputs import BadText, OutOfRange, check_int, clean_text
from app.core.model_types import field_python_type, is_enum

#: A resource key ("stock.products") -> its model, or None. The registry installs it when imported,
#: so a relation field can read its target's key type without the kinds importing the registry
#: (which sits above them).
resource_model: Callable[[str], type | None] = lambda key: None

#: (i18n key, params) of a refused value.
Error = tuple[str, dict]


class Invalid(ValueError):
    """Raised by :meth:`Kind.convert` for a value the kind refuses with its own message."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.error: Error = (key, params)


class Kind:
    """One field kind. Subclass, set :attr:`name`, override the hooks that differ, decorate with
    :func:`register_kind`. Instances are stateless singletons: the field in question (a form
    field, or a column) is passed to each hook."""

    #: The name declarations use: ``FormField.kind`` / ``Column.kind``.
    name: ClassVar[str] = ""
    #: The message for a value :meth:`convert` cannot read (``ValueError``).
    invalid: ClassVar[str] = "error.value"
    #: Takes a JSON list (a multiselect); every other kind refuses a list or an object.
    takes_list: ClassVar[bool] = False
    #: :meth:`display` gets a list value whole (a checklist numbers its items), instead of each item
    #: shown on its own and joined with commas (a multiselect's values)
    shows_lists: ClassVar[bool] = False
    #: Never shown back (a password, an API key): forms start empty, the detail page shows ``***``,
    #: an edit that leaves it empty keeps the stored value (see :attr:`keeps_when_empty`).
    write_only: ClassVar[bool] = False
    #: On an edit, an empty value leaves the stored one as it is (secrets).
    keeps_when_empty: ClassVar[bool] = False
    #: Offered as an import column (a secret is not).
    importable: ClassVar[bool] = True
    #: An integer value is checked against the range of the field's column.
    checks_int_range: ClassVar[bool] = True
    #: Stored in the field's own column (a password is not: it is hashed into another).
    stored: ClassVar[bool] = True
    #: Left out of an API body on create, the field gets the model's default (not the kind's empty value).
    model_default_when_left_out: ClassVar[bool] = False
    #: The value is the key of a record of the field's ``resource``: the services check that the
    #: user may see that record (and that it is not in the trash) before linking it.
    links_record: ClassVar[bool] = False
    #: The value is a list of keys of the field's ``resource`` kept in a link table (``fields.many``,
    #: :mod:`app.core.links`): checked like :attr:`links_record`, saved beside the record.
    links_many: ClassVar[bool] = False
    #: The value is a list of child records (``fields.rows``, :mod:`app.core.rows`), each saved
    #: through the child resource's own services with the parent.
    holds_rows: ClassVar[bool] = False
    #: The value is the id of an uploaded file (``fields.photo`` / ``fields.file``, :mod:`app.core.files`):
    #: the services accept only a file this record owns or one the user uploaded that no record
    #: owns yet, and make it the record's when it is saved.
    links_file: ClassVar[bool] = False
    #: The value is one (or, with :attr:`takes_list`, several) of the field's options: an import
    #: reads an option's label, in either language, as its code.
    chooses: ClassVar[bool] = False
    #: The XLSX cell format of this kind's cells in an export ("0%" for a share), or None.
    xlsx_format: ClassVar[str | None] = None
    #: Checked against the field's ``min`` / ``max``.
    bounded: ClassVar[bool] = False
    #: Right-aligned in tables (a number people compare by magnitude).
    align_right: ClassVar[bool] = False
    #: Long text wraps in a list cell; everything else stays on one line.
    wraps: ClassVar[bool] = False
    #: The UI control a form shows (``app.core.ui.form.WIDGETS``) and its HTML input type.
    widget: ClassVar[str] = "input"
    input_type: ClassVar[str] = "text"
    input_mode: ClassVar[str | None] = None
    #: The list cell component (``app.core.ui.list_page.CELLS``).
    cell: ClassVar[str] = "text"
    #: Written after the shown value on a detail page ("42 %").
    unit: ClassVar[str] = ""
    #: The kind's own messages ``{i18n key: (ru, en)}``, added to the catalogue when it registers
    #: (a kind is one file, its texts included).
    messages: ClassVar[dict[str, tuple[str, str]]] = {}

    # -- parsing ------------------------------------------------------------
    def parse(self, field: Field, raw: Any) -> tuple[Any, Error | None]:
        """A submitted value → ``(value, None)`` or ``(None, (i18n key, params))``, never an exception.

        The steps every kind shares (an object where a value belongs, text PostgreSQL cannot
        store, empty → required or None, the column's integer range, ``min``/``max``, the column's
        length) are here; :meth:`convert` is the kind's own reading of a non-empty value."""
        if isinstance(raw, dict) or (isinstance(raw, list) and not self.takes_list):
            return None, ("error.value", {})  # an API client sent an object/array where a value belongs
        try:
            clean_text(raw)
        except BadText:
            return None, (BadText.key, {})
        if self.is_empty(raw):
            return self.empty(field)
        value_in = raw.strip() if isinstance(raw, str) else raw
        if field.spec is not None and getattr(field.spec, "multiline", False) and isinstance(value_in, str):
            value_in = value_in.replace("\r\n", "\n").replace("\r", "\n")  # a key pasted from Windows: one kind of line break
        try:
            value = self.convert(field, value_in)
            if self.checks_int_range and isinstance(value, int) and not isinstance(value, bool):
                check_int(value, field.column)
        except Invalid as exc:
            return None, exc.error
        except OutOfRange as exc:
            return None, self.out_of_range(field, exc)
        except (ValueError, InvalidOperation, TypeError):
            return None, (self.invalid, {})
        if self.bounded and field.spec is not None:
            lo, hi = field.spec.min, field.spec.max
            if lo is not None and value < lo:
                return None, ("error.min", {"min": fmt_bound(lo)})
            if hi is not None and value > hi:
                return None, ("error.max", {"max": fmt_bound(hi)})
        if isinstance(value, str):
            limit = field.max_length
            if limit and len(value) > limit:
                return None, ("error.max_length", {"n": limit})
        return value, None

    def is_empty(self, raw: Any) -> bool:
        return raw is None or (isinstance(raw, str) and raw.strip() == "") or (isinstance(raw, list) and not raw and not self.takes_list)

    def empty(self, field: Field) -> tuple[Any, Error | None]:
        """What an empty value means: "required" for a required field, else None (no value)."""
        return (None, ("error.required", {})) if field.required else (None, None)

    def convert(self, field: Field, value: Any) -> Any:
        """A non-empty value (stripped when text) → the column's value. Raise ``ValueError`` for
        :attr:`invalid`, :class:`Invalid` for a message of the kind's own, or ``OutOfRange``."""
        return str(value)

    def out_of_range(self, field: Field, exc: OutOfRange) -> Error:
        return exc.error(fmt_bound)

    def parse_many(self, raws: Any, field: Field | None = None) -> list[Any]:
        """A whole column of raw values (a list or a pandas Series) → their values in order,
        ``None`` where a value is missing or refused. Kinds with a vectorised reading (phone)
        override this; the answers must stay those of :meth:`parse`."""
        field = field or Field(None, "")
        return [None if error else value for value, error in (self.parse(field, raw) for raw in raws)]

    # -- API ----------------------------------------------------------------
    def json_schema(self, field: Field) -> dict[str, Any]:
        """The JSON schema of the value an API client sends (the OpenAPI request body)."""
        return {"type": "string"}

    def example(self, field: Field) -> Any:
        """A value for the OpenAPI request example."""
        return field.name.replace("_", " ")

    # -- display --------------------------------------------------------------
    def display(self, value: Any, lang: str, currency: str | None = None) -> str:
        """A (non-None, enum already unwrapped) value as a list cell, detail page and CSV show it."""
        from app.core.formats import fmt_datetime, fmt_number
        from app.core.i18n import t

        if isinstance(value, bool):
            return t("yes" if value else "no", lang)
        if isinstance(value, (dt.date, dt.datetime)):
            return fmt_datetime(value, True)
        if isinstance(value, (int, Decimal, float)):
            return fmt_number(value, lang)
        return str(value)

    def export_text(self, value: Any, lang: str) -> Any:
        """A (non-None) value in a CSV export, or None for the exporter's own rules (booleans as
        ``true``/``false``, dates ISO, numbers as they are)."""
        return None

    @property
    def copy_exportable(self) -> bool:
        """Whether PostgreSQL's ``COPY`` may write this kind's CSV cells (the exporter's fast path):
        not when the kind writes its own :meth:`export_text`."""
        return type(self).export_text is Kind.export_text

    def form_value(self, value: Any) -> str:
        """The string an edit form starts with for a stored (non-None) value."""
        if self.write_only:
            return ""
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, bool):
            return "1" if value else ""
        if isinstance(value, (list, tuple)):
            return ",".join(str(v) for v in value)
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        return str(value)

    def initial(self, field: Field) -> str:
        """The string a create form starts with (the declared default)."""
        default = field.spec.default if field.spec is not None else None
        return "" if default is None else str(default)

    def marks(self, field: Field, editing: bool) -> tuple[bool, bool]:
        """(required star, help text shown) of the field on the create (``editing`` False) or edit form."""
        return field.required, bool(getattr(field.spec, "help", None))

    # -- search ---------------------------------------------------------------
    def search_form(self, q: str) -> str:
        """What a typed search (or a text filter) is matched against in this kind's column:
        the term as stored values spell it (a phone: "8 (916) 555" → "+7916555")."""
        return q

    def search_clause(self, column: Any, term: str) -> Any:
        """The SQL condition a search term (already in :meth:`search_form`) puts on this kind's
        column: a substring match by default (``LIKE`` when the term has no letters)."""
        return substring_match(column, term)

    def __repr__(self) -> str:
        return f"<kind {self.name}>"


# --------------------------------------------------------------------------- the field a hook is about
class Field:
    """The model and the declaration (a ``FormField``, or None for a bare column) a hook is about,
    with what kinds ask of them: the table column, the Python type, the options, required."""

    __slots__ = ("model", "name", "spec")

    def __init__(self, model: type | None, name: str, spec: Any = None) -> None:
        self.model, self.name, self.spec = model, name, spec

    @property
    def column(self) -> Any:
        table = getattr(self.model, "__table__", None)
        return table.columns.get(self.name) if table is not None else None  # None: virtual fields, action params

    @property
    def python_type(self) -> type | None:
        return field_python_type(self.model, self.name) if self.model is not None else None

    @property
    def max_length(self) -> int | None:
        return getattr(getattr(self.column, "type", None), "length", None)

    @property
    def required(self) -> bool:
        return field_required(self.model, self.spec) if self.spec is not None else False

    @property
    def options(self) -> list[tuple[str, str]]:
        return field_options(self.model, self.spec) if self.spec is not None else []





def field_required(model: type, f: Any) -> bool:
    """Whether a form field must be filled: as declared, else a non-nullable column without a default."""
    if f.required is not None:
        return f.required
    column = model.__table__.columns.get(f.name) if model is not None else None
    if column is None:
        return False
    if column.primary_key:  # a generated id is not asked for; a key typed by people (a role's name) is
        return getattr(column.type, "python_type", None) is not int
    has_default = column.default is not None or column.server_default is not None
    info = model.model_fields.get(f.name)
    if info is not None and not info.is_required():
        has_default = True
    return not column.nullable and not has_default


def field_options(model: type, f: Any) -> list[tuple[str, str]]:
    """(value, i18n key) pairs for select fields: declared options, or the enum's members."""
    if f.options is not None:
        return list(f.options)
    tp = field_python_type(model, f.name) if model is not None else None
    if is_enum(tp):
        return [(m.value, f"{model.__tablename__}.{f.name}.{m.value}") for m in tp]
    return []


def fmt_bound(x: Any) -> str:
    """A limit as a message shows it: ``10``, ``0.5`` (never ``10.0``)."""
    if isinstance(x, (int, Decimal)):
        return str(x)
    return str(int(x)) if float(x).is_integer() else str(x)


# --------------------------------------------------------------------------- the registry
KINDS: dict[str, Kind] = {}


def register_kind(cls: type[Kind]) -> type[Kind]:
    """Class decorator: make ``cls`` the kind named ``cls.name`` (a later registration of the same
    name replaces the earlier one, so a project can refine a kit kind)."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__}: a kind needs a name")
    if cls.messages:
        from app.core import i18n

        i18n.register(cls.messages)
    KINDS[cls.name] = cls()
    return cls


def kind_named(name: str) -> Kind:
    """The registered kind called ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown field kind {name!r} (known: {', '.join(sorted(KINDS))})") from None


def infer_kind(model: type, name: str) -> str:
    """The kind a field declared ``auto`` gets from its model type."""
    tp = field_python_type(model, name)
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
    column = model.__table__.columns.get(name)
    length = getattr(getattr(column, "type", None), "length", None) if column is not None else None
    if name in model.model_fields and length and length > 500:
        return "textarea"
    return "text"


def kind_for(model: type | None, field: Any) -> Kind:
    """The kind of a form field or column of ``model``: as declared, or inferred from the model's
    type when declared ``auto`` (an ``auto`` field without a model is text)."""
    name = field.kind
    if name == "auto":
        name = infer_kind(model, field.name) if model is not None else "text"
    return kind_named(name)


def field_of(model: type, spec: Any) -> Field:
    return Field(model, spec.name, spec)


def escape_like(s: str) -> str:
    """``s`` taken literally inside a LIKE pattern (``%``, ``_`` and the escape itself escaped)."""
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def substring_match(column: Any, term: str) -> Any:
    """``column`` holds ``term`` anywhere, case-insensitively (the kinds' default search clause)."""
    pattern = f"%{escape_like(term)}%"
    # A term with no letters ("7999", "+7 999") matches the same with LIKE, which does not
    # case-fold every row it reads: a walk of the sort index filters ~1.6x faster.
    if term.lower() == term.upper():
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")
