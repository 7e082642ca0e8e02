"""Authentication of HTTP requests and WebSocket `connection_init` payloads.

Credentials, one per request:
- `Authorization: Bearer <access token>` for users (see auth/tokens.py),
- `X-API-Key: <key>` for partners (see auth/api_keys.py),
- neither: the anonymous principal, which may browse the catalog.

An access token is honoured only while its sign-in is alive and its account exists as
the token describes it (`session_alive`, services/accounts/session_check.py): after
logout, a revoked sign-in or a deleted account it is refused like an expired one.

A credential that is present but wrong (expired, forged, revoked, two at once, another
scheme) fails the whole request with 401 and a GraphQL-shaped `UNAUTHENTICATED` error,
rather than quietly downgrading the caller to anonymous: a client with a stale token
learns at once that it must refresh. Over WebSocket the same credentials ride in the
`connection_init` payload (`{"Authorization": "Bearer ..."}` or `{"apiKey": "..."}`),
and a bad one closes the socket (4403) before any operation runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from auth.api_keys import InvalidApiKeyError, api_key_matches, parse_api_key
from auth.principal import ANONYMOUS, Principal
from auth.tokens import AccessClaims, InvalidTokenError, TokenCodec
from core.errors import ErrorCode

API_KEY_HEADER = "x-api-key"
_PAYLOAD_TOKEN_KEYS = ("authorization", "authtoken", "token")
_PAYLOAD_API_KEY_KEYS = ("apikey", "x-api-key", "api_key")


class StoredApiKey(Protocol):
    """What the key store tells about a live (unrevoked) key."""

    @property
    def partner_id(self) -> int: ...

    @property
    def key_hash(self) -> str: ...


ApiKeyLookup = Callable[[str], Awaitable[StoredApiKey | None]]
SessionAlive = Callable[[AccessClaims], Awaitable[bool]]
SESSION_ENDED = (
    "this sign-in has ended (signed out, revoked, or the account changed); sign in again"
)


class AuthenticationFailed(AuthenticationError):
    """A credential was presented and is not valid; the message says why."""

    def __init__(self, message: str, *, bearer: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.bearer = bearer


class Authenticator:
    """Turns credentials into a `Principal`: tokens checked locally, API keys by prefix."""

    def __init__(
        self, codec: TokenCodec, find_api_key: ApiKeyLookup, session_alive: SessionAlive
    ) -> None:
        self._codec = codec
        self._find_api_key = find_api_key
        self._session_alive = session_alive

    async def authenticate(self, *, authorization: str | None, api_key: str | None) -> Principal:
        """The caller's principal; `AuthenticationFailed` for a bad or ambiguous credential."""
        if authorization is not None and api_key is not None:
            raise AuthenticationFailed("send either Authorization or X-API-Key, not both")
        if authorization is not None:
            return await self._bearer(authorization)
        if api_key is not None:
            return await self._partner(api_key)
        return ANONYMOUS

    async def authenticate_payload(self, payload: Mapping[str, object]) -> Principal | None:
        """The principal a `connection_init` payload names; None when it names none."""
        lowered = {str(key).lower(): value for key, value in payload.items()}
        token = next((lowered[k] for k in _PAYLOAD_TOKEN_KEYS if k in lowered), None)
        key = next((lowered[k] for k in _PAYLOAD_API_KEY_KEYS if k in lowered), None)
        if token is None and key is None:
            return None
        if (token is not None and not isinstance(token, str)) or (
            key is not None and not isinstance(key, str)
        ):
            raise AuthenticationFailed("credentials in connection_init must be strings")
        if token is not None and not token.lower().startswith("bearer "):
            token = f"Bearer {token}"
        return await self.authenticate(authorization=token, api_key=key)

    async def _bearer(self, authorization: str) -> Principal:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("use the Bearer scheme: Authorization: Bearer <token>")
        try:
            claims = self._codec.verify(token.strip())
        except InvalidTokenError as error:
            raise AuthenticationFailed(str(error), bearer=True) from None
        if not await self._session_alive(claims):
            raise AuthenticationFailed(SESSION_ENDED, bearer=True)
        return Principal.user(claims.user_id, claims.role, dealer_id=claims.dealer_id)

    async def _partner(self, text: str) -> Principal:
        try:
            parsed = parse_api_key(text)
        except InvalidApiKeyError:
            raise AuthenticationFailed("the API key is invalid or revoked") from None
        stored = await self._find_api_key(parsed.prefix)
        if stored is None or not api_key_matches(parsed.text, stored.key_hash):
            raise AuthenticationFailed("the API key is invalid or revoked")
        return Principal.partner(stored.partner_id)


class ApiAuthenticationBackend(AuthenticationBackend):
    """Starlette's hook: every HTTP request and WebSocket upgrade gets a `Principal`."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, Principal]:
        """The request's principal from its headers; `AuthenticationFailed` answers 401."""
        principal = await self.authenticator.authenticate(
            authorization=conn.headers.get("authorization"),
            api_key=conn.headers.get(API_KEY_HEADER),
        )
        return AuthCredentials(principal.scopes), principal


def unauthenticated_response(conn: HTTPConnection, error: AuthenticationError) -> Response:
    """401 with a GraphQL-shaped UNAUTHENTICATED error and an RFC 6750 challenge."""
    message = str(error)
    challenge = 'Bearer realm="autobroker"'
    if isinstance(error, AuthenticationFailed) and error.bearer:
        challenge += f', error="invalid_token", error_description="{message}"'
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": ErrorCode.UNAUTHENTICATED}}]},
        status_code=401,
        headers={"WWW-Authenticate": challenge},
    )
