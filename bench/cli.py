"""`uv run python -m bench`: seed, serve, check, drive, and print one table."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer

from bench.cpu import postgres_tree
from bench.database import Urls, benchmark_servers, prepare_catalog
from bench.identity import RULE, ResponseMismatchError
from bench.report import describe_machine, machine, print_table, write_json
from bench.runner import BenchmarkFailedError, Plan, Row, run_scenario
from bench.scenario import BenchEnv, Scenario
from bench.scenarios import SCENARIOS, scenario_names
from bench.servers import Contender, Server, ServerStartError, server_environment, start_servers
from bench.wrk import Wrk, WrkMissingError, ensure_wrk
from core.settings import Environment, Settings

LOAD_WARNING = 0.5
RESULTS = Path(__file__).resolve().parent / "results"

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


_STARTED = time.monotonic()


def _say(message: str) -> None:
    print(f"  {time.monotonic() - _STARTED:5.1f}s  {message}", flush=True)


def _selected(names: list[str] | None) -> list[Scenario]:
    unknown = set(names or ()) - set(scenario_names())
    if unknown:
        raise typer.BadParameter(
            f"unknown scenario {', '.join(sorted(unknown))}; known: {', '.join(scenario_names())}"
        )
    return [cls() for cls in SCENARIOS if not names or cls.name in names]


def _app_settings(urls: Urls) -> Settings:
    """The settings the in-process apps run with: those of the servers."""
    return Settings(
        environment=Environment.PRODUCTION,
        database_url=urls.database_url,
        redis_url=urls.redis_url,
        jwt_secret=secrets.token_urlsafe(36),
        rate_limit_anonymous=(1_000_000_000, 100_000_000),
        log_level="WARNING",
        _env_file=None,
    )


def _in_process_factories() -> dict[Contender, Any]:
    from bench import floor, naive
    from core.app import create_app

    return {
        Contender.FLOOR: floor.create_app,
        Contender.NAIVE: naive.create_app,
        Contender.API: create_app,
    }


async def _postgres(urls: Urls) -> tuple[str, Any]:
    conn = await asyncpg.connect(urls.dsn)
    try:
        version = await conn.fetchval("SHOW server_version")
        # Found while this backend lives: its parent is the server's postmaster.
        tree = postgres_tree(int(await conn.fetchval("SELECT pg_backend_pid()")))
    finally:
        await conn.close()
    return str(version).split()[0], tree


async def _run(
    urls: Urls,
    *,
    scenarios: list[Scenario],
    plan: Plan,
    vehicles: int,
    wrk: Wrk,
    profile: bool,
    json_path: Path,
) -> None:
    load_before = os.getloadavg()[0]
    if load_before > LOAD_WARNING:
        _say(
            f"warning: the machine is busy (load average {load_before:.2f}); numbers will be noisy"
        )
    stored = await prepare_catalog(urls, vehicles=vehicles)
    _say(f"catalog ready: {stored:,} vehicles")
    settings = _app_settings(urls)
    info = machine()
    info["postgres"], db_cpu = await _postgres(urls)
    contenders = [c for c in Contender if any(c in s.contenders for s in scenarios)]
    servers: dict[Contender, Server] = {}
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as logs:
        try:
            environment = server_environment(settings)
            servers.update(start_servers(contenders, environment, Path(logs)))
            for server in servers.values():
                _say(f"{server.contender}: {server.command} (pid {server.pid})")
            async with contextlib.AsyncExitStack() as stack:
                in_process = {}
                for contender, factory in _in_process_factories().items():
                    if contender in contenders:
                        application = factory(settings)
                        await stack.enter_async_context(
                            application.router.lifespan_context(application)
                        )
                        in_process[contender] = application
                env = BenchEnv(settings, urls.dsn, servers, in_process, wrk, db_cpu)
                rows: list[Row] = []
                scenario_notes: list[str] = []
                for scenario in scenarios:
                    try:
                        scenario_rows = await run_scenario(env, scenario, plan, _say)
                        rows.extend(scenario_rows)
                        scenario_notes += [
                            f"{row.scenario}/{row.contender}: {line}"
                            for row in scenario_rows
                            if (line := scenario.note(row.median))
                        ]
                        if profile and Contender.API in scenario.contenders:
                            from bench.profile import profile_api

                            await profile_api(
                                env, scenario, seconds=max(plan.seconds, 10), out=RESULTS
                            )
                    finally:
                        await scenario.finish(env)
        except BaseException:
            for server in servers.values():
                tail = server.log_path.read_text(errors="replace")[-1500:].strip()
                if tail:
                    print(f"--- {server.contender} server log (end) ---\n{tail}", file=sys.stderr)
            raise
        finally:
            for server in servers.values():
                server.stop()
    api_command = servers[Contender.API].command if Contender.API in servers else "—"
    title = (
        f"Auto-Broker benchmark: {stored:,} vehicles; {plan.rounds} alternating round(s) of "
        f"{plan.seconds:g} s per contender, median round shown; wrk {wrk.threads} thread, "
        f"{wrk.connections} connections"
    )
    notes = [
        f"machine: {describe_machine(info)}; database {urls.where}",
        f"api: {api_command}; floor: bench/floor.py; naive: bench/naive.py (uvicorn, uvloop, "
        "httptools, 1 worker, ENVIRONMENT=production)",
        RULE,
        "vs floor: throughput / the floor's; CPU/floor: server CPU per request / the "
        "floor's; spread: half the range of the rounds' throughputs; "
        "p99 @½: p99 with wrk holding half the median throughput; CPU: user+system of the "
        "server process (and of PostgreSQL) per request; SQL/req: counted in-process on one "
        "request; bytes: response body",
    ]
    other = max(m.other_cpu_cores for row in rows for m in row.rounds)
    notes.append(
        f"other processes (wrk included) used up to {other:.2f} of {info['cores']} cores "
        f"during a round; load average before the run: {load_before:.2f}"
    )
    notes += scenario_notes
    notes += [
        f"{row.scenario}/{row.contender}: {m.errors} failed requests ({m.error_kinds})"
        for row in rows
        for m in row.rounds
        if m.errors
    ]
    print()
    print_table(rows, title=title, notes=notes)
    write_json(
        json_path,
        rows,
        plan=plan,
        info=info,
        extra={
            "vehicles": stored,
            "api_command": api_command,
            "rule": RULE,
            "load_average_before": load_before,
        },
    )
    print(f"results written to {json_path}")


@app.command()
def main(
    short: Annotated[
        bool,
        typer.Option("--short", help="CI mode: 1 round of 2 s, 5,000 vehicles; checks it works."),
    ] = False,
    vehicles: Annotated[
        int | None, typer.Option(min=1, help="Vehicles to seed (default 100,000; --short 5,000).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the embedded servers' data here and reuse it (seeded once)."),
    ] = None,
    seconds: Annotated[float | None, typer.Option(min=1, help="Seconds per round.")] = None,
    rounds: Annotated[int | None, typer.Option(min=1, help="Rounds per contender.")] = None,
    connections: Annotated[
        int | None, typer.Option(min=1, help="wrk connections (default 16; --short 4).")
    ] = None,
    scenario: Annotated[
        list[str] | None, typer.Option(help=f"Run only these ({', '.join(scenario_names())}).")
    ] = None,
    half_load: Annotated[
        bool | None, typer.Option(help="Measure p99 at half the maximum throughput.")
    ] = None,
    profile: Annotated[
        bool, typer.Option(help="Then sample the API with py-spy under load and report.")
    ] = False,
    json_path: Annotated[Path, typer.Option("--json", help="Where to write the results.")] = (
        RESULTS / "latest.json"
    ),
) -> None:
    """Benchmark the API against a hand-written floor and a naive Strawberry baseline."""
    plan = Plan(
        rounds=rounds or (1 if short else 3),
        seconds=seconds or (2 if short else 10),
        warmup_seconds=0 if short else 3,
        half_load=(not short) if half_load is None else half_load,
    )
    selected = _selected(scenario)
    try:
        wrk = Wrk(ensure_wrk(), connections=connections or (4 if short else 16))
        with benchmark_servers(data_dir) as urls:
            asyncio.run(
                _run(
                    urls,
                    scenarios=selected,
                    plan=plan,
                    vehicles=vehicles or (5_000 if short else 100_000),
                    wrk=wrk,
                    profile=profile,
                    json_path=json_path,
                )
            )
    except (
        WrkMissingError,
        ServerStartError,
        ResponseMismatchError,
        BenchmarkFailedError,
    ) as error:
        typer.secho(f"bench: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
