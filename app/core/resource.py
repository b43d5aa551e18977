"""Resource declarations: what a panel author writes.

A resource names a SQLModel table and says how to list, filter, search, edit and act on it::

    class Products(Resource, model=Product):
        label = "stock.products"
        search = ["name", "supplier_name"]
        columns = [col("name").sortable().link(), col("stock").numeric().badge(lambda p: "red" if p.is_low_stock else None)]
        filters = [filters.ternary("is_low_stock"), filters.select("supplier_name")]
        form = [fields.section("main", ["name", fields.textarea("description")])]

        @action("stock.restock", bulk=True, confirm=True)
        def restock(self, ctx, records): ...

The kit turns each resource into list/form/detail pages, REST routes and permissions. Every
declaration is checked when the panel registers (:func:`check_resource`): a column, filter, search
or form field that names nothing on the model fails at start-up with the resource and field named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from sqlmodel import Session, SQLModel

from app.core.auth import CurrentUser
from app.core.model_types import field_python_type, is_enum, link_keys  # noqa: F401 - where callers found them


class ImproperlyConfigured(Exception):
    """A resource declaration that cannot work; raised at start-up."""


# --------------------------------------------------------------------------- columns
@dataclass(frozen=True)
class Column:
    """A list column. Builder methods return a changed copy, so declarations read as one chain."""

    name: str
    label: str | None = None
    is_sortable: bool = False
    #: A field kind's name (:mod:`app.core.kinds`): text | numeric | plain | money | date | datetime | bool | phone | progress …
    kind: str = "text"
    currency: str | None = None
    badge_fn: Callable[[Any], str | None] | None = None
    value_fn: Callable[[Any], Any] | None = None
    is_link: bool = False
    hidden: bool = False
    choices_key: str | None = None  # i18n prefix for enum values, e.g. "stock.status"
    href_fn: Callable[[Any], str | None] | None = None
    #: A foreign key shown as the related record's title: the related resource, "panel.slug".
    resource: str | None = None
    #: Edited in place in the list (``.editable()``): saved through the resource's update service.
    is_editable: bool = False

    def sortable(self) -> Column:
        return replace(self, is_sortable=True)

    def numeric(self) -> Column:
        return replace(self, kind="numeric")

    def plain(self) -> Column:
        """A number that names something (a port, a code): shown as stored, no "2 299" grouping."""
        return replace(self, kind="plain")

    def progress(self) -> Column:
        """A 0..1 fraction shown as a progress bar."""
        return replace(self, kind="progress")

    def money(self, currency: str = "RUB") -> Column:
        return replace(self, kind="money", currency=currency)

    def date(self) -> Column:
        return replace(self, kind="date")

    def phone(self) -> Column:
        """A phone number (stored as E.164): the list's search finds it however it is typed."""
        return replace(self, kind="phone")

    def datetime(self) -> Column:
        return replace(self, kind="datetime")

    def boolean(self) -> Column:
        return replace(self, kind="bool")

    def shown_as(self, kind: str) -> Column:
        """Show the column as field kind ``kind`` (any registered kind, see :mod:`app.core.kinds`)."""
        return replace(self, kind=kind)

    def badge(self, fn: Callable[[Any], str | None]) -> Column:
        """Show the value as a badge coloured by ``fn(record)`` (a Radix colour name, or None for plain text)."""
        return replace(self, badge_fn=fn)

    def value(self, fn: Callable[[Any], Any]) -> Column:
        """Compute the shown value from the record instead of reading the attribute."""
        return replace(self, value_fn=fn)

    def link(self) -> Column:
        """Make the cell a link to the record's detail page."""
        return replace(self, is_link=True)

    def href(self, fn: Callable[[Any], str | None]) -> Column:
        """Make the cell a link to ``fn(record)`` (opened as a download/new page), or plain text when it returns None."""
        return replace(self, href_fn=fn)

    def hide(self) -> Column:
        """Hidden until the user switches it on in the column menu."""
        return replace(self, hidden=True)

    def choices(self, i18n_prefix: str) -> Column:
        return replace(self, choices_key=i18n_prefix)

    def relation(self, resource: str) -> Column:
        """A foreign key shown as the title of the record it points to in ``resource``
        (``"panel.slug"``): resolved once per page (:func:`app.core.query.get_many`, one query
        per related resource), sorted by that title through a join when ``.sortable()``, and
        exported as the title (a LEFT JOIN in the export's SELECT). The user sees a title only
        of a record they may see in ``resource`` (its ``can`` and ``list_query``); otherwise ``#<id>``."""
        return replace(self, resource=resource)

    def editable(self) -> Column:
        """Edit the value in the list itself (Django's ``list_editable``): a user who may ``update``
        the record clicks the cell's pencil (or double-clicks the cell), types, Enter saves through
        :func:`app.core.crud.update_record` (same parsing, ``validate``, hooks, audit and live
        refresh as the form), Esc cancels. The column must also be a form field of the resource."""
        return replace(self, is_editable=True)


def col(name: str, label: str | None = None) -> Column:
    return Column(name=name, label=label)


class Choices:
    """Options read each time they are used, not when the resource is declared: for a choice list
    that other modules fill after the declaration runs (``Choices(notify.channel_choices)``: the
    channels the enabled panels registered). Iterates as ``(value, i18n key or label)`` pairs."""

    def __init__(self, source: Callable[[], Iterable[tuple[str, str]]]) -> None:
        self.source = source

    def __iter__(self):
        return iter(tuple(self.source()))

    def __repr__(self) -> str:
        return f"Choices({getattr(self.source, '__qualname__', self.source)!r})"


def _options(options: Iterable[tuple[str, str]] | None) -> Any:
    """Declared options as stored: a :class:`Choices` stays lazy, anything else becomes a tuple."""
    if options is None or isinstance(options, Choices):
        return options
    return tuple(options)


# --------------------------------------------------------------------------- filters
@dataclass(frozen=True)
class Filter:
    """A list filter. Values travel as strings so they fit in the URL:
    text ``"abc"``, number/date ranges ``"10..20"`` / ``"2026-01-01..2026-02-01"``, select ``"a"``,
    ternary ``"1"``/``"0"``, relation ``"<id>"``."""

    kind: str
    name: str
    label: str | None = None
    options: tuple[tuple[str, str], ...] | None = None  # (value, i18n key or label)
    resource: str | None = None  # relation target "panel.slug"


class filters:  # noqa: N801 - a namespace, read as ``filters.text(...)``
    @staticmethod
    def text(name: str, label: str | None = None) -> Filter:
        return Filter("text", name, label)

    @staticmethod
    def number(name: str, label: str | None = None) -> Filter:
        return Filter("number", name, label)

    @staticmethod
    def date(name: str, label: str | None = None) -> Filter:
        return Filter("date", name, label)

    @staticmethod
    def select(name: str, options: Iterable[tuple[str, str]] | None = None, label: str | None = None) -> Filter:
        """Options default to the enum's members, or to the column's distinct values (queried)."""
        return Filter("select", name, label, _options(options))

    @staticmethod
    def ternary(name: str, label: str | None = None) -> Filter:
        return Filter("ternary", name, label)

    @staticmethod
    def relation(name: str, resource: str, label: str | None = None) -> Filter:
        """Pick a related record by server-side search; ``resource`` is ``"panel.slug"``."""
        return Filter("relation", name, label, resource=resource)


# --------------------------------------------------------------------------- form fields
@dataclass(frozen=True)
class FormField:
    name: str
    #: A field kind's name (:mod:`app.core.kinds`), or "auto": inferred from the model's type.
    #: text | textarea | int | number | money | date | time | bool | select | multiselect | relation
    #: | password | secret | secret_text | phone …
    kind: str = "auto"
    label: str | None = None
    required: bool | None = None  # None: inferred from the model (non-nullable without default)
    min: float | None = None
    max: float | None = None
    options: tuple[tuple[str, str], ...] | None = None
    currency: str | None = None
    resource: str | None = None
    help: str | None = None
    create_only: bool = False  # shown on create, read-only afterwards
    default: Any = None
    #: Not a model column: parsed and validated, then handed to the save hooks in ``changes``.
    virtual: bool = False
    #: A text that spans lines (a secret such as a private key): a multi-line box, line breaks kept.
    multiline: bool = False
    #: A multiselect's options under headings: ``((heading keys, values), ...)``; a heading is one
    #: or more i18n keys read as "Склад › Товары". Options in no group are shown first.
    groups: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] | None = None
    #: A many-to-many field (``fields.many``): the link table's model, and its two foreign keys
    #: (to this record, to the linked one) when they cannot be read from the table.
    through: Any = None
    keys: tuple[str, str] | None = None
    #: Child rows (``fields.rows``): the child's foreign key to this record, and the child
    #: resource's form fields shown as the table's columns.
    fk: str | None = None
    columns: tuple[FormField, ...] = ()
    #: A file or photo field (``fields.file`` / ``fields.photo``): the largest upload in MB (default
    #: ``PULT_FILES_MAX_MB``) and the accepted content types, as read from the bytes.
    max_mb: float | None = None
    accept: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[FormField, ...]


class fields:  # noqa: N801 - a namespace
    @staticmethod
    def section(title: str, items: Iterable[str | FormField]) -> Section:
        return Section(title, tuple(i if isinstance(i, FormField) else FormField(i) for i in items))

    @staticmethod
    def text(name: str, **kw: Any) -> FormField:
        return FormField(name, "text", **kw)

    @staticmethod
    def textarea(name: str, **kw: Any) -> FormField:
        return FormField(name, "textarea", **kw)

    @staticmethod
    def integer(name: str, min: float | None = None, max: float | None = None, **kw: Any) -> FormField:
        return FormField(name, "int", min=min, max=max, **kw)

    @staticmethod
    def number(name: str, min: float | None = None, max: float | None = None, **kw: Any) -> FormField:
        return FormField(name, "number", min=min, max=max, **kw)

    @staticmethod
    def money(name: str, currency: str = "RUB", **kw: Any) -> FormField:
        kw.setdefault("min", 0)
        return FormField(name, "money", currency=currency, **kw)

    @staticmethod
    def date(name: str, **kw: Any) -> FormField:
        return FormField(name, "date", **kw)

    @staticmethod
    def boolean(name: str, **kw: Any) -> FormField:
        return FormField(name, "bool", **kw)

    @staticmethod
    def select(name: str, options: Iterable[tuple[str, str]] | None = None, **kw: Any) -> FormField:
        return FormField(name, "select", options=_options(options), **kw)

    @staticmethod
    def multiselect(name: str, options: Iterable[tuple[str, str]], **kw: Any) -> FormField:
        """Several values at once (stored as a JSON list): checkboxes, under headings when
        ``groups`` is given (the role editor: permissions by panel and resource)."""
        return FormField(name, "multiselect", options=_options(options), **kw)

    @staticmethod
    def relation(name: str, resource: str, **kw: Any) -> FormField:
        return FormField(name, "relation", resource=resource, **kw)

    @staticmethod
    def many(name: str, through: Any, resource: str, keys: tuple[str, str] | None = None, **kw: Any) -> FormField:
        """Several records of ``resource`` linked through the table ``through`` (a project's
        providers through ``ProjectProvider``): a picker that searches ``resource`` server-side
        and shows the chosen ones as chips. ``name`` is not a column: the services check that
        every newly linked record is one the user may see in ``resource`` (its ``can`` and
        ``list_query``), then replace the link rows by difference in the record's transaction and
        audit ``{name: [old ids, new ids]}`` (:mod:`app.core.links`). Links to records the user
        may not see are neither shown nor touched. ``keys`` = (foreign key to this record, foreign
        key to the linked one), read from the link table's foreign keys when left out. The API
        reads and writes the field as a list of ids (and answers ``<name>_titles`` beside it)."""
        return FormField(name, "many", resource=resource, through=through, keys=keys, virtual=True, **kw)

    @staticmethod
    def rows(name: str, resource: str, fk: str, fields: Iterable[str | FormField], **kw: Any) -> FormField:
        """Child records edited as a table inside this record's form (a project's working
        windows, an order's lines): ``resource`` is the child resource ("panel.slug"), ``fk`` its
        foreign key to this record, ``fields`` the child's form fields shown as columns (names,
        or ``FormField`` overrides). Rows are added and removed in the form and saved with the
        record in its transaction through the child resource's own services (its ``can``,
        parsing, ``validate``, hooks and audit); a refused cell gets its message under it
        (``<name>.<row>.<field>``). The parent's audit row holds ``{name: [rows before, rows
        after]}``; the API reads and writes the field as a list of objects (``id`` keeps a row)."""
        cols = tuple(f if isinstance(f, FormField) else FormField(f) for f in fields)
        return FormField(name, "rows", resource=resource, fk=fk, columns=cols, virtual=True, **kw)

    @staticmethod
    def password(name: str, **kw: Any) -> FormField:
        return FormField(name, "password", **kw)

    @staticmethod
    def secret(name: str, **kw: Any) -> FormField:
        """Write-only: the form never shows the stored value (``***`` when set); empty keeps it."""
        return FormField(name, "secret", **kw)

    @staticmethod
    def secret_text(name: str, **kw: Any) -> FormField:
        """A write-only secret that spans lines (an OpenSSH private key, a certificate): a
        multi-line box that keeps the line breaks (a password input drops them), never shows the
        stored value, and leaves it as it is when left empty — everything else as :meth:`secret`."""
        return FormField(name, "secret_text", multiline=True, **kw)

    @staticmethod
    def url(name: str, **kw: Any) -> FormField:
        """A web address (``http://`` or ``https://`` and a host)."""
        return FormField(name, "url", **kw)

    @staticmethod
    def phone(name: str, **kw: Any) -> FormField:
        return FormField(name, "phone", **kw)

    @staticmethod
    def photo(name: str, max_mb: float | None = None, accept: Iterable[str] | None = None, **kw: Any) -> FormField:
        """An image upload (JPEG, PNG, GIF, WebP unless ``accept`` narrows it) into the object store
        (:mod:`app.core.files`): the column holds the ``stored_file`` id (declare it
        ``foreign_key="stored_file.id", ondelete="SET NULL"``). The form shows a drop zone and the
        thumbnail; the list cell and the detail page show the thumbnail through a short-lived
        presigned URL, issued only to users who may see the record. A file too big or of another
        type (read from its bytes, not its name) gets a message under the field; nothing is stored."""
        return FormField(name, "photo", max_mb=max_mb, accept=tuple(accept) if accept else None, **kw)

    @staticmethod
    def file(name: str, max_mb: float | None = None, accept: Iterable[str] | None = None, **kw: Any) -> FormField:
        """A file upload (images, PDF, text/CSV, DOCX/XLSX, ZIP unless ``accept`` narrows it); as
        :meth:`photo`, shown as a link that downloads it (and a thumbnail when it is an image)."""
        return FormField(name, "file", max_mb=max_mb, accept=tuple(accept) if accept else None, **kw)

    @staticmethod
    def of(kind: str, name: str, **kw: Any) -> FormField:
        """A field of any registered kind (:mod:`app.core.kinds`): ``fields.of("colour", "tint")``."""
        return FormField(name, kind, **kw)


# --------------------------------------------------------------------------- actions
@dataclass(frozen=True)
class ActionSpec:
    name: str
    label: str
    bulk: bool = False
    row: bool = True
    confirm: bool = False
    job: bool = False
    #: A Radix colour name for the button ("green", "red"...); None is the theme's accent colour.
    color: str | None = None
    #: Show the row button only when this returns True for the record (the check itself is ``can``).
    visible: Callable[[Any], bool] | None = None
    #: False when the service the action calls writes its own audit row.
    audit: bool = True
    #: Inputs asked for in the confirmation (e.g. the new status): parsed like form fields and
    #: handed to the action as ``ctx.params``. Select and relation kinds are offered as a list.
    params: tuple[FormField, ...] = ()
    #: The set-based twin a ``job=True`` bulk run uses on big tables: a method name of the resource
    #: or a callable ``fn(resource, ctx, ids) -> int`` (see :func:`action`).
    many: Callable[..., int] | str | None = None
    #: What runs the action when it is not a method of the resource (a machine's transition):
    #: ``fn(resource, ctx, records)``.
    run: Callable[..., Any] | None = None


def action(
    label: str,
    *,
    bulk: bool = False,
    row: bool = True,
    confirm: bool = False,
    job: bool = False,
    color: str | None = None,
    visible: Callable[[Any], bool] | None = None,
    audit: bool = True,
    params: Iterable[FormField] = (),
    many: Callable[..., int] | str | None = None,
) -> Callable[[Callable], Callable]:
    """Declare a resource method ``fn(self, ctx, records) -> str | None`` as a row and/or bulk action.

    The permission checked is ``can(user, <method name>, record)`` for every record; the kit writes
    the audit row, commits and publishes. Return an i18n key (or text) to show as the result toast.

    ``job=True``: a bulk run (a selection, or every record matching the list's filters) goes to an
    RQ worker as the ``kit.action`` job, in chunks of records with a progress bar; a record that
    fails is reported without stopping the others. A single-row run stays immediate. On big tables
    declare ``many=``: a method of the resource (its name, ``many="set_status_many"``) or a
    callable ``fn(resource, ctx, ids) -> int``; the job then hands it chunks of ids to change with
    one set-based statement each and counts what it returns (it must re-apply ``list_query``
    itself). The check at start-up refuses a ``many`` that names no method.

    ``params``: inputs the confirmation asks for, given to the action as ``ctx.params``.
    """

    def wrap(fn: Callable) -> Callable:
        fn.__pult_action__ = ActionSpec(fn.__name__, label, bulk, row, confirm, job, color, visible, audit, tuple(params), many)
        return fn

    return wrap


@dataclass
class ActionContext:
    """What an action or save hook gets: the open transaction and the acting user."""

    db: Session
    user: CurrentUser
    lang: str = "ru"
    #: An action's parsed ``params`` (empty for save hooks).
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExportContext(ActionContext):
    """What the export hooks get (:meth:`Resource.before_export` / :meth:`Resource.after_export`):
    the job's transaction and user, the export's format and job run, and — for ``after_export`` —
    how many rows the file holds. ``state`` carries what ``before_export`` returned."""

    fmt: str = "csv"
    run: Any = None
    #: The file being written (it appears under this name once complete).
    path: Any = None
    rows: int = 0
    state: Any = None


# --------------------------------------------------------------------------- resource
class Resource:
    """Base class of every resource. Subclass with ``class X(Resource, model=Table)``."""

    model: ClassVar[type[SQLModel]]
    #: URL segment and permission segment; defaults to the class name in lower case.
    slug: ClassVar[str]
    #: Set by :class:`app.core.registry.Panel` when registered.
    panel: ClassVar[str] = ""
    #: i18n key (or literal text) for the plural title; ``label_one`` for one record.
    label: ClassVar[str] = ""
    label_one: ClassVar[str] = ""
    icon: ClassVar[str] = "table"
    #: Fields searched with a case-insensitive substring match; a number also matches the id (when
    #: the id column can hold it), a phone field is matched with the phone as stored (its kind's
    #: ``search_form``, see ``search_terms``).
    search: ClassVar[list[str]] = []
    columns: ClassVar[list[Column]] = []
    filters: ClassVar[list[Filter]] = []
    #: Form sections; empty means every editable model field in one section.
    form: ClassVar[list[Section]] = []
    #: Fields on the detail page; None means the columns plus the form fields.
    detail_fields: ClassVar[list[str] | None] = None
    #: Related lists on the detail page: (i18n title, "panel.slug", foreign key field on that model).
    related: ClassVar[list[tuple[str, str, str]]] = []
    #: "keyset" uses keyset paging whenever the sort column allows it; "offset" always counts pages.
    pagination: ClassVar[str] = "keyset"
    default_sort: ClassVar[str] = "-id"
    page_size: ClassVar[int] = 25
    #: Which CRUD operations the resource offers at all (``can`` then decides per user).
    operations: ClassVar[frozenset[str]] = frozenset({"view", "create", "update", "delete"})
    #: Show in the sidebar.
    menu: ClassVar[bool] = True
    #: This resource is the trash view of its model (``class DeletedProjects(Resource,
    #: model=Project): trash = True``): every page, the API, the jobs and the actions see only the
    #: soft-deleted records (``deleted_at`` set) — the kit adds that to ``list_query`` — and the
    #: list offers no trash toggle of its own. Its actions (restore, archive...) are its own.
    trash: ClassVar[bool] = False
    #: Where the list's "Import" button leads; None means the kit's import page (``<url>/import``).
    import_url: ClassVar[str | None] = None
    actions: ClassVar[dict[str, ActionSpec]] = {}
    #: Blocks under the record on its detail page, in order (docs/blocks.md):
    #: ``[timeline(events=...), comment_wall()]``. A comment wall adds the ``comment`` permission.
    detail_blocks: ClassVar[list[Any]] = []
    #: Status fields that change only through declared state machines (:class:`app.core.machine.Machine`):
    #: each transition a person may ask for becomes a row action named after it (``system=True``
    #: ones never do). The button shows only on a record in one of its source states that its
    #: guard lets through, for a user its ``perm``/``roles`` allow; the action runs
    #: :meth:`Machine.fire`, which refuses an illegal move with a message whoever calls (page,
    #: API ``POST .../{id}/actions/<name>``, job) and writes the audit row. ``confirm=True``
    #: asks first. See docs/architecture.md, "State machines".
    machines: ClassVar[list[Any]] = []
    #: action name -> (machine, transition), filled from :attr:`machines`.
    machine_actions: ClassVar[dict[str, tuple[Any, Any]]] = {}

    def __init_subclass__(cls, model: type[SQLModel] | None = None, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if model is not None:
            cls.model = model
        if "slug" not in cls.__dict__:
            cls.slug = cls.__name__.lower()
        found = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                spec = getattr(attr, "__pult_action__", None)
                if spec is not None:
                    found[spec.name] = spec
        cls.machine_actions = {}
        for machine in cls.machines:
            for tr in machine.transitions:
                if tr.system:
                    continue
                if tr.name in found or tr.name in cls.machine_actions:
                    raise ImproperlyConfigured(f"{cls.__name__}: transition '{tr.name}' of '{machine.field}' clashes with another action")
                cls.machine_actions[tr.name] = (machine, tr)
                found[tr.name] = _machine_action_spec(machine, tr)
        cls.actions = found
        if cls.trash and not getattr(cls.list_query, "__pult_trash__", False):
            _in_trash(cls)

    # -- identity ---------------------------------------------------------
    @classmethod
    def key(cls) -> str:
        return f"{cls.panel}.{cls.slug}"

    @classmethod
    def perm(cls, operation: str) -> str:
        return f"{cls.panel}.{cls.slug}.{operation}"

    @classmethod
    def action_perm(cls, name: str) -> str | None:
        """The permission an action asks for: ``<panel>.<slug>.<action>``, or a machine
        transition's own ``perm`` (None when it names none: its ``roles`` decide)."""
        if name in cls.machine_actions:
            return cls.machine_actions[name][1].perm
        return cls.perm(name)

    @classmethod
    def permissions(cls) -> list[str]:
        actions = [cls.action_perm(a) for a in cls.actions]
        return ([cls.perm(op) for op in sorted(cls.operations)] + sorted({p for p in actions if p})
                + [cls.perm(op) for op in cls.block_operations()])

    @classmethod
    def block_operations(cls) -> list[str]:
        """Operations the declared detail blocks add (a comment wall: ``comment``)."""
        return sorted({op for b in cls.detail_blocks for op in getattr(b, "operations", ())})

    @classmethod
    def url(cls) -> str:
        return f"/{cls.panel}/{cls.slug}"

    @classmethod
    def has_soft_delete(cls) -> bool:
        """Deleting keeps the record (``deleted_at``) and the list has a trash toggle; False for a
        trash view itself (:attr:`trash`), which lists nothing but deleted records."""
        return "deleted_at" in cls.model.model_fields and not cls.trash

    # -- override points --------------------------------------------------
    def can(self, user: CurrentUser, operation: str, record: Any = None) -> bool:
        """The one permission check for pages, handlers, the API and jobs. Default: a role permission."""
        if operation not in self.operations and operation not in self.actions and operation != "restore" and operation not in self.block_operations():
            return False
        if operation in self.machine_actions:
            # Who may ask for the move; whether this record can make it now is the machine's to
            # say (an illegal move is refused with a message, not a bare 403). The view
            # permission still applies: an action is done on a record one can see.
            _machine, tr = self.machine_actions[operation]
            return user.has_perm(self.perm("view")) and tr.permits(user)
        if operation == "restore":
            operation = "delete"
        return user.has_perm(self.perm(operation))

    def list_query(self, user: CurrentUser, stmt: Any) -> Any:
        """Narrow every query of this resource (lists, get, export, API) to what ``user`` may see."""
        return stmt

    def search_term(self, q: str) -> str:
        """The typed search as the stored values spell it, for every search field (override to rewrite it)."""
        return q

    def search_terms(self, q: str) -> dict[str, str]:
        """What each search field is matched against: the term as the field's kind says stored
        values spell it (a phone: "8 (916) 555-12-34" → "+79165551234", "916 555" → "916555"),
        after :meth:`search_term`."""
        q = self.search_term(q)
        return {name: self.kind_of(name).search_form(q) for name in self.search}

    @classmethod
    def kind_of(cls, name: str) -> Any:
        """The :class:`~app.core.kinds.Kind` of field ``name`` as this resource declares it: its
        list column's kind, else its form field's (when not ``auto``), else text."""
        from app.core.kinds import kind_named

        for c in cls.columns:
            if c.name == name:
                return kind_named(c.kind)
        for f in cls.form_fields():
            if f.name == name and f.kind != "auto":
                return kind_named(f.kind)
        return kind_named("text")

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict[str, tuple[str, dict]]:
        """Cross-field rules after per-field parsing. Return ``{field: (i18n key, params)}``."""
        return {}

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        """Called in the transaction before flush; may change ``record`` or raise ``ValidationFailed``."""

    def after_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        """Called in the transaction after flush (ids are set): side effects such as stock moves."""

    def form_changed(self, ctx: ActionContext, name: str, values: dict[str, str]) -> dict[str, str]:
        """A form field changed in the browser: return other fields' new values (prefills)."""
        return {}

    def field_choices(self, user: CurrentUser, name: str) -> list[str] | None:
        """The values of the select field ``name`` that the form offers ``user`` (``None``: every
        declared option). It only narrows the form; ``validate`` refuses the others on the server."""
        return None

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        """Raise ``ValidationFailed.one("", key)`` to refuse deleting ``record``."""

    def after_transition(self, ctx: ActionContext, record: Any, move: Any) -> None:
        """A state machine's transition asked for as an action (:attr:`machines`) has moved
        ``record`` (``move``: field, before, after, transition), in the action's transaction,
        after the machine's audit row: e.g. write a domain event of the record's history."""

    def before_export(self, ctx: ExportContext, params: Any) -> Any:
        """The list's export job (``kit.export``) is about to write the view ``params`` (a
        :class:`~app.core.query.ListParams`): e.g. open a history row. Raise ``ValidationFailed``
        to refuse. What it returns is kept as ``ctx.state``; the kit commits afterwards, so the
        row is visible while the file is written."""
        return None

    def after_export(self, ctx: ExportContext, run: Any, path: Any) -> None:
        """The export job wrote ``path`` (``ctx.rows`` rows) for the job run ``run``: e.g. close
        the history row. The kit commits afterwards. An export that fails calls nothing here
        (its end is seen by ``app.core.jobs.on_run_end`` hooks)."""

    #: The column that holds a record's title, so SQL can read it: relation columns of other
    #: resources show it (:meth:`title_sql`), sort by it and export it. None: ``name``, ``title``,
    #: ``username`` or ``phone`` when the model has one and :meth:`title` is not overridden.
    title_field: ClassVar[str | None] = None

    @classmethod
    def title_sql(cls, lang: str = "ru") -> Any | None:
        """A record's title as a SQL expression over the model's columns (in ``lang``), or None
        when only :meth:`title` (Python) knows it: then relation columns read titles by loading
        the records, sort by the id and export through the Python path."""
        name = cls.title_field
        if name is None and cls.title is Resource.title:
            table = cls.model.__table__.columns
            name = next((n for n in ("name", "title", "username", "phone") if n in table), None)
        return getattr(cls.model, name) if name else None

    def title(self, record: Any) -> str:
        """How a record is named in pickers, breadcrumbs and the audit log."""
        for attr in ("name", "title", "username", "phone"):
            value = getattr(record, attr, None)
            if value:
                return str(value)
        return f"#{record.id}"

    # -- derived declarations ---------------------------------------------
    @classmethod
    def form_fields(cls) -> list[FormField]:
        return [f for s in cls.form_sections() for f in s.fields]

    @classmethod
    def form_sections(cls) -> list[Section]:
        if cls.form:
            return list(cls.form)
        skip = {"id", "created_at", "deleted_at"}
        names = [n for n in cls.model.model_fields if n not in skip]
        return [Section("details", tuple(FormField(n) for n in names))]




def _machine_action_spec(machine: Any, tr: Any) -> ActionSpec:
    """A state machine's transition as a row action (see :attr:`Resource.machines`)."""

    def visible(record: Any) -> bool:
        return tr.starts_from(getattr(record, machine.field)) and not (tr.guard and tr.guard(record))

    def run(self: Resource, ctx: ActionContext, records: list[Any]) -> str | None:
        for record in records:
            move = machine.fire(ctx.db, ctx.user, record, tr.name, entity=self.key())
            self.after_transition(ctx, record, move)
        return tr.label or f"{machine.label}.{tr.name}"

    run.__name__ = tr.name
    return ActionSpec(tr.name, tr.label or f"{machine.label}.{tr.name}", bulk=False, row=True, confirm=tr.confirm,
                      visible=visible, audit=False, run=run)


def _in_trash(cls: type[Resource]) -> None:
    """A trash view's ``list_query``: its own, then only records whose ``deleted_at`` is set."""
    own = cls.list_query

    def list_query(self: Resource, user: CurrentUser, stmt: Any) -> Any:
        return own(self, user, stmt).where(type(self).model.deleted_at.is_not(None))

    list_query.__doc__ = own.__doc__
    list_query.__pult_trash__ = True  # type: ignore[attr-defined]
    cls.list_query = list_query  # type: ignore[method-assign]


def check_resource(res: type[Resource]) -> None:
    """Fail early, naming the resource and the field, when a declaration points at nothing."""
    where = f"{res.panel}.{res.__name__}"
    model = getattr(res, "model", None)
    if model is None or not hasattr(model, "__table__"):
        raise ImproperlyConfigured(f"{where}: 'model' must be a SQLModel table (class X(Resource, model=Table))")
    names = set(model.model_fields)
    table_cols = set(model.__table__.columns.keys())

    def need(kind: str, name: str, allow_property: bool = False) -> None:
        if name in names:
            return
        if allow_property and isinstance(getattr(model, name, None), property):
            return
        raise ImproperlyConfigured(f"{where}: {kind} '{name}' is not a field of {model.__name__}")

    for c in res.columns:
        if c.resource is not None:
            if c.name not in table_cols:
                raise ImproperlyConfigured(f"{where}: relation column '{c.name}' is not a database column of {model.__name__}")
            if c.value_fn is not None:
                raise ImproperlyConfigured(f"{where}: relation column '{c.name}' also has value(): a relation shows the related title")
        if c.value_fn is None:
            need("column", c.name, allow_property=True)
        if c.is_sortable and c.name not in table_cols:
            raise ImproperlyConfigured(f"{where}: column '{c.name}' is sortable but not a database column of {model.__name__}")
    for f in res.filters:
        if f.kind not in {"text", "number", "date", "select", "ternary", "relation"}:
            raise ImproperlyConfigured(f"{where}: filter '{f.name}' has unknown kind '{f.kind}'")
        if f.name not in table_cols:
            raise ImproperlyConfigured(f"{where}: filter '{f.name}' is not a database column of {model.__name__}")
    for s in res.search:
        if s not in table_cols:
            raise ImproperlyConfigured(f"{where}: search field '{s}' is not a database column of {model.__name__}")
    from app.core.kinds import kind_for, kind_named

    for c in res.columns:
        try:
            kind_named(c.kind)
        except KeyError as exc:
            raise ImproperlyConfigured(f"{where}: column '{c.name}': {exc.args[0]}") from None
    for f in res.form_fields():
        try:
            stored = kind_for(model, f).stored
        except KeyError as exc:
            raise ImproperlyConfigured(f"{where}: form field '{f.name}': {exc.args[0]}") from None
        if not f.virtual and stored:  # a password maps to another column (hashed_password)
            need("form field", f.name)
        if f.through is not None:
            try:
                link_keys(model, f)
            except ValueError as exc:
                raise ImproperlyConfigured(f"{where}: form field '{f.name}': {exc}") from None
    editable_ok = {f.name for f in res.form_fields() if f.through is None}
    for c in res.columns:
        if c.is_editable and (c.name not in editable_ok or c.name not in table_cols or c.resource or c.value_fn):
            raise ImproperlyConfigured(f"{where}: editable column '{c.name}' must be a database column that is also a form field of the resource")
    if res.title_field is not None and res.title_field not in table_cols:
        raise ImproperlyConfigured(f"{where}: title_field '{res.title_field}' is not a database column of {model.__name__}")
    if res.trash and "deleted_at" not in names:
        raise ImproperlyConfigured(f"{where}: trash = True needs a soft-deleting model ('deleted_at' field), {model.__name__} has none")
    sort = res.default_sort.lstrip("-")
    if sort not in table_cols:
        raise ImproperlyConfigured(f"{where}: default_sort '{res.default_sort}' is not a database column of {model.__name__}")
    if res.pagination not in {"keyset", "offset"}:
        raise ImproperlyConfigured(f"{where}: pagination must be 'keyset' or 'offset', not {res.pagination!r}")
    for block in res.detail_blocks:
        check = getattr(block, "check", None)
        if check is None:
            raise ImproperlyConfigured(f"{where}: detail_blocks holds {block!r}, which is not a detail block (timeline(), comment_wall())")
        problem = check(res)
        if problem:
            raise ImproperlyConfigured(f"{where}: {problem}")
    for name, spec in res.actions.items():
        if name in {"view", "create", "update", "delete", "restore"}:
            raise ImproperlyConfigured(f"{where}: action '{name}' clashes with a built-in operation")
        if spec.many is not None:
            target = getattr(res, spec.many, None) if isinstance(spec.many, str) else spec.many
            if not callable(target):
                raise ImproperlyConfigured(f"{where}: action '{name}': many={spec.many!r} is neither a method of the resource nor a callable")
            if not spec.job:
                raise ImproperlyConfigured(f"{where}: action '{name}': many= is used by the bulk job only; declare job=True")
