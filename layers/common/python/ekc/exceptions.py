"""One family of domain errors: a stable code and its numbers; no HTTP and no words in here.

Each channel maps the codes to its answer (an HTTP status, a Viber message, a spoken sentence).
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal the resident should hear about: a stable code and the values a channel needs to word it."""

    code = "internal"

    def __init__(self, code: str | None = None, **params: object) -> None:
        if code is not None:
            self.code = code
        self.params = params
        super().__init__(self.code)


class InvalidRequest(DomainError):
    """The request is malformed (a value, an e-mail, a code)."""

    code = "invalid_request"


class InvalidValue(InvalidRequest):
    """A meter reading that cannot be a reading of this meter."""

    code = "value_not_number"


class InvalidCode(InvalidRequest):
    """An account + SRC code that is not 8-9 digits."""

    code = "invalid_code"


class NotSignedIn(DomainError):
    """No valid session."""

    code = "not_signed_in"


class BadCredentials(DomainError):
    """E-mail and password don't match."""

    code = "bad_credentials"


class BadToken(DomainError):
    """A QR token that is forged, for another purpose, or expired."""

    code = "bad_token"


class Forbidden(DomainError):
    """The session may not do this (a QR session outside its account, a missing CSRF token)."""

    code = "scope"


class NotFound(DomainError):
    """Nothing there, or nothing there for you: the two are deliberately indistinguishable."""

    code = "not_found"


class Conflict(DomainError):
    """The thing already exists (an e-mail)."""

    code = "email_taken"


class TooManyAttempts(DomainError):
    """A rate limit on something guessable was hit."""

    code = "too_many_attempts"


class StorageUnavailable(DomainError):
    """DynamoDB failed or throttled: nothing was written, the resident should retry."""

    code = "unavailable"
