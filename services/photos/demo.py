"""Demo pictures: every seeded vehicle gets a photo, drawn here, so a catalog has pictures
out of the box (`autobroker dev`, `autobroker seed`, the test suite).

One picture per make and model: its body type's silhouette in the body type's colour,
with the make and model written on it. They go through the same pipeline as an upload
(services/photos/processing.py: variants, BlurHash, content-addressed keys), so a second
seed, or a vehicle of a model already drawn, costs one INSERT: the pictures are found by
their content hash. The 66 models of the demo catalog take about 7 s on two busy cores,
once per database; `by_model=False` (the test suite) draws one picture per body type
instead (9, about 1 s), labelled with the body type.
"""

from __future__ import annotations

import asyncio
import functools
import io

import sqlalchemy as sa
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy.ext.asyncio import AsyncEngine

from core.object_store import ObjectStore
from core.settings import Settings
from models.vehicle import BodyType
from services.photos.processing import store_picture

WIDTH, HEIGHT = 480, 300
# Side views on a 100 x 60 grid: the body's outline, and where its wheels stand (x).
_BODIES: dict[BodyType, tuple[tuple[tuple[int, int], ...], tuple[int, ...]]] = {
    BodyType.HATCHBACK: (
        ((8, 44), (10, 32), (30, 30), (42, 18), (74, 18), (88, 30), (92, 44)),
        (26, 76),
    ),
    BodyType.SEDAN: (
        ((4, 44), (6, 33), (26, 31), (38, 19), (66, 19), (78, 31), (96, 33), (96, 44)),
        (22, 78),
    ),
    BodyType.ESTATE: (
        ((4, 44), (6, 32), (26, 30), (38, 18), (90, 18), (95, 32), (96, 44)),
        (22, 80),
    ),
    BodyType.SUV: (((6, 46), (7, 28), (26, 26), (36, 12), (86, 12), (93, 26), (94, 46)), (24, 76)),
    BodyType.COUPE: (
        ((4, 44), (6, 34), (30, 32), (46, 20), (66, 21), (84, 32), (96, 36), (96, 44)),
        (22, 78),
    ),
    BodyType.CONVERTIBLE: (
        ((4, 44), (6, 33), (36, 31), (42, 25), (46, 31), (96, 33), (96, 44)),
        (22, 78),
    ),
    BodyType.MPV: (((6, 46), (7, 30), (22, 16), (88, 14), (94, 28), (94, 46)), (24, 76)),
    BodyType.PICKUP: (
        ((4, 46), (5, 28), (24, 27), (32, 13), (54, 13), (56, 28), (96, 28), (96, 46)),
        (22, 80),
    ),
    BodyType.VAN: (((6, 46), (6, 20), (14, 8), (94, 8), (95, 46)), (22, 80)),
}
_COLOURS: dict[BodyType, tuple[int, int, int]] = {
    BodyType.HATCHBACK: (214, 64, 52), BodyType.SEDAN: (38, 84, 160),
    BodyType.ESTATE: (46, 132, 96), BodyType.SUV: (92, 92, 104),
    BodyType.COUPE: (230, 150, 30), BodyType.CONVERTIBLE: (190, 60, 140),
    BodyType.MPV: (70, 150, 190), BodyType.PICKUP: (140, 96, 56), BodyType.VAN: (236, 236, 240),
}  # fmt: skip


@functools.lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def draw_demo_picture(make: str, model: str, body_type: BodyType) -> bytes:
    """A PNG: the body type's silhouette in its colour, make and model written above."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (238, 241, 245))
    draw = ImageDraw.Draw(image)
    scale_x, scale_y, top = WIDTH / 100, (HEIGHT - 70) / 60, 70
    outline, wheels = _BODIES[body_type]
    points = [(x * scale_x, top + y * scale_y) for x, y in outline]
    draw.rectangle((0, HEIGHT - 30, WIDTH, HEIGHT), fill=(200, 204, 210))  # the road
    draw.polygon(points, fill=_COLOURS[body_type], outline=(40, 40, 48), width=3)
    wheel_y, radius = top + 46 * scale_y, 6.5 * scale_x
    for wheel_x in wheels:
        centre = wheel_x * scale_x
        draw.ellipse((centre - radius, wheel_y - radius, centre + radius, wheel_y + radius),
                     fill=(34, 34, 38))  # fmt: skip
        draw.ellipse((centre - radius / 2, wheel_y - radius / 2, centre + radius / 2,
                      wheel_y + radius / 2), fill=(170, 170, 178))  # fmt: skip
    draw.text((24, 14), make, font=_font(24), fill=(60, 64, 72))
    draw.text((24, 40), model, font=_font(32), fill=(20, 22, 28))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


_WITHOUT_PHOTO = "WHERE NOT EXISTS (SELECT 1 FROM photo p WHERE p.vehicle_id = v.id)"


async def seed_demo_photos(
    engine: AsyncEngine, store: ObjectStore, settings: Settings, *, by_model: bool = True
) -> int:
    """Give every vehicle without a photo its model's (or body type's) demo picture; how
    many got one."""
    # The make and model to draw for each (make, model, body type) shown; by body type,
    # the make and model columns are matched as '' (any).
    listed = (
        "SELECT DISTINCT v.make, v.model, v.body_type FROM vehicle v "
        if by_model
        else "SELECT DISTINCT '', '', v.body_type FROM vehicle v "
    )
    async with engine.connect() as conn:
        result = await conn.execute(sa.text(f"{listed}{_WITHOUT_PHOTO} ORDER BY 1, 2, 3"))
        models = [(str(make), str(model), str(body)) for make, model, body in result.all()]
    if not models:
        return 0
    # A few at a time: Pillow encodes outside the GIL while other pictures are stored.
    limit = asyncio.Semaphore(4)

    async def picture(make: str, model: str, body: str) -> tuple[str, str, str, str]:
        async with limit:
            label = (make, model) if make else ("Auto-Broker demo", body.title())
            data = await asyncio.to_thread(draw_demo_picture, *label, BodyType(body))
            return make, model, body, await store_picture(engine, store, settings, data)

    drawn = await asyncio.gather(*(picture(*model) for model in models))
    async with engine.begin() as conn:
        added = await conn.execute(
            sa.text(
                "INSERT INTO photo (vehicle_id, position, alt, status, content_hash) "  # noqa: S608
                "SELECT v.id, 1, v.make || ' ' || v.model || ' (demo picture)', 'READY', d.hash "
                "FROM vehicle v JOIN unnest(CAST(:makes AS text[]), CAST(:models AS text[]), "
                "CAST(:bodies AS text[]), CAST(:hashes AS text[])) AS d(make, model, body, hash) "
                "ON d.make IN ('', v.make) AND d.model IN ('', v.model) AND d.body = v.body_type "
                f"{_WITHOUT_PHOTO}"
            ),
            {"makes": [d[0] for d in drawn], "models": [d[1] for d in drawn],
             "bodies": [d[2] for d in drawn], "hashes": [d[3] for d in drawn]},
        )  # fmt: skip
    return int(added.rowcount)
