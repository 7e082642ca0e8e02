"""Signed, time-limited download links for finished exports.

A link names the export and its expiry (Unix seconds) and carries an HMAC of both under
PERSONAL_DATA_KEY: it cannot be forged or extended, and it stops working at its expiry
(the document itself is removed then too).
"""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from pydantic import SecretStr

from services.crypto import keyed_hash

DOWNLOAD_PATH = "/gdpr/exports/"


def signature(key: SecretStr, export_id: uuid.UUID, expires: int) -> str:
    return keyed_hash(key, f"{export_id}:{expires}", purpose="export-link")


def download_path(key: SecretStr, export_id: uuid.UUID, expires_at: datetime) -> str:
    """The path and query of the export's download link."""
    expires = int(expires_at.timestamp())
    query = urlencode({"expires": expires, "signature": signature(key, export_id, expires)})
    return f"{DOWNLOAD_PATH}{export_id}?{query}"


def link_is_valid(
    key: SecretStr, export_id: uuid.UUID, expires: int, given: str, *, now: datetime | None = None
) -> bool:
    """Whether the signature is the export's and the link has not expired."""
    if not hmac.compare_digest(signature(key, export_id, expires), given):
        return False
    return (now or datetime.now(UTC)).timestamp() < expires
