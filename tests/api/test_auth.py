"""Authentication over GraphQL: register, login, me, refresh rotation with reuse
detection, logout, every kind of bad token, partner API keys, login throttling."""

from __future__ import annotations

import base64
import json
import statistics
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from auth.passwords import HASHER
from core.settings import Settings
from models.account import UserRole
from services.accounts.partners import create_api_key, revoke_api_key
from tests.accounts_data import PASSWORD, create_user, password_hash, trust, unique_email
from tests.api.conftest import Cast
from tests.conftest import graphql

pytestmark = pytest.mark.usefixtures("fresh_throttle")

ClientFrom = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) {
    accessToken refreshToken tokenType
    user { email role dealer { id } }
    userErrors { field code message }
  }
}
"""
LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { accessToken refreshToken user { id email role } userErrors { code } }
}
"""
REFRESH = """
mutation Refresh($input: RefreshTokenInput!) {
  refreshToken(input: $input) { accessToken refreshToken user { email } }
}
"""
LOGOUT = """
mutation Logout($input: LogoutInput!) { logout(input: $input) { revoked userErrors { code } } }
"""
PASSWORD_FIELD = ["input", "password"]
ME = "query Me { me { id email role dealer { id } } }"
CATALOG = "query One { vehicles(first: 1) { totalCount } }"


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def _login(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    return await graphql(client, LOGIN, {"input": {"email": email, "password": password}})


async def test_register_signs_in_a_buyer_who_is_then_me(client: httpx.AsyncClient) -> None:
    email = unique_email("new")
    body = await graphql(
        client, REGISTER, {"input": {"email": f"  {email.upper()} ", "password": PASSWORD}}
    )
    payload = body["data"]["register"]
    assert payload["user"] == {"email": email, "role": "BUYER", "dealer": None}
    assert payload["userErrors"] == []
    assert payload["tokenType"] == "Bearer"
    me = await graphql(client, ME, Authorization=f"Bearer {payload['accessToken']}")
    assert me == {"data": {"me": {"id": me["data"]["me"]["id"], "email": email,
                                  "role": "BUYER", "dealer": None}}}  # fmt: skip


@pytest.mark.parametrize(
    ("email", "password", "expected"),
    [
        ("not-an-email", PASSWORD, [(["input", "email"], "EMAIL_INVALID")]),
        ("someone@example.org", "short", [(["input", "password"], "PASSWORD_TOO_SHORT")]),
        ("someone@example.org", "password1234", [(PASSWORD_FIELD, "PASSWORD_TOO_COMMON")]),
        ("someone@example.org", "aaaaaaaaaaaaaaaa", [(PASSWORD_FIELD, "PASSWORD_TOO_COMMON")]),
        ("jonathan@example.org", "jonathan-1987!", [(PASSWORD_FIELD, "PASSWORD_CONTAINS_EMAIL")]),
        ("nope@", "short", [(["input", "email"], "EMAIL_INVALID"),
                            (["input", "password"], "PASSWORD_TOO_SHORT")]),
    ],
)  # fmt: skip
async def test_register_refuses_weak_passwords_and_invalid_emails_naming_the_field(
    client: httpx.AsyncClient, email: str, password: str, expected: list[tuple[list[str], str]]
) -> None:
    body = await graphql(client, REGISTER, {"input": {"email": email, "password": password}})
    payload = body["data"]["register"]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == expected
    assert all(e["message"] for e in payload["userErrors"])
    assert (payload["accessToken"], payload["refreshToken"], payload["user"]) == (None, None, None)


async def test_register_refuses_a_taken_email_whatever_its_case(
    client: httpx.AsyncClient, cast: Cast
) -> None:
    body = await graphql(
        client, REGISTER, {"input": {"email": cast.buyer.email.upper(), "password": PASSWORD}}
    )
    assert body["data"]["register"]["userErrors"] == [
        {"field": ["input", "email"], "code": "EMAIL_TAKEN",
         "message": "An account with this e-mail exists."}
    ]  # fmt: skip


async def test_login_returns_tokens_that_authenticate(
    client: httpx.AsyncClient, cast: Cast
) -> None:
    body = await _login(client, cast.dealer.email, PASSWORD)
    payload = body["data"]["login"]
    assert payload["user"]["email"] == cast.dealer.email
    assert payload["user"]["role"] == "DEALER"
    assert payload["userErrors"] == []
    me = await graphql(client, ME, Authorization=f"Bearer {payload['accessToken']}")
    assert me["data"]["me"]["email"] == cast.dealer.email
    assert me["data"]["me"]["dealer"] is not None


async def test_wrong_password_and_unknown_email_answer_alike_in_similar_time(
    client: httpx.AsyncClient, cast: Cast
) -> None:
    wrong = await _login(client, cast.buyer.email, "not the password at all")
    unknown = await _login(client, unique_email("ghost"), "not the password at all")
    expected = {
        "data": {"login": None},
        "errors": [{"message": "Invalid e-mail or password.",
                    "locations": [{"line": 3, "column": 3}], "path": ["login"],
                    "extensions": {"code": "UNAUTHENTICATED"}}],
    }  # fmt: skip
    assert wrong == expected
    assert unknown == expected

    # Both go through one argon2 verification: an unknown e-mail is not answered faster.
    started = time.perf_counter()
    HASHER.verify(password_hash(), PASSWORD)
    one_verify = time.perf_counter() - started

    async def timed(email: str) -> float:
        started = time.perf_counter()
        await _login(client, email, "not the password at all")
        return time.perf_counter() - started

    wrong_times = [await timed(cast.buyer.email) for _ in range(5)]
    unknown_times = [await timed(unique_email("ghost")) for _ in range(5)]
    wrong_median, unknown_median = statistics.median(wrong_times), statistics.median(unknown_times)
    assert unknown_median > 0.5 * one_verify, (unknown_times, one_verify)
    # Loose on purpose: the machine is shared; the line above is what proves argon2 ran.
    assert 0.25 < unknown_median / wrong_median < 4, (wrong_times, unknown_times)


async def test_refresh_rotates_and_a_reused_token_revokes_the_whole_sign_in(
    client: httpx.AsyncClient, cast: Cast
) -> None:
    first = (await _login(client, cast.buyer.email, PASSWORD))["data"]["login"]
    second = await graphql(client, REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    rotated = second["data"]["refreshToken"]
    assert rotated["refreshToken"] != first["refreshToken"]
    assert rotated["user"] == {"email": cast.buyer.email}
    me = await graphql(client, ME, Authorization=f"Bearer {rotated['accessToken']}")
    assert me["data"]["me"]["email"] == cast.buyer.email

    # The first token again: a replay. It fails, and so does the newest token of the family.
    replay = await graphql(client, REFRESH, {"input": {"refreshToken": first["refreshToken"]}})
    assert replay["data"] == {"refreshToken": None}
    assert _code(replay) == "UNAUTHENTICATED"
    assert "already used" in replay["errors"][0]["message"]
    after = await graphql(client, REFRESH, {"input": {"refreshToken": rotated["refreshToken"]}})
    assert _code(after) == "UNAUTHENTICATED"
    assert "revoked" in after["errors"][0]["message"]

    # Another sign-in of the same user is another family, untouched.
    other = (await _login(client, cast.buyer.email, PASSWORD))["data"]["login"]
    fine = await graphql(client, REFRESH, {"input": {"refreshToken": other["refreshToken"]}})
    assert "errors" not in fine


@pytest.mark.parametrize("token", ["", "abr_unknown", "x" * 500])
async def test_an_unknown_refresh_token_is_unauthenticated(
    client: httpx.AsyncClient, token: str
) -> None:
    body = await graphql(client, REFRESH, {"input": {"refreshToken": token}})
    assert body["data"] == {"refreshToken": None}
    assert body["errors"][0]["message"] == "the refresh token is invalid"
    assert _code(body) == "UNAUTHENTICATED"


async def test_logout_revokes_the_refresh_token(client: httpx.AsyncClient, cast: Cast) -> None:
    session = (await _login(client, cast.admin.email, PASSWORD))["data"]["login"]
    token = {"input": {"refreshToken": session["refreshToken"]}}
    assert await graphql(client, LOGOUT, token) == {
        "data": {"logout": {"revoked": True, "userErrors": []}}
    }
    assert await graphql(client, LOGOUT, token) == {
        "data": {"logout": {"revoked": True, "userErrors": []}}
    }
    refreshed = await graphql(client, REFRESH, token)
    assert _code(refreshed) == "UNAUTHENTICATED"
    assert "revoked" in refreshed["errors"][0]["message"]


def _token(settings: Settings, *, key: str | None = None, algorithm: str = "HS256",
           headers: dict[str, Any] | None = None, **overrides: Any) -> str:  # fmt: skip
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": "1", "role": "ADMIN",
        "sid": str(uuid.uuid4()), "iat": now, "exp": now + timedelta(minutes=5), **overrides,
    }  # fmt: skip
    claims = {name: value for name, value in claims.items() if value is not None}
    secret = key if key is not None else settings.jwt_secret.get_secret_value()
    with warnings.catch_warnings():  # HS512 with the (HS256-sized) test secret: on purpose
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(
            claims, secret, algorithm=algorithm, headers={"typ": "at+jwt", **(headers or {})}
        )


def _unsigned(settings: Settings) -> str:
    _, payload, _ = _token(settings).split(".")
    none_header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    return f"{none_header.rstrip(b'=').decode()}.{payload}."


def _tampered(settings: Settings) -> str:
    header, payload, signature = _token(settings, role="BUYER").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "ADMIN"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


BAD_TOKENS: dict[str, Callable[[Settings], str]] = {
    "tampered": _tampered,
    "expired": lambda s: _token(s, iat=datetime.now(UTC) - timedelta(hours=2),
                                exp=datetime.now(UTC) - timedelta(hours=1)),
    "wrong audience": lambda s: _token(s, aud="someone-else"),
    "wrong issuer": lambda s: _token(s, iss="https://evil.example"),
    "alg none": _unsigned,
    "signed with another key": lambda s: _token(s, key="another-secret-of-at-least-32-chars!!"),
    "another algorithm": lambda s: _token(s, algorithm="HS512"),
    "no exp": lambda s: _token(s, exp=None),
    "no iat": lambda s: _token(s, iat=None),
    "no aud": lambda s: _token(s, aud=None),
    "no sign-in": lambda s: _token(s, sid=None),
    "not an access token": lambda s: _token(s, headers={"typ": "JWT"}),
    "garbage": lambda s: "not.a.jwt",
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
async def test_every_bad_access_token_is_unauthenticated_even_for_public_fields(
    client: httpx.AsyncClient, settings: Settings, kind: str
) -> None:
    token = BAD_TOKENS[kind](settings)
    for query in (ME, CATALOG):
        response = await client.post(
            "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith('Bearer realm="autobroker"')
        message = (
            "the access token has expired" if kind == "expired" else "the access token is invalid"
        )
        assert response.json() == {
            "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]
        }


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Authorization": "Basic dXNlcjpwYXNz"},
         "use the Bearer scheme: Authorization: Bearer <token>"),
        ({"Authorization": "Bearer "}, "use the Bearer scheme: Authorization: Bearer <token>"),
        ({"X-API-Key": "ab_live_nope"}, "the API key is invalid or revoked"),
        ({"Authorization": "Bearer x", "X-API-Key": "y"},
         "send either Authorization or X-API-Key, not both"),
    ],
)  # fmt: skip
async def test_malformed_credentials_are_unauthenticated(
    client: httpx.AsyncClient, headers: dict[str, str], message: str
) -> None:
    response = await client.post("/graphql", json={"query": CATALOG}, headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"] == [
        {"message": message, "extensions": {"code": "UNAUTHENTICATED"}}
    ]


async def test_a_token_for_a_deleted_user_is_refused(
    client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    user = await create_user(engine, settings, UserRole.BUYER)
    async with engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM app_user WHERE id = :id"), {"id": user.id})
    response = await client.post("/graphql", json={"query": ME}, headers=user.headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_a_partner_key_authenticates_until_it_is_revoked(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    created = await create_api_key(engine, "comparison-site")
    await trust(engine, "comparison-site", CATALOG, ME)
    assert created.key.startswith(f"ab_live_{created.prefix}_")
    ok = await client.post("/graphql", json={"query": CATALOG}, headers={"X-API-Key": created.key})
    assert ok.status_code == 200
    assert ok.json()["data"]["vehicles"]["totalCount"] > 0
    # A partner is not a user: me is FORBIDDEN, not UNAUTHENTICATED.
    me = await graphql(client, ME, None, **{"X-API-Key": created.key})
    assert _code(me) == "FORBIDDEN"
    forged = created.key[:-4] + ("AAAA" if not created.key.endswith("AAAA") else "BBBB")
    wrong = await client.post("/graphql", json={"query": CATALOG}, headers={"X-API-Key": forged})
    assert wrong.status_code == 401

    assert await revoke_api_key(engine, created.prefix) is True
    assert await revoke_api_key(engine, created.prefix) is False
    revoked = await client.post(
        "/graphql", json={"query": CATALOG}, headers={"X-API-Key": created.key}
    )
    assert revoked.status_code == 401
    assert revoked.json()["errors"][0]["message"] == "the API key is invalid or revoked"


ALIASED_LOGINS = (
    "mutation Many {\n"
    + "\n".join(
        f'  a{i}: login(input: {{email: "$EMAIL", password: "wrong-{i}"}}) {{ accessToken }}'
        for i in range(12)
    )
    + "\n}"
)


async def test_aliased_logins_in_one_document_each_count_against_the_account(
    client_from: ClientFrom, settings: Settings, cast: Cast
) -> None:
    limit = settings.login_attempts_per_account
    async with client_from("10.20.0.1") as client:
        body = await graphql(client, ALIASED_LOGINS.replace("$EMAIL", cast.other_dealer.email))
        assert body["data"] == {f"a{i}": None for i in range(12)}
        codes = [error["extensions"]["code"] for error in body["errors"]]
        assert codes == ["UNAUTHENTICATED"] * limit + ["RATE_LIMITED"] * (12 - limit)
        limited = body["errors"][-1]
        assert 0 < limited["extensions"]["retryAfter"] <= settings.login_throttle_window_seconds
        assert limited["message"].startswith("Too many sign-in attempts")
    # The right password is refused too while the account is throttled, from anywhere.
    async with client_from("10.20.0.2") as elsewhere:
        body = await _login(elsewhere, cast.other_dealer.email, PASSWORD)
        assert _code(body) == "RATE_LIMITED"


async def test_batched_requests_from_one_address_are_throttled_per_address(
    client_from: ClientFrom, settings: Settings
) -> None:
    limit = settings.login_attempts_per_client
    async with client_from("10.30.0.1") as client:
        codes = []
        for _ in range(limit + 2):
            body = await _login(client, unique_email("spray"), "whatever-password")
            codes.append(_code(body))
        assert codes == ["UNAUTHENTICATED"] * limit + ["RATE_LIMITED"] * 2
        body = await graphql(
            client, REGISTER, {"input": {"email": unique_email(), "password": PASSWORD}}
        )
        assert _code(body) == "RATE_LIMITED"
    async with client_from("10.30.0.2") as other:
        assert _code(await _login(other, unique_email("spray"), "whatever-password")) == (
            "UNAUTHENTICATED"
        )


async def test_a_throttled_sign_in_answers_429_with_retry_after_like_the_cost_limit(
    client_from: ClientFrom, settings: Settings
) -> None:
    async with client_from("10.31.0.1") as client:
        for _ in range(settings.login_attempts_per_client):
            body = await _login(client, unique_email("spray"), "whatever-password")
            assert _code(body) == "UNAUTHENTICATED"
        response = await client.post(
            "/graphql",
            json={
                "query": LOGIN,
                "variables": {"input": {"email": unique_email(), "password": PASSWORD}},
            },
        )
    assert response.status_code == 429
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    retry = error["extensions"]["retryAfter"]
    assert 0 < retry <= settings.login_throttle_window_seconds
    assert response.headers["retry-after"] == str(retry)


async def test_a_successful_login_clears_the_account_budget(
    client_from: ClientFrom, settings: Settings, cast: Cast
) -> None:
    async with client_from("10.40.0.1") as client:
        for _ in range(settings.login_attempts_per_account - 1):
            assert _code(await _login(client, cast.admin.email, "wrong-password!")) == (
                "UNAUTHENTICATED"
            )
        assert "errors" not in await _login(client, cast.admin.email, PASSWORD)
        for _ in range(settings.login_attempts_per_account - 1):
            assert _code(await _login(client, cast.admin.email, "wrong-password!")) == (
                "UNAUTHENTICATED"
            )


async def _ws_me(live_server: str, payload: dict[str, Any]) -> dict[str, Any]:
    """connection_init with `payload`, then `me` over graphql-transport-ws."""
    url = live_server.replace("http://", "ws://") + "/graphql"
    async with ws_connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await socket.recv()) == {"type": "connection_ack"}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": ME}}))
        message: dict[str, Any] = json.loads(await socket.recv())
        assert message["type"] == "next", message
        payload_out = dict(message["payload"])
        assert "cost" in payload_out.pop("extensions", {"cost": None})
        return payload_out


async def test_websocket_connection_init_authenticates(
    live_server: str, cast: Cast, engine: AsyncEngine
) -> None:
    await trust(engine, "cast-partner", ME)  # partners run registered operations only
    as_user = await _ws_me(live_server, {"Authorization": f"Bearer {cast.buyer.token}"})
    assert as_user == {"data": {"me": {"id": as_user["data"]["me"]["id"], "email": cast.buyer.email,
                                       "role": "BUYER", "dealer": None}}}  # fmt: skip
    as_partner = await _ws_me(live_server, {"apiKey": cast.partner_key})
    assert as_partner["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await _ws_me(live_server, {})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "payload",
    [{"Authorization": "Bearer not.a.jwt"}, {"apiKey": "ab_live_nope"}, {"authorization": 42}],
)
async def test_websocket_with_a_bad_credential_is_closed_before_any_operation(
    live_server: str, payload: dict[str, Any]
) -> None:
    url = live_server.replace("http://", "ws://") + "/graphql"
    async with ws_connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
