"""The processing job's use-case: an attached upload becomes a READY photo (or FAILED).

Safe to run twice: a photo no longer PROCESSING is left alone, and an image already made
for the same bytes (same SHA-256) is reused, neither decoded nor stored again. Decoding
and encoding run in a thread, so the worker's event loop keeps serving other jobs.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.object_store import ObjectStore
from core.settings import Settings
from services.photos import images
from services.photos.gallery import photos_changed

log = logging.getLogger(__name__)
IMMUTABLE = "public, max-age=31536000, immutable"


class ProcessOutcome(enum.StrEnum):
    READY = "ready"
    FAILED = "failed"
    SKIPPED = "skipped"


async def store_picture(
    engine: AsyncEngine, store: ObjectStore, settings: Settings, data: bytes
) -> str:
    """The content hash of a picture whose image exists (made and stored now if it did
    not). Raises `images.ImageRefusedError` for bytes that are no acceptable picture."""
    digest = images.content_hash(data)
    async with engine.connect() as conn:
        known = (
            await conn.execute(
                sa.text("SELECT 1 FROM photo_image WHERE content_hash = :h"), {"h": digest}
            )
        ).scalar()
    if known:
        return digest
    limits = images.ImageLimits(settings.photo_max_pixels, settings.photo_max_side)
    made = await asyncio.to_thread(
        images.process, data, widths=settings.photo_widths, limits=limits
    )
    await asyncio.gather(
        *(
            store.put(v.key, v.data, content_type=v.content_type, cache_control=IMMUTABLE)
            for v in made.variants
        )
    )
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO photo_image (content_hash, width, height, blurhash, variants) "
                "VALUES (:h, :w, :ht, :b, CAST(:v AS jsonb)) ON CONFLICT DO NOTHING"
            ),
            {
                "h": digest,
                "w": made.width,
                "ht": made.height,
                "b": made.blurhash,
                "v": json.dumps([v.describe() for v in made.variants]),
            },
        )
    return digest


async def process_photo(
    engine: AsyncEngine, redis: Redis, store: ObjectStore, settings: Settings, photo_id: int
) -> ProcessOutcome:
    """Make an attached photo's image from its upload; FAILED, with the reason, when the
    bytes are no acceptable picture (the upload is deleted either way)."""
    async with engine.connect() as conn:
        photo = (
            await conn.execute(
                sa.text("SELECT id, vehicle_id, status, upload_key FROM photo WHERE id = :id"),
                {"id": photo_id},
            )
        ).first()
    if photo is None or photo.status != "PROCESSING" or photo.upload_key is None:
        return ProcessOutcome.SKIPPED
    data = await store.get(photo.upload_key)
    outcome, digest, failure = ProcessOutcome.READY, None, None
    if data is None:
        outcome, failure = ProcessOutcome.FAILED, "The uploaded file is gone."
    else:
        try:
            digest = await store_picture(engine, store, settings, data)
        except images.ImageRefusedError as error:
            outcome, failure = ProcessOutcome.FAILED, error.message
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE photo SET status = :status, content_hash = :hash, failure = :failure, "
                "upload_key = NULL, updated_at = now() WHERE id = :id AND status = 'PROCESSING'"
            ),
            {
                "status": "READY" if outcome is ProcessOutcome.READY else "FAILED",
                "hash": digest,
                "failure": failure,
                "id": photo_id,
            },
        )
    await store.delete(photo.upload_key)
    await photos_changed(redis, photo.vehicle_id)
    log.info("photo processed", extra={"photo_id": photo_id, "outcome": str(outcome)})
    return outcome
