"""A live app to send hostile input to, the rules every answer is held to, the checks
after a run, and the figures a run prints.

Every answer: no HTTP 5xx, a JSON body, every error with an `extensions.code` and none
INTERNAL_SERVER_ERROR, and a refusal (an HTTP error status, or errors with no data)
within REFUSAL_SECONDS. After a run: no PostgreSQL connection idle in transaction, no
connection checked out of the app's pool, and no vehicle RESERVED or SOLD without the
order that holds or bought it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from core.app import create_app
from core.cli import proxy_options
from core.settings import Settings
from tests.process_support import free_port

REFUSAL_SECONDS = 0.2
REQUEST_TIMEOUT = 30.0
# Budgets no run exhausts: the suite tests what a request does, not the rate limit.
UNLIMITED = (10_000_000, 1_000_000)


def fuzz_settings(settings: Settings) -> Settings:
    """`settings` with budgets no run exhausts, for every kind of caller."""
    return settings.model_copy(
        update={
            "rate_limit_anonymous": UNLIMITED,
            "rate_limit_user": UNLIMITED,
            "rate_limit_admin": UNLIMITED,
            "rate_limit_partner": UNLIMITED,
            "login_attempts_per_client": 10_000,
            "login_attempts_per_account": 10_000,
        }
    )


@dataclass(frozen=True, slots=True)
class LiveApp:
    base_url: str
    app: Starlette

    @property
    def engine(self) -> AsyncEngine:
        engine: AsyncEngine = self.app.state.resources.database.engine
        return engine

    def checked_out(self) -> int:
        """Connections of the app's pool in use now."""
        return int(self.engine.pool.checkedout())  # type: ignore[attr-defined]


@contextmanager
def live_app(settings: Settings) -> Iterator[LiveApp]:
    """The app on a real uvicorn socket, in a thread of this process (so that its pool
    can be inspected), as `serve` configures uvicorn."""
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on",
                            ws_max_size=settings.max_body_bytes, **proxy_options(settings))  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fuzzed-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield LiveApp(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass(frozen=True, slots=True)
class Request:
    """One hostile request: a body (JSON-encodable, or raw bytes), or GET parameters."""

    label: str
    json: Any = None
    content: bytes | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def replay(self) -> str:
        """The request as text enough to send it again (bodies cut at 4,000 characters)."""
        if self.params is not None:
            return f"GET {self.params!r:.4000}"
        body = self.content if self.content is not None else _encode(self.json)
        return f"POST {body[:4000].decode(errors='replace')} {self.headers or ''}"

    def send(self, client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
        merged = {**headers, **self.headers}
        if self.params is not None:
            return client.get("/graphql", params=self.params, headers=merged)
        content = self.content
        if content is None:
            content = _encode(self.json)
        merged.setdefault("content-type", "application/json")
        return client.post("/graphql", content=content, headers=merged)


def _encode(value: Any) -> bytes:
    """JSON as a client sends it; lone surrogates stay escapes (orjson refuses them)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        import json

        return json.dumps(value).encode()


@dataclass(slots=True)
class Figures:
    """What a run sent and what came back."""

    requests: Counter[str] = field(default_factory=Counter)  # per role
    codes: Counter[str] = field(default_factory=Counter)  # errors by extensions.code
    statuses: Counter[int] = field(default_factory=Counter)
    refusals: int = 0
    slowest_refusal: float = 0.0
    slowest_refusal_label: str = ""
    slowest: float = 0.0
    failures: list[str] = field(default_factory=list)
    # The whole request behind each failure's label (a label is cut), to replay it.
    failing_requests: dict[str, str] = field(default_factory=dict)

    def distinct_failures(self) -> list[str]:
        """Each failing request once, whichever callers sent it."""
        seen: dict[str, None] = {}
        for failure in self.failures:
            seen.setdefault(failure.split(" ", 1)[1], None)
        return list(seen)

    def report(self, seconds: float) -> str:
        lines = [
            f"{sum(self.requests.values()):,} requests in {seconds:,.0f} s "
            f"({sum(self.requests.values()) / max(seconds, 1e-9):,.1f}/s)",
            "per role: " + ", ".join(f"{r} {n:,}" for r, n in sorted(self.requests.items())),
            "HTTP statuses: " + ", ".join(f"{s} {n:,}" for s, n in sorted(self.statuses.items())),
            "errors by code: " + ", ".join(f"{c} {n:,}" for c, n in self.codes.most_common()),
            f"refusals {self.refusals:,}, slowest {self.slowest_refusal * 1000:,.1f} ms "
            f"({self.slowest_refusal_label}); slowest answer {self.slowest * 1000:,.1f} ms",
            f"failures {len(self.failures):,} ({len(self.distinct_failures()):,} distinct)",
            *(f"  {failure}" for failure in self.distinct_failures()[:200]),
        ]
        return "\n".join(lines)


def check_answer(
    figures: Figures, role: str, request: Request, response: httpx.Response, seconds: float
) -> list[str]:
    """The rules an answer breaks (empty: none); the answer is counted in `figures`."""
    figures.requests[role] += 1
    figures.statuses[response.status_code] += 1
    figures.slowest = max(figures.slowest, seconds)
    problems: list[str] = []
    if response.status_code >= 500:
        problems.append(f"HTTP {response.status_code}")
    if "x-request-id" not in response.headers:
        problems.append("no X-Request-ID")
    body = _body(response)
    if body is None:
        problems.append(f"not a JSON answer: {response.text[:200]!r}")
        body = {}
    for answer in body if isinstance(body, list) else [body]:
        if not isinstance(answer, dict):
            problems.append(f"not a GraphQL answer: {answer!r:.200}")
            continue
        for error in answer.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            figures.codes[str(code)] += 1
            if code is None:
                problems.append(f"an error without a code: {error.get('message')!r:.200}")
            elif code == "INTERNAL_SERVER_ERROR":
                problems.append(f"INTERNAL_SERVER_ERROR at {error.get('path')}")
    if is_refusal(response):
        figures.refusals += 1
        if seconds > figures.slowest_refusal:
            figures.slowest_refusal, figures.slowest_refusal_label = seconds, request.label
        if seconds > REFUSAL_SECONDS:
            problems.append(f"refused in {seconds * 1000:.0f} ms")
    if problems:
        figures.failures.append(f"{role} {request.label}: {'; '.join(problems)}")
        figures.failing_requests.setdefault(request.label, request.replay())
    return problems


def _body(response: httpx.Response) -> Any:
    if not response.headers.get("content-type", "").startswith("application/"):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def send(
    client: httpx.Client, figures: Figures, role: str, headers: dict[str, str], request: Request
) -> list[str]:
    """Send `request` as `role` and check its answer; the rules it broke."""
    started = time.perf_counter()
    try:
        try:
            response = request.send(client, headers)
        except (httpx.ReadError, httpx.RemoteProtocolError):
            # A kept-alive connection the server closed after its previous answer (uvicorn
            # does after a 500, which that answer was counted for): once more, on a new one.
            started = time.perf_counter()
            response = request.send(client, headers)
    except httpx.TimeoutException:
        figures.requests[role] += 1
        figures.failures.append(f"{role} {request.label}: no answer in {REQUEST_TIMEOUT} s")
        return ["no answer"]
    except httpx.TransportError as error:
        figures.requests[role] += 1
        figures.failures.append(f"{role} {request.label}: the connection failed ({error!r:.100})")
        return ["connection failed"]
    seconds = time.perf_counter() - started
    if seconds > REFUSAL_SECONDS and is_refusal(response):
        # Timed once more, and the faster taken: a pause of this machine (a collection, a
        # neighbour's burst) is not the server's slowness, which a second try shows again.
        started = time.perf_counter()
        with contextlib.suppress(httpx.TransportError):
            request.send(client, headers)
            seconds = min(seconds, time.perf_counter() - started)
    return check_answer(figures, role, request, response, seconds)


def is_refusal(response: httpx.Response) -> bool:
    """An error status, or errors without data (for every answer of a batch)."""
    if response.status_code >= 400:
        return True
    body = _body(response)
    answers = body if isinstance(body, list) else [body]
    return any(
        isinstance(answer, dict) and bool(answer.get("errors")) and answer.get("data") is None
        for answer in answers
    )
