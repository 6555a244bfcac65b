"""Segments compiled to SQL select exactly the profiles the reference evaluator
(`reachout.domain.segment.matches`) selects, on SQLite and on PostgreSQL.

One pool of profiles per backend, built from small alphabets so that random conditions hit: a few
first names differing in case, cities, text with LIKE/GLOB wildcards, birth dates valid and not,
custom attributes holding numbers, dates, date-times with offsets and plain text. Every single
condition over those alphabets is checked exhaustively; Hypothesis then varies whole definitions:
groups, dimensions, modes, and source segments nested two deep.
"""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from reachout.domain.errors import DomainError
from reachout.domain.segment import (DATE_OPERATORS, NUMBER_OPERATORS, STRING_OPERATORS, check, day_of, matches)
from reachout.store import profile_domains, profiles, tables
from reachout.store import segments as store
from reachout.store.db import open_database

NOW = datetime(2026, 1, 15, 12, tzinfo=timezone.utc)

FIRST_NAMES = ["Ann", "ann", "Anna", "Bob", "Bo_b", "B%b", "Zoë"]
LAST_NAMES = ["Smith", "Smyth", "O'Neil", "[x]*?"]
EMAILS = ["ann@example.com", "bob@Example.com", "x_y@test.org"]
CITIES = ["Paris", "paris", "Lyon", "New York", "Nice"]
POSTAL_CODES = ["75001", "69001", "10001", "1000_"]
COUNTRIES = ["FR", "US"]
BIRTH_DATES = ["1990-05-01", "1985-12-31", "2000-02-29", "1990-02-30", "1900-02-29", "0000-01-01",
               "1985-12-31T10:00:00Z", "05/01/1990", "1990-5-1", "2024-01-05"]
SCORES = ["10", "10.0", "1e1", "-3", "7.25", " 7", "abc", "0x10", "NaN", "42"]
SINCE = ["2024-01-05", "2024-01-05T23:30:00Z", "2024-01-05T23:30:00-02:00", "2024-01-06", "2023-12-31",
         "2024-01-04T00:00:00+00:00", "soon", "7"]
TIERS = ["gold", "Gold", "silver", "go%ld", "g_ld"]
PROFILE_TYPES = ["PROFILE", "ACCOUNT_PROFILE"]

# What string conditions look for: each field's own values, with pieces of them and wildcards.
PIECES = ["A", "n", "nn", "b", "_", "%", "*", "?", "[", "[x]", "S", "th", ".com", "@", "is", "75", "0", "ld", "ë"]
TEXT_VALUES = {"FirstName": FIRST_NAMES, "LastName": LAST_NAMES, "EmailAddress": EMAILS, "City": CITIES,
               "PostalCode": POSTAL_CODES, "Country": COUNTRIES, "score": SCORES, "since": SINCE, "tier": TIERS,
               "absent": TIERS}
# The dates conditions compare with: near the field's own values (date-times that fall on another UTC day,
# the calendar's last day) and, less often, any of them.
BIRTH_DAYS = ["1985-12-31", "1990-05-01", "2000-02-29", "2000-03-01", "1900-01-01", "1985-12-31T23:00:00-05:00"]
SINCE_DAYS = ["2023-12-31", "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-05T22:00:00-03:00", "9999-12-31"]
DATE_VALUES = {"BirthDate": BIRTH_DAYS, "since": SINCE_DAYS}
NUMBER_VALUES = ["10", "7", "7.25", "-3", "0", "1e1", "42.0", "-3.5"]


def random_profile(rng: random.Random) -> dict:
    """A profile where every field may be missing, drawn from the small alphabets."""
    def maybe(values: list[str], chance: float = 0.7) -> str | None:
        return rng.choice(values) if rng.random() < chance else None

    profile = {"ProfileId": uuid.uuid4().hex}
    for field, values in (("FirstName", FIRST_NAMES), ("LastName", LAST_NAMES), ("EmailAddress", EMAILS),
                          ("BirthDate", BIRTH_DATES), ("ProfileType", PROFILE_TYPES)):
        value = maybe(values)
        if value is not None:
            profile[field] = value
    for field in ("Address", "ShippingAddress"):
        address = {part: value for part, value in (("City", maybe(CITIES)), ("PostalCode", maybe(POSTAL_CODES)),
                                                   ("Country", maybe(COUNTRIES))) if value is not None}
        if address and rng.random() < 0.8:
            profile[field] = address
    attributes = {key: value for key, value in (("score", maybe(SCORES)), ("since", maybe(SINCE)),
                                                ("tier", maybe(TIERS))) if value is not None}
    if attributes:
        profile["Attributes"] = attributes
    return profile


@pytest.fixture(scope="module")
def pool(backend):
    """(database, domain id, profiles): ~60 profiles saved once per backend."""
    database = open_database(backend)
    rng = random.Random(20260115)
    people = [random_profile(rng) for _ in range(60)]
    with database.transaction() as conn:
        domain = profile_domains.create_domain(conn, "us-east-1", f"props-{uuid.uuid4().hex[:8]}", "arn:props", {},
                                               NOW)
        for person in people:
            profiles.save_profile(conn, domain.id, person, NOW, new=True)
    yield database, domain.id, people
    database.dispose()


# --- definitions ---------------------------------------------------------------------------------------
@st.composite
def values_for(draw, operator: str, field: str) -> list[str]:
    if field == "ProfileType":
        return [draw(st.sampled_from(PROFILE_TYPES))]
    if operator in NUMBER_OPERATORS:
        return [draw(st.sampled_from(NUMBER_VALUES))]
    if operator in DATE_OPERATORS:
        days = st.one_of(st.sampled_from(DATE_VALUES.get(field, SINCE_DAYS)),
                         st.sampled_from(BIRTH_DAYS + SINCE_DAYS))
        if operator in ("BETWEEN", "NOT_BETWEEN"):
            return sorted(draw(st.lists(days, min_size=2, max_size=2)), key=day_of)
        return [draw(days)]
    return draw(st.lists(st.sampled_from(TEXT_VALUES.get(field, []) + PIECES), min_size=1, max_size=3))


# The operators tried on each custom attribute: mostly those of its values' type, sometimes any.
ANY_OPERATOR = STRING_OPERATORS + DATE_OPERATORS + NUMBER_OPERATORS
ATTRIBUTE_OPERATORS = {"score": NUMBER_OPERATORS * 3 + ANY_OPERATOR, "since": DATE_OPERATORS * 3 + ANY_OPERATOR,
                       "tier": STRING_OPERATORS * 3 + ANY_OPERATOR, "absent": ANY_OPERATOR}


@st.composite
def spec(draw, operators: tuple[str, ...], field: str) -> dict:
    operator = draw(st.sampled_from(operators))
    return {"DimensionType": operator, "Values": draw(values_for(operator, field))}


@st.composite
def dimension(draw) -> dict:
    """A ProfileAttributes dimension of one or two conditions."""
    attributes: dict = {}
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(["text", "address", "birth_date", "attribute", "profile_type"]))
        if kind == "text":
            field = draw(st.sampled_from(["FirstName", "LastName", "EmailAddress"]))
            attributes[field] = draw(spec(STRING_OPERATORS, field))
        elif kind == "address":
            field = draw(st.sampled_from(["Address", "ShippingAddress"]))
            part = draw(st.sampled_from(["City", "PostalCode", "Country"]))
            attributes.setdefault(field, {})[part] = draw(spec(STRING_OPERATORS, part))
        elif kind == "birth_date":
            attributes["BirthDate"] = draw(spec(DATE_OPERATORS, "BirthDate"))
        elif kind == "attribute":
            key = draw(st.sampled_from(["score", "since", "tier", "absent"]))
            attributes.setdefault("Attributes", {})[key] = draw(spec(ATTRIBUTE_OPERATORS[key], key))
        else:
            attributes["ProfileType"] = draw(spec(("INCLUSIVE", "EXCLUSIVE"), "ProfileType"))
    return {"ProfileAttributes": attributes}


# None: left out (so ALL); ANY twice, so that fewer segments come out empty.
MODE = st.sampled_from(["ALL", "ANY", "ANY", "NONE", None])


def with_mode(target: dict, key: str, mode: str | None) -> dict:
    if mode is not None:
        target[key] = mode
    return target


@st.composite
def segment(draw, sources: list[str]) -> dict:
    groups = []
    for _ in range(draw(st.integers(1, 2))):
        group: dict = {}
        dimensions = draw(st.lists(dimension(), max_size=3))
        names = draw(st.lists(st.sampled_from(sources), max_size=2)) if sources else []
        if not dimensions and not names:
            dimensions = [draw(dimension())]
        if dimensions:
            group["Dimensions"] = dimensions
            with_mode(group, "Type", draw(MODE))
        if names:
            group["SourceSegments"] = [{"SegmentDefinitionName": name} for name in names]
            with_mode(group, "SourceType", draw(MODE))
        groups.append(group)
    return with_mode({"Groups": groups}, "Include", draw(MODE))


@st.composite
def segment_with_sources(draw) -> tuple[dict, dict[str, dict]]:
    """A definition and the source segments it may be built on: two plain ones and one built on
    those (so sources nest two deep)."""
    tag = uuid.uuid4().hex[:8]
    first, second, third = f"base-a-{tag}", f"base-b-{tag}", f"nested-{tag}"
    sources = {first: draw(segment([])), second: draw(segment([]))}
    sources[third] = draw(segment([first, second]))
    return draw(segment(list(sources))), sources


# --- the property -------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=segment_with_sources())
def test_sql_membership_equals_the_reference(pool, case):
    database, domain_id, people = pool
    definition, sources = case
    check(definition)
    expected = {p["ProfileId"] for p in people if matches(definition, p, sources.get)}
    with database.engine.connect() as conn:
        transaction = conn.begin()
        try:
            for name, source in sources.items():  # stored only for this example
                store.create_definition(conn, domain_id, name, f"arn:{name}", {"DisplayName": name,
                                                                               "SegmentGroups": source}, NOW)
            members = store.member_ids(conn, domain_id, definition)
            count = store.count_members(conn, domain_id, definition)
            among = store.members_among(conn, domain_id, definition, [p["ProfileId"] for p in people[:20]])
        finally:
            transaction.rollback()
    by_id = {p["ProfileId"]: p for p in people}
    assert set(members) == expected, (
        f"{database.engine.dialect.name}: SQL and reference disagree on {definition} with sources {sources}\n"
        f"only in SQL: {[by_id[i] for i in set(members) - expected]}\n"
        f"only in reference: {[by_id[i] for i in expected - set(members)]}")
    assert members == sorted(members) and count == len(expected)
    assert among == expected & {p["ProfileId"] for p in people[:20]}


def every_leaf_condition():
    """Every operator on every field the pool fills, with each value of the field's alphabet (and
    every ordered pair of days for ranges): one-condition dimensions."""
    def specs(operators, field):
        for operator in operators:
            if operator in ("BETWEEN", "NOT_BETWEEN"):
                days = sorted(DATE_VALUES.get(field, SINCE_DAYS), key=day_of)
                candidates = [[a, b] for i, a in enumerate(days) for b in days[i:]]
            elif operator in DATE_OPERATORS:
                candidates = [[day] for day in BIRTH_DAYS + SINCE_DAYS]
            elif operator in NUMBER_OPERATORS:
                candidates = [[number] for number in NUMBER_VALUES]
            elif field == "ProfileType":
                candidates = [[kind] for kind in PROFILE_TYPES]
            else:
                values = TEXT_VALUES.get(field, []) + PIECES
                candidates = [[value] for value in values] + [values[:3]]
            yield from ({"DimensionType": operator, "Values": values} for values in candidates)

    for field in ("FirstName", "LastName", "EmailAddress"):
        yield from ({field: spec} for spec in specs(STRING_OPERATORS, field))
    for field, part in (("Address", "City"), ("Address", "PostalCode"), ("Address", "Country"),
                        ("ShippingAddress", "City")):
        yield from ({field: {part: spec}} for spec in specs(STRING_OPERATORS, part))
    yield from ({"BirthDate": spec} for spec in specs(DATE_OPERATORS, "BirthDate"))
    yield from ({"ProfileType": spec} for spec in specs(("INCLUSIVE", "EXCLUSIVE"), "ProfileType"))
    for key in ("score", "since", "tier", "absent"):
        yield from ({"Attributes": {key: spec}} for spec in specs(ANY_OPERATOR, key))


def test_every_leaf_condition_agrees_with_the_reference(pool):
    """Each condition alone, exhaustively over the alphabets: a subtle difference in one operator is
    not left to chance. Evaluated as columns, a few hundred conditions per query."""
    database, domain_id, people = pool
    definitions = [{"Groups": [{"Dimensions": [{"ProfileAttributes": leaf}]}]} for leaf in every_leaf_condition()]
    by_id = {p["ProfileId"]: p for p in people}
    disagreements = []
    with database.transaction() as conn:
        for first in range(0, len(definitions), 250):
            batch = definitions[first:first + 250]
            columns = [store.condition(conn, domain_id, d).label(f"c{i}") for i, d in enumerate(batch)]
            rows = conn.execute(select(tables.profiles.c.id, *columns)
                                .where(tables.profiles.c.domain_id == domain_id)).all()
            for i, definition in enumerate(batch):
                in_sql = {row[0] for row in rows if row[i + 1]}
                expected = {p["ProfileId"] for p in people if matches(definition, p, {}.get)}
                if in_sql != expected:
                    disagreements.append((definition["Groups"][0]["Dimensions"][0],
                                          [by_id[pid] for pid in in_sql - expected],
                                          [by_id[pid] for pid in expected - in_sql]))
    assert len(definitions) > 1500
    assert not disagreements, (f"{database.engine.dialect.name}: {len(disagreements)} conditions disagree "
                               "(condition, only in SQL, only in reference); first ones:\n"
                               + "\n".join(map(str, disagreements[:5])))


# --- segments built on themselves ---------------------------------------------------------------------
def built_on(*names: str) -> dict:
    return {"Groups": [{"SourceSegments": [{"SegmentDefinitionName": name} for name in names]}]}


def test_the_reference_refuses_a_segment_built_on_itself():
    sources = {"a": built_on("b"), "b": built_on("a")}
    with pytest.raises(DomainError, match="built on itself: a -> b -> a"):
        matches(built_on("a"), {"ProfileId": "p"}, sources.get)


def test_sql_refuses_a_segment_built_on_itself(pool):
    database, domain_id, _ = pool
    with database.engine.connect() as conn:
        transaction = conn.begin()
        try:
            store.create_definition(conn, domain_id, "loop-a", "arn:a", {"DisplayName": "a",
                                                                         "SegmentGroups": built_on("loop-b")}, NOW)
            store.create_definition(conn, domain_id, "loop-b", "arn:b", {"DisplayName": "b",
                                                                         "SegmentGroups": built_on("loop-a")}, NOW)
            with pytest.raises(DomainError, match="built on itself"):
                store.count_members(conn, domain_id, built_on("loop-a"))
            with pytest.raises(DomainError, match="Source segment nowhere does not exist"):
                store.count_members(conn, domain_id, built_on("nowhere"))
        finally:
            transaction.rollback()
