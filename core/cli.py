"""The `autobroker` command: dev, serve, migrate, seed, export-schema."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsError

from core.settings import Settings

log = logging.getLogger("autobroker.cli")

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from core.embedded_s3 import S3Endpoint
    from services.accounts.demo import DemoCredentials

T = TypeVar("T")

app = typer.Typer(
    name="autobroker",
    help="Auto-Broker: the GraphQL API of a European vehicle brokerage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def _fail(message: str) -> typer.Exit:
    typer.secho(f"autobroker: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]).upper() or "settings"
        raise _fail(f"invalid setting {name}: {first['msg']}") from None
    except SettingsError as error:  # a list or mapping setting that is not valid JSON
        found = re.search(r'field "(\w+)"', str(error))
        name = found.group(1).upper() if found else "settings"
        raise _fail(f"invalid setting {name}: not valid JSON") from None


# Every command that may start embedded servers takes --data-dir; unset, DATA_DIR applies.
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        help="Embedded servers' data [default: DATA_DIR, else .autobroker]; a running "
        "`autobroker dev` on it is reached instead.",
        show_default=False,
    ),
]


@contextlib.contextmanager
def _servers(
    settings: Settings,
    data_dir: Path | None,
    *,
    use_redis: bool = True,
    use_s3: bool = False,
    announce: bool = False,
) -> Iterator[Settings]:
    """The settings with servers for whatever has no URL: those a running `dev` announced
    on the data directory, else embedded ones started here (`announce`d, for `dev`)."""
    from core.embedded import DataDirInUseError, announced, embedded_servers, running_servers

    chosen = data_dir or settings.data_dir
    settings = settings.model_copy(update={"data_dir": chosen})
    need_pg = settings.database_url is None
    need_redis = use_redis and settings.redis_url is None
    need_s3 = use_s3 and settings.s3_url is None
    if not (need_pg or need_redis or need_s3):
        yield settings
        return
    running = None if announce else running_servers(chosen)
    if running is not None:
        for name, needed, url in (("DATABASE_URL", need_pg, running.database_url),
                                  ("REDIS_URL", need_redis, running.redis_url),
                                  ("S3_URL", need_s3, running.s3)):  # fmt: skip
            if needed and url is None:
                raise _fail(f"{chosen} is in use by a running `autobroker dev` with an external "
                            f"server; set {name} as it has")  # fmt: skip
        yield _with_s3(
            settings.model_copy(
                update={
                    "database_url": settings.database_url or running.database_url,
                    "redis_url": settings.redis_url or running.redis_url,
                }
            ),
            running.s3 if need_s3 else None,
        )
        return
    try:
        # `dev` (announce) also supervises its servers, restarting one that dies.
        say = partial(typer.secho, fg=typer.colors.YELLOW, err=True) if announce else None
        with embedded_servers(
            chosen, postgres=need_pg, redis=need_redis, s3=need_s3, supervise=say
        ) as urls:
            started = _with_s3(
                settings.model_copy(
                    update={
                        "database_url": settings.database_url or urls.database_url,
                        "redis_url": settings.redis_url or urls.redis_url,
                    }
                ),
                urls.s3,
            )
            with announced(chosen, urls) if announce else contextlib.nullcontext():
                yield started
    except DataDirInUseError as error:
        raise _fail(str(error)) from None


def _with_s3(settings: Settings, endpoint: S3Endpoint | None) -> Settings:
    """The settings pointed at an embedded S3 store (unchanged for None)."""
    if endpoint is None:
        return settings
    return settings.model_copy(
        update={
            "s3_url": endpoint.url,
            "s3_access_key_id": endpoint.access_key_id,
            "s3_secret_access_key": SecretStr(endpoint.secret_access_key),
        }
    )


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy settings: X-Forwarded-* believed from FORWARDED_ALLOW_IPS only.

    uvicorn's own default believes them from 127.0.0.1, so anyone on this machine (or a
    sidecar) could pick the client address the rate limit and sign-in throttle count.
    """
    trusted = settings.forwarded_allow_ips.strip()
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted}


def serve_metrics(settings: Settings, host: str) -> None:
    """/metrics on METRICS_PORT, from this process: under `serve --workers N` (the parent)
    it reads every worker from the multi-process directory, so one scrape sees every process."""
    if not settings.metrics_enabled or settings.metrics_port is None:
        return
    from core import metrics

    try:
        metrics.serve_http(settings.metrics_port, host=host)
    except OSError as error:
        raise _fail(
            f"refusing to start: METRICS_PORT: cannot listen on {settings.metrics_port} "
            f"({error.strerror})"
        ) from None


class _StopRequested(Exception):
    """SIGTERM arrived: stop like Ctrl-C, letting context managers clean up."""


def _raise_stop(signum: int, frame: object) -> None:
    raise _StopRequested


def _asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _on_engine(settings: Settings, use: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `use` with a short-lived engine on the configured database."""
    from core.db import create_engine

    engine = create_engine(settings)
    try:
        return await use(engine)
    finally:
        await engine.dispose()


def _demo_banner(demo: DemoCredentials) -> str:
    emails = ", ".join(email for email, _ in demo.accounts)
    return (
        f"  Demo users   {emails}\n"
        f"               password {demo.password}  (dealer@ lists for {demo.dealer_name})\n"
        f"  Partner key  X-API-Key: {demo.api_key}\n"
        f'  Sign in      mutation {{ login(input: {{email: "{demo.accounts[0][0]}", '
        f'password: "{demo.password}"}}) {{ accessToken refreshToken }} }}\n'
    )


async def _seed(database_url: str, *, vehicles: int, dealers: int, only_if_empty: bool) -> int:
    import asyncpg
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from services.vehicles.seed import catalog_is_empty, seed_catalog

    conn = await asyncpg.connect(_asyncpg_dsn(database_url))
    try:
        if only_if_empty and not await catalog_is_empty(conn):
            return 0
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ) as progress:
            task = progress.add_task("seeding vehicles", total=vehicles)
            summary = await seed_catalog(
                conn,
                dealers=dealers,
                vehicles=vehicles,
                progress=lambda done: progress.update(task, advance=done),
            )
        return summary.vehicles
    finally:
        await conn.close()


async def _seed_photos(settings: Settings) -> int:
    """The photo bucket made ready, and a demo picture for every vehicle without a photo."""
    from core.db import create_engine
    from core.object_store import ObjectStore
    from services.photos.demo import seed_demo_photos
    from services.photos.images import PUBLIC_PREFIX

    store = ObjectStore(settings)
    engine = create_engine(settings)
    try:
        await store.ensure_bucket(public_prefix=PUBLIC_PREFIX)
        return await seed_demo_photos(engine, store, settings)
    finally:
        await store.close()
        await engine.dispose()


async def _clear_response_cache(settings: Settings) -> None:
    from core.redis import create_redis
    from core.response_cache import clear

    assert settings.redis_url is not None
    redis = create_redis(settings.redis_url)
    try:
        await clear(redis)
    finally:
        await redis.aclose()


@app.command()
def migrate(
    data_dir: DataDirOption = None,
) -> None:
    """Apply the database migrations (up to the newest)."""
    from core.migrate import upgrade_to_head

    with _servers(_load_settings(), data_dir, use_redis=False) as settings:
        assert settings.database_url is not None
        upgrade_to_head(settings.database_url)
    typer.echo("database schema is at the newest migration")


@app.command()
def seed(
    vehicles: Annotated[int, typer.Option(min=0, help="How many vehicles to add.")] = 5000,
    dealers: Annotated[int, typer.Option(min=1, help="How many dealers to add.")] = 120,
    data_dir: DataDirOption = None,
) -> None:
    """Add realistic, deterministic demo dealers and vehicles."""
    from core.migrate import upgrade_to_head

    with _servers(_load_settings(), data_dir, use_redis=True, use_s3=True) as settings:
        assert settings.database_url is not None
        upgrade_to_head(settings.database_url)
        added = asyncio.run(
            _seed(settings.database_url, vehicles=vehicles, dealers=dealers, only_if_empty=False)
        )
        asyncio.run(_seed_photos(settings))
        asyncio.run(_clear_response_cache(settings))  # cached catalog pages miss the new cars
    typer.echo(f"added {added} vehicles from {dealers} dealers")


@app.command()
def dev(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDirOption = None,
) -> None:
    """Run the whole product locally: embedded PostgreSQL and Redis, migrated and seeded."""
    import uvicorn

    from core.app import create_app
    from core.logging import configure_logging
    from core.migrate import upgrade_to_head
    from core.stripe_emulator import dev as stripe_dev
    from services.accounts.demo import ensure_demo_accounts

    base = _load_settings()
    if not base.is_development:
        raise _fail("`dev` runs in development only; use `autobroker serve` in production")
    configure_logging(level=base.log_level, json=base.log_json)
    with _servers(base, data_dir, use_s3=True, announce=True) as settings:
        assert settings.database_url is not None
        upgrade_to_head(settings.database_url)
        seeded = asyncio.run(
            _seed(settings.database_url, vehicles=5000, dealers=120, only_if_empty=True)
        )
        if seeded:
            typer.echo(f"seeded {seeded} demo vehicles")
        pictured = asyncio.run(_seed_photos(settings))
        if pictured:
            typer.echo(f"gave {pictured} vehicles a demo picture")
        demo = asyncio.run(_on_engine(settings, ensure_demo_accounts))
        settings, stripe_socket = stripe_dev.dev_settings(settings)
        serve_metrics(settings, host)
        url = f"http://{host}:{port}"
        typer.secho(
            f"\nAuto-Broker is running\n"
            f"  GraphiQL     {url}/graphql\n"
            f"  GraphQL      POST {url}/graphql  (WebSocket ws://{host}:{port}/graphql;\n"
            f"               Server-Sent Events: POST with Accept: text/event-stream)\n"
            f"  Health       {url}/health/ready\n"
            f"  Photos       {settings.s3_url}/{settings.s3_bucket} (S3)\n"
            f"  Data         {settings.data_dir.resolve()}\n"
            f"{_demo_banner(demo)}"
            f"{stripe_dev.banner(settings, emulated=stripe_socket is not None)}"
            f"Press Ctrl-C to stop.\n",
            fg=typer.colors.GREEN,
        )
        config = uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            log_config=None,
            lifespan="on",
            **proxy_options(settings),
            ws_max_size=settings.max_body_bytes,  # as `serve` (core/cli_serve.py)
        )
        server = uvicorn.Server(config)
        # uvicorn re-raises the stop signal once it has shut down; turning SIGTERM into an
        # exception (as SIGINT already is) lets the worker and the embedded servers stop
        # cleanly after it.
        signal.signal(signal.SIGTERM, _raise_stop)
        try:
            emulator = stripe_dev.running(stripe_socket, settings, api_host=host, api_port=port)
            asyncio.run(_serve_with_worker(server, settings, emulator))
        except (_StopRequested, KeyboardInterrupt):
            typer.echo("stopped; embedded servers shut down cleanly")
            return
        if not server.started:
            raise _fail(f"could not serve on {host}:{port} (is the port in use?)")


async def _serve_with_worker(
    server: Any, settings: Settings, beside: contextlib.AbstractAsyncContextManager[object]
) -> None:
    """The API, the job worker and what runs `beside` them (the Stripe emulator) in one
    event loop (`dev`)."""
    from jobs.worker import create_worker

    async with beside:
        worker = create_worker(settings, handle_signals=False)
        worker_task = asyncio.create_task(worker.async_run())
        try:
            await server.serve()
        finally:
            # The worker outlives outages (jobs/resilient.py); whatever state an outage
            # left it in, stopping it must not keep `dev` from its clean exit.
            try:
                await worker.close()
            except Exception as error:  # noqa: BLE001 - logged, and the stop goes on
                log.warning("worker stopped with an error", extra={"error": repr(error)})
            worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker_task


@app.command("create-api-key")
def create_api_key(
    partner: Annotated[str, typer.Option(help="The partner's name (created if new).")],
    data_dir: DataDirOption = None,
) -> None:
    """Create a partner API key and print it once (only its hash is stored)."""
    from services.accounts import partners
    from services.errors import InvalidArgumentError

    with _servers(_load_settings(), data_dir, use_redis=False) as settings:
        try:
            created = asyncio.run(
                _on_engine(settings, lambda engine: partners.create_api_key(engine, partner))
            )
        except InvalidArgumentError as error:
            raise _fail(f"--partner: {error.message}") from None
    typer.echo(
        f"API key for partner {created.partner_name!r} (prefix {created.prefix}); "
        "store it now, it is not shown again:",
        err=True,
    )
    typer.echo(created.key)


@app.command("revoke-api-key")
def revoke_api_key(
    prefix: Annotated[str, typer.Argument(help="The key's prefix (after ab_live_).")],
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a partner API key: it stops working on the next request."""
    from services.accounts import partners

    with _servers(_load_settings(), data_dir, use_redis=False) as settings:
        revoked = asyncio.run(
            _on_engine(settings, lambda engine: partners.revoke_api_key(engine, prefix))
        )
    if not revoked:
        raise _fail(f"no live API key with prefix {prefix!r}")
    typer.echo(f"revoked API key {prefix}")


@app.command("remove-demo-accounts")
def remove_demo_accounts(
    data_dir: DataDirOption = None,
) -> None:
    """Delete the development demo users and revoke the demo partner key."""
    from services.accounts.demo import remove_demo_credentials

    with _servers(_load_settings(), data_dir, use_redis=False) as settings:
        removed = asyncio.run(_on_engine(settings, remove_demo_credentials))
    typer.echo(f"removed {removed} demo credentials")


@app.command("export-schema")
def export_schema(
    output: Annotated[
        Path | None,
        typer.Option(
            help="Where to write it [default: schema.graphql; with --federation or "
            "--possible-types, standard output]."
        ),
    ] = None,
    federation: Annotated[
        bool,
        typer.Option(
            "--federation",
            help="The Apollo Federation v2 subgraph SDL (@link, @key, _service, _entities), "
            "for a router or `rover subgraph publish`, instead of the clients' SDL.",
        ),
    ] = False,
    possible_types: Annotated[
        bool,
        typer.Option(
            "--possible-types",
            help="Apollo Client's possibleTypes JSON (each interface and union to its object "
            "types) for InMemoryCache, instead of the SDL.",
        ),
    ] = False,
) -> None:
    """Write the GraphQL schema (SDL) to schema.graphql, the subgraph SDL, or possibleTypes."""
    from schema.build import SubgraphSchema, build_schema

    if federation and possible_types:
        raise _fail("--federation and --possible-types: choose one")
    if not federation and not possible_types:
        path = output or SCHEMA_FILE
        path.write_text(build_schema().as_str() + "\n")
        typer.echo(f"wrote {path}")
        return
    if possible_types:
        text = json.dumps(build_schema().possible_types(), indent=2) + "\n"
    else:
        schema = build_schema(Settings(federation=True, _env_file=None))
        assert isinstance(schema, SubgraphSchema)  # with federation on, always
        text = schema.subgraph_sdl() + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text)
    typer.echo(f"wrote {output}")


# Commands defined in sibling modules register themselves on `app` when imported.
from core import cli_audit, cli_feeds, cli_partners, cli_serve, cli_valuation  # noqa: E402, F401


def main() -> None:
    """Entry point of the `autobroker` script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    # `python -m core.cli`: run the imported module's app, on which the sibling modules
    # above registered their commands (this __main__ copy has none of them).
    from core.cli import main as imported_main

    imported_main()
