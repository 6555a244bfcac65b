"""The engine's work in the database: participants, contacts (claimed by due time under a lease),
the communication-limit ledger and the suppression log.

The database is the queue. Claims take rows whose due time has come and whose lease is free or
expired; on PostgreSQL with FOR UPDATE SKIP LOCKED, so workers on any number of machines share the
work without taking the same row twice.
"""
from __future__ import annotations

import hashlib
import itertools
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection, Select, bindparam, case, exists, func, literal, or_, select, text, update

from reachout.domain import participant
from reachout.domain.contact import COMPLETED, DISPATCHING, DROPPED, OPEN_STATES, PLANNED, SENT, NewContact
from reachout.domain.participant import NewParticipant
from reachout.store.bulk import execute_many, insert_many, insert_records
from reachout.store.tables import campaigns, communications, contacts, participants, suppressions


def insert_contacts(conn: Connection, new: Sequence[NewContact]) -> None:
    """Contacts as they are made, many at a time."""
    insert_records(conn, contacts, new)


def insert_participants(conn: Connection, new: Sequence[NewParticipant]) -> None:
    """Participants as they enter, many at a time."""
    insert_records(conn, participants, new)


def new_ids() -> Iterator[str]:
    """Ids for participants and contacts, in the form of version-4 UUIDs: random in their first 80
    bits, then a counter. Ids made together sort together, so a snapshot's rows go to one end of
    each index led by an id instead of to random pages all over it; the random part keeps ids of
    different snapshots and processes apart."""
    head = id_head()
    return (f"{head}{n:012x}" for n in itertools.count())


def id_head() -> str:
    """The random first 24 characters of a run of new_ids; the counter's 12 hex digits follow."""
    prefix = f"{secrets.randbits(76) | 1 << 79:020x}"  # the leading 1 keeps the width fixed
    return f"{prefix[:8]}-{prefix[8:12]}-4{prefix[13:16]}-{'89ab'[int(prefix[16], 16) & 3]}{prefix[17:20]}-"


def numbered_ids(conn: Connection, head: str):
    """new_ids made by SQL: the id of each row an INSERT ... SELECT writes, numbered from 1."""
    number = func.row_number().over()
    if conn.dialect.name == "postgresql":
        return literal(head) + func.lpad(func.to_hex(number), 12, "0")
    return literal(head) + func.printf("%012x", number)


# --- claims --------------------------------------------------------------------------------------
def claim_contacts(conn: Connection, states: Iterable[str], now: datetime, owner: str, lease: timedelta,
                   limit: int, *, campaign_id: str | None = None, channel: str | None = None,
                   leased: bool = True) -> list:
    """Leases up to `limit` due contacts in `states` of Running campaigns (sent ones of any campaign),
    oldest due first. `leased` False: only locks them, for a caller whose transaction settles (or
    leases, see lease_contacts) every one it claimed: a lease it would overwrite costs a row write."""
    query = _claim(tuple(states), campaign_id is not None, channel is not None)
    # (a statement without the campaign or channel condition ignores those values)
    claimed = conn.execute(query, {"now": now, "limit": limit, "campaign_id": campaign_id, "channel": channel}).all()
    if leased:
        lease_contacts(conn, [c.id for c in claimed], owner, now + lease)
    return claimed


@lru_cache(maxsize=64)
def _claim(states: tuple[str, ...], by_campaign: bool, by_channel: bool) -> Select:
    """claim_contacts' statement, built once per shape: built afresh, it cost as much as running it."""
    query = select(*_CLAIMED).where(contacts.c.state.in_(states), contacts.c.due_at <= bindparam("now"),
                                    or_(contacts.c.lease_until.is_(None), contacts.c.lease_until <= bindparam("now")))
    if states != (SENT,):
        query = query.where(_MOVING)
    if by_campaign:
        query = query.where(contacts.c.campaign_id == bindparam("campaign_id"))
    if by_channel:
        query = query.where(contacts.c.channel == bindparam("channel"))
    # The rows themselves under the lock (one statement, not ids then rows); as claimed, before the lease.
    return (query.order_by(contacts.c.due_at, contacts.c.id).limit(bindparam("limit"))
            .with_for_update(skip_locked=True, of=contacts))


# What the engine reads of a claimed contact: not its lease, disposition, creation or completion (each
# datetime read is parsed; a claim reads thousands).
_CLAIMED = [column for column in contacts.c
            if column.name not in ("lease_owner", "lease_until", "disposition", "created_at", "completed_at")]


def lease_contacts(conn: Connection, contact_ids: list[str], owner: str, until: datetime) -> None:
    if contact_ids:
        conn.execute(_LEASE, {"ids": contact_ids, "owner": owner, "until": until})


_LEASE = update(contacts).where(contacts.c.id.in_(bindparam("ids", expanding=True))).values(
    lease_owner=bindparam("owner"), lease_until=bindparam("until"))


def due_by_campaign(conn: Connection, state: str, now: datetime) -> list[tuple[str, str, int]]:
    """(campaign id, channel, how many) of contacts in `state` due now in Running campaigns."""
    free = or_(contacts.c.lease_until.is_(None), contacts.c.lease_until <= now)
    query = (select(contacts.c.campaign_id, contacts.c.channel, func.count())
             .join(campaigns, campaigns.c.id == contacts.c.campaign_id)
             .where(contacts.c.state == state, contacts.c.due_at <= now, free, campaigns.c.state == "Running")
             .group_by(contacts.c.campaign_id, contacts.c.channel))
    return [tuple(row) for row in conn.execute(query)]


# Contacts the engine moves on: those of Running campaigns, and sent ones whatever their campaign's
# state, since a communication that left still has its outcome to record (a pause or stop holds and
# drops only what has not been sent). A condition on the contact alone, not a join: joined to
# campaigns, PostgreSQL would read each campaign's due contacts and sort them all, where the due
# index gives them in order.
_RUNNING = contacts.c.campaign_id.in_(select(campaigns.c.id).where(campaigns.c.state == "Running"))
_MOVING = or_(contacts.c.state == SENT, _RUNNING)
# The earliest due time of a contact the engine would move on (the least of these). A state at a
# time, each the first row of the due index in order: an IN over states, or a MIN beside the campaign
# condition, read every waiting contact instead.
NEXT_CONTACT_DUE = [select(contacts.c.due_at).where(contacts.c.state == state, *([] if state == SENT else [_RUNNING]))
                    .order_by(contacts.c.due_at).limit(1) for state in (SENT, PLANNED, DISPATCHING)]


def when_due(kinds: Mapping[str, Sequence[Select]]) -> Callable[[Connection], dict[str, datetime | None]]:
    """A reader of when each kind of work is next due: the least of its statements' values (each
    selects one instant), all read in one statement, built here once. (The engine asks before every
    pass: a statement per kind cost more than the pass's work when there was none.)"""
    names = {kind: [f"{index}_{n}" for n in range(len(statements))]
             for index, (kind, statements) in enumerate(kinds.items())}
    statement = select(*(query.scalar_subquery().label(name) for kind, statements in kinds.items()
                         for query, name in zip(statements, names[kind])))

    def read(conn: Connection) -> dict[str, datetime | None]:
        row = conn.execute(statement).one()._mapping
        return {kind: min((row[n] for n in labels if row[n] is not None), default=None) for kind, labels in names.items()}
    return read


def update_contact(conn: Connection, contact_id: str, **values) -> None:
    conn.execute(update(contacts).where(contacts.c.id == contact_id).values(**values))


def update_contacts(conn: Connection, changes: list[dict]) -> None:
    """Many contacts, each set its own way: dicts of the contact's `id` and the same columns, in one
    statement executed for all of them."""
    if changes:
        execute_many(conn, _UPDATE_CONTACT, [{"b_id": change["id"], **{k: v for k, v in change.items() if k != "id"}}
                                             for change in changes])


# (The bound name differs from the column: SQLAlchemy reserves column names for the SET clause.)
_UPDATE_CONTACT = update(contacts).where(contacts.c.id == bindparam("b_id"))


def drop_open_contacts(conn: Connection, campaign_id: str, reason: str, now: datetime) -> list:
    """Drops every contact of the campaign still waiting for its window; returns them."""
    waiting = list(conn.execute(select(contacts).where(contacts.c.campaign_id == campaign_id,
                                                       contacts.c.state == PLANNED)))
    conn.execute(update(contacts).where(contacts.c.campaign_id == campaign_id, contacts.c.state == PLANNED)
                 .values(state=DROPPED, reason=reason, completed_at=now, lease_owner=None, lease_until=None))
    return waiting


def has_open_contacts(conn: Connection, campaign_id: str) -> bool:
    """(Asked at every wake-up of a campaign, which its finishing contacts cause: counting them all
    took a tenth of a million-recipient campaign's time.)"""
    return conn.execute(select(exists().where(contacts.c.campaign_id == campaign_id,
                                              contacts.c.state.in_(OPEN_STATES)))).scalar()


# --- outcomes that come later ------------------------------------------------------------------
def record_sent(conn: Connection, receipts: list[tuple[str, str | None, datetime, str | None]]) -> None:
    """The channel has these contacts, (contact id, outcome, due at, reason) each: the outcome is known at
    `due at`, or (outcome None) is reported by then at the latest; a reason (why the channel failed or
    refused it) replaces the contact's. An outcome reported while a contact was being handed over wins,
    due as it was. One statement for the batch."""
    if receipts:
        execute_many(conn, _RECORD_SENT, [{"b_id": contact_id, "b_outcome": outcome, "b_due": due_at,
                                           "b_reason": reason} for contact_id, outcome, due_at, reason in receipts])


_WAITING = contacts.c.outcome.is_(None)
_RECORD_SENT = update(contacts).where(contacts.c.id == bindparam("b_id")).values(
    state=SENT, lease_owner=None, lease_until=None,
    outcome=case((_WAITING, bindparam("b_outcome", type_=contacts.c.outcome.type)), else_=contacts.c.outcome),
    due_at=case((_WAITING, bindparam("b_due", type_=contacts.c.due_at.type)), else_=contacts.c.due_at),
    reason=func.coalesce(bindparam("b_reason", type_=contacts.c.reason.type), contacts.c.reason))


def lock_contact(conn: Connection, contact_id: str):
    """One contact, under a row lock (None if there is none)."""
    return conn.execute(select(contacts).where(contacts.c.id == contact_id).with_for_update()).first()


# --- participants --------------------------------------------------------------------------------
def entry_history(conn: Connection, entering: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, datetime]]:
    """(campaign id, profile id) -> (entries so far, last entry time), for entry limits; of these
    pairs, in one statement whatever their campaigns."""
    wanted = set(entering)
    if not wanted:
        return {}
    found = conn.execute(_ENTRIES, {"campaigns": list({campaign for campaign, _ in wanted}),
                                    "profiles": list({profile for _, profile in wanted})})
    return {(campaign, profile): (count, last) for campaign, profile, count, last in found
            if (campaign, profile) in wanted}


_ENTRIES = (select(participants.c.campaign_id, participants.c.profile_id, func.count(), func.max(participants.c.entered_at))
            .where(participants.c.campaign_id.in_(bindparam("campaigns", expanding=True)),
                   participants.c.profile_id.in_(bindparam("profiles", expanding=True)))
            .group_by(participants.c.campaign_id, participants.c.profile_id))


def finish_participants(conn: Connection, participant_ids: Iterable[str], now: datetime) -> None:
    """Participants with no open contact left exit: completed if any contact completed, else dropped."""
    ids = list({p for p in participant_ids if p})
    if not ids:
        return
    # (Not as one UPDATE with EXISTS over their contacts: SQLite, given statistics, answered those from
    # the state index and read every contact in that state for each participant.)
    states: dict[str, set[str]] = {}
    for participant_id, state in conn.execute(select(contacts.c.participant_id, contacts.c.state)
                                              .where(contacts.c.participant_id.in_(ids))).all():
        states.setdefault(participant_id, set()).add(state)
    finished: dict[str, list[str]] = {participant.COMPLETED: [], participant.DROPPED: []}
    for participant_id, seen in states.items():
        if not seen & set(OPEN_STATES):
            finished[participant.COMPLETED if COMPLETED in seen else participant.DROPPED].append(participant_id)
    for state, exiting in finished.items():
        if exiting:
            conn.execute(update(participants)
                         .where(participants.c.id.in_(exiting), participants.c.state == participant.ACTIVE)
                         .values(state=state, finished_at=now))


# --- communication limits ------------------------------------------------------------------------
def lock_recipients(conn: Connection, recipients: Iterable[str]) -> None:
    """Locks held until commit on the recipients about to be counted, so that two campaigns or two
    workers can never both take the last communication a limit allows. On PostgreSQL, transaction
    advisory locks: nothing is written and nothing is left behind (a table of lock rows grew by a row
    per recipient, and per trigger and profile, for good); taken in sorted order, so no deadlock. Two
    recipients whose keys collide merely wait for each other. SQLite needs none: every write
    transaction holds its one write lock from its start (BEGIN IMMEDIATE)."""
    if conn.dialect.name == "sqlite":
        return
    keys = sorted({_lock_key(recipient) for recipient in recipients})
    if keys:
        conn.execute(_ADVISORY_LOCKS, {"keys": keys})


def _lock_key(recipient: str) -> int:
    """The recipient's advisory lock: a signed 64-bit number, the same in every process."""
    return int.from_bytes(hashlib.blake2b(recipient.encode(), digest_size=8).digest(), "big", signed=True)


# (unnest reads the array in its order: the locks are taken in the keys' sorted order)
_ADVISORY_LOCKS = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k")


def counted_communications(conn: Connection, recipients: Iterable[str], since: datetime) -> dict[str, list[datetime]]:
    """Instants of each recipient's communications since `since` that count against limits."""
    counted: dict[str, list[datetime]] = {}
    for recipient, at in conn.execute(_COUNTED, {"recipients": list(set(recipients)), "since": since}):
        counted.setdefault(recipient, []).append(at)
    return counted


_COUNTED = select(communications.c.recipient, communications.c.at).where(
    communications.c.recipient.in_(bindparam("recipients", expanding=True)), communications.c.at > bindparam("since"),
    communications.c.released.is_(False))


def reserve(conn: Connection, claimed: list, now: datetime, owner: str, lease_until: datetime) -> None:
    """Counts these contacts against their recipients' limits and records them as dispatching, leased
    to `owner` while they are handed over; a deferral they waited through is over (their outcome says
    what happened)."""
    if not claimed:
        return
    insert_many(conn, communications, [{"contact_id": c.id, "recipient": c.recipient, "campaign_id": c.campaign_id,
                                        "channel": c.channel, "at": now, "released": False} for c in claimed])
    conn.execute(_DISPATCHING, {"ids": [c.id for c in claimed], "now": now, "owner": owner, "until": lease_until})


_DISPATCHING = update(contacts).where(contacts.c.id.in_(bindparam("ids", expanding=True))).values(
    state=DISPATCHING, dispatched_at=bindparam("now"), reason=None, lease_owner=bindparam("owner"),
    lease_until=bindparam("until"))


def release_communications(conn: Connection, contact_ids: list[str]) -> None:
    if contact_ids:
        conn.execute(_RELEASED, {"ids": contact_ids})


_RELEASED = update(communications).where(communications.c.contact_id.in_(bindparam("ids", expanding=True))).values(
    released=True)


# --- suppressions --------------------------------------------------------------------------------
def suppress(conn: Connection, rows: list[dict]) -> None:
    """Records why recipients were dropped, deferred or limited (campaign_id, recipient, reason, ...)."""
    insert_many(conn, suppressions, rows)


def contact_in_campaign(conn: Connection, contact_id: str):
    """One contact with its campaign's region, ARN and Connect instance (None if there is none)."""
    query = (select(contacts, campaigns.c.region, campaigns.c.arn.label("campaign_arn"),
                    campaigns.c.connect_instance_id)
             .join(campaigns, campaigns.c.id == contacts.c.campaign_id).where(contacts.c.id == contact_id))
    return conn.execute(query).first()


# --- campaigns the engine must look at -----------------------------------------------------------
def claim_campaign_wakeups(conn: Connection, now: datetime, limit: int = 50) -> list[str]:
    return list(conn.execute(_WAKEUPS, {"now": now, "limit": limit}).scalars())


_WAKEUPS = (select(campaigns.c.id).where(campaigns.c.wake_at <= bindparam("now")).order_by(campaigns.c.wake_at)
            .limit(bindparam("limit")).with_for_update(skip_locked=True))
NEXT_WAKEUP = select(func.min(campaigns.c.wake_at))  # when a campaign is next to be woken


def set_campaign_times(conn: Connection, campaign_id: str, **values) -> None:
    """wake_at / next_snapshot_at."""
    # SET takes its columns from the parameters: one compiled statement for each set of them.
    conn.execute(_SET_TIMES, {"timed_id": campaign_id, **values})


_SET_TIMES = update(campaigns).where(campaigns.c.id == bindparam("timed_id"))


def campaign_times(conn: Connection, campaign_id: str):
    return conn.execute(_TIMES, {"id": campaign_id}).one()


_TIMES = select(campaigns.c.wake_at, campaigns.c.next_snapshot_at).where(campaigns.c.id == bindparam("id"))


def wake_campaigns(conn: Connection, campaign_ids: Iterable[str], now: datetime) -> None:
    ids = list(set(campaign_ids))
    if ids:
        conn.execute(update(campaigns).where(campaigns.c.id.in_(ids),
                                             or_(campaigns.c.wake_at.is_(None), campaigns.c.wake_at > now))
                     .values(wake_at=now))

