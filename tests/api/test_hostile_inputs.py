"""The hostile-input suite, a short seeded run (tests/fuzz): malformed bodies, hostile
strings and oversized inputs, then documents generated from the live schema, sent as
anonymous, buyer, dealer, partner and staff to the app on a real socket. No answer is a
5xx or INTERNAL_SERVER_ERROR, every error has a code, every refusal comes within 200 ms,
and the run leaves no connection idle in transaction or checked out, and no vehicle
RESERVED or SOLD without its order. The long run: `uv run python -m tests.fuzz`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
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


async def test_the_corpus_breaks_nothing(fuzzed: LiveApp, callers: Callers, database: str) -> None:
    figures = Figures()
    with client_for(fuzzed) as client:
        await asyncio.to_thread(send_corpus, client, figures, callers)
    print(figures.report(1))
    assert figures.failures == []
    assert await aftermath(database, fuzzed) == []


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
    assert await aftermath(database, fuzzed) == []


SURROGATE_IN_TEXT = "{ __typename } # \ud800"


@pytest.mark.parametrize(
    "extra",
    [{}, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}],
    ids=["text", "persisted query"],
)
async def test_a_document_utf8_cannot_encode_is_refused_before_it_is_hashed(
    client: httpx.AsyncClient, cast: Cast, extra: dict[str, object]
) -> None:
    # A partner's text is hashed to find its registered operation, a persisted query's to
    # check its hash: both before parsing, where an unpaired surrogate cannot be encoded.
    for headers in ({"x-api-key": cast.partner_key}, {}):
        body = json.dumps({"query": SURROGATE_IN_TEXT, **extra})
        response = await client.post("/graphql", content=body, headers={
            "content-type": "application/json", **headers})  # fmt: skip
        assert response.status_code == 400, response.text
        assert response.json()["errors"] == [{
            "message": "query: text may not contain unpaired surrogates",
            "extensions": {"code": "BAD_USER_INPUT"},
        }]  # fmt: skip
