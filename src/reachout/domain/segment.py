"""Segments: which profiles a segment definition selects, in the SegmentGroups language of Customer
Profiles. This module is the meaning of that language: `check` refuses definitions that cannot mean
anything, `parse` turns a definition into a small tree (`Query` > `Group` > dimensions > `Condition`)
and `matches` is the plain reference evaluator over one profile dict. The store compiles the same
tree to SQL (`reachout.store.segments`); a property test holds the two to the same answers.

The language, as Reachout reads it:

- A definition is {"Include": ALL|ANY|NONE, "Groups": [Group, ...]} (SegmentGroup and
  SegmentGroupStructure alike). A profile is in the segment when ALL / ANY / NONE of the groups hold.
  Include, Type and SourceType default to ALL when left out.
- A Group holds a dimensions part ({"Type": ALL|ANY|NONE, "Dimensions": [...]}: all / any / none of
  the dimensions hold) and a source part ({"SourceType": ALL|ANY|NONE, "SourceSegments":
  [{"SegmentDefinitionName": ...}]}: the profile is in all / any / none of those segments). A group
  needs at least one of the two parts, and holds when every part it has holds (so dimensions filter
  the profiles of the source segments).
- A Dimension is {"ProfileAttributes": {...}}; every attribute condition it names must hold (AND).
  CalculatedAttributes dimensions are refused: Reachout keeps no calculated attributes.
- Conditions on standard text fields (FirstName, EmailAddress, ..., AdditionalInformation) and on
  address parts (Address/ShippingAddress/MailingAddress/BillingAddress: City, Country, County,
  PostalCode, Province, State; every part named must hold) use the string operators, compared
  exactly (case-sensitive):
    INCLUSIVE    the value equals one of Values
    EXCLUSIVE    the value equals none of Values; a profile WITHOUT the field matches, so that
                 EXCLUSIVE is always the exact opposite of INCLUSIVE
    CONTAINS / BEGINS_WITH / ENDS_WITH   the value contains / begins with / ends with one of Values
  A missing field matches no other string operator.
- BirthDate uses the date operators. A birth date counts as a date only when written YYYY-MM-DD (a
  real calendar date); any other text matches no date condition.
- Custom attributes (Attributes: {key: AttributeDimension}) take all 15 operators: the string ones on
  the value as text (a missing attribute matches EXCLUSIVE only), the date ones on the value read by
  `as_instant`, the numeric ones on the value read by `as_number`. A value that is not a date (not a
  number) never matches a date (numeric) condition.
- Date operators compare calendar days, in UTC: a date-time value (stored or in Values) counts as
  the UTC day it falls on.
    BEFORE d    day < d          AFTER d     day > d          ON d    day == d
    BETWEEN a b     a <= day <= b (both ends inclusive)
    NOT_BETWEEN a b day < a or day > b (and the value is a date)
  BEFORE, AFTER and ON take exactly one date, BETWEEN and NOT_BETWEEN exactly two (the earlier first).
- Numeric operators GREATER_THAN, LESS_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN_OR_EQUAL, EQUAL take
  exactly one numeric value.
- ProfileType INCLUSIVE / EXCLUSIVE of ACCOUNT_PROFILE or PROFILE; a profile without a ProfileType is
  a PROFILE (the ordinary kind).
- Source segments are resolved by name in the same domain; a segment built on itself, however
  indirectly, is refused.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from reachout.domain.errors import DomainError
from reachout.domain.profile import as_instant, as_number

MODES = ("ALL", "ANY", "NONE")
STRING_OPERATORS = ("INCLUSIVE", "EXCLUSIVE", "CONTAINS", "BEGINS_WITH", "ENDS_WITH")
DATE_OPERATORS = ("BEFORE", "AFTER", "ON", "BETWEEN", "NOT_BETWEEN")
NUMBER_OPERATORS = ("GREATER_THAN", "LESS_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN_OR_EQUAL", "EQUAL")
RANGE_OPERATORS = ("BETWEEN", "NOT_BETWEEN")
# Standard text fields a ProfileAttributes dimension may name (ProfileDimension and the
# ExtraLengthValueProfileDimension of AdditionalInformation).
TEXT_DIMENSIONS = ("AccountNumber", "AdditionalInformation", "FirstName", "LastName", "MiddleName",
                   "GenderString", "PartyTypeString", "PhoneNumber", "BusinessName", "BusinessPhoneNumber",
                   "HomePhoneNumber", "MobilePhoneNumber", "EmailAddress", "PersonalEmailAddress",
                   "BusinessEmailAddress")
ADDRESS_DIMENSIONS = ("Address", "ShippingAddress", "MailingAddress", "BillingAddress")
ADDRESS_DIMENSION_PARTS = ("City", "Country", "County", "PostalCode", "Province", "State")
PROFILE_TYPES = ("ACCOUNT_PROFILE", "PROFILE")
DEFAULT_PROFILE_TYPE = "PROFILE"

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Condition:
    """One attribute condition of a ProfileAttributes dimension."""
    kind: str  # "text" | "address" | "birth_date" | "attribute" | "profile_type"
    field: str  # the profile field (FirstName, Address, BirthDate, ProfileType) or the attribute key
    part: str | None  # the address part (City, ...) of an "address" condition
    operator: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    dimension_mode: str
    dimensions: tuple[tuple[Condition, ...], ...]  # each dimension: conditions that must all hold
    source_mode: str
    sources: tuple[str, ...]  # source segment names


@dataclass(frozen=True)
class Query:
    include: str
    groups: tuple[Group, ...]


Resolve = Callable[[str], "dict | None"]


# --- checking and parsing ------------------------------------------------------------------------
def check(definition: dict) -> None:
    """Refuses (DomainError) a definition that breaks a rule of the language."""
    parse(definition)


def parse(definition: dict) -> Query:
    """The definition as a tree of groups, dimensions and conditions; DomainError says what is wrong."""
    groups = definition.get("Groups") or []
    if not groups:
        raise DomainError("A segment needs at least one group in Groups")
    return Query(_mode(definition, "Include", "SegmentGroups"),
                 tuple(_group(group, f"Groups[{i}]") for i, group in enumerate(groups)))


def source_names(definition: dict) -> list[str]:
    """The segments this definition is built on directly, each once, in order of appearance."""
    names = [source.get("SegmentDefinitionName") for group in definition.get("Groups") or []
             for source in group.get("SourceSegments") or []]
    return list(dict.fromkeys(name for name in names if name))


def _mode(where: dict, key: str, path: str) -> str:
    mode = where.get(key, "ALL")
    if mode not in MODES:
        raise DomainError(f"{path}.{key} must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def _group(group: dict, path: str) -> Group:
    dimensions = group.get("Dimensions") or []
    sources = group.get("SourceSegments") or []
    if not dimensions and not sources:
        raise DomainError(f"{path} needs Dimensions or SourceSegments")
    names = []
    for i, source in enumerate(sources):
        name = source.get("SegmentDefinitionName")
        if not name:
            raise DomainError(f"{path}.SourceSegments[{i}] needs a SegmentDefinitionName")
        names.append(name)
    return Group(_mode(group, "Type", path),
                 tuple(_dimension(d, f"{path}.Dimensions[{i}]") for i, d in enumerate(dimensions)),
                 _mode(group, "SourceType", path), tuple(names))


def _dimension(dimension: dict, path: str) -> tuple[Condition, ...]:
    if "CalculatedAttributes" in dimension:
        raise DomainError(f"{path}: CalculatedAttributes dimensions are not supported (Reachout keeps no "
                          "calculated attributes); use ProfileAttributes")
    attributes = dimension.get("ProfileAttributes")
    if not attributes:
        raise DomainError(f"{path} needs ProfileAttributes with at least one condition")
    path += ".ProfileAttributes"
    conditions = []
    for field, spec in attributes.items():
        where = f"{path}.{field}"
        if field in TEXT_DIMENSIONS:
            conditions.append(_condition("text", field, None, spec, STRING_OPERATORS, where))
        elif field == "BirthDate":
            conditions.append(_condition("birth_date", field, None, spec, DATE_OPERATORS, where))
        elif field in ADDRESS_DIMENSIONS:
            if not spec:
                raise DomainError(f"{where} needs at least one of {', '.join(ADDRESS_DIMENSION_PARTS)}")
            for part, part_spec in spec.items():
                if part not in ADDRESS_DIMENSION_PARTS:
                    raise DomainError(f"{where}.{part} is not an address dimension")
                conditions.append(_condition("address", field, part, part_spec, STRING_OPERATORS,
                                             f"{where}.{part}"))
        elif field == "Attributes":
            if not spec:
                raise DomainError(f"{where} needs at least one attribute")
            for key, key_spec in spec.items():
                conditions.append(_condition("attribute", key, None, key_spec,
                                             STRING_OPERATORS + DATE_OPERATORS + NUMBER_OPERATORS,
                                             f"{where}.{key}"))
        elif field == "ProfileType":
            conditions.append(_condition("profile_type", field, None, spec, ("INCLUSIVE", "EXCLUSIVE"), where))
        else:
            raise DomainError(f"{where} is not a profile attribute a segment can filter on")
    return tuple(conditions)


def _condition(kind: str, field: str, part: str | None, spec: dict, operators: tuple[str, ...],
               path: str) -> Condition:
    operator, values = spec.get("DimensionType"), tuple(spec.get("Values") or ())
    if operator not in operators:
        raise DomainError(f"{path}: DimensionType must be one of {', '.join(operators)}, not {operator!r}")
    if not values:
        raise DomainError(f"{path}: {operator} needs at least one value in Values")
    if operator in DATE_OPERATORS:
        wanted = 2 if operator in RANGE_OPERATORS else 1
        if len(values) != wanted:
            raise DomainError(f"{path}: {operator} needs exactly {wanted} date{'s' if wanted > 1 else ''}, "
                              f"got {len(values)}")
        days = _days(values)
        if days is None:
            raise DomainError(f"{path}: {operator} needs dates (YYYY-MM-DD or ISO 8601), not "
                              f"{next(v for v in values if day_of(v) is None)!r}")
        if operator in RANGE_OPERATORS and days[0] > days[1]:
            raise DomainError(f"{path}: {operator} needs the earlier date first, got {values[0]} after {values[1]}")
    elif operator in NUMBER_OPERATORS:
        if len(values) != 1 or as_number(values[0]) is None:
            raise DomainError(f"{path}: {operator} needs exactly one numeric value, got {list(values)}")
    elif kind == "profile_type" and (len(values) != 1 or values[0] not in PROFILE_TYPES):
        raise DomainError(f"{path}: ProfileType needs exactly one of {', '.join(PROFILE_TYPES)}")
    return Condition(kind, field, part, operator, values)


# --- typed values ----------------------------------------------------------------------------------
def day_of(text: str) -> date | None:
    """The UTC calendar day of a date or date-time value, or None when it is not one."""
    try:
        instant = as_instant(text)
    except OverflowError:  # a date-time whose UTC instant falls outside the calendar
        return None
    return instant.date() if instant else None


def birth_day(text: str) -> date | None:
    """A BirthDate's day: only a YYYY-MM-DD calendar date counts."""
    return day_of(text) if _ISO_DAY.fullmatch(text) else None


def next_day(day: date) -> date | None:
    """The day after, or None after the last day of the calendar."""
    return None if day == date.max else day + timedelta(days=1)


# --- the reference evaluator -----------------------------------------------------------------------
def matches(definition: dict, profile: dict, resolve: Resolve) -> bool:
    """Whether the profile is in the segment `definition` describes; `resolve(name)` gives the
    definition of a source segment (None when there is none)."""
    return _in_query(parse(definition), profile, resolve, ())


def combine(mode: str, outcomes: Iterable[bool]) -> bool:
    outcomes = list(outcomes)
    if mode == "ALL":
        return all(outcomes)
    if mode == "ANY":
        return any(outcomes)
    return not any(outcomes)


def source_definition(name: str, resolve: Resolve, stack: tuple[str, ...]) -> dict:
    """A source segment's definition, refusing unknown segments and segments built on themselves."""
    if name in stack:
        raise DomainError(f"Segment {name} is built on itself: {' -> '.join(stack[stack.index(name):] + (name,))}")
    definition = resolve(name)
    if definition is None:
        raise DomainError(f"Source segment {name} does not exist")
    return definition


def _in_query(query: Query, profile: dict, resolve: Resolve, stack: tuple[str, ...]) -> bool:
    return combine(query.include, (_in_group(group, profile, resolve, stack) for group in query.groups))


def _in_group(group: Group, profile: dict, resolve: Resolve, stack: tuple[str, ...]) -> bool:
    parts = []
    if group.dimensions:
        parts.append(combine(group.dimension_mode, (all(holds(c, profile) for c in dimension)
                                                    for dimension in group.dimensions)))
    if group.sources:
        parts.append(combine(group.source_mode, (
            _in_query(parse(source_definition(name, resolve, stack)), profile, resolve, stack + (name,))
            for name in group.sources)))
    return all(parts)


def profile_value(condition: Condition, profile: dict) -> str | None:
    """The profile's value a condition looks at (None when the profile has none)."""
    if condition.kind == "address":
        return profile.get(condition.field, {}).get(condition.part)
    if condition.kind == "attribute":
        return profile.get("Attributes", {}).get(condition.field)
    if condition.kind == "profile_type":
        return profile.get("ProfileType") or DEFAULT_PROFILE_TYPE
    return profile.get(condition.field)


def holds(condition: Condition, profile: dict) -> bool:
    value, operator, values = profile_value(condition, profile), condition.operator, condition.values
    if operator == "EXCLUSIVE":
        return value is None or value not in values
    if value is None:
        return False
    if operator == "INCLUSIVE":
        return value in values
    if operator == "CONTAINS":
        return any(v in value for v in values)
    if operator == "BEGINS_WITH":
        return any(value.startswith(v) for v in values)
    if operator == "ENDS_WITH":
        return any(value.endswith(v) for v in values)
    if operator in DATE_OPERATORS:
        day = birth_day(value) if condition.kind == "birth_date" else day_of(value)
        bounds = _days(values)
        return day is not None and bounds is not None and _day_holds(operator, day, bounds)
    number, bound = as_number(value), as_number(values[0])
    return number is not None and bound is not None and _number_holds(operator, number, bound)


def _days(values) -> list[date] | None:
    """The dates a condition's values name, or None if one of them is not a date."""
    days = [day for day in map(day_of, values) if day is not None]
    return days if len(days) == len(values) else None


def _day_holds(operator: str, day: date, days: list[date]) -> bool:
    if operator == "BEFORE":
        return day < days[0]
    if operator == "AFTER":
        return day > days[0]
    if operator == "ON":
        return day == days[0]
    inside = days[0] <= day <= days[1]
    return inside if operator == "BETWEEN" else not inside


def _number_holds(operator: str, number: float, bound: float) -> bool:
    return {"GREATER_THAN": number > bound, "LESS_THAN": number < bound,
            "GREATER_THAN_OR_EQUAL": number >= bound, "LESS_THAN_OR_EQUAL": number <= bound,
            "EQUAL": number == bound}[operator]
