"""Password hashing (argon2id) and the password policy.

Parameters are OWASP's first argon2id recommendation (Password Storage Cheat Sheet):
m = 19 MiB, t = 2, p = 1, a 16-byte salt and a 32-byte tag; one verification costs a few
tens of milliseconds on one core. Hashes made with other parameters still verify and are
re-hashed at the next successful login (`needs_rehash`).

Hashing runs on a worker thread: argon2 releases the GIL, so the event loop keeps
serving while a login is checked.

An unknown e-mail is checked against `dummy_hash()` so that it costs the same time as a
wrong password: the response time does not tell whether an account exists.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
MIN_DISTINCT_CHARACTERS = 5

HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32,
                        salt_len=16, type=Type.ID)  # fmt: skip


# The most common passwords that pass the length rule (from public breach corpora).
_COMMON_PASSWORDS = frozenset(
    {
        "123456789012", "1234567890123", "12345678910", "password1234", "password12345",
        "passwordpassword", "qwertyuiopasdfgh", "qwertyuiop123", "qwerty123456",
        "iloveyou1234", "111111111111", "000000000000", "123123123123", "abcdefghijkl",
        "abc123abc123", "letmein12345", "welcome12345", "administrator", "changeme1234",
        "1q2w3e4r5t6y", "1qaz2wsx3edc", "zaq12wsxcde3", "trustno11234", "autobroker123",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PasswordProblem:
    """Why a password is refused: a stable code and a sentence for the user."""

    code: str
    message: str


def password_problem(password: str, *, email: str | None = None) -> PasswordProblem | None:
    """The first rule `password` breaks (NIST SP 800-63B style), or None if it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return PasswordProblem(
            "PASSWORD_TOO_SHORT", f"Use at least {MIN_PASSWORD_LENGTH} characters."
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return PasswordProblem(
            "PASSWORD_TOO_LONG", f"Use at most {MAX_PASSWORD_LENGTH} characters."
        )
    lowered = password.lower()
    if lowered in _COMMON_PASSWORDS or len(set(lowered)) < MIN_DISTINCT_CHARACTERS:
        return PasswordProblem(
            "PASSWORD_TOO_COMMON", "This password is too easy to guess; choose another."
        )
    if email and email.split("@", 1)[0].lower() in lowered and len(email.split("@", 1)[0]) >= 4:
        return PasswordProblem(
            "PASSWORD_CONTAINS_EMAIL", "The password must not contain your e-mail address."
        )
    return None


async def hash_password(password: str) -> str:
    """The argon2id hash (PHC string format) of `password`."""
    return await asyncio.to_thread(HASHER.hash, password)


@functools.cache
def dummy_hash() -> str:
    """A hash of a random secret nobody knows: verifying against it fails, as slowly."""
    return HASHER.hash(secrets.token_urlsafe(32))


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (unknown account) it checks the dummy one."""
    target = password_hash if password_hash is not None else dummy_hash()
    try:
        await asyncio.to_thread(HASHER.verify, target, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's."""
    return HASHER.check_needs_rehash(password_hash)
