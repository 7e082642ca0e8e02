"""Dealer feed ingestion: read a CSV or JSON-lines feed, normalise and validate its rows,
upsert them by (source, external id), withdraw what left the feed, and record the run.

    sources.py    where a feed comes from (file or http), streamed
    parsing.py    bytes to rows; CSV and JSON lines; truncation
    vocabulary.py column, fuel, gearbox and body names; units; makes and models
    values.py     one row's values read, every problem collected
    normalise.py  one row to vehicle columns, validated (listing rules)
    apply.py      batches of rows to the catalog: created/updated/unchanged/rejected
    runs.py       the run as a durable job: record, claim under a lease, finish
    ingest.py     one run from claim to commit
    sweep.py      re-enqueue runs no worker is finishing
    queries.py    runs and rejected rows for the API
"""
