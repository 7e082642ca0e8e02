"""Feed runs by id, and each run's rejected rows (a page, and their number)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from core.db import OperationConnection
from loaders.base import MeasuredLoader
from services.feeds.queries import count_rejections, fetch_rejections, fetch_runs_by_ids


class FeedRunByIdLoader(MeasuredLoader[int, Any]):
    """Feed run rows by primary key (None where there is none)."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[Any]:
        rows = await fetch_runs_by_ids(await self._connection.get(), set(keys))
        return [rows.get(key) for key in keys]


class RejectionsByRunIdLoader(MeasuredLoader[tuple[int, int | None, int], list[Any]]):
    """A page of each run's rejected rows: (run id, after line, page size) -> up to size + 1
    rows; one statement per distinct (after line, page size)."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[tuple[int, int | None, int]]) -> list[list[Any]]:
        groups: dict[tuple[int | None, int], set[int]] = defaultdict(set)
        for run_id, after_line, limit in keys:
            groups[(after_line, limit)].add(run_id)
        conn = await self._connection.get()
        pages = {
            page: await fetch_rejections(conn, run_ids, after_line=page[0], limit=page[1])
            for page, run_ids in groups.items()
        }
        return [pages[(after, limit)].get(run_id, []) for run_id, after, limit in keys]


class RejectionCountByRunIdLoader(MeasuredLoader[int, int]):
    """How many rejected rows each run stored."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[int]:
        counts = await count_rejections(await self._connection.get(), set(keys))
        return [counts[key] for key in keys]
