"""EventBridge on the default bus: the API through boto3, the AWS-recorded pattern corpus through
TestEventPattern, and contact events of running campaigns delivered to an HTTP target at least
once, in order per contact, after the target was down and after the server was killed."""
from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path

import json5
import pytest
from botocore.exceptions import ClientError

from tests.support import (EMAIL, NOT_DATA_UPDATES, START, Receiver, World, advance, make_client, postgres_database,
                           route_to, sqlite_database, start_server)

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "eventbridge-patterns"
ENVELOPE = {"id": "1", "account": "111122223333", "source": "test", "time": "2026-01-05T08:00:00Z",
            "region": "us-east-1", "detail-type": "test", "resources": []}


@pytest.fixture
def events(client):
    return client("events")


def code_of(error: ClientError) -> str:
    return error.response["Error"]["Code"]


# --- the API ---------------------------------------------------------------------------------------
def test_rules_and_targets_lifecycle(events, tmp_path):
    name = f"r-{uuid.uuid4().hex[:8]}"
    arn = events.put_rule(Name=name, EventPattern=json.dumps(NOT_DATA_UPDATES), Description="all but updates")["RuleArn"]
    assert arn.endswith(f":rule/{name}")
    described = events.describe_rule(Name=name)
    assert (described["State"], described["Description"], json.loads(described["EventPattern"])) == \
        ("ENABLED", "all but updates", NOT_DATA_UPDATES)
    events.disable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "DISABLED"
    events.enable_rule(Name=name)
    assert name in [r["Name"] for r in events.list_rules(NamePrefix=name)["Rules"]]

    log_group = f"arn:aws:logs:us-east-1:111122223333:log-group:{tmp_path / 'events'}"
    put = events.put_targets(Rule=name, Targets=[{"Id": "file", "Arn": log_group},
                                                 {"Id": "queue", "Arn": "arn:aws:sqs:us-east-1:1:q"}])
    assert put["FailedEntryCount"] == 1 and put["FailedEntries"][0]["TargetId"] == "queue"
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] == ["file"]
    with pytest.raises(ClientError) as refused:
        events.delete_rule(Name=name)
    assert code_of(refused.value) == "ValidationException"
    assert events.remove_targets(Rule=name, Ids=["file", "ghost"])["FailedEntryCount"] == 1
    events.delete_rule(Name=name)
    with pytest.raises(ClientError) as gone:
        events.describe_rule(Name=name)
    assert code_of(gone.value) == "ResourceNotFoundException"


def test_an_invalid_pattern_is_refused_with_eventbridge_s_error(events):
    with pytest.raises(ClientError) as refused:
        events.put_rule(Name=f"bad-{uuid.uuid4().hex[:6]}", EventPattern='{"detail": {"eventType": "INITIATED"}}')
    assert code_of(refused.value) == "InvalidEventPatternException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_put_events_accepts_good_entries_and_reports_bad_ones(events):
    answer = events.put_events(Entries=[
        {"Source": "my.app", "DetailType": "Order", "Detail": json.dumps({"id": 1})},
        {"Source": "my.app", "DetailType": "Order", "Detail": "not json"},
    ])
    assert answer["FailedEntryCount"] == 1
    assert "EventId" in answer["Entries"][0] and answer["Entries"][1]["ErrorCode"] == "InvalidArgument"


def test_connections_and_api_destinations(events):
    name = f"c-{uuid.uuid4().hex[:6]}"
    connection = events.create_connection(Name=name, AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret"}})
    assert connection["ConnectionState"] == "AUTHORIZED"
    assert "AuthParameters" not in events.describe_connection(Name=name)
    destination = events.create_api_destination(Name=name, ConnectionArn=connection["ConnectionArn"],
                                                InvocationEndpoint="http://127.0.0.1:9/hook", HttpMethod="POST")
    assert events.describe_api_destination(Name=name)["ApiDestinationArn"] == destination["ApiDestinationArn"]
    events.delete_api_destination(Name=name)
    events.delete_connection(Name=name)


# --- the recorded corpus through TestEventPattern ----------------------------------------------------
def corpus_cases():
    recorded = json.loads((CORPUS / "aws-recorded-results.snapshot.json").read_text())
    messages = {}
    for key, value in recorded.items():
        name = key.rsplit("[", 1)[-1].rstrip("]")
        error = value["recorded-content"].get(name, {}).get("exception_message", {}).get("Error", {})
        messages[name] = error.get("MessageRaw") or error.get("Message")  # the raw form names the position
    for path in sorted((CORPUS / "templates").glob("*.json5")):
        case = json5.loads(path.read_text())
        yield path.stem, json.dumps(case["EventPattern"]), case["Event"], messages.get(path.stem)
    event = json.loads((CORPUS / "templates" / "complex_multi_key_event.json").read_text())
    yield "complex_multi_key_event", (CORPUS / "templates" / "complex_multi_key_event_pattern.json").read_text(), event, None


def test_the_aws_recorded_corpus_through_boto3(events):
    passed, total, failures = 0, 0, []
    for name, pattern, event, message in corpus_cases():
        total += 1
        event = {**ENVELOPE, **event} if isinstance(event, dict) else event
        try:
            result = events.test_event_pattern(EventPattern=pattern, Event=json.dumps(event))["Result"]
            outcome = ("match" if result else "no match")
        except ClientError as error:
            # The recording replaced partition and region by placeholders; do the same here.
            said = error.response["Error"]["Message"].replace("arn:aws:", "arn:<partition>:").replace(
                ":us-east-1:", ":<region>:")
            outcome = ("invalid", said) if code_of(error) == "InvalidEventPatternException" else ("error", str(error))
        expected = (("invalid", message) if name.endswith("_EXC") else "no match" if name.endswith("_NEG") else "match")
        if outcome == expected:
            passed += 1
        else:
            failures.append((name, outcome, expected))
    print(f"conformance through boto3 TestEventPattern: {passed}/{total}")
    assert failures == [] and total == 156


# --- contact events to an HTTP target ---------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield sqlite_database(tmp_path / "events.db")
    else:
        yield from postgres_database("reachout_events")


def run_campaign(server, people: int) -> str:
    world = World(server)
    for i in range(people):
        world.person("evented", EmailAddress=f"e{i}@example.com")
    return world.campaign(world.segment("evented"), EMAIL)


def assert_complete_and_ordered(receiver: Receiver, contacts: int) -> None:
    flows = receiver.by_contact()
    assert len(flows) == contacts
    for flow in flows.values():
        # Every contact's story, once each, in order (CONTACT_DATA_UPDATED is filtered out anyway).
        assert flow in (["INITIATED", "CONNECTED_TO_SYSTEM", "DISCONNECTED"], ["INITIATED", "DISCONNECTED"]), flow


def test_contact_events_reach_an_http_target_in_order_even_after_it_was_down(database_url, tmp_path, receiver):
    server = start_server(database_url, tmp_path, "--virtual-clock", START.isoformat())
    try:
        route_to(server, receiver)
        receiver.down = True
        campaign_id = run_campaign(server, 6)
        advance(server, seconds=120)
        assert receiver.received == []
        receiver.down = False
        advance(server, seconds=3600)  # retries with backoff, in campaign time
        assert_complete_and_ordered(receiver, 6)
        states = [e["detail"]["state"] for e in receiver.received if e["detail-type"] == "Reachout Campaign State Change"]
        assert states == []  # the rule asks for contact events only
        assert make_client(server.url, "connectcampaignsv2").get_campaign_state(id=campaign_id)["state"] == "Completed"
    finally:
        assert server.stop() == 0


def test_a_killed_server_loses_no_event(database_url, tmp_path, receiver):
    first = start_server(database_url, tmp_path, "--virtual-clock", START.isoformat())
    route_to(first, receiver)
    receiver.down = True
    run_campaign(first, 4)
    advance(first, seconds=120)  # the contacts happened; their events wait in the outbox
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    receiver.down = False
    second = start_server(database_url, tmp_path, "--virtual-clock", (START.replace(hour=7)).isoformat())
    try:
        advance(second, seconds=3600)
        assert_complete_and_ordered(receiver, 4)
    finally:
        assert second.stop() == 0
