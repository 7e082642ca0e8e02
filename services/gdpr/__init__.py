"""GDPR rights of a person: export (Art. 15/20) and erasure (Art. 17)."""
