"""The gate in front of Reachout's own endpoints (/_reachout/...), which are not AWS calls.

They list recipients' contacts and suppressions (personal data), move the virtual clock and inject
bounces, so wherever the server is reachable from other machines they need credentials: a bearer
token (REACHOUT_ADMIN_TOKEN) or a SigV4 signature by the server's own access key, under any service
name. Health stays open for load balancers and probes. Their bodies share the AWS calls' size limit.
"""
from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse

from reachout.aws import sigv4
from reachout.aws.bodies import read_body
from reachout.aws.errors import AwsError

PREFIX = "/_reachout/"
OPEN = frozenset({"/_reachout/health"})

NO_CREDENTIALS = ("Reachout's own endpoints need credentials on this server: an 'Authorization: Bearer <token>' "
                  "header with REACHOUT_ADMIN_TOKEN, or a SigV4 signature by the server's access key.")


class AdminGate:
    def __init__(self, app, *, required: bool, token: str | None, secrets: Mapping[str, str],
                 wall_clock: Callable[[], datetime], max_body_bytes: int, body_timeout: float):
        self.app = app
        self.required = required
        self.token = token
        self.secrets = secrets
        self.wall_clock = wall_clock
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX) or scope["path"] in OPEN:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body: bytes | None = None
        try:
            if self.required:
                body = await self._authenticated_body(request)
            else:
                body = await read_body(request, self.max_body_bytes, self.body_timeout)
        except AwsError as error:
            headers = {} if body is not None else {"connection": "close"}  # the body may be unread
            await JSONResponse({"message": error.message}, status_code=error.status or 403, headers=headers)(
                scope, receive, send)
            return

        replayed = False

        async def replay():
            # The handler reads the body the gate already read: hand it over once, then whatever follows.
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _authenticated_body(self, request: Request) -> bytes:
        """The body, read only after the headers carry the token or a plausible signature; raises AwsError."""
        authorization = request.headers.get("authorization", "")
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "bearer":
            # Bytes, compared in constant time: the token is a secret and the client controls the guess.
            if not self.token or not hmac.compare_digest(credential.strip().encode(), self.token.encode()):
                raise AwsError("AccessDenied", "The bearer token is not the server's REACHOUT_ADMIN_TOKEN.",
                               status=403)
            return await read_body(request, self.max_body_bytes, self.body_timeout)
        if not authorization:
            raise AwsError("AccessDenied", NO_CREDENTIALS, status=403)
        headers = {k.lower(): v for k, v in request.headers.items()}
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        raw_query = request.scope.get("query_string", b"").decode("latin-1")
        claim = sigv4.claim(raw_query, headers, self.secrets, self.wall_clock())
        body = await read_body(request, self.max_body_bytes, self.body_timeout)
        claim.prove(request.method, raw_path.partition("?")[0] or "/", raw_query, headers, body)
        return body
