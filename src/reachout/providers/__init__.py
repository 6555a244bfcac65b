"""Service providers: one module per AWS service, mapping each operation to domain and store calls.

A provider is a class whose snake_case methods are named after the operations they serve
(CreateCampaign -> create_campaign); `handlers_of` registers them for every service whose model
has that operation. Providers raise the domain's refusals (domain/errors.py) and need not know
AWS's error shapes: `handlers_of` wraps each handler once so that a refusal reaches the client as
an error the operation's model declares (`refusal`).
"""
from __future__ import annotations

from botocore import xform_name
from botocore.model import OperationModel

from reachout.aws.catalog import Service, ServiceCatalog
from reachout.aws.errors import AwsError
from reachout.aws.gateway import Call, Handler
from reachout.clock import Clock
from reachout.domain.errors import Conflict, DomainError, InvalidState, NotFound, QuotaExceeded, TokenReused
from reachout.store.db import Database

# Each kind of refusal and the errors that may say it, preferred first: the client gets the first one
# the operation's model declares; with none declared, the operation's validation error.
REFUSALS: tuple[tuple[type[DomainError], tuple[str, ...]], ...] = (
    (InvalidState, ("InvalidCampaignStateException",)),
    (NotFound, ("ResourceNotFoundException",)),
    (TokenReused, ("IdempotencyException", "ConflictException")),
    (Conflict, ("DuplicateResourceException", "ConflictException")),
    (QuotaExceeded, ("ServiceQuotaExceededException", "LimitExceededException")),
)

# The special ones: where AWS answers with an error the operation's model does not declare.
UNDECLARED: dict[tuple[str, str, type[DomainError]], str] = {
    ("events", "PutEvents", NotFound): "ResourceNotFoundException",  # an event bus other than the default
}

# A state named in the vocabulary of the API that is told about it: v1's CampaignState has no
# Completed, so to a v1 client a finished campaign is Stopped.
STATE_NAMES: dict[str, dict[str, str]] = {"connectcampaigns": {"Completed": "Stopped"}}


class Provider:
    """What every provider works with: the database and the engine's clock."""

    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock


def quick_read(method):
    """Marks a handler that only reads a bounded handful of rows. On SQLite, whose readers wait for no
    writer, handing such a read to a handler thread and back costs more than the read itself, so the
    gateway runs it on the event loop (`inline`)."""
    method.quick_read = True
    return method


def handlers_of(provider: object, catalog: ServiceCatalog, services: list[str]) -> dict[tuple[str, str], Handler]:
    handlers = {}
    on_sqlite = getattr(getattr(provider, "db", None), "is_sqlite", False)
    for service in services:
        for operation in catalog.services[service].operations:
            method = getattr(provider, xform_name(operation), None)
            if method is not None:
                handler = handlers[(service, operation)] = refusing(method, catalog.services[service], operation)
                handler.inline = on_sqlite and getattr(method, "quick_read", False)  # type: ignore[attr-defined]
    return handlers


def refusing(method: Handler, service: Service, operation_name: str) -> Handler:
    """`method` answering the domain's refusals with the errors of this operation, chosen here once."""
    operation = service.operations[operation_name]
    codes = refusal_codes(service, operation)
    validation = service.validation_error(operation)
    states = STATE_NAMES.get(service.name, {})

    def handler(call: Call) -> dict | None:
        try:
            return method(call)
        except DomainError as error:
            code = next((code for kind, code in codes if isinstance(error, kind)), validation)
            if isinstance(error, InvalidState) and code == "InvalidCampaignStateException":
                raise AwsError(code, error.message, state=states.get(error.state, error.state)) from None
            raise AwsError(code, error.message) from None

    return handler


def refusal_codes(service: Service, operation: OperationModel) -> list[tuple[type[DomainError], str]]:
    """Each kind of refusal and the error that says it to a client of this operation (a kind missing
    here is said with the operation's validation error)."""
    declared = {shape.name for shape in operation.error_shapes}
    codes = []
    for kind, candidates in REFUSALS:
        code = next((code for code in candidates if code in declared),
                    UNDECLARED.get((service.name, operation.name, kind), service.validation_error(operation)))
        codes.append((kind, code))
    return codes
