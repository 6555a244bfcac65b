"""Segments in SQL: a segment definition compiled to one condition over `profiles`, and the stored
definitions, estimates and snapshots.

The compiled condition means exactly what `reachout.domain.segment` says (a property test holds the
two together on both backends). It is evaluated entirely by the database: standard fields are
columns of `profiles`, address parts are read from their JSON columns, custom attributes are
subqueries over `profile_attributes` (correlated EXISTS on PostgreSQL, IN on SQLite: each backend's
fast form; its (domain_id, key, value|number) indexes serve them), and source segments are inlined.

Every compiled predicate is two-valued (never SQL NULL), so NOT and NONE mean exactly "not".
Backend differences handled here: SQLite's LIKE ignores case, so SQLite matches patterns with GLOB
(case-sensitive) and PostgreSQL with LIKE (escaped); birth dates are compared as YYYY-MM-DD text,
bytewise (COLLATE "C" on PostgreSQL).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from sqlalchemy import (Connection, Integer, Select, and_, case, cast, collate, delete, exists, false, func, insert,
                        not_, or_, select)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from reachout.domain.errors import DomainError
from reachout.domain.profile import ADDRESS_FIELDS, TEXT_FIELDS, as_number
from reachout.domain.segment import (DATE_OPERATORS, DEFAULT_PROFILE_TYPE, NUMBER_OPERATORS, Condition, Group,
                                     Query, day_of, next_day, parse, source_definition, source_names)
from reachout.store.profiles import profile_of
from reachout.store.tables import (profile_attributes, profiles, segment_definitions, segment_estimates,
                                   segment_snapshots)


# --- compiling ---------------------------------------------------------------------------------------
def condition(conn: Connection, domain_id: int, definition: dict) -> ColumnElement[bool]:
    """The definition as a condition on a `profiles` row of the domain (source segments resolved from
    the domain's stored definitions)."""
    return _Compiler(conn, domain_id).query(parse(definition), ())


def members_query(conn: Connection, domain_id: int, definition: dict) -> Select:
    """SELECT of the member profile ids, in id order (usable in INSERT ... SELECT)."""
    return (select(profiles.c.id)
            .where(profiles.c.domain_id == domain_id, condition(conn, domain_id, definition))
            .order_by(profiles.c.id))


def member_ids(conn: Connection, domain_id: int, definition: dict) -> list[str]:
    return list(conn.execute(members_query(conn, domain_id, definition)).scalars())


def count_members(conn: Connection, domain_id: int, definition: dict) -> int:
    query = (select(func.count()).select_from(profiles)
             .where(profiles.c.domain_id == domain_id, condition(conn, domain_id, definition)))
    return conn.execute(query).scalar_one()


def members_among(conn: Connection, domain_id: int, definition: dict, profile_ids: Iterable[str]) -> set[str]:
    """Which of these profiles are members."""
    ids = list(profile_ids)
    if not ids:
        return set()
    query = select(profiles.c.id).where(profiles.c.domain_id == domain_id, profiles.c.id.in_(ids),
                                        condition(conn, domain_id, definition))
    return set(conn.execute(query).scalars())


def member_profiles(conn: Connection, domain_id: int, definition: dict, batch: int = 1000) -> Iterator[dict]:
    """The member profiles in id order, streamed from the database a batch at a time."""
    query = (select(profiles)
             .where(profiles.c.domain_id == domain_id, condition(conn, domain_id, definition))
             .order_by(profiles.c.id)
             .execution_options(yield_per=batch))
    for row in conn.execute(query):
        yield profile_of(row)


def member_reach(conn: Connection, domain_id: int, definition: dict, batch: int = 2000) -> Iterator[tuple[str, dict]]:
    """(profile id, reach) of each member in id order, streamed: all that planning reads of a profile."""
    query = (select(profiles.c.id, profiles.c.reach)
             .where(profiles.c.domain_id == domain_id, condition(conn, domain_id, definition))
             .order_by(profiles.c.id)
             .execution_options(yield_per=batch))
    for profile_id, reach in conn.execute(query):
        yield profile_id, reach


class _Compiler:
    def __init__(self, conn: Connection, domain_id: int):
        self.conn = conn
        self.domain_id = domain_id
        self.postgres = conn.dialect.name == "postgresql"
        self.stored: dict[str, dict | None] = {}

    def query(self, query: Query, stack: tuple[str, ...]) -> ColumnElement[bool]:
        return _combine(query.include, [self.group(group, stack) for group in query.groups])

    def group(self, group: Group, stack: tuple[str, ...]) -> ColumnElement[bool]:
        parts = []
        if group.dimensions:
            parts.append(_combine(group.dimension_mode, [and_(*(self.condition(c) for c in dimension))
                                                         for dimension in group.dimensions]))
        if group.sources:
            parts.append(_combine(group.source_mode, [self.source(name, stack) for name in group.sources]))
        return and_(*parts)

    def source(self, name: str, stack: tuple[str, ...]) -> ColumnElement[bool]:
        definition = source_definition(name, self.resolve, stack)
        return self.query(parse(definition), stack + (name,))

    def resolve(self, name: str) -> dict | None:
        if name not in self.stored:
            found = get_definition(self.conn, self.domain_id, name)
            self.stored[name] = found.segment_groups if found else None
        return self.stored[name]

    def condition(self, c: Condition) -> ColumnElement[bool]:
        if c.kind == "attribute":
            return self.attribute(c)
        if c.kind == "birth_date":
            return self.birth_date(c.operator, [day_of(v) for v in c.values])
        if c.kind == "address":
            column = profiles.c[ADDRESS_FIELDS[c.field]][c.part].as_string()
        elif c.kind == "profile_type":
            column = func.coalesce(profiles.c.profile_type, DEFAULT_PROFILE_TYPE)
        else:
            column = profiles.c[TEXT_FIELDS[c.field]]
        if c.operator == "EXCLUSIVE":
            return not_(and_(column.is_not(None), column.in_(c.values)))
        return and_(column.is_not(None), self.text(column, c.operator, c.values))

    def text(self, column, operator: str, values: tuple[str, ...]) -> ColumnElement[bool]:
        """A string operator other than EXCLUSIVE on a non-null text column."""
        if operator == "INCLUSIVE":
            return column.in_(values)
        return or_(*(self.pattern(column, operator, value) for value in values))

    def pattern(self, column, operator: str, value: str) -> ColumnElement[bool]:
        if self.postgres:
            method = {"CONTAINS": column.contains, "BEGINS_WITH": column.startswith,
                      "ENDS_WITH": column.endswith}[operator]
            return method(value, autoescape=True)
        escaped = _glob_escape(value)
        glob = {"CONTAINS": f"*{escaped}*", "BEGINS_WITH": f"{escaped}*", "ENDS_WITH": f"*{escaped}"}[operator]
        return column.op("GLOB", is_comparison=True)(glob)

    def attribute(self, c: Condition) -> ColumnElement[bool]:
        def having(*conditions) -> ColumnElement[bool]:
            """The profile has attribute c.field with a value meeting `conditions`."""
            scope = (profile_attributes.c.domain_id == self.domain_id, profile_attributes.c.key == c.field)
            if self.postgres:
                # PostgreSQL plans a correlated EXISTS (and NOT EXISTS) as a semi- (anti-) join, by
                # hash or by index, whichever is cheaper.
                return exists().where(profile_attributes.c.profile_id == profiles.c.id, *scope, *conditions)
            # SQLite runs a correlated EXISTS once per profile; IN runs the subquery once (on the
            # (domain_id, key, value|number) indexes) and probes its result. Both are two-valued here:
            # neither side of IN is ever NULL.
            return profiles.c.id.in_(select(profile_attributes.c.profile_id).where(*scope, *conditions))

        if c.operator == "EXCLUSIVE":
            return not_(having(profile_attributes.c.value.in_(c.values)))
        if c.operator in DATE_OPERATORS:
            return having(_day_range(profile_attributes.c.instant, c.operator, [day_of(v) for v in c.values]))
        if c.operator in NUMBER_OPERATORS:
            return having(_compare(profile_attributes.c.number, c.operator, as_number(c.values[0])))
        return having(self.text(profile_attributes.c.value, c.operator, c.values))

    def birth_date(self, operator: str, days: list[date]) -> ColumnElement[bool]:
        """Birth dates are text: a YYYY-MM-DD calendar date compares as text in the same form; any
        other text matches nothing (as `birth_day` says)."""
        text = profiles.c.birth_date
        ordered = collate(text, "C") if self.postgres else text
        first, last = days[0].isoformat(), days[-1].isoformat()
        comparison = {"BEFORE": ordered < first, "AFTER": ordered > first, "ON": ordered == first,
                      "BETWEEN": and_(ordered >= first, ordered <= last),
                      "NOT_BETWEEN": or_(ordered < first, ordered > last)}[operator]
        if self.postgres:
            shaped = text.op("~", is_comparison=True)("^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        else:
            shaped = text.op("GLOB", is_comparison=True)("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]")
        # CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and the casts in
        # _is_calendar_date only make sense on text of the right shape.
        return case((shaped, and_(_is_calendar_date(text), comparison)), else_=false())


def _combine(mode: str, parts: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    if mode == "ALL":
        return and_(*parts)
    if mode == "ANY":
        return or_(*parts)
    return not_(or_(*parts))


def _glob_escape(value: str) -> str:
    """GLOB's wildcards (* ? [) as literal characters."""
    return re.sub(r"([*?\[])", r"[\1]", value)


def _compare(column, operator: str, bound: float) -> ColumnElement[bool]:
    return {"GREATER_THAN": column > bound, "LESS_THAN": column < bound, "GREATER_THAN_OR_EQUAL": column >= bound,
            "LESS_THAN_OR_EQUAL": column <= bound, "EQUAL": column == bound}[operator]


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=timezone.utc)


def _day_range(instant, operator: str, days: list[date]) -> ColumnElement[bool]:
    """A date operator on an instant column, as half-open ranges of UTC days."""
    start, end = _midnight(days[0]), _midnight(next_day(days[-1]))  # end: None past the calendar's end

    def before_end():
        return instant.is_not(None) if end is None else instant < end

    if operator == "BEFORE":
        return instant < start
    if operator == "AFTER":
        return false() if end is None else instant >= end
    if operator in ("ON", "BETWEEN"):
        return and_(instant >= start, before_end())
    return or_(instant < start, false() if end is None else instant >= end)  # NOT_BETWEEN


def _is_calendar_date(text) -> ColumnElement[bool]:
    """Text already shaped NNNN-NN-NN names a real day of years 1-9999 (as Python's date does)."""
    year = cast(func.substr(text, 1, 4), Integer)
    month = cast(func.substr(text, 6, 2), Integer)
    day = cast(func.substr(text, 9, 2), Integer)
    leap = or_(and_(year % 4 == 0, year % 100 != 0), year % 400 == 0)
    month_length = case((month.in_([4, 6, 9, 11]), 30), (month == 2, case((leap, 29), else_=28)), else_=31)
    return and_(year >= 1, month >= 1, month <= 12, day >= 1, day <= month_length)


# --- definitions -------------------------------------------------------------------------------------
@dataclass
class SegmentDefinition:
    name: str
    arn: str
    definition: dict  # DisplayName, Description, SegmentGroups, SegmentSort as created
    created_at: datetime

    @property
    def segment_groups(self) -> dict:
        return self.definition["SegmentGroups"]


def _definition(row) -> SegmentDefinition:
    return SegmentDefinition(row.name, row.arn, row.definition, row.created_at)


def create_definition(conn: Connection, domain_id: int, name: str, arn: str, definition: dict,
                      now: datetime) -> SegmentDefinition:
    try:
        conn.execute(insert(segment_definitions).values(domain_id=domain_id, name=name, arn=arn,
                                                        definition=definition, created_at=now))
    except IntegrityError:  # created by a concurrent request since the caller looked
        raise DomainError(f"Segment definition {name} already exists") from None
    return SegmentDefinition(name, arn, definition, now)


def get_definition(conn: Connection, domain_id: int, name: str) -> SegmentDefinition | None:
    row = conn.execute(select(segment_definitions).where(segment_definitions.c.domain_id == domain_id,
                                                         segment_definitions.c.name == name)).first()
    return _definition(row) if row else None


def list_definitions(conn: Connection, domain_id: int, after: str | None, limit: int) -> list[SegmentDefinition]:
    query = select(segment_definitions).where(segment_definitions.c.domain_id == domain_id)
    if after is not None:
        query = query.where(segment_definitions.c.name > after)
    rows = conn.execute(query.order_by(segment_definitions.c.name).limit(limit))
    return [_definition(row) for row in rows]


def dependents(conn: Connection, domain_id: int, name: str) -> list[str]:
    """The segments of the domain built directly on segment `name`."""
    rows = conn.execute(select(segment_definitions.c.name, segment_definitions.c.definition)
                        .where(segment_definitions.c.domain_id == domain_id)
                        .order_by(segment_definitions.c.name))
    return [row.name for row in rows if name in source_names(row.definition.get("SegmentGroups") or {})]


def delete_definition(conn: Connection, domain_id: int, name: str) -> bool:
    """The definition and its snapshots; False if there was none."""
    conn.execute(delete(segment_snapshots).where(segment_snapshots.c.domain_id == domain_id,
                                                 segment_snapshots.c.segment_name == name))
    gone = conn.execute(delete(segment_definitions).where(segment_definitions.c.domain_id == domain_id,
                                                          segment_definitions.c.name == name))
    return gone.rowcount > 0


# --- estimates ---------------------------------------------------------------------------------------
@dataclass
class Estimate:
    id: str
    status: str
    estimate: int | None
    message: str | None
    created_at: datetime


def save_estimate(conn: Connection, domain_id: int, estimate: Estimate, query: dict) -> None:
    conn.execute(insert(segment_estimates).values(id=estimate.id, domain_id=domain_id, query=query,
                                                  status=estimate.status, estimate=estimate.estimate,
                                                  message=estimate.message, created_at=estimate.created_at))


def get_estimate(conn: Connection, domain_id: int, estimate_id: str) -> Estimate | None:
    row = conn.execute(select(segment_estimates).where(segment_estimates.c.domain_id == domain_id,
                                                       segment_estimates.c.id == estimate_id)).first()
    return Estimate(row.id, row.status, row.estimate, row.message, row.created_at) if row else None


# --- snapshots ---------------------------------------------------------------------------------------
@dataclass
class Snapshot:
    id: str
    segment_name: str
    data_format: str
    destination_uri: str | None
    status: str
    status_message: str | None
    created_at: datetime


def save_snapshot(conn: Connection, domain_id: int, snapshot: Snapshot) -> None:
    conn.execute(insert(segment_snapshots).values(
        id=snapshot.id, domain_id=domain_id, segment_name=snapshot.segment_name, data_format=snapshot.data_format,
        destination_uri=snapshot.destination_uri, status=snapshot.status, status_message=snapshot.status_message,
        created_at=snapshot.created_at))


def get_snapshot(conn: Connection, domain_id: int, segment_name: str, snapshot_id: str) -> Snapshot | None:
    row = conn.execute(select(segment_snapshots).where(segment_snapshots.c.domain_id == domain_id,
                                                       segment_snapshots.c.segment_name == segment_name,
                                                       segment_snapshots.c.id == snapshot_id)).first()
    if row is None:
        return None
    return Snapshot(row.id, row.segment_name, row.data_format, row.destination_uri, row.status,
                    row.status_message, row.created_at)
