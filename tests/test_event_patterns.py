"""EventBridge event patterns: the AWS-recorded conformance corpus through the compiled index and the
reference, a property test holding the index (many rules at once) to the reference (one at a time),
and contact-event examples."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import json5
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reachout.events.pattern import InvalidEventPattern, PatternIndex, matches, validate
from reachout.events.reference import ReferencePattern

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "conformance" / "eventbridge-patterns"


# ---------------------------------------------------------------------------------------------------
# The conformance corpus

def recorded_errors() -> dict[str, dict]:
    """Case name -> AWS's error ({"Message", "MessageRaw"}) for the invalid patterns."""
    snapshot = json.loads((CORPUS / "aws-recorded-results.snapshot.json").read_text())
    return {name: content["exception_message"]["Error"]
            for record in snapshot.values() for name, content in record.get("recorded-content", {}).items()
            if isinstance(content, dict) and "exception_message" in content}


def corpus_cases() -> list[tuple[str, str, dict]]:
    """(name, pattern text as sent to AWS, event). The patterns were sent as json.dumps of the parsed
    JSON5, which fixes the columns in AWS's messages; the duplicate-key case is read as raw text."""
    cases = []
    for path in sorted((CORPUS / "templates").glob("*.json5")):
        case = json5.loads(path.read_text())
        cases.append((path.stem, json.dumps(case["EventPattern"]), case["Event"]))
    templates = CORPUS / "templates"
    cases.append(("complex_multi_key_event", (templates / "complex_multi_key_event_pattern.json").read_text(),
                  json.loads((templates / "complex_multi_key_event.json").read_text())))
    return cases


def check_case(name: str, text: str, event: dict, errors: dict[str, dict]) -> str | None:
    """None when the compiled index and the reference both behave as AWS did, else what differs."""
    if name.endswith("_EXC"):
        try:
            validate(text)
        except InvalidEventPattern as error:
            expected = errors[name]
            if error.short_message != expected["Message"]:
                return f"message {error.short_message!r} != {expected['Message']!r}"
            # The snapshot hides the partition and region of ARNs in the pattern it echoes.
            echoed = error.message.replace("arn:aws:events:us-east-1:", "arn:<partition>:events:<region>:")
            if "MessageRaw" in expected and echoed != expected["MessageRaw"]:
                return f"raw message {echoed!r} != {expected['MessageRaw']!r}"
            try:
                ReferencePattern(text)
            except InvalidEventPattern:
                return None
            return "the reference accepted it"
        return "accepted an invalid pattern"
    expected_match = not name.endswith("_NEG")
    compiled, reference = matches(text, event), ReferencePattern(text).matches(event)
    if (compiled, reference) != (expected_match, expected_match):
        return f"compiled {compiled}, reference {reference}, AWS {expected_match}"
    return None


def test_conformance_corpus():
    errors = recorded_errors()
    cases = corpus_cases()
    failures = {name: why for name, text, event in cases if (why := check_case(name, text, event, errors))}
    passed, total = len(cases) - len(failures), len(cases)
    print(f"conformance: {passed}/{total}")
    assert total == 156
    assert not failures, failures


def test_invalid_json_messages():
    """The four invalid-JSON patterns AWS answered, recorded with the parser's location."""
    snapshot = json.loads((CORPUS / "aws-recorded-results.snapshot.json").read_text())
    cases = {key.split("[", 1)[1][:-1]: record["recorded-content"]["invalid-pattern"]["Error"]["Message"]
             for key, record in snapshot.items() if "test_invalid_json_event_pattern" in key}
    assert len(cases) == 4
    for text, message in cases.items():
        with pytest.raises(InvalidEventPattern) as raised:
            validate(text)
        assert raised.value.message == message


# ---------------------------------------------------------------------------------------------------
# Contact events (shaped like seeds/001)

INSTANCE = "arn:aws:connect:us-east-1:111122223333:instance/12345678-1234-1234-1234-123456789012"
CAMPAIGN = "c0ffee00-0000-4000-8000-000000000001"
CONNECTED = {
    "version": "0", "id": "abcabcab-abca-abca-abca-abcabcabcabc", "detail-type": "Amazon Connect Contact Event",
    "source": "aws.connect", "account": "111122223333", "time": "2021-08-04T17:43:48Z", "region": "us-east-1",
    "resources": [f"{INSTANCE}/contact/11111111-1111-1111-1111-111111111111", INSTANCE],
    "detail": {
        "initiationTimestamp": "2021-08-04T17:17:53.000Z", "contactId": "11111111-1111-1111-1111-111111111111",
        "channel": "VOICE", "instanceArn": INSTANCE, "initiationMethod": "OUTBOUND", "eventType": "CONNECTED_TO_AGENT",
        "campaign": {"campaignId": CAMPAIGN},
        "agentInfo": {"agentArn": f"{INSTANCE}/agent/12345678-1234-1234-1234-123456789012",
                      "connectedToAgentTimestamp": "2021-08-04T17:29:09.000Z"},
        "queueInfo": {"queueType": "STANDARD", "queueArn": f"{INSTANCE}/queue/q1",
                      "enqueueTimestamp": "2021-08-04T17:29:04.000Z"},
        "routingCriteria": {"steps": [
            {"expiry": {"durationInSeconds": 50}, "status": "EXPIRED"},
            {"expiry": {"durationInSeconds": 10}, "status": "ACTIVE"},
            {"status": "INACTIVE"}], "index": 1},
        "tags": {"aws:connect:instanceId": "12345678-1234-1234-1234-123456789012"},
    },
}


def event_with(**detail) -> dict:
    event = copy.deepcopy(CONNECTED)
    event["detail"].update(detail)
    return event


SKIP_DATA_UPDATES = {"source": ["aws.connect"], "detail-type": ["Amazon Connect Contact Event"],
                     "detail": {"eventType": [{"anything-but": ["CONTACT_DATA_UPDATED"]}]}}


def test_anything_but_stops_one_event_type():
    assert matches(SKIP_DATA_UPDATES, CONNECTED)
    assert not matches(SKIP_DATA_UPDATES, event_with(eventType="CONTACT_DATA_UPDATED"))
    assert not matches(SKIP_DATA_UPDATES, {**CONNECTED, "source": "aws.events"})
    missing = copy.deepcopy(CONNECTED)
    del missing["detail"]["eventType"]
    assert not matches(SKIP_DATA_UPDATES, missing)  # anything-but needs the field


def test_campaign_rules_in_one_index():
    index = PatternIndex()
    index.add("all-but-updates", SKIP_DATA_UPDATES)
    index.add("campaign-outcomes", {"detail": {"campaign": {"campaignId": [CAMPAIGN]},
                                               "eventType": ["CONNECTED_TO_AGENT", "DISCONNECTED"]}})
    index.add("other-campaign", {"detail": {"campaign": {"campaignId": ["another"]}}})
    index.add("instance", {"detail": {"instanceArn": [{"prefix": INSTANCE.rsplit("/", 1)[0] + "/"}],
                                      "channel": ["VOICE"]}})
    index.add("with-agent", {"detail": {"agentInfo": {"agentArn": [{"exists": True}]}}})
    index.add("no-agent", {"detail": {"agentInfo": {"agentArn": [{"exists": False}]}}})
    index.add("long-step", {"detail": {"routingCriteria": {"steps": {"expiry": {"durationInSeconds": [
        {"numeric": [">=", 30, "<", 120]}]}}}}})
    assert index.matching(CONNECTED) == {"all-but-updates", "campaign-outcomes", "instance", "with-agent", "long-step"}

    system = event_with(eventType="CONNECTED_TO_SYSTEM", channel="TASK", routingCriteria={"steps": []})
    del system["detail"]["agentInfo"]
    assert index.matching(system) == {"all-but-updates", "no-agent"}

    index.remove("all-but-updates")
    index.add("instance", {"detail": {"channel": ["TASK"]}})  # replaces the rule
    assert index.matching(system) == {"no-agent", "instance"}
    assert index.matching(CONNECTED) == {"campaign-outcomes", "with-agent", "long-step"}
    assert len(index) == 6 and "instance" in index


def test_fields_in_one_array_element_must_match_together():
    """The expired step lasted 50 s and the active one 10 s: no single step is active and long."""
    expired_long = {"detail": {"routingCriteria": {"steps": {
        "status": ["EXPIRED"], "expiry": {"durationInSeconds": [{"numeric": [">", 40]}]}}}}}
    active_long = {"detail": {"routingCriteria": {"steps": {
        "status": ["ACTIVE"], "expiry": {"durationInSeconds": [{"numeric": [">", 40]}]}}}}}
    assert matches(expired_long, CONNECTED)
    assert not matches(active_long, CONNECTED)
    assert not ReferencePattern(json.dumps(active_long)).matches(CONNECTED)


def test_numbers_strings_and_null_are_distinct():
    assert matches({"detail": {"index": [1]}}, event_with(index=1.0))
    assert not matches({"detail": {"index": ["1"]}}, event_with(index=1))
    assert not matches({"detail": {"index": [True]}}, event_with(index=1))
    assert matches({"detail": {"index": [None]}}, event_with(index=None))
    assert matches({"detail": {"index": [{"exists": True}]}}, event_with(index=None))
    assert matches({"detail": {"index": [{"anything-but": [1, 2]}]}}, event_with(index="1"))


def test_invalid_pattern_carries_aws_message():
    with pytest.raises(InvalidEventPattern) as raised:
        PatternIndex().add("r", '{"detail": {"eventType": "QUEUED"}}')
    assert raised.value.reason == '"eventType" must be an object or an array'
    assert raised.value.message == (
        'Event pattern is not valid. Reason: "eventType" must be an object or an array\n'
        ' at [Source: (String)"{"detail": {"eventType": "QUEUED"}}"; line: 1, column: 27]')


# ---------------------------------------------------------------------------------------------------
# The compiled index agrees with the reference

KEYS = ["a", "b", "c", "a.b"]  # "a.b" meets {"a": {"b": ...}} through dot joining
EVENT_STRINGS = ["", "x", "xy", "X", "Xy", "y", "y*", "10.0.0.1", "10.0.0.250", "::ffff:10.0.0.1", "::1"]
EVENT_NUMBERS = [0, 1, 1.0, 1.5, 1.0000001, -2, 300, 6e9]
event_scalars = st.one_of(st.sampled_from(EVENT_STRINGS), st.sampled_from(EVENT_NUMBERS), st.booleans(), st.none())
events = st.dictionaries(
    st.sampled_from(KEYS),
    st.recursive(event_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(KEYS), inner, min_size=1, max_size=3), max_leaves=8),
    min_size=2, max_size=4)

texts = st.sampled_from(["", "x", "xy", "X", "y", "Y", "10.0.0.1"])
nonempty_texts = st.sampled_from(["x", "xy", "X", "y", "Y"])
numbers = st.sampled_from([0, 1, 1.5, -2, 300])
wildcards = st.sampled_from(["*", "x*", "*y", "x*y", "*x*", "", "y\\*", "X*", "*\\\\"])


def one_or_list(values):
    return values | st.lists(values, min_size=1, max_size=3)


numeric_terms = st.one_of(
    st.tuples(st.sampled_from(["<", "<=", ">", ">=", "="]), numbers).map(list),
    st.tuples(st.sampled_from([">", ">="]), st.sampled_from(["<", "<="]), st.lists(
        numbers, min_size=2, max_size=2, unique=True).map(sorted)).map(lambda t: [t[0], t[2][0], t[1], t[2][1]]))
operators = st.one_of(
    st.builds(lambda op, t, fold: {op: {"equals-ignore-case": t} if fold else t},
              st.sampled_from(["prefix", "suffix"]), texts, st.booleans()),
    texts.map(lambda t: {"equals-ignore-case": t}),
    wildcards.map(lambda w: {"wildcard": w}),
    st.booleans().map(lambda b: {"exists": b}),
    st.sampled_from(["10.0.0.0/24", "10.0.0.5/30", "::/127", "0.0.0.0/1"]).map(lambda c: {"cidr": c}),
    numeric_terms.map(lambda terms: {"numeric": terms}),
    st.one_of(
        texts, numbers, st.lists(texts, min_size=1, max_size=3), st.lists(numbers, min_size=1, max_size=3),
        st.builds(lambda op, v: {op: v}, st.sampled_from(["prefix", "suffix"]), one_or_list(nonempty_texts)),
        one_or_list(texts).map(lambda v: {"equals-ignore-case": v}),
        one_or_list(wildcards).map(lambda v: {"wildcard": v}),
    ).map(lambda argument: {"anything-but": argument}),
)
values = st.lists(st.one_of(texts, numbers, st.booleans(), st.none(), operators), min_size=1, max_size=3)


@st.composite
def patterns(draw, depth: int = 2) -> dict:
    fields = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=2, unique=True))
    pattern: dict = {}
    for key in fields:
        nested = depth > 0 and draw(st.integers(0, 3)) == 0
        pattern[key] = draw(patterns(depth - 1)) if nested else draw(values)
    if depth > 0 and draw(st.integers(0, 3)) == 0:
        pattern["$or"] = draw(st.lists(patterns(depth - 1), min_size=2, max_size=3))
    return pattern


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rules=st.lists(patterns(), min_size=1, max_size=16), samples=st.lists(events, min_size=1, max_size=5),
       removed=st.sets(st.integers(0, 15), max_size=6))
def test_index_agrees_with_reference(rules, samples, removed):
    index, reference = PatternIndex(), {}
    for rule_id, pattern in enumerate(rules):
        text = json.dumps(pattern)
        index.add(rule_id, text)
        reference[rule_id] = ReferencePattern(text)
    for event in samples:
        assert index.matching(event) == {i for i, r in reference.items() if r.matches(event)}, event
    for rule_id in removed:
        assert index.remove(rule_id) == (rule_id in reference)
        reference.pop(rule_id, None)
    for event in samples:
        assert index.matching(event) == {i for i, r in reference.items() if r.matches(event)}, event
