"""CORS as a browser enforces it: a page served by another server, on another origin, whose
script calls the API with fetch and a WebSocket, in headless Chromium.

In development (and test) a page on this machine (here `http://localhost:<port>`, as a
Next.js dev server) may call the API and read the headers it needs; in production only
CORS_ORIGINS may, and the browser itself refuses the others.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.api.conftest import Cast
from tests.api.subscription_support import gid
from tests.browser_support import TIMEOUT_MS, launch_chromium, require_chromium
from tests.conftest import Servers, running_uvicorn

# The page's own script: what a frontend does with the API, reporting what it could read.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>shop</title></head>
<body><script>
"use strict";
async function read(response) {
  return {
    status: response.status,
    body: await response.json(),
    requestId: response.headers.get("x-request-id"),
    replayed: response.headers.get("idempotent-replayed"),
    cache: response.headers.get("x-response-cache"),
    retryAfter: response.headers.get("retry-after"),
  };
}
window.post = async (api, body, headers) => read(await fetch(api + "/graphql", {
  method: "POST",
  headers: {"content-type": "application/json",
            accept: "application/graphql-response+json", ...headers},
  body: JSON.stringify(body),
}));
window.get = async (api, query) =>
  read(await fetch(api + "/graphql?query=" + encodeURIComponent(query)));
window.refused = async (api) => {
  try { await fetch(api + "/graphql?query=" + encodeURIComponent("{ __typename }")); }
  catch (error) { return error.name; }
  return "allowed";
};
window.acknowledged = (api) => new Promise((resolve) => {
  const socket = new WebSocket(api.replace("http", "ws") + "/graphql", "graphql-transport-ws");
  socket.onopen = () => socket.send(JSON.stringify({type: "connection_init"}));
  socket.onmessage = (event) => {
    resolve({kind: typeof event.data, message: JSON.parse(event.data)});
    socket.close();
  };
  socket.onclose = (event) => resolve({closed: event.code});
});
</script></body></html>
"""
ME = "query Me { me { email } }"
QUOTE = """mutation Quote($input: RequestQuoteInput!) {
  requestQuote(input: $input) { quote { id } userErrors { code } }
}"""
APOLLO_HEADERS = {
    "apollographql-client-name": "shop-web",
    "apollographql-client-version": "1.4.2",
    "x-request-id": "shop-page-1",
    "cache-control": "no-cache",
}


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: pytest shows failures, not page loads


@pytest.fixture(scope="module")
def page_port() -> Iterator[int]:
    """A second web server, like a frontend's dev server, serving the shop page."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def production_api(
    servers: Servers, database: str, page_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An API in production, allowing the shop page at localhost only, with a budget so
    small that one catalog page exhausts it (a 429 with Retry-After)."""
    env = {
        "ENVIRONMENT": "production",
        "CORS_ORIGINS": f'["http://localhost:{page_port}"]',
        "RATE_LIMIT_ANONYMOUS": "[60, 1]",
    }
    log = tmp_path_factory.mktemp("production") / "server.log"
    with running_uvicorn(servers, log, extra_env=env) as base_url:
        yield base_url


def _in_page(page_url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    """Open the page in Chromium and run its functions, in its own origin."""
    require_chromium()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(page_url)
            return [
                page.evaluate(f"(args) => window.{name}(...args)", arguments)
                for name, arguments in calls
            ]
        finally:
            browser.close()


def test_a_page_on_a_local_dev_server_calls_the_api_and_reads_its_headers(
    live_server: str, page_port: int, cast: Cast
) -> None:
    order = {"vehicleId": gid("Vehicle", 1), "destinationCountry": "DE"}  # a seeded vehicle
    quote = {"query": QUOTE, "variables": {"input": order}}
    key = {"idempotency-key": f"shop-{uuid.uuid4()}"}
    catalog = f"query Shop{uuid.uuid4().hex} {{ vehicles(first: 1) {{ totalCount }} }}"
    bearer = {"authorization": f"Bearer {cast.buyer.token}"}
    me, first, retry, miss, hit, socket = _in_page(
        f"http://localhost:{page_port}/",
        [
            ("post", [live_server, {"query": ME}, {**bearer, **APOLLO_HEADERS}]),
            ("post", [live_server, quote, key]),
            ("post", [live_server, quote, key]),
            # By POST, then by GET: a second GET would come from the browser's own cache.
            ("post", [live_server, {"query": catalog}, {}]),
            ("get", [live_server, catalog]),
            ("acknowledged", [live_server]),
        ],
    )
    assert (me["status"], me["body"]["data"]) == (200, {"me": {"email": cast.buyer.email}})
    assert me["requestId"] == "shop-page-1"
    assert (first["status"], first["replayed"], retry["replayed"]) == (200, None, "true")
    assert retry["body"] == first["body"]
    assert (miss["cache"], hit["cache"]) == ("MISS", "HIT")
    assert socket == {"kind": "string", "message": {"type": "connection_ack"}}


def test_in_production_only_the_configured_origins_may_call(
    production_api: str, page_port: int
) -> None:
    page = "{ vehicles(first: 20) { edges { node { id make model year } } } }"
    over_budget, socket = _in_page(
        f"http://localhost:{page_port}/",
        [("post", [production_api, {"query": page}, {}]), ("acknowledged", [production_api])],
    )
    assert over_budget["status"] == 429
    assert over_budget["body"]["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(over_budget["retryAfter"]) >= 1
    assert socket == {"kind": "string", "message": {"type": "connection_ack"}}

    # The same page from another origin: the browser refuses to hand over the answer,
    # and the API refuses the WebSocket handshake.
    refused, socket = _in_page(
        f"http://127.0.0.1:{page_port}/",
        [("refused", [production_api]), ("acknowledged", [production_api])],
    )
    assert refused == "TypeError"
    assert socket == {"closed": 1006}
