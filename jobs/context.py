"""What every job receives: the shared clients the worker opened at start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from core.db import Database
from core.object_store import ObjectStore
from core.settings import Settings


@dataclass(frozen=True, slots=True)
class JobResources:
    settings: Settings
    database: Database
    redis: Redis
    # The vehicle photos' object store, None without S3_URL (photo jobs then fail loudly).
    objects: ObjectStore | None = None


def resources(ctx: dict[str, Any]) -> JobResources:
    """The worker's shared clients, from arq's job context."""
    found: JobResources = ctx["resources"]
    return found
