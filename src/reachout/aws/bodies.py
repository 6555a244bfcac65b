"""Request bodies read with a ceiling, so that no client makes the server hold more than it will accept.

A declared Content-Length over the ceiling is refused before a byte of the body is read; a body
without one (chunked) is counted as it arrives and refused the moment it passes the ceiling. A body
that stops arriving for longer than the idle timeout is given up on, so a stalled upload does not
hold its connection for ever.
"""
from __future__ import annotations

import asyncio

from starlette.requests import Request

from reachout.aws.errors import AwsError

# The largest input any served operation's model allows is connect's 5 MiB raw email body
# (SendOutboundEmail, StartEmailContact); JSON escaping may grow it, so twice that with margin.
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0

TOO_LARGE = "RequestEntityTooLargeException"


def declared_length(request: Request) -> int | None:
    """The Content-Length the client declared, or None when it declared none."""
    value = request.headers.get("content-length")
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        raise AwsError("BadRequestException", f"Content-Length '{value}' is not a number", status=400) from None
    if length < 0:
        raise AwsError("BadRequestException", f"Content-Length '{value}' is negative", status=400)
    return length


def check_declared_length(request: Request, limit: int) -> None:
    """Refuse a body whose declared length is over `limit`, before reading any of it."""
    length = declared_length(request)
    if length is not None and length > limit:
        raise _too_large(f"The request body of {length} bytes exceeds the limit of {limit} bytes.")


async def read_body(request: Request, limit: int, idle_timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS) -> bytes:
    """The whole body, refused with a 413 AwsError as soon as it is known to exceed `limit` bytes, and with
    a 408 one when no part of it arrives for `idle_timeout` seconds."""
    check_declared_length(request, limit)
    chunks: list[bytes] = []
    size = 0
    # The ASGI messages themselves rather than Request.stream(): a body mostly arrives in one message,
    # which the stream would follow with an empty chunk and an end, each awaited under its own timeout.
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                message = await request.receive()
        except TimeoutError:
            raise AwsError("RequestTimeoutException", f"No part of the request body arrived for {idle_timeout:g} "
                           "seconds.", status=408) from None
        if message["type"] == "http.disconnect":
            raise AwsError("BadRequestException", "The client closed the connection before sending the whole body.",
                           status=400)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(f"The request body exceeds the limit of {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _too_large(message: str) -> AwsError:
    return AwsError(TOO_LARGE, message, status=413)
