"""Valuation jobs: retrain the model daily, and after a feed run that changed many vehicles.

A retraining stores a new version and activates it only if its evaluation beats the
comparables (services/pricing/model_retraining.py); running it twice stores two versions
and serves the later one, which is harmless.
"""

from __future__ import annotations

import logging
from typing import Any

from core.job_queue import ArqJobQueue
from jobs.context import resources
from services.pricing.model_retraining import retrain

log = logging.getLogger(__name__)

RETRAIN_JOB = "retrain_valuation"


async def retrain_valuation_job(ctx: dict[str, Any]) -> dict[str, Any]:
    """Train a valuation model on the catalog; serve it if it beats the comparables."""
    outcome = await retrain(resources(ctx).database.engine)
    evaluation = outcome.evaluation
    result = {"version": outcome.version, "activated": outcome.activated,
              "model_mdape": evaluation.model_mdape,
              "comparables_mdape": evaluation.comparables_mdape,
              "interval_coverage": evaluation.interval_coverage,
              "refusal": evaluation.refusal}  # fmt: skip
    log.info("valuation model retrained", extra={"job": RETRAIN_JOB, **result})
    return result


async def retrain_after_feed(ctx: dict[str, Any], run_id: int, changed_rows: int) -> bool:
    """Queue a retraining when feed run `run_id` created or updated enough vehicles."""
    res = resources(ctx)
    if changed_rows < res.settings.valuation_retrain_after_feed_rows:
        return False
    return await ArqJobQueue(res.redis).enqueue(
        RETRAIN_JOB, job_id=f"{RETRAIN_JOB}:feed-run:{run_id}"
    )
