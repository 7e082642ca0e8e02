"""Personal-data exports (GDPR Art. 15 and 20): requested, built by a job, downloaded.

`request_export` records a PENDING export and the job (jobs/gdpr.py) calls
`build_export`, which runs every section of services/gdpr/sections.py in one
repeatable-read snapshot, writes one JSON document to the export store, and marks the
export READY until `expires_at` (EXPORT_LINK_TTL_SECONDS). Building twice is harmless:
a READY export is left alone. Every step is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.account import User
from models.audit import DataExport, DataExportStatus
from services.audit.log import NO_CLIENT, SYSTEM, AuditActor, ClientInfo, record
from services.crypto import FieldCipher
from services.gdpr.errors import AccountNotFoundError, AlreadyErasedError
from services.gdpr.sections import SECTIONS, plain
from services.gdpr.store import DEFAULT_STORE, ExportStore

export_table: sa.Table = DataExport.__table__  # type: ignore[attr-defined]
user_table: sa.Table = User.__table__  # type: ignore[attr-defined]

FORMAT = "autobroker-personal-data-export"
# The arq job that builds an export (jobs/gdpr.py), enqueued once per export.
BUILD_EXPORT_JOB = "build_data_export"


def export_job_id(export_id: uuid.UUID) -> str:
    return f"data-export:{export_id}"


@dataclass(frozen=True, slots=True)
class ExportRecord:
    id: uuid.UUID
    user_id: int
    status: DataExportStatus
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> ExportRecord:
        return cls(
            row.id, row.user_id, DataExportStatus(row.status), row.created_at,
            row.finished_at, row.expires_at,
        )  # fmt: skip


_COLUMNS = (
    export_table.c.id,
    export_table.c.user_id,
    export_table.c.status,
    export_table.c.created_at,
    export_table.c.finished_at,
    export_table.c.expires_at,
)


async def request_export(
    engine: AsyncEngine, user_id: int, *, actor: AuditActor, client: ClientInfo = NO_CLIENT
) -> ExportRecord:
    """Record a PENDING export of the account (the caller queues the job)."""
    async with engine.begin() as conn:
        erased_at = await conn.execute(
            sa.select(user_table.c.erased_at).where(user_table.c.id == user_id)
        )
        found = erased_at.first()
        if found is None:
            raise AccountNotFoundError("no such account")
        if found.erased_at is not None:
            raise AlreadyErasedError("the account was erased: nothing is held to export")
        row = (
            await conn.execute(
                export_table.insert()
                .values(
                    id=uuid.uuid4(), user_id=user_id, requested_by=actor.label,
                    status=DataExportStatus.PENDING.value,
                )
                .returning(*_COLUMNS)
            )
        ).one()  # fmt: skip
        await record(
            conn, "gdpr.export_requested", actor=actor, client=client,
            subject=("DataExport", str(row.id)), subject_user_id=user_id,
        )  # fmt: skip
    return ExportRecord.from_row(row)


async def fetch_export(conn: AsyncConnection, export_id: uuid.UUID) -> ExportRecord | None:
    row = (await conn.execute(sa.select(*_COLUMNS).where(export_table.c.id == export_id))).first()
    return None if row is None else ExportRecord.from_row(row)


async def collect(conn: AsyncConnection, user_id: int, cipher: FieldCipher) -> dict[str, Any]:
    """The export document of one account, as a JSON-ready mapping."""
    return {
        "format": FORMAT,
        "version": 1,
        "generatedAt": plain(datetime.now(UTC)),
        "userId": user_id,
        "sections": {s.name: await s.collect(conn, user_id, cipher) for s in SECTIONS},
        "contents": {s.name: s.description for s in SECTIONS},
    }


async def build_export(
    engine: AsyncEngine,
    cipher: FieldCipher,
    export_id: uuid.UUID,
    *,
    ttl: timedelta,
    store: ExportStore = DEFAULT_STORE,
) -> bool:
    """Build a PENDING export's document; False when there is nothing to do."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            found = await fetch_export(conn, export_id)
            if found is None or found.status is not DataExportStatus.PENDING:
                return False
            document = orjson.dumps(await collect(conn, found.user_id, cipher))
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        updated = await conn.execute(
            export_table.update()
            .where(export_table.c.id == export_id, export_table.c.status == "PENDING")
            .values(status=DataExportStatus.READY.value, finished_at=now, expires_at=now + ttl)
        )
        if not updated.rowcount:
            return False
        await store.put(conn, export_id, document)
        await record(
            conn, "gdpr.export_ready", actor=SYSTEM, subject=("DataExport", str(export_id)),
            subject_user_id=found.user_id, details={"bytes": len(document)},
        )  # fmt: skip
    return True


async def mark_failed(engine: AsyncEngine, export_id: uuid.UUID, reason: str) -> bool:
    """Give up on a PENDING export (its job ran out of tries); False if it is not pending."""
    async with engine.begin() as conn:
        user_id = await conn.scalar(
            export_table.update()
            .where(export_table.c.id == export_id, export_table.c.status == "PENDING")
            .values(status=DataExportStatus.FAILED.value, finished_at=datetime.now(UTC))
            .returning(export_table.c.user_id)
        )
        if user_id is None:
            return False
        await record(
            conn, "gdpr.export_failed", actor=SYSTEM, subject=("DataExport", str(export_id)),
            subject_user_id=user_id, details={"reason": reason[:200]},
        )  # fmt: skip
    return True


async def download(
    engine: AsyncEngine,
    export_id: uuid.UUID,
    *,
    client: ClientInfo = NO_CLIENT,
    store: ExportStore = DEFAULT_STORE,
) -> bytes | None:
    """A READY, unexpired export's document (the download is audited); else None."""
    async with engine.begin() as conn:
        found = await fetch_export(conn, export_id)
        if (
            found is None
            or found.status is not DataExportStatus.READY
            or found.expires_at is None
            or found.expires_at <= datetime.now(UTC)
        ):
            return None
        document = await store.get(conn, export_id)
        if document is None:
            return None
        await record(
            conn, "gdpr.export_downloaded", actor=AuditActor("LINK"), client=client,
            subject=("DataExport", str(export_id)), subject_user_id=found.user_id,
        )  # fmt: skip
    return document


async def sweep_exports(engine: AsyncEngine, *, now: datetime | None = None) -> int:
    """Remove exports whose link expired (document and row); how many."""
    async with engine.begin() as conn:
        result = await conn.execute(
            export_table.delete().where(export_table.c.expires_at < (now or datetime.now(UTC)))
        )
    return int(result.rowcount)
