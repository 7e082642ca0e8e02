"""The serving valuation model of this process, kept in step with the active version.

Every replica (API process or worker) polls the active version every
VALUATION_MODEL_CHECK_SECONDS (`watch_active_model`) and loads a new one when it
changes, so all replicas serve the version the database marks active within one
interval of a switch. Between polls the model lives in memory: valuing a page is one
batched prediction, no statement.

Nothing here ever fails a quote: a model that cannot be read (corrupt bytes, a version
deleted between the two reads) or a prediction that raises is logged and the
comparables value the vehicles; a database that cannot be polled keeps the model held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.pricing.engine import ModelValuation, to_cents
from services.pricing.model_features import Listing, feature_matrix
from services.pricing.model_store import active_version, model_bytes
from services.pricing.model_training import CorruptModelError, ValuationModel, load_model

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServingModel:
    version: int
    model: ValuationModel


class ActiveModel:
    """The model this process serves, or None (the comparables value every vehicle)."""

    def __init__(self) -> None:
        self.current: ServingModel | None = None
        self._refused: int | None = None  # a version that failed to load: logged once

    async def refresh(self, engine: AsyncEngine) -> ServingModel | None:
        """Follow the database's active version; the model now served."""
        try:
            async with engine.connect() as conn:
                version = await active_version(conn)
                if version is None or (self.current and self.current.version == version):
                    payload = None
                elif version == self._refused:
                    return self.current
                else:
                    payload = await model_bytes(conn, version)
        except (OSError, SQLAlchemyError) as error:
            logger.warning("valuation model: cannot read the active version, keeping "
                           "the one held: %s", error)  # fmt: skip
            return self.current
        if version is None:
            self.current = None
        elif payload is not None:
            self._load(version, payload)
        elif self.current is None or self.current.version != version:
            self._fail(version, "its row is gone")
        return self.current

    def _load(self, version: int, payload: bytes) -> None:
        try:
            self.current = ServingModel(version, load_model(payload))
        except CorruptModelError as error:
            self._fail(version, str(error))
        else:
            logger.info("valuation model v%s serves", version)

    def _fail(self, version: int, reason: str) -> None:
        self.current, self._refused = None, version
        logger.warning("valuation model v%s cannot be loaded, the comparables value "
                       "vehicles: %s", version, reason)  # fmt: skip

    def value(self, listings: Sequence[Listing], *, as_of: date) -> list[ModelValuation | None]:
        """The served model's valuation of each listing in one batch; None without a model."""
        serving = self.current
        if serving is None or not listings:
            return [None] * len(listings)
        try:
            model = serving.model
            predicted = model.predict_log(feature_matrix(listings, model.vocabulary, as_of=as_of))
            point, low, high = (np.exp(predicted[name]) for name in ("point", "low", "high"))
        except Exception:  # a model that fails here must not fail a page: log, fall back
            logger.exception("valuation model v%s failed to predict, the comparables value "
                             "these vehicles", serving.version)  # fmt: skip
            return [None] * len(listings)
        return [
            ModelValuation(serving.version, _cents(p), _cents(lo), _cents(hi))
            for p, lo, hi in zip(point.tolist(), low.tolist(), high.tolist(), strict=True)
        ]


def _cents(amount: float) -> Decimal:
    # A float leaves the model here and becomes money: rounded to the cent once.
    return to_cents(Decimal(repr(amount)))


ACTIVE_MODEL = ActiveModel()


async def watch_active_model(engine: AsyncEngine, interval_seconds: float) -> None:
    """Refresh ACTIVE_MODEL now and every `interval_seconds`, until cancelled."""
    while True:
        await ACTIVE_MODEL.refresh(engine)
        await asyncio.sleep(interval_seconds)
