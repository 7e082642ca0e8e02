"""Server-Sent Events tests' tools: a raw event-stream reader over a real socket, the
graphql-sse npm client run from Node, and an API served by uvicorn in this process (so
that a test can look at its subscriptions, streams and pool). Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route

from core.graphql_view import GraphQLView
from tests.node_packages import TESTS_DIR, require_node

WAIT_SECONDS = 15.0
SSE_CLIENT_DIR = TESTS_DIR / "graphql_sse"
EVENT_STREAM = {"accept": "text/event-stream"}


@dataclass(frozen=True)
class Event:
    """One SSE event (`name` is None for a comment, whose text is then `data`)."""

    name: str | None
    data: Any


class EventReader:
    """The events of one streamed response, in order."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def _read(self) -> Event | None:
        name: str | None = None
        data: list[str] = []
        async for line in self._lines:
            if line == "":
                if name is not None or data:
                    text = "\n".join(data)
                    return Event(name, json.loads(text) if text else None)
                continue
            if line.startswith(":"):
                if name is None and not data:
                    return Event(None, line[1:].strip())
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        return None  # the response ended

    async def next(self, *, comments: bool = False, timeout: float = WAIT_SECONDS) -> Event | None:
        """The next event (comments skipped unless asked for); None when the stream ended."""
        async with asyncio.timeout(timeout):
            while True:
                found = await self._read()
                if found is None or comments or found.name is not None:
                    return found


@asynccontextmanager
async def event_stream(
    base_url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> AsyncIterator[EventReader]:
    """POST `body` asking for an event stream; the reader of its events."""
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=WAIT_SECONDS) as client,
        client.stream(
            "POST", "/graphql", json=body, headers={**EVENT_STREAM, **(headers or {})}
        ) as response,
    ):
        yield EventReader(response)


async def framed(base_url: str, body: Any, headers: dict[str, str] | None = None) -> list[Event]:
    """Every event of a complete (not streamed) answer."""
    async with httpx.AsyncClient(base_url=base_url, timeout=WAIT_SECONDS) as client:
        response = await client.post(
            "/graphql", json=body, headers={**EVENT_STREAM, **(headers or {})}
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    reader = EventReader(response)
    events = []
    while (found := await reader.next()) is not None:
        events.append(found)
    return events


def view_of(app: Starlette) -> GraphQLView:
    """The GraphQL view an application serves."""
    for route in app.routes:
        if isinstance(route, Route) and route.path == "/graphql":
            view = route.app
            assert isinstance(view, GraphQLView)
            return view
    raise AssertionError("no /graphql route")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    """`app` (its lifespan running) behind uvicorn on a free port, in this event loop."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(WAIT_SECONDS):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, WAIT_SECONDS)


class SSEClient:
    """One operation run by the graphql-sse npm client (tests/graphql_sse/subscribe.mjs)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            assert self.process.stderr is not None
            raise AssertionError(f"the client ended: {(await self.process.stderr.read())!r}")
        line: dict[str, Any] = json.loads(raw)
        return line

    async def results(self, count: int) -> list[dict[str, Any]]:
        """The next `count` results, each a `next` line (a `connected` line is passed)."""
        found = []
        while len(found) < count:
            line = await self.line()
            if line == {"connected": True}:
                continue
            assert set(line) == {"next"}, line
            found.append(line["next"])
        return found


@asynccontextmanager
async def sse_client(
    base_url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    dispose_after: int | None = None,
    extensions: dict[str, Any] | None = None,
) -> AsyncIterator[SSEClient]:
    """The graphql-sse client running `query`; the process is ended on the way out."""
    node = require_node(SSE_CLIENT_DIR, "graphql-sse")
    process = await asyncio.create_subprocess_exec(
        node, str(SSE_CLIENT_DIR / "subscribe.mjs"), f"{base_url}/graphql",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    request: dict[str, Any] = {"query": query, "variables": variables or {}}
    if extensions is not None:
        request["extensions"] = extensions
    request.update(headers=headers or {}, disposeAfter=dispose_after)
    assert process.stdin is not None
    process.stdin.write(json.dumps(request).encode())
    process.stdin.close()
    try:
        yield SSEClient(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
