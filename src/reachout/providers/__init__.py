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
from reachout.aws.gateway import Call, Handler, WouldBlock
from reachout.clock import Clock
from reachout.domain.errors import Conflict, DomainError, InvalidState, NotFound, QuotaExceeded, TokenReused
from reachout.store.db import Database, WriterBusy

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


# On SQLite, handing a short call to a handler thread and back costs more than the call's own work
# in the database; the gateway runs the handlers marked below on its event loop instead (`inline`).
def quick_read(method):
    """Marks a handler that only reads a bounded handful of rows: SQLite's readers wait for no writer."""
    method.quick_read = True
    return method


def quick_write(method):
    """Marks a handler that writes in one short transaction: it runs on the event loop when SQLite's
    write lock is free at once, and on a handler thread (WouldBlock) when it is not."""
    method.quick_write = True
    return method


def handlers_of(provider: object, catalog: ServiceCatalog, services: list[str]) -> dict[tuple[str, str], Handler]:
    handlers = {}
    db = getattr(provider, "db", None)
    on_sqlite = isinstance(db, Database) and db.is_sqlite
    for service in services:
        for operation in catalog.services[service].operations:
            method = getattr(provider, xform_name(operation), None)
            if method is None:
                continue
            handler = handlers[(service, operation)] = refusing(method, catalog.services[service], operation)
            if on_sqlite and getattr(method, "quick_write", False):
                handler.inline = _without_waiting(handler, db)  # type: ignore[attr-defined]
            elif on_sqlite and getattr(method, "quick_read", False):
                handler.inline = handler  # type: ignore[attr-defined]
    return handlers


def _without_waiting(handler: Handler, db: Database) -> Handler:
    def attempt(call: Call) -> dict | None:
        try:
            with db.without_waiting():
                return handler(call)
        except WriterBusy:  # raised before anything was written: the call starts over on a thread
            raise WouldBlock() from None

    return attempt


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
