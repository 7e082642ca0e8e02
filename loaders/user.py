"""Users by id."""

from __future__ import annotations

from collections.abc import Sequence

from core.db import OperationConnection
from loaders.base import MeasuredLoader
from services.accounts.sessions import UserRecord
from services.accounts.users import fetch_users_by_ids


class UserByIdLoader(MeasuredLoader[int, UserRecord | None]):
    """Users by primary key (None where there is none)."""

    def __init__(self, connection: OperationConnection) -> None:
        super().__init__()
        self._connection = connection

    async def batch_load_fn(self, keys: Sequence[int]) -> list[UserRecord | None]:
        users = await fetch_users_by_ids(await self._connection.get(), set(keys))
        return [users.get(key) for key in keys]
