"""One run of the hostile-input suite against a live app: the corpus, then documents
generated from the schema, as every kind of caller; then the checks after the run."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given
from hypothesis import seed as seeded
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from services.vehicles.holds import hold_violations
from tests.fuzz.corpus import corpus, malformed_bodies
from tests.fuzz.harness import REQUEST_TIMEOUT, Figures, LiveApp, Request, send
from tests.fuzz.strategies import ROLES, documents

IDLE_IN_TRANSACTION = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND state LIKE 'idle in transaction%'
  AND pid <> pg_backend_pid()
"""


@dataclass(frozen=True, slots=True)
class Callers:
    """The headers each kind of caller sends."""

    headers: dict[str, dict[str, str]]

    @classmethod
    def of(cls, *, buyer: str, dealer: str, staff: str, partner_key: str) -> Callers:
        bearer = lambda token: {"authorization": f"Bearer {token}"}  # noqa: E731
        return cls({
            "anonymous": {},
            "buyer": bearer(buyer),
            "dealer": bearer(dealer),
            "staff": bearer(staff),
            "partner": {"x-api-key": partner_key},
        })  # fmt: skip


def client_for(live: LiveApp) -> httpx.Client:
    return httpx.Client(base_url=live.base_url, timeout=REQUEST_TIMEOUT)


def send_corpus(client: httpx.Client, figures: Figures, callers: Callers) -> None:
    """Every malformed body as every caller; each hostile string as one caller in turn."""
    malformed = {request.label for request in malformed_bodies()}
    for n, request in enumerate(corpus()):
        roles = ROLES if request.label in malformed else (ROLES[n % len(ROLES)],)
        for role in roles:
            send(client, figures, role, callers.headers[role], request)


def send_generated(
    client: httpx.Client,
    figures: Figures,
    callers: Callers,
    *,
    examples: int,
    seed: int,
    until: float | None = None,
) -> None:
    """`examples` documents generated from the schema (deterministic for a seed), sent
    by each kind of caller in turn; none once the monotonic clock passes `until`."""
    turn = iter(range(10**12))

    @seeded(seed)
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # every answer is checked and counted; nothing to shrink
        suppress_health_check=list(HealthCheck),
    )
    @given(document=documents())
    def probe(document: str) -> None:
        if until is not None and time.monotonic() > until:
            return
        role = ROLES[next(turn) % len(ROLES)]
        label = " ".join(document.split())[:160]
        send(client, figures, role, callers.headers[role], Request(label, json={"query": document}))

    probe()


async def aftermath(database_url: str, live: LiveApp) -> list[str]:
    """What a run left behind: connections idle in transaction, connections still
    checked out of the pool, vehicles whose status and orders disagree (a vehicle
    RESERVED or SOLD without its order, services/vehicles/holds.py)."""
    problems: list[str] = []
    deadline = time.monotonic() + 5
    while live.checked_out() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if live.checked_out():
        problems.append(f"{live.checked_out()} connections still checked out of the pool")
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            idle = (await conn.execute(sa.text(IDLE_IN_TRANSACTION))).scalar_one()
            if idle:
                problems.append(f"{idle} connections idle in transaction")
            for violation in await hold_violations(conn):
                problems.append(f"vehicle {violation.vehicle_id} {violation.vehicle_status}: "
                                f"{violation.problem}")  # fmt: skip
    finally:
        await engine.dispose()
    return problems
