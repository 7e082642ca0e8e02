"""The pure parts of degraded mode: the Redis circuit, the fallback limiters, which
failures are unavailability, and how missed cron ticks collapse into one run."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from arq import cron
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc

from core.availability import ServiceUnavailableError, unavailable_dependency
from core.rate_limit import BucketLimit, LocalBuckets
from core.redis import RedisCircuit
from jobs.resilient import _skip_to_latest_missed
from services.accounts.throttle import LocalWindows


def test_the_circuit_opens_on_a_failure_and_closes_on_the_next_success() -> None:
    circuit = RedisCircuit(open_seconds=0.2)
    assert circuit.allow()
    assert not circuit.degraded
    circuit.record_failure()
    circuit.record_failure()
    assert circuit.degraded
    assert not circuit.allow()  # calls are refused at once while open
    time.sleep(0.25)
    assert circuit.allow()  # then the next call probes
    circuit.record_success()
    assert (circuit.degraded, circuit.outages, circuit.recoveries) == (False, 1, 1)


def test_the_fallback_bucket_keeps_the_budget_of_the_shared_one() -> None:
    buckets = LocalBuckets()
    limit = BucketLimit(capacity=100, restore_rate=10)
    first = buckets.take("ip:a", limit, 80)
    assert (first.allowed, first.available) == (True, 20)
    refused = buckets.take("ip:a", limit, 50)
    assert not refused.allowed
    assert refused.retry_after_seconds in (3, 4)  # 30 points missing at 10 a second
    assert buckets.take("ip:b", limit, 100).allowed  # another identity, its own bucket
    assert buckets.take("ip:a", limit, -80).available == 100  # a refund, up to capacity


def test_the_fallback_windows_count_attempts_and_end() -> None:
    windows = LocalWindows()
    assert windows.count(["client", "account"], 60)[0::2] == [1, 1]
    assert windows.count(["client", "account"], 60)[0::2] == [2, 2]
    windows.forget("account")
    assert windows.count(["client", "account"], 60)[0::2] == [3, 1]
    windows.count(["short"], 0)
    assert windows.count(["short"], 0)[0] == 1  # a window that ended starts again


@pytest.mark.parametrize(
    ("error", "dependency"),
    [
        (RedisConnectionError("refused"), "redis"),
        (RedisTimeoutError("slow"), "redis"),
        (ResponseError("WRONGTYPE"), None),
        (sa_exc.TimeoutError("QueuePool limit reached"), "database"),
        (asyncpg.exceptions.ConnectionDoesNotExistError("gone"), "database"),
        (asyncpg.exceptions.QueryCanceledError("statement timeout"), "database"),
        (asyncpg.exceptions.UniqueViolationError("duplicate"), None),
        (ConnectionRefusedError(111, "Connection refused"), "database"),
        (TimeoutError(), "database"),
        (ServiceUnavailableError("redis"), "redis"),
        (ValueError("a bug"), None),
        (FileNotFoundError("feed.csv"), None),
    ],
)
def test_which_failures_are_unavailability(error: BaseException, dependency: str | None) -> None:
    assert unavailable_dependency(error) == dependency


def test_a_wrapped_driver_error_is_seen_through() -> None:
    def load() -> None:
        try:
            raise asyncpg.exceptions.AdminShutdownError("terminating connection")
        except asyncpg.exceptions.AdminShutdownError as inner:
            raise RuntimeError("while loading") from inner

    with pytest.raises(RuntimeError) as raised:
        load()
    assert unavailable_dependency(raised.value) == "database"


def test_cron_ticks_missed_during_an_outage_collapse_into_the_latest() -> None:
    async def job(ctx: dict[str, object]) -> None:
        return None

    every_minute = cron(job, name="cron:job", second=0, microsecond=0)
    now = datetime(2026, 12, 3, 13, 10, 30, tzinfo=UTC)
    every_minute.next_run = now - timedelta(minutes=5, seconds=30)  # 13:05:00, five missed
    _skip_to_latest_missed(every_minute, now)
    assert every_minute.next_run == datetime(2026, 12, 3, 13, 10, 0, tzinfo=UTC)
    _skip_to_latest_missed(every_minute, now)  # nothing more to skip
    assert every_minute.next_run == datetime(2026, 12, 3, 13, 10, 0, tzinfo=UTC)
    every_minute.next_run = now + timedelta(seconds=30)  # not yet due: untouched
    _skip_to_latest_missed(every_minute, now)
    assert every_minute.next_run == now + timedelta(seconds=30)
