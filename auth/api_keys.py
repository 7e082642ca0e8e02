"""Partner API keys: format, generation, parsing and hashing.

A key reads `ab_live_<prefix>_<secret>`: `prefix` is 12 lowercase letters and digits,
stored in clear and unique, so a key is found with one indexed read and can be named in
logs and on the command line (`autobroker revoke-api-key PREFIX`); `secret` is 256
random bits, URL-safe. Only the SHA-256 of the whole key is stored and compared in
constant time. The development demo key reads `ab_demo_<prefix>_<secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

LIVE = "live"
DEMO = "demo"
PREFIX_LENGTH = 12
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_KEY_PATTERN = re.compile(r"ab_(live|demo)_([a-z0-9]{12})_([A-Za-z0-9_-]{32,64})")
MAX_KEY_LENGTH = 100


class InvalidApiKeyError(Exception):
    """The text is not an API key, or no live key matches it."""


@dataclass(frozen=True, slots=True)
class ParsedApiKey:
    kind: str
    prefix: str
    text: str


def generate_api_key(*, kind: str = LIVE) -> ParsedApiKey:
    """A new random key; show `text` once and store only `api_key_hash(text)`."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    text = f"ab_{kind}_{prefix}_{secrets.token_urlsafe(32)}"
    return ParsedApiKey(kind=kind, prefix=prefix, text=text)


def parse_api_key(text: str) -> ParsedApiKey:
    """The parts of a well-formed key; `InvalidApiKeyError` otherwise."""
    match = _KEY_PATTERN.fullmatch(text.strip()) if len(text) <= MAX_KEY_LENGTH else None
    if match is None:
        raise InvalidApiKeyError("the API key is malformed")
    return ParsedApiKey(kind=match.group(1), prefix=match.group(2), text=match.group(0))


def api_key_hash(text: str) -> str:
    """The stored form of a key: hex SHA-256 of its text."""
    return hashlib.sha256(text.encode()).hexdigest()


def api_key_matches(text: str, stored_hash: str) -> bool:
    """Whether `text` hashes to `stored_hash`, compared in constant time."""
    return hmac.compare_digest(api_key_hash(text), stored_hash)
