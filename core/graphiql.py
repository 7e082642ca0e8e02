"""GraphiQL served by the API itself, with no CDN.

The browser assets are vendored in `core/static/graphiql/` (see VERSIONS.txt there),
so the IDE works on machines with no internet and leaks no traffic to third parties.
The page is rendered here; the app mounts `graphiql_assets_app()` at
`GRAPHIQL_ASSETS_PATH` and answers `GET /graphql` (Accept: text/html) with
`render_graphiql_page(...)`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from core.graphiql_examples import EXAMPLE_TABS, HEADERS_TEMPLATE, TOKEN_PLACEHOLDER, ExampleTab

GRAPHIQL_ASSETS_PATH = "/graphiql-assets"

ASSETS_DIR = Path(__file__).resolve().parent / "static" / "graphiql"

# Every asset URL carries a hash of the file's content, so a year of caching is safe:
# upgrading a vendored file changes its URL.
_CACHE_CONTROL = "public, max-age=31536000, immutable"

# Load order matters: GraphiQL's UMD build reads the React globals, and the explorer
# plugin reads `GraphiQL.React` and `GraphiQL.GraphQL`.
_STYLESHEETS = ("graphiql.min.css", "plugin-explorer.css")
_SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "plugin-explorer.umd.js",
)


class _ImmutableStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = _CACHE_CONTROL
        return response


def graphiql_assets_app() -> StaticFiles:
    return _ImmutableStaticFiles(directory=ASSETS_DIR)


@cache
def _asset_url(name: str) -> str:
    digest = hashlib.sha256((ASSETS_DIR / name).read_bytes()).hexdigest()[:12]
    return f"{GRAPHIQL_ASSETS_PATH}/{name}?v={digest}"


def _script_json(value: object) -> str:
    # json.dumps leaves "<", ">" and "&" as they are; a query containing "</script>"
    # or "<!--" would then end or derail the inline script. As \u escapes they are
    # still the same characters to JavaScript. ensure_ascii (the default) already
    # escapes U+2028 and U+2029, which older engines reject inside string literals.
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_graphiql_page(
    *,
    endpoint: str,
    tabs: Sequence[ExampleTab] = EXAMPLE_TABS,
    headers_template: str = HEADERS_TEMPLATE,
    token_placeholder: str = TOKEN_PLACEHOLDER,
) -> str:
    """The page: GraphiQL on `endpoint` (subscriptions over its WebSocket), opening on
    `tabs`, its Headers tab on `headers_template`."""
    config = {
        "endpoint": endpoint,
        "tabs": [{"query": tab.query, "variables": tab.variables} for tab in tabs],
        "headersTemplate": headers_template,
        "tokenPlaceholder": token_placeholder,
    }
    stylesheets = "\n".join(
        f'    <link rel="stylesheet" href="{_asset_url(name)}" />' for name in _STYLESHEETS
    )
    scripts = "\n".join(f'    <script src="{_asset_url(name)}"></script>' for name in _SCRIPTS)
    return _PAGE.format(stylesheets=stylesheets, scripts=scripts, config=_script_json(config))


# Braces of the CSS and JavaScript are doubled for str.format.
_PAGE = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Auto-Broker GraphiQL</title>
    <!-- An empty icon, so the browser does not ask the API for /favicon.ico. -->
    <link rel="icon" href="data:," />
{stylesheets}
    <style>
      body {{ margin: 0; height: 100vh; overflow: hidden; }}
      #graphiql {{ height: 100vh; }}
    </style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
{scripts}
    <script>
      (function () {{
        "use strict";
        var config = {config};

        function hasSavedTabs() {{
          try {{
            return window.localStorage.getItem("graphiql:tabState") !== null;
          }} catch (error) {{
            return false;  // storage blocked: GraphiQL cannot have saved anything
          }}
        }}

        var url = new URL(config.endpoint, window.location.href);
        var subscriptionUrl = new URL(url.href);
        subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";

        // GraphiQL runs subscriptions with its bundled graphql-ws client on
        // subscriptionUrl, sending the Headers tab as the connection_init payload.
        var sendOperation = GraphiQL.createFetcher({{
          url: url.href,
          subscriptionUrl: subscriptionUrl.href,
          // Marks GraphiQL's requests (a header over HTTP, a connection_init key over
          // the WebSocket): in development they may run unregistered operations even
          // when registered operations are required (auth/registered_operations.py).
          headers: {{ "X-GraphiQL": "1" }},
          wsConnectionParams: {{ "X-GraphiQL": "1" }},
        }});

        // The Headers tab opens on a template; a header still holding its placeholder
        // is left out, so that the catalog works before anyone has signed in.
        function filledIn(headers) {{
          var sent = {{}};
          Object.keys(headers || {{}}).forEach(function (name) {{
            var value = headers[name];
            if (typeof value !== "string" || value.indexOf(config.tokenPlaceholder) === -1) {{
              sent[name] = value;
            }}
          }});
          return sent;
        }}
        function fetcher(params, options) {{
          var headers = filledIn(options && options.headers);
          return sendOperation(params, Object.assign({{}}, options, {{ headers: headers }}));
        }}

        var tabs = config.tabs.map(function (tab) {{
          var example = {{ query: tab.query }};
          if (tab.variables) {{
            example.variables = tab.variables;
          }}
          return example;
        }});
        var first = config.tabs[0];
        // GraphiQL 3 fills the variables editor from its `variables` prop or its own
        // storage, never from defaultTabs (it does when switching tabs). The prop is
        // passed on a first visit only: on later visits it would open a new tab each
        // time the page loads.
        var firstVariables = first.variables && !hasSavedTabs() ? first.variables : undefined;

        var root = ReactDOM.createRoot(document.getElementById("graphiql"));
        root.render(
          React.createElement(GraphiQL, {{
            fetcher: fetcher,
            // Used when the browser has no saved tabs; saved work wins over the examples.
            defaultTabs: tabs,
            defaultQuery: first.query,
            variables: firstVariables,
            // Every tab's Headers editor starts on the template (GraphiQL's fallback
            // for a tab without headers of its own).
            defaultHeaders: config.headersTemplate,
            plugins: [GraphiQLPluginExplorer.explorerPlugin()],
            // Open the tools pane on what a developer needs first: the example's
            // variables, or the headers editor for "Authorization: Bearer ...".
            defaultEditorToolsVisibility: first.variables ? "variables" : "headers",
            isHeadersEditorEnabled: true,
            shouldPersistHeaders: true,
            inputValueDeprecation: true,
          }})
        );
      }})();
    </script>
  </body>
</html>
"""
