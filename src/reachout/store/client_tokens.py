"""ClientToken idempotency: a token names one request for 7 days. The same request with the same
token gets the first answer again; another request with it is refused.

The token row is taken by an INSERT that does nothing on conflict, in the transaction that does the
work: a second request with the same token waits for the first to commit (PostgreSQL's unique index,
SQLite's single writer) and then finds its answer.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reachout.store.tables import client_tokens

LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class Taken:
    fresh: bool  # the token is this request's: do the work, then `answer`
    same_request: bool  # for a token seen before: was it this very request?
    response: dict | None  # the first answer, when it was


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(params: dict, token_member: str = "ClientToken") -> str:
    """What was asked, without the token: the same request must fingerprint the same."""
    request = {k: v for k, v in params.items() if k != token_member}
    return digest(json.dumps(request, sort_keys=True, default=str))


def take(conn: Connection, region: str, operation: str, token: str, request: str, now: datetime) -> Taken:
    key = (client_tokens.c.region == region, client_tokens.c.operation == operation,
           client_tokens.c.token == digest(token))
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = conn.execute(dialect.insert(client_tokens).values(
        region=region, operation=operation, token=digest(token), fingerprint=request, response=None,
        created_at=now).on_conflict_do_nothing().returning(client_tokens.c.token)).first()
    if inserted is not None:
        return Taken(True, True, None)
    row = conn.execute(select(client_tokens).where(*key).with_for_update()).one()
    if row.created_at <= now - LIFETIME:  # expired: the token is free again
        conn.execute(update(client_tokens).where(*key).values(fingerprint=request, response=None, created_at=now))
        return Taken(True, True, None)
    return Taken(False, row.fingerprint == request, row.response)


def answer(conn: Connection, region: str, operation: str, token: str, response: dict) -> None:
    conn.execute(update(client_tokens).where(
        client_tokens.c.region == region, client_tokens.c.operation == operation,
        client_tokens.c.token == digest(token)).values(response=response))
