"""Outbound requests waiting for the engine, and the client tokens that make their intake idempotent."""
from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from reachout.domain.outbound_request import OutboundRequest
from reachout.store.tables import outbound_requests


def find_by_tokens(conn: Connection, campaign_id: str, kind: str, tokens: list[str]) -> dict[str, OutboundRequest]:
    """The requests these client tokens already created, by token: one query per batch."""
    t = outbound_requests
    rows = conn.execute(select(t).where(t.c.campaign_id == campaign_id, t.c.kind == kind,
                                        t.c.client_token.in_(tokens)))
    return {row.client_token: _request(row) for row in rows}


def insert_requests(conn: Connection, requests: list[OutboundRequest]) -> None:
    if requests:
        conn.execute(insert(outbound_requests), [_row(r) for r in requests])


def campaign_requests(conn: Connection, campaign_id: str) -> list[OutboundRequest]:
    t = outbound_requests
    rows = conn.execute(select(t).where(t.c.campaign_id == campaign_id).order_by(t.c.created_at, t.c.id))
    return [_request(row) for row in rows]


def get_requests(conn: Connection, request_ids: list[str]) -> dict[str, OutboundRequest]:
    if not request_ids:
        return {}
    rows = conn.execute(select(outbound_requests).where(outbound_requests.c.id.in_(list(set(request_ids)))))
    return {row.id: _request(row) for row in rows}


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
