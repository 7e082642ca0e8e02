"""Where finished export documents are kept, behind one small interface.

`ExportStore` is all the export code uses: put, get, delete by export id. The one
implementation today keeps the document in PostgreSQL (`data_export.document`), beside
its status row, so every replica and worker reads what another wrote with nothing more
to run. An object store (S3) can take its place by implementing the same three calls.
"""

from __future__ import annotations

import uuid
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from models.audit import DataExport

export_table: sa.Table = DataExport.__table__  # type: ignore[attr-defined]


class ExportStore(Protocol):
    async def put(self, conn: AsyncConnection, export_id: uuid.UUID, document: bytes) -> None: ...

    async def get(self, conn: AsyncConnection, export_id: uuid.UUID) -> bytes | None: ...

    async def delete(self, conn: AsyncConnection, export_id: uuid.UUID) -> None: ...


class DatabaseExportStore:
    """Documents in the export's own row."""

    async def put(self, conn: AsyncConnection, export_id: uuid.UUID, document: bytes) -> None:
        await conn.execute(
            export_table.update().where(export_table.c.id == export_id).values(document=document)
        )

    async def get(self, conn: AsyncConnection, export_id: uuid.UUID) -> bytes | None:
        found: bytes | None = await conn.scalar(
            sa.select(export_table.c.document).where(export_table.c.id == export_id)
        )
        return found

    async def delete(self, conn: AsyncConnection, export_id: uuid.UUID) -> None:
        await conn.execute(
            export_table.update().where(export_table.c.id == export_id).values(document=None)
        )


DEFAULT_STORE: ExportStore = DatabaseExportStore()
