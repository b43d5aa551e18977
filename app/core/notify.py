"""Notifications: events go to the people the rules name, on the channels the rules name.

A panel declares its events (``Panel(events={"stock.low_stock": ("i18n key", ["admin", "manager"])})``);
:func:`app.core.setup.sync_rules` turns the defaults into :class:`NotificationRule` rows once, and
admins edit them afterwards. A rule names a **channel**: the kit knows channels only through
:data:`CHANNELS`. It brings ``inapp`` (a row in the bell); a panel adds others with
:func:`register_channel` (the built-in ``telegram`` panel adds ``telegram``; e-mail would be one
more ``Channel``)::

    register_channel(Channel("telegram", "channel.telegram", deliver=send_later,
                             reaches=lambda user: bool(user.telegram_chat_id)))

:func:`notify` runs inside the caller's transaction: it writes one in-app row per in-app recipient
and hands every other delivery to its channel's ``deliver``, which must not send before the commit
(Telegram's enqueues a retried job after it, so a failed send is never lost and a rolled-back change
notifies nobody).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from app.core import bus
from app.core.principal import CurrentUser
from app.core.errors import NotFound, PermissionDenied
from models.core import Notification, NotificationRule, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Channel:
    """A way to reach a person: its rule value, its i18n label, how to deliver and whom it reaches.

    ``deliver(db, user, notification)`` gets an unsaved :class:`Notification` (``user_id`` None,
    ``data["channel"]`` and ``data["to"]`` set) inside the caller's transaction; ``None`` means the
    in-app bell (the row itself is the delivery). ``reaches(user)`` says whether the user can be
    reached at all (a linked Telegram chat); a user it does not reach is skipped.
    """

    name: str
    label: str
    deliver: Callable[[Session, User, Notification], None] | None = None
    reaches: Callable[[User], bool] = lambda user: True


#: The channels a rule may name, by name (in-app first).
CHANNELS: dict[str, Channel] = {}


def register_channel(channel: Channel) -> Channel:
    """Add a channel (a panel does it when imported); the same name again replaces it."""
    CHANNELS[channel.name] = channel
    return channel


def channel_choices() -> list[tuple[str, str]]:
    """``(name, i18n label)`` of every channel, for the rules' pickers."""
    return [(c.name, c.label) for c in CHANNELS.values()]


INAPP = register_channel(Channel("inapp", "channel.inapp"))


def recipients(db: Session, event: str) -> dict[str, list[User]]:
    """Active users per channel that the enabled rules for ``event`` name."""
    rules = db.exec(select(NotificationRule).where(NotificationRule.event == event, NotificationRule.enabled.is_(True))).all()
    out: dict[str, dict[int, User]] = {}
    for rule in rules:
        stmt = select(User).where(User.is_active.is_(True), User.deleted_at.is_(None))
        if rule.user_id is not None:
            stmt = stmt.where(User.id == rule.user_id)
        elif rule.role is not None:
            stmt = stmt.where(User.roles.contains([rule.role]))
        else:
            continue
        for user in db.exec(stmt).all():
            out.setdefault(rule.channel, {})[user.id] = user
    return {channel: list(users.values()) for channel, users in out.items()}


def notify(
    db: Session, event: str, title: str, body: str = "", link: str | None = None, data: dict[str, Any] | None = None
) -> list[Notification]:
    """Deliver ``event`` to everyone its rules name. The caller commits."""
    created = []
    for name, users in recipients(db, event).items():
        channel = CHANNELS.get(name)
        if channel is None:  # a rule for a channel whose panel is not enabled here
            log.warning("notify %s: no channel %r is registered; %d recipient(s) skipped", event, name, len(users))
            continue
        for user in users:
            if not channel.reaches(user):
                continue
            if channel.deliver is None:
                n = Notification(user_id=user.id, kind=event, title=title[:200], body=body[:2000], link=link, data=data or {})
                db.add(n)
                created.append(n)
            else:
                channel.deliver(db, user, Notification(user_id=None, kind=event, title=title[:200], body=body[:2000], link=link,
                                                       data={**(data or {}), "channel": name, "to": user.id}))
    if created:
        db.flush()
        bus.mark(db, "notification", [n.id for n in created], "create")
    return created


def to_user(db: Session, user_id: int | None, kind: str, title: str, body: str = "", link: str | None = None,
            data: dict[str, Any] | None = None) -> Notification | None:
    """A personal in-app notification (a job's result for whoever started it). The caller commits."""
    if user_id is None:
        return None
    n = Notification(user_id=user_id, kind=kind, title=title[:200], body=body[:2000], link=link, data=data or {})
    db.add(n)
    db.flush()
    bus.mark(db, "notification", [n.id], "create")
    return n


def to_person(db: Session, user: User, kind: str, title: str, body: str = "", link: str | None = None,
              data: dict[str, Any] | None = None) -> Notification:
    """Tell one person directly (an @mention), whatever the rules say: an in-app row in their bell,
    and the same message on every other registered channel that reaches them (Telegram when their
    chat is linked). The caller commits; channels deliver only after the commit."""
    n = Notification(user_id=user.id, kind=kind, title=title[:200], body=body[:2000], link=link, data=data or {})
    db.add(n)
    for name, channel in CHANNELS.items():
        if channel.deliver is not None and channel.reaches(user):
            channel.deliver(db, user, Notification(user_id=None, kind=kind, title=title[:200], body=body[:2000], link=link,
                                                   data={**(data or {}), "channel": name, "to": user.id}))
    db.flush()
    bus.mark(db, "notification", [n.id], "create")
    return n


def _mine(user: CurrentUser):
    return Notification.user_id == user.id


def unread_count(db: Session, user: CurrentUser) -> int:
    from sqlmodel import func

    return int(db.exec(select(func.count()).select_from(Notification).where(_mine(user), Notification.read_at.is_(None))).one())


def latest(db: Session, user: CurrentUser, limit: int = 20, unread_only: bool = False) -> list[Notification]:
    stmt = select(Notification).where(_mine(user))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(db.exec(stmt.order_by(Notification.id.desc()).limit(limit)).all())


def mark_read(db: Session, user: CurrentUser, ids: list[int] | None = None) -> int:
    """Mark the user's own notifications read (all unread ones when ``ids`` is None)."""
    stmt = select(Notification).where(_mine(user), Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
        found = db.exec(select(Notification.id).where(Notification.id.in_(ids))).all()
        mine = db.exec(select(Notification.id).where(Notification.id.in_(ids), _mine(user))).all()
        if len(found) != len(mine):
            raise PermissionDenied()
        if not found:
            raise NotFound()
    now = dt.datetime.now(dt.timezone.utc)
    rows = db.exec(stmt).all()
    for n in rows:
        n.read_at = now
    if rows:
        bus.mark(db, "notification", [n.id for n in rows], "update")
    db.commit()
    return len(rows)


__all__ = ["CHANNELS", "Channel", "INAPP", "channel_choices", "register_channel", "notify", "to_user", "to_person", "recipients", "unread_count", "latest", "mark_read"]
