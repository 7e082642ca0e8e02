"""`uv run python -m tests.chaos [--outage SECONDS]`: every chaos case with longer
outages on a dev of its own, each checked as in the suite, then a table of figures:
requests served and refused, the slowest request, recovery seconds."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from tests.chaos.cases import FAULTS, check_case, run_case, wait_all_paid
from tests.chaos.stack import running_stack

# Faults whose server dev restarts at once: their outage is the restart itself.
RESTARTED = {"redis-killed", "postgres-restarted"}


async def _run(outage: float) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with (
        tempfile.TemporaryDirectory(prefix="autobroker-chaos-") as tmp,
        running_stack(Path(tmp)) as stack,
    ):
        stack.start_worker()
        for name, fault in FAULTS.items():
            result = await run_case(
                stack, fault, outage=0.0 if name in RESTARTED else outage, after=5.0
            )
            await check_case(stack, result)
            row = result.figures()
            if name == "worker-killed":
                row["paid after s"] = round(await wait_all_paid(stack, result.load.paid, 90), 1)
            rows.append(row)
            print(_line(row), flush=True)
    return rows


def _line(row: dict[str, object]) -> str:
    return "  ".join(f"{key}={value}" for key, value in row.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outage", type=float, default=20.0, help="seconds each pause lasts")
    args = parser.parse_args()
    rows = asyncio.run(_run(args.outage))
    columns = list(dict.fromkeys(key for row in rows for key in row))
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row.get(column, "")) for column in columns) + " |")


if __name__ == "__main__":
    main()
