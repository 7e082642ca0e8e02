"""The serving valuation model of this process, kept in step with the active version.

Every replica (API process or worker) polls the active version every
VALUATION_MODEL_CHECK_SECONDS (`watch_active_model`) and loads a new one when it
changes, so all replicas serve the version the database marks active within one
interval of a switch. Between polls the model lives in memory: valuing a page is one
batched prediction, no statement.

Nothing here ever fails a quote: a model that cannot be read (corrupt bytes, a version
deleted between the two reads) or a prediction that raises is logged and the
comparables value the vehicles; a database that cannot be polled keeps the model held.

A valuation depends only on the model version, the day (ages count in days) and the
listing's features, so each is predicted once per process and day and kept in a
bounded memo: a catalog page seen before costs dictionary lookups, not trees.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.pricing.engine import ModelValuation, to_cents
from services.pricing.model_features import Listing, feature_matrix
from services.pricing.model_store import active_version, model_bytes
from services.pricing.model_training import CorruptModelError, ValuationModel, load_model

logger = logging.getLogger(__name__)

# Valuations kept per process (about 200 bytes each); past this many the memo starts over.
MEMO_SIZE = 200_000


@dataclass(frozen=True, slots=True)
class ServingModel:
    version: int
    model: ValuationModel


class ActiveModel:
    """The model this process serves, or None (the comparables value every vehicle)."""

    def __init__(self) -> None:
        self.current: ServingModel | None = None
        self._refused: int | None = None  # a version that failed to load: logged once
        # Valuations already predicted, by (version, day, listing): catalog pages repeat.
        self._memo: dict[tuple[int, date, Listing], ModelValuation] = {}

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
        self._memo.clear()
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
        memo, version = self._memo, serving.version
        missing = list({item for item in listings if (version, as_of, item) not in memo})
        if missing:
            try:
                import numpy as np  # here: a process without a model never imports it

                model = serving.model
                matrix = feature_matrix(missing, model.vocabulary, as_of=as_of)
                predicted = model.predict_log(matrix)
                point, low, high = (np.exp(predicted[name]) for name in ("point", "low", "high"))
            except Exception:  # a model that fails here must not fail a page: log, fall back
                logger.exception("valuation model v%s failed to predict, the comparables "
                                 "value these vehicles", version)  # fmt: skip
                return [None] * len(listings)
            if len(memo) + len(missing) > MEMO_SIZE:
                memo.clear()
            for item, p, lo, hi in zip(missing, point.tolist(), low.tolist(), high.tolist(),
                                       strict=True):  # fmt: skip
                memo[(version, as_of, item)] = ModelValuation(
                    version, _cents(p), _cents(lo), _cents(hi)
                )
        return [memo[(version, as_of, item)] for item in listings]


def _cents(amount: float) -> Decimal:
    # A float leaves the model here and becomes money: rounded to the cent once.
    return to_cents(Decimal(repr(amount)))


ACTIVE_MODEL = ActiveModel()


async def watch_active_model(engine: AsyncEngine, interval_seconds: float) -> None:
    """Refresh ACTIVE_MODEL now and every `interval_seconds`, until cancelled."""
    while True:
        await ACTIVE_MODEL.refresh(engine)
        await asyncio.sleep(interval_seconds)
