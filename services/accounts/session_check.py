"""Is the sign-in behind an access token still alive? Checked on every request.

An access token names its sign-in (the refresh-token family, claim `sid`) and its user.
It is honoured only while that sign-in is alive (a refresh token of the family neither
revoked nor expired) and the account exists with the role and dealer the token names.
So logout, a revoked family (refresh-token reuse), a deleted account or a role change end
every access token of the sign-in at once, instead of within ACCESS_TOKEN_TTL_SECONDS,
and a token for an account that does not exist (deleted, or forged with a leaked secret)
is refused before it reaches a rule that would trip over the missing row.

A positive answer is cached in Redis for SESSION_CACHE_SECONDS under the family
(`session:<family id>`, holding the account's "user:role:dealer"); logout and revocation
drop that entry (`forget_session`), so they take effect at once. A deleted account or a
changed role is seen within SESSION_CACHE_SECONDS. Redis is an accelerator here: when it
fails, the check asks PostgreSQL.
"""

from __future__ import annotations

import contextlib
import logging
import uuid

import sqlalchemy as sa
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.tokens import AccessClaims
from core.redis_keys import SESSION_CACHE_PREFIX
from models.account import RefreshToken, User

log = logging.getLogger(__name__)
refresh_table: sa.Table = RefreshToken.__table__  # type: ignore[attr-defined]
user_table: sa.Table = User.__table__  # type: ignore[attr-defined]


def _cache_key(family_id: uuid.UUID) -> str:
    return f"{SESSION_CACHE_PREFIX}{family_id}"


def _account(claims: AccessClaims) -> str:
    return f"{claims.user_id}:{claims.role.value}:{claims.dealer_id or ''}"


async def session_is_alive(engine: AsyncEngine, claims: AccessClaims) -> bool:
    """Whether the token's sign-in is alive and its account as the token describes it."""
    rt, u = refresh_table.c, user_table.c
    statement = (
        sa.select(sa.literal(1))
        .select_from(refresh_table.join(user_table, u.id == rt.user_id))
        .where(
            rt.family_id == claims.session_id,
            rt.user_id == claims.user_id,
            rt.revoked_at.is_(None),
            rt.expires_at > sa.func.now(),
            u.role == claims.role.value,
            u.dealer_id.is_not_distinct_from(claims.dealer_id),
        )
        .limit(1)
    )
    async with engine.connect() as conn:
        return await conn.scalar(statement) is not None


class SessionCheck:
    """`alive(claims)`: the check above, its positive answers cached in Redis."""

    def __init__(self, engine: AsyncEngine, redis: Redis, *, cache_seconds: int) -> None:
        self._engine = engine
        self._redis = redis
        self._cache_seconds = cache_seconds

    async def _cached(self, claims: AccessClaims) -> bool:
        try:
            found = await self._redis.get(_cache_key(claims.session_id))
        except (RedisError, OSError) as error:
            log.warning(
                "session cache unavailable; asking the database", extra={"error": repr(error)}
            )
            return False
        text = found.decode() if isinstance(found, bytes) else found
        return text == _account(claims)

    async def alive(self, claims: AccessClaims) -> bool:
        """Whether the access token with these claims is still to be honoured."""
        if self._cache_seconds and await self._cached(claims):
            return True
        if not await session_is_alive(self._engine, claims):
            return False
        if self._cache_seconds:
            # Not cached: the next request asks the database again.
            with contextlib.suppress(RedisError, OSError):
                await self._redis.set(
                    _cache_key(claims.session_id), _account(claims), ex=self._cache_seconds
                )
        return True


async def forget_session(redis: Redis | None, family_id: uuid.UUID) -> None:
    """Drop a sign-in's cached answer, so that its revocation counts at once."""
    if redis is None:
        return
    try:
        await redis.delete(_cache_key(family_id))
    except (RedisError, OSError) as error:
        # The entry lapses within SESSION_CACHE_SECONDS anyway.
        log.warning("session cache entry not dropped", extra={"error": repr(error)})
