"""`uv run python -m bench`: see bench/README.md."""

from bench.cli import app

app(prog_name="python -m bench")
