"""Query cost enforcement and rate limiting, reported in `extensions.cost`.

Just before execution (after validation), the requested cost is computed (schema/cost.py);
above the maximum the operation is refused with QUERY_TOO_COMPLEX naming both numbers.
Otherwise the cost is
reserved from the caller's bucket (core/rate_limit.py); an empty bucket refuses with
RATE_LIMITED, HTTP 429 and Retry-After. After execution the unused part is refunded.
A subscription is costed once, when it starts: its requested cost is spent in full
(nothing refunded, its events not charged), and a refusal answers the subscribe message
with the protocol's error before the stream starts. Every response, and every event of a
subscription (the figures as of its start), says where the caller stands:

    "extensions": {"cost": {"requestedQueryCost": 42, "actualQueryCost": 8,
        "throttleStatus": {"maximumAvailable": 10000, "currentlyAvailable": 9966,
                           "restoreRate": 500}}}
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from auth.principal import Principal, PrincipalKind
from core.rate_limit import BucketLimit, BucketState, RateLimiter
from schema.cost import actual_cost, requested_cost
from schema.errors import ErrorCode


def bucket_for(context: Any) -> tuple[str, BucketLimit]:
    """The caller's identity and budget: per user, per partner, or per client address."""
    settings = context.settings
    principal: Principal = context.principal
    if principal.kind is PrincipalKind.PARTNER and principal.partner_id is not None:
        capacity, rate = settings.rate_limit_partners.get(
            principal.partner_id, settings.rate_limit_partner
        )
        return principal.identity, BucketLimit(capacity, rate)
    if principal.kind is PrincipalKind.USER:
        capacity, rate = (
            settings.rate_limit_admin if principal.is_admin else settings.rate_limit_user
        )
        return principal.identity, BucketLimit(capacity, rate)
    client = getattr(context.request, "client", None)
    address = client.host if client is not None else "unknown"
    capacity, rate = settings.rate_limit_anonymous
    return f"ip:{address}", BucketLimit(capacity, rate)


class QueryCostLimiter(SchemaExtension):
    """Refuses operations above the maximum cost or beyond the caller's budget."""

    def __init__(
        self,
        *,
        max_cost: int,
        limit_for: Callable[[Any], tuple[str, BucketLimit]],
    ) -> None:
        self.max_cost = max_cost
        self.limit_for = limit_for
        self.requested: int | None = None
        self.actual: int | None = None
        self.limit: BucketLimit | None = None
        self.identity: str | None = None
        self.state: BucketState | None = None
        self.subscription = False

    def _refuse(self, message: str, **extensions: Any) -> None:
        # A result set before execution makes Strawberry skip executing the operation.
        self.execution_context.result = GraphQLExecutionResult(
            data=None, errors=[GraphQLError(message, extensions=extensions)]
        )

    async def on_validate(self) -> AsyncIterator[None]:
        # Subscriptions are admitted here, just after validation (LimitedValidation runs
        # first): Strawberry starts a subscription even when an extension has set its
        # result in on_execute, but stops at pre-execution errors.
        ctx = self.execution_context
        if (
            ctx.graphql_document is not None
            and not ctx.pre_execution_errors
            and ctx.operation_type is OperationType.SUBSCRIPTION
        ):
            self.subscription = True
            if await self._admit():
                self.actual = self.requested
            elif ctx.result is not None and ctx.result.errors:
                ctx.pre_execution_errors = list(ctx.result.errors)
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        # Validation has passed by now: the document is known to be well formed.
        ctx = self.execution_context
        if ctx.graphql_document is not None and not self.subscription and await self._admit():
            yield
            await self._settle()
        else:
            yield

    async def _admit(self) -> bool:
        ctx = self.execution_context
        assert ctx.graphql_document is not None
        self.requested = requested_cost(
            ctx.schema._schema, ctx.graphql_document, ctx.operation_name, ctx.variables
        )
        if self.requested > self.max_cost:
            self._refuse(
                f"the query's cost is {self.requested}, above the maximum of {self.max_cost}",
                code=ErrorCode.QUERY_TOO_COMPLEX.value,
                requestedQueryCost=self.requested,
                maximumQueryCost=self.max_cost,
            )
            return False
        context = ctx.context
        limiter: RateLimiter | None = getattr(context, "rate_limiter", None)
        if limiter is None:
            return True
        self.identity, self.limit = self.limit_for(context)
        self.state = await limiter.reserve(self.identity, self.limit, self.requested)
        if self.state.allowed:
            return True
        retry = self.state.retry_after_seconds
        self._refuse(
            f"rate limit: this query costs {self.requested} and {self.state.available} "
            f"is available; retry in {retry} s",
            code=ErrorCode.RATE_LIMITED.value,
            retryAfter=retry,
        )
        response = getattr(context, "response", None)
        if isinstance(response, Response):
            response.status_code = 429
            response.headers["Retry-After"] = str(retry)
        return False

    async def _settle(self) -> None:
        """Count what the result did cost and refund the rest of the reservation."""
        ctx = self.execution_context
        assert ctx.graphql_document is not None
        data = getattr(ctx.result, "data", None)
        self.actual = actual_cost(ctx.graphql_document, ctx.operation_name, data)
        assert self.requested is not None
        unused = self.requested - self.actual
        limiter: RateLimiter | None = getattr(ctx.context, "rate_limiter", None)
        if limiter is not None and self.state is not None and unused > 0:
            assert self.identity is not None
            assert self.limit is not None
            self.state = await limiter.refund(self.identity, self.limit, unused)

    def get_results(self) -> dict[str, Any]:
        if self.requested is None:
            return {}
        cost: dict[str, Any] = {
            "requestedQueryCost": self.requested,
            "actualQueryCost": self.actual,
        }
        if self.limit is not None and self.state is not None:
            cost["throttleStatus"] = {
                "maximumAvailable": self.limit.capacity,
                "currentlyAvailable": self.state.available,
                "restoreRate": self.limit.restore_rate,
            }
        return {"cost": cost}
