"""Plans: what a snapshot decided for the members of each reach class, and the participants who
follow them until their contacts are made.

A snapshot plans each reach class among the members entering once (engine/campaigns.py), then enters
the members in one INSERT ... SELECT: a participant row each, pointing at its class's plan, with the
instant its first contact falls due. The contact rows are made from the plan when that instant has
come and the channels can take them (release): a snapshot of a million members writes a million
rows, not three million, and the contacts table holds what is about to be sent and what was.

A contact made at release takes the endpoint the profile has then, from the field its plan chose:
a profile deleted, or whose endpoint was removed or made unusable since, is dropped with the reason
instead of being sent to an address it no longer has.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import (Boolean, Column, Connection, MetaData, String, Table, and_, case, exists, func, insert, literal,
                        null, select, true, update)
from sqlalchemy.dialects import postgresql, sqlite

from reachout.domain import participant
from reachout.domain.contact import DROPPED, PLANNED
from reachout.domain.plan import NewPlan
from reachout.store.bulk import insert_values
from reachout.store.segments import condition
from reachout.store.tables import campaigns, contacts, participants, plan_contacts, plans, profiles
from reachout.store.work import id_head, numbered_ids

_LOOKUP = 500  # ids per IN list
_ANALYZE_AFTER = 10_000  # members entered by one snapshot, past which PostgreSQL's statistics are refreshed


def insert_plans(conn: Connection, new: Sequence[NewPlan]) -> None:
    """A snapshot's plans, each with its contacts."""
    insert_values(conn, plans, ("id", "campaign_id", "snapshot_id", "reach_class", "release_at", "created_at"),
                  [(p.id, p.campaign_id, p.snapshot_id, p.reach_class, p.release_at, p.created_at) for p in new])
    insert_values(conn, plan_contacts, ("plan_id", "channel", "field", "zones", "due_at", "reason"),
                  [(p.id, c.channel, c.field, c.zones, c.due_at, c.reason) for p in new for c in p.contacts])


# --- entering a snapshot's members ---------------------------------------------------------------
# The members about to enter, gathered once per snapshot: the segment's condition is evaluated in
# one pass over the domain, and what follows reads this table instead of evaluating it again.
_entering = Table(
    "entering", MetaData(),
    Column("profile_id", String(32), nullable=False),
    Column("reach_class", String(32)),
    Column("entered_before", Boolean, nullable=False),  # in the campaign before (entry limits apply)
    prefixes=["TEMPORARY"],
)
# One member of each reach class among them (kept by the first insert: far cheaper than a GROUP BY,
# which would sort all of them).
_classes = Table(
    "entering_classes", MetaData(),
    Column("reach_class", String(32), primary_key=True),
    Column("profile_id", String(32), nullable=False),
    prefixes=["TEMPORARY"],
)


@contextmanager
def entering(conn: Connection, campaign_id: str, domain_id: int, definition: dict) -> Iterator[Entering]:
    """The segment's members not active in the campaign (a profile is active in it at most once),
    in a temporary table for the time of the snapshot (a snapshot that fails rolls its creation back)."""
    _entering.create(conn)
    _classes.create(conn)
    members = and_(profiles.c.domain_id == domain_id, condition(conn, domain_id, definition))
    in_campaign = conn.execute(select(exists().where(participants.c.campaign_id == campaign_id))).scalar()
    entered_before = literal(False)
    if in_campaign:  # a first snapshot has nobody to leave out
        entered_before = exists().where(participants.c.campaign_id == campaign_id,
                                        participants.c.profile_id == profiles.c.id)
        active = exists().where(participants.c.campaign_id == campaign_id,
                                participants.c.profile_id == profiles.c.id, participants.c.state == participant.ACTIVE)
        members = and_(members, ~active)
    conn.execute(insert(_entering).from_select(
        ["profile_id", "reach_class", "entered_before"],
        select(profiles.c.id, profiles.c.reach_class, entered_before).where(members).order_by(profiles.c.id)))
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(_classes).from_select(
        ["reach_class", "profile_id"],
        # (SQLite needs a WHERE before ON CONFLICT.)
        select(_entering.c.reach_class, _entering.c.profile_id).where(true())).on_conflict_do_nothing())
    yield Entering(conn, campaign_id)
    _classes.drop(conn)
    _entering.drop(conn)


class Entering:
    def __init__(self, conn: Connection, campaign_id: str):
        self.conn = conn
        self.campaign_id = campaign_id

    def classes(self) -> dict[str, dict]:
        """Reach class -> the reach of one member of that class."""
        first = {reach_class: profile_id for reach_class, profile_id in self.conn.execute(select(_classes))}
        reach = reach_of_profiles(self.conn, list(first.values()))
        return {reach_class: reach[profile_id] for reach_class, profile_id in first.items()}

    def returning(self) -> list[tuple[str, str]]:
        """(profile id, reach class) of the members who were in the campaign before."""
        query = (select(_entering.c.profile_id, _entering.c.reach_class)
                 .where(_entering.c.entered_before).order_by(_entering.c.profile_id))
        return [(profile_id, reach_class) for profile_id, reach_class in self.conn.execute(query)]

    def enter_new(self, snapshot_id: str, now: datetime) -> int:
        """Enters the members never in the campaign before, each following its class's plan in this
        snapshot: active until its contacts are made, or dropped at once if its plan drops every
        channel. Returns how many entered."""
        alive = plans.c.release_at.is_not(None)
        at = literal(now, participants.c.entered_at.type)
        query = (select(numbered_ids(self.conn, id_head()), literal(self.campaign_id), _entering.c.profile_id,
                        literal(1), case((alive, participant.ACTIVE), else_=participant.DROPPED), at,
                        case((alive, null()), else_=at),
                        plans.c.id, plans.c.release_at)
                 .join_from(_entering, plans, and_(plans.c.snapshot_id == snapshot_id,
                                                   plans.c.reach_class == _entering.c.reach_class))
                 .where(~_entering.c.entered_before))
        columns = ["id", "campaign_id", "profile_id", "entry", "state", "entered_at", "finished_at", "plan_id",
                   "release_at"]
        entered = insert(participants).from_select(columns, query).execution_options(preserve_rowcount=True)
        count = self.conn.execute(entered).rowcount
        if count >= _ANALYZE_AFTER and self.conn.dialect.name == "postgresql":
            # The planner's figures for the table, now that it holds this many more: without them the
            # release and claim queries that follow are planned for the table as it was.
            self.conn.exec_driver_sql("ANALYZE participants")
        return count

    def following(self, plan_ids: dict[str, str]) -> list[tuple[str, str, str]]:
        """(participant id, profile id, plan id) of the members who entered following these plans
        (reach class -> plan id), in participant id order."""
        # (As an IN list: joined to the temporary table, SQLite would read all of the campaign's participants.)
        members = select(_entering.c.profile_id).where(_entering.c.reach_class.in_(list(plan_ids)))
        query = (select(participants.c.id, participants.c.profile_id, participants.c.plan_id)
                 .where(participants.c.campaign_id == self.campaign_id, participants.c.profile_id.in_(members),
                        participants.c.plan_id.in_(list(plan_ids.values())))
                 .order_by(participants.c.id))
        return [(participant, profile_id, plan_id) for participant, profile_id, plan_id in self.conn.execute(query)]


def reach_of_profiles(conn: Connection, profile_ids: list[str]) -> dict[str, dict]:
    """Profile id -> its reach."""
    reach: dict[str, dict] = {}
    for start in range(0, len(profile_ids), _LOOKUP):
        found = conn.execute(select(profiles.c.id, profiles.c.reach)
                             .where(profiles.c.id.in_(profile_ids[start:start + _LOOKUP])))
        reach.update((profile_id, value) for profile_id, value in found)
    return reach


# --- release: contacts made from plans -----------------------------------------------------------
def campaigns_to_release(conn: Connection, now: datetime) -> list[str]:
    """Running campaigns with participants whose contacts are due to be made."""
    due = exists().where(participants.c.campaign_id == campaigns.c.id, participants.c.release_at <= now)
    return list(conn.execute(select(campaigns.c.id).where(campaigns.c.state == "Running", due)).scalars())


def due_for_release(conn: Connection, campaign_id: str, now: datetime | None, limit: int) -> list[str]:
    """Up to `limit` of the campaign's participants whose contacts are due by `now` (None: all of
    them, whenever due), earliest first, locked against other workers."""
    query = select(participants.c.id).where(participants.c.campaign_id == campaign_id,
                                            participants.c.release_at.is_not(None))
    if now is not None:
        query = query.where(participants.c.release_at <= now)
    # Ties in index order: a snapshot's participants share one due time, and ordering them by id
    # would sort all of them for every batch.
    query = query.order_by(participants.c.release_at).limit(limit)
    return list(conn.execute(query.with_for_update(skip_locked=True)).scalars())


def release(conn: Connection, participant_ids: list[str], now: datetime) -> list[dict]:
    """Makes these participants' contacts from their plans, one statement for them all; returns
    the contacts dropped because the endpoint their plan chose is gone (as contact rows)."""
    if not participant_ids:
        return []
    head = id_head()
    made, _ = _planned(conn, now, numbered_ids(conn, head))
    conn.execute(insert(contacts).from_select(list(made.selected_columns.keys()),
                                              made.where(participants.c.id.in_(participant_ids))))
    conn.execute(update(participants).where(participants.c.id.in_(participant_ids)).values(release_at=None))
    # The dropped ones among the contacts just made (their ids share the head), read back rather than
    # found by a second pass over the plans and profiles.
    made_now = contacts.c.id.between(head + "0" * 12, head + "f" * 12)
    return [row._asdict() for row in conn.execute(
        select(contacts).where(contacts.c.participant_id.in_(participant_ids), made_now, contacts.c.state == DROPPED)
        .order_by(contacts.c.id))]


def _planned(conn: Connection, now: datetime | None, ids=None):
    """(SELECT of the contact columns of participants' planned contacts, the condition of those
    whose endpoint is gone); with `ids`, an id column made by that expression first."""
    field = plan_contacts.c.field
    if conn.dialect.name == "postgresql":
        endpoint = func.json_extract_path_text(profiles.c.reach, "endpoints", field, "1")
    else:
        endpoint = func.json_extract(profiles.c.reach, literal("$.endpoints.") + field + "[1]")
    gone = endpoint.is_(None)
    at = literal(now, contacts.c.completed_at.type) if now is not None else null()
    query = (select(*([ids.label("id")] if ids is not None else []), participants.c.campaign_id,
                    participants.c.id.label("participant_id"),
                    participants.c.profile_id.label("recipient"), plan_contacts.c.channel,
                    func.coalesce(endpoint, "").label("endpoint"), plan_contacts.c.zones, literal(1).label("attempt"),
                    case((gone, DROPPED), else_=PLANNED).label("state"), plan_contacts.c.due_at,
                    case((profiles.c.id.is_(None), "the profile was deleted after the contact was planned"),
                         (gone, literal("the profile's ") + field + " was removed or made unusable after the "
                                                                    "contact was planned"),
                         else_=plan_contacts.c.reason).label("reason"),
                    participants.c.entered_at.label("created_at"), case((gone, at), else_=null()).label("completed_at"))
             .join_from(participants, plan_contacts, and_(plan_contacts.c.plan_id == participants.c.plan_id,
                                                          plan_contacts.c.due_at.is_not(None)))
             .outerjoin(profiles, profiles.c.id == participants.c.profile_id))
    return query, gone


# --- what is left to release -----------------------------------------------------------------------
# When the next contacts of a Running campaign are due to be made.
NEXT_RELEASE = select(func.min(
    select(func.min(participants.c.release_at))
    .where(participants.c.campaign_id == campaigns.c.id, participants.c.release_at.is_not(None))
    .scalar_subquery())).where(campaigns.c.state == "Running")


def has_unreleased(conn: Connection, campaign_id: str) -> bool:
    return conn.execute(select(exists().where(participants.c.campaign_id == campaign_id,
                                              participants.c.release_at.is_not(None)))).scalar()


def unreleased_contacts(conn: Connection, campaign_id: str, *, deferred_only: bool = False, limit: int | None = None):
    """The campaign's planned contacts not made yet (as contact rows without an id)."""
    query, _ = _planned(conn, None)
    query = query.where(participants.c.campaign_id == campaign_id, participants.c.release_at.is_not(None))
    if deferred_only:
        query = query.where(plan_contacts.c.reason.is_not(None))
    query = query.order_by(participants.c.entered_at, participants.c.id, plan_contacts.c.channel).limit(limit)
    return [{"id": None, **row._asdict()} for row in conn.execute(query)]
