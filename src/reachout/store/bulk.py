"""Writing many rows at once: what the bulk paths (profile imports, segment snapshots) insert
thousands of at a time, where SQLAlchemy's per-row bookkeeping would cost more than the database's
own work."""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.exc import DBAPIError


def insert_many(conn: Connection, table: Table, rows: list[dict]) -> None:
    """INSERTs rows (dicts with the same keys), as `conn.execute(insert(table), rows)` would, with less
    work per row: each value goes through its column type's own bind processing (JSON, UTC datetimes)
    but not through SQLAlchemy's per-row bookkeeping, which costs more than SQLite's own insert.
    SQLite runs one prepared statement over all the rows; PostgreSQL, whose driver would send one
    statement per row, takes them through COPY."""
    if not rows:
        return
    names = tuple(rows[0])
    plan = _insert_plan(conn.dialect, table, names)
    values = [tuple([row[name] for name in names]) for row in rows]
    if plan.processors:
        values = _bound(values, plan.processors)
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql(plan.statement, values)
        return
    dbapi_error = conn.dialect.dbapi.Error
    try:
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(plan.statement) as copy:
            for row in values:
                copy.write_row(row)
    except dbapi_error as error:  # as SQLAlchemy would have raised it, for callers catching DataError & co
        raise DBAPIError.instance(plan.statement, None, error, dbapi_error) from error


def _bound(values: list[tuple], processors: tuple[tuple[int, Callable], ...]) -> list[tuple]:
    """The rows with their processed columns bound, a column at a time. Each distinct value of a
    column is processed once per call (a snapshot's rows share one `now`, a few due times and a few
    zone lists)."""
    columns = list(zip(*values))
    for index, process in processors:
        memo: dict = {}
        bound = []
        for value in columns[index]:
            if _memoisable(value):
                found = memo.get(value, memo)
                bound.append(memo.setdefault(value, process(value)) if found is memo else found)
            else:
                bound.append(process(value))
        columns[index] = bound
    return list(zip(*columns))


def _memoisable(value) -> bool:
    """Hashable, and equal only to values that bind the same (unlike 1 and True, or 1 and 1.0)."""
    kind = value.__class__
    return kind in _PLAIN or (kind is tuple and all(item.__class__ is str for item in value))


_PLAIN = frozenset({str, datetime, type(None)})


@dataclass(frozen=True)
class _InsertPlan:
    statement: str  # INSERT ... VALUES (?, ...) for executemany, or COPY ... FROM STDIN
    processors: tuple[tuple[int, Callable], ...]  # (column index, bind processor) of columns that have one


@functools.lru_cache(maxsize=64)
def _insert_plan(dialect: Dialect, table: Table, names: tuple[str, ...]) -> _InsertPlan:
    quote = dialect.identifier_preparer
    columns = [table.c[name] for name in names]
    processors = tuple((index, process) for index, column in enumerate(columns)
                       if (process := column.type.dialect_impl(dialect).bind_processor(dialect)) is not None)
    listed = f"{quote.format_table(table)} ({', '.join(quote.format_column(c) for c in columns)})"
    if dialect.name == "postgresql":
        return _InsertPlan(f"COPY {listed} FROM STDIN", processors)
    return _InsertPlan(f"INSERT INTO {listed} VALUES ({', '.join(['?'] * len(columns))})", processors)
