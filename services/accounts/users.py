"""Registration, sign-in and user lookups.

Sign-in answers one message for a wrong password and an unknown e-mail, and takes the
same time for both: an unknown e-mail is checked against a dummy argon2 hash. Every
attempt is counted before the password is checked (see throttle.py).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.passwords import (
    MAX_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from models.account import User, UserRole
from services.accounts import throttle
from services.accounts.errors import (
    InvalidCredentialsError,
    LoginThrottledError,
    RegistrationRefusedError,
)
from services.accounts.sessions import AccountPolicy, Session, UserRecord, start_session
from services.audit.log import ANONYMOUS, AuditActor, ClientInfo, record, record_now
from services.crypto import keyed_hash
from services.errors import FieldProblem

user_table: sa.Table = User.__table__  # type: ignore[attr-defined]

MAX_EMAIL_LENGTH = 254


def normalise_email(raw: str) -> str:
    """The stored form of an e-mail as typed at sign-in: trimmed, lower case."""
    return raw.strip().lower()


def email_problem(raw: str) -> tuple[str, FieldProblem | None]:
    """The normalised address and, if it is not a valid one, the problem."""
    try:
        validated = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        return raw, FieldProblem("email", "EMAIL_INVALID", f"Not a valid e-mail address: {error}")
    email = validated.normalized.lower()
    if len(email) > MAX_EMAIL_LENGTH:
        return email, FieldProblem(
            "email", "EMAIL_INVALID", f"Use at most {MAX_EMAIL_LENGTH} characters."
        )
    return email, None


async def _throttled(
    redis: Redis, policy: AccountPolicy, *, client: str, email: str | None
) -> None:
    verdict = await throttle.count_attempt(redis, policy.throttle, client=client, email=email)
    if not verdict.allowed:
        raise LoginThrottledError(verdict.retry_after)


async def register(
    engine: AsyncEngine,
    redis: Redis,
    policy: AccountPolicy,
    *,
    email: str,
    password: str,
    client: str,
    user_agent: str | None = None,
) -> Session:
    """Create a BUYER account and sign it in; `RegistrationRefusedError` names the fields."""
    await _throttled(redis, policy, client=client, email=None)
    normalised, problem = email_problem(email)
    problems = [problem] if problem else []
    weak = password_problem(password, email=normalised if problem is None else None)
    if weak is not None:
        problems.append(FieldProblem("password", weak.code, weak.message))
    if problems:
        raise RegistrationRefusedError(problems)
    password_hash = await hash_password(password)
    try:
        async with engine.begin() as conn:
            row = (
                (
                    await conn.execute(
                        user_table.insert()
                        .values(email=normalised, password_hash=password_hash, role=UserRole.BUYER)
                        .returning(*user_table.c)
                    )
                )
                .mappings()
                .one()
            )
            await record(
                conn, "account.registered", actor=AuditActor.user(row["id"]),
                client=ClientInfo(client, user_agent), subject=("User", row["id"]),
                subject_user_id=row["id"],
            )  # fmt: skip
            return await start_session(conn, policy, UserRecord.from_row(row))
    except IntegrityError:
        taken = FieldProblem("email", "EMAIL_TAKEN", "An account with this e-mail exists.")
        raise RegistrationRefusedError([taken]) from None


async def login(
    engine: AsyncEngine,
    redis: Redis,
    policy: AccountPolicy,
    *,
    email: str,
    password: str,
    client: str,
    user_agent: str | None = None,
) -> Session:
    """Check the credentials and start a session; one error for every kind of mismatch."""
    normalised = normalise_email(email)[: MAX_EMAIL_LENGTH + 1]
    await _throttled(redis, policy, client=client, email=normalised)
    async with engine.connect() as conn:
        row = (
            (await conn.execute(sa.select(user_table).where(user_table.c.email == normalised)))
            .mappings()
            .first()
        )
    # No connection is held while argon2 works; an over-long password checks the dummy.
    stored_hash = row["password_hash"] if row is not None else None
    if len(password) > MAX_PASSWORD_LENGTH:
        stored_hash, password = None, password[:MAX_PASSWORD_LENGTH]
    matches = await verify_password(stored_hash, password)  # False for no hash, slowly
    origin = ClientInfo(client, user_agent)
    if row is None or not matches:
        await _record_failed_sign_in(engine, row, normalised, origin, policy)
        raise InvalidCredentialsError
    async with engine.begin() as conn:
        if needs_rehash(row["password_hash"]):
            await conn.execute(
                user_table.update()
                .where(user_table.c.id == row["id"])
                .values(password_hash=await hash_password(password))
            )
        session = await start_session(conn, policy, UserRecord.from_row(row))
        await record(
            conn, "auth.sign_in", actor=AuditActor.user(row["id"]), client=origin,
            subject=("User", row["id"]), subject_user_id=row["id"],
            details={"session": str(session.family_id)},
        )  # fmt: skip
    await throttle.clear_account(redis, normalised)
    return session


async def _record_failed_sign_in(
    engine: AsyncEngine, row: Any, email: str, origin: ClientInfo, policy: AccountPolicy
) -> None:
    """A refused sign-in: the account's id if the e-mail is one, else a keyed hash of it."""
    if row is not None:
        await record_now(
            engine, "auth.sign_in_failed", actor=ANONYMOUS, client=origin,
            subject=("User", row["id"]), subject_user_id=row["id"],
            details={"reason": "wrong password"},
        )  # fmt: skip
        return
    key = policy.personal_data_key
    await record_now(
        engine, "auth.sign_in_failed", actor=ANONYMOUS, client=origin,
        details={"reason": "unknown e-mail", "email_hmac": keyed_hash(key, email, purpose="email")},
    )  # fmt: skip


async def fetch_users_by_ids(conn: AsyncConnection, ids: Collection[int]) -> dict[int, UserRecord]:
    """Users by primary key, as a map from id to user."""
    rows = await conn.execute(sa.select(user_table).where(user_table.c.id.in_(list(ids))))
    return {row["id"]: UserRecord.from_row(row) for row in rows.mappings()}
