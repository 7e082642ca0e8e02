"""Photo retention: a sold or withdrawn vehicle keeps its gallery for its orders, then loses it.

`sweep_photos` removes the photos of vehicles that have been SOLD or WITHDRAWN for longer
than the retention period and none of whose orders is still in flight, then every
processed picture no photo shows any more (pictures are shared by content hash, so a
picture another vehicle still shows stays), and the upload grants that expired unused.
Objects are deleted from the store inside the transaction that deletes their rows: a
store that fails rolls the sweep back, to be tried again at the next run, and a picture
uploaded again meanwhile waits on the rows' locks and is stored anew after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.object_store import ObjectStore
from models.order import OrderStatus
from models.vehicle import VehicleStatus
from services.orders.lifecycle import TERMINAL_STATUSES

# An upload grant is kept this long past its expiry (a slow attach may still name it).
UPLOAD_GRACE = timedelta(days=1)

_GONE_VEHICLES = sa.text(
    """
    DELETE FROM photo p USING vehicle v
    WHERE p.vehicle_id = v.id
      AND v.status = ANY(:gone) AND v.updated_at < :cutoff
      AND NOT EXISTS (
        SELECT 1 FROM orders o WHERE o.vehicle_id = v.id AND NOT (o.status = ANY(:finished))
      )
    RETURNING p.upload_key
    """
)
_UNSHOWN_PICTURES = sa.text(
    """
    DELETE FROM photo_image i
    WHERE NOT EXISTS (SELECT 1 FROM photo p WHERE p.content_hash = i.content_hash)
    RETURNING i.variants
    """
)
_EXPIRED_UPLOADS = sa.text(
    """
    DELETE FROM photo_upload u
    WHERE u.attached_at IS NULL AND u.expires_at < :before
    RETURNING u.object_key
    """
)


@dataclass(frozen=True)
class PhotoSweep:
    photos: int
    pictures: int
    uploads: int


async def sweep_photos(
    engine: AsyncEngine, store: ObjectStore, age: timedelta, *, now: datetime | None = None
) -> PhotoSweep:
    """Remove the galleries of vehicles gone longer than `age`, and what nobody shows."""
    now = now or datetime.now(UTC)
    gone = [VehicleStatus.SOLD.value, VehicleStatus.WITHDRAWN.value]
    finished = [OrderStatus(status).value for status in TERMINAL_STATUSES]
    async with engine.begin() as conn:
        photos = (
            await conn.execute(
                _GONE_VEHICLES, {"gone": gone, "cutoff": now - age, "finished": finished}
            )
        ).all()
        pictures = (await conn.execute(_UNSHOWN_PICTURES)).all()
        uploads = (await conn.execute(_EXPIRED_UPLOADS, {"before": now - UPLOAD_GRACE})).all()
        keys = {key for (key,) in photos if key}
        keys |= {variant["key"] for (variants,) in pictures for variant in variants}
        keys |= {key for (key,) in uploads if key}
        for key in sorted(keys):
            await store.delete(key)  # S3 deletes are idempotent: a missing key is fine
    return PhotoSweep(photos=len(photos), pictures=len(pictures), uploads=len(uploads))
