"""Checking the audit chain: `autobroker audit verify`.

Entries are read in id order, in pages, and each must carry the hash of the one before
it and hash to its own `hash`. The oldest kept entry's `prev_hash` is taken as given:
the retention purge removes the oldest entries, never one in the middle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.audit.log import audit_table, entry_hash

PAGE = 1000


@dataclass(slots=True)
class ChainReport:
    checked: int = 0
    first_id: int | None = None
    last_id: int | None = None
    # (entry id, what is wrong with it)
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


async def verify_chain(engine: AsyncEngine) -> ChainReport:
    """Every break in the chain: an altered entry, or one missing before another."""
    report = ChainReport()
    previous: str | None = None
    after = 0
    async with engine.connect() as conn:
        while True:
            rows = (
                (
                    await conn.execute(
                        sa.select(audit_table)
                        .where(audit_table.c.id > after)
                        .order_by(audit_table.c.id)
                        .limit(PAGE)
                    )
                )
                .mappings()
                .all()
            )
            if not rows:
                return report
            for row in rows:
                if report.first_id is None:
                    report.first_id = row["id"]
                if previous is not None and row["prev_hash"] != previous:
                    report.problems.append(
                        (row["id"], "does not follow the entry before it (one removed or altered)")
                    )
                if entry_hash(dict(row)) != row["hash"]:
                    report.problems.append((row["id"], "its content does not match its hash"))
                previous = row["hash"]
                report.checked += 1
                report.last_id = after = row["id"]
