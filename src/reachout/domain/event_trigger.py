"""Event triggers (Customer Profiles CreateEventTrigger, seed 000): which ingested objects fire an
event-triggered campaign, and how often per profile.

A trigger watches one object type (a custom or default one, never a standard `_profile`, `_asset`,
`_order`, ...). Its conditions (1..5) are ORed; each applies its LogicalOperator to its dimensions
(ALL: every one holds, ANY: one holds, NONE: none holds); a dimension holds when all its object
attributes hold. An attribute reads one value of the object: `Source` is a path in the object as
sent (`_source.Order.Total` or `Order.Total`), `FieldName` a field of the object type's mapping
(read from that field's Source). Then it compares the value with its Values:
- strings: INCLUSIVE (every value is among the target's: the target itself, or the items of a
  list), EXCLUSIVE (none is), CONTAINS (the target contains one of them), BEGINS_WITH, ENDS_WITH
  (one of them);
- numbers: GREATER_THAN, LESS_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN_OR_EQUAL, EQUAL (one value);
- dates: BEFORE, AFTER, ON (one value; a date alone names that UTC day, ON a day holds all of it);
- BETWEEN, NOT_BETWEEN: two numbers or two dates, bounds included.
Timestamps are ISO 8601; an offset is honoured (instants are compared), one without an offset is
UTC. A value that is absent or of the wrong type makes its attribute false, with the reason.

Limits: EventExpiration (ms) bounds how long a firing may wait to be sent; Periods cap the firings
per profile within rolling windows (Value x Unit), each MaxInvocationsPerProfile or Unlimited.
Without Periods: 10 per profile per day.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from reachout.domain.errors import DomainError

STRING_OPERATORS = ("INCLUSIVE", "EXCLUSIVE", "CONTAINS", "BEGINS_WITH", "ENDS_WITH")
NUMBER_OPERATORS = ("GREATER_THAN", "LESS_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN_OR_EQUAL", "EQUAL")
DATE_OPERATORS = ("BEFORE", "AFTER", "ON")
RANGE_OPERATORS = ("BETWEEN", "NOT_BETWEEN")
LOGICAL_OPERATORS = ("ALL", "ANY", "NONE")
UNITS = {"HOURS": "hour", "DAYS": "day", "WEEKS": "week", "MONTHS": "month"}
MAX_TRIGGERS_PER_DOMAIN = 20  # seed 000: 20 concurrent event triggers per domain
DEFAULT_LIMITS = {"Periods": [{"Unit": "DAYS", "Value": 1, "MaxInvocationsPerProfile": 10}]}

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class ObjectAttribute:
    source: str | None
    field_name: str | None
    operator: str
    values: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"FieldName {self.field_name}" if self.field_name else f"Source {self.source}"


@dataclass(frozen=True)
class Condition:
    logical_operator: str
    dimensions: tuple[tuple[ObjectAttribute, ...], ...]  # each dimension: its attributes, ANDed


@dataclass(frozen=True)
class Period:
    unit: str
    value: int
    max_invocations: int | None  # None: unlimited

    def start(self, now: datetime) -> datetime:
        """Where the rolling window ending at `now` begins."""
        if self.unit == "HOURS":
            return now - timedelta(hours=self.value)
        if self.unit == "DAYS":
            return now - timedelta(days=self.value)
        if self.unit == "WEEKS":
            return now - timedelta(weeks=self.value)
        months = now.year * 12 + now.month - 1 - self.value
        year, month = divmod(months, 12)
        day = min(now.day, _days_in(year, month + 1))
        return now.replace(year=year, month=month + 1, day=day)

    @property
    def label(self) -> str:
        return f"{self.value} {UNITS[self.unit]}{'s' if self.value > 1 else ''}"


@dataclass(frozen=True)
class EventTrigger:
    name: str
    object_type: str
    conditions: tuple[Condition, ...]
    segment_filter: str | None
    expiration: timedelta | None
    periods: tuple[Period, ...]


@dataclass(frozen=True)
class Verdict:
    fired: bool
    reason: str


@dataclass(slots=True)
class Evaluation:
    """What one trigger made of one ingested object, as it is recorded (an object's together, in the
    store's event_trigger_evaluations) and announced. (Not frozen: an object makes one per trigger,
    and a frozen dataclass is made three times slower.)"""
    domain_id: int
    trigger_name: str
    object_type: str
    profile_id: str
    object_key: str  # the object's ProfileObjectUniqueKey
    fired: bool
    reason: str  # why it fired, or exactly why not
    campaign_id: str | None
    request_id: str | None  # the profile outbound request the firing made
    at: datetime


def parse(name: str, params: Mapping, fields: Mapping[str, str]) -> EventTrigger:
    """The trigger CreateEventTrigger / UpdateEventTrigger describe (API shape). `fields`: the object
    type's mapped field names -> their Source. Raises DomainError saying what is wrong."""
    object_type = params["ObjectTypeName"]
    if object_type.startswith("_"):
        raise DomainError(f"ObjectTypeName {object_type} is a standard object type; event triggers watch custom "
                          "and default object types only")
    conditions = tuple(_condition(i, c, fields) for i, c in enumerate(params["EventTriggerConditions"], 1))
    limits = params.get("EventTriggerLimits") or {}
    expiration = limits.get("EventExpiration")
    if expiration is not None and expiration <= 0:
        raise DomainError(f"EventTriggerLimits.EventExpiration must be a positive number of milliseconds, "
                          f"not {expiration}")
    periods = tuple(_period(i, p) for i, p in enumerate(limits.get("Periods") or DEFAULT_LIMITS["Periods"], 1))
    return EventTrigger(name, object_type, conditions, params.get("SegmentFilter"),
                        None if expiration is None else timedelta(milliseconds=expiration), periods)


def _condition(index: int, given: Mapping, fields: Mapping[str, str]) -> Condition:
    dimensions = tuple(tuple(_attribute(f"EventTriggerConditions[{index}].EventTriggerDimensions[{d}]."
                                        f"ObjectAttributes[{a}]", attribute, fields)
                             for a, attribute in enumerate(dimension["ObjectAttributes"], 1))
                       for d, dimension in enumerate(given["EventTriggerDimensions"], 1))
    return Condition(given["LogicalOperator"], dimensions)


def _attribute(where: str, given: Mapping, fields: Mapping[str, str]) -> ObjectAttribute:
    source, field_name = given.get("Source"), given.get("FieldName")
    if (source is None) == (field_name is None):
        raise DomainError(f"{where} must name exactly one of Source (a path in the object) or FieldName "
                          "(a field of the object type's mapping)")
    if field_name is not None and field_name not in fields:
        raise DomainError(f"{where}.FieldName {field_name} is not a field of the object type "
                          f"(its fields: {', '.join(sorted(fields)) or 'none'})")
    operator, values = given["ComparisonOperator"], tuple(given["Values"])
    problem = values_problem(operator, values)
    if problem:
        raise DomainError(f"{where}: {problem}")
    return ObjectAttribute(source, field_name, operator, values)


def values_problem(operator: str, values: Sequence[str]) -> str | None:
    """Why these Values cannot go with this ComparisonOperator, or None."""
    if operator in NUMBER_OPERATORS:
        if len(values) != 1 or number(values[0]) is None:
            return f"{operator} compares with exactly one number, not {list(values)}"
    elif operator in DATE_OPERATORS:
        if len(values) != 1 or instant(values[0]) is None:
            return f"{operator} compares with exactly one ISO 8601 date or timestamp, not {list(values)}"
    elif operator in RANGE_OPERATORS:
        bounds = _range(values)
        if bounds is None:
            return f"{operator} takes exactly two numbers or two ISO 8601 dates (low, high), not {list(values)}"
        if bounds[0] > bounds[1]:
            return f"{operator} range {values[0]} .. {values[1]} is empty: the low bound comes first"
    return None


def _period(index: int, given: Mapping) -> Period:
    where = f"EventTriggerLimits.Periods[{index}]"
    unlimited, maximum = given.get("Unlimited", False), given.get("MaxInvocationsPerProfile")
    if unlimited and maximum is not None:
        raise DomainError(f"{where} gives both Unlimited and MaxInvocationsPerProfile: give one")
    if not unlimited and maximum is None:
        raise DomainError(f"{where} needs MaxInvocationsPerProfile (1..1000) or Unlimited true")
    return Period(given["Unit"], given["Value"], None if unlimited else maximum)


def api_shape(params: Mapping) -> dict:
    """The trigger's members as Get/Create/Update answer them: the limits with their default."""
    limits = dict(params.get("EventTriggerLimits") or {})
    limits.setdefault("Periods", DEFAULT_LIMITS["Periods"])
    shape = {k: params[k] for k in ("ObjectTypeName", "Description", "EventTriggerConditions", "SegmentFilter")
             if k in params}
    return {**shape, "EventTriggerLimits": limits}


# --- evaluation ------------------------------------------------------------------------------------
def evaluate(trigger: EventTrigger, obj: Mapping, fields: Mapping[str, str]) -> Verdict:
    """Whether the object fires the trigger's conditions, with the reason: the condition that held,
    or why each one failed."""
    failures = []
    for index, condition in enumerate(trigger.conditions, 1):
        held, why = _condition_holds(condition, obj, fields)
        if held:
            return Verdict(True, f"condition {index} ({condition.logical_operator}) held: {why}")
        failures.append(f"condition {index} ({condition.logical_operator}) failed: {why}")
    return Verdict(False, "; ".join(failures))


def evaluate_each(trigger: EventTrigger, objects: Sequence[Mapping], fields: Mapping[str, str],
                  shared: dict[tuple, Verdict] | None = None) -> list[Verdict]:
    """evaluate() of each object. A verdict depends on nothing but the values its attributes read, and
    objects repeat a few categories, states and amounts: objects that read the same values share one
    evaluation. `shared`: the trigger's verdicts by reading, which a caller may keep across calls (it
    gains an entry per new reading)."""
    paths = [fields[a.field_name] if a.field_name else a.source or ""
             for condition in trigger.conditions for dimension in condition.dimensions for a in dimension]
    shared = {} if shared is None else shared
    verdicts = []
    for obj in objects:
        key = _same_reading(tuple(read(obj, path) for path in paths))
        verdict = shared.get(key) if key is not None else None
        if verdict is None:
            verdict = evaluate(trigger, obj, fields)
            if key is not None:
                shared[key] = verdict
        verdicts.append(verdict)
    return verdicts


def _same_reading(values: tuple) -> tuple | None:
    """A key equal only for readings that evaluate alike (1, 1.0 and True are equal in Python but not
    here, nor are 0.0 and -0.0); None when a value is a list or an object."""
    key = []
    for value in values:
        kind = value.__class__
        if kind is float:
            key.append((kind, repr(value)))
        elif kind in (str, int, bool) or value is None:
            key.append((kind, value))
        else:
            return None
    return tuple(key)


def _condition_holds(condition: Condition, obj: Mapping, fields: Mapping[str, str]) -> tuple[bool, str]:
    results = [_dimension_holds(d, obj, fields) for d in condition.dimensions]
    named = [(i, held, why) for i, (held, why) in enumerate(results, 1)]
    if condition.logical_operator == "ALL":
        failed = next(((i, why) for i, held, why in named if not held), None)
        return (True, "every dimension held") if failed is None else (False, f"dimension {failed[0]}: {failed[1]}")
    if condition.logical_operator == "ANY":
        held = next(((i, why) for i, ok, why in named if ok), None)
        if held:
            return True, f"dimension {held[0]} held"
        return False, "no dimension held (" + "; ".join(f"dimension {i}: {why}" for i, _, why in named) + ")"
    held = next(((i, why) for i, ok, why in named if ok), None)  # NONE
    return (True, "no dimension held") if held is None else (False, f"dimension {held[0]} held: {held[1]}")


def _dimension_holds(attributes: tuple[ObjectAttribute, ...], obj: Mapping,
                     fields: Mapping[str, str]) -> tuple[bool, str]:
    for attribute in attributes:
        target = read(obj, fields[attribute.field_name] if attribute.field_name else attribute.source or "")
        if target is None:
            return False, f"{attribute.label} has no value in the object"
        if not compare(attribute.operator, target, attribute.values):
            return False, f"{attribute.label} {_shown(target)} is not {attribute.operator} {list(attribute.values)}"
    return True, " and ".join(f"{a.label} {a.operator} {list(a.values)}" for a in attributes)


def read(obj: Mapping, path: str):
    """The value at a Source path (`_source.A.B`, or `A.B`) of the object; None when absent."""
    parts = path.split(".")
    if parts[0] == "_source":
        parts = parts[1:]
    value = obj
    for part in parts:
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def compare(operator: str, target, values: Sequence[str]) -> bool:
    """Whether the object's value (any JSON value) compares as the operator says with the Values."""
    if operator in STRING_OPERATORS:
        texts = _texts(target)
        if texts is None:
            return False
        if operator == "INCLUSIVE":
            return all(v in texts for v in values)
        if operator == "EXCLUSIVE":
            return not any(v in texts for v in values)
        test = {"CONTAINS": str.__contains__, "BEGINS_WITH": str.startswith, "ENDS_WITH": str.endswith}[operator]
        return any(test(text, v) for text in texts for v in values)
    if operator in NUMBER_OPERATORS:
        found, bound = number(target), number(values[0])
        if found is None or bound is None:
            return False
        return {"GREATER_THAN": found > bound, "LESS_THAN": found < bound, "GREATER_THAN_OR_EQUAL": found >= bound,
                "LESS_THAN_OR_EQUAL": found <= bound, "EQUAL": found == bound}[operator]
    if operator in DATE_OPERATORS:
        moment, given = instant(target), instant(values[0])
        if moment is None or given is None:
            return False
        if operator == "ON":
            return moment.date() == given.date() if _is_day(values[0]) else moment == given
        return moment < given if operator == "BEFORE" else moment > given
    bounds = _range(values)
    if bounds is None:
        return False
    value = number(target) if isinstance(bounds[0], float) else instant(target)
    if value is None:
        return False
    low, high = bounds
    if isinstance(value, datetime) and isinstance(high, datetime) and _is_day(values[1]):
        inside = low <= value < high + timedelta(days=1)  # a high bound that is a day includes all of it
    else:
        inside = low <= value <= high
    return inside if operator == "BETWEEN" else not inside


def _texts(target) -> list[str] | None:
    if isinstance(target, list):
        return [t for t in (_text(item) for item in target) if t is not None]
    return None if (found := _text(target)) is None else [found]


def _text(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def number(value) -> float | None:
    """A JSON number, or text that is one; booleans are not numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        found = float(value)
        return found if found not in (float("inf"), float("-inf")) else None
    return None


def instant(value) -> datetime | None:
    """An ISO 8601 date or timestamp as a UTC instant (a date: its UTC midnight; no offset: UTC)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if _DATE.fullmatch(text):
            return datetime.combine(date.fromisoformat(text), time(), timezone.utc)
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found.replace(tzinfo=timezone.utc) if found.tzinfo is None else found.astimezone(timezone.utc)


def _is_day(value: str) -> bool:
    return bool(_DATE.fullmatch(value.strip()))


def _range(values: Sequence[str]):
    if len(values) != 2:
        return None
    numbers = [number(v) for v in values]
    if None not in numbers:
        return numbers
    instants = [instant(v) for v in values]
    return instants if None not in instants else None


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _days_in(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


# --- limits ----------------------------------------------------------------------------------------
def limit_reached(trigger: EventTrigger, invocations: Sequence[datetime], now: datetime) -> str | None:
    """Why one more firing for a profile, whose earlier firings of this trigger were at `invocations`,
    would break a period's limit; None when it may fire."""
    for period in trigger.periods:
        if period.max_invocations is None:
            continue
        start = period.start(now)
        count = sum(1 for at in invocations if at > start)
        if count >= period.max_invocations:
            return (f"invocation limit reached: {count} of {period.max_invocations} per profile in the last "
                    f"{period.label} (since {start.isoformat()})")
    return None


def longest_period_start(trigger: EventTrigger, now: datetime) -> datetime:
    """How far back a profile's firings can still count."""
    limited = [p.start(now) for p in trigger.periods if p.max_invocations is not None]
    return min(limited, default=now)
