"""The hostile-input suite, a short seeded run (tests/fuzz): malformed bodies, hostile
strings and oversized inputs, then documents generated from the live schema, sent as
anonymous, buyer, dealer, partner and staff to the app on a real socket. No answer is a
5xx or INTERNAL_SERVER_ERROR, every error has a code, every refusal comes within 200 ms,
and the run leaves no connection idle in transaction or checked out, and no vehicle
RESERVED or SOLD without its order. The long run: `uv run python -m tests.fuzz`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from core.settings import Settings
from tests.api.conftest import Cast
from tests.fuzz.harness import Figures, LiveApp, fuzz_settings, live_app
from tests.fuzz.run import Callers, aftermath, client_for, send_corpus, send_generated

SEED = 17
EXAMPLES = 500


@pytest.fixture(scope="module")
def fuzzed(settings: Settings, database: str) -> Iterator[LiveApp]:
    with live_app(fuzz_settings(settings)) as live:
        yield live


@pytest.fixture
def callers(cast: Cast) -> Callers:
    return Callers.of(buyer=cast.buyer.token, dealer=cast.dealer.token, staff=cast.admin.token,
                      partner_key=cast.partner_key)  # fmt: skip


def _dsn(database: str) -> str:
    return database.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_the_corpus_breaks_nothing(fuzzed: LiveApp, callers: Callers, database: str) -> None:
    figures = Figures()
    with client_for(fuzzed) as client:
        await asyncio.to_thread(send_corpus, client, figures, callers)
    print(figures.report(1))
    assert figures.failures == []
    assert await aftermath(_dsn(database), fuzzed) == []


async def test_generated_documents_break_nothing(
    fuzzed: LiveApp, callers: Callers, database: str
) -> None:
    figures = Figures()
    with client_for(fuzzed) as client:
        await asyncio.to_thread(
            send_generated, client, figures, callers, examples=EXAMPLES, seed=SEED
        )
    print(figures.report(1))
    assert set(figures.requests) == {"anonymous", "buyer", "dealer", "partner", "staff"}
    assert figures.failures == []
    assert await aftermath(_dsn(database), fuzzed) == []
