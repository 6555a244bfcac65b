"""The calls each subject was given, from the communication ledger: what per-subject call caps count."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, select

from reachout.store.tables import communications


def calls_since(conn: Connection, recipients: Iterable[str], since: datetime) -> dict[str, list[datetime]]:
    """Instants of each recipient's telephony dispatches after `since`, in any campaign. A call the
    ledger released (it provably never rang) still counts: a cap over-counts, never under-counts."""
    query = select(communications.c.recipient, communications.c.at).where(
        communications.c.recipient.in_(sorted(set(recipients))), communications.c.at > since,
        communications.c.channel == "telephony")
    found: dict[str, list[datetime]] = {}
    for recipient, at in conn.execute(query):
        found.setdefault(recipient, []).append(at)
    return found
