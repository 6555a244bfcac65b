"""Profiles and segments: search profiles, one profile's communications across campaigns and the
limits it is under, segment definitions with their member counts."""
from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from reachout.console.app import Context
from reachout.console.operations import OperationError
from reachout.domain.limits import effective_limits
from reachout.store import console_reads, instances, profile_domains, work
from reachout.store import profiles as profile_store
from reachout.store import segments as segment_store


def _domains(ctx: Context) -> list[str]:
    try:
        items = ctx.console.operations.call("customer-profiles", "ListDomains", {"MaxResults": 100},
                                            ctx.console.region).get("Items") or []
    except OperationError:
        return []
    return [item["DomainName"] for item in items]


def search(ctx: Context) -> Response:
    domains = _domains(ctx)
    domain_name = ctx.value("domain") or (domains[0] if domains else "")
    query = ctx.value("q")
    found = []
    with ctx.console.database.read() as conn:
        domain = profile_domains.get_domain(conn, ctx.console.region, domain_name) if domain_name else None
        if domain is not None:
            found = console_reads.find_profiles(conn, domain.id, query)
    return ctx.render("profiles.html", domains=domains, domain=domain_name, q=query, found=found)


def show(ctx: Context) -> Response:
    profile_id = ctx.request.path_params["profile_id"]
    now = ctx.now
    with ctx.console.database.read() as conn:
        profile = profile_store.profiles_by_id(conn, [profile_id]).get(profile_id)
        communications = console_reads.profile_communications(conn, profile_id)
        campaigns = console_reads.profile_campaigns(conn, profile_id)
        suppressed = console_reads.profile_suppressions(conn, profile_id, [c.id for c in campaigns])
        # The limits each of its campaigns applies, and how much of each this profile has used.
        limits = []
        for campaign in campaigns:
            instance = instances.get_instance(conn, campaign.region, campaign.connect_instance_id) or {}
            applied = effective_limits(campaign.communication_limits_override, instance.get("communication_limits"))
            longest = max((limit.days for limit in applied), default=0)
            counted = work.counted_communications(conn, [profile_id], now - timedelta(days=longest)).get(profile_id, [])
            for limit in applied:
                used = sum(1 for at in counted if at > now - timedelta(days=limit.days))
                limits.append({"campaign": campaign, "limit": limit.describe(), "used": used,
                               "max": limit.max_count, "reached": used >= limit.max_count})
    if profile is None and not communications:
        return ctx.render("refused.html", status=404, reason=f"There is no profile {profile_id}.")
    return ctx.render("profile.html", profile_id=profile_id, profile=profile or {}, communications=communications,
                      campaigns=campaigns, limits=limits, suppressed=suppressed)


def segments(ctx: Context) -> Response:
    listed = []
    with ctx.console.database.read() as conn:
        for name in _domains(ctx):
            domain = profile_domains.get_domain(conn, ctx.console.region, name)
            if domain is None:
                continue
            for segment in segment_store.list_definitions(conn, domain.id, None, 200):
                listed.append({"domain": name, "name": segment.name, "display": segment.definition.get("DisplayName"),
                               "description": segment.definition.get("Description"), "arn": segment.arn,
                               "groups": segment.segment_groups,
                               "members": segment_store.count_members(conn, domain.id, segment.segment_groups)})
    return ctx.render("segments.html", segments=listed)


ROUTES = [
    ("/profiles", search, ["GET"], False),
    ("/profiles/{profile_id}", show, ["GET"], False),
    ("/segments", segments, ["GET"], False),
]
