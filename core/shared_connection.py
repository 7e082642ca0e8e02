"""One pooled connection shared by the concurrent resolvers and loaders of an operation.

asyncpg runs one statement at a time on a connection. The resolvers of one GraphQL
operation run concurrently, and when one of them fails the operation may end while a
sibling still has a statement in flight; closing the connection then fails ("another
operation is in progress") and the pool gets it back idle in transaction. So here:

- every statement takes its turn (an asyncio lock held for the statement);
- `close()` first refuses any statement not yet started, then waits for the one in
  flight, and only then returns the connection to the pool (which rolls it back);
- a connection whose state is unknown (a statement cancelled or broken mid-flight, or
  one still running when the wait ends) is invalidated: the pool discards it and opens a
  fresh one later, instead of handing it to the next request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("autobroker.db")

# How long close() waits for a statement in flight before discarding the connection.
SETTLE_SECONDS = 10.0


class ConnectionReleased(RuntimeError):
    """A statement arrived after its operation gave the connection back."""

    def __init__(self) -> None:
        super().__init__("the operation's database connection has been released")


def _leaves_connection_sound(error: BaseException) -> bool:
    """Did the statement fail on the server, leaving the protocol in a known state?

    A server-side error (bad data, a constraint) only aborts the transaction, which the
    pool's rollback resets; anything else (cancellation, a broken or busy connection, an
    error inside the driver) may have left the connection mid-statement.
    """
    return (
        isinstance(error, sa_exc.DBAPIError)
        and not isinstance(error, sa_exc.InterfaceError)
        and not error.connection_invalidated
    )


class SharedConnection(AsyncConnection):
    """An AsyncConnection whose statements take turns and whose close is always safe."""

    def __init__(self, engine: AsyncEngine, *, settle_seconds: float = SETTLE_SECONDS) -> None:
        super().__init__(engine)
        self._turn = asyncio.Lock()
        self._settle_seconds = settle_seconds
        self._released = False
        self._in_doubt = False

    @asynccontextmanager
    async def _statement(self) -> AsyncIterator[None]:
        async with self._turn:
            if self._released:
                raise ConnectionReleased
            try:
                yield
            except BaseException as error:
                if not _leaves_connection_sound(error):
                    self._in_doubt = True
                raise

    # scalar(), scalars() and stream_scalars() go through execute() and stream().
    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        async with self._statement():
            return await super().execute(*args, **kwargs)

    async def exec_driver_sql(self, *args: Any, **kwargs: Any) -> Any:
        async with self._statement():
            return await super().exec_driver_sql(*args, **kwargs)

    async def run_sync(self, *args: Any, **kwargs: Any) -> Any:
        async with self._statement():
            return await super().run_sync(*args, **kwargs)

    @asynccontextmanager  # SQLAlchemy's own is typed as its private context class
    async def stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        async with self._statement(), super().stream(*args, **kwargs) as result:
            yield result  # the turn lasts as long as the cursor is open

    async def close(self) -> None:
        """Refuse new statements, wait for the one in flight, then give the connection
        back to the pool, or discard it when its state is unknown."""
        self._released = True
        try:
            await asyncio.wait_for(self._turn.acquire(), self._settle_seconds)
        except TimeoutError:
            self._in_doubt = True  # still running: terminating it ends the statement
            await self._discard()
            return
        try:
            if self._in_doubt or self.invalidated:
                await self._discard()
            else:
                try:
                    await super().close()
                except Exception as error:  # noqa: BLE001 - a failed rollback: the pool must not keep it
                    # Expected when the server went away: one line, no traceback.
                    log.warning("returning a connection failed (%r); discarding it", error)
                    await self._discard()
        finally:
            self._turn.release()

    async def _discard(self) -> None:
        if self.closed:  # a failed close already let go of it: nothing left to discard
            return
        try:
            await self.invalidate()
            await super().close()
        except Exception as error:  # noqa: BLE001 - whatever it was, the connection is gone
            log.warning("discarding a connection failed: %r", error)
