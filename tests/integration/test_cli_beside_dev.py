"""The CLI beside a running `autobroker dev`: every command reaches the servers `dev`
announced on its data directory (named by DATA_DIR or --data-dir) instead of refusing,
and once `dev` has stopped it starts the embedded servers on that directory itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from core.embedded import ANNOUNCEMENT_FILE, running_servers
from tests.conftest import ROOT, _free_port
from tests.feeds_data import csv_text, feed_rows
from tests.integration import test_dev_command

data_dir = test_dev_command.data_dir  # the same fixture: a fresh data directory

COUNT = "{ vehicles(first: 1) { totalCount } dealers(first: 1) { totalCount } }"
PARTNER_COUNT = "query PartnerCount { vehicles(first: 1) { totalCount } }"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "DATA_DIR", "ENVIRONMENT")}  # fmt: skip
    return {**env, "LOG_LEVEL": "WARNING", **extra}


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)  # fmt: skip


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _graphql(port: int, body: dict[str, object], **headers: str) -> dict[str, object]:
    response = httpx.post(f"http://127.0.0.1:{port}/graphql", json=body, headers=headers,
                          timeout=20)  # fmt: skip
    answer: dict[str, object] = response.json()
    return answer


def _counts(port: int) -> tuple[int, int]:
    data = _graphql(port, {"query": COUNT})["data"]
    assert isinstance(data, dict)
    return data["vehicles"]["totalCount"], data["dealers"]["totalCount"]


def _start_dev(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "dev", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    process.kill()
    process.wait()
    raise AssertionError(f"dev did not become ready: {log.read_text()[-3000:]}")


def test_every_command_reaches_a_running_dev_and_honours_data_dir(
    data_dir: Path, tmp_path: Path
) -> None:
    port = _free_port()
    dev = _start_dev(data_dir, port, tmp_path / "dev.log")
    by_env = _env(DATA_DIR=str(data_dir))  # DATA_DIR from the environment, no --data-dir
    try:
        assert (data_dir / ANNOUNCEMENT_FILE).exists()
        vehicles, dealers = _counts(port)

        key = _ok(_cli("create-api-key", "--partner", "beside-dev", env=by_env)).strip()
        manifest = tmp_path / "manifest.json"
        manifest.write_text(json.dumps({
            "format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{"id": "partner-count", "name": "PartnerCount", "type": "query",
                            "body": PARTNER_COUNT}],
        }))  # fmt: skip
        _ok(_cli("register-operations", str(manifest), "--partner", "beside-dev",
                 "--data-dir", str(data_dir), env=_env()))  # fmt: skip
        # dev's API knows the key and its registered operation: one database.
        answer = _graphql(port, {"documentId": "partner-count"}, **{"x-api-key": key})
        assert answer["data"] == {"vehicles": {"totalCount": vehicles}}, answer

        assert "added 7 vehicles" in _ok(
            _cli("seed", "--vehicles", "7", "--dealers", "1", env=by_env)
        )
        assert _counts(port) == (vehicles + 7, dealers + 1)

        feed = tmp_path / "feed.csv"
        feed.write_text(csv_text(feed_rows(3)))
        dealer_id = "1"
        ingested = _ok(_cli("ingest", str(feed), "--source", "beside-dev", "--dealer", dealer_id,
                            env=by_env))  # fmt: skip
        assert "3 created" in ingested, ingested
        assert _counts(port) == (vehicles + 10, dealers + 1)
    finally:
        dev.send_signal(signal.SIGTERM)
        dev.wait(timeout=60)
    assert dev.returncode == 0, (tmp_path / "dev.log").read_text()[-3000:]
    assert not (data_dir / ANNOUNCEMENT_FILE).exists()  # removed when dev stopped

    # dev is gone: the command starts the embedded servers on DATA_DIR's data itself.
    prefix = key.removeprefix("ab_live_").split("_")[0]
    assert f"revoked API key {prefix}" in _ok(_cli("revoke-api-key", prefix, env=by_env))
    assert not (data_dir / ANNOUNCEMENT_FILE).exists()


def test_an_announcement_nobody_holds_the_data_dir_for_is_ignored(data_dir: Path) -> None:
    (data_dir / ANNOUNCEMENT_FILE).write_text(json.dumps(
        {"pid": 1, "database_url": "postgresql+asyncpg://nobody@/x", "redis_url": "unix:///nope"}
    ))  # fmt: skip
    (data_dir / "autobroker.lock").write_text("pid 1")
    assert running_servers(data_dir) is None
