"""Service providers: one module per AWS service, mapping each operation to domain and store calls.

A provider is a class whose snake_case methods are named after the operations they serve
(CreateCampaign -> create_campaign); `handlers_of` registers them for every service whose model
has that operation.
"""
from __future__ import annotations

import functools

from botocore import xform_name

from reachout.aws.catalog import ServiceCatalog
from reachout.clock import Clock
from reachout.aws.errors import AwsError
from reachout.aws.gateway import Handler
from reachout.domain.errors import Conflict, DomainError, NotFound, QuotaExceeded
from reachout.store.db import Database


class Provider:
    """What every provider works with: the database and the engine's clock."""

    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock


def handlers_of(provider: object, catalog: ServiceCatalog, services: list[str]) -> dict[tuple[str, str], Handler]:
    handlers = {}
    for service in services:
        for operation in catalog.services[service].operations:
            method = getattr(provider, xform_name(operation), None)
            if method is not None:
                handlers[(service, operation)] = method
    return handlers


def aws_error(error: DomainError, validation_code: str) -> AwsError:
    """The AWS error that tells a client why the domain said no."""
    code = {NotFound: "ResourceNotFoundException", Conflict: "ConflictException",
            QuotaExceeded: "ServiceQuotaExceededException"}.get(type(error), validation_code)
    return AwsError(code, error.message)


def translated(validation_code: str):
    """Decorates a provider method so that the domain's refusals reach the client as this service's
    errors (its own validation error for broken rules)."""

    def decorate(method):
        @functools.wraps(method)
        def handler(self, call, *args):
            try:
                return method(self, call, *args)
            except DomainError as error:
                raise aws_error(error, validation_code) from None

        return handler

    return decorate
