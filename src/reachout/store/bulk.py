"""Writing many rows at once: what the bulk paths (profile imports, segment snapshots) insert
thousands of at a time, where SQLAlchemy's per-row bookkeeping would cost more than the database's
own work."""
from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Dialect, Table, Update, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.exc import DBAPIError


IN_LIST = 5000  # values per IN list: well below SQLite's limit of 32766 bound parameters


def slices(values: Iterable, size: int = IN_LIST) -> Iterator[list]:
    """`values` in lists of at most `size` (by default, as many as one IN list takes)."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def insert_many(conn: Connection, table: Table, rows: list[dict]) -> None:
    """INSERTs rows (dicts with the same keys), as `conn.execute(insert(table), rows)` would, with less
    work per row: each value goes through its column type's own bind processing (JSON, UTC datetimes)
    but not through SQLAlchemy's per-row bookkeeping, which costs more than SQLite's own insert.
    SQLite runs one prepared statement over all the rows; PostgreSQL, whose driver would send one
    statement per row, takes them through COPY."""
    if rows:
        names = tuple(rows[0])
        insert_values(conn, table, names, [tuple([row[name] for name in names]) for row in rows])


def insert_values(conn: Connection, table: Table, names: tuple[str, ...], values: list[tuple]) -> None:
    """insert_many of rows given as tuples of the columns `names`, in that order (as typed rows
    become, store/work.py, without a dict per row on the way)."""
    if not values:
        return
    plan = _insert_plan(conn.dialect, table, names)
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


def insert_records(conn: Connection, table: Table, records: Sequence) -> None:
    """insert_many of dataclass instances of one class, whose fields are columns of the table (the
    columns it has no field for start empty)."""
    if records:
        names, values_of = _record_shape(type(records[0]))
        insert_values(conn, table, names, list(map(values_of, records)))


@functools.lru_cache(maxsize=64)
def _record_shape(kind: type) -> tuple[tuple[str, ...], Callable]:
    """(field names, what makes the tuple of a record's values in their order) of a dataclass."""
    names = tuple(field.name for field in dataclasses.fields(kind))
    if len(names) == 1:  # attrgetter of one name gives the value, not a tuple of it
        return names, lambda record: (getattr(record, names[0]),)
    return names, operator.attrgetter(*names)


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


def execute_many(conn: Connection, statement, rows: list[dict]) -> None:
    """Runs an UPDATE (or other statement) once per row of parameters (dicts with the same keys), as
    `conn.execute(statement, rows)` would, with the statement compiled once and each value bound by its
    type's processor (memoised per call, as insert_many does) instead of through SQLAlchemy's per-row
    parameter building, which cost more than SQLite's own update of the row. Parameters a row does not
    give keep the statement's own values."""
    if not rows:
        return
    names = tuple(rows[0])
    if conn.dialect.name == "postgresql" and isinstance(statement, Update):
        # One statement over arrays instead of a statement per row (each its own execution on the
        # server, pipelined or not). (A key given twice updates its row once.)
        conn.execute(_unnested(statement, names), {f"unnest_{index}": [row[name] for row in rows]
                                                   for index, name in enumerate(names)})
        return
    plan = _statement_plan(conn.dialect, statement, names)
    values = [tuple([row[name] for name in names]) for row in rows]
    if plan.processors:
        values = _bound(values, plan.processors)
    if plan.positions is not None:  # qmark: the statement's own values filled in, in bind order
        fixed = plan.fixed
        values = [tuple([row[at] if at >= 0 else fixed[-at - 1] for at in plan.positions]) for row in values]
        conn.exec_driver_sql(plan.statement, values)
    else:
        conn.exec_driver_sql(plan.statement, [{**plan.constants, **dict(zip(names, row))} for row in values])


@dataclass(frozen=True)
class _StatementPlan:
    statement: str
    processors: tuple[tuple[int, Callable], ...]  # (index in the row's names, bind processor)
    positions: tuple[int, ...] | None  # positional styles: per bind, the row's index or -(index in fixed) - 1
    fixed: tuple  # positional styles: the statement's own (processed) values
    constants: dict  # named styles: the statement's own (processed) values by name


@functools.lru_cache(maxsize=64)
def _statement_plan(dialect: Dialect, statement, names: tuple[str, ...]) -> _StatementPlan:
    compiled = statement.compile(dialect=dialect, column_keys=list(names))
    # The values the statement itself carries (placeholders where a row gives them).
    own = compiled.construct_params(dict.fromkeys(names), _check=False)
    processors = compiled._bind_processors
    row_processors = tuple((index, processors[name]) for index, name in enumerate(names) if name in processors)
    constants = {name: processors[name](value) if name in processors and value is not None else value
                 for name, value in own.items() if name not in names}
    if compiled.positional:
        order = compiled.positiontup
        fixed = tuple(constants[name] for name in order if name not in names)
        fixed_index = {name: i for i, name in enumerate(n for n in order if n not in names)}
        positions = tuple(names.index(name) if name in names else -fixed_index[name] - 1 for name in order)
        return _StatementPlan(compiled.string, row_processors, positions, fixed, {})
    return _StatementPlan(compiled.string, row_processors, None, (), constants)


@functools.lru_cache(maxsize=64)
def _unnested(statement: Update, names: tuple[str, ...]) -> Update:
    """PostgreSQL: the UPDATE with each row parameter read from a column of `unnest(arrays) AS v(names)`
    (array `unnest_<i>` for names[i]): UPDATE ... FROM unnest(...) WHERE ... = v.<key>. Columns the
    statement does not set yet are set from the parameters named after them, as executemany would."""
    table = statement.table
    present = {bind.key: bind for bind in visitors.iterate(statement) if isinstance(bind, BindParameter)}
    setting = {name: bindparam(name, type_=table.c[name].type) for name in names
               if name not in present and name in table.c}
    if setting:
        statement = statement.values(setting)
        present.update(setting)
    arrays = [bindparam(f"unnest_{index}", type_=ARRAY(present[name].type)) for index, name in enumerate(names)]
    rows = func.unnest(*arrays).table_valued(*names).render_derived(name="v")
    return visitors.replacement_traverse(
        statement, {}, lambda element: rows.c[element.key]
        if isinstance(element, BindParameter) and element.key in names else None)


def insert_new(conn: Connection, table: Table, rows: list[dict]) -> None:
    """INSERTs the rows (dicts with the same keys) whose key is not in the table yet (ON CONFLICT DO
    NOTHING): on PostgreSQL as one INSERT ... SELECT FROM unnest(arrays), elsewhere executemany."""
    if rows:
        names = tuple(rows[0])
        if conn.dialect.name == "postgresql":
            conn.execute(_insert_new(conn.dialect, table, names), {f"unnest_{index}": [row[name] for row in rows]
                                                                   for index, name in enumerate(names)})
        else:
            execute_many(conn, _insert_new(conn.dialect, table, names), rows)


@functools.lru_cache(maxsize=64)
def _insert_new(dialect: Dialect, table: Table, names: tuple[str, ...]):
    if dialect.name != "postgresql":
        return sqlite.insert(table).on_conflict_do_nothing()
    arrays = [bindparam(f"unnest_{index}", type_=ARRAY(table.c[name].type)) for index, name in enumerate(names)]
    rows = func.unnest(*arrays).table_valued(*names).render_derived(name="v")
    return postgresql.insert(table).from_select(list(names), select(*rows.c)).on_conflict_do_nothing()
