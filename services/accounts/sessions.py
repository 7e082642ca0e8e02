"""Sessions: an access token plus a refresh token, rotated on every use.

Each sign-in starts a refresh-token family. `refresh_session` spends the presented token
(marks it used) and hands out its successor in the same family, in one transaction that
locks the token's row, so two concurrent refreshes with one token cannot both succeed.
A token presented a second time means it leaked (or a client replayed it): the whole
family is revoked, the thief's and the owner's tokens alike, and both must sign in again
(OAuth 2.0 Security BCP, refresh token rotation). `end_session` (logout) revokes the
family too. An access token names its family (`sid`) and is honoured only while the
family is alive (services/accounts/session_check.py): revoking it ends the access tokens
of the sign-in at once, and the session cache entry is dropped here when it happens.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.tokens import AccessClaims, TokenCodec, new_refresh_token, refresh_token_hash
from core.settings import DEV_PERSONAL_DATA_KEY, Settings
from models.account import RefreshToken, User, UserRole
from services.accounts.errors import InvalidRefreshTokenError
from services.accounts.session_check import forget_session
from services.accounts.throttle import ThrottleLimits
from services.audit.log import ANONYMOUS, NO_CLIENT, AuditActor, ClientInfo, record

refresh_table: sa.Table = RefreshToken.__table__  # type: ignore[attr-defined]
user_table: sa.Table = User.__table__  # type: ignore[attr-defined]

MAX_REFRESH_TOKEN_LENGTH = 200


_DEV_KEY = SecretStr(DEV_PERSONAL_DATA_KEY)


@dataclass(frozen=True, slots=True)
class AccountPolicy:
    """How sessions are made and sign-ins throttled (from the settings)."""

    codec: TokenCodec
    refresh_ttl: timedelta
    throttle: ThrottleLimits
    # Keys a failed sign-in's unknown e-mail in the audit log (services/crypto.py).
    personal_data_key: SecretStr = _DEV_KEY

    @classmethod
    def from_settings(cls, settings: Settings) -> AccountPolicy:
        """The policy configured by the JWT, token TTL and login throttle settings."""
        return cls(
            codec=TokenCodec.from_settings(settings),
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
            throttle=ThrottleLimits(
                per_account=settings.login_attempts_per_account,
                per_client=settings.login_attempts_per_client,
                window_seconds=settings.login_throttle_window_seconds,
            ),
            personal_data_key=settings.personal_data_key,
        )


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    email: str
    role: UserRole
    dealer_id: int | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> UserRecord:
        """A user from a row with the app_user columns."""
        return cls(
            id=row["id"],
            email=row["email"],
            role=UserRole(row["role"]),
            dealer_id=row["dealer_id"],
            created_at=row["created_at"],
        )


@dataclass(frozen=True, slots=True)
class Session:
    user: UserRecord
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    family_id: uuid.UUID | None = None


async def start_session(
    conn: AsyncConnection,
    policy: AccountPolicy,
    user: UserRecord,
    *,
    family_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Session:
    """Store a new refresh token (in a new family unless given) and sign an access token."""
    issued = now or datetime.now(UTC)
    refresh_token = new_refresh_token()
    refresh_expires_at = issued + policy.refresh_ttl
    family_id = family_id or uuid.uuid4()
    await conn.execute(
        refresh_table.insert().values(
            user_id=user.id,
            family_id=family_id,
            token_hash=refresh_token_hash(refresh_token),
            created_at=issued,
            expires_at=refresh_expires_at,
        )
    )
    claims = AccessClaims(
        user_id=user.id, role=user.role, dealer_id=user.dealer_id, session_id=family_id
    )
    return Session(
        user=user,
        access_token=policy.codec.issue(claims, now=issued),
        access_expires_at=issued + policy.codec.access_ttl,
        refresh_token=refresh_token,
        refresh_expires_at=refresh_expires_at,
        family_id=family_id,
    )


async def sign_in_user(engine: AsyncEngine, policy: AccountPolicy, user_id: int) -> Session:
    """A new sign-in for an existing user, without a password (tools and benchmarks)."""
    async with engine.begin() as conn:
        row = (
            (await conn.execute(sa.select(user_table).where(user_table.c.id == user_id)))
            .mappings()
            .one()
        )
        return await start_session(conn, policy, UserRecord.from_row(row))


class _Outcome(enum.Enum):
    ROTATED = "rotated"
    UNKNOWN = "the refresh token is invalid"
    EXPIRED = "the refresh token has expired; sign in again"
    REVOKED = "the refresh token was revoked; sign in again"
    REUSED = (
        "the refresh token was already used, so every token of this sign-in is now "
        "revoked; sign in again"
    )


async def _locked_token(conn: AsyncConnection, token: str) -> Any:
    if not token or len(token) > MAX_REFRESH_TOKEN_LENGTH:
        return None
    rt = refresh_table.c
    account = [column.label(f"account_{column.name}") for column in user_table.c]
    statement = (
        sa.select(refresh_table, *account)
        .join(user_table, user_table.c.id == rt.user_id)
        .where(rt.token_hash == refresh_token_hash(token))
        .with_for_update(of=refresh_table)
    )
    return (await conn.execute(statement)).mappings().first()


async def _revoke_family(conn: AsyncConnection, family_id: uuid.UUID, now: datetime) -> int:
    result = await conn.execute(
        refresh_table.update()
        .where(refresh_table.c.family_id == family_id, refresh_table.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)


async def refresh_session(
    engine: AsyncEngine,
    policy: AccountPolicy,
    token: str,
    *,
    redis: Redis | None = None,
    client: ClientInfo = NO_CLIENT,
) -> Session:
    """Spend a refresh token for a new session; a reused one revokes its whole family
    (and drops its session cache entry in `redis`)."""
    now = datetime.now(UTC)
    session: Session | None = None
    async with engine.begin() as conn:
        row = await _locked_token(conn, token)
        if row is None:
            outcome = _Outcome.UNKNOWN
        elif row["revoked_at"] is not None:
            outcome = _Outcome.REVOKED
        elif row["used_at"] is not None:
            outcome = _Outcome.REUSED
            revoked = await _revoke_family(conn, row["family_id"], now)
            await record(
                conn, "auth.refresh_token_reused", actor=ANONYMOUS, client=client,
                subject=("User", row["user_id"]), subject_user_id=row["user_id"],
                details={"session": str(row["family_id"]), "tokens_revoked": revoked},
            )  # fmt: skip
        elif row["expires_at"] <= now:
            outcome = _Outcome.EXPIRED
        else:
            outcome = _Outcome.ROTATED
            await conn.execute(
                refresh_table.update().where(refresh_table.c.id == row["id"]).values(used_at=now)
            )
            user = UserRecord.from_row({c.name: row[f"account_{c.name}"] for c in user_table.c})
            session = await start_session(conn, policy, user, family_id=row["family_id"], now=now)
    # Outside the block: the family's revocation above is committed before we refuse.
    if outcome is _Outcome.REUSED:
        await forget_session(redis, row["family_id"])
    if session is None:
        raise InvalidRefreshTokenError(outcome.value)
    return session


async def end_session(
    engine: AsyncEngine, token: str, *, redis: Redis | None = None, client: ClientInfo = NO_CLIENT
) -> None:
    """Log out: revoke every token of the presented token's family (idempotent), and drop
    its session cache entry in `redis`, so its access tokens stop working at once."""
    async with engine.begin() as conn:
        row = await _locked_token(conn, token)
        if row is None:
            raise InvalidRefreshTokenError(_Outcome.UNKNOWN.value)
        await _revoke_family(conn, row["family_id"], datetime.now(UTC))
        await record(
            conn, "auth.sign_out", actor=AuditActor.user(row["user_id"]), client=client,
            subject=("User", row["user_id"]), subject_user_id=row["user_id"],
            details={"session": str(row["family_id"])},
        )  # fmt: skip
    await forget_session(redis, row["family_id"])
