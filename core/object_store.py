"""The S3-compatible object store: one aiobotocore client per process, opened lazily.

The same code talks to AWS S3, MinIO and the embedded SeaweedFS (core/embedded_s3.py):
only `S3_URL`, the bucket, the region and the credentials differ. A store that cannot
be reached, or answers 5xx, raises `ServiceUnavailableError("object store")`, so a
request answers SERVICE_UNAVAILABLE (503) and a job is retried; any other S3 error is
the caller's to read (`ObjectStoreError.code`, e.g. `NoSuchKey`, `404`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core.availability import ServiceUnavailableError
from core.settings import Settings

OBJECT_STORE = "object store"


class ObjectStoreError(Exception):
    """The store refused a request (not an outage): `code` is S3's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True, slots=True)
class StoredObject:
    size: int
    content_type: str | None


def public_base(settings: Settings) -> str:
    """Where browsers fetch the bucket's public objects: PHOTO_PUBLIC_URL (a CDN), else
    the store's own URL of the bucket (path style)."""
    if settings.photo_public_url:
        return settings.photo_public_url
    return f"{settings.s3_url or ''}/{settings.s3_bucket}"


class ObjectStore:
    """The configured bucket, through one shared client opened at first use."""

    def __init__(self, settings: Settings) -> None:
        if settings.s3_url is None:
            raise ValueError("S3_URL is not set (and no embedded store was started)")
        self.settings = settings
        self.bucket = settings.s3_bucket
        self.endpoint = settings.s3_url
        self.public_base = public_base(settings)
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def client(self) -> Any:
        """The aiobotocore S3 client (created on first call, then shared)."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                secret = self.settings.s3_secret_access_key
                stack = contextlib.AsyncExitStack()
                self._client = await stack.enter_async_context(
                    get_session().create_client(
                        "s3",
                        endpoint_url=self.endpoint,
                        region_name=self.settings.s3_region,
                        aws_access_key_id=self.settings.s3_access_key_id,
                        aws_secret_access_key=None if secret is None else secret.get_secret_value(),
                        config=Config(
                            signature_version="s3v4",
                            s3={"addressing_style": self.settings.s3_addressing_style},
                            connect_timeout=5,
                            read_timeout=30,
                            retries={"max_attempts": 2, "mode": "standard"},
                        ),
                    )
                )
                self._stack = stack
        return self._client

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = self._client = None

    def public_url(self, key: str) -> str:
        """Where browsers fetch an object (the CDN base when PHOTO_PUBLIC_URL is set)."""
        return f"{self.public_base}/{key}"

    @contextlib.asynccontextmanager
    async def _calling(self) -> AsyncIterator[Any]:
        try:
            yield await self.client()
        except ClientError as error:
            info = error.response.get("Error", {})
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if status >= 500:
                raise ServiceUnavailableError(OBJECT_STORE) from error
            raise ObjectStoreError(
                str(info.get("Code", status)), str(info.get("Message", ""))
            ) from error
        except BotoCoreError as error:  # endpoint unreachable, timeouts, broken connection
            raise ServiceUnavailableError(OBJECT_STORE) from error

    async def put(
        self, key: str, body: bytes, *, content_type: str, cache_control: str | None = None
    ) -> None:
        extra = {} if cache_control is None else {"CacheControl": cache_control}
        async with self._calling() as s3:
            await s3.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **extra
            )

    async def head(self, key: str) -> StoredObject | None:
        """The object's size and type, or None when there is none."""
        try:
            async with self._calling() as s3:
                found = await s3.head_object(Bucket=self.bucket, Key=key)
        except ObjectStoreError as error:
            if error.code in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return StoredObject(size=int(found["ContentLength"]), content_type=found.get("ContentType"))

    async def get(self, key: str, *, first_bytes: int | None = None) -> bytes | None:
        """The object's bytes (only the first `first_bytes` if given), or None."""
        extra = {} if first_bytes is None else {"Range": f"bytes=0-{first_bytes - 1}"}
        try:
            async with self._calling() as s3:
                found = await s3.get_object(Bucket=self.bucket, Key=key, **extra)
                async with found["Body"] as stream:
                    data: bytes = await stream.read()
        except ObjectStoreError as error:
            if error.code in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        return data

    async def delete(self, key: str) -> None:
        async with self._calling() as s3:
            await s3.delete_object(Bucket=self.bucket, Key=key)

    async def presigned_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> dict[str, Any]:
        """A browser form upload of one object: at most `max_bytes`, of this content
        type, before `expires_in` seconds pass (the store checks all three)."""
        async with self._calling() as s3:
            post: dict[str, Any] = await s3.generate_presigned_post(
                self.bucket,
                key,
                Fields={"Content-Type": content_type},
                Conditions=[["content-length-range", 1, max_bytes], {"Content-Type": content_type}],
                ExpiresIn=expires_in,
            )
        return post

    async def ensure_bucket(self, *, public_prefix: str) -> None:
        """Create the bucket if missing; objects under `public_prefix` readable by anyone."""
        import json

        async with self._calling() as s3:
            try:
                await s3.head_bucket(Bucket=self.bucket)
            except ClientError:
                await s3.create_bucket(Bucket=self.bucket)
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "PublicPhotoVariants",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["s3:GetObject"],
                        "Resource": [f"arn:aws:s3:::{self.bucket}/{public_prefix}*"],
                    }
                ],
            }
            await s3.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps(policy))
