"""The Connect view of contacts (table connect_contacts), read as domain.connect_contact.ConnectContact.

Contacts started through the Connect APIs are also work items of the engine, claimed by due_at under
a lease, through the states of domain/connect_contact.py (a dispatching contact's id is the
idempotency key of its hand-over). A call stopped while it was placed or
going on is disconnected with a due time: its hang-up is owed, and the engine's next pass does it. The
campaign engine's own contacts are not recorded here:
their Connect view (origin `campaign`) is read from the engine's contacts table
(engine/connect_contacts.campaign_contact).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Connection, Row, bindparam, case, func, insert, or_, select, update

from reachout.domain.connect_contact import (API, CAMPAIGN, CREATED, DISCONNECTED, DISPATCHING,  # noqa: F401
                                             PENDING, SENT, ConnectContact)

from reachout.store.tables import connect_contacts as contacts

_OPTIONAL = {"customer_endpoint": None, "system_endpoint": None, "flow_id": None, "campaign_id": None,
             "related_contact_id": None, "name": None, "description": None, "attributes": {},
             "segment_attributes": {}, "options": {}, "client_token": None, "dispatched_at": None,
             "connected_at": None, "disconnected_at": None, "outcome": None, "disconnect_reason": None,
             "amd_status": None, "reason": None, "due_at": None, "lease_owner": None, "lease_until": None}


def record_contacts(conn: Connection, rows: Iterable[dict]) -> None:
    """Records contacts. Each row needs id, region, account, instance_id, origin, channel (VOICE, CHAT,
    EMAIL), delivery (telephony, sms, whatsApp, email), initiation_method, state and initiated_at;
    every other column is optional."""
    rows = [{**_OPTIONAL, "updated_at": row["initiated_at"], **row} for row in rows]
    if rows:
        conn.execute(insert(contacts), rows)


def update_contact(conn: Connection, contact_id: str, *, now: datetime, only_in: Iterable[str] | None = None,
                   **values) -> bool:
    """Changes a contact (LastUpdateTimestamp becomes `now`); with `only_in`, only while its state is one
    of those. Returns whether it changed."""
    query = update(contacts).where(contacts.c.id == contact_id)
    if only_in is not None:
        query = query.where(contacts.c.state.in_(list(only_in)))
    return conn.execute(query.values(**values, updated_at=now)).rowcount > 0


def update_contacts(conn: Connection, changes: list[dict]) -> None:
    """Many contacts, each set its own way: dicts of the contact's `id` and the same columns (with
    updated_at, its LastUpdateTimestamp), in one statement executed for all of them. An id without a
    row changes nothing."""
    if changes:
        conn.execute(_UPDATE, [{"b_id": change["id"], **{k: v for k, v in change.items() if k != "id"}}
                               for change in changes])


# (The bound name differs from the column: SQLAlchemy reserves column names for the SET clause.)
_UPDATE = update(contacts).where(contacts.c.id == bindparam("b_id"))


def record_sent(conn: Connection, receipts: list[tuple[str, str | None, datetime, str | None]],
                now: datetime) -> None:
    """The channel has these contacts, (contact id, outcome, due at, reason) each: their outcome is known at
    `due at`, or (outcome None) reported by then at the latest; a reason (why the channel failed or
    refused it) replaces the contact's. A contact stopped while it was being
    handed over stays stopped; an outcome reported meanwhile wins, due as it was. One statement."""
    if receipts:
        conn.execute(_RECORD_SENT, [{"b_id": contact_id, "b_outcome": outcome, "b_due": due_at, "b_now": now,
                                     "b_reason": reason} for contact_id, outcome, due_at, reason in receipts])


_WAITING = contacts.c.outcome.is_(None)
_RECORD_SENT = (update(contacts).where(contacts.c.id == bindparam("b_id"), contacts.c.state == DISPATCHING).values(
    state=SENT, lease_owner=None, lease_until=None, updated_at=bindparam("b_now", type_=contacts.c.updated_at.type),
    outcome=case((_WAITING, bindparam("b_outcome", type_=contacts.c.outcome.type)), else_=contacts.c.outcome),
    due_at=case((_WAITING, bindparam("b_due", type_=contacts.c.due_at.type)), else_=contacts.c.due_at),
    reason=func.coalesce(bindparam("b_reason", type_=contacts.c.reason.type), contacts.c.reason)))


def owe_hang_ups(conn: Connection, contact_ids: list[str], now: datetime) -> None:
    """Of these contacts whose calls were just placed, those stopped meanwhile owe a hang-up now,
    whoever holds them (a worker clearing an earlier one clears only its own lease: this one stays)."""
    if contact_ids:
        conn.execute(update(contacts).where(contacts.c.id.in_(contact_ids), contacts.c.state == DISCONNECTED)
                     .values(due_at=now, lease_owner=None, lease_until=None))


def still_leased(conn: Connection, contact_ids: list[str], state: str, owner: str) -> dict[str, ConnectContact]:
    """Those of these contacts that are still in `state` under `owner`'s lease, locked: what a worker
    may change after asking a channel outside any transaction (StopContact may have come meanwhile,
    or the lease passed to another worker)."""
    if not contact_ids:
        return {}
    query = select(contacts).where(contacts.c.id.in_(contact_ids), contacts.c.state == state,
                                   contacts.c.lease_owner == owner)
    return {row.id: _contact(row) for row in conn.execute(query.with_for_update())}


def lock_contact(conn: Connection, contact_id: str) -> ConnectContact | None:
    """One contact, under a row lock (None if there is none)."""
    row = conn.execute(select(contacts).where(contacts.c.id == contact_id).with_for_update()).first()
    return _contact(row) if row is not None else None


def get_contact(conn: Connection, region: str, instance_id: str, contact_id: str, *,
                for_update: bool = False) -> ConnectContact | None:
    query = select(contacts).where(contacts.c.id == contact_id, contacts.c.region == region,
                                   contacts.c.instance_id == instance_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    return _contact(row) if row is not None else None


def claim_due(conn: Connection, states: Iterable[str], now: datetime, owner: str, lease: timedelta,
              limit: int) -> list[ConnectContact]:
    """Leases up to `limit` API-started contacts in `states` that are due, oldest first. Their due time
    moves to the lease's end, so that a worker dying now leaves them due again when the lease ends."""
    free = or_(contacts.c.lease_until.is_(None), contacts.c.lease_until <= now)
    query = (select(contacts.c.id)
             .where(contacts.c.origin == API, contacts.c.state.in_(list(states)), contacts.c.due_at <= now, free)
             .order_by(contacts.c.due_at, contacts.c.id).limit(limit))
    ids = list(conn.execute(query.with_for_update(skip_locked=True)).scalars())
    if not ids:
        return []
    conn.execute(update(contacts).where(contacts.c.id.in_(ids))
                 .values(lease_owner=owner, lease_until=now + lease, due_at=now + lease))
    return [_contact(row) for row in conn.execute(select(contacts).where(contacts.c.id.in_(ids))
                                                  .order_by(contacts.c.initiated_at, contacts.c.id))]


# When the next API-started contact needs the engine (a disconnected one only for a hang-up owed).
NEXT_DUE = select(func.min(contacts.c.due_at)).where(contacts.c.origin == API, contacts.c.state.in_(
    [PENDING, DISPATCHING, SENT, DISCONNECTED]))


def _contact(row: Row) -> ConnectContact:
    return ConnectContact(**row._mapping)
