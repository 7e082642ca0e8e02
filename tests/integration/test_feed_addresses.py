"""Feed URLs reach public internet addresses only: loopback, private, link-local,
multicast, reserved and unspecified addresses are refused when a run starts and at every
connection of the fetch (redirects, a name that resolves anew); a failed run's reason
never repeats what the feed server sent."""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.feeds.addresses import is_public
from services.feeds.errors import StartRefusedError
from services.feeds.ingest import ingest_run
from services.feeds.runs import create_run
from tests.feeds_data import LOOPBACK, a_dealer, feed_run_row, new_source, serve_directory

REFUSED = [
    "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "100.64.0.1", "224.0.0.1", "239.255.255.250", "0.0.0.0", "240.0.0.1", "255.255.255.255",
    "192.0.2.1", "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1", "2002:7f00:1::", "2001:0:4136:e378:8000:63bf:80ff:fffe",
]  # fmt: skip
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001::1"]


@pytest.mark.parametrize("text", REFUSED)
def test_non_public_addresses_are_refused(text: str) -> None:
    assert not is_public(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses_are_allowed(text: str) -> None:
    assert is_public(ipaddress.ip_address(text))


@pytest.mark.parametrize(
    "url",
    [
        "http://0x7f000001:{port}/metrics",
        "http://2130706433:{port}/metrics",
        "http://0177.0.0.1:{port}/",
        "http://127.1:{port}/",
        "http://localhost:{port}/",
        "http://[::1]:{port}/",
        "http://[::ffff:7f00:1]:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.8/feed.csv",
        "http://0.0.0.0:{port}/",
        "http://no-such-host.invalid/feed.csv",
    ],
)
async def test_a_run_for_a_non_public_host_is_refused_naming_the_url(
    engine: AsyncEngine, url: str
) -> None:
    with pytest.raises(StartRefusedError) as refused:
        await create_run(
            engine, source=new_source("ssrf"), url=url.format(port=8000),
            dealer_id=await a_dealer(engine),
        )  # fmt: skip
    assert refused.value.problem.field == "url"
    assert refused.value.problem.code == "FEED_URL_NOT_ALLOWED"


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the server's `answer` (status, headers, body), and counts."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.hits += 1
        status, headers, body = server.answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _serving(host: str, answer: tuple[int, dict[str, str], bytes]) -> Iterator[Any]:
    server: Any = http.server.ThreadingHTTPServer((host, 0), _Recorder)
    server.hits, server.answer = 0, answer
    server.url = f"http://{host}:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


async def _failed_reason(engine: AsyncEngine, redis: Redis, url: str, **ingest: Any) -> str:
    run = await create_run(engine, source=new_source("ssrf"), url=url,
                           dealer_id=await a_dealer(engine), allowed_networks=LOOPBACK)  # fmt: skip
    assert await ingest_run(engine, redis, run["id"], **ingest) is not None
    row = await feed_run_row(engine, run["id"])
    assert row["status"] == "FAILED"
    reason: str = row["failure_reason"]
    return reason


async def test_a_redirect_to_a_non_public_address_is_refused(
    engine: AsyncEngine, redis: Redis
) -> None:
    with _serving("127.0.0.2", (200, {"Content-Type": "text/csv"}, b"vin\n")) as inner:
        redirect = (302, {"Location": f"{inner.url}/metrics"}, b"")
        with _serving("127.0.0.1", redirect) as outer:
            reason = await _failed_reason(
                engine, redis, f"{outer.url}/feed.csv", allowed_networks=LOOPBACK
            )
            assert outer.hits == 1
    assert inner.hits == 0
    assert "127.0.0.2 is not a public internet address" in reason


async def test_the_fetch_checks_the_address_again_when_it_connects(
    engine: AsyncEngine, redis: Redis
) -> None:
    # Allowed when the run started, not when the worker fetches (a name that resolves to
    # another address by then is the same case): nothing is fetched.
    with _serving("127.0.0.1", (200, {"Content-Type": "text/csv"}, b"vin\n")) as server:
        reason = await _failed_reason(engine, redis, f"{server.url}/feed.csv")
    assert server.hits == 0
    assert "is not a public internet address" in reason


async def test_a_failed_run_never_repeats_what_the_server_sent(
    engine: AsyncEngine, redis: Redis, tmp_path: Path
) -> None:
    (tmp_path / "metrics.csv").write_text(
        "# HELP secret_internal_metric_total the first line\nsecret_internal_metric_total 42\n"
    )
    (tmp_path / "page.csv").write_text("<html>secret admin page</html>\n")
    with serve_directory(tmp_path) as base:
        for name in ("metrics.csv", "page.csv"):
            reason = await _failed_reason(
                engine, redis, f"{base}/{name}", allowed_networks=LOOPBACK
            )
            assert "secret" not in reason
            assert "lacks required columns" in reason
