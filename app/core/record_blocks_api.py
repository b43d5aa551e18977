"""REST routes of a record's detail blocks, beside the resource's own routes:

* ``GET/POST /api/<panel>/<resource>/{id}/comments`` — the comment wall (read: whoever may see the
  record; write: ``can(user, "comment", record)``), ``PATCH/DELETE .../comments/{comment_id}`` —
  one's own comment;
* ``GET /api/<panel>/<resource>/{id}/timeline?kind=`` — the merged timeline;
* ``POST /api/<panel>/<resource>/{id}/files`` — upload a file to attach to a comment or to give an
  action that asks for one (the installation photo); ``GET .../files/{file_id}`` — a file of the
  record, with short-lived URLs.

Only for resources that declare the block (``detail_blocks``); the services
(:mod:`app.core.comments`, :mod:`app.core.record_timeline`) check everything, so these routes only
translate HTTP.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.core import comments, crud, record_timeline
from app.core import files as file_store
from app.core.errors import NotFound
from app.core.kinds import kind_for
from app.core.api_base import ERRORS, INVALID, NOT_FOUND, current_user, get_db, request_lang
from app.core.auth import CurrentUser
from app.core.resource import Resource

MAX_ID = 2**31 - 1


class CommentIn(BaseModel):
    body: str = Field(max_length=100_000, description="The text; @username mentions (and notifies) a user who may see the record")
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Answer this comment (one level of replies)")
    attachments: list[str] = Field(default_factory=list, max_length=comments.MAX_ATTACHMENTS,
                                   description="Ids of files the author uploaded for this record (POST .../{id}/files)")


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


class FileOut(BaseModel):
    id: int
    name: str
    content_type: str
    size: int
    url: str = Field(description="A presigned URL of the file, valid for PULT_FILES_URL_TTL seconds")
    thumb_url: str | None = Field(description="An image's thumbnail (presigned), else null")
    pending: bool = Field(description="True until a comment or an action gives the file to the record")


def file_json(f: Any) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "content_type": f.content_type, "size": f.size, "url": file_store.presign(f),
            "thumb_url": file_store.presign(f, thumb=True) if f.thumb_key else None, "pending": f.owner_resource is None}


def takes_files(res_cls: type[Resource]) -> bool:
    """Files may be uploaded for the resource's records: it has a comment wall or an action asking for a file."""
    return comments.wall_of(res_cls) is not None or any(
        kind_for(res_cls.model, f).links_file for spec in res_cls().actions.values() for f in spec.params)


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

    if takes_files(res_cls):

        @router.post("/{id}/files", status_code=201, response_model=FileOut,
                     summary="Upload a file to attach to a comment, or to give an action that asks for one",
                     description="Checked by its bytes (type, size; an image must open). It stays the uploader's until a "
                                 "comment (`attachments`) or the action's file parameter gives it to the record.",
                     responses={**ERRORS, **NOT_FOUND, **INVALID}, operation_id=f"{op}_upload")
        def upload(id: str = Path(description=id_desc), file: UploadFile = File(description="The file"),
                   db: Session = Depends(get_db), user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
            return file_json(file_store.put_for_record(db, res, user, id, file.file, file.filename or "file"))

        @router.get("/{id}/files/{file_id}", response_model=FileOut, summary="A file of the record (or one's own upload for it)",
                    responses={**ERRORS, **NOT_FOUND}, operation_id=f"{op}_file")
        def get_file(id: str = Path(description=id_desc), file_id: int = Path(ge=1, le=MAX_ID), db: Session = Depends(get_db),
                     user: CurrentUser = Depends(current_user)) -> dict[str, Any]:
            record = crud.get_record(db, res, user, id)
            f = file_store.record_files(db, res, crud.pk_of(record), [file_id]).get(str(file_id))
            if f is None:  # one's own pending upload
                f = file_store.get(db, user, file_id)
                if f.owner_resource is not None:
                    raise NotFound("files.not_yours")
            return file_json(f)

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
