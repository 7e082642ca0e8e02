"""Feed ingestion over GraphQL: startFeedIngestion for staff, its userErrors, and feedRun /
feedRuns / node while a run runs and after, with a real arq worker applying it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.app import create_app
from core.settings import Settings
from jobs.worker import create_worker
from schema.ids import to_global_id
from tests.api.conftest import Cast
from tests.conftest import graphql
from tests.feeds_data import LOOPBACK, csv_text, feed_rows, new_source, serve_slowly

RUN_FIELDS = """
  source url format status failureReason attempts requestedBy dealer { id }
  counts { rowsRead created updated unchanged withdrawn rejected }
"""
START = f"""
mutation Start($input: StartFeedIngestionInput!) {{
  startFeedIngestion(input: $input) {{
    feedRun {{ id {RUN_FIELDS} }}
    userErrors {{ field code message }}
  }}
}}
"""
RUN = f"""
query Run($id: ID!, $first: Int, $after: String) {{
  feedRun(id: $id) {{
    {RUN_FIELDS}
    rejectedRows(first: $first, after: $after) {{
      totalCount
      pageInfo {{ hasNextPage endCursor }}
      edges {{ node {{ line externalId reasons {{ field code }} }} }}
    }}
  }}
}}
"""
RUNS = """
query Runs($source: String, $status: [FeedRunStatus!]) {
  feedRuns(source: $source, status: $status, first: 10) {
    totalCount
    edges { node { id status counts { rowsRead } } }
  }
}
"""
NODE = "query Node($id: ID!) { node(id: $id) { id ... on FeedRun { status } } }"


@pytest.fixture(scope="module")
def feed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feeds")


@pytest.fixture(scope="module")
async def feeds_client(
    settings: Settings, database: str, feed_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with FEED_DIRECTORY pointing at this module's feed directory."""
    app = create_app(
        settings.model_copy(update={"feed_directory": feed_dir, "feed_allowed_networks": LOOPBACK})
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def _work(settings: Settings) -> None:
    """A burst arq worker: runs what is queued, then stops."""
    worker = create_worker(settings, handle_signals=False, burst=True)
    worker.cron_jobs = []
    try:
        await worker.main()
    finally:
        await worker.close()


async def _start(client: httpx.AsyncClient, cast: Cast, **given: Any) -> dict[str, Any]:
    body = await graphql(client, START, {"input": given}, **cast.admin.headers)
    payload: dict[str, Any] = body["data"]["startFeedIngestion"]
    return payload


async def test_staff_start_a_run_and_follow_it_to_its_end(
    feeds_client: httpx.AsyncClient, cast: Cast, settings: Settings, feed_dir: Path
) -> None:
    good = feed_rows(3)
    feed = feed_dir / "stock.csv"
    feed.write_text(
        csv_text(
            [good[0], {**good[1], "external_id": "BROKEN-1", "vin": "SHORT"}, good[1], good[2]]
        )
        + "x,y\n"
    )
    source, dealer = new_source(), to_global_id("Dealer", cast.dealer_ids[0])
    payload = await _start(feeds_client, cast, source=source, url=str(feed), dealerId=dealer)
    run_id = payload["feedRun"].pop("id")
    zero = dict.fromkeys(
        ("rowsRead", "created", "updated", "unchanged", "withdrawn", "rejected"), 0
    )
    queued = {
        "source": source, "url": str(feed.resolve()), "format": None, "status": "QUEUED",
        "failureReason": None, "attempts": 0, "requestedBy": f"admin:{cast.admin.id}",
        "dealer": {"id": dealer}, "counts": zero,
    }  # fmt: skip
    assert payload == {"feedRun": queued, "userErrors": []}

    await _work(settings)
    body = await graphql(feeds_client, RUN, {"id": run_id, "first": 1}, **cast.admin.headers)
    rejected = body["data"]["feedRun"].pop("rejectedRows")
    assert body == {"data": {"feedRun": {
        **queued, "format": "CSV", "status": "SUCCEEDED", "attempts": 1,
        "counts": {**zero, "rowsRead": 5, "created": 3, "rejected": 2},
    }}}  # fmt: skip
    assert rejected["totalCount"] == 2
    assert rejected["edges"] == [{"node": {"line": 3, "externalId": "BROKEN-1",
                                           "reasons": [{"field": "vin", "code": "VIN_INVALID"}]}}]  # fmt: skip
    assert rejected["pageInfo"]["hasNextPage"] is True
    after = rejected["pageInfo"]["endCursor"]
    body = await graphql(feeds_client, RUN, {"id": run_id, "first": 5, "after": after},
                         **cast.admin.headers)  # fmt: skip
    assert body["data"]["feedRun"]["rejectedRows"] == {
        "totalCount": 2,
        "pageInfo": {"hasNextPage": False, "endCursor": body["data"]["feedRun"]["rejectedRows"]["pageInfo"]["endCursor"]},
        "edges": [{"node": {"line": 6, "externalId": None, "reasons": [{"field": "line", "code": "FIELD_COUNT"}]}}],
    }  # fmt: skip

    body = await graphql(feeds_client, RUNS, {"source": source}, **cast.admin.headers)
    assert body == {"data": {"feedRuns": {"totalCount": 1, "edges": [
        {"node": {"id": run_id, "status": "SUCCEEDED", "counts": {"rowsRead": 5}}}
    ]}}}  # fmt: skip
    body = await graphql(feeds_client, NODE, {"id": run_id}, **cast.admin.headers)
    assert body == {"data": {"node": {"id": run_id, "status": "SUCCEEDED"}}}


async def test_a_run_shows_its_progress_while_it_runs(
    feeds_client: httpx.AsyncClient, cast: Cast, settings: Settings
) -> None:
    source, rows = new_source(), feed_rows(20_000)
    dealer = to_global_id("Dealer", cast.dealer_ids[1])
    # About 2 MB, 64 KB every 0.1 s: the run takes over three seconds on any machine.
    with serve_slowly(csv_text(rows).encode()) as feed:
        payload = await _start(feeds_client, cast, source=source, url=feed.url, dealerId=dealer)
        run_id = payload["feedRun"]["id"]
        working = asyncio.create_task(
            _work(settings.model_copy(update={"feed_allowed_networks": LOOPBACK}))
        )
        seen: list[tuple[str, int]] = []
        while not working.done():
            body = await graphql(feeds_client, RUN, {"id": run_id}, **cast.admin.headers)
            run = body["data"]["feedRun"]
            seen.append((run["status"], run["counts"]["rowsRead"]))
            await asyncio.sleep(0.2)
        await working
    assert any(status == "RUNNING" and 0 < read < len(rows) for status, read in seen), seen
    body = await graphql(feeds_client, RUNS, {"source": source, "status": ["RUNNING"]},
                         **cast.admin.headers)  # fmt: skip
    assert body["data"]["feedRuns"] == {"totalCount": 0, "edges": []}
    body = await graphql(feeds_client, RUNS, {"source": source, "status": ["SUCCEEDED"]},
                         **cast.admin.headers)  # fmt: skip
    assert body["data"]["feedRuns"]["edges"] == [
        {"node": {"id": run_id, "status": "SUCCEEDED", "counts": {"rowsRead": len(rows)}}}
    ]


@pytest.mark.parametrize(
    ("given", "field", "code"),
    [({"url": "ftp://feeds.example/stock.csv"}, "url", "URL_SCHEME_UNSUPPORTED"),
     ({"url": "{dir}/missing.csv"}, "url", "FEED_NOT_FOUND"),
     ({"url": "/etc/passwd"}, "url", "FEED_PATH_NOT_ALLOWED"),
     ({"url": "http:///stock.csv"}, "url", "URL_INVALID"),
     ({"url": "http://169.254.169.254/latest/meta-data/"}, "url", "FEED_URL_NOT_ALLOWED"),
     ({"url": "https://[fd00::1]/stock.csv"}, "url", "FEED_URL_NOT_ALLOWED"),
     ({"source": "no spaces please"}, "source", "SOURCE_INVALID"),
     ({"dealerId": to_global_id("Dealer", 987_654_321)}, "dealerId", "DEALER_NOT_FOUND")],
)  # fmt: skip
async def test_refusals_are_user_errors_naming_the_field(
    feeds_client: httpx.AsyncClient, cast: Cast, feed_dir: Path, given: dict[str, Any],
    field: str, code: str,
) -> None:  # fmt: skip
    (feed_dir / "ok.csv").write_text(csv_text(feed_rows(1)))
    base = {"source": new_source(), "url": str(feed_dir / "ok.csv")}
    given = {key: value.replace("{dir}", str(feed_dir)) for key, value in given.items()}
    payload = await _start(feeds_client, cast, **(base | given))
    assert payload["feedRun"] is None
    assert [(error["field"], error["code"]) for error in payload["userErrors"]] == [
        (["input", field], code)
    ]


async def test_only_staff_start_or_see_feed_runs(
    feeds_client: httpx.AsyncClient, cast: Cast, feed_dir: Path
) -> None:
    (feed_dir / "ok.csv").write_text(csv_text(feed_rows(1)))
    given = {"source": new_source(), "url": str(feed_dir / "ok.csv")}
    run_id = (await _start(feeds_client, cast, **given))["feedRun"]["id"]
    for who, code in (
        (cast.buyer, "FORBIDDEN"),
        (cast.dealer, "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ):
        headers = {} if who is None else who.headers
        for operation, variables in ((START, {"input": given}), (RUN, {"id": run_id}),
                                     (RUNS, {}), (NODE, {"id": run_id})):  # fmt: skip
            body = await graphql(feeds_client, operation, variables, **headers)
            assert [error["extensions"]["code"] for error in body["errors"]] == [code], body


async def test_loopback_urls_in_any_spelling_are_refused_by_default(
    client: httpx.AsyncClient, cast: Cast
) -> None:
    port = 8000  # the API's own port in `dev`; no connection is ever made
    for host in ("0x7f000001", "2130706433", "127.0.0.1", "localhost", "[::1]"):
        url = f"http://{host}:{port}/metrics"
        payload = await _start(client, cast, source=new_source(), url=url)
        assert payload["feedRun"] is None, url
        [error] = payload["userErrors"]
        assert (error["field"], error["code"]) == (["input", "url"], "FEED_URL_NOT_ALLOWED")
        assert "metrics" not in error["message"]
