"""Where a feed comes from: a file path (or file:// URL) or an http(s) URL, streamed.

`check_location` vets a location before a run is recorded (bad scheme, missing file, a
path outside the allowed directory); `open_feed` streams its bytes in chunks, never the
whole feed in memory, with its format when the name or the Content-Type tells it.
Files are read by the process that runs the job: in production, use http(s) URLs or a
directory every worker mounts. URLs must lead to public internet addresses, redirects
included (services/feeds/addresses.py).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpcore
import httpx

from models.feed import FeedFormat
from services.errors import FieldProblem
from services.feeds.addresses import GuardedBackend, IPNetwork, check_host
from services.feeds.errors import (
    FeedUnavailableError,
    FeedUnreadableError,
    StartRefusedError,
)

CHUNK_BYTES = 1 << 20
MAX_URL_LENGTH = 2000  # the feed_run.url column
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*://")
_EXTENSIONS = {".csv": FeedFormat.CSV, ".jsonl": FeedFormat.JSONL, ".ndjson": FeedFormat.JSONL,
               ".jsonlines": FeedFormat.JSONL}  # fmt: skip
_MEDIA_TYPES = {"text/csv": FeedFormat.CSV, "application/csv": FeedFormat.CSV,
                "application/x-ndjson": FeedFormat.JSONL, "application/jsonl": FeedFormat.JSONL,
                "application/jsonlines": FeedFormat.JSONL,
                "application/x-jsonlines": FeedFormat.JSONL}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Location:
    """A feed's location: an http(s) URL, or a local file."""

    url: str
    path: Path | None

    @property
    def is_http(self) -> bool:
        """Whether the feed is fetched over http(s)."""
        return self.path is None


@dataclass(frozen=True, slots=True)
class OpenFeed:
    """A feed being read: its bytes in chunks, its size and format when known."""

    chunks: AsyncIterator[bytes]
    size: int | None
    format: FeedFormat | None


def parse_location(url: str) -> Location:
    """The location `url` names; `StartRefusedError` for a scheme other than http(s)/file."""
    text = url.strip()
    if not text:
        raise StartRefusedError(FieldProblem("url", "REQUIRED", "A file path or an http(s) URL."))
    if len(text) > MAX_URL_LENGTH:
        message = f"At most {MAX_URL_LENGTH} characters."
        raise StartRefusedError(FieldProblem("url", "URL_INVALID", message))
    if not _SCHEME.match(text):
        return Location(text, Path(text).expanduser())
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        if not parts.hostname:
            raise StartRefusedError(FieldProblem("url", "URL_INVALID", f"No host in {text!r}."))
        return Location(text, None)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return Location(text, Path(unquote(parts.path)))
    raise StartRefusedError(
        FieldProblem("url", "URL_SCHEME_UNSUPPORTED", f"{parts.scheme}: use http(s) or a file.")
    )


def check_location(url: str, *, allowed_directory: Path | None) -> Location:
    """`url` vetted for a new run: files must exist (inside `allowed_directory` if given)."""
    location = parse_location(url)
    if location.path is None:
        return location
    path = location.path.resolve()
    if allowed_directory is not None and not path.is_relative_to(allowed_directory.resolve()):
        raise StartRefusedError(
            FieldProblem("url", "FEED_PATH_NOT_ALLOWED",
                         f"Feed files must be in {allowed_directory}.")
        )  # fmt: skip
    if not path.is_file():
        raise StartRefusedError(FieldProblem("url", "FEED_NOT_FOUND", f"No file at {url!r}."))
    return Location(location.url, path)


async def check_url_host(location: Location, allowed_networks: Sequence[IPNetwork]) -> None:
    """An http(s) location's host vetted for a new run (public addresses only)."""
    if location.is_http:
        parts = urlsplit(location.url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise StartRefusedError(
                FieldProblem("url", "URL_INVALID", "The port is not valid.")
            ) from None
        await check_host(parts.hostname or "", port, allowed_networks)


def guarded_transport(allowed_networks: Sequence[IPNetwork]) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection (redirects too) goes to an allowed address.

    httpx takes no network backend, so the transport's connection pool is replaced by one
    on `GuardedBackend`, with httpx's own defaults; no proxy from the environment applies
    (a proxy would connect on our behalf, past the check)."""
    transport = httpx.AsyncHTTPTransport()
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=10,
        max_keepalive_connections=2,
        network_backend=GuardedBackend(allowed_networks),
    )
    return transport


def format_of_name(name: str) -> FeedFormat | None:
    """The format a file name or URL path implies by its extension."""
    return _EXTENSIONS.get(Path(urlsplit(name).path if "://" in name else name).suffix.lower())


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            yield chunk


async def _http_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes(CHUNK_BYTES):
            yield chunk
    except httpx.HTTPError as error:
        raise FeedUnavailableError(f"reading {response.url} failed: {error}") from None


@asynccontextmanager
async def _open_http(url: str, allowed_networks: Sequence[IPNetwork]) -> AsyncIterator[OpenFeed]:
    async with httpx.AsyncClient(
        transport=guarded_transport(allowed_networks), timeout=HTTP_TIMEOUT, follow_redirects=True
    ) as client:
        try:
            async with client.stream("GET", url) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    raise FeedUnavailableError(f"HTTP {status} from {url}")
                if status != 200:
                    raise FeedUnreadableError(f"HTTP {status} from {url}")
                media = response.headers.get("content-type", "").split(";")[0].strip().lower()
                length = response.headers.get("content-length")
                yield OpenFeed(
                    _http_chunks(response),
                    int(length) if length and length.isdigit() else None,
                    _MEDIA_TYPES.get(media) or format_of_name(str(response.url)),
                )
        except httpx.HTTPError as error:
            raise FeedUnavailableError(f"fetching {url} failed: {error}") from None


@asynccontextmanager
async def open_feed(
    url: str, *, allowed_networks: Sequence[IPNetwork] = ()
) -> AsyncIterator[OpenFeed]:
    """Stream the feed at `url`; FeedUnreadableError if it cannot be (or its host is not a
    public address outside `allowed_networks`), FeedUnavailableError if it cannot be right
    now (worth retrying)."""
    location = parse_location(url)
    if location.path is None:
        async with _open_http(location.url, allowed_networks) as feed:
            yield feed
        return
    path = location.path
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise FeedUnreadableError(f"{url} is not a file")
        with path.open("rb"):
            pass  # readable: report it now rather than at the first chunk
    except OSError as error:
        raise FeedUnreadableError(f"cannot read {url}: {error.strerror or error}") from None
    yield OpenFeed(_file_chunks(path), size, format_of_name(str(path)))
