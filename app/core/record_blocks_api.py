"""REST routes of a record's detail blocks, beside the resource's own routes:

* ``GET/POST /api/<panel>/<resource>/{id}/comments`` — the comment wall (read: whoever may see the
  record; write: ``can(user, "comment", record)``), ``PATCH/DELETE .../comments/{comment_id}`` —
  one's own comment;
* ``GET /api/<panel>/<resource>/{id}/timeline?kind=`` — the merged timeline.

Only for resources that declare the block (``detail_blocks``); the services
(:mod:`app.core.comments`, :mod:`app.core.record_timeline`) check everything, so these routes only
translate HTTP.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.core import comments, crud, record_timeline
from app.core.api_base import ERRORS, INVALID, NOT_FOUND, current_user, get_db, request_lang
from app.core.auth import CurrentUser
from app.core.resource import Resource

MAX_ID = 2**31 - 1


class CommentIn(BaseModel):
    body: str = Field(max_length=100_000, description="The text; @username mentions (and notifies) a user who may see the record")
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Answer this comment (one level of replies)")
    attachments: list[str] = Field(default_factory=list, max_length=20,
                                   description="Stored-file ids (refused until a file store is configured)")


class CommentEdit(BaseModel):
    body: str = Field(max_length=100_000)


class CommentOut(BaseModel):
    id: int
    parent_id: int | None
    author: str
    user_id: int | None
    body: str
    mentions: list[int]
    attachments: list[str]
    created_at: str
    edited_at: str | None
    deleted: bool
    mine: bool


class CommentsOut(BaseModel):
    items: list[CommentOut]
    can_comment: bool


class TimelineEntryOut(BaseModel):
    at: str
    when: str
    kind: str
    kind_label: str
    title: str
    details: str
    who: str


class TimelineOut(BaseModel):
    items: list[TimelineEntryOut]


def add_block_routes(router: APIRouter, res_cls: type[Resource], id_desc: str) -> None:
    """Add the routes of the blocks ``res_cls`` declares to its router."""
    res = res_cls()
    op = f"{res_cls.panel}_{res_cls.slug}"
    if comments.wall_of(res_cls) is not None:

        @router.get("/{id}/comments", response_model=CommentsOut, summary="The record's comments (threaded: each reply after its comment)",
                    responses={**ERRORS, **NOT_FOUND}, operation_id=f"{op}_comments")
        def list_comments(id: str = Path(description=id_desc), db: Session = Depends(get_db),
                          user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
            items = [comments.as_json(c, user) for c in comments.thread(db, res, user, id)]
            return {"items": items, "can_comment": comments.can_comment(res, user, crud.get_record(db, res, user, id))}

        @router.post("/{id}/comments", status_code=201, response_model=CommentOut, summary="Comment on the record (or reply)",
                     responses={**ERRORS, **NOT_FOUND, **INVALID}, operation_id=f"{op}_comment")
        def add_comment(body: CommentIn, id: str = Path(description=id_desc), db: Session = Depends(get_db),
                        user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
            c = comments.add(db, res, user, id, body.body, parent_id=body.parent_id, attachments=body.attachments)
            return comments.as_json(c, user)

        @router.patch("/{id}/comments/{comment_id}", response_model=CommentOut, summary="Edit one's own comment",
                      responses={**ERRORS, **NOT_FOUND, **INVALID}, operation_id=f"{op}_comment_edit")
        def edit_comment(body: CommentEdit, id: str = Path(description=id_desc), comment_id: int = Path(ge=1, le=MAX_ID),
                         db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
            return comments.as_json(comments.edit(db, res, user, id, comment_id, body.body), user)

        @router.delete("/{id}/comments/{comment_id}", status_code=204, response_class=Response,
                       summary="Delete one's own comment (an administrator: any)", responses={**ERRORS, **NOT_FOUND},
                       operation_id=f"{op}_comment_delete")
        def delete_comment(id: str = Path(description=id_desc), comment_id: int = Path(ge=1, le=MAX_ID),
                           db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> Response:
            comments.delete(db, res, user, id, comment_id)
            return Response(status_code=204)

    spec = record_timeline.timeline_of(res_cls)
    if spec is not None:
        kinds = [k for k, _l in spec.kind_choices()]

        @router.get("/{id}/timeline", response_model=TimelineOut, summary="The record's timeline: changes, events and comments, newest first",
                    responses={**ERRORS, **NOT_FOUND, **INVALID}, operation_id=f"{op}_timeline")
        def get_timeline(request: Request, id: str = Path(description=id_desc),
                         kind: str = Query("", max_length=64, description=f"Only this kind: {', '.join(kinds)}"),
                         db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
            record = crud.get_record(db, res, user, id)
            return {"items": record_timeline.entries(db, res, user, record, request_lang(request), spec, kind)}
