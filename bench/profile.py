"""Where the API's time goes: py-spy samples the server under wrk's load.

py-spy (a dev dependency) reads the server's stacks from outside, so the server runs
unmodified at full speed. Samples are folded into three views:

- by layer: the innermost frame's library (graphql-core, Strawberry, SQLAlchemy, …, or
  our own packages): who spends the CPU;
- by function, inclusive: the share of samples in which a function is on the stack;
- by function, self: the share in which it is the innermost frame.

The collapsed stacks are kept beside the report (speedscope and flamegraph.pl read them).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.scenario import BenchEnv, Scenario
from bench.servers import Contender

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")

# Innermost-frame file prefix -> layer. py-spy prints paths relative to site-packages.
LAYERS: tuple[tuple[str, str], ...] = (
    ("graphql/", "graphql-core"),
    ("strawberry/", "strawberry"),
    ("sqlalchemy/", "sqlalchemy"),
    ("asyncpg/", "asyncpg"),
    ("starlette/", "starlette"),
    ("uvicorn/", "uvicorn"),
    ("aiodataloader", "aiodataloader"),
    ("redis/", "redis-py"),
    ("pydantic", "pydantic"),
    ("core/", "app: core"),
    ("auth/", "app: auth"),
    ("schema/", "app: schema"),
    ("resolvers/", "app: resolvers"),
    ("loaders/", "app: loaders"),
    ("services/", "app: services"),
    ("models/", "app: models"),
    ("asyncio/", "asyncio"),
)


def py_spy() -> str | None:
    """py-spy's path: the virtualenv's (dev dependency) or one on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _layer(frame: str) -> str:
    match = _FRAME.match(frame)
    path = match["file"] if match else frame
    for prefix, layer in LAYERS:
        if path.startswith(prefix) or f"/{prefix}" in path:
            return layer
    if path.startswith("<") or "/" not in path:
        return "stdlib / builtins"
    return "other: " + path.split("/", 1)[0]


def _function(frame: str) -> str:
    match = _FRAME.match(frame)
    return f"{match['function']} ({match['file']})" if match else frame


@dataclass(frozen=True, slots=True)
class Folded:
    samples: int
    layers: Counter[str]
    inclusive: Counter[str]
    own: Counter[str]


def fold(lines: Iterable[str]) -> Folded:
    """Aggregate py-spy's raw (collapsed) stacks: `frame;frame;… count` a line."""
    samples = 0
    layers: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        layers[_layer(frames[-1])] += count
        own[_function(frames[-1])] += count
        for function in {_function(frame) for frame in frames}:
            inclusive[function] += count
    return Folded(samples, layers, inclusive, own)


def render(folded: Folded, *, title: str, top: int = 30) -> str:
    def share(count: int) -> str:
        return f"{100 * count / max(folded.samples, 1):5.1f}%"

    out = [f"{title}: {folded.samples} samples", "", "by layer (innermost frame):"]
    out += [f"  {share(n)}  {name}" for name, n in folded.layers.most_common()]
    out += ["", f"top {top} functions, inclusive:"]
    out += [f"  {share(n)}  {name}" for name, n in folded.inclusive.most_common(top)]
    out += ["", f"top {top} functions, self:"]
    out += [f"  {share(n)}  {name}" for name, n in folded.own.most_common(top)]
    return "\n".join(out)


def _output_path(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory / name


async def profile_api(env: BenchEnv, scenario: Scenario, *, seconds: float, out: Path) -> None:
    """Sample the API server for `seconds` under the scenario's load; print and save."""
    executable = py_spy()
    if executable is None:
        print("profile: py-spy is missing (`uv sync` installs it with the dev group)")
        return
    raw = _output_path(out, f"profile-{scenario.name}.folded")
    server = scenario.server(env, Contender.API)
    # wrk starts first and outlasts py-spy, so that every sample is taken under load.
    load = asyncio.create_task(scenario.measure(env, Contender.API, seconds + 3))
    await asyncio.sleep(1)
    spy = await asyncio.create_subprocess_exec(
        executable, "record", "--pid", str(server.pid), "--duration", str(round(seconds)),
        "--rate", "250", "--format", "raw", "--output", str(raw),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await spy.communicate()
    await load
    if spy.returncode != 0 or not raw.exists():
        print(f"profile: py-spy failed: {output.decode(errors='replace')[-800:]}")
        return
    report = render(
        fold(raw.read_text().splitlines()), title=f"API, {scenario.name}, under wrk load"
    )
    (out / f"profile-{scenario.name}.txt").write_text(report + "\n")
    print(report)
    print(f"profile: {out / f'profile-{scenario.name}.txt'}, stacks in {raw}")
