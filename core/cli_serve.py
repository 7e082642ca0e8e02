"""`autobroker serve` and `autobroker worker`: the production processes.

Both stop at start, with one line naming the setting, when a setting is invalid, and
`serve` also when one is missing or unsafe for production (`Settings.check_production`),
when an OTEL_* variable asks for what this build cannot do, or while the database holds
the development demo accounts.

On SIGTERM (what Kubernetes, compose and systemd send), and on Ctrl-C:

- `serve` (uvicorn) closes its listening socket at once, closes idle keep-alive
  connections, lets in-flight requests finish for up to GRACEFUL_SHUTDOWN_SECONDS and
  only then cancels what is left; WebSockets are closed with 1012 (service restart; the
  application closes any left with 1001) and Server-Sent Events streams end at once
  (core/event_streams.py), then the lifespan closes the Redis
  subscription and the pools. The process exits 0. With `--workers N` the parent passes
  SIGTERM to every worker process and waits for them.
- `worker` (arq) stops taking jobs, lets running ones finish for up to
  WORKER_SHUTDOWN_SECONDS, then cancels the rest, which stay in the queue for another
  worker (arq's at-least-once delivery; every job is safe to run twice). Exit 0.

A load balancer must stop sending before SIGTERM arrives: the Kubernetes manifests
(deploy/) wait in a preStop hook while the endpoint is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from core.cli import (
    _fail,
    _load_settings,
    _on_engine,
    _raise_stop,
    _StopRequested,
    app,
    proxy_options,
    serve_metrics,
)
from core.settings import Settings, UnsafeSettingsError
from core.tracing import TracingConfigError, check_tracing_config

# Read by prometheus-client when it is imported (core/metrics.py), so set before that.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",  # noqa: S104
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
) -> None:
    """Run in production: external PostgreSQL and Redis, no seeding, safe settings only."""
    import uvicorn

    from core.logging import configure_logging

    settings = _load_settings()
    try:
        settings.check_production()
        check_tracing_config()
    except (UnsafeSettingsError, TracingConfigError) as error:
        raise _fail(f"refusing to start: {error}") from None
    _refuse_demo_credentials(settings)
    configure_logging(level=settings.log_level, json=settings.log_json)
    with _metrics_directory(workers):
        serve_metrics(settings, host)
        # uvicorn re-raises SIGTERM once it has shut down gracefully; turned into an
        # exception here, it ends the command with status 0 instead of a signal death.
        signal.signal(signal.SIGTERM, _raise_stop)
        with contextlib.suppress(_StopRequested):
            uvicorn.run(
                "core.app:create_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                loop="uvloop",
                http="httptools",
                log_config=None,
                **proxy_options(settings),
                timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
                # uvicorn refuses a larger WebSocket message before buffering it (1009);
                # the application holds the same limit under any server.
                ws_max_size=settings.max_body_bytes,
            )


@contextlib.contextmanager
def _metrics_directory(workers: int) -> Iterator[None]:
    """Multi-process metrics for several workers: a fresh PROMETHEUS_MULTIPROC_DIR.

    One given in the environment (a volume, say) is emptied first: samples of an earlier
    run would otherwise add up with this one's.
    """
    configured = os.environ.get(MULTIPROC_DIR_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink(missing_ok=True)
        yield
        return
    if workers == 1:
        yield
        return
    created = tempfile.mkdtemp(prefix="autobroker-metrics-")
    os.environ[MULTIPROC_DIR_ENV] = created
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_DIR_ENV, None)
        shutil.rmtree(created, ignore_errors=True)


def _refuse_demo_credentials(settings: Settings) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from services.accounts.demo import demo_credentials_present

    try:
        present = asyncio.run(_on_engine(settings, demo_credentials_present))
    except (SQLAlchemyError, OSError) as error:
        raise _fail(f"refusing to start: cannot check the database ({type(error).__name__}); "
                    "is it reachable and migrated (`autobroker migrate`)?") from None  # fmt: skip
    if present:
        raise _fail(
            "refusing to start: the database holds the development demo accounts or API key; "
            "remove them with `autobroker remove-demo-accounts`"
        )


@app.command()
def worker() -> None:
    """Run the background job worker (arq) against DATABASE_URL and REDIS_URL."""
    from core import metrics
    from core.logging import configure_logging
    from core.tracing import configure_tracing
    from jobs.worker import create_worker

    settings = _load_settings()
    for name, value in (("DATABASE_URL", settings.database_url), ("REDIS_URL", settings.redis_url)):
        if not value:
            raise _fail(f"refusing to start: {name}: required by `worker`")
    try:
        check_tracing_config()
    except TracingConfigError as error:
        raise _fail(f"refusing to start: {error}") from None
    configure_logging(level=settings.log_level, json=settings.log_json)
    configure_tracing("autobroker-worker")
    if settings.worker_metrics_port is not None:
        try:
            metrics.serve_http(settings.worker_metrics_port)
        except OSError as error:
            raise _fail(
                f"refusing to start: WORKER_METRICS_PORT: cannot listen on "
                f"{settings.worker_metrics_port} ({error.strerror})"
            ) from None
    # arq handles SIGINT and SIGTERM: running jobs get WORKER_SHUTDOWN_SECONDS to finish,
    # the rest are handed back to the queue for another worker.
    create_worker(settings).run()
