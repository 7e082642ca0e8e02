"""A vehicle's gallery: its photos in order, reordered and deleted by its dealer.

Positions are 1, 2, 3... in gallery order; the first READY photo is the cover. Deleting
a photo removes it from the gallery only: its image (content-addressed, perhaps shown
by another vehicle too) stays in the store, for retention to remove when no photo uses
it. A sold or withdrawn vehicle keeps its photos, so its orders still show them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core import response_cache
from services.errors import DomainError, FieldProblem, FieldProblemsError

_PHOTO_COLUMNS = (
    "p.id, p.vehicle_id, p.position, p.alt, p.status, p.failure, p.content_hash, "
    "i.width, i.height, i.blurhash, i.variants"
)


class VehicleNotFoundError(DomainError):
    """No such vehicle."""


class NotVehicleOwnerError(DomainError):
    """The vehicle is another dealer's."""


class PhotoNotFoundError(DomainError):
    """No such photo."""


class GalleryRefusedError(FieldProblemsError):
    """A gallery change breaks a rule; the field at fault is named."""


async def vehicle_owner(conn: AsyncConnection, vehicle_id: int, owner_dealer_id: int | None) -> int:
    """The vehicle's dealer, checked against the caller's (None: staff, any dealer)."""
    dealer_id = (
        await conn.execute(
            sa.text("SELECT dealer_id FROM vehicle WHERE id = :id"), {"id": vehicle_id}
        )
    ).scalar()
    if dealer_id is None:
        raise VehicleNotFoundError(f"no vehicle with id {vehicle_id}")
    if owner_dealer_id is not None and dealer_id != owner_dealer_id:
        raise NotVehicleOwnerError(
            "Only the dealer that lists this vehicle, or staff, may do this."
        )
    return int(dealer_id)


async def append_photo(
    conn: AsyncConnection,
    vehicle_id: int,
    *,
    alt: str,
    limit: int,
    upload_key: str | None = None,
    source_url: str | None = None,
    content_hash: str | None = None,
) -> Any | None:
    """A new photo at the end of the gallery (READY when its image exists), or None when
    the gallery is full. Takes the vehicle's row lock: concurrent appends queue."""
    await conn.execute(
        sa.text("SELECT 1 FROM vehicle WHERE id = :id FOR UPDATE"), {"id": vehicle_id}
    )
    count, last = (
        await conn.execute(
            sa.text("SELECT count(*), coalesce(max(position), 0) FROM photo WHERE vehicle_id = :v"),
            {"v": vehicle_id},
        )
    ).one()
    if count >= limit:
        return None
    return (
        await conn.execute(
            sa.text(
                "INSERT INTO photo (vehicle_id, position, alt, status, upload_key, source_url, "
                "content_hash) VALUES (:v, :position, :alt, "
                "CASE WHEN CAST(:hash AS text) IS NULL THEN 'PROCESSING' ELSE 'READY' END, "
                ":key, :url, :hash) RETURNING *"
            ),
            {
                "v": vehicle_id,
                "position": last + 1,
                "alt": alt,
                "key": upload_key,
                "url": source_url,
                "hash": content_hash,
            },
        )
    ).one()


async def photos_by_vehicle_ids(
    conn: AsyncConnection, vehicle_ids: Collection[int], *, ready_only: bool = True
) -> dict[int, list[Any]]:
    """Each vehicle's photos in gallery order, with their images, in one statement."""
    ready = "AND p.status = 'READY' " if ready_only else ""
    rows = await conn.execute(
        sa.text(
            f"SELECT {_PHOTO_COLUMNS} FROM photo p "  # noqa: S608 - constant parts only
            "LEFT JOIN photo_image i ON i.content_hash = p.content_hash "
            f"WHERE p.vehicle_id = ANY(:ids) {ready}ORDER BY p.vehicle_id, p.position, p.id"
        ),
        {"ids": list(vehicle_ids)},
    )
    found: dict[int, list[Any]] = defaultdict(list)
    for row in rows.mappings():
        found[row["vehicle_id"]].append(row)
    return found


async def photo_by_id(conn: AsyncConnection, photo_id: int) -> Any | None:
    """One photo (any status) with its image."""
    return (
        (
            await conn.execute(
                sa.text(
                    f"SELECT {_PHOTO_COLUMNS} FROM photo p "  # noqa: S608 - constant parts only
                    "LEFT JOIN photo_image i ON i.content_hash = p.content_hash WHERE p.id = :id"
                ),
                {"id": photo_id},
            )
        )
        .mappings()
        .first()
    )


async def photos_changed(redis: Redis, vehicle_id: int) -> None:
    """After the commit: cached answers showing the vehicle forget its old photos."""
    await response_cache.invalidate(redis, [response_cache.vehicle_tag(vehicle_id)])


async def reorder_photos(
    engine: AsyncEngine,
    redis: Redis,
    vehicle_id: int,
    photo_ids: Sequence[int],
    *,
    owner_dealer_id: int | None,
) -> None:
    """Put the vehicle's photos in the given order: every one of its photos, once each."""
    async with engine.begin() as conn:
        await vehicle_owner(conn, vehicle_id, owner_dealer_id)
        await conn.execute(
            sa.text("SELECT 1 FROM vehicle WHERE id = :id FOR UPDATE"), {"id": vehicle_id}
        )
        current = set(
            (
                await conn.execute(
                    sa.text("SELECT id FROM photo WHERE vehicle_id = :v"), {"v": vehicle_id}
                )
            ).scalars()
        )
        if len(set(photo_ids)) != len(photo_ids) or set(photo_ids) != current:
            raise GalleryRefusedError(
                [
                    FieldProblem(
                        "photo_ids",
                        "PHOTO_ORDER_MISMATCH",
                        "List each of the vehicle's photos exactly once.",
                    )
                ]
            )
        await conn.execute(
            sa.text(
                "UPDATE photo SET position = o.position, updated_at = now() FROM "
                "unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS o(id, position) "
                "WHERE photo.id = o.id AND photo.vehicle_id = :v"
            ),
            {"ids": list(photo_ids), "v": vehicle_id},
        )
    await photos_changed(redis, vehicle_id)


async def delete_photo(
    engine: AsyncEngine, redis: Redis, photo_id: int, *, owner_dealer_id: int | None
) -> int:
    """Take a photo out of its gallery; the vehicle's id. The rest keep their order."""
    async with engine.begin() as conn:
        vehicle_id = (
            await conn.execute(
                sa.text("SELECT vehicle_id FROM photo WHERE id = :id"), {"id": photo_id}
            )
        ).scalar()
        if vehicle_id is None:
            raise PhotoNotFoundError(f"no photo with id {photo_id}")
        await vehicle_owner(conn, vehicle_id, owner_dealer_id)
        await conn.execute(sa.text("DELETE FROM photo WHERE id = :id"), {"id": photo_id})
    await photos_changed(redis, int(vehicle_id))
    return int(vehicle_id)
