"""The engine's clock for the processes beside `reachout serve` (`reachout profiles import`, `reachout
ingest`): a server on a virtual clock publishes its instant in the database it shares with them, so
that what they ingest is stamped (and its firings come due) on the clock the engine runs on, not the
machine's. A server on the system clock withdraws it; so do they then use the system clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection

from reachout.clock import SystemClock
from reachout.store.db import Database
from reachout.store.sequences import lock_counter, read_counter, set_counter

PUBLISHED = "virtual-clock-us"  # microseconds since the epoch; 0: the system clock
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def publish(conn: Connection, instant: datetime | None) -> None:
    """The server's virtual instant, or None on the system clock."""
    lock_counter(conn, PUBLISHED)
    set_counter(conn, PUBLISHED, 0 if instant is None else (instant - EPOCH) // timedelta(microseconds=1))


class EngineClock:
    """Reads the published instant at each now(): it moves when the server's virtual clock does."""

    def __init__(self, database: Database):
        self.database = database
        self.system = SystemClock()

    def now(self) -> datetime:
        with self.database.read() as conn:
            return self.now_in(conn)

    def now_in(self, conn: Connection) -> datetime:
        """now(), read in the caller's transaction: a read of its own would cost a transaction more."""
        published = read_counter(conn, PUBLISHED)
        return EPOCH + timedelta(microseconds=published) if published else self.system.now()


def engine_clock(database: Database) -> EngineClock:
    return EngineClock(database)
