"""The printed table, the machine it ran on, and the JSON results."""

from __future__ import annotations

import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil
from rich.console import Console
from rich.table import Table

from bench.runner import Plan, Row


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": psutil.cpu_count(logical=True),
        "memory_gib": round(psutil.virtual_memory().total / 2**30),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def describe_machine(info: dict[str, Any]) -> str:
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, {info['os']}, "
        f"Python {info['python']}, PostgreSQL {info.get('postgres', '?')}"
    )


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _us(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def table(rows: list[Row], *, title: str) -> Table:
    """One row per scenario and contender: the median round, and latency at half load.

    A row in another unit than requests (flows, deliveries) says so beside its throughput;
    its per-request columns are then per flow or per delivery.
    """
    out = Table(title=title, title_justify="left")
    for name, justify in (
        ("scenario", "left"), ("contender", "left"), ("req/s", "right"), ("vs floor", "right"),
        ("spread", "right"), ("p50 ms", "right"), ("p95 ms", "right"), ("p99 ms", "right"),
        ("p99 @½ ms", "right"), ("server CPU µs/req", "right"), ("CPU/floor", "right"),
        ("DB CPU µs/req", "right"),
        ("SQL/req", "right"), ("bytes", "right"),
    ):  # fmt: skip
        out.add_column(name, justify=justify, no_wrap=name == "scenario")  # type: ignore[arg-type]
    previous = None
    for row in rows:
        m = row.median
        out.add_row(
            row.scenario if row.scenario != previous else "",
            row.contender.value,
            f"{m.throughput:,.1f}" + ("" if row.unit == "req/s" else f" {row.unit}"),
            "—" if row.ratio is None else f"{row.ratio:.2f}",
            f"±{row.spread * 50:.0f}%",
            _ms(m.p50_ms),
            _ms(m.p95_ms),
            _ms(m.p99_ms),
            "—" if row.half_load is None else _ms(row.half_load.p99_ms),
            _us(m.server_cpu_us),
            "—" if row.cpu_ratio is None else f"{row.cpu_ratio:.1f}",
            _us(m.db_cpu_us),
            "—" if row.checked.statements is None else str(row.checked.statements),
            f"{row.checked.body_bytes:,}",
            end_section=row is rows[-1] or rows[rows.index(row) + 1].scenario != row.scenario,
        )
        previous = row.scenario
    return out


def print_table(rows: list[Row], *, title: str, notes: list[str]) -> None:
    console = Console(width=max(Console().width, 190))
    console.print(table(rows, title=title))
    for note in notes:
        console.print(note, soft_wrap=True)


def write_json(
    path: Path, rows: list[Row], *, plan: Plan, info: dict[str, Any], extra: dict[str, Any]
) -> None:
    def row_json(row: Row) -> dict[str, Any]:
        data = asdict(row)
        data["contender"] = row.contender.value
        data["median"]["throughput"] = row.median.throughput
        data["spread"] = row.spread
        return data

    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "plan": asdict(plan),
        **extra,
        "rows": [row_json(row) for row in rows],
    }
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
