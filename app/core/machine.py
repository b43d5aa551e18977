"""Declared state machines: which values a status field may move between, and who may move it.

A panel declares one :class:`Machine` per status field (an asset's location, condition and process
are three of them: three independent axes). The machine is the only way the field changes: every
front door — a page's action, the REST API, a job, another service — calls :meth:`Machine.move`,
which refuses an illegal move with a :class:`~app.core.errors.PultError` naming the field, the
value it is in and the one asked for, whoever the caller::

    PROCESS = Machine("process", Process, [
        Transition("reserve", Process.FREE, Process.RESERVED, perm="equipment.assets.reserve"),
        Transition("release", Process.RESERVED, Process.FREE, perm="equipment.assets.reserve"),
        Transition("deliver", [Process.IN_SHIPMENT], Process.NOT_INSTALLED, system=True),
    ])
    PROCESS.move(db, user, asset, Process.RESERVED)          # or by name: PROCESS.fire(db, user, asset, "reserve")

``system=True`` marks a transition only services make on their own (delivery confirmed by the
provider): it never shows as an action and a person cannot ask for it directly. A transition's
``perm`` is checked on :class:`~app.core.principal.CurrentUser`; ``roles`` narrows it further.

:meth:`Machine.move` changes the attribute, writes the audit row (``<entity>.<field>``, from → to)
in the caller's transaction and returns the :class:`Move`; the caller commits. Concurrency is the
caller's: to move a row many may move at once, lock it (``SELECT … FOR UPDATE``) or use
:meth:`Machine.move_where`, a conditional ``UPDATE … WHERE field = from`` that moves it only if
nobody moved it first.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from app.core import audit
from app.core.errors import PermissionDenied, PultError
from app.core.principal import CurrentUser


class IllegalTransition(PultError):
    """The field is not in a state the asked move starts from (or no transition leads there)."""

    status_code = 409

    def message(self, lang: str = "ru") -> str:
        from app.core.i18n import t

        # the field and its values are i18n keys themselves: "Процесс: «Свободен» → «Установлен» нельзя"
        return t(self.key, lang, **{k: t(v, lang) if isinstance(v, str) else v for k, v in self.params.items()})


def _value(v: Any) -> str:
    return v.value if isinstance(v, enum.Enum) else str(v)


@dataclass(frozen=True)
class Transition:
    """A named move from one of ``source`` to ``target``.

    ``source`` is a value, a list of values, or ``"*"`` for any. ``guard(record) -> str | None``
    may refuse with an i18n key even when the source matches (e.g. an asset that is not WORKING
    cannot be reserved)."""

    name: str
    source: Any
    target: Any
    perm: str | None = None
    roles: tuple[str, ...] = ()
    label: str | None = None  # i18n key; default ``<machine label>.<name>``
    system: bool = False
    guard: Callable[[Any], str | None] | None = None
    confirm: bool = False

    def starts_from(self, value: Any) -> bool:
        if self.source == "*":
            return True
        sources = self.source if isinstance(self.source, (list, tuple, set, frozenset)) else [self.source]
        return _value(value) in {_value(s) for s in sources}

    def permits(self, user: CurrentUser) -> bool:
        if self.system:
            return False
        if user.is_admin:
            return True
        if self.perm and not user.has_perm(self.perm):
            return False
        return not self.roles or any(r in user.roles for r in self.roles)


@dataclass(frozen=True)
class Move:
    field: str
    before: str
    after: str
    transition: str


@dataclass
class Machine:
    """The legal moves of one status field (``field``, an attribute of the record)."""

    field: str
    values: type[enum.Enum]
    transitions: list[Transition]
    #: i18n prefix for the values' labels (``<label>.<VALUE>``) and the transitions' (``<label>.<name>``)
    label: str = ""
    _by_name: dict[str, Transition] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        for t in self.transitions:
            if t.name in self._by_name:
                raise ValueError(f"Machine {self.field!r}: two transitions named {t.name!r}")
            for v in ([t.target] + ([] if t.source == "*" else list(t.source if isinstance(t.source, (list, tuple, set)) else [t.source]))):
                self.values(_value(v))  # a value outside the enum fails at import, not at run time
            self._by_name[t.name] = t
        if not self.label:
            self.label = self.field

    # -------------------------------------------------------------- questions

    def transition(self, name: str) -> Transition:
        try:
            return self._by_name[name]
        except KeyError:
            raise PultError("machine.unknown", name=name) from None

    def leading(self, current: Any, target: Any) -> list[Transition]:
        """Transitions from ``current`` to ``target``."""
        return [t for t in self.transitions if t.starts_from(current) and _value(t.target) == _value(target)]

    def available(self, user: CurrentUser, record: Any) -> list[Transition]:
        """What ``user`` may do to ``record`` now: the actions a page shows (guards included)."""
        current = getattr(record, self.field)
        return [
            t for t in self.transitions
            if t.starts_from(current) and t.permits(user) and not (t.guard and t.guard(record))
        ]

    def value_label(self, value: Any) -> str:
        return f"{self.label}.{_value(value)}"

    # -------------------------------------------------------------- moves

    def check(self, user: CurrentUser, record: Any, t: Transition, *, system: bool = False) -> None:
        current = getattr(record, self.field)
        if not t.starts_from(current):
            raise IllegalTransition(
                "machine.illegal", field=self.label, current=self.value_label(current), target=self.value_label(t.target)
            )
        if t.system and not system:
            raise IllegalTransition(
                "machine.system_only", field=self.label, current=self.value_label(current), target=self.value_label(t.target)
            )
        if not system and not t.permits(user):
            raise PermissionDenied()
        if t.guard and (why := t.guard(record)):
            raise IllegalTransition(why)

    def fire(self, db: Session, user: CurrentUser, record: Any, name: str, *, system: bool = False,
             entity: str | None = None, details: dict[str, Any] | None = None) -> Move:
        """Apply the transition called ``name`` (an action's click)."""
        t = self.transition(name)
        return self._apply(db, user, record, t, system=system, entity=entity, details=details)

    def move(self, db: Session, user: CurrentUser, record: Any, target: Any, *, system: bool = False,
             entity: str | None = None, details: dict[str, Any] | None = None) -> Move:
        """Move ``record`` to ``target`` by whichever declared transition leads there from where it is.
        Refused (with a message) when none does, or none that this caller may make."""
        current = getattr(record, self.field)
        candidates = self.leading(current, target)
        if not candidates:
            raise IllegalTransition(
                "machine.illegal", field=self.label, current=self.value_label(current), target=self.value_label(target)
            )
        allowed = [t for t in candidates if (system or (not t.system and t.permits(user)))]
        t = allowed[0] if allowed else candidates[0]
        return self._apply(db, user, record, t, system=system, entity=entity, details=details)

    def _apply(self, db: Session, user: CurrentUser, record: Any, t: Transition, *, system: bool,
               entity: str | None, details: dict[str, Any] | None) -> Move:
        self.check(user, record, t, system=system)
        before = _value(getattr(record, self.field))
        setattr(record, self.field, self.values(_value(t.target)))
        db.add(record)
        mv = Move(self.field, before, _value(t.target), t.name)
        entity_type = entity or getattr(type(record), "__tablename__", type(record).__name__.lower())
        audit.record(
            db, None if system and user is None else user, f"{entity_type}.{self.field}", entity_type,
            getattr(record, "id", None), {self.field: [before, mv.after], "transition": t.name, **(details or {})},
        )
        return mv

    def move_where(self, db: Session, model: type, ids: Iterable[Any], source: Any, target: Any) -> list[Any]:
        """Move every row of ``ids`` still in ``source`` to ``target`` in one conditional UPDATE and
        return the ids it moved (the others were moved by someone else first). The caller has
        checked permission, audits and commits; the pair must be a declared transition."""
        if not self.leading(source, target):
            raise IllegalTransition(
                "machine.illegal", field=self.label, current=self.value_label(source), target=self.value_label(target)
            )
        column = getattr(model, self.field)
        stmt = (
            update(model)
            .where(model.id.in_(list(ids)), column == self.values(_value(source)))
            .values({self.field: self.values(_value(target))})
            .returning(model.id)
        )
        return [row[0] for row in db.execute(stmt)]

    def graph(self) -> dict[str, list[str]]:
        """value -> values reachable in one move (for docs and a diagram)."""
        out: dict[str, list[str]] = {m.value: [] for m in self.values}
        for t in self.transitions:
            for v in self.values:
                if t.starts_from(v) and _value(t.target) not in out[v.value]:
                    out[v.value].append(_value(t.target))
        return out
