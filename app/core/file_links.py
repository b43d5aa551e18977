"""Which uploaded file a record's file field may hold (``fields.file`` / ``fields.photo``).

Apart from :mod:`app.core.files` because the generic services (:mod:`app.core.crud`) need these two
rules, and the file service itself reads records through those services.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlmodel import Session, select

from app.core import bus

from models.files import StoredFile

if TYPE_CHECKING:
    from app.core.principal import CurrentUser


def check_link(db: Session, user: CurrentUser, file_id: Any, owner_resource: str, owner_id: Any | None) -> tuple[str, dict] | None:
    """May a form put ``file_id`` into a field of this record? Yes for a file already this record's,
    or one the user uploaded that no record owns yet; an error (i18n key, params) otherwise."""
    try:
        f = db.get(StoredFile, int(file_id))
    except (TypeError, ValueError):
        f = None
    if f is None:
        return ("files.not_yours", {})
    if f.owner_resource == owner_resource and owner_id is not None and f.owner_id == str(owner_id):
        return None
    if f.owner_resource is None and user.id is not None and f.uploaded_by_id == user.id:
        return None
    return ("files.not_yours", {})


def claim(db: Session, user: CurrentUser, owner_resource: str, owner_id: Any, file_ids: list[Any]) -> set[int]:
    """Make the user's pending uploads in ``file_ids`` the record's (in the caller's transaction);
    the ids that are the record's now. The rows are locked first: of two forms saved at once with
    the same upload, one gets it, and the other's id is missing from the answer."""
    ids = {int(i) for i in file_ids if i is not None}
    if not ids:
        return set()
    mine: set[int] = set()
    rows = db.exec(select(StoredFile).where(StoredFile.id.in_(ids)).with_for_update().execution_options(populate_existing=True))
    for f in rows:
        if f.owner_resource is None and f.uploaded_by_id == user.id:
            f.owner_resource, f.owner_id = owner_resource, str(owner_id)
            db.add(f)
            bus.mark(db, "stored_file", [f.id], "update")
        if f.owner_resource == owner_resource and f.owner_id == str(owner_id):
            mine.add(f.id)
    return mine
