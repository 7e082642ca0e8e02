"""The emulator's HTTP API: the part of Stripe's v1 API the project uses.

    POST /v1/payment_intents                 create
    GET  /v1/payment_intents/{id}            retrieve
    POST /v1/payment_intents/{id}/confirm    confirm (with a test payment method)
    POST /v1/payment_intents/{id}/cancel     cancel
    POST /v1/refunds                         create
    GET  /v1/refunds/{id}                    retrieve

As Stripe: form-encoded bodies with bracketed keys (`metadata[order_id]=7`, as
stripe-python sends them); `Authorization: Bearer <secret key>` (or curl's `-u key:`);
errors as `{"error": {"type", "code", "message", "param", ...}}` with Stripe's HTTP
statuses (400, 401, 402 for a declined card, 404, 409); unknown parameters refused.

Idempotency keys, with Stripe's semantics: the first response to a POST with an
`Idempotency-Key` is saved, and the same key with the same method, path and parameters
gets it again (header `Idempotent-Replayed: true`); the same key with anything else is a
400 `idempotency_error`; while the first request runs, the key answers 409 (which
stripe-python retries). As at Stripe, a request refused before it started executing
(unknown parameter, bad API key) saves nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.stripe_emulator.state import EmulatorState, StripeApiError, new_id

Handler = Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]


def decode_form(body: bytes) -> dict[str, Any]:
    """`a[b][0]=x` form fields as nested dicts and lists, as Stripe reads them."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(errors="replace"), keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise _invalid(f"Invalid hash: {parts[0]}", param=parts[0])
        node[parts[-1]] = value
    return {name: _lists(value) for name, value in root.items()}


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def _invalid(message: str, *, param: str | None = None, code: str | None = None) -> StripeApiError:
    return StripeApiError(400, "invalid_request_error", message, code=code, param=param)


def _check(params: dict[str, Any], allowed: frozenset[str]) -> None:
    for name in params:
        if name not in allowed | {"expand"}:
            raise _invalid(
                f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )
    metadata = params.get("metadata", {})
    if not isinstance(metadata, dict) or any(len(str(v)) > 500 for v in metadata.values()):
        raise _invalid("Metadata values can have up to 500 characters.", param="metadata")


def _amount(params: dict[str, Any], *, required: bool) -> None:
    raw = params.get("amount")
    if raw is None:
        if required:
            raise _invalid(
                "Missing required param: amount.", param="amount", code="parameter_missing"
            )
        return
    if not (isinstance(raw, str) and raw.isdigit()):
        raise _invalid(
            "Invalid integer: " + str(raw), param="amount", code="parameter_invalid_integer"
        )
    params["amount"] = int(raw)
    if params["amount"] < 50:
        raise _invalid("Amount must be at least 50 cents.", param="amount", code="amount_too_small")


@dataclass(slots=True)
class _Saved:
    fingerprint: str
    status: int
    body: bytes


class EmulatorApi:
    """Routes, authentication and idempotency around an `EmulatorState`."""

    def __init__(self, state: EmulatorState, api_key: str) -> None:
        self.state = state
        self.api_key = api_key
        self.delays: list[float] = []  # seconds to hold back each next response (tests)
        self._saved: dict[str, _Saved] = {}
        self._running: set[str] = set()

    def app(self) -> Starlette:
        post, get = ["POST"], ["GET"]
        return Starlette(
            routes=[
                Route("/v1/payment_intents", self._route(self._create_intent), methods=post),
                Route("/v1/payment_intents/{id}", self._route(self._get_intent), methods=get),
                Route("/v1/payment_intents/{id}/confirm", self._route(self._confirm), methods=post),
                Route("/v1/payment_intents/{id}/cancel", self._route(self._cancel), methods=post),
                Route("/v1/refunds", self._route(self._create_refund), methods=post),
                Route("/v1/refunds/{id}", self._route(self._get_refund), methods=get),
                Route("/{path:path}", self._unknown, methods=["GET", "POST", "DELETE"]),
            ]
        )

    # -- the operations --------------------------------------------------------------

    def _create_intent(self, params: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
        _check(
            params,
            frozenset(
                {
                    "amount",
                    "currency",
                    "automatic_payment_methods",
                    "description",
                    "metadata",
                    "payment_method_types",
                }
            ),
        )
        _amount(params, required=True)
        currency = params.get("currency")
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
            raise _invalid(
                "Invalid currency: " + str(currency),
                param="currency",
                code="parameter_invalid_string" if currency else "parameter_missing",
            )
        params["currency"] = currency.lower()
        return self.state.create_intent(params)

    def _get_intent(self, params: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
        return self.state.intent(path["id"])

    def _confirm(self, params: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
        _check(params, frozenset({"payment_method", "return_url", "client_secret"}))
        return self.state.confirm(path["id"], params)

    def _cancel(self, params: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
        _check(params, frozenset({"cancellation_reason"}))
        return self.state.cancel(path["id"], params)

    def _create_refund(self, params: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
        _check(params, frozenset({"payment_intent", "amount", "reason", "metadata"}))
        _amount(params, required=False)
        return self.state.refund(params)

    def _get_refund(self, params: dict[str, Any], path: dict[str, str]) -> dict[str, Any]:
        return self.state.refund_by_id(path["id"])

    async def _unknown(self, request: Request) -> Response:
        message = (
            f"Unrecognized request URL ({request.method}: {request.url.path}). "
            "The emulator speaks only the part of Stripe's API the project uses."
        )
        return _error(StripeApiError(404, "invalid_request_error", message))

    # -- the envelope: authentication, form decoding, idempotency --------------------

    def _authenticated(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "basic":
            credential = base64.b64decode(credential or "=").decode(errors="replace").split(":")[0]
        if not credential:
            raise StripeApiError(
                401,
                "invalid_request_error",
                "You did not provide an API key. "
                "Provide it in the Authorization header (Bearer auth).",
            )
        if credential != self.api_key:
            raise StripeApiError(
                401,
                "invalid_request_error",
                f"Invalid API Key provided: {credential[:8]}****{credential[-4:]}",
            )

    def _route(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                self._authenticated(request)
                body = await request.body()
                params = (
                    decode_form(body) if request.method == "POST" else dict(request.query_params)
                )
            except StripeApiError as error:
                return _error(error)
            key = request.headers.get("idempotency-key") if request.method == "POST" else None
            if key is None:
                return await self._respond(*_run(handler, params, request))
            fingerprint = json.dumps([request.method, request.url.path, params], sort_keys=True)
            saved = self._saved.get(key)
            if saved is not None:
                if saved.fingerprint != fingerprint:
                    return _error(
                        StripeApiError(
                            400,
                            "idempotency_error",
                            (
                                "Keys for idempotent requests can only be used with the "
                                "same parameters they were first used with. Try using a key "
                                f"other than '{key}' if you meant to execute a different "
                                "request."
                            ),
                        )
                    )
                return await self._respond(saved.status, saved.body, replayed=True)
            if key in self._running:
                return _error(
                    StripeApiError(
                        409,
                        "idempotency_error",
                        (
                            "There is currently another in-progress request using this "
                            "Idempotent Key (that probably means you submitted twice, and the "
                            "other request is still going through)."
                        ),
                        code="idempotency_key_in_use",
                    )
                )
            self._running.add(key)
            try:
                status, payload = _run(handler, params, request)
                if not _refused_before_running(status, payload):
                    self._saved[key] = _Saved(fingerprint, status, payload)
            finally:
                self._running.discard(key)
            return await self._respond(status, payload)

        return endpoint

    async def _respond(self, status: int, body: bytes, *, replayed: bool = False) -> Response:
        if self.delays:
            # The work is done and saved; only the answer is late (a lost response).
            await asyncio.sleep(self.delays.pop(0))
        headers = {"request-id": new_id("req_"), "stripe-version": "emulator"}
        if replayed:
            headers["idempotent-replayed"] = "true"
        return Response(body, status_code=status, media_type="application/json", headers=headers)


def _run(handler: Handler, params: dict[str, Any], request: Request) -> tuple[int, bytes]:
    try:
        result = handler(params, dict(request.path_params))
    except StripeApiError as error:
        return error.status, json.dumps(error.body()).encode()
    return 200, json.dumps(result).encode()


def _refused_before_running(status: int, body: bytes) -> bool:
    if status != 400:
        return False
    code = json.loads(body)["error"].get("code", "")
    return code in {
        "parameter_unknown",
        "parameter_missing",
        "parameter_invalid_integer",
        "parameter_invalid_string",
        "amount_too_small",
    }


def _error(error: StripeApiError) -> Response:
    return Response(
        json.dumps(error.body()).encode(),
        status_code=error.status,
        media_type="application/json",
        headers={"request-id": new_id("req_")},
    )
