"""The append-only, hash-chained audit log (models/audit.py)."""
