"""GraphiQL in a real headless Chromium against a live uvicorn server.

The page must work with no internet: every request it makes goes to the API's own
origin, subscriptions included (GraphiQL's graphql-ws client on the API's WebSocket).
Chromium and Playwright as tests/browser_support.py sets them up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from core.graphiql_examples import EXAMPLE_TABS, HEADERS_TEMPLATE, SIGN_IN
from tests.api.conftest import Cast
from tests.api.subscription_support import WAIT_SECONDS, bearer, gid, reserved_order
from tests.browser_support import TIMEOUT_MS, launch_chromium, require_chromium

# The variables and headers editors share one pane; the hidden one is still in the DOM.
VISIBLE_TOOL_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
CANCEL = """mutation Cancel($id: ID!) {
  cancelOrder(input: {orderId: $id}) { order { status } userErrors { code } }
}"""


@dataclass
class OpenedGraphiQL:
    page: Page
    origin: str
    requested: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def assert_only_own_origin_was_contacted(self) -> None:
        own = urlsplit(self.origin)
        foreign = [
            url
            for url in self.requested
            # data: URLs (the empty favicon, inlined fonts) never reach a network.
            if not url.startswith("data:") and urlsplit(url)[:2] != own[:2]
        ]
        foreign += [url for url in self.websockets if urlsplit(url).netloc != own.netloc]
        assert foreign == [], f"the page contacted other origins: {foreign}"
        assert self.problems == [], f"the page had failures: {self.problems}"


@pytest.fixture
def graphiql(live_server: str, tmp_path: Path) -> Iterator[OpenedGraphiQL]:
    require_chromium()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            opened = OpenedGraphiQL(page=page, origin=live_server)
            # Recorded on the context, not the page, so requests from workers count too.
            context.on("request", lambda request: opened.requested.append(request.url))
            context.on(
                "requestfailed",
                lambda request: opened.problems.append(
                    f"request failed: {request.url} ({request.failure})"
                ),
            )
            context.on(
                "response",
                lambda response: (
                    opened.problems.append(f"HTTP {response.status}: {response.url}")
                    if response.status >= 400
                    else None
                ),
            )
            page.on("websocket", lambda ws: opened.websockets.append(ws.url))
            page.on(
                "pageerror",
                lambda error: opened.problems.append(f"page error: {error}"),
            )

            page.goto(f"{live_server}/graphql")
            page.locator(".graphiql-query-editor .CodeMirror").wait_for(state="visible")
            try:
                yield opened
            finally:
                # Kept with pytest's tmp dirs: the last picture of the page helps a failed run.
                page.screenshot(path=tmp_path / "graphiql.png")
        finally:
            browser.close()


def _editor_value(page: Page, selector: str) -> str:
    # CodeMirror 5 renders only the visible lines; its instance has the whole text.
    return str(page.eval_on_selector(selector, "element => element.CodeMirror.getValue()"))


def test_graphiql_runs_the_example_query_with_only_local_assets(
    graphiql: OpenedGraphiQL,
) -> None:
    page = graphiql.page
    assert "vehicles(" in _editor_value(page, ".graphiql-query-editor .CodeMirror")
    variables_tab = page.get_by_role("button", name="Variables", exact=True)
    if "active" in (variables_tab.get_attribute("class") or "").split():
        # The page opens on Variables only for an example that has some, and GraphiQL 3
        # leaves that editor empty unless the page passes them the right way.
        assert json.loads(_editor_value(page, VISIBLE_TOOL_EDITOR))

    page.get_by_role("button", name=re.compile(r"^Execute query")).click()
    response_editor = page.locator(".graphiql-response .CodeMirror")
    expect(response_editor).to_contain_text('"vehicles"')

    result = json.loads(_editor_value(page, ".graphiql-response .CodeMirror"))
    assert "errors" not in result, result
    assert isinstance(result["data"]["vehicles"]["edges"], list), result

    graphiql.assert_only_own_origin_was_contacted()


def test_graphiql_docs_explorer_shows_the_query_type(graphiql: OpenedGraphiQL) -> None:
    page = graphiql.page
    page.get_by_role("button", name="Show Documentation Explorer").click()
    docs = page.locator(".graphiql-doc-explorer")
    expect(docs).to_contain_text("Query")

    # Following the root type proves the introspected schema reached the page.
    docs.locator(".graphiql-doc-explorer-type-name", has_text=re.compile(r"^Query$")).click()
    expect(docs).to_contain_text("vehicles")

    graphiql.assert_only_own_origin_was_contacted()


def _set_editor(page: Page, selector: str, text: str) -> None:
    page.eval_on_selector(selector, "(element, text) => element.CodeMirror.setValue(text)", text)


def _open_tool(page: Page, name: str) -> str:
    """Show the Variables or Headers editor; its text."""
    page.get_by_role("button", name=name, exact=True).click()
    return _editor_value(page, VISIBLE_TOOL_EDITOR)


def test_graphiql_opens_example_tabs_and_an_authorization_template(
    graphiql: OpenedGraphiQL,
) -> None:
    page = graphiql.page
    tabs = page.locator(".graphiql-tab")
    expect(tabs).to_have_count(len(EXAMPLE_TABS))
    assert tabs.all_inner_texts() == ["CatalogPage", "SignIn", "CreateOrder", "OrderStatus"]
    assert json.loads(_open_tool(page, "Headers")) == json.loads(HEADERS_TEMPLATE)

    # Another tab brings its own operation and variables, and the same template.
    tabs.nth(1).click()
    assert "login(input: $input)" in _editor_value(page, ".graphiql-query-editor .CodeMirror")
    assert json.loads(_open_tool(page, "Variables")) == json.loads(SIGN_IN.variables or "")
    assert json.loads(_open_tool(page, "Headers")) == json.loads(HEADERS_TEMPLATE)
    graphiql.assert_only_own_origin_was_contacted()


@pytest.fixture
async def followed_order(engine: AsyncEngine, redis: Redis, cast: Cast) -> int:
    return await reserved_order(engine, redis, cast)


def test_graphiql_runs_a_subscription_and_shows_its_live_events(
    followed_order: int, cast: Cast, graphiql: OpenedGraphiQL
) -> None:
    # (The order is made before the browser starts: Playwright's sync API holds the
    # thread's event loop while it runs.)
    page = graphiql.page
    order_id = gid("Order", followed_order)
    page.locator(".graphiql-tab", has_text="OrderStatus").click()
    _open_tool(page, "Variables")
    _set_editor(page, VISIBLE_TOOL_EDITOR, json.dumps({"orderId": order_id}))
    _open_tool(page, "Headers")
    _set_editor(page, VISIBLE_TOOL_EDITOR, json.dumps(bearer(cast.buyer.token)))

    page.get_by_role("button", name=re.compile(r"^Execute query")).click()
    response = page.locator(".graphiql-response .CodeMirror")
    expect(response).to_contain_text('"sequence": 3')  # the history, replayed

    cancelled = httpx.post(
        f"{graphiql.origin}/graphql",
        json={"query": CANCEL, "variables": {"id": order_id}},
        headers=cast.buyer.headers,
        timeout=WAIT_SECONDS,
    )
    assert cancelled.json()["data"]["cancelOrder"]["order"]["status"] == "CANCELLED"
    expect(response).to_contain_text('"to": "CANCELLED"')  # live
    event = json.loads(_editor_value(page, ".graphiql-response .CodeMirror"))
    assert event["data"]["orderStatusChanged"]["sequence"] == 4
    # The stream completed: GraphiQL offers to run again instead of to stop.
    expect(page.get_by_role("button", name=re.compile(r"^Execute query"))).to_be_visible()
    assert any(url.startswith("ws://") for url in graphiql.websockets)
    graphiql.assert_only_own_origin_was_contacted()
