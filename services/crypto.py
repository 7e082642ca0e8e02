"""Personal data at rest: field encryption and keyed hashes.

`FieldCipher` encrypts one text field into a Fernet token (AES-128-CBC with an
HMAC-SHA256, from the `cryptography` library) under a `MultiFernet` of the keys in
FIELD_ENCRYPTION_KEYS: the first key encrypts, every key decrypts, so a key is rotated
by putting a new one first, re-encrypting (`autobroker audit reencrypt`), then dropping
the old one. `keyed_hash` is an HMAC-SHA256 under PERSONAL_DATA_KEY: a value that must be
matched later (an unknown e-mail in a failed sign-in) without being stored.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from core.settings import Settings


class UndecryptableFieldError(ValueError):
    """A stored token that none of the configured keys opens."""


class FieldCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one field encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> FieldCipher:
        return cls([key.get_secret_value() for key in settings.field_encryption_keys])

    def encrypt(self, value: str | None) -> str | None:
        """The token of `value` under the first key; None stays None."""
        if value is None:
            return None
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str | None) -> str | None:
        """The text of a token made with any configured key; None stays None."""
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise UndecryptableFieldError("no configured key opens this field") from None

    def rotate(self, token: str | None) -> str | None:
        """The same value encrypted under the first key (key rotation)."""
        if token is None:
            return None
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise UndecryptableFieldError("no configured key opens this field") from None


def keyed_hash(key: SecretStr, value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of `value` under the key, for one `purpose` (keys never cross uses)."""
    derived = hmac.new(key.get_secret_value().encode(), purpose.encode(), hashlib.sha256).digest()
    return hmac.new(derived, value.encode(), hashlib.sha256).hexdigest()
