"""Which browser origins may call the API, over HTTP (CORS) and WebSocket alike.

- Development (and test): pages served from this machine, `http(s)://localhost`,
  `127.0.0.1` or `[::1]` on any port (a Next.js or Vite dev server), plus CORS_ORIGINS.
- Production: CORS_ORIGINS only.

A browser sends its page's origin on every cross-origin request and on every WebSocket
handshake; Starlette's CORSMiddleware answers the preflights and marks the responses,
and the GraphQL view refuses a WebSocket handshake from any other origin (403). The
headers a frontend sends (Apollo Client's client awareness, Idempotency-Key, …) are
allowed, and those it needs to read (Retry-After, X-Request-ID, Idempotent-Replayed,
x-response-cache) are exposed to its scripts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from core.settings import Settings

LOCAL_ORIGIN = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?"
ALLOWED_HEADERS = (
    "accept",
    "authorization",
    "cache-control",
    "content-type",
    "idempotency-key",
    "x-api-key",
    "x-request-id",
    # Apollo Client's client awareness (its `clientAwareness` option).
    "apollographql-client-name",
    "apollographql-client-version",
)
EXPOSED_HEADERS = ("retry-after", "x-request-id", "idempotent-replayed", "x-response-cache")
PREFLIGHT_CACHE_SECONDS = 600


@dataclass(frozen=True, slots=True)
class OriginPolicy:
    origins: frozenset[str]
    local: bool  # pages served from this machine, on any port

    @classmethod
    def from_settings(cls, settings: Settings) -> OriginPolicy:
        return cls(
            origins=frozenset(origin.rstrip("/").lower() for origin in settings.cors_origins),
            local=settings.is_development,
        )

    def allows(self, origin: str) -> bool:
        normalized = origin.rstrip("/").lower()
        return (
            "*" in self.origins
            or normalized in self.origins
            or (self.local and re.fullmatch(LOCAL_ORIGIN, normalized) is not None)
        )

    def middleware(self) -> Middleware | None:
        """Starlette's CORS middleware for this policy (None: no origin is allowed)."""
        if not self.origins and not self.local:
            return None
        return Middleware(
            CORSMiddleware,
            allow_origins=sorted(self.origins),
            allow_origin_regex=LOCAL_ORIGIN if self.local else None,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=list(ALLOWED_HEADERS),
            expose_headers=list(EXPOSED_HEADERS),
            max_age=PREFLIGHT_CACHE_SECONDS,
        )
