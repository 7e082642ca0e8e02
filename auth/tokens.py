"""Access tokens (JWT) and refresh tokens (opaque).

Access token: a JWT signed with HS256 and `JWT_SECRET`, header `typ: at+jwt`
(RFC 9068), claims `iss`, `aud`, `sub` (the user id), `sid` (the sign-in: its refresh-token
family, checked on every request by services/accounts/session_check.py), `role`,
`dealer` (dealers only), `iat`, `exp` (`ACCESS_TOKEN_TTL_SECONDS`, 15 minutes by default)
and a random `jti`.
Decoding pins the algorithm list to HS256 (so `alg: none` and algorithm confusion are
refused), requires every registered claim and checks `iss`, `aud` and `exp` with a
leeway of `CLOCK_LEEWAY_SECONDS` for clocks that drift between replicas.

Refresh token: 256 random bits, URL-safe text prefixed `abr_`; only its SHA-256 is stored
(see services/accounts/sessions.py for rotation and reuse detection).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from core.settings import Settings
from models.account import UserRole

ALGORITHM = "HS256"
TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
REQUIRED_CLAIMS = ("iss", "aud", "sub", "sid", "iat", "exp", "role")
CLOCK_LEEWAY_SECONDS = 10
REFRESH_TOKEN_PREFIX = "abr_"  # noqa: S105 - a marker, not a secret
MAX_TOKEN_LENGTH = 4096


class InvalidTokenError(Exception):
    """An access token is malformed, forged, expired or meant for someone else."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    role: UserRole
    dealer_id: int | None
    # The sign-in (refresh-token family) the token belongs to.
    session_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class TokenCodec:
    """Signs and checks access tokens with one secret, issuer and audience."""

    secret: str
    issuer: str
    audience: str
    access_ttl: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenCodec:
        """The codec configured by JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE and the TTL."""
        return cls(
            secret=settings.jwt_secret.get_secret_value(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        )

    def issue(self, claims: AccessClaims, *, now: datetime | None = None) -> str:
        """A signed access token for `claims`, valid from `now` for the access TTL."""
        issued = now or datetime.now(UTC)
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(claims.user_id),
            "sid": str(claims.session_id),
            "role": claims.role.value,
            "iat": issued,
            "exp": issued + self.access_ttl,
            "jti": secrets.token_urlsafe(12),
        }
        if claims.dealer_id is not None:
            payload["dealer"] = claims.dealer_id
        return jwt.encode(payload, self.secret, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE})

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid token; `InvalidTokenError` saying why it is not."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError("the access token is too long")
        try:
            header = jwt.get_unverified_header(token)
            payload = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=CLOCK_LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidTokenError("the access token has expired") from None
        except jwt.PyJWTError:
            raise InvalidTokenError("the access token is invalid") from None
        if header.get("typ") != TOKEN_TYPE:
            raise InvalidTokenError("the access token is invalid")
        return _claims(payload)


def _claims(payload: dict[str, Any]) -> AccessClaims:
    try:
        user_id = int(payload["sub"])
        role = UserRole(payload["role"])
        session_id = uuid.UUID(str(payload["sid"]))
    except (ValueError, TypeError):
        raise InvalidTokenError("the access token is invalid") from None
    dealer = payload.get("dealer")
    if (role is UserRole.DEALER) != isinstance(dealer, int) or isinstance(dealer, bool):
        raise InvalidTokenError("the access token is invalid")
    if not 0 < user_id < 2**63 or (dealer is not None and not 0 < dealer < 2**63):
        raise InvalidTokenError("the access token is invalid")
    return AccessClaims(user_id=user_id, role=role, dealer_id=dealer, session_id=session_id)


def new_refresh_token() -> str:
    """A fresh refresh token: 256 random bits, URL-safe."""
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> str:
    """The stored form of a refresh token: hex SHA-256 of its text."""
    return hashlib.sha256(token.encode()).hexdigest()
