"""The comment wall ("мини-чат") of a detail page: comments on any record of any resource.

A resource opts in by declaring the block (``detail_blocks = [comment_wall()]``); the kit then
shows the wall under the record, keeps it live in every open browser, and answers
``/api/<panel>/<resource>/{id}/comments``. The rules, the same from the page, the API and a job:

* **Read**: whoever may see the record (``crud.get_record``: the resource's ``can(user, "view")``
  and its ``list_query`` scope) reads its comments.
* **Write**: ``can(user, "comment", record)`` on the resource — by default the role permission
  ``<panel>.<slug>.comment`` (a resource with a wall lists it among its permissions).
* **Edit / delete**: one's own comments only (an administrator may delete any); both are audited
  with the old text, and a deleted comment keeps its place (its replies stay) as "deleted".
* **Replies**: one level; a reply to a reply answers the same top-level comment.
* **@mentions**: ``@username`` in the text notifies that user (:func:`app.core.notify.to_person`:
  the bell, and Telegram when their chat is linked) — only when they may see the record, never
  the author, once per comment (an edit notifies only the newly mentioned).

Every change writes an audit row about the *record* (``comment.create`` / ``comment.edit`` /
``comment.delete``, entity = the record), so the operation log's per-record scope applies, and
marks ``comment`` on the change bus after commit.

**Attachments**: a comment holds ``attachments``, a list of stored-file ids (photos, documents:
:mod:`app.core.files`). The author uploads them first — the page's paperclip, or
``POST /api/<panel>/<resource>/{id}/files`` — as pending uploads only they may see; posting the
comment gives them to the *record* (:func:`app.core.file_links.claim`), so whoever may see the
record may see them, and nobody else. An id that is not the author's own pending upload (nor
already the record's file) is refused with a message; at most :data:`MAX_ATTACHMENTS`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from app.core import audit, bus, crud, file_links, notify
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import t
from app.core.principal import CurrentUser
from app.core.resource import Resource
from models.comments import MAX_COMMENT_LENGTH, Comment
from models.core import User

#: The notification kind of an @mention (``Notification.kind``).
MENTION_KIND = "comment.mention"
#: The change-bus model (and table) every comment change is published as.
TABLE = Comment.__tablename__

#: The most files one comment carries.
MAX_ATTACHMENTS = 10

# ``@name`` not preceded by a word character, dot or @ (an e-mail address is not a mention).
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_.\-]{0,63})")


@dataclass(frozen=True)
class CommentWall:
    """The declaration of a comment wall on a resource's detail page (see :func:`comment_wall`)."""

    title: str = "comments.title"
    max_length: int = MAX_COMMENT_LENGTH
    kind: str = "comment_wall"
    #: The permission the wall adds to its resource: ``can(user, "comment", record)``.
    operations: tuple[str, ...] = ("comment",)

    def check(self, res: type[Resource]) -> str | None:
        """A problem with this declaration on ``res`` (checked at start-up), or None."""
        if sum(isinstance(b, CommentWall) for b in res.detail_blocks) > 1:
            return "detail_blocks declares more than one comment_wall()"
        if len(res.model.__table__.primary_key.columns) != 1:
            return "a comment wall needs a model with a one-column primary key"
        return None


def comment_wall(title: str = "comments.title", max_length: int = MAX_COMMENT_LENGTH) -> CommentWall:
    """Declare a comment wall: ``detail_blocks = [comment_wall()]``. ``title`` is an i18n key or
    text; ``max_length`` caps a comment (at most the column's own cap)."""
    return CommentWall(title=title, max_length=min(max_length, MAX_COMMENT_LENGTH))


def wall_of(res: type[Resource] | Resource) -> CommentWall | None:
    """The comment wall ``res`` declares, or None."""
    return next((b for b in getattr(res, "detail_blocks", []) if isinstance(b, CommentWall)), None)


# --------------------------------------------------------------------------- attachments
def _attachments(db: Session, user: CurrentUser, r: Resource, key: str, ids: Iterable[Any] | None) -> list[str]:
    """The files a new comment on record ``key`` carries, now the record's: each must be the
    author's own pending upload (or already a file of this record)."""
    wanted = list(dict.fromkeys(str(i).strip() for i in (ids or []) if str(i).strip()))
    if not wanted:
        return []
    if len(wanted) > MAX_ATTACHMENTS:
        raise ValidationFailed.one("attachments", "comments.too_many_files", max=MAX_ATTACHMENTS)
    for file_id in wanted:
        if file_links.check_link(db, user, file_id, r.key(), key) is not None:
            raise ValidationFailed.one("attachments", "files.not_yours")
    mine = file_links.claim(db, user, r.key(), key, wanted)
    if any(int(i) not in mine for i in wanted):  # another comment took the same upload a moment ago
        raise ValidationFailed.one("attachments", "files.not_yours")
    return [str(int(i)) for i in wanted]


# --------------------------------------------------------------------------- mentions
def parse_mentions(body: str) -> list[str]:
    """The usernames ``body`` @mentions, in order, each once (a trailing dot is punctuation)."""
    out: list[str] = []
    for m in MENTION.finditer(body or ""):
        name = m.group(1).rstrip(".-")
        if name and name.lower() not in (n.lower() for n in out):
            out.append(name)
    return out


def existing_usernames(db: Session, names: Iterable[str]) -> set[str]:
    """Which of ``names`` are users' usernames (lower-case): the mentions a wall highlights."""
    wanted = {n.lower() for n in names if n}
    if not wanted:
        return set()
    return {u.lower() for u in db.exec(select(User.username).where(func.lower(User.username).in_(wanted)))}


def mention_candidates(db: Session, prefix: str, limit: int = 6) -> list[tuple[str, str]]:
    """``(username, full name)`` of active users whose username or name starts with ``prefix``,
    for the @-autocomplete (usernames are not secret among signed-in staff)."""
    from sqlalchemy import func, or_

    prefix = (prefix or "").strip().lstrip("@")[:64]
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    stmt = select(User.username, User.full_name).where(User.is_active.is_(True), User.deleted_at.is_(None), User.pending.is_(False))
    if prefix:
        stmt = stmt.where(or_(func.lower(User.username).like(pattern.lower()), func.lower(User.full_name).like(pattern.lower())))
    return [(u, n or "") for u, n in db.exec(stmt.order_by(User.username).limit(limit)).all()]


def _mentioned_users(db: Session, names: list[str]) -> list[User]:
    from sqlalchemy import func

    if not names:
        return []
    lowered = [n.lower() for n in names]
    return list(db.exec(select(User).where(func.lower(User.username).in_(lowered), User.is_active.is_(True),
                                           User.deleted_at.is_(None), User.pending.is_(False))).all())


def _may_see(db: Session, res: Resource, who: User, record_id: str) -> bool:
    from app.core.auth import current_user_for

    try:
        crud.get_record(db, res, current_user_for(db, who), record_id)
        return True
    except (NotFound, PermissionDenied):
        return False


def _notify_mentions(db: Session, res: Resource, author: CurrentUser, record: Any, comment: Comment, already: set[int]) -> list[int]:
    """Tell every newly @mentioned user who may see the record; returns all mentioned user ids."""
    record_id = str(crud.pk_of(record))
    ids = []
    for who in _mentioned_users(db, parse_mentions(comment.body)):
        if who.id == author.id or not _may_see(db, res, who, record_id):
            continue
        ids.append(who.id)
        if who.id in already:
            continue
        what = f"{t(res.label_one or res.label, 'ru')} «{res.title(record)}»"
        notify.to_person(
            db, who, MENTION_KIND,
            title=t("comments.mentioned", "ru", who=author.full_name or author.username, what=what),
            body=comment.body[:500],
            link=f"{res.url()}/{record_id}#comment-{comment.id}",
            data={"resource": res.key(), "record_id": record_id, "comment_id": comment.id},
        )
    return ids


# --------------------------------------------------------------------------- reading
def _comment_id(value: Any) -> int | None:
    """A comment id from a form or URL, or None when it cannot be one (never a database error)."""
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if 1 <= n <= 2**31 - 1 else None


def _resource(res: type[Resource] | Resource) -> Resource:
    r = res() if isinstance(res, type) else res
    if wall_of(r) is None:
        raise NotFound()
    return r


def can_comment(res: Resource, user: CurrentUser, record: Any) -> bool:
    return wall_of(res) is not None and res.can(user, "comment", record)


def thread(db: Session, res: type[Resource] | Resource, user: CurrentUser, record_id: Any, limit: int = 500) -> list[Comment]:
    """The record's comments the user may read, as a thread: each top-level comment (oldest first)
    followed by its replies (oldest first). Raises NotFound / PermissionDenied like the record."""
    r = _resource(res)
    record = crud.get_record(db, r, user, record_id)
    rows = db.exec(select(Comment).where(Comment.resource == r.key(), Comment.record_id == str(crud.pk_of(record)))
                   .order_by(Comment.id.desc()).limit(limit)).all()
    rows = list(reversed(rows))
    replies: dict[int, list[Comment]] = {}
    tops = []
    for c in rows:
        if c.parent_id is None:
            tops.append(c)
        else:
            replies.setdefault(c.parent_id, []).append(c)
    out: list[Comment] = []
    for c in tops:
        out.append(c)
        out += replies.pop(c.id, [])
    for orphans in replies.values():  # replies whose parent fell outside the limit
        out += orphans
    return out


def as_json(c: Comment, user: CurrentUser | None = None) -> dict[str, Any]:
    """A comment as the API answers it (a deleted one without its text)."""
    return {
        "id": c.id, "parent_id": c.parent_id, "author": c.username, "user_id": c.user_id,
        "body": "" if c.deleted_at else c.body, "mentions": list(c.mentions or []),
        "attachments": [] if c.deleted_at else list(c.attachments or []),
        "created_at": audit.jsonable(c.created_at), "edited_at": audit.jsonable(c.edited_at),
        "deleted": c.deleted_at is not None,
        "mine": user is not None and c.user_id is not None and c.user_id == user.id,
    }


# --------------------------------------------------------------------------- writing
def _check_body(res: Resource, body: Any) -> str:
    text = body.strip() if isinstance(body, str) else ""
    if not text:
        raise ValidationFailed.one("body", "comments.empty")
    if "\x00" in text:
        raise ValidationFailed.one("body", "error.value")
    limit = (wall_of(res) or CommentWall()).max_length
    if len(text) > limit:
        raise ValidationFailed.one("body", "comments.too_long", max=limit, n=len(text))
    return text


def add(db: Session, res: type[Resource] | Resource, user: CurrentUser, record_id: Any, body: Any,
        parent_id: Any = None, attachments: Iterable[Any] | None = None) -> Comment:
    """Post a comment (or a reply to ``parent_id``) on the record, notify the @mentioned, audit, commit."""
    r = _resource(res)
    record = crud.get_record(db, r, user, record_id)
    if not can_comment(r, user, record):
        raise PermissionDenied()
    text = _check_body(r, body)
    key = str(crud.pk_of(record))
    parent = None
    if parent_id not in (None, ""):
        pid = _comment_id(parent_id)
        parent = db.get(Comment, pid) if pid is not None else None
        if parent is None or parent.resource != r.key() or parent.record_id != key or parent.deleted_at is not None:
            raise ValidationFailed.one("parent_id", "comments.no_parent")
        if parent.parent_id is not None:  # one level: a reply to a reply answers the same thread
            parent = db.get(Comment, parent.parent_id)
    comment = Comment(resource=r.key(), record_id=key, parent_id=parent.id if parent else None, user_id=user.id,
                      username=user.username, body=text, attachments=_attachments(db, user, r, key, attachments))
    db.add(comment)
    db.flush()
    comment.mentions = _notify_mentions(db, r, user, record, comment, set())
    audit.record(db, user, "comment.create", r.key(), key, {"comment": comment.id, "body": text,
                                                            **({"reply_to": comment.parent_id} if comment.parent_id else {}),
                                                            **({"files": comment.attachments} if comment.attachments else {})})
    bus.mark(db, TABLE, [comment.id], "create")
    db.commit()
    return comment


def _own(db: Session, res: type[Resource] | Resource, user: CurrentUser, record_id: Any, comment_id: Any,
         admin_too: bool = False) -> tuple[Resource, Any, Comment]:
    """The record (visible to the user) and its comment ``comment_id``, which must be the user's own."""
    r = _resource(res)
    record = crud.get_record(db, r, user, record_id, for_update=True)
    cid = _comment_id(comment_id)
    comment = db.get(Comment, cid, with_for_update=True) if cid is not None else None
    if comment is None or comment.resource != r.key() or comment.record_id != str(crud.pk_of(record)) or comment.deleted_at is not None:
        raise NotFound()
    if comment.user_id is None or comment.user_id != user.id:
        if not (admin_too and user.is_admin):
            raise PermissionDenied("comments.not_yours")
    return r, record, comment


def edit(db: Session, res: type[Resource] | Resource, user: CurrentUser, record_id: Any, comment_id: Any, body: Any) -> Comment:
    """Change the text of one's own comment (audited with the old text); newly @mentioned users are told."""
    r, record, comment = _own(db, res, user, record_id, comment_id)
    if not can_comment(r, user, record):
        raise PermissionDenied()
    text = _check_body(r, body)
    if text == comment.body:
        db.rollback()
        return comment
    old = comment.body
    comment.body, comment.edited_at = text, dt.datetime.now(dt.timezone.utc)
    comment.mentions = _notify_mentions(db, r, user, record, comment, set(comment.mentions or []))
    audit.record(db, user, "comment.edit", r.key(), comment.record_id, {"comment": comment.id, "body": [old, text]})
    bus.mark(db, TABLE, [comment.id], "update")
    db.commit()
    return comment


def delete(db: Session, res: type[Resource] | Resource, user: CurrentUser, record_id: Any, comment_id: Any) -> None:
    """Delete one's own comment (an administrator: any). The row stays, marked, so replies keep
    their thread; the audit row keeps the text."""
    r, _record, comment = _own(db, res, user, record_id, comment_id, admin_too=True)
    comment.deleted_at = dt.datetime.now(dt.timezone.utc)
    audit.record(db, user, "comment.delete", r.key(), comment.record_id, {"comment": comment.id, "body": comment.body})
    bus.mark(db, TABLE, [comment.id], "delete")
    db.commit()


__all__ = ["CommentWall", "MENTION_KIND", "add", "as_json", "can_comment", "comment_wall", "delete", "edit",
           "mention_candidates", "parse_mentions", "thread", "wall_of"]
