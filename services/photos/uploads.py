"""Uploads straight to the store: a dealer asks, uploads by presigned POST, then attaches.

1. `create_upload` checks the declared type and size and records a grant (random id,
   object key `uploads/<id>`, expiry); the store's presigned POST allows one object of
   that content type, at most that many bytes, before the expiry (SeaweedFS, MinIO and
   S3 check all three; the tests hold the embedded store to it).
2. The client POSTs the file to the store itself: the API never carries the bytes.
3. `attach_photo` confirms: the object must be there and no larger than declared (HEAD);
   its first bytes must be a picture we accept, of sane dimensions (a bomb or another
   type is refused here, and the object deleted: nothing is stored). The photo is then
   PROCESSING at the end of the gallery, and the job makes its variants.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.object_store import ObjectStore
from core.settings import Settings
from services.errors import FieldProblem, FieldProblemsError
from services.feeds.runs import JobQueue
from services.photos import images
from services.photos.gallery import PhotoNotFoundError, append_photo, vehicle_owner

UPLOAD_PREFIX = "uploads/"
PROCESS_JOB = "process_photo"
# Enough of a file for every accepted format's header (JPEG's EXIF block comes first).
HEADER_BYTES = 1 << 20


class PhotoRefusedError(FieldProblemsError):
    """A photo request breaks a rule; every field at fault is named."""


@dataclass(frozen=True, slots=True)
class UploadGrant:
    id: uuid.UUID
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int


def _refuse(field: str, code: str, message: str) -> PhotoRefusedError:
    return PhotoRefusedError([FieldProblem(field, code, message)])


def limits_of(settings: Settings) -> images.ImageLimits:
    """The decoding limits the settings give."""
    return images.ImageLimits(settings.photo_max_pixels, settings.photo_max_side)


def process_job_id(photo_id: int) -> str:
    return f"photo:{photo_id}"


async def create_upload(
    engine: AsyncEngine,
    store: ObjectStore,
    settings: Settings,
    vehicle_id: int,
    *,
    content_type: str,
    size: int,
    owner_dealer_id: int | None,
) -> UploadGrant:
    """Grant one direct upload of a picture for a vehicle the caller lists."""
    content_type = content_type.strip().lower()
    problems = []
    if content_type not in images.CONTENT_TYPES:
        problems.append(
            FieldProblem(
                "content_type",
                "PHOTO_TYPE_NOT_ALLOWED",
                "Upload a JPEG, PNG, WebP, HEIC or AVIF picture.",
            )
        )
    if not 0 < size <= settings.photo_max_bytes:
        problems.append(
            FieldProblem(
                "size",
                "PHOTO_TOO_LARGE",
                f"A picture may have 1 to {settings.photo_max_bytes:,} bytes.",
            )
        )
    if problems:
        raise PhotoRefusedError(problems)
    upload_id = uuid.uuid4()
    key = f"{UPLOAD_PREFIX}{upload_id}"
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.photo_upload_seconds)
    async with engine.begin() as conn:
        await vehicle_owner(conn, vehicle_id, owner_dealer_id)
        await conn.execute(
            sa.text(
                "INSERT INTO photo_upload (id, vehicle_id, content_type, size, object_key, "
                "expires_at) VALUES (:id, :vehicle, :type, :size, :key, :expires)"
            ),
            {
                "id": upload_id,
                "vehicle": vehicle_id,
                "type": content_type,
                "size": size,
                "key": key,
                "expires": expires_at,
            },
        )
    post = await store.presigned_post(
        key, content_type=content_type, max_bytes=size, expires_in=settings.photo_upload_seconds
    )
    return UploadGrant(upload_id, post["url"], dict(post["fields"]), expires_at, size)


async def attach_photo(
    engine: AsyncEngine,
    store: ObjectStore,
    queue: JobQueue,
    settings: Settings,
    upload_id: uuid.UUID,
    *,
    alt: str,
    owner_dealer_id: int | None,
) -> Any:
    """Confirm an upload: checked, placed last in its vehicle's gallery, queued."""
    alt = alt.strip()
    if len(alt) > 300:
        raise _refuse("alt", "TEXT_LENGTH", "The alt text may have at most 300 characters.")
    async with engine.connect() as conn:
        upload = (
            await conn.execute(
                sa.text("SELECT * FROM photo_upload WHERE id = :id"), {"id": upload_id}
            )
        ).first()
    if upload is None:
        raise _refuse("upload_id", "UPLOAD_NOT_FOUND", "No upload with this id.")
    async with engine.connect() as conn:
        await vehicle_owner(conn, upload.vehicle_id, owner_dealer_id)
    if upload.attached_at is not None:
        raise _refuse("upload_id", "UPLOAD_ALREADY_ATTACHED", "This upload is attached already.")
    found = await store.head(upload.object_key)
    if found is None:
        if upload.expires_at <= datetime.now(UTC):
            raise _refuse("upload_id", "UPLOAD_EXPIRED", "The upload's time ran out; ask again.")
        raise _refuse("upload_id", "UPLOAD_MISSING", "Nothing was uploaded for this id yet.")
    try:
        if found.size > upload.size or found.size > settings.photo_max_bytes:
            raise _refuse("upload_id", "PHOTO_TOO_LARGE", "The file is larger than declared.")
        head = await store.get(upload.object_key, first_bytes=min(found.size, HEADER_BYTES))
        try:
            images.read_header(head or b"", limits_of(settings))
        except images.ImageRefusedError as error:
            # A header cut short by HEADER_BYTES is the job's to judge, on the whole file.
            if found.size <= HEADER_BYTES or error.code != "PHOTO_TYPE_NOT_ALLOWED":
                raise _refuse("upload_id", error.code, error.message) from None
    except PhotoRefusedError:
        await store.delete(upload.object_key)  # refused: nothing is kept
        raise
    async with engine.begin() as conn:
        claimed = await conn.execute(
            sa.text(
                "UPDATE photo_upload SET attached_at = now() WHERE id = :id AND attached_at IS NULL"
            ),
            {"id": upload_id},
        )
        if claimed.rowcount != 1:
            raise _refuse(
                "upload_id", "UPLOAD_ALREADY_ATTACHED", "This upload is attached already."
            )
        photo = await append_photo(
            conn,
            upload.vehicle_id,
            alt=alt,
            upload_key=upload.object_key,
            limit=settings.photo_max_per_vehicle,
        )
        if photo is None:
            raise _refuse(
                "upload_id",
                "TOO_MANY_PHOTOS",
                f"A vehicle may have {settings.photo_max_per_vehicle} photos.",
            )
    await queue.enqueue(PROCESS_JOB, photo.id, job_id=process_job_id(photo.id))
    return photo


__all__ = ["PhotoNotFoundError", "PhotoRefusedError", "attach_photo", "create_upload"]
