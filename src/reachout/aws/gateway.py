"""The ASGI endpoint every AWS call enters through.

signature headers -> body -> signature -> service -> operation -> params -> validation -> handler ->
response. Each step that fails answers with the AWS error a client expects, and nothing reaches a
handler unless every step before it passed, so a bad request changes nothing. The body is read only
once the headers carry a plausible signature by a known key, and never beyond the size limit.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from botocore.model import OperationModel
from starlette.requests import Request

from reachout.aws import sigv4
from reachout.aws.bodies import DEFAULT_BODY_TIMEOUT_SECONDS, DEFAULT_MAX_BODY_BYTES, read_body
from reachout.aws.catalog import Service, ServiceCatalog
from reachout.aws.errors import AwsError, ParamValidationError
from reachout.aws.parsing import parse_json, parse_rest_json
from reachout.aws.serializing import serialize_error, serialize_output
from reachout.aws.validation import validate
from reachout.foreground import FOREGROUND

log = logging.getLogger("reachout.aws")


@dataclass(frozen=True)
class Call:
    """One authenticated, validated operation call, as a handler sees it."""

    service: str  # boto3 client name, e.g. "connectcampaignsv2"
    operation: str
    params: dict
    region: str
    account_id: str
    request_id: str


# A handler may carry an `inline` version of itself, quick and never blocking, which runs on the
# event loop and spares the hand-off to a handler thread and back. When it would have to wait, it
# raises WouldBlock before changing anything, and the handler itself runs on a thread instead.
Handler = Callable[[Call], dict | None]


class WouldBlock(Exception):
    """An inline handler would have to wait."""

# Handlers block (on the database, on SQLite's write lock), so they run on threads of their own; as
# many as Starlette would lend (anyio's default of 40), through a plain executor, whose hand-off
# costs a fraction of anyio's (capacity limiter, cancel scopes) on every call.
HANDLER_THREADS = 40


class Gateway:
    def __init__(
        self,
        catalog: ServiceCatalog,
        handlers: Mapping[tuple[str, str], Handler],
        secrets: Mapping[str, str],
        account_id: str,
        wall_clock: Callable[[], datetime],
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        body_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS,
    ):
        self.catalog = catalog
        self.handlers = handlers
        self.secrets = secrets
        self.account_id = account_id
        # Signatures are checked against real time even when the engine runs on a virtual clock:
        # clients sign with their own wall clock.
        self.wall_clock = wall_clock
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.executor = ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="reachout-api")

    async def __call__(self, scope, receive, send) -> None:
        with FOREGROUND.serving():  # a background engine in this process gives way meanwhile
            status, headers, body = await self.handle(scope, receive)
            # The response as Starlette's Response would send it, without building one per call.
            raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
            if status >= 200 and status not in (204, 304):
                raw.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": raw})
            await send({"type": "http.response.body", "body": body})

    async def handle(self, scope, receive) -> tuple[int, dict[str, str], bytes]:
        request_id = str(uuid.uuid4())
        raw_path = scope.get("raw_path")
        raw_path = raw_path.decode("latin-1").partition("?")[0] if raw_path is not None else scope["path"]
        raw_path = raw_path or "/"
        raw_query = scope.get("query_string", b"").decode("latin-1")
        # ASGI servers hand header names over lower-cased; a repeated header keeps its last value.
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        method = scope["method"]
        body: bytes | None = None
        service: Service | None = None
        operation: OperationModel | None = None
        try:
            claim = sigv4.claim(raw_query, headers, self.secrets, self.wall_clock())
            # Known before the body is read, so that a body refused for its size gets the service's dialect.
            service = self.catalog.resolve(claim.scope.service, raw_path)
            body = await read_body(Request(scope, receive), self.max_body_bytes, self.body_timeout)
            signed = claim.prove(method, raw_path, raw_query, headers, body)
            if service is None:
                raise AwsError("UnknownOperationException",
                               f"Reachout serves no AWS service signed as '{signed.service}'", status=404)
            query = parse_qsl(raw_query, keep_blank_values=True) if raw_query else []
            operation, labels = self._route(service, method, raw_path, query, headers)
            params = self._params(service, operation, labels, query, headers, body)
            handler = self.handlers.get((service.name, operation.name))
            if handler is None:
                raise AwsError("NotImplemented",
                               f"Reachout does not implement {service.name}:{operation.name} yet",
                               status=501)
            call = Call(service.name, operation.name, params, signed.region, self.account_id, request_id)
            inline, output = getattr(handler, "inline", None), None
            if inline is not None:
                try:
                    output = inline(call)
                except WouldBlock:
                    inline = None
            if inline is None:
                output = await asyncio.get_running_loop().run_in_executor(self.executor, handler, call)
            status, out_headers, out_body = serialize_output(service.protocol, operation, output or {})
        except ParamValidationError as problem:
            code = service.validation_error(operation) if service and operation else "ValidationException"
            status, out_headers, out_body = self._error(service, AwsError(code, str(problem), status=400))
        except AwsError as error:
            status, out_headers, out_body = self._error(service, error)
        except Exception:  # a bug must not leak a stack trace to the client
            log.exception("unhandled error in %s", operation.name if operation else raw_path)
            internal = AwsError("InternalServerException", "An internal error occurred.", status=500)
            status, out_headers, out_body = self._error(service, internal)
        out_headers["x-amzn-requestid"] = request_id
        if body is None and _has_body(headers):
            # Answered without reading the body: close rather than let the client send it for nothing.
            out_headers["connection"] = "close"
        return status, out_headers, out_body

    def _route(self, service: Service, method: str, raw_path: str, query, headers) -> tuple[OperationModel, dict]:
        """The operation a request asks for, and its path labels (rest-json)."""
        if service.protocol == "json":
            target = headers.get("x-amz-target", "")
            prefix, _, name = target.partition(".")
            operation = service.operations.get(name) if prefix == service.target_prefix else None
            if operation is None:
                raise AwsError("UnknownOperationException", f"Unknown operation '{target}'", status=400)
            return operation, {}
        for route in service.routes:
            labels = route.match(method, raw_path, query)
            if labels is not None:
                return route.operation, labels
        raise AwsError("UnknownOperationException", f"No {service.name} operation matches {method} {raw_path}",
                       status=404)

    @staticmethod
    def _params(service: Service, operation: OperationModel, labels, query, headers, body: bytes) -> dict:
        if service.protocol == "json":
            params = parse_json(operation, body)
        else:
            params = parse_rest_json(operation, labels, query, headers, body)
        validate(operation.input_shape, params)
        return params

    def _error(self, service: Service | None, error: AwsError) -> tuple[int, dict, bytes]:
        if service is None:  # before we know the service, speak both dialects
            status, headers, body = serialize_error("json", None, error, "message", error.status or 400)
            return status, headers, body
        shape = service.model.shape_for(error.code) if error.code in service.model.shape_names else None
        modelled = shape.metadata.get("error", {}).get("httpStatusCode") if shape else None
        status = modelled or error.status or 400
        return serialize_error(service.protocol, shape, error, service.message_key(error.code), status)


def _has_body(headers: Mapping[str, str]) -> bool:
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
