"""The one exception type that crosses the wire layer.

A handler raises AwsError with the error shape's name (e.g. "ResourceNotFoundException") and, for
modelled errors, any extra members the shape carries (e.g. state="Running"). The wire layer looks
the shape up in the operation's model for its HTTP status; errors the model does not know (signature
failures, unknown operations) carry their status explicitly.
"""
from __future__ import annotations


class AwsError(Exception):
    def __init__(self, code: str, message: str, *, status: int | None = None, **fields: object):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


class ParamValidationError(Exception):
    """Input that breaks a constraint of the model; the wire layer turns it into the service's own
    validation error (ValidationException, BadRequestException, InvalidParameterException...)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        super().__init__(f"{count} validation {noun} detected: " + "; ".join(problems))
