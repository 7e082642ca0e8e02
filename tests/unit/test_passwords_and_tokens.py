"""Pure rules of auth/: argon2id hashing, the password policy, access tokens, API keys."""

from __future__ import annotations

import base64
import json
import time
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher

from auth.api_keys import (
    InvalidApiKeyError,
    api_key_hash,
    api_key_matches,
    generate_api_key,
    parse_api_key,
)
from auth.passwords import (
    HASHER,
    dummy_hash,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from auth.tokens import (
    AccessClaims,
    InvalidTokenError,
    TokenCodec,
    new_refresh_token,
    refresh_token_hash,
)
from models.account import UserRole

SECRET = "unit-test-secret-of-at-least-thirty-two-characters"
CODEC = TokenCodec(
    secret=SECRET, issuer="autobroker", audience="autobroker-api", access_ttl=timedelta(minutes=15)
)
SIGN_IN = uuid.UUID("0b9f1a52-3c1e-4d7a-9d0e-5f6a7b8c9d0e")
DEALER = AccessClaims(user_id=7, role=UserRole.DEALER, dealer_id=3, session_id=SIGN_IN)


async def test_hashes_are_argon2id_with_owasp_parameters_and_verify() -> None:
    hashed = await hash_password("a long enough passphrase")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert await verify_password(hashed, "a long enough passphrase") is True
    assert await verify_password(hashed, "a long enough passphrasE") is False
    assert await verify_password("not a hash", "anything") is False
    assert needs_rehash(hashed) is False
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("x" * 12)
    assert needs_rehash(weaker) is True
    assert await verify_password(weaker, "x" * 12) is True


async def test_an_unknown_account_costs_one_argon2_verification_and_never_matches() -> None:
    assert dummy_hash().startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    real = HASHER.hash("the real password")

    async def fastest(password_hash: str | None) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            assert await verify_password(password_hash, "a wrong password") is False
            times.append(time.perf_counter() - started)
        return min(times)

    wrong, unknown = await fastest(real), await fastest(None)
    assert 0.4 < unknown / wrong < 2.5, (wrong, unknown)


@pytest.mark.parametrize(
    ("password", "email", "code"),
    [
        ("short", None, "PASSWORD_TOO_SHORT"),
        ("x" * 257, None, "PASSWORD_TOO_LONG"),
        ("Password1234", None, "PASSWORD_TOO_COMMON"),
        ("abababababab", None, "PASSWORD_TOO_COMMON"),
        ("my name is marguerite!", "marguerite@example.org", "PASSWORD_CONTAINS_EMAIL"),
        ("correct horse battery staple", "marguerite@example.org", None),
        ("demo-password", None, None),
        ("ünïcødé pässwörd", None, None),
    ],
)
def test_password_policy(password: str, email: str | None, code: str | None) -> None:
    problem = password_problem(password, email=email)
    assert (problem.code if problem else None) == code
    assert problem is None or problem.message


def test_an_access_token_round_trips_its_claims() -> None:
    token = CODEC.issue(DEALER)
    assert CODEC.verify(token) == DEALER
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "at+jwt"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"iss", "aud", "sub", "sid", "role", "dealer", "iat", "exp", "jti"}
    assert claims["sid"] == str(SIGN_IN)
    assert claims["exp"] - claims["iat"] == 15 * 60
    buyer = AccessClaims(user_id=8, role=UserRole.BUYER, dealer_id=None, session_id=SIGN_IN)
    assert "dealer" not in jwt.decode(CODEC.issue(buyer), options={"verify_signature": False})


def _encode(claims: dict[str, Any], *, key: str = SECRET, algorithm: str = "HS256",
            typ: str = "at+jwt") -> str:  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, key, algorithm=algorithm, headers={"typ": typ})


def _claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {"iss": "autobroker", "aud": "autobroker-api", "sub": "7", "role": "DEALER",
              "dealer": 3, "sid": str(SIGN_IN), "iat": now, "exp": now + timedelta(minutes=5),
              **overrides}  # fmt: skip
    return {name: value for name, value in claims.items() if value is not None}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _alg_none() -> str:
    return f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(_claims(iat=1, exp=2**40))}."


def _tampered() -> str:
    header, _, signature = _encode(_claims(role="BUYER", dealer=None)).split(".")
    return f"{header}.{_b64(_claims(role='ADMIN', dealer=None, iat=1, exp=2**40))}.{signature}"


BAD_TOKENS = {
    "tampered payload": _tampered,
    "expired": lambda: _encode(_claims(iat=datetime.now(UTC) - timedelta(hours=1),
                                       exp=datetime.now(UTC) - timedelta(minutes=1))),
    "issued in the future": lambda: _encode(_claims(iat=datetime.now(UTC) + timedelta(hours=1))),
    "wrong audience": lambda: _encode(_claims(aud="another-api")),
    "audience list": lambda: _encode(_claims(aud=["autobroker-api", "another-api"])),
    "wrong issuer": lambda: _encode(_claims(iss="someone-else")),
    "alg none": _alg_none,
    "another key": lambda: _encode(_claims(), key="another-secret-of-at-least-32-characters"),
    "another algorithm": lambda: _encode(_claims(), algorithm="HS384"),
    "no exp": lambda: _encode(_claims(exp=None)),
    "no iat": lambda: _encode(_claims(iat=None)),
    "no sub": lambda: _encode(_claims(sub=None)),
    "no role": lambda: _encode(_claims(role=None)),
    "unknown role": lambda: _encode(_claims(role="ROOT")),
    "dealer without dealer": lambda: _encode(_claims(dealer=None)),
    "buyer with a dealer": lambda: _encode(_claims(role="BUYER")),
    "not a number subject": lambda: _encode(_claims(sub="admin")),
    "no sign-in": lambda: _encode(_claims(sid=None)),
    "a sign-in that is no UUID": lambda: _encode(_claims(sid="42")),
    "a subject beyond bigint": lambda: _encode(_claims(sub=str(2**63))),
    "a negative subject": lambda: _encode(_claims(sub="-7")),
    "another token type": lambda: _encode(_claims(), typ="JWT"),
    "garbage": lambda: "garbage",
    "too long": lambda: "a" * 5000,
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_access_tokens_are_refused(kind: str) -> None:
    with pytest.raises(InvalidTokenError) as refused:
        CODEC.verify(BAD_TOKENS[kind]())
    expected = "expired" if kind == "expired" else "invalid|too long"
    assert refused.match(expected)


def test_clock_leeway_accepts_a_token_that_expired_a_moment_ago() -> None:
    now = datetime.now(UTC)
    token = _encode(_claims(iat=now - timedelta(minutes=15), exp=now - timedelta(seconds=3)))
    assert CODEC.verify(token) == DEALER


def test_refresh_tokens_are_random_and_stored_hashed() -> None:
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second
    assert first.startswith("abr_")
    assert len(first) == 4 + 43
    assert refresh_token_hash(first) == refresh_token_hash(first)
    assert len(refresh_token_hash(first)) == 64
    assert first not in refresh_token_hash(first)


def test_api_keys_parse_and_match_only_their_hash() -> None:
    key = generate_api_key()
    assert key.text.startswith(f"ab_live_{key.prefix}_")
    assert parse_api_key(key.text) == key
    assert parse_api_key(f"  {key.text}\n") == key
    assert api_key_matches(key.text, api_key_hash(key.text))
    assert not api_key_matches(key.text + "x", api_key_hash(key.text))
    assert generate_api_key().prefix != key.prefix


@pytest.mark.parametrize(
    "text",
    ["", "ab_live_", "ab_test_abcdefghijkl_" + "x" * 43, "ab_live_ABCDEFGHIJKL_" + "x" * 43,
     "ab_live_abcdefghijkl_short", "ab_live_abcdefghijkl_" + "x" * 200, "Bearer abc"],
)  # fmt: skip
def test_malformed_api_keys_are_refused(text: str) -> None:
    with pytest.raises(InvalidApiKeyError):
        parse_api_key(text)
