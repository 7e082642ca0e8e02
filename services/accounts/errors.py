"""Why an account operation was refused; resolvers turn these into GraphQL errors.

AccountError
 ├── RegistrationRefusedError   fields at fault (weak password, invalid or taken e-mail)
 ├── InvalidCredentialsError    wrong e-mail or password (one message for both)
 ├── LoginThrottledError        too many attempts; carries retry_after seconds
 └── InvalidRefreshTokenError   unknown, expired, revoked or reused refresh token
"""

from __future__ import annotations

from services.errors import DomainError, FieldProblemsError


class AccountError(DomainError):
    """An account operation was refused."""


class RegistrationRefusedError(AccountError, FieldProblemsError):
    """The registration breaks rules; every field at fault is named."""


class InvalidCredentialsError(AccountError):
    MESSAGE = "Invalid e-mail or password."

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class LoginThrottledError(AccountError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many sign-in attempts; try again in {retry_after} seconds.")
        self.retry_after = retry_after


class InvalidRefreshTokenError(AccountError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
