"""Which AWS services Reachout speaks, loaded from botocore's service models.

A request names its service only through the SigV4 credential scope (the signing name), and two
services share one signing name (connectcampaigns v1 and v2, told apart by the `/v2` path prefix),
so resolving a request to a service takes both the signing name and the raw path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import botocore.session
from botocore.model import OperationModel, ServiceModel

from reachout.aws.routing import Route, compile_route

# boto3 client name -> signing name in the credential scope. connectcampaignsv2 shares its signing
# name with v1; qconnect shares "wisdom" with the older Wisdom API, which Reachout does not serve.
SERVED = {
    "connectcampaigns": "connect-campaigns",
    "connectcampaignsv2": "connect-campaigns",
    "customer-profiles": "profile",
    "connect": "connect",
    "qconnect": "wisdom",
    "events": "events",
}

# The shape a service uses for "your input broke a constraint", in order of preference.
VALIDATION_ERRORS = (
    "ValidationException",
    "BadRequestException",
    "InvalidParameterException",
    "InvalidRequestException",
)


@dataclass
class Service:
    name: str
    model: ServiceModel
    routes: list[Route] = field(default_factory=list)

    @property
    def protocol(self) -> str:
        return self.model.protocol

    @property
    def target_prefix(self) -> str:
        return self.model.metadata.get("targetPrefix", "")

    @cached_property
    def operations(self) -> dict[str, OperationModel]:
        return {name: self.model.operation_model(name) for name in self.model.operation_names}

    def validation_error(self, operation: OperationModel) -> str:
        """The service's own error for bad input: the first modelled one the operation declares,
        else the first the service models at all (json services such as events model none)."""
        declared = {shape.name for shape in operation.error_shapes}
        for code in VALIDATION_ERRORS:
            if code in declared:
                return code
        for code in VALIDATION_ERRORS:
            if code in self.model.shape_names:
                return code
        return "ValidationException"

    def message_key(self, code: str) -> str:
        """`message` or `Message`: whichever the error shape spells (profiles and connect capitalise)."""
        if code in self.model.shape_names:
            members = self.model.shape_for(code).members
            for key in ("message", "Message"):
                if key in members:
                    return key
        return "message" if self.protocol == "rest-json" else "Message"


class ServiceCatalog:
    def __init__(self, names: dict[str, str] = SERVED):
        loader = botocore.session.get_session().get_component("data_loader")
        self.services: dict[str, Service] = {}
        self._by_signing_name: dict[str, list[Service]] = {}
        for name, signing_name in names.items():
            service = Service(name, ServiceModel(loader.load_service_model(name, "service-2"), name))
            if service.protocol == "rest-json":
                service.routes = sorted(
                    (compile_route(op) for op in service.operations.values()), key=Route.precedence
                )
            self.services[name] = service
            self._by_signing_name.setdefault(signing_name, []).append(service)

    def resolve(self, signing_name: str, raw_path: str) -> Service | None:
        candidates = self._by_signing_name.get(signing_name, [])
        if signing_name == "connect-campaigns":
            wanted = "connectcampaignsv2" if raw_path.startswith("/v2/") else "connectcampaigns"
            candidates = [s for s in candidates if s.name == wanted]
        return candidates[0] if candidates else None
