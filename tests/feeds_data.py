"""Dealer feeds for tests: generated rows, CSV and JSON-lines text, a local HTTP server,
and the vehicles a source has; shared by the integration and API tests."""

from __future__ import annotations

import contextlib
import functools
import http.server
import ipaddress
import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.vehicles.vin import SERIAL_CAPACITY, make_vin

# The tests' feed servers listen on 127.0.0.1, which feeds may only reach when allowed.
LOOPBACK = [ipaddress.ip_network("127.0.0.1/32")]
LOOPBACK_SETTING = '["127.0.0.1/32"]'  # FEED_ALLOWED_NETWORKS for a worker process

COLUMNS = ("external_id", "vin", "make", "model", "year", "mileage_km", "fuel", "transmission",
           "body_type", "colour", "power_kw", "location_country", "location_city", "price")  # fmt: skip
_MODELS = (("Skoda", "Octavia", "Estate"), ("Renault", "Clio", "Hatchback"),
           ("Toyota", "Corolla", "Sedan"), ("Kia", "Sportage", "SUV"))  # fmt: skip
_FUELS = ("Diesel", "Benzin", "Hybrid", "EV")
_CITIES = (("DE", "Berlin"), ("FR", "Lyon"), ("IT", "Torino"), ("AT", "Graz"), ("PL", "Gdańsk"))


def new_source(label: str = "feed") -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


def feed_rows(count: int, *, seed: int | None = None) -> list[dict[str, Any]]:
    """`count` valid rows with fresh VINs (distinct from any other call's, in practice)."""
    rng = random.Random(seed)
    first_serial = rng.randrange(SERIAL_CAPACITY - count)
    prefix = uuid.uuid4().hex[:6].upper()
    rows = []
    for index in range(count):
        make, model, body = _MODELS[index % len(_MODELS)]
        country, city = _CITIES[index % len(_CITIES)]
        year = 2014 + index % 10
        rows.append({
            "external_id": f"{prefix}-{index:07d}", "vin": make_vin(rng, "YS3", year, serial=first_serial + index),
            "make": make, "model": model, "year": str(year), "mileage_km": str(5_000 + index % 190_000),
            "fuel": _FUELS[index % len(_FUELS)], "transmission": "manual" if index % 3 else "automatic",
            "body_type": body, "colour": "Grey", "power_kw": str(60 + index % 150),
            "location_country": country, "location_city": city,
            "price": f"{8_000 + (index * 37) % 40_000}.{index % 100:02d}",
        })  # fmt: skip
    return rows


def csv_text(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    lines = [",".join(columns)]
    lines += [",".join(str(row.get(column, "")) for column in columns) for row in rows]
    return "\n".join(lines) + "\n"


def jsonl_text(rows: list[dict[str, Any]]) -> str:
    return "".join(orjson.dumps(row).decode() + "\n" for row in rows)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {".csv": "text/csv", ".jsonl": "application/x-ndjson", "": "text/plain"}

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving `directory`; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _TrickleHandler(http.server.BaseHTTPRequestHandler):
    """Serves `server.body` in `server.chunk`-byte pieces, `server.pause` seconds apart."""

    def do_GET(self) -> None:
        server: Any = self.server
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(server.body)))
        self.end_headers()
        for start in range(0, len(server.body), server.chunk):
            self.wfile.write(server.body[start : start + server.chunk])
            self.wfile.flush()
            time.sleep(server.pause)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Trickle:
    """A feed served slowly: `pause` seconds between `chunk`-byte pieces (0: at once)."""

    url: str
    server: Any

    @property
    def pause(self) -> float:
        return float(self.server.pause)

    @pause.setter
    def pause(self, seconds: float) -> None:
        self.server.pause = seconds


@contextlib.contextmanager
def serve_slowly(body: bytes, *, chunk: int = 64 * 1024, pause: float = 0.1) -> Iterator[Trickle]:
    """An HTTP server on 127.0.0.1 that trickles `body` out, so that a run reading it takes
    a known time whatever the machine's speed."""
    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TrickleHandler)
    server.body, server.chunk, server.pause = body, chunk, pause
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Trickle(f"http://127.0.0.1:{server.server_address[1]}/feed.csv", server)
    finally:
        server.shutdown()
        server.server_close()


async def source_vehicles(engine: AsyncEngine, source: str) -> dict[str, Any]:
    """The source's vehicles by external id."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text("SELECT * FROM vehicle WHERE source = :source"), {"source": source}
        )
        return {row["external_id"]: row for row in rows.mappings()}


async def feed_run_row(engine: AsyncEngine, run_id: int) -> Any:
    async with engine.connect() as conn:
        result = await conn.execute(
            sa.text("SELECT * FROM feed_run WHERE id = :id"), {"id": run_id}
        )
        return result.mappings().one()


async def rejections(engine: AsyncEngine, run_id: int) -> list[tuple[int, str | None, list[str]]]:
    """(line, external id, reason codes) of the run's rejected rows, in line order."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT line, external_id, reasons FROM feed_rejection WHERE run_id = :id ORDER BY line"
            ),
            {"id": run_id},
        )
        return [
            (line, external_id, [r["code"] for r in reasons]) for line, external_id, reasons in rows
        ]


async def a_dealer(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.text("SELECT min(id) FROM dealer")))


async def feed_row_count(engine: AsyncEngine, source: str) -> int:
    """How many vehicles the source has."""
    async with engine.connect() as conn:
        statement = sa.text("SELECT count(*) FROM vehicle WHERE source = :source")
        return int(await conn.scalar(statement, {"source": source}))
