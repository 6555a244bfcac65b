"""The console's Starlette app: sessions, CSRF, rendering, and the routes of every page group."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from reachout.clock import Clock
from reachout.console.auth import Account, Session, Sessions, SignInThrottle, csrf_ok, read_form
from reachout.console.operations import Operations
from reachout.store.db import Database


PREFIX = "/console"
# No inline script or style anywhere: what the pages run comes from /console/static only.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


@dataclass
class Console:
    """What every page works with."""

    operations: Operations
    database: Database
    clock: Clock
    region: str
    sessions: Sessions
    seed: int = 0
    sim_rate: float = 1000.0
    templates: Environment = field(init=False)
    throttle: SignInThrottle = field(default_factory=SignInThrottle)

    def __post_init__(self):
        # Autoescaped HTML: nothing a user or a profile holds is ever markup here.
        self.templates = Environment(loader=PackageLoader("reachout.console", "templates"),
                                     autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        from reachout.console import views
        self.templates.globals.update(views.GLOBALS)
        self.templates.filters.update(views.FILTERS)


@dataclass
class Context:
    """One request to a page: its session, its form (POST), and how to answer."""

    console: Console
    request: Request
    session: Session
    form: dict[str, list[str]] | None = None

    def value(self, name: str, default: str = "") -> str:
        source = self.form if self.form is not None else {k: self.request.query_params.getlist(k)
                                                          for k in self.request.query_params.keys()}
        values = source.get(name) or [default]
        return values[0].strip()

    def values(self, name: str) -> list[str]:
        if self.form is not None:
            return self.form.get(name, [])
        return self.request.query_params.getlist(name)

    def render(self, template: str, status: int = 200, **variables) -> HTMLResponse:
        page = self.console.templates.get_template(template).render(
            csrf=self.session.csrf, user=self.session.user, now=self.console.clock.now(),
            path=self.request.url.path, here=self.here, flash=self.request.query_params.get("flash"),
            problem=self.request.query_params.get("problem"), **variables)
        return HTMLResponse(page, status_code=status)

    def redirect(self, to: str, *, flash: str | None = None, problem: str | None = None) -> RedirectResponse:
        note = f"flash={quote(flash)}" if flash else f"problem={quote(problem)}" if problem else ""
        if note:
            to = f"{to}{'&' if '?' in to else '?'}{note}"
        return RedirectResponse(to, status_code=303)

    @property
    def here(self) -> str:
        """This page's path and query, less the one-time notes: where an action comes back to."""
        query = [(k, v) for k, v in self.request.query_params.multi_items() if k not in ("flash", "problem")]
        return self.request.url.path + (f"?{urlencode(query)}" if query else "")

    @property
    def now(self) -> datetime:
        return self.console.clock.now()


Handler = Callable[[Context], Response]


def page(console: Console, handler: Handler, *, public: bool = False):
    """An endpoint around a page handler (sync; it runs in a worker thread): signed in or sent to
    sign in, POST forms read and their CSRF token checked before the handler sees them."""

    async def endpoint(request: Request) -> Response:
        session = console.sessions.load(request)
        if not public and not session.user:
            if request.method != "GET":
                response: Response = PlainTextResponse("Sign in first.", status_code=401)
            else:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse(f"{PREFIX}/signin?next={quote(target)}", status_code=303)
            return _finish(console, response, session)
        form = None
        if request.method == "POST":
            form = await read_form(request)
            if form is None:
                return _finish(console, PlainTextResponse("The form is too large.", status_code=413), session)
            if not csrf_ok(session, form):
                context = Context(console, request, session)
                response = context.render("refused.html", status=403, reason=(
                    "This form's security token is missing or out of date, so nothing was done. "
                    "Go back, reload the page and try again."))
                return _finish(console, response, session)
        context = Context(console, request, session, form)
        response = await run_in_threadpool(handler, context)
        return _finish(console, response, session)

    return endpoint


def _finish(console: Console, response: Response, session: Session) -> Response:
    console.sessions.store(response, session)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def build_console(operations: Operations, database: Database, clock: Clock, *, region: str, secure: bool,
                  account: Account, seed: int = 0, sim_rate: float = 1000.0) -> Starlette:
    from reachout.console import campaigns, live, profiles, signin, wizard

    console = Console(operations, database, clock, region, Sessions(account, secure), seed, sim_rate)
    routes = [Mount("/static", app=StaticFiles(directory=Path(__file__).parent / "static"), name="static")]
    for group in (signin, campaigns, wizard, live, profiles):
        for path, handler, methods, public in group.ROUTES:
            routes.append(Route(path, page(console, handler, public=public), methods=methods))
    app = Starlette(routes=routes)
    app.state.console = console
    return app


def disabled_console(reason: str) -> Starlette:
    """Served instead of the console when it may not start (off loopback without a password)."""

    async def refuse(request: Request) -> Response:
        return PlainTextResponse(reason, status_code=503)

    return Starlette(routes=[Route("/{rest:path}", refuse, methods=["GET", "HEAD", "POST"])])
