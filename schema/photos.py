"""Photo types: a vehicle's pictures with their responsive variants, and the upload flow."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import strawberry

from core.object_store import public_base
from schema.context import Info
from schema.errors import BadUserInputError
from schema.ids import decode_int_id, to_global_id
from schema.node import Node
from schema.payloads import UserError


@strawberry.enum(description="An image format a photo variant is served in.")
class PhotoFormat(enum.Enum):
    AVIF = "AVIF"
    WEBP = "WEBP"
    JPEG = "JPEG"


@strawberry.enum(description="Where a photo is in its processing.")
class PhotoStatus(enum.Enum):
    PROCESSING = strawberry.enum_value("PROCESSING", description="Uploaded; variants being made.")
    READY = strawberry.enum_value("READY", description="Shown in the vehicle's gallery.")
    FAILED = strawberry.enum_value("FAILED", description="Refused; `failure` says why.")


@strawberry.type(description="One variant of a photo: an image file at one width and format.")
class PhotoSource:
    url: str = strawberry.field(
        description="Public, content-addressed URL (served with Cache-Control: immutable)."
    )
    width: int
    height: int
    format: PhotoFormat
    bytes: int = strawberry.field(description="File size in bytes.")


@strawberry.type(description="A picture of a vehicle, with its variants for responsive images.")
class Photo(Node):
    position: int = strawberry.field(description="Place in the gallery, from 1 (the cover).")
    alt: str = strawberry.field(description="Text alternative for the picture.")
    status: PhotoStatus
    failure: str | None = strawberry.field(description="Why processing refused it (FAILED).")
    width: int | None = strawberry.field(description="Original width in pixels, upright.")
    height: int | None = strawberry.field(description="Original height in pixels, upright.")
    blurhash: str | None = strawberry.field(
        description="BlurHash placeholder (https://blurha.sh) to show while it loads."
    )
    pk: strawberry.Private[int]
    variants: strawberry.Private[list[PhotoSource]]

    @classmethod
    def from_row(cls, row: Any, base_url: str) -> Photo:
        variants = [
            PhotoSource(
                url=f"{base_url}/{v['key']}",
                width=v["width"],
                height=v["height"],
                format=PhotoFormat(v["format"]),
                bytes=v["bytes"],
            )
            for v in row["variants"] or ()
        ]
        return cls(
            id=strawberry.ID(to_global_id("Photo", row["id"])),
            position=row["position"],
            alt=row["alt"],
            status=PhotoStatus(row["status"]),
            failure=row["failure"],
            width=row["width"],
            height=row["height"],
            blurhash=row["blurhash"],
            pk=row["id"],
            variants=variants,
        )

    @strawberry.field(
        description="Every variant in one format (all formats when null), "
        "narrowest first: the candidates of a `srcset`."
    )
    def sources(self, format: PhotoFormat | None = None) -> list[PhotoSource]:
        return self._in_format(format)

    def _in_format(self, format: PhotoFormat | None) -> list[PhotoSource]:
        return [v for v in self.variants if format is None or v.format == format]

    @strawberry.field(
        description="A ready `srcset` attribute in one format, e.g. "
        '"https://…/a.jpg 320w, https://…/b.jpg 640w".'
    )
    def srcset(self, format: PhotoFormat = PhotoFormat.JPEG) -> str:
        return ", ".join(f"{v.url} {v.width}w" for v in self._in_format(format))

    @strawberry.field(
        description="The URL of the narrowest variant at least `width` pixels "
        "wide (the widest when none is), in `format`; null while processing."
    )
    def url(self, width: int = 640, format: PhotoFormat = PhotoFormat.JPEG) -> str | None:
        candidates = self._in_format(format)
        if not candidates:
            return None
        wide_enough = [v for v in candidates if v.width >= width]
        return (wide_enough[0] if wide_enough else candidates[-1]).url


def photos_of(info: Info, rows: list[Any]) -> list[Photo]:
    base = public_base(info.context.settings)
    return [Photo.from_row(row, base) for row in rows]


@strawberry.type(description="A form field to send with the upload, as given.")
class PhotoUploadField:
    name: str
    value: str


@strawberry.type(
    description="Where and how to upload one picture: POST a multipart/form-data form to "
    "`url` with every field of `fields`, then the file as the last field, named `file`."
)
class PhotoUpload:
    id: strawberry.ID = strawberry.field(description="Pass it to attachPhoto once uploaded.")
    url: str
    fields: list[PhotoUploadField]
    expires_at: datetime = strawberry.field(description="The store refuses the form after.")
    max_bytes: int = strawberry.field(description="The largest file the store accepts.")


def upload_global_id(upload_id: uuid.UUID) -> strawberry.ID:
    # An upload is a grant, not an object to fetch: its id is its random UUID itself.
    return strawberry.ID(str(upload_id))


@strawberry.input(description="Ask to upload a picture of a vehicle you list.")
class CreatePhotoUploadInput:
    vehicle_id: strawberry.ID
    content_type: str = strawberry.field(
        description="image/jpeg, image/png, image/webp, image/heic or image/avif."
    )
    size: int = strawberry.field(description="The file's size in bytes.")

    def vehicle_key(self) -> int:
        return decode_int_id(self.vehicle_id, "Vehicle", field="vehicleId")


@strawberry.input(description="Confirm an upload: the picture joins the vehicle's gallery.")
class AttachPhotoInput:
    upload_id: strawberry.ID
    alt: str = strawberry.field(default="", description="Text alternative, up to 300 characters.")

    def upload_key(self) -> uuid.UUID:
        try:
            return uuid.UUID(self.upload_id)
        except ValueError:
            raise BadUserInputError(
                "uploadId: not the ID of a PhotoUpload", field="uploadId"
            ) from None


@strawberry.input(description="Put a vehicle's photos in a new order.")
class ReorderPhotosInput:
    vehicle_id: strawberry.ID
    photo_ids: list[strawberry.ID] = strawberry.field(
        description="Every photo of the vehicle, each once, in the new order."
    )

    def vehicle_key(self) -> int:
        return decode_int_id(self.vehicle_id, "Vehicle", field="vehicleId")

    def photo_keys(self) -> list[int]:
        return [decode_int_id(photo, "Photo", field="photoIds") for photo in self.photo_ids]


@strawberry.input(description="Take a photo out of its vehicle's gallery.")
class DeletePhotoInput:
    photo_id: strawberry.ID

    def photo_key(self) -> int:
        return decode_int_id(self.photo_id, "Photo", field="photoId")


@strawberry.type
class CreatePhotoUploadPayload:
    upload: PhotoUpload | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AttachPhotoPayload:
    photo: Photo | None = strawberry.field(
        default=None, description="PROCESSING: READY once its variants are made."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ReorderPhotosPayload:
    photos: list[Photo] | None = strawberry.field(
        default=None, description="The vehicle's photos in their new order."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeletePhotoPayload:
    deleted_photo_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
