"""The timeline of a detail page: one chronological, live list of what happened to a record.

It merges three sources, newest first:

* **audit** — the record's audit rows, each as a readable line per changed field ("Статус:
  Оплачен, не выдан → Выдан"; child rows as "Пн · 09:00 · 18:00"), never a raw dict;
* **events** — a panel's own domain events: a callable ``events(db, user, record)`` returning
  :class:`TimelineEvent` items (a delivery provider's status changes, "picked", "handed to the
  courier"); it reads what it likes, the kit only sorts and shows them;
* **comments** — the record's comment wall, when the resource has one.

A resource declares it with ``detail_blocks = [timeline(events=..., tables=(...), kinds=...)]``;
``tables`` are the tables ``events`` reads, so a change there refreshes every open timeline
(the audit log and comments are watched anyway). The viewer filters by kind. A resource without
a declared timeline still gets its audit history on the detail page, through the same readable
lines (:func:`entries` with :data:`HISTORY`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, select

from app.core import crud
from app.core.display import label_for
from app.core.formats import fmt_datetime
from app.core.i18n import has, t
from app.core.principal import CurrentUser
from app.core.resource import Resource
from models.comments import Comment
from models.core import AuditLog

log = logging.getLogger(__name__)

#: The kinds every timeline knows: (kind, i18n label).
AUDIT, COMMENT = "audit", "comment"
BUILTIN_KINDS = ((AUDIT, "timeline.kind.audit"), (COMMENT, "timeline.kind.comment"))
#: At most this many fields of one audit row are spelled out (then "…").
MAX_FIELDS = 8
_SKIP = {"id", "created_at", "updated_at", "hashed_password"}


@dataclass(frozen=True)
class TimelineEvent:
    """One domain event a panel puts on a record's timeline.

    ``at`` is when it happened (timezone-aware; a naive one is taken as UTC); ``kind`` groups
    events for the filter ("delivery"); ``title`` and ``details`` are text or i18n keys;
    ``actor`` is who did it (a username, "Яндекс Доставка"), None for nobody in particular.
    """

    at: dt.datetime
    kind: str
    title: str
    details: str = ""
    actor: str | None = None


EventSource = Callable[[Session, CurrentUser, Any], Iterable[TimelineEvent]]


@dataclass(frozen=True)
class Timeline:
    """The declaration of a record's timeline (see :func:`timeline`)."""

    events: EventSource | None = None
    tables: tuple[str, ...] = ()
    kinds: tuple[tuple[str, str], ...] = ()
    audit: bool = True
    comments: bool = True
    limit: int = 200
    title: str = "timeline.title"
    kind: str = "timeline"
    operations: tuple[str, ...] = field(default=())

    def check(self, res: type[Resource]) -> str | None:
        """A problem with this declaration on ``res`` (checked at start-up), or None."""
        if sum(isinstance(b, Timeline) for b in res.detail_blocks) > 1:
            return "detail_blocks declares more than one timeline()"
        if self.events is not None and not callable(self.events):
            return f"timeline(events=...) must be a callable (db, user, record) -> events, not {self.events!r}"
        if not (self.audit or self.comments or self.events):
            return "timeline() shows nothing: give events=, or leave audit/comments on"
        if not 1 <= self.limit <= 2000:
            return "timeline(limit=...) must be between 1 and 2000"
        return None

    def kind_choices(self) -> list[tuple[str, str]]:
        """``(kind, i18n label or text)`` the filter offers: audit, comments, then the events'."""
        out = [k for k in BUILTIN_KINDS if (k[0] == AUDIT and self.audit) or (k[0] == COMMENT and self.comments)]
        return out + [k for k in self.kinds if k[0] not in {AUDIT, COMMENT}]


def timeline(events: EventSource | None = None, tables: Iterable[str] = (), kinds: Iterable[tuple[str, str]] | dict[str, str] = (),
             audit: bool = True, comments: bool = True, limit: int = 200, title: str = "timeline.title") -> Timeline:
    """Declare a record's timeline: ``detail_blocks = [timeline(events=delivery_events, tables=("delivery_event",),
    kinds={"delivery": "equipment.kind.delivery"})]``.

    ``events(db, user, record)`` returns :class:`TimelineEvent` items (called with the viewer, on
    the record they may see); ``tables`` are what it reads (live refresh); ``kinds`` labels its
    event kinds for the filter; ``audit``/``comments`` switch those sources; ``limit`` caps each source.
    """
    pairs = tuple(kinds.items()) if isinstance(kinds, dict) else tuple(tuple(k) for k in kinds)
    return Timeline(events=events, tables=tuple(tables), kinds=pairs, audit=audit, comments=comments, limit=limit, title=title)


#: The audit-only history every detail page without a declared timeline shows.
HISTORY = Timeline(comments=False, limit=50, title="history")


def timeline_of(res: type[Resource] | Resource) -> Timeline | None:
    """The timeline ``res`` declares, or None."""
    return next((b for b in getattr(res, "detail_blocks", []) if isinstance(b, Timeline)), None)


# --------------------------------------------------------------------------- readable audit rows
def _revive(kind_name: str, value: Any) -> Any:
    """A JSON-stored value back in the type its kind shows (ISO text → moment, text → Decimal)."""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return value
    if kind_name == "datetime" and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if kind_name == "date" and isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if kind_name == "time" and isinstance(value, str):
        return dt.time.fromisoformat(value)
    if kind_name in {"money", "numeric", "number", "progress"}:
        return Decimal(str(value))
    return value


def show_value(res: type[Resource], name: str, value: Any, lang: str) -> str:
    """A value as the audit log stored it, read as the record's page shows that field: an option by
    its label, a moment in the users' time zone, money with its sign, child rows one per "; "."""
    from app.core import rows
    from app.core.kinds import field_options, kind_for

    if value is None or value == "" or value == []:
        return "—"
    form = next((f for f in res.form_fields() if f.name == name), None)
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):  # child rows (fields.rows)
        if form is not None and form.fk is not None and form.resource is not None:
            child = type(rows.child_of(form))
            cols = rows.columns(form)
            return "; ".join(" · ".join(s for c in cols if (s := show_value(child, c.name, row.get(c.name), lang)) != "—") or f"#{row.get('id')}"
                             for row in value)
        return "; ".join(", ".join(f"{k}: {v}" for k, v in row.items() if k != "id") for row in value)
    if isinstance(value, dict):
        return ", ".join(f"{label_for(res, k, None, lang)}: {show_value(res, k, v, lang)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(show_value(res, name, v, lang) for v in value)
    column = next((c for c in res.columns if c.name == name), None)
    if column is not None and column.choices_key and has(f"{column.choices_key}.{value}"):
        return t(f"{column.choices_key}.{value}", lang)
    if form is not None:
        options = dict(field_options(res.model, form))
        if str(value) in options:
            return t(options[str(value)], lang)
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if value == "***":
        return "***"
    try:
        kind = res.kind_of(name)
        if form is not None and kind.name == "text":  # a column shown as text, a form that knows better (a time)
            kind = kind_for(res.model, form)
        if kind.name in {"text", "textarea", "plain"} and isinstance(value, str):
            text = value
        else:
            text = kind.display(_revive(kind.name, value), lang, column.currency if column else None) + (kind.unit or "")
    except (ValueError, TypeError, InvalidOperation, KeyError, AttributeError):
        text = str(value)
    return text if len(text) <= 120 else text[:119] + "…"


def action_label(res: type[Resource], action: str, lang: str) -> str:
    if has(f"action.{action}"):
        return t(f"action.{action}", lang)
    if action in res.actions:
        return t(res.actions[action].label, lang)
    return action


def _shown_fields(res: type[Resource]) -> set[str]:
    """The fields a person knows from the record's pages (its detail fields, columns and form)."""
    return set(res.detail_fields or []) | {c.name for c in res.columns} | {f.name for f in res.form_fields()}


def fk_titler(db: Session, user: CurrentUser, res: type[Resource]) -> Callable[[str, Any], str | None]:
    """``title(field, value)``: the title of the record a foreign key points at, as ``user`` may
    see it (None when the field is no foreign key, or the record is out of their sight)."""
    from app.core.errors import PultError
    from app.core.registry import RESOURCES

    by_table: dict[str, str] = {}
    for key, r in RESOURCES.items():
        by_table.setdefault(r.model.__tablename__, key)
    targets = {c.name: by_table[fk.column.table.name] for c in res.model.__table__.columns for fk in c.foreign_keys
               if fk.column.table.name in by_table}
    cache: dict[tuple[str, str], str | None] = {}

    def title(name: str, value: Any) -> str | None:
        if name not in targets or value is None or isinstance(value, (list, dict)):
            return None
        key = (targets[name], str(value))
        if key not in cache:
            target = RESOURCES[key[0]]()
            try:
                cache[key] = target.title(crud.get_record(db, target, user, key[1])) if target.can(user, "view") else None
            except PultError:
                cache[key] = None
        return cache[key]

    return title


def describe(res: type[Resource], action: str, diff: dict[str, Any], lang: str,
             title_of: Callable[[str, Any], str | None] | None = None) -> str:
    """An audit row's diff as lines a person reads: ``Поле: было → стало`` for an update, the
    values set for a create, the parameters of an action. Only fields the record's pages show
    (not bookkeeping columns); a foreign key by the related record's title when ``title_of`` knows it."""
    if not isinstance(diff, dict):
        return str(diff)[:300]
    if action.startswith("comment."):
        body = diff.get("body")
        if isinstance(body, list) and len(body) == 2:
            return f"«{str(body[0])[:120]}» → «{str(body[1])[:120]}»"
        return f"«{str(body or '')[:200]}»"
    if action not in ("create", "update", "delete"):  # an action: its parameters (the ids are the record)
        diff = dict(diff.get("params") or {}) if "ids" in diff else {k: v for k, v in diff.items() if k != "title"}
    shown = _shown_fields(res) if action in ("create", "update", "delete") else None

    def one(key: str, value: Any) -> str:
        return (title_of(key, value) if title_of else None) or show_value(res, key, value, lang)

    lines: list[str] = []
    for key, value in diff.items():
        if key in _SKIP or (shown is not None and key not in shown):
            continue
        label = label_for(res, key, None, lang)
        if action == "update" and isinstance(value, list) and len(value) == 2:
            line = f"{label}: {one(key, value[0])} → {one(key, value[1])}"
        else:
            line = f"{label}: {one(key, value)}"
        if line not in lines:
            lines.append(line)
    if len(lines) > MAX_FIELDS:
        lines = lines[:MAX_FIELDS] + ["…"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the merged list
def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _entry(key: str, at: dt.datetime, kind: str, kind_label: str, title: str, details: str, who: str, lang: str) -> dict[str, str]:
    return {"key": key, "at": _utc(at).astimezone(dt.timezone.utc).isoformat(), "when": fmt_datetime(at), "kind": kind, "kind_label": t(kind_label, lang),
            "title": title, "details": details, "who": who}


def entries(db: Session, res: type[Resource] | Resource, user: CurrentUser, record: Any, lang: str = "ru",
            spec: Timeline | None = None, kind: str = "") -> list[dict[str, str]]:
    """The record's timeline for ``user`` (who may see ``record``: the caller read it through
    ``crud.get_record``), newest first, only ``kind`` when given. Each entry is a dict of strings:
    ``key, at (ISO), when, kind, kind_label, title, details, who``."""
    r = res() if isinstance(res, type) else res
    cls = type(r)
    spec = spec or timeline_of(r) or HISTORY
    record_id = str(crud.pk_of(record))
    labels = dict(spec.kind_choices())
    out: list[dict[str, str]] = []
    if spec.audit and kind in ("", AUDIT):
        stmt = select(AuditLog).where(AuditLog.entity_type == r.key(), AuditLog.entity_id == record_id)
        if spec.comments:  # the comments source shows them
            stmt = stmt.where(AuditLog.action.not_like("comment.%"))
        title_of = fk_titler(db, user, cls)
        for a in db.exec(stmt.order_by(AuditLog.id.desc()).limit(spec.limit)).all():
            out.append(_entry(f"a{a.id}", a.created_at, AUDIT, labels.get(AUDIT, "timeline.kind.audit"), action_label(cls, a.action, lang),
                              describe(cls, a.action, a.diff, lang, title_of), a.username or t("timeline.system", lang), lang))
    if spec.comments and kind in ("", COMMENT):
        rows = db.exec(select(Comment).where(Comment.resource == r.key(), Comment.record_id == record_id)
                       .order_by(Comment.id.desc()).limit(spec.limit)).all()
        for c in rows:
            title = t("timeline.reply" if c.parent_id else "timeline.comment", lang)
            body = t("comments.deleted", lang) if c.deleted_at else c.body
            out.append(_entry(f"c{c.id}", c.created_at, COMMENT, labels.get(COMMENT, "timeline.kind.comment"), title, body[:500], c.username, lang))
    if spec.events is not None and kind not in (AUDIT, COMMENT):
        events = list(spec.events(db, user, record) or [])
        for i, e in enumerate(sorted(events, key=lambda e: _utc(e.at), reverse=True)[: spec.limit]):
            if kind and e.kind != kind:
                continue
            out.append(_entry(f"e{i}", e.at, e.kind, labels.get(e.kind, e.kind), t(e.title, lang), t(e.details, lang) if e.details else "",
                              e.actor or "", lang))
    out.sort(key=lambda e: e["at"], reverse=True)
    return out[: spec.limit]


def watched_tables(res: type[Resource]) -> set[str]:
    """The tables whose changes refresh the record's timeline and comment wall."""
    from app.core.comments import wall_of

    spec = timeline_of(res)
    tables = {AuditLog.__tablename__}
    if spec is not None:
        tables |= set(spec.tables)
        if spec.comments:
            tables.add(Comment.__tablename__)
    if wall_of(res) is not None:
        tables.add(Comment.__tablename__)
    return tables


__all__ = ["HISTORY", "Timeline", "TimelineEvent", "action_label", "describe", "entries", "show_value", "timeline", "timeline_of", "watched_tables"]
