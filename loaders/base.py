"""The DataLoader every loader here extends: it records each batch's size.

The batch sizes go to `autobroker_dataloader_batch_size{loader="<class name>"}`
(core/metrics.py): a loader whose batches stay at 1 is not batching.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader

from core.metrics import record_batch

K = TypeVar("K")
V = TypeVar("V")


class MeasuredLoader(DataLoader[K, V]):
    """A DataLoader whose subclasses' `batch_load_fn` report their batch sizes."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        load: Callable[[Any, Sequence[Any]], Awaitable[list[Any]]] | None = cls.__dict__.get(
            "batch_load_fn"
        )
        if load is None:
            return
        name = cls.__name__

        @functools.wraps(load)
        async def measured(self: Any, keys: Sequence[Any]) -> list[Any]:
            record_batch(name, len(keys))
            return await load(self, keys)

        cls.batch_load_fn = measured  # type: ignore[misc,assignment]
