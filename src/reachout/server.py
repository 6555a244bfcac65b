"""The HTTP server: Reachout's own endpoints under /_reachout/, every other path is an AWS call."""
from __future__ import annotations

import contextlib
import logging

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import reachout
from reachout.aws.catalog import ServiceCatalog
from reachout.aws.gateway import Gateway
from reachout.clock import Clock, SystemClock
from reachout.providers import handlers_of
from reachout.providers.campaigns import V1, V2, CampaignsProvider
from reachout.providers.profile_objects import ProfileObjectsProvider
from reachout.providers.profiles import SERVICE as PROFILES
from reachout.providers.profiles import ProfilesProvider
from reachout.providers.segments import SegmentsProvider
from reachout.settings import Settings
from reachout.store.db import Database, database_url, open_database

log = logging.getLogger("reachout")


def build_app(settings: Settings, clock: Clock | None = None, database: Database | None = None) -> Starlette:
    clock = clock or SystemClock()
    database = database or open_database(database_url(settings.db, settings.data_dir))
    catalog = ServiceCatalog()
    handlers = {
        **handlers_of(CampaignsProvider(database, clock, settings.quotas), catalog, [V1, V2]),
        **handlers_of(ProfilesProvider(database, clock), catalog, [PROFILES]),
        **handlers_of(ProfileObjectsProvider(database, clock), catalog, [PROFILES]),
        **handlers_of(SegmentsProvider(database, clock), catalog, [PROFILES]),
    }
    gateway = Gateway(catalog, handlers, {settings.access_key_id: settings.secret_access_key},
                      settings.account_id, SystemClock().now)

    async def health(request):
        return JSONResponse({"status": "ok", "version": reachout.__version__,
                             "database": "sqlite" if database.is_sqlite else "postgresql"})

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        database.dispose()

    app = Starlette(routes=[Route("/_reachout/health", health), Mount("/", app=gateway)], lifespan=lifespan)
    app.state.database = database
    return app
