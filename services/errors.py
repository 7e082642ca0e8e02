"""Domain errors of the business rules, transport-neutral.

DomainError
 └── InvalidArgumentError   an argument breaks a rule (names the argument)
"""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request."""


class InvalidArgumentError(DomainError):
    """An argument is malformed or contradicts another one."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument
        self.message = message
