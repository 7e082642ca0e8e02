"""Valuation models in PostgreSQL: save, list, activate and read the serving one.

Activation is one transaction: clear the active flag, set it on the chosen version (the
partial unique index guarantees at most one). A model whose evaluation refused it
cannot be activated: `ModelRefusedError` carries the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.base import utcnow
from models.valuation_model import ValuationModelRecord
from services.pricing.model_evaluation import Evaluation

table: sa.Table = ValuationModelRecord.__table__  # type: ignore[attr-defined]


class ModelNotFoundError(LookupError):
    """No valuation model of that version."""

    def __init__(self, version: int) -> None:
        super().__init__(f"no valuation model version {version}")
        self.version = version


class ModelRefusedError(ValueError):
    """The model's evaluation refused it: it may not serve."""

    def __init__(self, version: int, reason: str) -> None:
        super().__init__(f"valuation model version {version} was refused: {reason}")
        self.version, self.reason = version, reason


@dataclass(frozen=True, slots=True)
class StoredModel:
    """A stored model's description, without its bytes."""

    version: int
    trained_at: datetime
    evaluation: Evaluation
    active: bool
    size_bytes: int


async def save_model(
    conn: AsyncConnection, payload: bytes, evaluation: Evaluation, *, trained_at: datetime
) -> int:
    """Store a trained model (inactive); its new version."""
    statement = (
        sa.insert(table)
        .values(trained_at=trained_at, metrics=evaluation.as_json(), model=payload)
        .returning(table.c.version)
    )
    version: int = (await conn.execute(statement)).scalar_one()
    return version


async def list_models(conn: AsyncConnection) -> list[StoredModel]:
    """Every stored model, newest first."""
    c = table.c
    rows = await conn.execute(
        sa.select(c.version, c.trained_at, c.metrics, c.active,
                  sa.func.octet_length(c.model).label("size"))
        .order_by(c.version.desc())
    )  # fmt: skip
    return [
        StoredModel(row.version, row.trained_at, Evaluation.from_json(row.metrics), row.active,
                    row.size)
        for row in rows
    ]  # fmt: skip


async def activate_model(engine: AsyncEngine, version: int) -> None:
    """Make `version` the serving model, in one transaction."""
    async with engine.begin() as conn:
        row = (await conn.execute(
            sa.select(table.c.metrics).where(table.c.version == version).with_for_update()
        )).first()  # fmt: skip
        if row is None:
            raise ModelNotFoundError(version)
        evaluation = Evaluation.from_json(row.metrics)
        if evaluation.refusal is not None:
            raise ModelRefusedError(version, evaluation.refusal)
        await conn.execute(sa.update(table).where(table.c.active).values(active=False))
        await conn.execute(
            sa.update(table)
            .where(table.c.version == version)
            .values(active=True, activated_at=utcnow())
        )


async def deactivate_models(engine: AsyncEngine) -> int | None:
    """No model serves any more (the comparables do); the version that did, if any."""
    async with engine.begin() as conn:
        statement = (
            sa.update(table).where(table.c.active).values(active=False).returning(table.c.version)
        )
        version: int | None = (await conn.execute(statement)).scalar_one_or_none()
        return version


async def active_version(conn: AsyncConnection) -> int | None:
    """The serving model's version, or None (a primary-key-sized read: polled often)."""
    statement = sa.select(table.c.version).where(table.c.active)
    version: int | None = (await conn.execute(statement)).scalar_one_or_none()
    return version


async def model_bytes(conn: AsyncConnection, version: int) -> bytes | None:
    """The stored bytes of `version`, or None when it is gone."""
    statement = sa.select(table.c.model).where(table.c.version == version)
    payload: bytes | None = (await conn.execute(statement)).scalar_one_or_none()
    return payload
