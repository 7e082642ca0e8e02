"""wrk, the load generator: installed when missing, scripted in Lua, its figures parsed.

wrk is a C event loop: one thread drives a few thousand requests a second for a few
percent of one core, so the server under test keeps the machine. A generated Lua script
cycles through the scenario's requests, optionally waits a random (uniform) think
time before each one (to hold a target rate instead of the maximum), and prints its
summary and latency percentiles as one JSON line from wrk's `done` callback.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench.requests import HttpRequest

RESULT_MARK = "BENCH_RESULT "

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
"""


class WrkMissingError(RuntimeError):
    """wrk is not installed and cannot be installed from here."""


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package first when missing and run as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise WrkMissingError(
            "wrk is not installed: run `sudo apt-get install -y wrk` (Debian/Ubuntu) or "
            "`brew install wrk` (macOS), then run the benchmark again"
        )
    print("installing wrk (apt-get install -y wrk)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    quiet = subprocess.DEVNULL
    if subprocess.run(install, env=env, stdout=quiet, stderr=quiet, check=False).returncode:  # noqa: S603
        # A new machine's package lists may be missing or stale.
        subprocess.run(["apt-get", "update", "-qq"], env=env, stdout=quiet, check=True)  # noqa: S607
        subprocess.run(install, env=env, stdout=quiet, check=True)  # noqa: S603
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissingError("apt-get install wrk did not install wrk")
    return found


def _lua_string(data: bytes) -> str:
    """A Lua string literal holding exactly these bytes."""
    out = ['"']
    for byte in data:
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    out.append('"')
    return "".join(out)


def lua_script(requests: Sequence[HttpRequest], *, think_ms: float | None = None) -> str:
    """The wrk script that cycles through `requests`, waiting `think_ms` on average."""
    lines = ["local requests = {}"]
    for index, request in enumerate(requests, start=1):
        headers = ", ".join(
            f"[{_lua_string(name.encode())}] = {_lua_string(value.encode())}"
            for name, value in request.headers
        )
        body = "nil" if request.body is None else _lua_string(request.body)
        lines.append(
            f"requests[{index}] = wrk.format({_lua_string(request.method.encode())}, "
            f"{_lua_string(request.path.encode())}, {{{headers}}}, {body})"
        )
    lines.append("local index = 0")
    lines.append(
        "request = function()\n  index = index % #requests + 1\n  return requests[index]\nend"
    )
    if think_ms is not None and think_ms > 0:
        lines.append(f"local think_ms = {think_ms:.3f}")
        lines.append("math.randomseed(os.time())")
        # Uniform on [0, 2 x mean]: random, yet bounded below the servers' keep-alive
        # timeout (uvicorn closes a connection idle for 5 s).
        lines.append("delay = function()\n  return math.random() * 2 * think_ms\nend")
    return "\n".join(lines) + "\n" + _DONE


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    bytes_read: int
    errors: int  # connection, read, write and timeout errors, and non-2xx/3xx answers
    error_kinds: str  # e.g. "read 1, timeout 2"; empty without errors
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def parse_output(output: str) -> WrkResult:
    """The figures of the script's result line in wrk's output."""
    for line in output.splitlines():
        if line.startswith(RESULT_MARK):
            raw = orjson.loads(line[len(RESULT_MARK) :])
            kinds = {k: raw[k] for k in ("connect", "read", "write", "status", "timeout") if raw[k]}
            errors = sum(kinds.values())
            return WrkResult(
                requests=raw["requests"],
                seconds=raw["duration_us"] / 1e6,
                bytes_read=raw["bytes"],
                errors=errors,
                error_kinds=", ".join(f"{kind} {count}" for kind, count in kinds.items()),
                p50_ms=raw["p50_us"] / 1000,
                p95_ms=raw["p95_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                max_ms=raw["max_us"] / 1000,
                mean_ms=raw["mean_us"] / 1000,
            )
    raise RuntimeError(f"wrk printed no result line:\n{output[-2000:]}")


@dataclass(frozen=True, slots=True)
class Wrk:
    """How wrk is run: one thread, a few connections, a generous timeout."""

    executable: str
    connections: int = 16
    threads: int = 1
    timeout_seconds: int = 10

    async def run(
        self,
        base_url: str,
        requests: Sequence[HttpRequest],
        seconds: float,
        *,
        think_ms: float | None = None,
        connections: int | None = None,
    ) -> WrkResult:
        """Drive `base_url` with `requests` for `seconds`; the figures wrk reports."""
        with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
            script = Path(tmp) / "script.lua"
            script.write_text(lua_script(requests, think_ms=think_ms))
            # wrk counts a connection as timed out from its last request's start, think
            # time included: the timeout must outlast the longest think times.
            timeout = max(self.timeout_seconds, round(20 * (think_ms or 0) / 1000) + 10)
            process = await asyncio.create_subprocess_exec(
                self.executable,
                f"--threads={self.threads}",
                f"--connections={connections or self.connections}",
                f"--duration={max(1, round(seconds))}s",
                f"--timeout={timeout}s",
                f"--script={script}",
                base_url,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await process.communicate()
        text = output.decode(errors="replace")
        if process.returncode != 0:
            raise RuntimeError(f"wrk failed ({process.returncode}):\n{text[-2000:]}")
        return parse_output(text)
