"""Photo jobs: process an attached upload; fetch a fed vehicle's pictures.

Both are safe to run twice (services/photos): a processed photo is skipped, and a
picture URL or content hash already known is neither fetched nor stored again. A store
that is down raises SERVICE_UNAVAILABLE, which arq retries (jobs/observed.py).
"""

from __future__ import annotations

from typing import Any

from core.object_store import ObjectStore
from jobs.context import JobResources, resources
from services.photos.feed_images import fetch_feed_photos
from services.photos.processing import process_photo


def _store(res: JobResources) -> ObjectStore:
    if res.objects is None:
        raise RuntimeError("S3_URL is not set: photo jobs need the object store")
    return res.objects


async def process_photo_job(ctx: dict[str, Any], photo_id: int) -> dict[str, Any]:
    """Make photo `photo_id`'s variants from its upload."""
    res = resources(ctx)
    outcome = await process_photo(
        res.database.engine, res.redis, _store(res), res.settings, photo_id
    )
    return {"photo_id": photo_id, "outcome": str(outcome)}


async def fetch_feed_photos_job(
    ctx: dict[str, Any], vehicle_id: int, urls: list[str]
) -> dict[str, Any]:
    """Bring a fed vehicle's pictures into its gallery, each URL fetched once."""
    res = resources(ctx)
    counts = await fetch_feed_photos(
        res.database.engine, res.redis, _store(res), res.settings, vehicle_id, urls
    )
    return {"vehicle_id": vehicle_id, **counts}
