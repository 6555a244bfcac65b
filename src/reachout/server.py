"""The HTTP server: Reachout's own endpoints under /_reachout/, every other path is an AWS call."""
from __future__ import annotations

import contextlib
import json
import logging
import os
from datetime import datetime, timedelta

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import reachout
from reachout.admin_gate import PREFIX as ADMIN_PREFIX
from reachout.admin_gate import AdminGate
from reachout.agent_api import agent_routes
from reachout.aws.catalog import ServiceCatalog
from reachout.aws.gateway import Gateway, Handler
from reachout.channels import Channel
from reachout.channels.email import EmailChannel, SmtpConfig
from reachout.channels.simulated import simulated_channels
from reachout.channels.sms import SmppConfig, SmsChannel
from reachout.channels.telephony import SimulatedTelephony
from reachout.clock import Clock, SystemClock, VirtualClock
from reachout.console.app import build_console, disabled_console
from reachout.console.auth import Account
from reachout.console.operations import Operations
from reachout.engine.engine import Engine, EngineThread
from reachout.engine import shared_clock
from reachout.engine.forecast import forecast
from reachout.engine.reports import Reports
from reachout.events.bus import EventBus
from reachout.providers import handlers_of
from reachout.providers.campaigns import V1, V2, CampaignsProvider
from reachout.providers.connect import SERVICE as CONNECT
from reachout.providers.connect import ConnectProvider
from reachout.providers.connect_agents import ConnectAgentsProvider
from reachout.providers.event_triggers import EventTriggersProvider
from reachout.providers.events import EventsProvider
from reachout.providers.profile_objects import ProfileObjectsProvider
from reachout.providers.profiles import SERVICE as PROFILES
from reachout.providers.profiles import ProfilesProvider
from reachout.providers.segments import SegmentsProvider
from reachout.providers.templates import TemplatesProvider
from reachout.settings import Settings
from reachout.store import campaigns as campaign_store
from reachout.store import dialer as dialer_store
from reachout.store import event_triggers, profile_domains, recipients
from reachout.store.db import Database, database_url, open_database

log = logging.getLogger("reachout")
CONSOLE_PREFIX = "/console"  # the admin console: pages served by Starlette, like the admin endpoints


def build_app(settings: Settings, database: Database | None = None) -> Front:
    clock: Clock = VirtualClock(settings.virtual_clock) if settings.virtual_clock else SystemClock()
    database = database or open_database(database_url(settings.db, settings.data_dir))
    engine = build_engine(settings, database, clock)
    with database.transaction() as conn:  # for `reachout profiles import` / `reachout ingest` beside it
        shared_clock.publish(conn, clock.now() if isinstance(clock, VirtualClock) else None)
    catalog = ServiceCatalog()
    handlers = build_handlers(settings, database, clock, catalog)
    secrets = {settings.access_key_id: settings.secret_access_key}
    gateway = Gateway(catalog, handlers, secrets, settings.account_id, SystemClock().now, settings.max_body_bytes,
                      settings.body_timeout_seconds)
    app = Starlette(routes=[
        Route("/_reachout/health", health),
        Route("/_reachout/clock", get_clock),
        Route("/_reachout/clock/advance", advance_clock, methods=["POST"]),
        Route("/_reachout/campaigns/{campaign_id}/forecast", campaign_forecast),
        Route("/_reachout/channels/email/bounces", email_bounce, methods=["POST"]),
        Route("/_reachout/domains/{domain}/event-trigger-evaluations", trigger_evaluations),
        Route("/_reachout/campaigns/{campaign_id}/{kind}", campaign_records),
        *agent_routes(engine, clock),
        Mount(CONSOLE_PREFIX, app=_console(settings, catalog, handlers, database, clock)),
        Mount("/", app=gateway),
    ], lifespan=lifespan, middleware=[
        Middleware(AdminGate, required=settings.admin_auth_required, token=settings.admin_token, secrets=secrets,
                   wall_clock=SystemClock().now, max_body_bytes=settings.max_body_bytes,
                   body_timeout=settings.body_timeout_seconds),
    ])
    # What the endpoints below and the lifespan work with.
    app.state.settings = settings
    app.state.database = database
    app.state.engine = engine
    app.state.clock = clock
    return Front(app, gateway)


def build_handlers(settings: Settings, database: Database, clock: Clock,
                   catalog: ServiceCatalog) -> dict[tuple[str, str], Handler]:
    """Every served operation's handler, by (service, operation)."""
    connect = ConnectProvider(database, clock, catalog.services[CONNECT])
    return {
        **handlers_of(CampaignsProvider(database, clock, settings.quotas), catalog, [V1, V2]),
        **handlers_of(ProfilesProvider(database, clock), catalog, [PROFILES]),
        **handlers_of(ProfileObjectsProvider(database, clock), catalog, [PROFILES]),
        **handlers_of(SegmentsProvider(database, clock), catalog, [PROFILES]),
        **handlers_of(EventTriggersProvider(database, clock), catalog, [PROFILES]),
        **handlers_of(EventsProvider(database, clock, settings.data_dir), catalog, ["events"]),
        **handlers_of(TemplatesProvider(database, clock), catalog, ["qconnect"]),
        **handlers_of(connect, catalog, [CONNECT]),
        **handlers_of(ConnectAgentsProvider(connect), catalog, [CONNECT]),
    }


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    state = app.state
    thread = (EngineThread(state.engine) if state.settings.engine and not isinstance(state.clock, VirtualClock)
              else None)
    if thread:
        thread.start()
    yield
    if thread:
        thread.stop()
    state.engine.close()
    state.database.dispose()


# --- Reachout's own endpoints (under /_reachout/) ------------------------------------------------------
async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": reachout.__version__,
                         "database": "sqlite" if request.app.state.database.is_sqlite else "postgresql"})


async def get_clock(request: Request) -> JSONResponse:
    clock = request.app.state.clock
    return JSONResponse({"now": clock.now().isoformat(), "virtual": isinstance(clock, VirtualClock)})


async def advance_clock(request: Request) -> JSONResponse:
    """Virtual clock only: moves time on and does all the work that falls due, in time order,
    before answering."""
    state = request.app.state
    clock = state.clock
    if not isinstance(clock, VirtualClock):
        return _problem(409, "the server runs on the system clock; start it with --virtual-clock")
    try:
        body = json.loads(await request.body() or b"{}")
        target = (datetime.fromisoformat(body["to"]) if "to" in body
                  else clock.now() + timedelta(seconds=float(body["seconds"])))
    except (ValueError, KeyError, TypeError):
        return _problem(400, 'send {"seconds": N} or {"to": "2026-01-05T09:00:00Z"}')
    if target < clock.now():
        return _problem(400, f"the clock is at {clock.now().isoformat()} and cannot go back")
    handled = await run_in_threadpool(state.engine.advance, target)

    def publish() -> None:
        with state.database.transaction() as conn:
            shared_clock.publish(conn, clock.now())

    await run_in_threadpool(publish)
    return JSONResponse({"now": clock.now().isoformat(), "handled": handled})


async def campaign_records(request: Request) -> JSONResponse:
    """What happened to a campaign's recipients: its contacts, or why some were not contacted."""
    database = request.app.state.database
    campaign_id, kind = request.path_params["campaign_id"], request.path_params["kind"]
    reader = {"contacts": recipients.campaign_contacts, "suppressions": recipients.suppressions_of,
              "abandons": dialer_store.abandons}.get(kind)
    if reader is None:
        return _problem(404, f"no such record kind '{kind}': contacts, suppressions or abandons")

    def read():
        with database.transaction() as conn:
            if campaign_store.get_campaign_by_id(conn, campaign_id) is None:
                return None
            return reader(conn, campaign_id)

    records = await run_in_threadpool(read)
    if records is None:
        return _problem(404, f"no such campaign '{campaign_id}'")
    return JSONResponse(json.loads(json.dumps(records, default=_iso)))


async def campaign_forecast(request: Request) -> JSONResponse:
    """The dry run of `reachout forecast`, from the clock's now (or ?start=...)."""
    state = request.app.state

    def run():
        with state.database.transaction() as conn:
            campaign = campaign_store.get_campaign_by_id(conn, request.path_params["campaign_id"])
        if campaign is None:
            return None
        start = request.query_params.get("start")
        begin = datetime.fromisoformat(start) if start else state.clock.now()
        return forecast(state.database, campaign, begin, seed=state.settings.seed, rate=state.settings.sim_rate).view()

    try:
        view = await run_in_threadpool(run)
    except ValueError:
        return _problem(400, "start must be an ISO 8601 instant")
    return JSONResponse(view) if view else _problem(404, "no such campaign")


async def trigger_evaluations(request: Request) -> JSONResponse:
    """`reachout triggers explain`: each object a domain's event triggers evaluated, latest first, fired
    or exactly why not (?trigger=, ?profile=, ?region= (us-east-1), ?limit= (100))."""
    database = request.app.state.database
    query = request.query_params
    try:
        limit = int(query.get("limit", "100"))
    except ValueError:
        return _problem(400, "limit must be a whole number")

    def read():
        with database.transaction() as conn:
            domain = profile_domains.get_domain(conn, query.get("region", "us-east-1"), request.path_params["domain"])
            if domain is None:
                return None
            return event_triggers.evaluations(conn, domain.id, trigger_name=query.get("trigger"),
                                              profile_id=query.get("profile"), limit=max(1, min(limit, 1000)))

    rows = await run_in_threadpool(read)
    if rows is None:
        return _problem(404, f"no such Customer Profiles domain '{request.path_params['domain']}'")
    return JSONResponse(json.loads(json.dumps(rows, default=_iso)))


async def email_bounce(request: Request) -> JSONResponse:
    """A delivery status notification (RFC 3464) from the bounce mailbox of the SMTP relay, as raw
    bytes: a final failure of one of our messages becomes that contact's HARD_BOUNCE."""
    state = request.app.state
    channel = state.engine.channels.get("email")
    if not isinstance(channel, EmailChannel):
        return _problem(409, "email goes to the simulated carrier; start the server with --smtp-url")
    body = await request.body()
    contact_id = await run_in_threadpool(channel.bounce, body, state.clock.now())
    return JSONResponse({"contactId": contact_id})


class Front:
    """The ASGI application: an AWS call goes straight to the gateway, which answers every failure
    itself; Reachout's own endpoints (behind their gate) and the lifespan go through Starlette. The
    gateway's callers thus skip Starlette's middleware and routing, a sizeable share of a call's CPU."""

    def __init__(self, app: Starlette, gateway: Gateway):
        self.app = app
        self.gateway = gateway
        self.state = app.state

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and not path.startswith(ADMIN_PREFIX) and not _is_console(path):
            await self.gateway(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _is_console(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def _console(settings: Settings, catalog: ServiceCatalog, handlers, database: Database, clock: Clock):
    """The admin console, over the same handlers as the API; refused off loopback without a password
    of the operator's own."""
    account = Account.from_env()
    if not settings.on_loopback and account.default_password:
        log.warning("The console at /console/ is off: set REACHOUT_CONSOLE_PASSWORD to serve it on %s", settings.host)
        return disabled_console("The console is off: this server is reachable from other machines and has no console "
                                "password of its own. Set REACHOUT_CONSOLE_PASSWORD (and REACHOUT_CONSOLE_USER) "
                                "and restart.")
    operations = Operations(catalog, handlers, settings.account_id)
    return build_console(operations, database, clock, region=os.environ.get("REACHOUT_CONSOLE_REGION", "us-east-1"),
                         secure=settings.tls_cert is not None, account=account, seed=settings.seed,
                         sim_rate=settings.sim_rate)


def build_engine(settings: Settings, database: Database, clock: Clock) -> Engine:
    """The engine with its channels: the simulated carriers, except where a real relay (--smtp-url)
    or SMS centre (--smpp-url) is configured. Raises ValueError for a URL of the wrong form."""
    if settings.smtp_url:
        SmtpConfig.from_url(settings.smtp_url)  # both URLs checked before either adapter opens anything
    if settings.smpp_url:
        SmppConfig.from_url(settings.smpp_url)
    channels: dict[str, Channel] = dict(simulated_channels(database, settings.seed, settings.sim_rate))
    channels["telephony"] = SimulatedTelephony(database, settings.seed, settings.sim_rate)
    reports = Reports(database, clock)  # outcomes the adapters learn later
    if settings.smtp_url:
        channels["email"] = EmailChannel(settings.smtp_url, report=reports, rate=settings.smtp_rate)
    if settings.smpp_url:
        channels["sms"] = SmsChannel(settings.smpp_url, reports, rate=settings.smpp_rate, clock=clock)
    bus = EventBus(database, settings.data_dir, settings.redis_url)
    return Engine(database, clock, channels, bus=bus, lease=timedelta(seconds=settings.lease_seconds))


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status)


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else str(value)
