"""Running `autobroker serve` and `autobroker worker` as real processes, as an operator
would: a production environment, a fresh database, waits that are always bounded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT

JWT_SECRET = "a-production-secret-that-is-long-enough-0123456789"
STRIPE_SECRET_KEY = "sk_test_production_placeholder_4f9a1c"
STRIPE_WEBHOOK_SECRET = "whsec_production_placeholder_8d2e7b"
FIELD_ENCRYPTION_KEY = "bBbsfDH1RLtbgvl6LZ7TtMKTo77cBW7hYVz-Aa7vrQ4="
PERSONAL_DATA_KEY = "a-production-personal-data-key-long-enough-9876543"
SECRETS = (JWT_SECRET, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, PERSONAL_DATA_KEY)
# Variables of the suite's own environment that would change what the processes do.
_INHERITED_OUT = ("PROMETHEUS_MULTIPROC_DIR", "JWT_SECRET", "ENVIRONMENT", "DEBUG")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(**extra: str) -> dict[str, str]:
    """The suite's environment without settings or OTEL_* variables of its own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _INHERITED_OUT and not key.startswith("OTEL_")
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def production_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Everything `serve` requires in production, with real-looking secrets."""
    return base_env(
        ENVIRONMENT="production",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JWT_SECRET=JWT_SECRET,
        STRIPE_SECRET_KEY=STRIPE_SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
        S3_URL="http://127.0.0.1:9",  # never reached: the store is opened at first use
        S3_ACCESS_KEY_ID="production-placeholder",
        S3_SECRET_ACCESS_KEY="production-placeholder-secret",
        FIELD_ENCRYPTION_KEYS=f'["{FIELD_ENCRYPTION_KEY}"]',
        PERSONAL_DATA_KEY=PERSONAL_DATA_KEY,
        RATE_LIMIT_ANONYMOUS="[10000000, 1000000]",
        LOG_LEVEL="INFO",
        **extra,
    )


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def start_serve(
    env: dict[str, str], log_path: Path, *args: str
) -> tuple[subprocess.Popen[bytes], str]:
    """`autobroker serve` on a free port; waits until /health/ready answers 200."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited {process.returncode}: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=2).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"serve was not ready within 60 s: {log_path.read_text()[-3000:]}")


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`autobroker worker` with the test job `record_run` (tests/job_worker.py), started."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.job_worker"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"worker exited {process.returncode}: {log_path.read_text()[-3000:]}"
            )
        if "Starting worker for" in log_path.read_text(errors="replace"):
            return process
        time.sleep(0.1)
    process.kill()
    process.wait()
    raise RuntimeError(f"worker did not start within 30 s: {log_path.read_text()[-3000:]}")


def terminate(process: subprocess.Popen[bytes], timeout: float = 30) -> tuple[int, float]:
    """SIGTERM, then wait: the exit status and how long the process took to exit."""
    sent = time.monotonic()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    return status, time.monotonic() - sent
