"""Uploaded files: ``fields.file`` and ``fields.photo`` (the bytes live in the object store, see
:mod:`app.core.files`; the column holds the ``stored_file`` row's id)."""

from __future__ import annotations

from typing import Any

from app.core.kinds.base import Field, Kind, register_kind
from app.core.kinds.numbers import read_int


@register_kind
class File(Kind):
    """The id of a :class:`~models.files.StoredFile`. The form uploads through a drop zone first
    (the upload is checked and stored on its own); saving the form then links the file, which the
    services allow only for the user's own pending upload or the record's own file."""

    name = "file"
    invalid = "files.not_yours"
    widget = "file"
    cell = "file"
    links_file = True
    importable = False
    messages = {"files.not_yours": ("Файл не найден", "File not found")}

    def convert(self, field: Field, value: Any) -> Any:
        return read_int(value)

    def json_schema(self, field: Field) -> dict[str, Any]:
        return {"type": ["integer", "string"], "description": "the id of a file uploaded by the same user (stored_file)"}

    def example(self, field: Field) -> Any:
        return None

    def display(self, value: Any, lang: str, currency: str | None = None) -> str:
        return str(value)


@register_kind
class Photo(File):
    """An image: a thumbnail in the list cell, on the detail page and in the form."""

    name = "photo"
    widget = "photo"
    cell = "photo"
