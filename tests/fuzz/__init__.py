"""The hostile-input suite: documents generated from the live schema (hypothesis-graphql)
and a corpus of malformed bodies, hostile strings and oversized inputs, sent by every kind
of caller to a live app, each answer held to the same rules (harness.py).

`uv run python -m tests.fuzz --minutes 30` runs it for as long as asked and prints the
figures; tests/api/test_hostile_inputs.py runs a short, seeded slice of it in CI.
"""
