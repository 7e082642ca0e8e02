"""The contenders' servers: one uvicorn process each, in production mode.

Each runs `uvicorn APP --factory --loop uvloop --http httptools --workers 1` (the API
through `autobroker serve`, its production entry, when that agrees to start) with
ENVIRONMENT=production, the in-process apps' random 48-character JWT secret (so the
benchmark can sign the tokens of its buyers), LOG_LEVEL=WARNING and anonymous and user
rate-limit budgets too large to throttle a benchmark. `start_worker` runs `autobroker
worker` with the same environment, for the scenarios whose flow needs jobs.
"""

from __future__ import annotations

import enum
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.cpu import ProcessTreeCpu
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 60


class Contender(enum.StrEnum):
    FLOOR = "floor"  # hand-written Starlette + asyncpg + orjson (bench/floor.py)
    NAIVE = "naive"  # plain Strawberry, no DataLoader (bench/naive.py)
    API = "api"  # the product (core/app.py)


APP_FACTORIES = {
    Contender.FLOOR: "bench.floor:create_app",
    Contender.NAIVE: "bench.naive:create_app",
    Contender.API: "core.app:create_app",
}


class ServerStartError(RuntimeError):
    """A contender's server exited or did not answer in time."""


@dataclass(slots=True)
class Server:
    contender: Contender
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    command: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> ProcessTreeCpu:
        return ProcessTreeCpu(self.pid)

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL after 15 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def server_environment(settings: Settings) -> dict[str, str]:
    """The environment every contender's server runs with."""
    assert settings.database_url is not None
    assert settings.redis_url is not None
    return {
        **os.environ,
        "ENVIRONMENT": "production",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "RATE_LIMIT_ANONYMOUS": "[1000000000, 100000000]",
        "RATE_LIMIT_USER": "[1000000000, 100000000]",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "false",
        # `serve` requires payment settings; the read scenarios never reach Stripe.
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", "sk_test_bench_placeholder"),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_bench_placeholder"),
        # ... and personal-data keys of its own (the read scenarios never decrypt a field).
        "FIELD_ENCRYPTION_KEYS": os.environ.get(
            "FIELD_ENCRYPTION_KEYS", '["bBbsfDH1RLtbgvl6LZ7TtMKTo77cBW7hYVz-Aa7vrQ4="]'
        ),
        "PERSONAL_DATA_KEY": os.environ.get("PERSONAL_DATA_KEY", secrets.token_urlsafe(36)),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _uvicorn(factory: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", factory, "--factory",
        "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--workers", "1",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def _serve(port: int) -> list[str]:
    return [
        sys.executable, "-m", "core.cli", "serve",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip


def _launch(command: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        # The commands are built here from sys.executable and constants.
        return subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def _wait_live(process: subprocess.Popen[bytes], base_url: str) -> bool:
    """True once the server answers; False if it exited first."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"{base_url}/health/live", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise ServerStartError(f"{base_url} did not answer within {START_TIMEOUT_SECONDS} s")


def start_servers(
    contenders: list[Contender], env: dict[str, str], log_dir: Path, *, serve: bool = True
) -> dict[Contender, Server]:
    """Start the contenders' servers on free ports, all at once; wait until each answers.

    The API starts through `autobroker serve`; should that refuse (a setting it finds
    unfit for production), its refusal is printed and uvicorn runs the app directly.
    `serve=False`: uvicorn at once, for settings `serve` is known to refuse.
    """
    plans: dict[Contender, list[list[str]]] = {}
    launched: dict[Contender, tuple[subprocess.Popen[bytes], list[str], str]] = {}
    for contender in contenders:
        port = _free_port()
        plans[contender] = [_uvicorn(APP_FACTORIES[contender], port)]
        if contender is Contender.API and serve:
            plans[contender].insert(0, _serve(port))
    servers: dict[Contender, Server] = {}
    try:
        for contender in contenders:
            command = plans[contender].pop(0)
            log_path = log_dir / f"{contender.value}.log"
            launched[contender] = (_launch(command, env, log_path), command, command[-1])
        for contender in contenders:
            process, command, _ = launched[contender]
            log_path = log_dir / f"{contender.value}.log"
            base_url = f"http://127.0.0.1:{_port_of(command)}"
            while not _wait_live(process, base_url):
                tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
                print(f"  {contender}: `{' '.join(command[1:4])}` exited: {' '.join(tail)}")
                if not plans[contender]:
                    raise ServerStartError(f"{contender} did not start; see {log_path}")
                command = plans[contender].pop(0)
                process = _launch(command, env, log_path)
            servers[contender] = Server(
                contender, process, base_url, log_path, " ".join(command[1:])
            )
    except BaseException:
        for process, _, _ in launched.values():
            if process.poll() is None:
                process.kill()
        raise
    return servers


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`autobroker worker` (arq); it is ready once it has written its health-check key."""
    return _launch([sys.executable, "-m", "core.cli", "worker"], env, log_path)


def _port_of(command: list[str]) -> str:
    return command[command.index("--port") + 1]
