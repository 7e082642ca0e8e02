"""Why a feed run stops.

    DomainError
     └── FeedError                  the run cannot be applied; it FAILS with `reason`
          ├── FeedUnreadableError   no such file, HTTP 404, not UTF-8, no header, no rows
          └── FeedTruncatedError    the feed ends inside a row: it was cut short
    FeedUnavailableError            a transient failure (connection refused or reset,
                                    HTTP 5xx or 429, timeout): retried with backoff
    LeaseLostError                  another worker took the run over: this one stops,
                                    its transaction rolled back
    StartRefusedError               startFeedIngestion's input breaks a rule (a FieldProblem;
                                    a RefusalError, services/errors.py)

A malformed row is none of these: it is rejected with its reasons and the run goes on.
"""

from __future__ import annotations

from services.errors import DomainError, FieldProblem, FieldProblemsError


class FeedError(DomainError):
    """The feed cannot be applied; the run fails with `reason` and withdraws nothing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FeedUnreadableError(FeedError):
    """The feed cannot be read or is not a feed at all."""


class FeedTruncatedError(FeedError):
    """The feed ends in the middle of a row."""


class FeedUnavailableError(Exception):
    """The feed could not be fetched right now; trying again later may work."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LeaseLostError(Exception):
    """The run's lease expired and another worker claimed it."""


class StartRefusedError(FieldProblemsError):
    """The run was not started: the input breaks a rule (one field at fault)."""

    def __init__(self, problem: FieldProblem) -> None:
        super().__init__([problem])
        self.problem = problem
