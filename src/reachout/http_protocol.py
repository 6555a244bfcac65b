"""uvicorn's HTTP protocol with a deadline on the request line and headers.

uvicorn closes a keep-alive connection that stays idle between requests, but not one that opens and
then sends nothing, or a few bytes of a request and no more (slowloris): each such connection holds a
socket forever. Here every request's line and headers must be complete within `header_timeout`
seconds of the connection opening or of the request's first byte; otherwise the connection is closed.
The body is not under this deadline: its reader (reachout.aws.bodies) bounds its size and gives up
on it when it stops arriving.
"""
from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeaderDeadlineProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never says anything is closed too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.header_deadline is None:  # a keep-alive connection's next request starts its clock
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self.header_deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _expire(self) -> None:
        self.header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
