"""The Redis stream entries `reachout ingest` handled, per stream and consumer group: claimed in the
transaction that ingests them, so that an entry delivered again (the consumer died after its commit,
before its XACK; another consumer took it over) is recognised and not ingested twice."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reachout.store.tables import stream_entries

_DIALECTS = {"postgresql": postgresql, "sqlite": sqlite}
# Set once each entry is ingested or set aside. (Bound names differ from the columns it sets.)
_OUTCOME = (update(stream_entries)
            .where(stream_entries.c.stream == bindparam("b_stream"),
                   stream_entries.c.consumer_group == bindparam("b_group"),
                   stream_entries.c.entry_id == bindparam("b_entry_id"))
            .values(object_type=bindparam("object_type"), profile_id=bindparam("profile_id"),
                    object_key=bindparam("object_key"), rejected=bindparam("rejected")))
_PER_STATEMENT = 1000  # entries claimed per INSERT: 5 parameters each, well below SQLite's limit


def claim(conn: Connection, stream: str, group: str, domain_id: int, entry_ids: list[str], now: datetime) -> set[str]:
    """The entries of `entry_ids` no transaction has handled before, now claimed by this one. On
    PostgreSQL a claim by a transaction still running waits for it: its entries are then either
    handled (committed) or free again (rolled back). Claimed in sorted order, so two claims never wait
    on each other in a circle."""
    t = stream_entries
    ordered = sorted(set(entry_ids), key=_entry_order)
    claimed: set[str] = set()
    for start in range(0, len(ordered), _PER_STATEMENT):
        rows = [{"stream": stream, "consumer_group": group, "entry_id": entry_id, "domain_id": domain_id, "at": now}
                for entry_id in ordered[start:start + _PER_STATEMENT]]
        statement = (_DIALECTS[conn.dialect.name].insert(t).values(rows).on_conflict_do_nothing()
                     .returning(t.c.entry_id))
        claimed.update(conn.execute(statement).scalars())
    return claimed


def record_outcomes(conn: Connection, stream: str, group: str, outcomes: list[dict]) -> None:
    """Each claimed entry's outcome: {entry_id, object_type, profile_id, object_key} when ingested,
    {entry_id, object_type, rejected: reason} when set aside."""
    if outcomes:
        conn.execute(_OUTCOME, [{"b_stream": stream, "b_group": group, "b_entry_id": o["entry_id"],
                                 "object_type": o.get("object_type"), "profile_id": o.get("profile_id"),
                                 "object_key": o.get("object_key"), "rejected": o.get("rejected")}
                                for o in outcomes])


def rejected(conn: Connection, stream: str, group: str, limit: int = 100) -> list[dict]:
    """The entries set aside, latest first, each with why."""
    t = stream_entries
    query = (select(t.c.entry_id, t.c.object_type, t.c.rejected, t.c.at)
             .where(t.c.stream == stream, t.c.consumer_group == group, t.c.rejected.is_not(None))
             .order_by(t.c.at.desc(), t.c.entry_id.desc()).limit(limit))
    return [row._asdict() for row in conn.execute(query)]


def handled(conn: Connection, stream: str, group: str) -> list[dict]:
    """Every entry handled, in stream order (for tests and inspection of small streams)."""
    t = stream_entries
    rows = conn.execute(select(t.c.entry_id, t.c.object_type, t.c.profile_id, t.c.object_key, t.c.rejected, t.c.at)
                        .where(t.c.stream == stream, t.c.consumer_group == group))
    return sorted((row._asdict() for row in rows), key=lambda row: _entry_order(row["entry_id"]))


def _entry_order(entry_id: str) -> tuple[int, int]:
    """Stream order: an entry id is MILLISECONDS-SEQUENCE."""
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)
