"""The console's way into Reachout: API operations dispatched in-process, exactly as the wire layer
runs them (model validation, then the provider's handler), without HTTP or a signature.

So the console obeys every rule the API has, and tells the user why in the API's own words: a
refusal is an OperationError with the error code and message a boto3 client would get.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from reachout.aws.catalog import ServiceCatalog
from reachout.aws.errors import AwsError, ParamValidationError
from reachout.aws.gateway import Call, Handler
from reachout.aws.validation import validate
from reachout.domain.errors import DomainError
from reachout.foreground import FOREGROUND


class OperationError(Exception):
    """An operation refused: `code` is the AWS error type, `message` its text, `problems` the
    validation problems one by one (each names the member path it is about)."""

    def __init__(self, code: str, message: str, problems: list[str] | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.problems = problems or []

    def by_field(self) -> dict[str, list[str]]:
        """Validation problems keyed by the member path they name ('schedule.endTime'), list indexes
        as numbers from 1 ('communicationLimitsList.1.member.frequency' -> '...List.1.frequency')."""
        fields: dict[str, list[str]] = {}
        for problem in self.problems:
            found = _PATH.search(problem)
            path = found.group(1).replace(".member", "") if found else ""
            fields.setdefault(path, []).append(problem)
        return fields


_PATH = re.compile(r" at '([^']*)'")


class Operations:
    def __init__(self, catalog: ServiceCatalog, handlers: Mapping[tuple[str, str], Handler], account_id: str):
        self.catalog = catalog
        self.handlers = handlers
        self.account_id = account_id

    def check(self, service: str, operation: str, params: dict) -> None:
        """The model validation the wire layer runs on this operation's input; raises OperationError."""
        model = self.catalog.services[service].operations[operation]
        try:
            validate(model.input_shape, params)
        except ParamValidationError as problem:
            code = self.catalog.services[service].validation_error(model)
            raise OperationError(code, str(problem), problem.problems) from None

    def call(self, service: str, operation: str, params: dict, region: str) -> dict:
        """Runs the operation; returns its output (dict, with datetimes), raises OperationError."""
        params = {k: v for k, v in params.items() if v is not None}
        self.check(service, operation, params)
        handler = self.handlers.get((service, operation))
        if handler is None:
            raise OperationError("NotImplemented", f"Reachout does not implement {service}:{operation} yet")
        call = Call(service, operation, params, region, self.account_id, str(uuid.uuid4()))
        with FOREGROUND.serving():  # like an API call, the engine in this process gives way meanwhile
            try:
                return handler(call) or {}
            except AwsError as error:
                problems = [p["message"] for p in error.fields.get("problems", []) if isinstance(p, dict)]
                raise OperationError(error.code, error.message, problems) from None
            except DomainError as error:  # a provider that lets the domain's refusal through undecorated
                raise OperationError(self.catalog.services[service].validation_error(
                    self.catalog.services[service].operations[operation]), error.message) from None
