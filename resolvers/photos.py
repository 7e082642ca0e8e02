"""Photo root fields: arguments in, one service call, payload or coded error out."""

from __future__ import annotations

from auth.permissions import principal_of
from core.availability import ServiceUnavailableError
from core.job_queue import ArqJobQueue
from core.object_store import OBJECT_STORE, ObjectStore
from schema.context import Info
from schema.errors import ForbiddenError, NotFoundError
from schema.payloads import refusal_errors
from schema.photos import (
    AttachPhotoInput,
    AttachPhotoPayload,
    CreatePhotoUploadInput,
    CreatePhotoUploadPayload,
    DeletePhotoInput,
    DeletePhotoPayload,
    Photo,
    PhotoUpload,
    PhotoUploadField,
    ReorderPhotosInput,
    ReorderPhotosPayload,
    photos_of,
    upload_global_id,
)
from services.photos import gallery, uploads

_NAMES = {"content_type": "contentType", "upload_id": "uploadId", "photo_ids": "photoIds"}


def _store(info: Info) -> ObjectStore:
    if info.context.photo_store is None:
        raise ServiceUnavailableError(OBJECT_STORE, "photo storage is not configured (S3_URL)")
    return info.context.photo_store


def _owner(info: Info) -> int | None:
    principal = principal_of(info)
    return None if principal.is_admin else principal.dealer_id


async def create_photo_upload(
    info: Info, input: CreatePhotoUploadInput
) -> CreatePhotoUploadPayload:
    """Grant a direct upload to the store."""
    ctx = info.context
    try:
        grant = await uploads.create_upload(
            await ctx.db.for_writes(),
            _store(info),
            ctx.settings,
            input.vehicle_key(),
            content_type=input.content_type,
            size=input.size,
            owner_dealer_id=_owner(info),
        )
    except gallery.VehicleNotFoundError:
        raise NotFoundError(f"no vehicle with id {input.vehicle_id}", field="vehicleId") from None
    except gallery.NotVehicleOwnerError as error:
        raise ForbiddenError(str(error)) from None
    except uploads.PhotoRefusedError as error:
        return CreatePhotoUploadPayload(user_errors=refusal_errors(error, _NAMES))
    return CreatePhotoUploadPayload(
        upload=PhotoUpload(
            id=upload_global_id(grant.id),
            url=grant.url,
            fields=[PhotoUploadField(name=k, value=v) for k, v in grant.fields.items()],
            expires_at=grant.expires_at,
            max_bytes=grant.max_bytes,
        )
    )


async def attach_photo(info: Info, input: AttachPhotoInput) -> AttachPhotoPayload:
    """Confirm an upload; the photo comes back PROCESSING."""
    ctx = info.context
    try:
        row = await uploads.attach_photo(
            await ctx.db.for_writes(),
            _store(info),
            ArqJobQueue(ctx.redis),
            ctx.settings,
            input.upload_key(),
            alt=input.alt,
            owner_dealer_id=_owner(info),
        )
    except gallery.VehicleNotFoundError:
        raise NotFoundError("the upload's vehicle is gone", field="uploadId") from None
    except gallery.NotVehicleOwnerError as error:
        raise ForbiddenError(str(error)) from None
    except uploads.PhotoRefusedError as error:
        return AttachPhotoPayload(user_errors=refusal_errors(error, _NAMES))
    found = await gallery.photo_by_id(await ctx.db.get(), row.id)
    return AttachPhotoPayload(photo=photos_of(info, [found])[0])


async def reorder_photos(info: Info, input: ReorderPhotosInput) -> ReorderPhotosPayload:
    """Put a vehicle's gallery in a new order."""
    ctx = info.context
    vehicle_id = input.vehicle_key()
    try:
        await gallery.reorder_photos(
            await ctx.db.for_writes(),
            ctx.redis,
            vehicle_id,
            input.photo_keys(),
            owner_dealer_id=_owner(info),
        )
    except gallery.VehicleNotFoundError:
        raise NotFoundError(f"no vehicle with id {input.vehicle_id}", field="vehicleId") from None
    except gallery.NotVehicleOwnerError as error:
        raise ForbiddenError(str(error)) from None
    except gallery.GalleryRefusedError as error:
        return ReorderPhotosPayload(user_errors=refusal_errors(error, _NAMES))
    found = await gallery.photos_by_vehicle_ids(await ctx.db.get(), [vehicle_id], ready_only=False)
    return ReorderPhotosPayload(photos=photos_of(info, found.get(vehicle_id, [])))


async def delete_photo(info: Info, input: DeletePhotoInput) -> DeletePhotoPayload:
    """Take a photo out of its gallery."""
    ctx = info.context
    try:
        await gallery.delete_photo(
            await ctx.db.for_writes(), ctx.redis, input.photo_key(), owner_dealer_id=_owner(info)
        )
    except gallery.PhotoNotFoundError:
        raise NotFoundError(f"no photo with id {input.photo_id}", field="photoId") from None
    except gallery.NotVehicleOwnerError as error:
        raise ForbiddenError(str(error)) from None
    return DeletePhotoPayload(deleted_photo_id=input.photo_id)


__all__ = ["Photo", "attach_photo", "create_photo_upload", "delete_photo", "reorder_photos"]
