"""Event trigger conditions against a plain reference: random conditions over random objects (strings,
numbers as JSON numbers or text, timestamps in several time zones, lists, booleans, absent fields)
fire exactly when the reference, which works on the values' meanings rather than on their text, says
they do. The reference is deliberately naive: loops and the definitions of domain/event_trigger.py's
docstring, nothing shared with the implementation but the names."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from reachout.domain import event_trigger

FIELDS = ("a", "b", "c")
BASE = datetime(2026, 3, 1, tzinfo=timezone.utc)
INSTANTS = [BASE + timedelta(days=d, hours=h) for d in range(3) for h in (0, 5, 12, 23)]
OFFSETS = [timedelta(hours=h) for h in (-5, 0, 2)]
NUMBERS = [x / 2 for x in range(-6, 7)]
WORDS = ["", "a", "ab", "ba", "abc", "b"]


# A tagged value: (kind, meaning, as it appears in the object).
def _number(value: float, as_text: bool):
    shown = (f"{value:g}" if as_text else (int(value) if value == int(value) else value))
    return "number", value, shown


def _date(at: datetime, offset: timedelta):
    return "date", at, at.astimezone(timezone(offset)).isoformat()


tagged_values = st.one_of(
    st.builds(_number, st.sampled_from(NUMBERS), st.booleans()),
    st.builds(_date, st.sampled_from(INSTANTS), st.sampled_from(OFFSETS)),
    st.builds(lambda w: ("string", w, w), st.sampled_from(WORDS)),
    st.builds(lambda ws: ("list", ws, ws), st.lists(st.sampled_from(WORDS), max_size=3)),
    st.builds(lambda b: ("bool", b, b), st.booleans()),
)
objects = st.dictionaries(st.sampled_from(FIELDS), tagged_values)

day_text = st.sampled_from(INSTANTS).map(lambda at: at.date().isoformat())
stamp_text = st.builds(lambda at, off: at.astimezone(timezone(off)).isoformat(), st.sampled_from(INSTANTS),
                       st.sampled_from(OFFSETS))
date_text = st.one_of(day_text, stamp_text)
number_text = st.sampled_from(NUMBERS).map(lambda x: f"{x:g}")


@st.composite
def attributes(draw):
    operator = draw(st.sampled_from(event_trigger.STRING_OPERATORS + event_trigger.NUMBER_OPERATORS
                                    + event_trigger.DATE_OPERATORS + event_trigger.RANGE_OPERATORS))
    if operator in event_trigger.STRING_OPERATORS:
        values = draw(st.lists(st.sampled_from([w for w in WORDS if w]), min_size=1, max_size=3))
    elif operator in event_trigger.NUMBER_OPERATORS:
        values = [draw(number_text)]
    elif operator in event_trigger.DATE_OPERATORS:
        values = [draw(date_text)]
    else:
        kind = draw(st.sampled_from([number_text, date_text]))
        values = sorted([draw(kind), draw(kind)], key=lambda v: _low_key(v))
    use_field = draw(st.booleans())
    name = draw(st.sampled_from(FIELDS))
    return {**({"FieldName": name.upper()} if use_field else {"Source": f"_source.{name}"}),
            "ComparisonOperator": operator, "Values": values}


def _low_key(text: str):
    try:
        return (0, float(text), BASE)
    except ValueError:
        return (1, 0.0, datetime.fromisoformat(text if "T" in text else text + "T00:00:00+00:00"))


conditions = st.lists(st.builds(
    lambda op, dims: {"LogicalOperator": op, "EventTriggerDimensions": [{"ObjectAttributes": d} for d in dims]},
    st.sampled_from(event_trigger.LOGICAL_OPERATORS),
    st.lists(st.lists(attributes(), min_size=1, max_size=3), min_size=1, max_size=3)), min_size=1, max_size=5)

FIELD_SOURCES = {name.upper(): f"_source.{name}" for name in FIELDS}


# --- the reference ---------------------------------------------------------------------------------
def _meaning_of_text(text: str):
    """What a Values entry means: ('number', x), ('day', date), ('instant', datetime)."""
    try:
        return "number", float(text)
    except ValueError:
        pass
    if "T" not in text:
        return "day", datetime.fromisoformat(text).date()
    return "instant", datetime.fromisoformat(text)


def _texts_of(tagged) -> list[str] | None:
    kind, meaning, shown = tagged
    if kind == "list":
        return list(meaning)
    if kind == "bool":
        return ["true" if meaning else "false"]
    return [str(shown)]


def reference_compare(operator: str, tagged, values: list[str]) -> bool:
    kind, meaning, _ = tagged
    if operator in event_trigger.STRING_OPERATORS:
        texts = _texts_of(tagged)
        if operator == "INCLUSIVE":
            return all(v in texts for v in values)
        if operator == "EXCLUSIVE":
            return all(v not in texts for v in values)
        for text in texts:
            for v in values:
                if operator == "CONTAINS" and v in text:
                    return True
                if operator == "BEGINS_WITH" and text[:len(v)] == v:
                    return True
                if operator == "ENDS_WITH" and len(text) >= len(v) and text[len(text) - len(v):] == v:
                    return True
        return False
    if operator in event_trigger.NUMBER_OPERATORS:
        if kind != "number":
            return False
        bound = float(values[0])
        return {"GREATER_THAN": meaning > bound, "LESS_THAN": meaning < bound, "EQUAL": meaning == bound,
                "GREATER_THAN_OR_EQUAL": meaning >= bound, "LESS_THAN_OR_EQUAL": meaning <= bound}[operator]
    if operator in event_trigger.DATE_OPERATORS:
        if kind != "date":
            return False
        what, given = _meaning_of_text(values[0])
        if what == "day":
            start = datetime(given.year, given.month, given.day, tzinfo=timezone.utc)
            end = start + timedelta(days=1)
            return {"BEFORE": meaning < start, "AFTER": meaning > start, "ON": start <= meaning < end}[operator]
        return {"BEFORE": meaning < given, "AFTER": meaning > given, "ON": meaning == given}[operator]
    (low_kind, low), (high_kind, high) = _meaning_of_text(values[0]), _meaning_of_text(values[1])
    if low_kind == "number":
        if kind != "number":
            return False
        inside = low <= meaning <= high
    else:
        if kind != "date":
            return False
        if low_kind == "day":
            low = datetime(low.year, low.month, low.day, tzinfo=timezone.utc)
        if high_kind == "day":
            inside = low <= meaning < datetime(high.year, high.month, high.day, tzinfo=timezone.utc) + timedelta(days=1)
        else:
            inside = low <= meaning <= high
    return inside if operator == "BETWEEN" else not inside


def reference_fires(given_conditions: list[dict], tagged: dict) -> bool:
    def attribute_holds(attribute: dict) -> bool:
        name = attribute["FieldName"].lower() if "FieldName" in attribute else attribute["Source"].split(".")[1]
        if name not in tagged:
            return False
        return reference_compare(attribute["ComparisonOperator"], tagged[name], attribute["Values"])

    for condition in given_conditions:
        held = [all(attribute_holds(a) for a in d["ObjectAttributes"]) for d in condition["EventTriggerDimensions"]]
        verdict = {"ALL": all(held), "ANY": any(held), "NONE": not any(held)}[condition["LogicalOperator"]]
        if verdict:
            return True
    return False


@settings(max_examples=400, deadline=None)
@given(conditions, objects)
def test_conditions_fire_exactly_as_the_reference_says(given_conditions, tagged):
    trigger = event_trigger.parse("t", {"ObjectTypeName": "Order", "EventTriggerConditions": given_conditions},
                                  FIELD_SOURCES)
    obj = {name: shown for name, (_, _, shown) in tagged.items()}
    verdict = event_trigger.evaluate(trigger, obj, FIELD_SOURCES)
    assert verdict.fired == reference_fires(given_conditions, tagged), verdict.reason
    assert verdict.reason  # fired or not, it says why


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 72), max_size=30), st.integers(1, 5), st.integers(1, 3),
       st.sampled_from(["HOURS", "DAYS"]), st.integers(0, 80))
def test_a_firing_is_allowed_exactly_when_each_window_has_room(hours_ago, maximum, value, unit, now_hours):
    now = BASE + timedelta(hours=now_hours)
    history = [now - timedelta(hours=h) for h in hours_ago]
    trigger = event_trigger.parse("t", {"ObjectTypeName": "Order", "EventTriggerConditions": [
        {"LogicalOperator": "ALL", "EventTriggerDimensions": [{"ObjectAttributes": [
            {"Source": "a", "ComparisonOperator": "CONTAINS", "Values": ["x"]}]}]}],
        "EventTriggerLimits": {"Periods": [{"Unit": unit, "Value": value, "MaxInvocationsPerProfile": maximum}]}}, {})
    window = timedelta(hours=value) if unit == "HOURS" else timedelta(days=value)
    in_window = sum(1 for at in history if now - at < window)
    assert (event_trigger.limit_reached(trigger, history, now) is None) == (in_window < maximum)


@settings(max_examples=1500, deadline=None)
@given(attributes(), tagged_values)
def test_each_comparison_operator_means_what_the_reference_says(attribute, tagged):
    # One attribute alone: a wrong operator cannot hide behind the other conditions.
    trigger = event_trigger.parse("t", {"ObjectTypeName": "Order", "EventTriggerConditions": [
        {"LogicalOperator": "ALL", "EventTriggerDimensions": [{"ObjectAttributes": [attribute]}]}]}, FIELD_SOURCES)
    name = attribute["FieldName"].lower() if "FieldName" in attribute else attribute["Source"].split(".")[1]
    verdict = event_trigger.evaluate(trigger, {name: tagged[2]}, FIELD_SOURCES)
    assert verdict.fired == reference_compare(attribute["ComparisonOperator"], tagged, attribute["Values"]), \
        verdict.reason



# Readings that Python holds equal but a trigger does not: 1, 1.0 and True; 0.0 and -0.0; lists.
_LOOK_ALIKE = [1, 1.0, True, 0, 0.0, -0.0, False, "1", "1.0", "true", "-0.0", None, ["1"], [1, "x"], {"a": 1}]
_OPERATORS = (event_trigger.STRING_OPERATORS + event_trigger.NUMBER_OPERATORS + event_trigger.RANGE_OPERATORS)


@st.composite
def _look_alike_attribute(draw):
    operator = draw(st.sampled_from(_OPERATORS))
    values = draw(st.lists(st.sampled_from(["1", "1.0", "true", "0", "0.0", "-0.0", "x"]), min_size=1, max_size=2)
                  .filter(lambda values: event_trigger.values_problem(operator, values) is None))
    return {"FieldName": draw(st.sampled_from(sorted(FIELD_SOURCES))), "ComparisonOperator": operator,
            "Values": values}


@settings(max_examples=300, deadline=None)
@given(st.one_of(conditions, st.lists(_look_alike_attribute(), min_size=1, max_size=2).map(lambda attributes: [
    {"LogicalOperator": "ANY", "EventTriggerDimensions": [{"ObjectAttributes": [a]} for a in attributes]}])),
    st.lists(st.dictionaries(st.sampled_from(FIELDS), tagged_values.map(lambda tagged: tagged[2])), max_size=8))
def test_a_batch_evaluated_together_gives_each_object_its_own_verdict(given_conditions, batch):
    trigger = event_trigger.parse("t", {"ObjectTypeName": "Order", "EventTriggerConditions": given_conditions},
                                  FIELD_SOURCES)
    # Every look-alike reading in each field, then the drawn objects twice: readings repeat and share
    # an evaluation.
    batch = [{name: value} for name in FIELDS for value in _LOOK_ALIKE] + batch + batch[::-1]
    assert event_trigger.evaluate_each(trigger, batch, FIELD_SOURCES) == \
        [event_trigger.evaluate(trigger, obj, FIELD_SOURCES) for obj in batch]
    shared: dict = {}  # kept across calls, as the engine keeps a trigger's verdicts
    for part in (batch[::2], batch[1::2], batch):
        assert event_trigger.evaluate_each(trigger, part, FIELD_SOURCES, shared) == \
            [event_trigger.evaluate(trigger, obj, FIELD_SOURCES) for obj in part]
