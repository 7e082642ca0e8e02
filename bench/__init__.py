"""Benchmarks: `uv run python -m bench` seeds, serves, drives and prints one table."""
