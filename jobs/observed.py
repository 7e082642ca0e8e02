"""Every job run measured and traced: `observed` wraps an arq function or cron job.

Each run records `autobroker_job_runs_total` and `autobroker_job_duration_seconds` by job
name and outcome (core/metrics.py) and, when tracing is on (core/tracing.py), runs in a
`job <name>` span whose children are the job's SQL and Redis spans. Outcomes:

- `success`: the function returned;
- `retry`: it raised `arq.Retry` (arq runs it again after the delay it asked for);
- `cancelled`: the worker stopped it (shutdown after `WORKER_SHUTDOWN_SECONDS`, or the
  job timeout); arq hands the job back to the queue;
- `unavailable`: PostgreSQL or Redis was down or too slow (core/availability.py): the run
  is retried (arq.Retry) after 5, 10, 20, 40 s… (at most 60 s), within `max_tries`;
- `failure`: it raised anything else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from arq import Retry
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from core.availability import unavailable_dependency
from core.metrics import record_job

tracer = trace.get_tracer("autobroker.jobs")

UNAVAILABLE_RETRY_SECONDS = 5
JobFunction = Callable[..., Awaitable[Any]]
Job = TypeVar("Job")


def _measured(name: str, coroutine: JobFunction) -> JobFunction:
    @functools.wraps(coroutine)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outcome = "failure"
        attributes: dict[str, str | int] = {
            "job.name": name,
            "job.try": int(ctx.get("job_try") or 1),
        }
        try:
            with tracer.start_as_current_span(
                f"job {name}", kind=SpanKind.CONSUMER, attributes=attributes
            ):
                result = await coroutine(ctx, *args, **kwargs)
            outcome = "success"
            return result
        except Retry:
            outcome = "retry"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as error:
            if unavailable_dependency(error) is None:
                raise
            outcome = "unavailable"
            tries = int(ctx.get("job_try") or 1)
            raise Retry(defer=min(UNAVAILABLE_RETRY_SECONDS * 2 ** (tries - 1), 60)) from error
        finally:
            record_job(name, outcome, time.perf_counter() - started)

    return run


def observed(job: Job) -> Job:
    """The same arq `Function` or `CronJob`, its coroutine measured and traced."""
    name: str = job.name  # type: ignore[attr-defined]
    coroutine: JobFunction = job.coroutine  # type: ignore[attr-defined]
    return dataclasses.replace(job, coroutine=_measured(name, coroutine))  # type: ignore[type-var]
