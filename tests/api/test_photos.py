"""Vehicle photos over GraphQL, on the real embedded S3 store through the real client:
a presigned upload straight to the store, the processing job (variants, sizes, EXIF
gone), refusals that leave nothing stored, the store's own limits on the presigned
POST, the gallery for the vehicle's dealer only, and what the catalog costs."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import start_counting
from core.object_store import ObjectStore
from core.settings import Settings
from jobs.worker import create_worker
from schema.ids import to_global_id
from services.photos.retention import sweep_photos
from tests.accounts_data import create_vehicle
from tests.api.conftest import Cast
from tests.conftest import graphql
from tests.photos_data import GPS_IFD, NOT_A_PICTURE, jpeg_with_gps, png_bomb, upload_form

CREATE_UPLOAD = """
mutation Ask($input: CreatePhotoUploadInput!) {
  createPhotoUpload(input: $input) {
    upload { id url fields { name value } expiresAt maxBytes }
    userErrors { field code message }
  }
}
"""
ATTACH = """
mutation Attach($input: AttachPhotoInput!) {
  attachPhoto(input: $input) {
    photo { id position alt status width height blurhash }
    userErrors { field code message }
  }
}
"""
GALLERY = """
query Gallery($id: ID!) {
  vehicle(id: $id) {
    coverPhoto { id alt }
    photos {
      id position alt status width height blurhash
      sources { url width height format bytes }
      srcset(format: WEBP)
      url(width: 600, format: AVIF)
    }
  }
}
"""
REORDER = """
mutation Reorder($input: ReorderPhotosInput!) {
  reorderPhotos(input: $input) { photos { id position } userErrors { field code } }
}
"""
DELETE = """
mutation Delete($input: DeletePhotoInput!) {
  deletePhoto(input: $input) { deletedPhotoId userErrors { field code } }
}
"""
NO_STORE = {"cache-control": "no-store"}


async def _work(settings: Settings) -> None:
    """A burst arq worker: runs what is queued (the processing job), then stops."""
    worker = create_worker(settings, handle_signals=False, burst=True)
    worker.cron_jobs = []
    try:
        await worker.main()
    finally:
        await worker.close()


async def _vehicle(engine: AsyncEngine, redis: Redis, cast: Cast) -> str:
    row = await create_vehicle(engine, redis, cast.dealer_ids[0])
    return to_global_id("Vehicle", row["id"])


async def _ask(
    client: httpx.AsyncClient, cast: Cast, vehicle: str, size: int, content_type: str = "image/jpeg"
) -> dict[str, Any]:
    given = {"vehicleId": vehicle, "contentType": content_type, "size": size}
    body = await graphql(client, CREATE_UPLOAD, {"input": given}, **cast.dealer.headers)
    payload: dict[str, Any] = body["data"]["createPhotoUpload"]
    return payload


async def _upload_and_attach(
    client: httpx.AsyncClient, cast: Cast, vehicle: str, data: bytes, alt: str = ""
) -> dict[str, Any]:
    upload = (await _ask(client, cast, vehicle, len(data)))["upload"]
    stored = await asyncio.to_thread(upload_form, upload, data)
    assert stored.status_code == 204, stored.text
    body = await graphql(
        client, ATTACH, {"input": {"uploadId": upload["id"], "alt": alt}}, **cast.dealer.headers
    )
    payload: dict[str, Any] = body["data"]["attachPhoto"]
    payload["upload_key"] = _field(upload, "key")
    return payload


def _field(upload: dict[str, Any], name: str) -> str:
    return next(str(f["value"]) for f in upload["fields"] if f["name"] == name)


async def _objects(store: ObjectStore, prefix: str) -> list[str]:
    s3 = await store.client()
    listed = await s3.list_objects_v2(Bucket=store.bucket, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


async def _photo_rows(engine: AsyncEngine, vehicle_pk: int) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            sa.text("SELECT * FROM photo WHERE vehicle_id = :v ORDER BY position"),
            {"v": vehicle_pk},
        )
        return list(result.mappings())


def _pk(global_id: str) -> int:
    from schema.ids import decode_int_id

    return decode_int_id(global_id, "Vehicle")


async def test_a_dealer_uploads_straight_to_the_store_and_gets_variants_without_exif(
    client: httpx.AsyncClient,
    cast: Cast,
    engine: AsyncEngine,
    redis: Redis,
    settings: Settings,
    photo_store: ObjectStore,
) -> None:
    vehicle = await _vehicle(engine, redis, cast)
    original = jpeg_with_gps(1600, 1000, orientation=6)
    asked = await _ask(client, cast, vehicle, len(original))
    upload = asked["upload"]
    assert asked["userErrors"] == []
    assert upload["url"] == f"{settings.s3_url}/{settings.s3_bucket}"
    assert upload["maxBytes"] == len(original)
    stored = await asyncio.to_thread(upload_form, upload, original)
    assert stored.status_code == 204, stored.text

    body = await graphql(
        client, ATTACH, {"input": {"uploadId": upload["id"], "alt": " Front left "}},
        **cast.dealer.headers,
    )  # fmt: skip
    attached = body["data"]["attachPhoto"]
    assert attached is not None, body
    assert attached["userErrors"] == []
    photo = attached["photo"]
    assert photo == {"id": photo["id"], "position": 1, "alt": "Front left",
                     "status": "PROCESSING", "width": None, "height": None, "blurhash": None}  # fmt: skip
    # Not in the gallery until processed.
    shown = await graphql(client, GALLERY, {"id": vehicle}, **NO_STORE)
    assert shown["data"]["vehicle"] == {"coverPhoto": None, "photos": []}

    await _work(settings)

    shown = await graphql(client, GALLERY, {"id": vehicle}, **NO_STORE)
    [ready] = shown["data"]["vehicle"]["photos"]
    assert shown["data"]["vehicle"]["coverPhoto"] == {"id": photo["id"], "alt": "Front left"}
    # Orientation 6 applied: the 1600 x 1000 picture stands 1000 x 1600.
    assert (ready["status"], ready["width"], ready["height"]) == ("READY", 1000, 1600)
    assert len(ready["blurhash"]) == 1 + 1 + 4 + 2 * (4 * 3 - 1)  # 4 x 3 components
    widths = sorted({(s["width"], s["height"]) for s in ready["sources"]})
    assert widths == [(320, 512), (640, 1024), (1000, 1600)]
    assert sorted({s["format"] for s in ready["sources"]}) == ["AVIF", "JPEG", "WEBP"]
    webp = [s for s in ready["sources"] if s["format"] == "WEBP"]
    assert ready["srcset"] == ", ".join(f"{s['url']} {s['width']}w" for s in webp)
    assert ready["url"] == next(
        s["url"] for s in ready["sources"] if s["format"] == "AVIF" and s["width"] == 640
    )
    async with httpx.AsyncClient(timeout=30) as browser:  # anonymous, as a browser or CDN
        for source in ready["sources"]:
            assert source["url"].startswith(f"{settings.s3_url}/{settings.s3_bucket}/p/")
            got = await browser.get(source["url"])
            assert got.status_code == 200
            assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert got.headers["content-type"] == f"image/{source['format'].lower()}"
            assert len(got.content) == source["bytes"]
            picture = Image.open(io.BytesIO(got.content))
            assert picture.size == (source["width"], source["height"])
            exif = picture.getexif()
            assert GPS_IFD not in exif, source
            assert not exif.get_ifd(GPS_IFD), source
            assert "exif" not in picture.info
            assert b"Exif" not in got.content
    # The original upload (with its GPS position) is gone: only the public variants stay.
    assert await photo_store.head(_field(upload, "key")) is None
    assert set(await _objects(photo_store, "p/")) >= {
        source["url"].split(f"/{settings.s3_bucket}/", 1)[1] for source in ready["sources"]
    }


@pytest.mark.parametrize(
    ("data", "code"),
    [(png_bomb(), "PHOTO_DIMENSIONS_TOO_LARGE"), (NOT_A_PICTURE, "PHOTO_TYPE_NOT_ALLOWED")],
    ids=["decompression-bomb", "not-a-picture"],
)
async def test_a_bomb_or_another_type_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    cast: Cast,
    engine: AsyncEngine,
    redis: Redis,
    photo_store: ObjectStore,
    data: bytes,
    code: str,
) -> None:
    vehicle = await _vehicle(engine, redis, cast)
    attached = await _upload_and_attach(client, cast, vehicle, data)
    assert attached["photo"] is None
    [error] = attached["userErrors"]
    assert (error["field"], error["code"]) == (["input", "uploadId"], code)
    assert await photo_store.head(attached["upload_key"]) is None  # the upload is deleted
    assert await _photo_rows(engine, _pk(vehicle)) == []


async def test_the_declared_type_and_size_are_checked_before_any_upload(
    client: httpx.AsyncClient, cast: Cast, engine: AsyncEngine, redis: Redis, settings: Settings
) -> None:
    vehicle = await _vehicle(engine, redis, cast)
    payload = await _ask(client, cast, vehicle, settings.photo_max_bytes + 1, "image/svg+xml")
    assert payload == {
        "upload": None,
        "userErrors": [
            {"field": ["input", "contentType"], "code": "PHOTO_TYPE_NOT_ALLOWED",
             "message": "Upload a JPEG, PNG, WebP, HEIC or AVIF picture."},
            {"field": ["input", "size"], "code": "PHOTO_TOO_LARGE",
             "message": f"A picture may have 1 to {settings.photo_max_bytes:,} bytes."},
        ],
    }  # fmt: skip


async def test_the_store_refuses_a_presigned_post_above_its_size_of_another_type_or_late(
    client: httpx.AsyncClient,
    cast: Cast,
    engine: AsyncEngine,
    redis: Redis,
    photo_store: ObjectStore,
) -> None:
    vehicle = await _vehicle(engine, redis, cast)
    picture = jpeg_with_gps(400, 300)
    upload = (await _ask(client, cast, vehicle, len(picture) - 1))["upload"]
    too_big = await asyncio.to_thread(upload_form, upload, picture)
    assert too_big.status_code == 400
    assert "EntityTooLarge" in too_big.text
    other_type = {**upload, "fields": [
        {"name": f["name"], "value": "image/png" if f["name"] == "Content-Type" else f["value"]}
        for f in upload["fields"]
    ]}  # fmt: skip
    refused = await asyncio.to_thread(upload_form, other_type, picture[:100])
    assert refused.status_code == 403
    # Nothing arrived: attaching says so.
    body = await graphql(
        client, ATTACH, {"input": {"uploadId": upload["id"]}}, **cast.dealer.headers
    )
    assert body["data"]["attachPhoto"]["userErrors"][0]["code"] == "UPLOAD_MISSING"
    # The same grant, expired: the store refuses the form (a one-second grant, as the
    # service makes them, so the test does not wait PHOTO_UPLOAD_SECONDS).
    key = "uploads/expiry-check"
    post = await photo_store.presigned_post(
        key, content_type="image/jpeg", max_bytes=10_000, expires_in=1
    )
    await asyncio.sleep(2.2)
    late = {
        "url": post["url"],
        "fields": [{"name": k, "value": v} for k, v in post["fields"].items()],
    }
    expired = await asyncio.to_thread(upload_form, late, picture[:1000])
    assert expired.status_code == 403
    assert "expired" in expired.text.lower()
    assert await photo_store.head(key) is None


async def test_only_the_vehicles_dealer_manages_its_gallery(
    client: httpx.AsyncClient,
    cast: Cast,
    engine: AsyncEngine,
    redis: Redis,
    settings: Settings,
    photo_store: ObjectStore,
) -> None:
    vehicle = await _vehicle(engine, redis, cast)
    first = await _upload_and_attach(client, cast, vehicle, jpeg_with_gps(700, 500), alt="one")
    second = await _upload_and_attach(client, cast, vehicle, jpeg_with_gps(720, 500), alt="two")
    await _work(settings)
    ids = [first["photo"]["id"], second["photo"]["id"]]
    asked = {"vehicleId": vehicle, "contentType": "image/png", "size": 10}
    other = await graphql(client, CREATE_UPLOAD, {"input": asked}, **cast.other_dealer.headers)
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    refused = await graphql(
        client, DELETE, {"input": {"photoId": ids[0]}}, **cast.other_dealer.headers
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await graphql(client, DELETE, {"input": {"photoId": ids[0]}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    wrong = await graphql(
        client,
        REORDER,
        {"input": {"vehicleId": vehicle, "photoIds": ids[:1]}},
        **cast.dealer.headers,
    )
    assert wrong["data"]["reorderPhotos"] == {
        "photos": None, "userErrors": [{"field": ["input", "photoIds"], "code": "PHOTO_ORDER_MISMATCH"}]
    }  # fmt: skip
    body = await graphql(
        client,
        REORDER,
        {"input": {"vehicleId": vehicle, "photoIds": ids[::-1]}},
        **cast.dealer.headers,
    )
    assert body["data"]["reorderPhotos"] == {
        "photos": [{"id": ids[1], "position": 1}, {"id": ids[0], "position": 2}], "userErrors": []
    }  # fmt: skip
    shown = await graphql(client, GALLERY, {"id": vehicle})
    assert shown["data"]["vehicle"]["coverPhoto"] == {"id": ids[1], "alt": "two"}

    body = await graphql(client, DELETE, {"input": {"photoId": ids[1]}}, **cast.dealer.headers)
    assert body["data"]["deletePhoto"] == {"deletedPhotoId": ids[1], "userErrors": []}
    shown = await graphql(client, GALLERY, {"id": vehicle})  # the cached answer is gone
    assert [p["id"] for p in shown["data"]["vehicle"]["photos"]] == [ids[0]]
    assert shown["data"]["vehicle"]["coverPhoto"] == {"id": ids[0], "alt": "one"}


CATALOG_WITH_COVERS = """
query($first: Int!) {
  vehicles(first: $first, orderBy: {field: PRICE, direction: ASC}) {
    totalCount
    edges { node { id make coverPhoto { alt blurhash url(width: 320, format: WEBP) } } }
  }
}
"""


async def test_a_catalog_page_of_50_with_cover_photos_costs_one_statement_more(
    client: httpx.AsyncClient,
) -> None:
    counter = start_counting(keep_text=True)
    body = await graphql(client, CATALOG_WITH_COVERS, {"first": 50}, **NO_STORE)
    assert "errors" not in body, body
    edges = body["data"]["vehicles"]["edges"]
    assert len(edges) == 50
    assert all(edge["node"]["coverPhoto"]["url"] for edge in edges)  # the seed's pictures
    # the page, its total count, and every cover photo in one statement
    assert counter.count == 3, counter.statements
    assert "FROM photo" in counter.statements[-1] or "FROM photo" in counter.statements[1]


async def _gone_since(engine: AsyncEngine, vehicle: str, status: str, days: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE vehicle SET status = :s, updated_at = now() - make_interval(days => :d)"
                    " WHERE id = :v"),
            {"s": status, "d": days, "v": _pk(vehicle)},
        )  # fmt: skip


async def test_retention_removes_a_long_gone_vehicles_gallery_but_keeps_pictures_still_shown(
    client: httpx.AsyncClient,
    cast: Cast,
    engine: AsyncEngine,
    redis: Redis,
    settings: Settings,
    photo_store: ObjectStore,
) -> None:
    # One picture in two galleries (stored once, by its content hash).
    picture = jpeg_with_gps(733, 511)
    long_gone, recently_sold = (
        await _vehicle(engine, redis, cast),
        await _vehicle(engine, redis, cast),
    )
    await _upload_and_attach(client, cast, long_gone, picture)
    await _upload_and_attach(client, cast, recently_sold, picture)
    await _work(settings)
    [shown] = (await graphql(client, GALLERY, {"id": recently_sold}, **NO_STORE))["data"][
        "vehicle"]["photos"]  # fmt: skip
    keys = {s["url"].split(f"/{settings.s3_bucket}/", 1)[1] for s in shown["sources"]}
    await _gone_since(engine, long_gone, "WITHDRAWN", 400)
    await _gone_since(engine, recently_sold, "SOLD", 10)
    age = timedelta(days=settings.photo_retention_days)

    [still_shown] = await _photo_rows(engine, _pk(recently_sold))
    picture_rows = sa.text("SELECT count(*) FROM photo_image WHERE content_hash = :h")

    # The sweep is global: other galleries gone long ago may be swept beside this one.
    swept = await sweep_photos(engine, photo_store, age)
    assert swept.photos >= 1
    assert await _photo_rows(engine, _pk(long_gone)) == []
    assert len(await _photo_rows(engine, _pk(recently_sold))) == 1
    async with engine.connect() as conn:
        assert await conn.scalar(picture_rows, {"h": still_shown["content_hash"]}) == 1
    assert all([await photo_store.head(key) for key in keys])  # still shown: kept

    await _gone_since(engine, recently_sold, "SOLD", 400)
    swept = await sweep_photos(engine, photo_store, age)
    assert (swept.photos, swept.pictures) == (1, 1)
    assert await _photo_rows(engine, _pk(recently_sold)) == []
    async with engine.connect() as conn:
        assert await conn.scalar(picture_rows, {"h": still_shown["content_hash"]}) == 0
    assert [await photo_store.head(key) for key in keys] == [None] * len(keys)
    assert await sweep_photos(engine, photo_store, age) == type(swept)(0, 0, 0)
