"""Writing audit entries: one call per audited action.

`record(conn, action, ...)` appends inside the caller's transaction, so the entry
commits or rolls back with the change it describes; `record_now(engine, ...)` commits
one on its own, for an action whose transaction fails (a refused sign-in).

The chain: every insert takes one transaction-scoped advisory lock, reads the newest
entry's hash and writes its own. The lock is held until commit, so two concurrent
inserts can never read the same predecessor: the chain never forks, and ids grow in
chain order. Entries keep ids, never an e-mail or a name (README "Audit log").

Another feature audits its own action with one line, for example a webhook endpoint:

    await record(conn, "webhook_endpoint.created", actor=actor, client=client,
                 subject=("WebhookEndpoint", endpoint_id), details={"url_host": host})
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.audit import AuditEntry

audit_table: sa.Table = AuditEntry.__table__  # type: ignore[attr-defined]

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key of the chain's head: "audit" in ASCII.
CHAIN_LOCK_KEY = 0x6175646974
MAX_USER_AGENT_LENGTH = 300
MAX_ADDRESS_LENGTH = 64


@dataclass(frozen=True, slots=True)
class AuditActor:
    """Who did it: a user, a partner, the system, or someone not signed in."""

    kind: str
    id: int | None = None

    @classmethod
    def user(cls, user_id: int) -> AuditActor:
        return cls("USER", user_id)

    @classmethod
    def partner(cls, partner_id: int) -> AuditActor:
        return cls("PARTNER", partner_id)

    @property
    def label(self) -> str:
        return self.kind.lower() if self.id is None else f"{self.kind.lower()}:{self.id}"


SYSTEM = AuditActor("SYSTEM")
ANONYMOUS = AuditActor("ANONYMOUS")


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from: its address and User-Agent, as the edge saw them."""

    address: str | None = None
    user_agent: str | None = None


NO_CLIENT = ClientInfo()


def canonical(entry: Mapping[str, Any]) -> bytes:
    """The bytes an entry's hash covers: every column but id and hash, as sorted JSON."""
    at: datetime = entry["at"]
    body = {
        "prev_hash": entry["prev_hash"],
        "at": at.astimezone(UTC).isoformat(),
        "actor_kind": entry["actor_kind"],
        "actor_id": entry["actor_id"],
        "action": entry["action"],
        "subject_type": entry["subject_type"],
        "subject_id": entry["subject_id"],
        "subject_user_id": entry["subject_user_id"],
        "client_address": entry["client_address"],
        "user_agent": entry["user_agent"],
        "details": entry["details"],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


async def record(
    conn: AsyncConnection,
    action: str,
    *,
    actor: AuditActor,
    client: ClientInfo = NO_CLIENT,
    subject: tuple[str, int | str] | None = None,
    subject_user_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> int:
    """Append one entry inside the caller's transaction; its id."""
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))
    prev = await conn.scalar(
        sa.select(audit_table.c.hash).order_by(audit_table.c.id.desc()).limit(1)
    )
    # Round-tripped through JSON: the hash covers exactly what JSONB gives back.
    clean_details = json.loads(json.dumps(dict(details or {}), default=str))
    entry: dict[str, Any] = {
        "prev_hash": prev or GENESIS_HASH,
        "at": datetime.now(UTC),
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "action": action,
        "subject_type": subject[0] if subject else None,
        "subject_id": str(subject[1]) if subject else None,
        "subject_user_id": subject_user_id,
        "client_address": (client.address or None) and client.address[:MAX_ADDRESS_LENGTH],
        "user_agent": (client.user_agent or None) and client.user_agent[:MAX_USER_AGENT_LENGTH],
        "details": clean_details,
    }
    entry["hash"] = entry_hash(entry)
    inserted = await conn.scalar(audit_table.insert().values(**entry).returning(audit_table.c.id))
    return int(inserted)


async def record_now(engine: AsyncEngine, action: str, **kwargs: Any) -> int:
    """Append one entry in a transaction of its own, committed on return."""
    async with engine.begin() as conn:
        return await record(conn, action, **kwargs)
