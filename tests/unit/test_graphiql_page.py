"""The GraphiQL page loads only vendored assets, and they are all there."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from core.graphiql import (
    ASSETS_DIR,
    GRAPHIQL_ASSETS_PATH,
    graphiql_assets_app,
    render_graphiql_page,
)
from core.graphiql_examples import ExampleTab

# The empty favicon: a data: URL is never a network request.
EMPTY_ICON = "data:,"


class _ReferenceCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value for name, value in attrs if name in ("src", "href")}
        self.references += [value or "" for value in found.values()]
        self._in_inline_script = tag == "script" and "src" not in found

    def handle_endtag(self, tag: str) -> None:
        self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script:
            self.inline_scripts.append(data)


def _collect(html: str) -> _ReferenceCollector:
    collector = _ReferenceCollector()
    collector.feed(html)
    return collector


def test_page_references_only_local_assets_that_exist() -> None:
    html = render_graphiql_page(endpoint="/graphql")
    references = _collect(html).references

    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assets = [ref for ref in references if ref != EMPTY_ICON]
    assert len(assets) == 6, references  # 2 stylesheets and 4 scripts
    for reference in assets:
        url = urlsplit(reference)
        assert (url.scheme, url.netloc) == ("", ""), reference
        assert url.path.startswith(f"{GRAPHIQL_ASSETS_PATH}/"), reference
        assert (ASSETS_DIR / url.path.removeprefix(f"{GRAPHIQL_ASSETS_PATH}/")).is_file()


def test_vendored_stylesheets_fetch_nothing_from_outside() -> None:
    # An upgrade of GraphiQL could bring back web fonts from a CDN; its fonts are inline now.
    for stylesheet in ASSETS_DIR.glob("*.css"):
        css = stylesheet.read_text(encoding="utf-8")
        assert "@import" not in css, stylesheet.name
        urls = re.findall(r"url\(\s*['\"]?([^'\")]*)", css)
        assert [u for u in urls if not u.startswith("data:")] == [], stylesheet.name


def test_example_query_cannot_end_the_inline_script() -> None:
    hostile = 'query { vehicles } # </script><script>alert("x")</script><!-- & "quotes"'
    html = render_graphiql_page(
        endpoint="/graphql",
        tabs=[ExampleTab(query=hostile, variables='{"first": 5}')],
        headers_template='{"Authorization": "Bearer </script>"}',
        token_placeholder="</script>",
    )

    assert html.count("</script>") == html.count("<script")
    (inline_script,) = _collect(html).inline_scripts
    config_literal = re.search(r"var config = (.*);\n", inline_script)
    assert config_literal is not None
    assert json.loads(config_literal.group(1)) == {
        "endpoint": "/graphql",
        "tabs": [{"query": hostile, "variables": '{"first": 5}'}],
        "headersTemplate": '{"Authorization": "Bearer </script>"}',
        "tokenPlaceholder": "</script>",
    }


async def test_assets_are_served_with_long_cache_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The asset directory must not depend on where the server was started.
    monkeypatch.chdir(tmp_path)
    app = Starlette(routes=[Mount(GRAPHIQL_ASSETS_PATH, graphiql_assets_app())])
    html = render_graphiql_page(endpoint="/graphql")
    script = next(ref for ref in _collect(html).references if "graphiql.min.js" in ref)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(script)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.content == (ASSETS_DIR / "graphiql.min.js").read_bytes()
