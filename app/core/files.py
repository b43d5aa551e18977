"""Uploaded files in an S3-compatible object store: put, presigned GET, thumbnails, delete.

The bytes go to a bucket through ``boto3``; a :class:`~models.files.StoredFile` row says what they
are, who put them there and which record they belong to. Nothing is ever served from the app's
disk: a browser gets a short-lived presigned URL of the store, and only when the user may see the
record that owns the file (a file waiting in an unsaved form: only its uploader).

What a file is comes from its bytes (:func:`sniff`), never from its name or the browser's claim;
an image must open in Pillow, and gets a JPEG thumbnail beside it. Limits (size, types) are
checked before anything is stored: a refused file leaves no object and no row.

Configuration (environment; ``scripts/run``/``scripts/test`` start an embedded SeaweedFS and set
the first four when ``S3_ENDPOINT_URL`` is unset):

    S3_ENDPOINT_URL         the store's S3 API as the app reaches it (http://127.0.0.1:58333)
    S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY
    S3_BUCKET               default ``pult``; created when missing
    S3_PUBLIC_URL           the store as browsers reach it, when that differs (behind a proxy,
                            in docker-compose); presigned URLs are signed for this address
    S3_REGION               default ``us-east-1``
    PULT_FILES_URL_TTL      seconds a presigned URL stays valid (default 300)
    PULT_FILES_MAX_MB       the default size limit of an upload (default 10)
    PULT_FILES_PENDING_HOURS an upload no record took within so many hours is deleted by the
                            hourly ``files:sweep`` schedule (default 24)
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import secrets
import tempfile
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from sqlmodel import Session, select

from app.core import audit, bus, i18n
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.file_links import check_link, claim  # noqa: F401 - part of this module's face

from models.base import utcnow
from models.files import StoredFile

if TYPE_CHECKING:
    from app.core.principal import CurrentUser
    from app.core.resource import Resource

i18n.register({
    "files.too_big": ("Файл больше {max} МБ", "The file is larger than {max} MB"),
    "files.empty": ("Файл пустой", "The file is empty"),
    "files.bad_type": ("Такой тип файла не принимается (можно: {types})", "This type of file is not accepted (allowed: {types})"),
    "files.bad_image": ("Файл не открывается как изображение", "The file does not open as an image"),
    "files.store_down": ("Хранилище файлов недоступно, попробуйте позже", "The file store is unavailable, try again later"),
    "files.not_yours": ("Файл не найден", "File not found"),
    "files.upload": ("Перетащите файл сюда или нажмите, чтобы выбрать", "Drop a file here or click to choose one"),
    "files.uploading": ("Загрузка…", "Uploading…"),
    "files.remove": ("Убрать файл", "Remove the file"),
    "files.open": ("Открыть", "Open"),
    "files.mb": ("МБ", "MB"),
})

MB = 1024 * 1024
THUMB_SIZE = (320, 320)
#: Images larger than this many pixels are refused (a "decompression bomb" would eat the memory).
MAX_PIXELS = 50_000_000
#: How much of a file :func:`sniff` reads.
SNIFF_BYTES = 8192

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
DOCUMENT_TYPES = frozenset({
    "application/pdf", "text/plain", "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/zip",
})
#: A short name people read in "allowed: JPEG, PNG".
TYPE_NAMES = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP", "application/pdf": "PDF",
    "text/plain": "TXT", "text/csv": "CSV", "application/zip": "ZIP",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
}
EXTENSIONS = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp", "application/pdf": ".pdf",
    "text/plain": ".txt", "text/csv": ".csv", "application/zip": ".zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}


# --------------------------------------------------------------------------- limits
@dataclass(frozen=True)
class Limits:
    """What an upload may be: at most ``max_bytes``, one of ``types`` (as :func:`sniff` reads them)."""

    max_bytes: int
    types: frozenset[str]

    @classmethod
    def of(cls, max_mb: float | None = None, types: Any = None, photo: bool = False) -> Limits:
        mb = max_mb if max_mb is not None else float(os.environ.get("PULT_FILES_MAX_MB", "10"))
        allowed = frozenset(types) if types else (IMAGE_TYPES if photo else IMAGE_TYPES | DOCUMENT_TYPES)
        return cls(int(mb * MB), allowed)

    @property
    def max_mb(self) -> str:
        mb = self.max_bytes / MB
        return str(int(mb)) if mb.is_integer() else f"{mb:.1f}"

    def type_names(self) -> str:
        return ", ".join(sorted({TYPE_NAMES.get(t, t) for t in self.types}))


def limits_of(spec: Any) -> Limits:
    """The limits a form field declares (``fields.photo(..., max_mb=5)``)."""
    return Limits.of(getattr(spec, "max_mb", None), getattr(spec, "accept", None), getattr(spec, "kind", "") == "photo")


# --------------------------------------------------------------------------- sniffing
def sniff(head: bytes, fh: BinaryIO | None = None, name: str = "") -> str | None:
    """The content type the bytes themselves say (``head`` = the first bytes), or None.

    A ZIP is looked into (``fh``, the whole file) to tell a DOCX/XLSX from another archive; text is
    text when it decodes as UTF-8 without control bytes, and CSV when it is named so. HTML, SVG and
    XML are never "text": they would run scripts where a browser opens them."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        if fh is not None:
            try:
                fh.seek(0)
                names = set(zipfile.ZipFile(fh).namelist())
            except (zipfile.BadZipFile, OSError, ValueError):
                return None
            finally:
                fh.seek(0)
            if "[Content_Types].xml" in names:
                if any(n.startswith("word/") for n in names):
                    return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                if any(n.startswith("xl/") for n in names):
                    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return "application/zip"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sniffed part
            return None
        text = head[:exc.start].decode("utf-8")
    if any(ord(ch) < 32 and ch not in "\t\r\n\f" for ch in text):
        return None
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    if lowered.startswith(("<!doctype", "<html", "<svg", "<?xml", "<script")) or "<script" in lowered:
        return "text/html"
    return "text/csv" if name.lower().endswith(".csv") else "text/plain"


# --------------------------------------------------------------------------- the store
@dataclass(frozen=True)
class StoreConfig:
    endpoint: str
    public_endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    region: str
    url_ttl: int


def store_config() -> StoreConfig:
    endpoint = os.environ.get("S3_ENDPOINT_URL", "").rstrip("/")
    if not endpoint:
        from app.core.errors import ServiceUnavailable

        raise ServiceUnavailable("files.store_down")
    return StoreConfig(
        endpoint=endpoint,
        public_endpoint=os.environ.get("S3_PUBLIC_URL", "").rstrip("/") or endpoint,
        access_key=os.environ.get("S3_ACCESS_KEY_ID", ""),
        secret_key=os.environ.get("S3_SECRET_ACCESS_KEY", ""),
        bucket=os.environ.get("S3_BUCKET", "") or "pult",
        region=os.environ.get("S3_REGION", "") or "us-east-1",
        url_ttl=int(os.environ.get("PULT_FILES_URL_TTL", "300")),
    )


@functools.lru_cache(maxsize=8)
def _client(endpoint: str, access_key: str, secret_key: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=30,
                      retries={"max_attempts": 3, "mode": "standard"}),
    )


def client(cfg: StoreConfig | None = None, public: bool = False) -> Any:
    """A boto3 S3 client for the store (``public``: signing for the address browsers use)."""
    cfg = cfg or store_config()
    return _client(cfg.public_endpoint if public else cfg.endpoint, cfg.access_key, cfg.secret_key, cfg.region)


_buckets_ready: set[tuple[str, str]] = set()


def ensure_bucket(cfg: StoreConfig | None = None) -> None:
    """Create the bucket when it is missing (once per process and store)."""
    from botocore.exceptions import ClientError

    cfg = cfg or store_config()
    if (cfg.endpoint, cfg.bucket) in _buckets_ready:
        return
    s3 = client(cfg)
    try:
        s3.head_bucket(Bucket=cfg.bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        s3.create_bucket(Bucket=cfg.bucket)
    _buckets_ready.add((cfg.endpoint, cfg.bucket))


def _store_errors():
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


# --------------------------------------------------------------------------- put
@dataclass
class _Checked:
    fh: BinaryIO
    size: int
    sha256: str
    content_type: str
    width: int | None = None
    height: int | None = None
    thumb: bytes | None = None


def _read_limited(data: bytes | BinaryIO, limits: Limits) -> tuple[BinaryIO, int, str]:
    """The upload in a spooled temporary file, its size and SHA-256; refused past the limit
    (reading stops one chunk after it: a huge stream is never read whole)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = io.BytesIO(bytes(data))
    out = tempfile.SpooledTemporaryFile(max_size=8 * MB)
    digest, size = hashlib.sha256(), 0
    while chunk := data.read(1024 * 1024):
        size += len(chunk)
        if size > limits.max_bytes:
            out.close()
            raise ValidationFailed.one("file", "files.too_big", max=limits.max_mb)
        digest.update(chunk)
        out.write(chunk)
    if size == 0:
        out.close()
        raise ValidationFailed.one("file", "files.empty")
    out.seek(0)
    return out, size, digest.hexdigest()


def _thumbnail(fh: BinaryIO) -> tuple[int, int, bytes]:
    """(width, height, JPEG thumbnail) of an image, or ``files.bad_image``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        fh.seek(0)
        with Image.open(fh) as probe:
            probe.verify()  # a truncated or forged file fails here
        fh.seek(0)
        with Image.open(fh) as img:
            width, height = img.size
            img.seek(0)  # the first frame of a GIF
            shown = ImageOps.exif_transpose(img)
            shown.thumbnail(THUMB_SIZE)
            if shown.mode not in ("RGB", "L"):
                background = Image.new("RGB", shown.size, "white")
                rgba = shown.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                shown = background
            buf = io.BytesIO()
            shown.save(buf, "JPEG", quality=82, optimize=True)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError):
        raise ValidationFailed.one("file", "files.bad_image") from None
    finally:
        fh.seek(0)
    return width, height, buf.getvalue()


def check(data: bytes | BinaryIO, name: str, limits: Limits) -> _Checked:
    """Read, size-check and sniff an upload; images are opened and thumbnailed. Raises
    :class:`ValidationFailed` (field ``file``) with the reason; stores nothing."""
    fh, size, sha = _read_limited(data, limits)
    try:
        head = fh.read(SNIFF_BYTES)
        fh.seek(0)
        content_type = sniff(head, fh, name)
        if content_type not in limits.types:
            raise ValidationFailed.one("file", "files.bad_type", types=limits.type_names())
        checked = _Checked(fh, size, sha, content_type)
        if content_type in IMAGE_TYPES:
            checked.width, checked.height, checked.thumb = _thumbnail(fh)
        return checked
    except BaseException:
        fh.close()
        raise


def _new_key(content_type: str) -> str:
    now = utcnow()
    return f"{now:%Y/%m}/{secrets.token_urlsafe(18)}{EXTENSIONS.get(content_type, '')}"


def _clean_name(name: str) -> str:
    """The uploader's file name as shown: no folders, no control characters, at most 255."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ord(ch) >= 32 and ch != "\x7f").strip()
    return base[:255] or "file"


def put(
    db: Session, user: CurrentUser, data: bytes | BinaryIO, name: str, *, limits: Limits | None = None,
    owner: tuple[str, Any] | None = None,
) -> StoredFile:
    """Store an upload (bytes or a readable stream) and commit its row; its thumbnail too when it
    is an image. ``owner`` = (resource key, record key) when the record exists already (the caller
    checked the user may change it); else the file waits for :func:`claim` by a saved form.

    Refused (too big, empty, a type ``limits`` do not allow, an image that does not open) →
    :class:`ValidationFailed` on field ``file``, nothing stored. The store down →
    ``ServiceUnavailable``."""
    from app.core.errors import ServiceUnavailable

    limits = limits or Limits.of()
    checked = check(data, name, limits)
    cfg = store_config()
    key = _new_key(checked.content_type)
    thumb_key = f"{key}.thumb.jpg" if checked.thumb is not None else None
    try:
        ensure_bucket(cfg)
        s3 = client(cfg)
        s3.upload_fileobj(checked.fh, cfg.bucket, key, ExtraArgs={"ContentType": checked.content_type})
        if thumb_key:
            s3.put_object(Bucket=cfg.bucket, Key=thumb_key, Body=checked.thumb, ContentType="image/jpeg")
    except _store_errors():
        _remove_objects(cfg, [key, thumb_key])
        raise ServiceUnavailable("files.store_down") from None
    finally:
        checked.fh.close()
    row = StoredFile(
        key=key, thumb_key=thumb_key, name=_clean_name(name), size=checked.size, content_type=checked.content_type,
        sha256=checked.sha256, width=checked.width, height=checked.height,
        uploaded_by_id=user.id, uploaded_by=user.username,
        owner_resource=owner[0] if owner else None, owner_id=str(owner[1]) if owner else None,
    )
    try:
        db.add(row)
        db.flush()
        audit.record(db, user, "upload", "stored_file", row.id, {
            "name": row.name, "size": row.size, "content_type": row.content_type, "sha256": row.sha256,
            "owner": f"{row.owner_resource}:{row.owner_id}" if row.owner_resource else None,
        })
        bus.mark(db, "stored_file", [row.id], "create")
        db.commit()
    except BaseException:
        db.rollback()
        _remove_objects(cfg, [key, thumb_key])  # no row, no object
        raise
    return row


def _remove_objects(cfg: StoreConfig, keys: list[str | None]) -> None:
    for key in keys:
        if key:
            try:
                client(cfg).delete_object(Bucket=cfg.bucket, Key=key)
            except _store_errors():
                pass


# --------------------------------------------------------------------------- who may see / link
def _owner_record(db: Session, user: CurrentUser, f: StoredFile) -> tuple[Resource, Any]:
    """The owning resource and record as ``user`` may see them, or NotFound / PermissionDenied."""
    from app.core import crud
    from app.core.registry import RESOURCES

    res_cls = RESOURCES.get(f.owner_resource or "")
    if res_cls is None:
        raise NotFound()
    res = res_cls()
    return res, crud.get_record(db, res, user, f.owner_id)


def can_view(db: Session, user: CurrentUser, f: StoredFile) -> bool:
    """The user may see the record that owns the file (a file no record owns yet: its uploader)."""
    if f.owner_resource is None:
        return user.id is not None and f.uploaded_by_id == user.id
    try:
        _owner_record(db, user, f)
    except (NotFound, PermissionDenied):
        return False
    return True


def get(db: Session, user: CurrentUser, file_id: Any) -> StoredFile:
    """The file row, when the user may see it (else NotFound: whether it exists is not told)."""
    try:
        f = db.get(StoredFile, int(file_id))
    except (TypeError, ValueError):
        f = None
    if f is None or not can_view(db, user, f):
        raise NotFound("files.not_yours")
    return f


# --------------------------------------------------------------------------- URLs
def presign(f: StoredFile, *, thumb: bool = False, cfg: StoreConfig | None = None) -> str:
    """A presigned GET URL of the file (or its thumbnail) — NO permission check: callers have done it
    (:func:`url`, or a page whose rows the user may see). Non-images download as attachments under
    their own name, so a text file never renders as a page on the store's origin."""
    cfg = cfg or store_config()
    key = f.thumb_key if thumb and f.thumb_key else f.key
    params: dict[str, Any] = {"Bucket": cfg.bucket, "Key": key}
    if not thumb and f.content_type not in IMAGE_TYPES:
        params["ResponseContentDisposition"] = f"attachment; filename*=UTF-8''{quote(f.name)}"
    return client(cfg, public=True).generate_presigned_url("get_object", Params=params, ExpiresIn=cfg.url_ttl)


def url(db: Session, user: CurrentUser, file_id: Any, *, thumb: bool = False) -> str:
    """A presigned URL, issued only to a user who may see the owning record."""
    return presign(get(db, user, file_id), thumb=thumb)


def urls_for(db: Session, res: Resource, records: list[Any], names: list[str]) -> dict[str, dict[Any, tuple[str, str]]]:
    """``{field: {file id: (thumbnail URL, URL)}}`` of the file fields ``names`` of ``records`` —
    records the caller read through the resource for this user (a list page, a detail page), so
    the user may see them. One query; only files these very records own are signed."""
    from app.core.query import pk_name

    out: dict[str, dict[Any, tuple[str, str]]] = {n: {} for n in names}
    pk = pk_name(res.model)
    wanted = {(getattr(r, n, None), str(getattr(r, pk))): n for r in records for n in names if getattr(r, n, None) is not None}
    if not wanted:
        return out
    cfg = store_config()
    rows = db.exec(select(StoredFile).where(StoredFile.id.in_({i for i, _ in wanted}), StoredFile.owner_resource == res.key()))
    for f in rows:
        n = wanted.get((f.id, f.owner_id))
        if n is not None:
            out[n][f.id] = (presign(f, thumb=True, cfg=cfg), presign(f, cfg=cfg))
    return out


# --------------------------------------------------------------------------- uploads for a record
def record_upload_limits(db: Session, res: Resource, user: CurrentUser, record_id: Any) -> Limits:
    """What ``user`` may upload for record ``record_id`` of ``res`` to attach afterwards: to a
    comment (the resource's comment wall, when the user may comment) or to an action that asks for
    a file (the installation photo, when the user may run it on the record). The record must be
    one the user sees; otherwise NotFound / PermissionDenied."""
    from app.core import comments, crud
    from app.core.kinds import kind_for

    record = crud.get_record(db, res, user, record_id)
    if comments.can_comment(res, user, record):
        return Limits.of()
    for name, spec in res.actions.items():
        for f in spec.params:
            if kind_for(res.model, f).links_file and res.can(user, name, record):
                return limits_of(f)
    raise PermissionDenied()


def put_for_record(db: Session, res: Resource, user: CurrentUser, record_id: Any, data: bytes | BinaryIO, name: str) -> StoredFile:
    """Store an upload the user will attach to record ``record_id`` (a comment's file, an action's
    photo): checked like :func:`put`, pending (only its uploader sees it) until the comment or the
    action gives it to the record."""
    limits = record_upload_limits(db, res, user, record_id)
    db.rollback()  # the record was only read; put() commits its own transaction
    return put(db, user, data, name, limits=limits)


def record_files(db: Session, res: Resource, record_key: Any, ids: list[Any]) -> dict[str, StoredFile]:
    """The files among ``ids`` that record ``record_key`` of ``res`` owns (a record the caller read
    for the user: who sees it sees its files), by id as text."""
    wanted = {int(i) for i in ids if str(i).isdigit()}
    if not wanted:
        return {}
    rows = db.exec(select(StoredFile).where(StoredFile.id.in_(wanted), StoredFile.owner_resource == res.key(),
                                            StoredFile.owner_id == str(record_key)))
    return {str(f.id): f for f in rows}


# --------------------------------------------------------------------------- pending uploads
def sweep_pending(db: Session, older_than_hours: float | None = None, limit: int = 1000) -> int:
    """Delete uploads no record took (a form or a comment never saved, a dialog closed) that are
    older than ``older_than_hours`` (``PULT_FILES_PENDING_HOURS``, 24): the rows, audited as the
    system, then the objects. Returns how many went."""
    import datetime as dt

    from app.core.principal import SYSTEM

    hours = older_than_hours if older_than_hours is not None else float(os.environ.get("PULT_FILES_PENDING_HOURS", "24"))
    cutoff = utcnow() - dt.timedelta(hours=hours)
    rows = db.exec(select(StoredFile).where(StoredFile.owner_resource.is_(None), StoredFile.created_at < cutoff)
                   .order_by(StoredFile.id).limit(limit).with_for_update(skip_locked=True)).all()
    if not rows:
        db.rollback()
        return 0
    keys = [k for f in rows for k in (f.key, f.thumb_key)]
    for f in rows:
        audit.record(db, SYSTEM, "delete", "stored_file", f.id, {"name": f.name, "sha256": f.sha256, "reason": "pending"}, source="job")
        db.delete(f)
    bus.mark(db, "stored_file", [f.id for f in rows], "delete")
    db.commit()
    _remove_objects(store_config(), keys)
    return len(rows)


# --------------------------------------------------------------------------- delete
def delete(db: Session, user: CurrentUser, file_id: Any) -> None:
    """Delete a file: allowed to whoever may change the owning record (an unowned one: its
    uploader). The row goes in an audited transaction, then the objects."""
    f = get(db, user, file_id)
    if f.owner_resource is not None:
        res, record = _owner_record(db, user, f)
        if not res.can(user, "update", record):
            raise PermissionDenied()
    cfg = store_config()
    keys = [f.key, f.thumb_key]
    audit.record(db, user, "delete", "stored_file", f.id, {"name": f.name, "sha256": f.sha256,
                                                           "owner": f"{f.owner_resource}:{f.owner_id}" if f.owner_resource else None})
    bus.mark(db, "stored_file", [f.id], "delete")
    db.delete(f)
    db.commit()
    _remove_objects(cfg, keys)
