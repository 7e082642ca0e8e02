"""Photo root fields: createPhotoUpload, attachPhoto, reorderPhotos, deletePhoto.

The vehicle's dealer (or staff) manages its photos; anyone else is FORBIDDEN or
UNAUTHENTICATED. The bytes never pass through the API: createPhotoUpload grants a
presigned POST to the store, attachPhoto confirms it (services/photos/uploads.py).
"""

from __future__ import annotations

import strawberry

from auth.permissions import HasRole, IsVehicleOwner, requires
from models.account import UserRole
from resolvers import photos
from schema.context import Info
from schema.photos import (
    AttachPhotoInput,
    AttachPhotoPayload,
    CreatePhotoUploadInput,
    CreatePhotoUploadPayload,
    DeletePhotoInput,
    DeletePhotoPayload,
    ReorderPhotosInput,
    ReorderPhotosPayload,
)

_MANAGERS = (UserRole.DEALER, UserRole.ADMIN)


@strawberry.type
class PhotoMutation:
    @strawberry.mutation(
        description="Ask to upload a picture of a vehicle: a presigned POST to the object "
        "store, limited to the declared type and size and to PHOTO_UPLOAD_SECONDS. "
        "Requires the DEALER that lists the vehicle, or ADMIN.",
        extensions=[requires(HasRole(*_MANAGERS), IsVehicleOwner())],
    )
    async def create_photo_upload(
        self, info: Info, input: CreatePhotoUploadInput
    ) -> CreatePhotoUploadPayload | None:
        return await photos.create_photo_upload(info, input)

    @strawberry.mutation(
        description="Confirm an upload: its bytes are checked (a picture of an accepted "
        "type and sane dimensions) and it joins the end of the gallery, PROCESSING until "
        "its variants are made. Requires the vehicle's DEALER, or ADMIN.",
        extensions=[requires(HasRole(*_MANAGERS))],
    )
    async def attach_photo(self, info: Info, input: AttachPhotoInput) -> AttachPhotoPayload | None:
        return await photos.attach_photo(info, input)

    @strawberry.mutation(
        description="Put a vehicle's photos in a new order (the first is the cover). "
        "Requires the DEALER that lists the vehicle, or ADMIN.",
        extensions=[requires(HasRole(*_MANAGERS), IsVehicleOwner())],
    )
    async def reorder_photos(
        self, info: Info, input: ReorderPhotosInput
    ) -> ReorderPhotosPayload | None:
        return await photos.reorder_photos(info, input)

    @strawberry.mutation(
        description="Take a photo out of its vehicle's gallery. Requires the vehicle's "
        "DEALER, or ADMIN.",
        extensions=[requires(HasRole(*_MANAGERS))],
    )
    async def delete_photo(self, info: Info, input: DeletePhotoInput) -> DeletePhotoPayload | None:
        return await photos.delete_photo(info, input)
