"""Who is calling: a signed-in user, a partner (API key), or nobody.

A `Principal` is what authentication produces (`request.user`, `info.context.principal`)
and what every permission class reads. For a user it comes from the access token's
claims, once the token's sign-in is found alive and its account as the token says
(services/accounts/session_check.py, cached in Redis for SESSION_CACHE_SECONDS): a role
change or a deleted account takes effect within that time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from starlette.authentication import BaseUser

from models.account import UserRole


class PrincipalKind(enum.StrEnum):
    USER = "USER"
    PARTNER = "PARTNER"
    ANONYMOUS = "ANONYMOUS"


@dataclass(frozen=True, slots=True)
class Principal(BaseUser):
    kind: PrincipalKind
    user_id: int | None = None
    role: UserRole | None = None
    dealer_id: int | None = None
    partner_id: int | None = None

    @classmethod
    def user(cls, user_id: int, role: UserRole, *, dealer_id: int | None = None) -> Principal:
        """A signed-in user; a dealer's principal carries their dealer's id."""
        return cls(PrincipalKind.USER, user_id=user_id, role=role, dealer_id=dealer_id)

    @classmethod
    def partner(cls, partner_id: int) -> Principal:
        """A partner authenticated by an API key."""
        return cls(PrincipalKind.PARTNER, partner_id=partner_id)

    @property
    def is_authenticated(self) -> bool:
        """A user or a partner; not anonymous."""
        return self.kind is not PrincipalKind.ANONYMOUS

    @property
    def is_admin(self) -> bool:
        """A user with the ADMIN role."""
        return self.role is UserRole.ADMIN

    @property
    def display_name(self) -> str:
        """Starlette's name for the caller: its identity."""
        return self.identity

    @property
    def identity(self) -> str:
        """A stable key for the caller ("user:7", "partner:2", "anonymous"), for limits and logs."""
        if self.kind is PrincipalKind.USER:
            return f"user:{self.user_id}"
        if self.kind is PrincipalKind.PARTNER:
            return f"partner:{self.partner_id}"
        return "anonymous"

    @property
    def scopes(self) -> list[str]:
        """Starlette's `request.auth.scopes`: "authenticated" and the role or "partner"."""
        if self.kind is PrincipalKind.USER and self.role is not None:
            return ["authenticated", f"role:{self.role.value.lower()}"]
        if self.kind is PrincipalKind.PARTNER:
            return ["authenticated", "partner"]
        return []


ANONYMOUS = Principal(PrincipalKind.ANONYMOUS)
