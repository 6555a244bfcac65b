"""The transactional outbox: events are written in the same transaction as the change they report,
numbered in commit order, then fanned out to the rules' targets as deliveries that are retried until
they succeed (or dead-letter), one at a time per target and ordering key.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, and_, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from reachout.store.bulk import insert_many
from reachout.store.sequences import lock_counter, set_counter
from reachout.store.tables import event_deliveries, event_outbox, sequences

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
FANNED_OUT = "event_outbox_fanned_out"  # the sequence holding the last outbox row fanned out


def emit(conn: Connection, events: Iterable[tuple[str, dict]], now: datetime) -> None:
    """Adds (ordering key, event) pairs to the outbox, in this order."""
    insert_many(conn, event_outbox, [{"key": key, "event": event, "created_at": now} for key, event in events])


def claim_unfanned(conn: Connection, limit: int) -> list:
    """The next outbox rows to fan out, oldest first, under the fan-out cursor's row lock (one
    fan-out at a time keeps deliveries in outbox order)."""
    cursor = lock_counter(conn, FANNED_OUT)
    rows = list(conn.execute(select(event_outbox).where(event_outbox.c.seq > cursor)
                             .order_by(event_outbox.c.seq).limit(limit)))
    if rows:
        set_counter(conn, FANNED_OUT, rows[-1].seq)
    return rows


def pass_unfanned(conn: Connection) -> int:
    """Moves the fan-out cursor past every outbox row not fanned out yet without reading them (there is
    no target to fan them out to: decoding them cost a tenth of a campaign's dispatch); returns how many."""
    newest = conn.execute(select(func.max(event_outbox.c.seq))).scalar()
    if newest is None or newest <= _cursor(conn):
        return 0  # (without the cursor's row lock, whose write PostgreSQL would flush at commit)
    cursor = lock_counter(conn, FANNED_OUT)
    last, count = conn.execute(select(func.max(event_outbox.c.seq), func.count())
                               .where(event_outbox.c.seq > cursor)).one()
    if count:
        set_counter(conn, FANNED_OUT, last)
    return count


def _cursor(conn: Connection) -> int:
    return conn.execute(select(sequences.c.value).where(sequences.c.name == FANNED_OUT)).scalar() or 0


def add_deliveries(conn: Connection, rows: list[dict]) -> None:
    """rows: target (rule/target id), seq, key, due_at."""
    if rows:
        conn.execute(insert(event_deliveries), [{**r, "status": PENDING, "attempts": 0} for r in rows])


def claim_deliveries(conn: Connection, now: datetime, limit: int) -> list:
    """Due pending deliveries that are first in line for their (target, key): a later event for the
    same contact waits until the earlier one is delivered or dead-lettered."""
    earlier = aliased(event_deliveries)
    blocked = exists().where(and_(earlier.c.target == event_deliveries.c.target,
                                  earlier.c.key == event_deliveries.c.key,
                                  earlier.c.seq < event_deliveries.c.seq,
                                  earlier.c.status == PENDING))
    free = or_(event_deliveries.c.lease_until.is_(None), event_deliveries.c.lease_until <= now)
    query = (select(event_deliveries.c.id)
             .where(event_deliveries.c.status == PENDING, event_deliveries.c.due_at <= now, free, ~blocked)
             .order_by(event_deliveries.c.seq).limit(limit))
    ids = list(conn.execute(query.with_for_update(skip_locked=True)).scalars())
    if not ids:
        return []
    rows = conn.execute(select(event_deliveries, event_outbox.c.event)
                        .join(event_outbox, event_outbox.c.seq == event_deliveries.c.seq)
                        .where(event_deliveries.c.id.in_(ids)).order_by(event_deliveries.c.seq))
    return list(rows)


def lease(conn: Connection, ids: list[int], until: datetime) -> None:
    if ids:
        conn.execute(update(event_deliveries).where(event_deliveries.c.id.in_(ids)).values(lease_until=until))


def settle(conn: Connection, delivery_id: int, **values) -> None:
    conn.execute(update(event_deliveries).where(event_deliveries.c.id == delivery_id)
                 .values(lease_until=None, **values))


# When the bus has work next: the oldest event not fanned out, the earliest delivery due (the least).
_NEXT_UNFANNED = select(func.min(event_outbox.c.created_at)).where(
    event_outbox.c.seq > select(func.coalesce(func.max(sequences.c.value), 0))
    .where(sequences.c.name == FANNED_OUT).scalar_subquery())
_NEXT_DELIVERY = select(func.min(event_deliveries.c.due_at)).where(event_deliveries.c.status == PENDING)
NEXT_DUE = [_NEXT_UNFANNED, _NEXT_DELIVERY]

