"""Accounts and access: registration, sign-in, sessions, partners and their API keys."""
