"""A fed vehicle's pictures: fetched by the worker under the feeds' address rules.

A feed's `image_urls` column lists a vehicle's pictures. Each URL is fetched with the
same guard as feed URLs (services/feeds/addresses.py: public addresses only, plus
FEED_ALLOWED_NETWORKS, checked at every connection, redirects included), at most
PHOTO_MAX_BYTES, then processed like an upload. What a feed lists again costs nothing:
a URL already in the vehicle's gallery is skipped, a URL any vehicle already has is
reused without a fetch, and bytes already processed (the same SHA-256 from another URL)
are neither processed nor stored again. A URL that cannot be fetched or is no picture
is counted and logged, and tried again when a later run lists it (a broken link may be
mended); the listing itself is never refused for its pictures.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.object_store import ObjectStore
from core.settings import Settings
from services.feeds.addresses import FeedAddressRefusedError
from services.feeds.sources import guarded_transport
from services.photos import images
from services.photos.gallery import append_photo, photos_changed
from services.photos.processing import store_picture

log = logging.getLogger(__name__)
FETCH_JOB = "fetch_feed_photos"
_LOCK_CLASS = 0x70686F74  # "phot": advisory locks keyed (this, hashtext(url))
_KNOWN_URL = sa.text(
    "SELECT content_hash FROM photo WHERE source_url = :url AND status = 'READY' LIMIT 1"
)


class _FetchRefusedError(Exception):
    pass


_REFUSALS = (_FetchRefusedError, FeedAddressRefusedError, httpx.HTTPError, images.ImageRefusedError)


async def _download(client: httpx.AsyncClient, url: str, max_bytes: int) -> bytes:
    async with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise _FetchRefusedError(f"HTTP {response.status_code}")
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            raise _FetchRefusedError("larger than PHOTO_MAX_BYTES")
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > max_bytes:
                raise _FetchRefusedError("larger than PHOTO_MAX_BYTES")
    return bytes(data)


async def fetch_feed_photos(
    engine: AsyncEngine,
    redis: Redis,
    store: ObjectStore,
    settings: Settings,
    vehicle_id: int,
    urls: Sequence[str],
) -> dict[str, int]:
    """Add the pictures at `urls` to the vehicle's gallery; counts of what each cost."""
    counts = {"fetched": 0, "reused": 0, "known": 0, "refused": 0}
    async with engine.connect() as conn:
        vehicle = (
            await conn.execute(
                sa.text("SELECT make, model FROM vehicle WHERE id = :id"), {"id": vehicle_id}
            )
        ).first()
        if vehicle is None:
            return counts
        in_gallery = set(
            (
                await conn.execute(
                    sa.text(
                        "SELECT source_url FROM photo WHERE vehicle_id = :v "
                        "AND source_url IS NOT NULL"
                    ),
                    {"v": vehicle_id},
                )
            ).scalars()
        )
    added = 0
    transport = guarded_transport(settings.feed_allowed_networks)
    timeout = httpx.Timeout(settings.photo_fetch_timeout_seconds)
    async with httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=True
    ) as client:
        for url in urls:
            if url in in_gallery:
                counts["known"] += 1
                continue
            async with engine.begin() as conn:
                # One worker at a time per URL: two vehicles listing one picture, in jobs
                # running side by side, fetch it once (the second finds it READY).
                await conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:url))"),
                    {"lock_class": _LOCK_CLASS, "url": url},
                )
                digest = (await conn.execute(_KNOWN_URL, {"url": url})).scalar()
                if digest is not None:
                    counts["reused"] += 1
                else:
                    try:
                        data = await _download(client, url, settings.photo_max_bytes)
                        digest = await store_picture(engine, store, settings, data)
                    except _REFUSALS as error:
                        counts["refused"] += 1
                        log.warning(
                            "feed picture refused",
                            extra={"vehicle_id": vehicle_id, "url": url, "reason": str(error)},
                        )
                        continue
                    counts["fetched"] += 1
                photo = await append_photo(
                    conn,
                    vehicle_id,
                    alt=f"{vehicle.make} {vehicle.model}",
                    source_url=url,
                    content_hash=digest,
                    limit=settings.photo_max_per_vehicle,
                )
            in_gallery.add(url)
            if photo is None:
                break  # the gallery is full
            added += 1
    if added:
        await photos_changed(redis, vehicle_id)
    return counts
