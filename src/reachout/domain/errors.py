"""Why the domain refuses something. Providers translate these into each API's own error shapes."""
from __future__ import annotations


class DomainError(Exception):
    """The request is well-formed but breaks a rule of the domain (-> a validation error)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class TokenReused(Conflict):
    """A client token (ClientToken, clientToken) used before for a different request."""


class QuotaExceeded(DomainError):
    pass


class InvalidState(DomainError):
    def __init__(self, state: str, message: str):
        super().__init__(message)
        self.state = state
