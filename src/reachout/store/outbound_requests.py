"""Outbound requests waiting for the engine, and the client tokens that make their intake idempotent.

The engine takes a pending request in the transaction that makes its contacts: a claim locks the
rows (FOR UPDATE SKIP LOCKED on PostgreSQL) and the same transaction marks them taken, so two
workers never take the same request and a worker that dies mid-way leaves it pending.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, case, delete, func, or_, select, update

from reachout.domain.outbound_request import PENDING, OutboundRequest
from reachout.store.bulk import insert_many
from reachout.store.tables import campaigns, outbound_requests

# A campaign in these states keeps its requests waiting (until they expire); any other takes them
# (a Running one to contact, a finished one to drop).
WAITING_STATES = ("Initialized", "Paused")


def find_by_tokens(conn: Connection, campaign_id: str, kind: str, tokens: list[str]) -> dict[str, OutboundRequest]:
    """The requests these client tokens already created, by token: one query per batch."""
    rows = conn.execute(_BY_TOKENS, {"campaign_id": campaign_id, "kind": kind, "tokens": tokens})
    return {row.client_token: _request(row) for row in rows}


_BY_TOKENS = select(outbound_requests).where(
    outbound_requests.c.campaign_id == bindparam("campaign_id"), outbound_requests.c.kind == bindparam("kind"),
    outbound_requests.c.client_token.in_(bindparam("tokens", expanding=True)))


def insert_requests(conn: Connection, requests: list[OutboundRequest]) -> None:
    insert_many(conn, outbound_requests, [_row(r) for r in requests])  # a batch's 25 rows, without per-row bookkeeping


def get_requests(conn: Connection, request_ids: list[str]) -> dict[str, OutboundRequest]:
    if not request_ids:
        return {}
    rows = conn.execute(_REQUESTS, {"ids": list(set(request_ids))})
    return {row.id: _request(row) for row in rows}


_REQUESTS = select(outbound_requests).where(outbound_requests.c.id.in_(bindparam("ids", expanding=True)))


def delete_campaign_requests(conn: Connection, campaign_id: str) -> None:
    conn.execute(delete(outbound_requests).where(outbound_requests.c.campaign_id == campaign_id))


def _row(request: OutboundRequest) -> dict:
    return {
        "id": request.id, "campaign_id": request.campaign_id, "kind": request.kind,
        "client_token": request.client_token, "request": request.payload,
        "fingerprint": request.fingerprint, "expires_at": request.expires_at, "status": request.status,
        "due_at": request.due_at, "created_at": request.created_at,
    }


def _request(row) -> OutboundRequest:
    return OutboundRequest(
        id=row.id, campaign_id=row.campaign_id, kind=row.kind, client_token=row.client_token,
        payload=row.request, fingerprint=row.fingerprint, expires_at=row.expires_at, status=row.status,
        due_at=row.due_at, created_at=row.created_at)


def claim_due(conn: Connection, now: datetime, limit: int) -> list[OutboundRequest]:
    """Locks up to `limit` pending requests the engine must take now, oldest first: those of
    campaigns not waiting, and expired ones of any campaign."""
    return [_request(row) for row in conn.execute(_CLAIM_DUE, {"now": now, "limit": limit})]


# Built once: the engine claims after every batch an API call brings, and building the statement
# (and its cache key) costs more than SQLite takes to run it.
_CLAIM_DUE = (select(outbound_requests).join(campaigns, campaigns.c.id == outbound_requests.c.campaign_id)
              .where(outbound_requests.c.status == PENDING, outbound_requests.c.due_at <= bindparam("now"),
                     or_(campaigns.c.state.not_in(WAITING_STATES), outbound_requests.c.expires_at <= bindparam("now")))
              .order_by(outbound_requests.c.due_at, outbound_requests.c.id).limit(bindparam("limit"))
              .with_for_update(skip_locked=True, of=outbound_requests))


# When the engine must next take a pending request: its due time, or, in a campaign that keeps it
# waiting, its expiry.
NEXT_DUE = (select(func.min(case((campaigns.c.state.in_(WAITING_STATES), outbound_requests.c.expires_at),
                                  else_=outbound_requests.c.due_at)))
             .join(campaigns, campaigns.c.id == outbound_requests.c.campaign_id)
             .where(outbound_requests.c.status == PENDING))


def set_status(conn: Connection, request_ids: Iterable[str], status: str) -> None:
    ids = list(request_ids)
    if ids:
        conn.execute(_SET_STATUS, {"ids": ids, "new_status": status})


_SET_STATUS = (update(outbound_requests).where(outbound_requests.c.id.in_(bindparam("ids", expanding=True)))
               .values(status=bindparam("new_status")))


def pending_count(conn: Connection, campaign_id: str) -> int:
    t = outbound_requests
    return conn.execute(select(func.count()).select_from(t)
                        .where(t.c.campaign_id == campaign_id, t.c.status == PENDING)).scalar_one()


def requests_by_id(conn: Connection, request_ids: Iterable[str]) -> dict[str, OutboundRequest]:
    ids = list(set(request_ids))
    if not ids:
        return {}
    return {row.id: _request(row) for row in conn.execute(select(outbound_requests)
                                                          .where(outbound_requests.c.id.in_(ids)))}
