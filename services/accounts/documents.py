"""Trusted documents: register a manifest of operations, and find one by id or hash.

The manifest is the format persisted-query tooling emits (Apollo's
`persisted-query-manifest.json`): `{"format": "apollo-persisted-query-manifest",
"version": 1, "operations": [{"id", "name", "type", "body"}]}`. Each body must parse
and hold exactly the one operation it names; its SHA-256 is computed here, never
trusted from the file. Registering again replaces the partner's set.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from graphql import GraphQLError, OperationDefinitionNode, parse
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.trusted_document import TrustedDocument
from services.audit.log import SYSTEM, record
from services.errors import InvalidArgumentError

documents: sa.Table = TrustedDocument.__table__  # type: ignore[attr-defined]
MANIFEST_FORMAT = "apollo-persisted-query-manifest"
OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})


@dataclass(frozen=True, slots=True)
class ManifestOperation:
    document_id: str
    name: str | None
    operation_type: str
    body: str
    sha256: str


def parse_manifest(manifest: Any) -> list[ManifestOperation]:
    """The manifest's operations, each checked; `InvalidArgumentError` names the first fault."""
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise InvalidArgumentError("format", f"expected {MANIFEST_FORMAT!r}")
    if manifest.get("version") != 1:
        raise InvalidArgumentError("version", "expected 1")
    entries = manifest.get("operations")
    if not isinstance(entries, list) or not entries:
        raise InvalidArgumentError("operations", "a non-empty list expected")
    operations: list[ManifestOperation] = []
    for index, entry in enumerate(entries):
        where = f"operations[{index}]"
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("id"), str)
            or not isinstance(entry.get("body"), str)
        ):
            raise InvalidArgumentError(where, "needs a string id and body")
        kind = entry.get("type")
        if kind not in OPERATION_TYPES:
            raise InvalidArgumentError(f"{where}.type", "query, mutation or subscription expected")
        try:
            parsed = parse(entry["body"])
        except GraphQLError as error:
            raise InvalidArgumentError(f"{where}.body", error.message) from None
        ops = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
        if len(ops) != 1 or ops[0].operation.value != kind:
            raise InvalidArgumentError(f"{where}.body", f"must hold exactly one {kind}")
        body: str = entry["body"]
        operations.append(
            ManifestOperation(
                entry["id"],
                entry.get("name"),
                kind,
                body,
                hashlib.sha256(body.encode()).hexdigest(),
            )
        )
    return operations


async def register_manifest(engine: AsyncEngine, partner_id: int | None, manifest: Any) -> int:
    """Replace the partner's (or the first-party) registered operations; how many now."""
    operations = parse_manifest(manifest)
    owner = (
        documents.c.partner_id.is_(None)
        if partner_id is None
        else documents.c.partner_id == partner_id
    )
    async with engine.begin() as conn:
        await conn.execute(documents.delete().where(owner))
        await conn.execute(
            documents.insert(),
            [
                {"partner_id": partner_id, "document_id": op.document_id, "sha256": op.sha256,
                 "name": op.name, "operation_type": op.operation_type, "body": op.body}
                for op in operations
            ],
        )  # fmt: skip
        await _audit(conn, "trusted_documents.registered", partner_id, operations)
    return len(operations)


async def _audit(
    conn: AsyncConnection, action: str, partner_id: int | None, operations: list[ManifestOperation]
) -> None:
    await record(
        conn, action, actor=SYSTEM,
        subject=("Partner", partner_id) if partner_id is not None else ("FirstParty", 0),
        details={"operations": len(operations)},
    )  # fmt: skip


async def add_documents(
    engine: AsyncEngine, partner_id: int | None, operations: list[ManifestOperation]
) -> None:
    """Register more operations beside the partner's existing ones (same id or hash: kept)."""
    async with engine.begin() as conn:
        await conn.execute(
            insert(documents).on_conflict_do_nothing(),
            [
                {"partner_id": partner_id, "document_id": op.document_id, "sha256": op.sha256,
                 "name": op.name, "operation_type": op.operation_type, "body": op.body}
                for op in operations
            ],
        )  # fmt: skip
        await _audit(conn, "trusted_documents.added", partner_id, operations)


async def find_document(
    conn: AsyncConnection,
    partner_id: int | None,
    *,
    document_id: str | None = None,
    sha256: str | None = None,
) -> str | None:
    """The registered body with this id or hash in the partner's registry, or None."""
    c = documents.c
    owner = c.partner_id.is_(None) if partner_id is None else c.partner_id == partner_id
    if document_id is not None:
        where = c.document_id == document_id
    elif sha256 is not None:
        where = c.sha256 == sha256
    else:
        return None
    body: str | None = await conn.scalar(sa.select(c.body).where(owner, where))
    return body
