"""Domain errors of the business rules, transport-neutral.

DomainError
 ├── RefusalError           a use-case refused (stable code, names the input)
 └── InvalidArgumentError   an argument breaks a rule (names the argument)

FieldProblem: one input field refused by a rule, for mutations' `userErrors`.
"""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """A business rule refused the request."""


class RefusalError(DomainError):
    """A use-case refused; `code` is stable, `argument` names the input at fault."""

    code: str = "REFUSED"
    argument: str = "input"

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if argument is not None:
            self.argument = argument


class InvalidArgumentError(DomainError):
    """An argument is malformed or contradicts another one."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument
        self.message = message


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One input field at fault: its name, a stable code and a sentence for the user."""

    field: str
    code: str
    message: str


class FieldProblemsError(DomainError):
    """The input breaks rules; every field at fault is named (each becomes a userError)."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems
