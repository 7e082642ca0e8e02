"""Payments by id and by order, refunds by id and by payment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.db import OperationConnection
from loaders.base import MeasuredLoader
from services.payments.queries import (
    fetch_payments_by_ids,
    fetch_payments_by_order_ids,
    fetch_refunds_by_ids,
    fetch_refunds_by_payment_ids,
)


class PaymentByIdLoader(MeasuredLoader[int, Any]):
    """Payment rows by primary key (None where there is none)."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[Any]:
        rows = await fetch_payments_by_ids(await self._connection.get(), set(keys))
        return [rows.get(key) for key in keys]


class PaymentsByOrderIdLoader(MeasuredLoader[int, list[Any]]):
    """Each order's payments, attempt by attempt."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[Any]]:
        grouped = await fetch_payments_by_order_ids(await self._connection.get(), set(keys))
        return [grouped.get(key, []) for key in keys]


class RefundByIdLoader(MeasuredLoader[int, Any]):
    """Refund rows by primary key (None where there is none)."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[Any]:
        rows = await fetch_refunds_by_ids(await self._connection.get(), set(keys))
        return [rows.get(key) for key in keys]


class RefundsByPaymentIdLoader(MeasuredLoader[int, list[Any]]):
    """Each payment's refunds, attempt by attempt."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[list[Any]]:
        grouped = await fetch_refunds_by_payment_ids(await self._connection.get(), set(keys))
        return [grouped.get(key, []) for key in keys]
