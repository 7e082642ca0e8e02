"""Account root fields: arguments in, one service call, payload or coded error out."""

from __future__ import annotations

from auth.permissions import principal_of
from resolvers.origin import client_info
from schema.accounts import (
    AuthPayload,
    LoginInput,
    LogoutInput,
    LogoutPayload,
    RefreshTokenInput,
    RegisterInput,
    User,
)
from schema.context import Info
from schema.errors import RateLimitedError, UnauthenticatedError
from schema.payloads import refusal_errors
from services.accounts import sessions, users
from services.accounts.errors import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    LoginThrottledError,
    RegistrationRefusedError,
)
from services.accounts.sessions import AccountPolicy, Session


def _policy(info: Info) -> AccountPolicy:
    return AccountPolicy.from_settings(info.context.settings)


def _client(info: Info) -> str:
    client = info.context.request.client
    return client.host if client is not None else "unknown"


def _auth_payload(info: Info, session: Session) -> AuthPayload:
    info.context.issues_credentials = True  # never stored for an Idempotency-Key replay
    return AuthPayload(
        access_token=session.access_token,
        access_token_expires_at=session.access_expires_at,
        refresh_token=session.refresh_token,
        refresh_token_expires_at=session.refresh_expires_at,
        user=User.from_record(session.user),
    )


async def me(info: Info) -> User | None:
    """The signed-in user, read afresh (a deleted account is UNAUTHENTICATED)."""
    user_id = principal_of(info).user_id
    assert user_id is not None  # IsUser ran first
    record = await info.context.loaders.user_by_id.load(user_id)
    if record is None:
        raise UnauthenticatedError("This account no longer exists; sign in again.")
    return User.from_record(record)


async def register(info: Info, input: RegisterInput) -> AuthPayload:
    """Create a buyer and sign in; refused fields come back as userErrors."""
    ctx = info.context
    try:
        session = await users.register(
            await ctx.db.for_writes(), ctx.redis, _policy(info),
            email=input.email, password=input.password, client=_client(info),
            user_agent=client_info(info).user_agent,
        )  # fmt: skip
    except LoginThrottledError as error:
        raise RateLimitedError(str(error), retry_after=error.retry_after) from None
    except RegistrationRefusedError as error:
        return AuthPayload(
            access_token=None,
            access_token_expires_at=None,
            refresh_token=None,
            refresh_token_expires_at=None,
            user_errors=refusal_errors(error),
        )
    return _auth_payload(info, session)


async def login(info: Info, input: LoginInput) -> AuthPayload:
    """Sign in; every attempt counts against the account's and the address's budget."""
    ctx = info.context
    try:
        session = await users.login(
            await ctx.db.for_writes(), ctx.redis, _policy(info),
            email=input.email, password=input.password, client=_client(info),
            user_agent=client_info(info).user_agent,
        )  # fmt: skip
    except LoginThrottledError as error:
        raise RateLimitedError(str(error), retry_after=error.retry_after) from None
    except InvalidCredentialsError as error:
        raise UnauthenticatedError(str(error)) from None
    return _auth_payload(info, session)


async def refresh(info: Info, input: RefreshTokenInput) -> AuthPayload:
    """Rotate the refresh token; a reused one revokes the sign-in (UNAUTHENTICATED)."""
    try:
        session = await sessions.refresh_session(
            await info.context.db.for_writes(), _policy(info), input.refresh_token,
            redis=info.context.redis, client=client_info(info),
        )  # fmt: skip
    except InvalidRefreshTokenError as error:
        raise UnauthenticatedError(error.message) from None
    return _auth_payload(info, session)


async def logout(info: Info, input: LogoutInput) -> LogoutPayload:
    """Revoke every refresh token of the sign-in; an unknown token is UNAUTHENTICATED."""
    try:
        await sessions.end_session(
            await info.context.db.for_writes(), input.refresh_token, redis=info.context.redis,
            client=client_info(info),
        )  # fmt: skip
    except InvalidRefreshTokenError as error:
        raise UnauthenticatedError(error.message) from None
    return LogoutPayload(revoked=True)
