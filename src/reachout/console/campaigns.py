"""Campaign management (seed 002): every campaign with its state, channel, source and schedule;
search, paging, and the state actions, each through the API's own operation and its rules."""
from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import Response

from reachout.console.app import PREFIX, Context
from reachout.console.operations import OperationError
from reachout.console.views import ACTION_OPERATIONS, STATE_NAMES, STATE_OF_NAME
from reachout.providers.campaigns import V2
from reachout.store import console_reads

PAGE_SIZE = 25


def home(ctx: Context) -> Response:
    return ctx.redirect(f"{PREFIX}/campaigns")


def listing(ctx: Context) -> Response:
    search = ctx.value("q")
    shown_state = ctx.value("state")
    states = [STATE_OF_NAME[shown_state]] if shown_state in STATE_OF_NAME else None
    try:
        page = max(1, int(ctx.value("page", "1")))
    except ValueError:
        page = 1
    with ctx.console.database.read() as conn:
        found, total = console_reads.find_campaigns(conn, search=search, states=states,
                                                    offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))

    def link(to_page: int) -> str:
        query = {k: v for k, v in (("q", search), ("state", shown_state), ("page", to_page)) if v}
        return f"{PREFIX}/campaigns?{urlencode(query)}"

    return ctx.render("campaigns.html", campaigns=found, total=total, search=search, shown_state=shown_state,
                      state_choices=list(STATE_NAMES.values()), page=page, pages=pages,
                      previous=link(page - 1) if page > 1 else None, next=link(page + 1) if page < pages else None)


def action(ctx: Context) -> Response:
    campaign_id, name = ctx.request.path_params["campaign_id"], ctx.request.path_params["action"]
    operation = ACTION_OPERATIONS.get(name)
    back = ctx.value("back") if ctx.value("back").startswith(PREFIX + "/") else f"{PREFIX}/campaigns"
    if operation is None:
        return ctx.redirect(back, problem=f"There is no campaign action '{name}'.")
    with ctx.console.database.read() as conn:
        campaign = console_reads.campaign(conn, campaign_id)
    region = campaign.region if campaign else ctx.console.region
    try:
        ctx.console.operations.call(V2, operation, {"id": campaign_id}, region)
    except OperationError as error:
        return ctx.redirect(back, problem=f"{error.code}: {error.message}")
    done = {"start": "started", "pause": "paused", "resume": "resumed", "stop": "stopped", "delete": "deleted"}[name]
    label = campaign.name if campaign else campaign_id
    if name == "delete" and back.startswith(f"{PREFIX}/campaigns/{campaign_id}"):
        back = f"{PREFIX}/campaigns"
    return ctx.redirect(back, flash=f"Campaign {label} {done}.")


ROUTES = [
    ("/", home, ["GET"], False),
    ("/campaigns", listing, ["GET"], False),
    ("/campaigns/{campaign_id}/actions/{action}", action, ["POST"], False),
]
