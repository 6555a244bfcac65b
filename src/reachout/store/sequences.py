"""Monotonic counters shared by every process using the database."""
from __future__ import annotations

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reachout.store.tables import sequences


def next_value(conn: Connection, name: str) -> int:
    """The counter's next value; the row lock taken by the UPDATE orders concurrent callers."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(sequences).values(name=name, value=0).on_conflict_do_nothing())
    conn.execute(update(sequences).where(sequences.c.name == name).values(value=sequences.c.value + 1))
    return conn.execute(select(sequences.c.value).where(sequences.c.name == name)).scalar_one()


def lock_counter(conn: Connection, name: str) -> int:
    """The counter's current value (0 when new), locked until the transaction ends."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(sequences).values(name=name, value=0).on_conflict_do_nothing())
    return conn.execute(select(sequences.c.value).where(sequences.c.name == name).with_for_update()).scalar_one()


def set_counter(conn: Connection, name: str, value: int) -> None:
    conn.execute(update(sequences).where(sequences.c.name == name).values(value=value))
