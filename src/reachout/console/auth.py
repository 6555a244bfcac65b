"""Who may use the console: one admin account from the environment, a signed session cookie, and a
CSRF token that every form carries and every POST must return.

REACHOUT_CONSOLE_USER (default `admin`) and REACHOUT_CONSOLE_PASSWORD. Without a password the console
takes the documented default (`reachout`), fine on loopback only: bound anywhere else, the console
refuses to start with the default or an absent password (the API is served as before).
REACHOUT_CONSOLE_SECRET signs the cookies; without it a random secret per process (sessions end at
a restart).
"""
from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

DEFAULT_USER, DEFAULT_PASSWORD = "admin", "reachout"
COOKIE = "reachout_console"
SESSION_SECONDS = 12 * 3600
MAX_FORM_BYTES = 1 << 20  # a console form is a few kilobytes; more is not a form of ours


@dataclass(frozen=True)
class Account:
    user: str
    password: str
    secret: str

    @classmethod
    def from_env(cls) -> Account:
        env = os.environ
        return cls(env.get("REACHOUT_CONSOLE_USER") or DEFAULT_USER,
                   env.get("REACHOUT_CONSOLE_PASSWORD") or DEFAULT_PASSWORD,
                   env.get("REACHOUT_CONSOLE_SECRET") or secrets.token_hex(32))

    @property
    def default_password(self) -> bool:
        return self.password == DEFAULT_PASSWORD

    def accepts(self, user: str, password: str) -> bool:
        # Both compared, in constant time, whatever the first gives: no timing hint of a right user.
        right_user = hmac.compare_digest(user.encode(), self.user.encode())
        right_password = hmac.compare_digest(password.encode(), self.password.encode())
        return right_user and right_password


@dataclass
class Session:
    user: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    changed: bool = False


class Sessions:
    def __init__(self, account: Account, secure: bool):
        self.account = account
        self.secure = secure  # served over TLS: the cookie is sent over HTTPS only
        self.serializer = URLSafeTimedSerializer(account.secret, salt="reachout-console-session")

    def load(self, request: Request) -> Session:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self.serializer.loads(raw, max_age=SESSION_SECONDS)
                return Session(user=data.get("u"), csrf=data["c"])
            except (BadSignature, KeyError, TypeError):
                pass
        return Session(changed=True)

    def store(self, response: Response, session: Session) -> None:
        if session.changed:
            response.set_cookie(COOKIE, self.serializer.dumps({"u": session.user, "c": session.csrf}),
                                max_age=SESSION_SECONDS, path="/console", httponly=True, samesite="strict",
                                secure=self.secure)

    def sign_in(self, session: Session, user: str) -> None:
        # A new token at sign-in: one seen before it (a shared machine) is worth nothing after.
        session.user, session.csrf, session.changed = user, secrets.token_urlsafe(24), True

    def sign_out(self, session: Session) -> None:
        session.user, session.csrf, session.changed = None, secrets.token_urlsafe(24), True


def csrf_ok(session: Session, form: dict[str, list[str]]) -> bool:
    given = (form.get("csrf") or [""])[0]
    return bool(given) and hmac.compare_digest(given.encode(), session.csrf.encode())


async def read_form(request: Request) -> dict[str, list[str]] | None:
    """An urlencoded form as name -> values (in order); None when it is too large."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    form: dict[str, list[str]] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(name, []).append(value)
    return form


class SignInThrottle:
    """At most MAX_FAILURES wrong passwords per client address in WINDOW seconds (real time, whatever
    the campaign clock says); then that address may not try again until the oldest failure ages out."""

    MAX_FAILURES = 5
    WINDOW = 15 * 60

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def wait(self, address: str) -> float:
        """Seconds until `address` may try again; 0 when it may now."""
        with self.lock:
            recent = self._recent(address)
            if len(recent) < self.MAX_FAILURES:
                return 0.0
            return recent[0] + self.WINDOW - self.clock()

    def failed(self, address: str) -> None:
        with self.lock:
            self._recent(address).append(self.clock())

    def _recent(self, address: str) -> deque[float]:
        recent = self.failures[address]
        while recent and recent[0] <= self.clock() - self.WINDOW:
            recent.popleft()
        if not recent:
            self.failures.pop(address, None)
            return self.failures[address]
        return recent
