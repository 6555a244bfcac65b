"""Read-only queries of the admin console: campaign listings with search and paging, a campaign's
live figures, a profile's communications. Each is one or a few grouped queries, so that a page of a
100,000-participant campaign stays quick."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection, func, or_, select

from reachout.domain.campaign import Campaign
from reachout.domain.participant import ACTIVE, COMPLETED, DROPPED
from reachout.store.campaigns import _campaign
from reachout.store.tables import (
    CONTACT_OUTCOME,
    campaigns,
    communications,
    contacts,
    event_outbox,
    hour_of,
    participants,
    profiles,
    suppressions,
)

PARTICIPANT_STATES = (ACTIVE, COMPLETED, DROPPED)  # in the order the page lists them


def _like(text: str) -> str:
    """A LIKE pattern that finds `text` anywhere, its own % and _ taken literally (escape '\\')."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def find_campaigns(conn: Connection, *, search: str = "", states: list[str] | None = None, offset: int = 0,
                   limit: int = 25) -> tuple[list[Campaign], int]:
    """A page of campaigns, newest first, whose name or id contains `search`, in `states`; and how
    many match in all."""
    where = []
    if search:
        pattern = _like(search.lower())
        where.append(or_(func.lower(campaigns.c.name).like(pattern, escape="\\"),
                         campaigns.c.id.like(pattern, escape="\\")))
    if states:
        where.append(campaigns.c.state.in_(states))
    total = conn.execute(select(func.count()).select_from(campaigns).where(*where)).scalar_one()
    rows = conn.execute(select(campaigns).where(*where).order_by(campaigns.c.seq.desc()).offset(offset).limit(limit))
    return [_campaign(row) for row in rows], total


def campaign(conn: Connection, campaign_id: str) -> Campaign | None:
    row = conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
    return _campaign(row) if row else None


def _hour_text(hour) -> str:
    """An hour_of value as 'YYYY-MM-DDTHH' (UTC): SQLite gives 'YYYY-MM-DD HH', PostgreSQL a datetime."""
    return hour.replace(" ", "T") if isinstance(hour, str) else hour.strftime("%Y-%m-%dT%H")


def _before_colon(conn: Connection, column):
    """A reason's kind: the text before its first colon ('invalid endpoint: EmailAddress ...')."""
    if conn.dialect.name == "postgresql":
        return func.split_part(column, ":", 1)
    return func.iif(func.instr(column, ":") > 0, func.substr(column, 1, func.instr(column, ":") - 1), column)


def _participants_by_state(conn: Connection, campaign_id: str) -> dict[str, int]:
    """How many of the campaign's participants are in each state, in the states' order. Counted for
    the states the engine gives in one pass over the (campaign, profile, state) index, which a GROUP
    BY state would follow with a sort of every entry; grouped after all only if some other state
    turns up."""
    counts = conn.execute(select(func.count(), *(func.count().filter(participants.c.state == state)
                                                 for state in PARTICIPANT_STATES))
                          .where(participants.c.campaign_id == campaign_id)).one()
    if counts[0] != sum(counts[1:]):
        return dict(conn.execute(select(participants.c.state, func.count())
                                 .where(participants.c.campaign_id == campaign_id)
                                 .group_by(participants.c.state).order_by(participants.c.state)).all())
    return {state: count for state, count in zip(PARTICIPANT_STATES, counts[1:]) if count}


def _suppressions_by_kind(conn: Connection, campaign_id: str, examples: int) -> list[dict]:
    """The campaign's suppressions by kind of reason, most frequent first (at most 30 kinds), each
    with its latest `examples`: two passes over the campaign's suppressions, however many kinds."""
    kind = _before_colon(conn, suppressions.c.reason)
    groups = conn.execute(select(kind, func.count()).where(suppressions.c.campaign_id == campaign_id)
                          .group_by(kind).order_by(func.count().desc()).limit(30)).all()
    latest = (select(kind.label("kind"), suppressions.c.recipient, suppressions.c.channel, suppressions.c.reason,
                     suppressions.c.at, func.row_number().over(partition_by=kind, order_by=suppressions.c.id.desc())
                     .label("n"))
              .where(suppressions.c.campaign_id == campaign_id).subquery())
    found: dict[str, list[dict]] = {}
    for row in conn.execute(select(latest.c.kind, latest.c.recipient, latest.c.channel, latest.c.reason, latest.c.at)
                            .where(latest.c.n <= examples).order_by(latest.c.kind, latest.c.n)):
        found.setdefault(row.kind, []).append(
            {"recipient": row.recipient, "channel": row.channel, "reason": row.reason, "at": row.at})
    return [{"reason": reason, "count": count, "examples": found.get(reason, [])} for reason, count in groups]


def live_figures(conn: Connection, campaign_id: str, *, examples: int = 3, events: int = 20) -> dict:
    """Where a campaign stands: participants and contacts by state, dispositions, sends per hour,
    suppressions by kind of reason with examples, and its latest contact events."""
    figures: dict = {}
    figures["participants"] = _participants_by_state(conn, campaign_id)
    waiting = conn.execute(select(func.count()).select_from(participants).where(
        participants.c.campaign_id == campaign_id, participants.c.release_at.is_not(None))).scalar_one()
    # Each from an index, in its order, without reading a contact or sorting: states from the claims'
    # index, dispositions and sends per hour from the outcomes index (which holds no planned contact).
    by_state: Counter = Counter(dict(conn.execute(
        select(contacts.c.state, func.count()).where(contacts.c.campaign_id == campaign_id)
        .group_by(contacts.c.state)).all()))
    by_disposition: Counter = Counter()
    per_hour: Counter = Counter()
    hour = hour_of(contacts.c.dispatched_at)
    for disposition, at_hour, count in conn.execute(
            select(contacts.c.disposition, hour, func.count())
            .where(contacts.c.campaign_id == campaign_id, CONTACT_OUTCOME)
            .group_by(contacts.c.disposition, hour)):
        if disposition:
            by_disposition[disposition] += count
        if at_hour:
            per_hour[_hour_text(at_hour)] += count
    if waiting:
        by_state["planned (not yet made)"] += waiting
    figures["contacts"] = dict(by_state.most_common())
    figures["dispositions"] = dict(by_disposition.most_common())
    figures["per_hour"] = sorted(per_hour.items())
    figures["suppressions"] = _suppressions_by_kind(conn, campaign_id, examples)
    figures["limits_hit"] = [group for group in figures["suppressions"]
                             if group["reason"].startswith("communication limit")]
    figures["events"] = [row.event for row in conn.execute(
        select(event_outbox.c.event).join(contacts, contacts.c.id == event_outbox.c.key)
        .where(contacts.c.campaign_id == campaign_id).order_by(event_outbox.c.seq.desc()).limit(events))]
    return figures


def find_profiles(conn: Connection, domain_id: int, search: str, *, limit: int = 50) -> list[dict]:
    """Profiles of a domain whose id, name, email address or phone number contains `search`."""
    query = select(profiles.c.id, profiles.c.first_name, profiles.c.last_name, profiles.c.email_address,
                   profiles.c.phone_number, profiles.c.mobile_phone_number).where(profiles.c.domain_id == domain_id)
    if search:
        pattern = _like(search.lower())
        query = query.where(or_(*(func.lower(column).like(pattern, escape="\\") for column in (
            profiles.c.id, profiles.c.first_name, profiles.c.last_name, profiles.c.email_address,
            profiles.c.phone_number, profiles.c.mobile_phone_number))))
    return [row._asdict() for row in conn.execute(query.order_by(profiles.c.id).limit(limit))]


def profile_communications(conn: Connection, profile_id: str, *, limit: int = 200) -> list[dict]:
    """The profile's communications across campaigns, newest first, with each campaign's name."""
    rows = conn.execute(
        select(communications.c.contact_id, communications.c.campaign_id, communications.c.channel,
               communications.c.at, communications.c.released, campaigns.c.name.label("campaign_name"),
               contacts.c.disposition, contacts.c.endpoint)
        .outerjoin(campaigns, campaigns.c.id == communications.c.campaign_id)
        .outerjoin(contacts, contacts.c.id == communications.c.contact_id)
        .where(communications.c.recipient == profile_id).order_by(communications.c.at.desc()).limit(limit))
    return [row._asdict() for row in rows]


def profile_campaigns(conn: Connection, profile_id: str) -> list[Campaign]:
    """Campaigns the profile takes part in, or took part in, or was contacted by."""
    ids = set(conn.execute(select(communications.c.campaign_id).where(communications.c.recipient == profile_id)
                           .distinct()).scalars())
    # Campaign by campaign: participants are indexed by (campaign, profile), not by profile alone.
    ids |= set(conn.execute(select(participants.c.campaign_id).where(
        participants.c.campaign_id.in_(select(campaigns.c.id)), participants.c.profile_id == profile_id)
        .distinct()).scalars())
    if not ids:
        return []
    return [_campaign(row) for row in conn.execute(select(campaigns).where(campaigns.c.id.in_(ids))
                                                   .order_by(campaigns.c.seq))]


def profile_suppressions(conn: Connection, profile_id: str, campaign_ids: list[str], *,
                         limit: int = 50) -> list[dict]:
    """Why the profile was not contacted, in the campaigns it took part in (suppressions are indexed
    by campaign, not by recipient)."""
    rows = conn.execute(select(suppressions.c.campaign_id, suppressions.c.channel, suppressions.c.reason,
                               suppressions.c.at, campaigns.c.name.label("campaign_name"))
                        .outerjoin(campaigns, campaigns.c.id == suppressions.c.campaign_id)
                        .where(suppressions.c.campaign_id.in_(campaign_ids), suppressions.c.recipient == profile_id)
                        .order_by(suppressions.c.id.desc()).limit(limit))
    return [row._asdict() for row in rows]
