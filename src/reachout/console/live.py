"""A campaign's live page: its configuration and state actions, and figures that refresh themselves
(contacts by state and disposition, suppressions by reason with examples, sends per hour, limits hit,
latest contact events)."""
from __future__ import annotations

from starlette.responses import Response

from reachout.console.app import Context
from reachout.domain.campaign import INITIALIZED
from reachout.engine.forecast import forecast
from reachout.store import console_reads

REFRESH_SECONDS = 5
# A page of a big campaign still counts every one of its contacts and participants in the indexes
# (about 60 ms at 100,000 on SQLite, benchmarks/console.py): it comes again less often, so that a few
# open tabs do not keep the database busy.
BIG_CAMPAIGN, BIG_REFRESH_SECONDS = 20_000, 30


def _figures(ctx: Context):
    campaign_id = ctx.request.path_params["campaign_id"]
    with ctx.console.database.read() as conn:
        campaign = console_reads.campaign(conn, campaign_id)
        figures = console_reads.live_figures(conn, campaign_id) if campaign else None
    return campaign, figures


def show(ctx: Context) -> Response:
    campaign, figures = _figures(ctx)
    if campaign is None:
        return ctx.render("refused.html", status=404, reason=f"There is no campaign {ctx.request.path_params['campaign_id']}.")
    outlook = None
    if campaign.state == INITIALIZED and "customerProfilesSegmentArn" in (campaign.source or {}):
        # Before it is published, a Draft shows what publishing it now would do.
        start = campaign.schedule.start_time if campaign.schedule and campaign.schedule.start_time > ctx.now else ctx.now
        outlook = forecast(ctx.console.database, campaign, start, seed=ctx.console.seed,
                           rate=ctx.console.sim_rate).view()
    every = BIG_REFRESH_SECONDS if sum(figures["contacts"].values()) > BIG_CAMPAIGN else REFRESH_SECONDS
    return ctx.render("live.html", c=campaign, f=figures, every=every, forecast=outlook)


def fragment(ctx: Context) -> Response:
    campaign, figures = _figures(ctx)
    if campaign is None:
        return ctx.render("refused.html", status=404, reason="The campaign is gone.")
    return ctx.render("_live.html", c=campaign, f=figures)


ROUTES = [
    ("/campaigns/{campaign_id}", show, ["GET"], False),
    ("/campaigns/{campaign_id}/live", fragment, ["GET"], False),
]
