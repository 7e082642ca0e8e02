"""Account root fields: me, register, login, refreshToken, logout.

Failures: wrong credentials and bad refresh tokens are UNAUTHENTICATED errors, too many
sign-in attempts RATE_LIMITED (with `retryAfter`), and a weak password, an invalid or
taken e-mail are `userErrors` naming the field (["input", "password"]).

Payloads are nullable: a refused field is null with its error, and the other root fields
of the same document still run (GraphQL stops a mutation document at the first error
that reaches a non-null root field).
"""

from __future__ import annotations

import strawberry

from auth.permissions import IsUser, requires
from resolvers import accounts
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


@strawberry.type
class AccountQuery:
    @strawberry.field(
        description="The signed-in user. UNAUTHENTICATED without a token; FORBIDDEN for a "
        "partner key.",
        extensions=[requires(IsUser())],
    )
    async def me(self, info: Info) -> User | None:
        return await accounts.me(info)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Create a BUYER account and sign it in.")
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload | None:
        return await accounts.register(info, input)

    @strawberry.mutation(
        description="Sign in. Wrong e-mail or password: UNAUTHENTICATED (one message for "
        "both); too many attempts per account or address: RATE_LIMITED with retryAfter."
    )
    async def login(self, info: Info, input: LoginInput) -> AuthPayload | None:
        return await accounts.login(info, input)

    @strawberry.mutation(
        description="Trade a refresh token for a new access and refresh token (rotation)."
    )
    async def refresh_token(self, info: Info, input: RefreshTokenInput) -> AuthPayload | None:
        return await accounts.refresh(info, input)

    @strawberry.mutation(description="Sign out: revoke the refresh token's whole sign-in.")
    async def logout(self, info: Info, input: LogoutInput) -> LogoutPayload | None:
        return await accounts.logout(info, input)
