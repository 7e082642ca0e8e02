"""Vehicle photos: upload grants, the processed pictures, and each vehicle's gallery.

A `PhotoUpload` is the grant a dealer received to put one object in the store (its
random id is the capability `attachPhoto` names). A `PhotoImage` is a processed picture,
keyed by the SHA-256 of its original bytes: the same picture uploaded or fed again is
never processed or stored twice. A `Photo` places a picture in a vehicle's gallery
(ordered by `position`); it is PROCESSING until the job has made its image, then READY,
or FAILED with the reason. Photos of a sold or withdrawn vehicle stay (its orders show
them); retention removes them later.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from models.base import created_at_field, updated_at_field


class PhotoStatus(enum.StrEnum):
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


def _aware() -> sa.DateTime:
    return sa.DateTime(timezone=True)


class PhotoUpload(SQLModel, table=True):
    __tablename__ = "photo_upload"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    vehicle_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="vehicle.id", ondelete="CASCADE", nullable=False,
        index=True,
    )  # fmt: skip
    content_type: str = Field(max_length=40, nullable=False)
    size: int = Field(nullable=False)
    object_key: str = Field(max_length=200, nullable=False)
    expires_at: datetime = Field(sa_type=_aware(), nullable=False)
    attached_at: datetime | None = Field(default=None, sa_type=_aware())
    created_at: datetime = created_at_field()


class PhotoImage(SQLModel, table=True):
    __tablename__ = "photo_image"

    content_hash: str = Field(max_length=64, primary_key=True)
    width: int = Field(nullable=False)
    height: int = Field(nullable=False)
    blurhash: str = Field(max_length=100, nullable=False)
    # [{"width", "height", "format", "key", "bytes"}], every variant made.
    variants: list[dict[str, Any]] = Field(sa_type=postgresql.JSONB, nullable=False)
    created_at: datetime = created_at_field()


class Photo(SQLModel, table=True):
    __tablename__ = "photo"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('PROCESSING', 'READY', 'FAILED')", name="photo_status_known"
        ),
        sa.CheckConstraint(
            "status <> 'READY' OR content_hash IS NOT NULL", name="photo_ready_has_image"
        ),
        # A gallery in order: the loader reads every vehicle's photos by this index.
        sa.Index("ix_photo_vehicle_position", "vehicle_id", "position", "id"),
        # Feeds: a picture URL already fetched is not fetched again.
        sa.Index(
            "ix_photo_source_url", "source_url", postgresql_where=sa.text("source_url IS NOT NULL")
        ),
    )

    id: int | None = Field(default=None, sa_type=sa.BigInteger, primary_key=True)
    vehicle_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="vehicle.id", ondelete="CASCADE", nullable=False
    )
    position: int = Field(nullable=False)
    alt: str = Field(default="", max_length=300, nullable=False)
    status: str = Field(default=PhotoStatus.PROCESSING, max_length=12, nullable=False)
    failure: str | None = Field(default=None, max_length=300)
    # Where the original waits for the job: an upload's key, or a feed's URL.
    upload_key: str | None = Field(default=None, max_length=200)
    source_url: str | None = Field(default=None, max_length=2000)
    content_hash: str | None = Field(
        default=None, max_length=64, foreign_key="photo_image.content_hash", ondelete="RESTRICT"
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
