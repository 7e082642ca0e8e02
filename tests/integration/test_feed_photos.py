"""A feed's pictures: the `image_urls` column (and its aliases) fetched by the worker under
the feeds' address rules, into the embedded S3 store; a picture listed again, or the same
bytes under another URL, costs no second fetch or image."""

from __future__ import annotations

import http.server
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.job_queue import ArqJobQueue
from core.object_store import ObjectStore
from core.settings import Settings
from jobs.worker import create_worker
from services.feeds.pictures import image_urls
from services.feeds.runs import start_run
from tests.feeds_data import LOOPBACK, a_dealer, csv_text, feed_rows, feed_run_row, new_source
from tests.feeds_data import source_vehicles as vehicles_of
from tests.photos_data import NOT_A_PICTURE, jpeg_with_gps


class _Pictures(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hits[self.path] += 1  # type: ignore[attr-defined]
        body = self.server.files.get(self.path)  # type: ignore[attr-defined]
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def pictures() -> Iterator[tuple[str, Counter[str]]]:
    """A picture server on 127.0.0.1 that counts its requests per path."""
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pictures)
    same = jpeg_with_gps(800, 600, orientation=1)
    server.files = {"/a.jpg": same, "/copy-of-a.jpg": same,
                    "/b.jpg": jpeg_with_gps(900, 600, orientation=1), "/note.jpg": NOT_A_PICTURE}  # fmt: skip
    server.hits = Counter()
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.hits
    finally:
        server.shutdown()
        server.server_close()


async def _run_feed_and_jobs(
    engine: AsyncEngine, redis: Redis, settings: Settings, source: str, url: str, dealer: int
) -> Any:
    run = await start_run(
        engine, ArqJobQueue(redis), source=source, url=url, dealer_id=dealer,
        allowed_networks=LOOPBACK,
    )  # fmt: skip
    worker = create_worker(
        settings.model_copy(update={"feed_allowed_networks": LOOPBACK}),
        handle_signals=False,
        burst=True,
    )
    worker.cron_jobs = []
    try:
        await worker.main()  # the run, then the photo jobs it queued
    finally:
        await worker.close()
    return await feed_run_row(engine, run["id"])


async def _galleries(engine: AsyncEngine, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT vehicle_id, source_url, content_hash, alt FROM photo "
                "WHERE vehicle_id = ANY(:ids) ORDER BY vehicle_id, position"
            ),
            {"ids": ids},
        )
        found: dict[int, list[tuple[str, str]]] = {vehicle: [] for vehicle in ids}
        for row in rows:
            found[row.vehicle_id].append((row.source_url.rsplit("/", 1)[1], row.content_hash))
        return found


async def test_feed_pictures_are_fetched_once_and_stored_once(
    engine: AsyncEngine,
    redis: Redis,
    settings: Settings,
    photo_store: ObjectStore,
    pictures: tuple[str, Counter[str]],
    tmp_path: Path,
) -> None:
    base, hits = pictures
    rows = feed_rows(3)
    rows[0]["images"] = f"{base}/a.jpg | {base}/b.jpg"  # an alias of image_urls
    rows[1]["images"] = f"{base}/copy-of-a.jpg"  # the same bytes under another URL
    # a.jpg again; a host feeds may not reach; bytes that are no picture; a 404
    rows[2]["images"] = (f"{base}/a.jpg http://127.0.0.2:{base.rsplit(':', 1)[1]}/a.jpg "
                         f"{base}/note.jpg {base}/gone.jpg")  # fmt: skip
    feed = tmp_path / "stock.csv"
    columns = (*rows[0].keys(),)
    feed.write_text(csv_text(rows, columns))
    source, dealer = new_source("pictures"), await a_dealer(engine)
    async with engine.connect() as conn:
        images_before = (await conn.execute(sa.text("SELECT count(*) FROM photo_image"))).scalar()

    run = await _run_feed_and_jobs(engine, redis, settings, source, str(feed), dealer)
    assert (run["status"], run["created"]) == ("SUCCEEDED", 3)
    ids = {row["external_id"]: row["id"] for row in (await vehicles_of(engine, source)).values()}
    vehicles = [ids[row["external_id"]] for row in rows]
    galleries = await _galleries(engine, vehicles)
    a_hash = galleries[vehicles[0]][0][1]
    assert [name for name, _ in galleries[vehicles[0]]] == ["a.jpg", "b.jpg"]
    assert galleries[vehicles[1]] == [("copy-of-a.jpg", a_hash)]
    assert galleries[vehicles[2]] == [("a.jpg", a_hash)]
    # a.jpg was fetched once for two vehicles; its copy was fetched, and found known.
    assert hits == Counter({"/a.jpg": 1, "/b.jpg": 1, "/copy-of-a.jpg": 1, "/note.jpg": 1,
                            "/gone.jpg": 1})  # fmt: skip
    async with engine.connect() as conn:
        images_after = (await conn.execute(sa.text("SELECT count(*) FROM photo_image"))).scalar()
    assert images_after - images_before == 2  # a and b, each processed and stored once

    # The next day's feed lists the same pictures: none is fetched again (those refused
    # are tried again: a 404 may have been fixed since).
    again = await _run_feed_and_jobs(engine, redis, settings, source, str(feed), dealer)
    assert (again["status"], again["unchanged"]) == ("SUCCEEDED", 3)
    assert hits == Counter({"/a.jpg": 1, "/b.jpg": 1, "/copy-of-a.jpg": 1, "/note.jpg": 2,
                            "/gone.jpg": 2})  # fmt: skip
    assert await _galleries(engine, vehicles) == galleries


def test_a_feed_cell_lists_http_urls_in_order_once() -> None:
    assert image_urls("https://x.example/1.jpg, https://x.example/2.jpg|https://x.example/1.jpg") == (
        "https://x.example/1.jpg", "https://x.example/2.jpg",
    )  # fmt: skip
    assert image_urls(["https://x.example/a.png", 7, "ftp://x.example/b.png"]) == (
        "https://x.example/a.png",
    )
    assert image_urls("file:///etc/passwd javascript:alert(1) /relative.jpg") == ()
    assert image_urls(None) == ()
