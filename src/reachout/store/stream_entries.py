"""The Redis stream entries `reachout ingest` handled, per stream and consumer group: recorded in the
transaction that ingests them, so that an entry delivered again (the consumer died after its commit,
before its XACK; another consumer took it over) is recognised and not ingested twice."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from reachout.store.bulk import insert_many, slices
from reachout.store.tables import stream_entries

def recorded(conn: Connection, stream: str, group: str, entry_ids: list[str]) -> set[str]:
    """The entries of `entry_ids` a transaction already handled (committed)."""
    found: set[str] = set()
    for ids in slices(entry_ids):
        found.update(conn.execute(_RECORDED, {"stream": stream, "group": group, "ids": ids}).scalars())
    return found


def record(conn: Connection, stream: str, group: str, domain_id: int, outcomes: list[dict], now: datetime) -> None:
    """Each entry's outcome: {entry_id, object_type, profile_id, object_key} when ingested, {entry_id,
    object_type, rejected: reason} when set aside. An entry another transaction recorded meanwhile
    (a consumer that took it over from one still alive) fails this one with an IntegrityError: its
    ingestion is undone with it, and the entry is found recorded when tried again."""
    insert_many(conn, stream_entries, [
        {"stream": stream, "consumer_group": group, "entry_id": o["entry_id"], "domain_id": domain_id,
         "object_type": o.get("object_type"), "profile_id": o.get("profile_id"), "object_key": o.get("object_key"),
         "rejected": o.get("rejected"), "at": now} for o in outcomes])


_RECORDED = select(stream_entries.c.entry_id).where(
    stream_entries.c.stream == bindparam("stream"), stream_entries.c.consumer_group == bindparam("group"),
    stream_entries.c.entry_id.in_(bindparam("ids", expanding=True)))


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
