"""Server-Sent Events on the wire: media type, framing, open streams, shutdown.

- `as_event_stream`: a complete GraphQL answer (JSON) framed as the graphql-sse protocol's
  `next` event followed by `complete`, on a 200 `text/event-stream` response.
- `EventStreamResponse`: a streamed answer (a subscription) registered with `OpenStreams`
  while it runs. Starlette cancels it as soon as the client disconnects; when the
  application stops, `OpenStreams.stop_all` ends every stream between two events, with
  the final chunk sent and no `complete` event, so that clients (graphql-sse retries a
  stream that ends without `complete`) reconnect, to this replica or another, and resume
  with `afterSequence`.
- `stop_streams_on_signals`: SIGTERM and SIGINT stop the streams at once. uvicorn waits
  for responses in flight before it runs the application's shutdown, and a stream never
  finishes by itself: without this, every open stream would hold a stopping server for
  GRACEFUL_SHUTDOWN_SECONDS and then be cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import FrameType
from typing import Any

import anyio
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from core.media_types import EVENT_STREAM

# What an event stream's response says besides its media type: never cached, never
# transformed (compressed) by an intermediary, never buffered by nginx.
EVENT_STREAM_HEADERS = {
    "cache-control": "no-cache, no-transform",
    "x-accel-buffering": "no",
}
# Headers of a complete answer that still mean something once it is framed as events.
_KEPT_HEADERS = ("retry-after", "x-response-cache", "idempotent-replayed")
CLEANUP_SECONDS = 5.0  # the most an ended stream waits for its operation to unwind
STOPPING_COMMENT = "server restarting; reconnect and resume with afterSequence"


def event(name: str, data: bytes = b"") -> bytes:
    """One SSE event. A `data` line per line of data (SSE joins them with newlines again);
    always one, even empty, as browsers drop events without data."""
    lines = data.splitlines() or [b""]
    data_lines = b"".join(b"data: " + line + b"\n" for line in lines)
    return b"event: " + name.encode() + b"\n" + data_lines + b"\n"


def comment(text: str) -> bytes:
    """An SSE comment line (clients ignore it; it keeps idle connections open)."""
    return b": " + text.encode() + b"\n\n"


def as_event_stream(response: Response) -> Response:
    """A complete GraphQL answer framed as `next` then `complete` (200, text/event-stream)."""
    body = bytes(response.body)
    headers = {
        name: value for name, value in response.headers.items() if name.lower() in _KEPT_HEADERS
    }
    return Response(
        event("next", body) + event("complete"),
        media_type=EVENT_STREAM,
        headers={**EVENT_STREAM_HEADERS, **headers},
    )


class OpenStreams:
    """The event streams a view is serving, to end them all when the application stops."""

    def __init__(self) -> None:
        self._stopping: set[asyncio.Event] = set()
        self._stopped = False
        self._none_open = asyncio.Event()
        self._none_open.set()

    def __len__(self) -> int:
        return len(self._stopping)

    @contextlib.contextmanager
    def holding(self) -> Iterator[asyncio.Event]:
        """Register one stream; the event is set when it must end."""
        stopping = asyncio.Event()
        if self._stopped:
            stopping.set()  # the application is stopping: end at once
        self._stopping.add(stopping)
        self._none_open.clear()
        try:
            yield stopping
        finally:
            self._stopping.discard(stopping)
            if not self._stopping:
                self._none_open.set()

    def stop_all(self) -> None:
        """End every open stream, and any that opens from now on."""
        self._stopped = True
        for stopping in self._stopping:
            stopping.set()

    async def close_all(self, *, wait_seconds: float = 5.0) -> None:
        """Stop every stream, then wait (a bounded time) until they have ended."""
        self.stop_all()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._none_open.wait(), wait_seconds)


async def _until_stopped(chunks: AsyncIterator[str], stopping: asyncio.Event) -> AsyncIterator[str]:
    """The chunks, until `stopping` is set; then a last comment and the end."""
    stopped = asyncio.ensure_future(stopping.wait())
    following: asyncio.Future[str] | None = None
    try:
        while True:
            following = asyncio.ensure_future(anext(chunks))
            await asyncio.wait({following, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not following.done():
                yield comment(STOPPING_COMMENT).decode()
                return
            try:
                chunk = following.result()
            except StopAsyncIteration:
                return
            following = None
            yield chunk
    finally:
        stopped.cancel()
        # Shielded (a disconnect cancels this task at every await) and bounded: cancelling
        # the pending step unwinds the operation inside the stream that owns its Redis
        # subscription and database connection; only then can the stream be closed.
        with anyio.move_on_after(CLEANUP_SECONDS, shield=True):
            if following is not None and not following.done():
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await following
            await _aclose(chunks)


async def _aclose(chunks: AsyncIterator[str]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()


class EventStreamResponse(StreamingResponse):
    """A streamed answer, held in `streams` while it runs; `after` callbacks run at its end."""

    def __init__(
        self,
        chunks: AsyncIterator[str],
        *,
        streams: OpenStreams,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(chunks, status_code=status_code, headers=headers)
        self._chunks = chunks
        self._streams = streams
        self._after: list[Callable[[], Awaitable[Any]]] = []

    def after(self, callback: Callable[[], Awaitable[Any]]) -> None:
        """Run `callback` once the stream has ended, whichever way."""
        self._after.append(callback)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with self._streams.holding() as stopping:
                self.body_iterator = _until_stopped(self._chunks, stopping)
                await super().__call__(scope, receive, send)
        finally:
            for callback in self._after:
                await callback()


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_streams_on_signals(streams: OpenStreams) -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT also stop every stream (then reach the
    handler that was there: uvicorn's). Outside the main thread signals cannot be handled
    here; the application's shutdown stops the streams then."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    previous: dict[int, Any] = {}

    def handle(signum: int, frame: FrameType | None) -> None:
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(streams.stop_all)
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        elif before == signal.SIG_DFL:  # what would have happened without this handler
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    try:
        for stop_signal in _STOP_SIGNALS:
            previous[stop_signal] = signal.signal(stop_signal, handle)
    except ValueError:  # not the main thread
        for number, handler in previous.items():
            signal.signal(number, handler)
        previous.clear()
    try:
        yield
    finally:
        for number, handler in previous.items():
            if signal.getsignal(number) is handle:
                signal.signal(number, handler)
