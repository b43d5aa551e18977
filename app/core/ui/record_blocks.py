"""The detail page's blocks under the record: the timeline and the comment wall (docs/blocks.md).

A state mixin for :class:`app.core.ui.detail.DetailState` (it knows ``res_key`` and
``record_id``) and the two components. Every handler goes through the services
(:mod:`app.core.comments`, :mod:`app.core.record_timeline`), which check ``can`` again; the
page reloads the blocks with the record on every live refresh, so a comment posted in one
browser appears in every other that shows the record.

The comment box is an uncontrolled textarea inside a form: a live refresh while someone types
leaves their text alone. Typing ``@na`` offers matching usernames under the box; picking one
completes it in place (``rx.set_value``); a mention of a user shows highlighted in the comment.

The paperclip beside the box uploads a file at once (:func:`app.core.files.put_for_record`: checked
by its bytes, the author's own until posted); posting the comment gives the files to the record.
The wall shows a photo's thumbnail and a document's name, each opening the file.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import reflex as rx

from app.core import comments as comment_service
from app.core import files as file_store
from app.core import record_timeline
from app.core.display import fmt_datetime
from app.core.errors import NotAuthenticated, PultError, ValidationFailed
from app.core.resource import Resource
from app.core.ui.base import tr, ui_session

BODY_ID = "comment-body"
ATTACH_ID = "comment-attach"
REPLY_ID = "reply-body"
EDIT_ID = "edit-body"
_TRAILING_MENTION = re.compile(r"(?:^|[\s(])@([A-Za-z0-9_.\-]{0,64})$")


class RecordBlocksMixin(rx.State, mixin=True):
    #: Timeline entries (dicts of strings: when, who, kind, kind_label, title, details) and the filter.
    timeline: list[dict[str, str]] = []
    timeline_kind: str = ""
    timeline_kinds: list[list[str]] = []
    comments: list[dict[str, str]] = []
    can_comment: bool = False
    comment_error: str = ""
    reply_to: str = ""
    reply_who: str = ""
    reply_error: str = ""
    edit_id: str = ""
    edit_text: str = ""
    edit_error: str = ""
    delete_id: str = ""
    mention_options: list[list[str]] = []
    #: A comment's text in pieces, [text, "1" when it @mentions a user], by comment id.
    comment_parts: dict[str, list[list[str]]] = {}
    #: A comment's files by comment id: dicts of id, name, url (the file), thumb (a photo's thumbnail or "").
    comment_files: dict[str, list[dict[str, str]]] = {}
    #: Files uploaded for the comment being written, not posted yet (same dicts).
    pending_files: list[dict[str, str]] = []
    #: Which box the @-suggestions complete (BODY_ID, REPLY_ID or EDIT_ID) and its text so far.
    _mention_box: str = ""
    _draft: str = ""

    def _load_blocks(self, db: Any, res: Resource, user: Any, record: Any) -> None:
        """Fill the timeline and the comment wall for ``record`` (which ``user`` may see)."""
        spec = record_timeline.timeline_of(res) or record_timeline.HISTORY
        self.timeline_kinds = [[k, self.t(label)] for k, label in spec.kind_choices()] if record_timeline.timeline_of(res) else []  # type: ignore[attr-defined]
        if self.timeline_kind and self.timeline_kind not in {k for k, _l in self.timeline_kinds}:
            self.timeline_kind = ""
        self.timeline = record_timeline.entries(db, res, user, record, self.lang, spec, self.timeline_kind)  # type: ignore[attr-defined]
        if comment_service.wall_of(res) is None:
            self.comments, self.can_comment = [], False
            return
        self.can_comment = comment_service.can_comment(res, user, record)
        thread = comment_service.thread(db, res, user, self.record_id)  # type: ignore[attr-defined]
        self.comments = [self._comment_row(c, user) for c in thread]
        known = comment_service.existing_usernames(db, {n for c in thread if c.deleted_at is None for n in comment_service.parse_mentions(c.body)})
        self.comment_parts = {str(c.id): _parts(c.body, known) for c in thread
                              if c.deleted_at is None and any(n.lower() in known for n in comment_service.parse_mentions(c.body))}
        self.comment_files = self._files_of(db, res, record, thread)

    def _files_of(self, db: Any, res: Resource, record: Any, thread: list[Any]) -> dict[str, list[dict[str, str]]]:
        """The comments' files the record owns (the record is one the user sees), with presigned URLs."""
        from app.core import crud

        wanted = [i for c in thread if c.deleted_at is None for i in (c.attachments or [])]
        if not wanted:
            return {}
        try:
            found = file_store.record_files(db, res, crud.pk_of(record), wanted)
            return {str(c.id): [_file_row(found[i]) for i in c.attachments or [] if i in found]
                    for c in thread if c.deleted_at is None and c.attachments}
        except PultError:  # the store is not configured: the comments show without their files
            return {}

    def _comment_row(self, c: Any, user: Any) -> dict[str, str]:
        deleted = c.deleted_at is not None
        return {
            "id": str(c.id), "reply": "1" if c.parent_id else "", "who": c.username, "when": fmt_datetime(c.created_at),
            "body": self.t("comments.deleted") if deleted else c.body,  # type: ignore[attr-defined]
            "edited": "1" if c.edited_at and not deleted else "", "deleted": "1" if deleted else "",
            "mine": "1" if (not deleted and c.user_id is not None and c.user_id == user.id) else "",
            "admin": "1" if (not deleted and user.is_admin) else "",
        }

    def _blocks_res(self) -> Resource:
        return self._res()  # type: ignore[attr-defined]

    def _after_change(self) -> list[Any]:
        """Reload the page's data after a comment change (the bus refreshes the other tabs); the
        events the reload asks for (an error toast), as a list."""
        out = self._reload()  # type: ignore[attr-defined]
        return [] if out is None else out if isinstance(out, list) else [out]

    # -- timeline ----------------------------------------------------------
    @rx.event
    def set_timeline_kind(self, kind: str):
        self.timeline_kind = "" if kind == "all" else kind
        return self._after_change() or None

    # -- attaching ---------------------------------------------------------
    @rx.event
    async def attach(self, files: list[rx.UploadFile]):
        """Files chosen with the paperclip: each checked and stored at once for this record (only
        for a user who may comment); a refused one says why under the box and stores nothing."""
        if not files:
            return None
        res, record_id = self._blocks_res(), self.record_id  # type: ignore[attr-defined]

        def store(user: Any, upload: Any) -> dict[str, str]:
            with ui_session() as db:
                return _file_row(file_store.put_for_record(db, res, user, record_id, upload.file, upload.name or "file"))

        try:
            user = self.current_user()  # type: ignore[attr-defined]
            for upload in files[: comment_service.MAX_ATTACHMENTS - len(self.pending_files)]:
                self.pending_files.append(await asyncio.to_thread(store, user, upload))
            self.comment_error = ""
        except ValidationFailed as exc:
            self.comment_error = next(iter(exc.messages(self.lang).values()), exc.message(self.lang))  # type: ignore[attr-defined]
        except NotAuthenticated as exc:
            return self.fail(exc)  # type: ignore[attr-defined]
        except PultError as exc:
            self.comment_error = exc.message(self.lang)  # type: ignore[attr-defined]
        return None

    @rx.event
    def unattach(self, file_id: str):
        """Take a file off the comment being written (the upload is deleted: nothing holds it)."""
        self.pending_files = [f for f in self.pending_files if f["id"] != file_id]
        try:
            with ui_session() as db:
                user = self.current_user()  # type: ignore[attr-defined]
                if file_store.get(db, user, file_id).owner_resource is None:
                    file_store.delete(db, user, file_id)
        except PultError:
            pass

    # -- posting -----------------------------------------------------------
    def _post(self, body: str, parent: str | None) -> bool:
        """Post a comment or reply; False with the message under the box when refused."""
        try:
            with ui_session() as db:
                files = [f["id"] for f in self.pending_files] if parent is None else []
                comment_service.add(db, self._blocks_res(), self.current_user(), self.record_id, body, parent_id=parent,  # type: ignore[attr-defined]
                                    attachments=files)
        except ValidationFailed as exc:
            messages = exc.messages(self.lang)  # type: ignore[attr-defined]
            text = messages.get("body") or next(iter(messages.values()), exc.message(self.lang))  # type: ignore[attr-defined]
            if parent is None:
                self.comment_error = text
            else:
                self.reply_error = text
            return False
        return True

    @rx.event
    def post_comment(self, form: dict[str, Any]):
        self.mention_options = []
        try:
            if not self._post(str(form.get("body", "")), None):
                return None
        except PultError as exc:
            return self.fail(exc)  # type: ignore[attr-defined]
        self.comment_error, self._draft, self.pending_files = "", "", []
        return [rx.set_value(BODY_ID, ""), *self._after_change()]

    @rx.event
    def start_reply(self, comment_id: str, who: str):
        self.reply_to, self.reply_who, self.reply_error = comment_id, who, ""
        self.edit_id = self.delete_id = ""

    @rx.event
    def cancel_reply(self):
        self.reply_to, self.reply_who, self.reply_error = "", "", ""
        self.mention_options = []

    @rx.event
    def post_reply(self, form: dict[str, Any]):
        self.mention_options = []
        try:
            if not self._post(str(form.get("body", "")), self.reply_to):
                return None
        except PultError as exc:
            return self.fail(exc)  # type: ignore[attr-defined]
        self.reply_to, self.reply_who, self.reply_error = "", "", ""
        return self._after_change() or None

    # -- editing and deleting one's own -------------------------------------
    @rx.event
    def start_edit(self, comment_id: str, body: str):
        self.edit_id, self.edit_text, self.edit_error = comment_id, body, ""
        self.reply_to = self.delete_id = ""

    @rx.event
    def cancel_edit(self):
        self.edit_id, self.edit_text, self.edit_error = "", "", ""
        self.mention_options = []

    @rx.event
    def save_edit(self, form: dict[str, Any]):
        self.mention_options = []
        try:
            with ui_session() as db:
                comment_service.edit(db, self._blocks_res(), self.current_user(), self.record_id, self.edit_id, str(form.get("body", "")))  # type: ignore[attr-defined]
        except ValidationFailed as exc:
            messages = exc.messages(self.lang)  # type: ignore[attr-defined]
            self.edit_error = messages.get("body") or next(iter(messages.values()), exc.message(self.lang))  # type: ignore[attr-defined]
            return None
        except PultError as exc:
            return self.fail(exc)  # type: ignore[attr-defined]
        self.edit_id, self.edit_text, self.edit_error = "", "", ""
        return self._after_change() or None

    @rx.event
    def ask_delete(self, comment_id: str):
        self.delete_id = comment_id

    @rx.event
    def cancel_delete(self):
        self.delete_id = ""

    @rx.event
    def delete_comment(self):
        comment_id, self.delete_id = self.delete_id, ""
        try:
            with ui_session() as db:
                comment_service.delete(db, self._blocks_res(), self.current_user(), self.record_id, comment_id)  # type: ignore[attr-defined]
        except PultError as exc:
            return self.fail(exc)  # type: ignore[attr-defined]
        return self._after_change() or None

    # -- @-autocomplete -----------------------------------------------------
    @rx.event
    def typed(self, box: str, text: str):
        """A keystroke in a comment box: offer usernames when the text ends in ``@prefix``."""
        if box == BODY_ID and self.comment_error:
            self.comment_error = ""
        if box == REPLY_ID and self.reply_error:
            self.reply_error = ""
        self._mention_box, self._draft = box, text[:8000]
        m = _TRAILING_MENTION.search(self._draft)
        if m is None:
            if self.mention_options:
                self.mention_options = []
            return
        try:
            with ui_session() as db:
                self.mention_options = [[u, n] for u, n in comment_service.mention_candidates(db, m.group(1))]
        except PultError:
            self.mention_options = []

    @rx.event
    def pick_mention(self, username: str):
        m = _TRAILING_MENTION.search(self._draft)
        self.mention_options = []
        if m is None:
            return None
        start = m.start(1) - 1  # the "@"
        self._draft = self._draft[:start] + "@" + username + " "
        return [rx.set_value(self._mention_box, self._draft), rx.set_focus(self._mention_box)]


def _parts(body: str, known: set[str]) -> list[list[str]]:
    """``body`` cut into [text, "1" for an @mention of a user (``known``: lower-case usernames), else ""]."""
    out: list[list[str]] = []
    at = 0
    for m in comment_service.MENTION.finditer(body or ""):
        name = m.group(1).rstrip(".-")
        if name.lower() not in known:
            continue
        end = m.start(1) + len(name)
        if m.start() > at:
            out.append([body[at:m.start()], ""])
        out.append([body[m.start():end], "1"])
        at = end
    if at < len(body or ""):
        out.append([body[at:], ""])
    return out


def _file_row(f: Any) -> dict[str, str]:
    image = f.content_type in file_store.IMAGE_TYPES
    return {"id": str(f.id), "name": f.name, "url": file_store.presign(f), "thumb": file_store.presign(f, thumb=True) if image and f.thumb_key else ""}


# --------------------------------------------------------------------------- components
def _files(files: Any, remove: Any = None) -> rx.Component:
    """Thumbnails of photos and names of documents, each opening the file in a new tab."""
    return rx.hstack(
        rx.foreach(files, lambda f: rx.hstack(
            rx.link(
                rx.cond(f["thumb"] != "",
                        rx.image(src=f["thumb"], alt=f["name"], height="72px", max_width="120px", object_fit="cover", border_radius="var(--radius-2)"),
                        rx.hstack(rx.icon("paperclip", size=14), rx.text(f["name"], size="2"), spacing="1", align="center")),
                href=f["url"], is_external=True, title=f["name"], class_name="comment-file",
            ),
            *([rx.icon_button(rx.icon("x", size=12), size="1", variant="soft", color_scheme="red", type="button", on_click=remove(f["id"]),
                              aria_label=tr("files.remove"), title=tr("files.remove"), class_name="comment-file-remove")] if remove else []),
            spacing="1", align="center",
        )),
        wrap="wrap", spacing="2",
    )


def _mention_menu(state: Any, box: str) -> rx.Component:
    return rx.cond(
        state.mention_options.length() > 0,
        rx.hstack(
            rx.foreach(state.mention_options, lambda o: rx.button(
                "@" + o[0], rx.text(o[1], size="1", color_scheme="gray"), size="1", variant="soft", type="button",
                on_click=state.pick_mention(o[0]), class_name="mention-option",
            )),
            wrap="wrap", spacing="1", id=f"{box}-mentions",
        ),
    )


def _box(state: Any, box: str, on_submit: Any, error: Any, placeholder: Any, submit_label: Any, extra: list[rx.Component],
         default: Any = "") -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text_area(name="body", id=box, placeholder=placeholder, default_value=default, rows="3", width="100%",
                         on_change=lambda v: state.typed(box, v), max_length=8000),
            _mention_menu(state, box),
            rx.cond(error != "", rx.text(error, color_scheme="red", size="1", id=f"{box}-error")),
            rx.hstack(rx.button(submit_label, type="submit", size="2", id=f"{box}-send"), *extra, spacing="2"),
            spacing="2", width="100%",
        ),
        on_submit=on_submit, width="100%",
    )


def _comment(state: Any, c: Any) -> rx.Component:
    small = {"size": "1", "variant": "ghost"}
    actions = rx.cond(
        c["deleted"] == "1",
        rx.fragment(),
        rx.hstack(
            rx.cond(state.can_comment, rx.button(tr("comments.reply"), on_click=state.start_reply(c["id"], c["who"]), class_name="comment-reply", **small)),
            rx.cond(c["mine"] == "1", rx.button(tr("edit"), on_click=state.start_edit(c["id"], c["body"]), class_name="comment-edit", **small)),
            rx.cond((c["mine"] == "1") | (c["admin"] == "1"),
                    rx.cond(state.delete_id == c["id"],
                            rx.hstack(rx.text(tr("comments.confirm_delete"), size="1"),
                                      rx.button(tr("delete"), color_scheme="red", on_click=state.delete_comment, class_name="comment-delete-yes", **small),
                                      rx.button(tr("cancel"), on_click=state.cancel_delete, **small), spacing="2", align="center"),
                            rx.button(tr("delete"), color_scheme="red", on_click=state.ask_delete(c["id"]), class_name="comment-delete", **small))),
            spacing="3",
        ),
    )
    shown = rx.cond(
        state.edit_id == c["id"],
        _box(state, EDIT_ID, state.save_edit, state.edit_error, "", tr("save"),
             [rx.button(tr("cancel"), type="button", variant="soft", size="2", on_click=state.cancel_edit)], default=state.edit_text),
        rx.cond(
            state.comment_parts.contains(c["id"]),
            rx.text(rx.foreach(state.comment_parts[c["id"]], lambda p: rx.cond(
                        p[1] == "1", rx.text.span(p[0], color=rx.color("accent", 11), weight="medium", class_name="mention"), rx.text.span(p[0]))),
                    size="2", white_space="pre-wrap", class_name="comment-body", style={"overflow_wrap": "anywhere"}),
            rx.text(c["body"], size="2", white_space="pre-wrap", class_name="comment-body",
                    color=rx.cond(c["deleted"] == "1", rx.color("gray", 10), "inherit"), style={"overflow_wrap": "anywhere"}),
        ),
    )
    return rx.box(
        rx.vstack(
            rx.hstack(
                rx.text(c["who"], size="2", weight="bold"), rx.text(c["when"], size="1", color_scheme="gray"),
                rx.cond(c["edited"] == "1", rx.text("· ", tr("comments.edited"), size="1", color_scheme="gray")),
                spacing="2", align="baseline", wrap="wrap",
            ),
            shown,
            rx.cond(state.comment_files.contains(c["id"]), _files(state.comment_files[c["id"]])),
            actions,
            rx.cond(state.reply_to == c["id"],
                    _box(state, REPLY_ID, state.post_reply, state.reply_error, "", tr("comments.reply"),
                         [rx.button(tr("cancel"), type="button", variant="soft", size="2", on_click=state.cancel_reply)])),
            spacing="1", width="100%",
        ),
        id="comment-" + c["id"], class_name="comment",
        key=c["id"],  # React keeps each comment's DOM (an open reply box and its text) with the comment when others arrive live
        padding_left=rx.cond(c["reply"] == "1", "1.5em", "0"),
        border_left=rx.cond(c["reply"] == "1", f"2px solid {rx.color('gray', 5)}", "none"),
        width="100%",
    )


def comment_wall_card(state: Any, res: type[Resource]) -> rx.Component:
    """The comment wall of ``res``'s detail page (only when the resource declares one)."""
    wall = comment_service.wall_of(res)
    if wall is None:
        return rx.fragment()
    return rx.card(
        rx.vstack(
            rx.heading(tr(wall.title), size="3"),
            rx.cond(state.comments.length() == 0, rx.text(tr("comments.empty_wall"), size="2", color_scheme="gray")),
            rx.foreach(state.comments, lambda c: _comment(state, c)),
            rx.cond(
                state.can_comment,
                rx.vstack(
                    _files(state.pending_files, state.unattach),
                    _box(state, BODY_ID, state.post_comment, state.comment_error, tr("comments.placeholder"), tr("comments.send"), [
                        rx.upload.root(
                            rx.button(rx.icon("paperclip", size=14), tr("comments.attach"), type="button", variant="soft", size="2"),
                            id=ATTACH_ID, multiple=True, max_files=comment_service.MAX_ATTACHMENTS,
                            on_drop=state.attach(rx.upload_files(upload_id=ATTACH_ID)),
                        ),
                    ]),
                    spacing="2", width="100%",
                ),
                rx.text(tr("comments.read_only"), size="1", color_scheme="gray"),
            ),
            spacing="3", width="100%",
        ),
        width="100%", id="comment-wall",
    )


def timeline_card(state: Any, res: type[Resource]) -> rx.Component:
    """The record's timeline (or, without a declared one, its audit history), newest first."""
    spec = record_timeline.timeline_of(res)
    title = spec.title if spec else record_timeline.HISTORY.title
    kind_filter = rx.fragment()
    if spec is not None:
        kind_filter = rx.select.root(
            rx.select.trigger(placeholder=tr("timeline.all"), id="timeline-kind"),
            rx.select.content(
                rx.select.item(tr("timeline.all"), value="all"),
                rx.foreach(state.timeline_kinds, lambda k: rx.select.item(k[1], value=k[0])),
            ),
            value=rx.cond(state.timeline_kind == "", "all", state.timeline_kind),
            on_change=state.set_timeline_kind, size="1",
        )
    return rx.card(
        rx.vstack(
            rx.hstack(rx.heading(tr(title), size="3"), rx.spacer(), kind_filter, width="100%", align="center"),
            rx.cond(state.timeline.length() == 0, rx.text(tr("timeline.empty"), size="2", color_scheme="gray")),
            rx.foreach(state.timeline, lambda e: rx.hstack(
                rx.box(width="8px", height="8px", border_radius="50%", flex_shrink="0", margin_top="0.45em",
                       background=rx.match(e["kind"], ("audit", rx.color("accent", 9)), ("comment", rx.color("grass", 9)), rx.color("amber", 9))),
                rx.vstack(
                    rx.hstack(
                        rx.text(e["when"], size="1", color_scheme="gray"), rx.text(e["who"], size="1", weight="bold"),
                        rx.badge(e["title"], size="1", variant="soft"),
                        # a panel's event kind ("Поставки"); changes and comments say what they are in the badge
                        rx.cond((e["kind"] != "audit") & (e["kind"] != "comment"), rx.text(e["kind_label"], size="1", color_scheme="gray")),
                        spacing="2", wrap="wrap", align="center",
                    ),
                    rx.text(e["details"], size="1", color_scheme="gray", white_space="pre-line", style={"overflow_wrap": "anywhere"}),
                    spacing="0", width="100%",
                ),
                spacing="2", align="start", width="100%", class_name="timeline-entry", data_kind=e["kind"], key=e["key"],
            )),
            spacing="2", width="100%",
        ),
        width="100%", id="timeline",
    )
