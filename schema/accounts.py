"""Account types: User, the sign-in payloads and their inputs (root fields: accounts_root).

Failures: wrong credentials and bad refresh tokens are UNAUTHENTICATED errors, too many
sign-in attempts RATE_LIMITED (with `retryAfter`), and a weak password, an invalid or
taken e-mail are `userErrors` naming the field (["input", "password"]).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from models.account import UserRole
from schema.catalog import Dealer
from schema.context import Info
from schema.ids import to_global_id
from schema.node import Node
from schema.payloads import UserError

UserRoleEnum = strawberry.enum(
    UserRole,
    description="BUYER browses and orders, DEALER lists its dealer's vehicles, ADMIN runs it all.",
)


@strawberry.type(description="A person who signs in.")
class User(Node):
    email: str = strawberry.field(description="Normalised (lower-case) e-mail address.")
    role: UserRole
    created_at: datetime
    pk: strawberry.Private[int]
    dealer_id: strawberry.Private[int | None]

    @classmethod
    def from_record(cls, record: Any) -> User:
        return cls(
            id=strawberry.ID(to_global_id("User", record.id)),
            pk=record.id,
            email=record.email,
            role=record.role,
            created_at=record.created_at,
            dealer_id=record.dealer_id,
        )

    @strawberry.field(description="The dealer a DEALER works for; null for other roles.")
    async def dealer(self, info: Info) -> Dealer | None:
        if self.dealer_id is None:
            return None
        row = await info.context.loaders.dealer_by_id.load(self.dealer_id)
        return None if row is None else Dealer.from_row(row)


@strawberry.type(
    description=(
        "A signed-in session: send `Authorization: Bearer <accessToken>`; before it "
        "expires, trade `refreshToken` for a new pair with refreshToken(input:). Null "
        "fields and non-empty userErrors when registration is refused."
    )
)
class AuthPayload:
    access_token: str | None = strawberry.field(description="Short-lived JWT.")
    access_token_expires_at: datetime | None
    refresh_token: str | None = strawberry.field(
        description="Single-use: each refresh returns a new one; replaying a used one "
        "revokes the whole sign-in."
    )
    refresh_token_expires_at: datetime | None
    token_type: str = strawberry.field(default="Bearer", description="Always Bearer.")
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogoutPayload:
    revoked: bool = strawberry.field(
        description="True: every refresh token of this sign-in is now revoked."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RegisterInput:
    email: str
    password: str = strawberry.field(
        description="At least 12 characters, not a common password nor the e-mail."
    )


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.input
class LogoutInput:
    refresh_token: str
