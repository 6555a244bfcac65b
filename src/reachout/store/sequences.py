"""Monotonic counters shared by every process using the database."""
from __future__ import annotations

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reachout.store.tables import sequences

# One statement, built once per dialect: the counter is created at 1 or moved on by one, and the
# row lock taken by the upsert orders concurrent callers. (SQLite has RETURNING since 3.35.)
_NEXT = {
    dialect.__name__.rsplit(".", 1)[-1]: dialect.insert(sequences)
    .values(name=bindparam("name"), value=1)
    .on_conflict_do_update(index_elements=[sequences.c.name], set_={"value": sequences.c.value + 1})
    .returning(sequences.c.value)
    for dialect in (postgresql, sqlite)
}


def next_value(conn: Connection, name: str) -> int:
    """The counter's next value."""
    return conn.execute(_NEXT[conn.dialect.name], {"name": name}).scalar_one()


def lock_counter(conn: Connection, name: str) -> int:
    """The counter's current value (0 when new), locked until the transaction ends."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(sequences).values(name=name, value=0).on_conflict_do_nothing())
    return conn.execute(select(sequences.c.value).where(sequences.c.name == name).with_for_update()).scalar_one()


def set_counter(conn: Connection, name: str, value: int) -> None:
    conn.execute(update(sequences).where(sequences.c.name == name).values(value=value))


def read_counter(conn: Connection, name: str) -> int | None:
    """The counter's current value, without locking it; None when it was never set."""
    return conn.execute(_VALUE, {"name": name}).scalar()


_VALUE = select(sequences.c.value).where(sequences.c.name == bindparam("name"))  # (read at every ingestion)
