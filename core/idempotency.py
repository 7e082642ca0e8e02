"""Idempotency-Key for mutations: a retry gets the first answer, and changes nothing.

A POST carrying `Idempotency-Key` and a mutation is recorded in PostgreSQL under the
caller's identity and the key, with the fingerprint of its operation and variables,
before it runs. Then:
- the same key and the same request again: the stored response, replayed as it was
  (header `Idempotent-Replayed: true`), and nothing runs a second time;
- the same key with a different request: CONFLICT;
- the same key while the first is still running: CONFLICT (retry later);
- a first attempt that ended in a server error leaves no record, so a retry runs;
- an answer that holds credentials (`login`, `register`, `refreshToken`: access and
  refresh tokens) is never stored: the record is dropped once it is sent, so a retry runs
  again (and a replayed key can never hand the tokens to whoever holds it).
Records are kept `IDEMPOTENCY_RETENTION_SECONDS` (24 hours by default): an older one is
forgotten (the key may be used afresh), and the hourly `sweep_idempotency_records` job
deletes them all (`sweep_expired`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from models.order import IdempotencyRecord

DEFAULT_RETENTION = timedelta(hours=24)
SWEEP_BATCH = 5000
MAX_KEY_LENGTH = 200
records: sa.Table = IdempotencyRecord.__table__  # type: ignore[attr-defined]


class IdempotencyConflict(Exception):
    """The key was used for another request, or its first request is still running."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: bytes


def valid_key(key: str) -> bool:
    """Printable ASCII, 1 to 200 characters (a UUID is the usual choice)."""
    return 0 < len(key) <= MAX_KEY_LENGTH and all(33 <= ord(ch) <= 126 for ch in key)


def fingerprint(payload: dict[str, object]) -> str:
    """The request as the key binds it: document, operation name and variables."""
    canonical = {
        name: payload.get(name) for name in ("query", "operationName", "variables", "extensions")
    }
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


class IdempotencyStore:
    def __init__(self, engine: AsyncEngine, *, retention: timedelta = DEFAULT_RETENTION) -> None:
        self._engine = engine
        self._retention = retention

    async def begin(self, identity: str, key: str, print_: str) -> StoredResponse | None:
        """Claim the key for this request (None), or the response to replay; raises
        `IdempotencyConflict` for another request under the key, or one still running."""
        c = records.c
        async with self._engine.begin() as conn:
            await conn.execute(
                records.delete().where(
                    c.identity == identity,
                    c.key == key,
                    c.created_at < sa.func.now() - self._retention,
                )
            )
            claimed = await conn.scalar(
                insert(records)
                .values(identity=identity, key=key, fingerprint=print_)
                .on_conflict_do_nothing()
                .returning(c.key)
            )
            if claimed is not None:
                return None
            row = (
                await conn.execute(
                    sa.select(c.fingerprint, c.status_code, c.response).where(
                        c.identity == identity, c.key == key
                    )
                )
            ).one()
        if row.fingerprint != print_:
            raise IdempotencyConflict("this Idempotency-Key was used for a different request")
        if row.status_code is None:
            raise IdempotencyConflict(
                "the first request with this Idempotency-Key is still running"
            )
        return StoredResponse(row.status_code, row.response)

    async def finish(self, identity: str, key: str, response: StoredResponse) -> None:
        """Keep the response for replays."""
        c = records.c
        async with self._engine.begin() as conn:
            await conn.execute(
                records.update()
                .where(c.identity == identity, c.key == key)
                .values(status_code=response.status_code, response=response.body)
            )

    async def release(self, identity: str, key: str) -> None:
        """Forget a claim whose request failed on our side, so that a retry may run."""
        c = records.c
        async with self._engine.begin() as conn:
            await conn.execute(records.delete().where(c.identity == identity, c.key == key))


async def sweep_expired(engine: AsyncEngine, retention: timedelta) -> int:
    """Delete every record older than `retention`, in batches; how many went."""
    c = records.c
    swept = 0
    while True:
        batch = (
            sa.select(c.identity, c.key)
            .where(c.created_at < sa.func.now() - retention)
            .limit(SWEEP_BATCH)
            .with_for_update(skip_locked=True)
        )
        async with engine.begin() as conn:
            result = await conn.execute(
                records.delete().where(sa.tuple_(c.identity, c.key).in_(batch))
            )
        swept += result.rowcount
        if result.rowcount < SWEEP_BATCH:
            return swept
