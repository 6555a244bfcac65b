"""Agentless voice end to end on the virtual clock: boto3 sets up profiles, a segment and agentless
telephony campaigns; the simulated carrier places the calls; each call's AnsweringMachineDetectionStatus
or DisconnectReason (seeds/001) comes back as its contact's outcome and disposition
(/_reachout/campaigns/{id}/contacts) and in its contact events, received through an EventBridge rule
with an HTTP target. The carrier itself is also driven directly: stages, idempotent placing, agents."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from reachout.channels.simulated import outcome_for
from reachout.channels.telephony import OutgoingCall, SimulatedTelephony
from reachout.store.db import open_database
from tests.support import DISPOSITIONS, RING_TIMEOUT, START, World, advance, agentless, records, route_to

NUMBERS = [f"+1212555{n:04d}" for n in range(100, 160)]
DIAL_FAILURES = {"OUTBOUND_DESTINATION_ENDPOINT_ERROR", "OUTBOUND_RESOURCE_ERROR", "OUTBOUND_ATTEMPT_FAILED", "EXPIRED"}
ANSWERED = {"HUMAN_ANSWERED", "VOICEMAIL_BEEP", "VOICEMAIL_NO_BEEP", "FAX_MACHINE_DETECTED", "AMD_UNRESOLVED",
            "AMD_ERROR"}


def instant(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_an_agentless_voice_campaign_places_calls_and_reports_their_amd_status(engine_server, receiver):
    world = World(engine_server)
    for number in NUMBERS:
        world.person("voice", PhoneNumber=number)
    route_to(engine_server, receiver)
    campaign_id = world.campaign(world.segment("voice"), agentless())

    advance(engine_server, seconds=3600)

    assert world.state(campaign_id) == "Completed"
    contacts = {c["id"]: c for c in records(engine_server, campaign_id, "contacts")}
    assert sorted(c["endpoint"] for c in contacts.values()) == NUMBERS
    for contact in contacts.values():
        assert contact["state"] == "completed" and contact["channel"] == "telephony"
        assert contact["disposition"] == DISPOSITIONS[contact["outcome"]], contact
    outcomes = {c["outcome"] for c in contacts.values()}
    assert outcomes >= {"HUMAN_ANSWERED", "VOICEMAIL_BEEP", "AMD_UNANSWERED", "SIT_TONE_BUSY",
                        "OUTBOUND_DESTINATION_ENDPOINT_ERROR"}

    events = defaultdict(list)
    for event in receiver.received:
        if event["detail-type"] == "Amazon Connect Contact Event":
            events[event["detail"]["contactId"]].append(event["detail"])
    assert set(events) == set(contacts)
    for contact_id, flow in events.items():
        contact = contacts[contact_id]
        outcome, started = contact["outcome"], datetime.fromisoformat(contact["dispatched_at"])
        assert {e["channel"] for e in flow} == {"VOICE"}
        assert instant(flow[0]["initiationTimestamp"]) == started
        ended = flow[-1]
        assert ended["eventType"] == "DISCONNECTED" and ended["disposition"] == outcome
        # The contact is completed the moment the call is disconnected.
        assert instant(ended["disconnectTimestamp"]) == datetime.fromisoformat(contact["completed_at"])
        if outcome in DIAL_FAILURES:  # no media: nothing connected, the reason says why
            assert [e["eventType"] for e in flow] == ["INITIATED", "DISCONNECTED"]
            assert ended["disconnectReason"] == outcome and "answeringMachineDetectionStatus" not in ended
            continue
        assert [e["eventType"] for e in flow] == ["INITIATED", "CONNECTED_TO_SYSTEM", "DISCONNECTED"], flow
        connected = flow[1]
        assert connected["answeringMachineDetectionStatus"] == ended["answeringMachineDetectionStatus"] == outcome
        assert "disconnectReason" not in ended
        assert ended["connectedToSystemTimestamp"] == connected["connectedToSystemTimestamp"]
        rang_for = instant(connected["connectedToSystemTimestamp"]) - started
        if outcome == "AMD_UNANSWERED":  # it rang (from 2 s after dialing) until the ringTimeout
            assert instant(ended["disconnectTimestamp"]) - started == timedelta(seconds=2 + RING_TIMEOUT)
        elif outcome in ANSWERED:  # picked up while ringing, then the call went on
            assert timedelta(seconds=2) < rang_for < timedelta(seconds=2 + RING_TIMEOUT)
            assert instant(ended["disconnectTimestamp"]) > instant(connected["connectedToSystemTimestamp"])


def test_the_same_numbers_get_the_same_calls_and_without_detection_an_answer_is_just_answered(engine_server):
    world = World(engine_server)
    for number in NUMBERS[:30]:
        world.person("twice", PhoneNumber=number)
    segment = world.segment("twice")
    detecting, not_detecting = world.campaign(segment, agentless(True)), world.campaign(segment, agentless(False))

    advance(engine_server, seconds=3600)

    with_detection = {c["endpoint"]: c["outcome"] for c in records(engine_server, detecting, "contacts")}
    without = {c["endpoint"]: c for c in records(engine_server, not_detecting, "contacts")}
    assert set(with_detection) == set(without) == set(NUMBERS[:30])
    for number, outcome in with_detection.items():
        # The carrier's draw depends on seed, number and attempt only: the same call both times,
        # except that nobody tells a person from a machine when detection is off.
        assert without[number]["outcome"] == ("AMD_DISABLED" if outcome in ANSWERED else outcome)
    assert "ANSWERED" in {c["disposition"] for c in without.values()}


def number_drawing(wanted: str) -> str:
    return next(n for n in (f"+1206555{i:04d}" for i in range(100, 1000)) if outcome_for(0, "telephony", n, 1) == wanted)


def call(call_id: str, number: str, ring_timeout: int = 60) -> OutgoingCall:
    return OutgoingCall(call_id, call_id, "campaign", "telephony", number, 1, detect_machines=True,
                        ring_timeout=ring_timeout)


def stages(carrier: SimulatedTelephony, call_id: str, at: datetime) -> list[str]:
    return [p.stage for p in carrier.progress([call_id], at)[call_id].progress]


def test_the_simulated_carrier_reports_each_stage_and_places_a_call_once(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'carrier.db'}")
    carrier = SimulatedTelephony(database, seed=0)
    person = number_drawing("HUMAN_ANSWERED")

    [receipt] = carrier.send([call("c1", person)], START)
    assert (receipt.outcome, receipt.outcome_at) == ("DIALING", START + timedelta(seconds=2))
    # Handed over again after a crash: the same call, not a second one.
    assert carrier.send([call("c1", person)], START + timedelta(seconds=9)) == [receipt]

    state = carrier.progress(["c1", "never-placed"], START + timedelta(hours=1))
    assert list(state) == ["c1"] and state["c1"].next_at is None
    ringing, answered, ended = state["c1"].progress
    assert (ringing.stage, answered.stage, ended.stage) == ("RINGING", "ANSWERED", "DISCONNECTED")
    assert answered.amd_status == ended.amd_status == "HUMAN_ANSWERED" and ended.disconnect_reason is None
    assert ringing.at < answered.at < ended.at
    # Asked in between, it tells only what has happened and when to ask again.
    assert stages(carrier, "c1", START + timedelta(seconds=1)) == []
    middle = carrier.progress(["c1"], ringing.at)["c1"]
    assert [p.stage for p in middle.progress] == ["RINGING"] and middle.next_at == answered.at

    # The same seed draws the same call in another carrier.
    elsewhere = SimulatedTelephony(open_database(f"sqlite:///{tmp_path / 'other.db'}"), seed=0)
    elsewhere.send([call("c1", person)], START)
    assert elsewhere.progress(["c1"], START + timedelta(hours=1)) == state

    # A live, answered call can be bridged to an agent (once), which keeps it going; then hung up.
    carrier.send([call("c2", person)], START)
    talking = carrier.progress(["c2"], START + timedelta(hours=1))["c2"].progress[1].at
    assert not carrier.connect_to_agent("c2", "arn:agent/1", talking - timedelta(seconds=1))  # still ringing
    assert carrier.connect_to_agent("c2", "arn:agent/1", talking)
    assert not carrier.connect_to_agent("c2", "arn:agent/2", talking)
    bridged = carrier.progress(["c2"], talking)["c2"]
    assert bridged.progress[-1].stage == "CONNECTED_TO_AGENT" and bridged.progress[-1].agent_arn == "arn:agent/1"
    assert bridged.next_at >= talking + timedelta(seconds=60)
    assert carrier.disconnect("c2", talking + timedelta(seconds=5))
    assert not carrier.disconnect("c2", talking + timedelta(seconds=6))
    assert stages(carrier, "c2", START + timedelta(hours=1)) == ["RINGING", "ANSWERED", "CONNECTED_TO_AGENT",
                                                                   "DISCONNECTED"]

    # Hung up while still ringing: nobody answered.
    carrier.send([call("c3", person)], START)
    assert carrier.disconnect("c3", START + timedelta(seconds=3))
    [rang, hung_up] = carrier.progress(["c3"], START + timedelta(hours=1))["c3"].progress
    assert (rang.stage, hung_up.stage, hung_up.amd_status) == ("RINGING", "DISCONNECTED", "AMD_UNANSWERED")

    # Hung up before it even rang: no media to detect.
    carrier.send([call("c3b", person)], START)
    assert carrier.disconnect("c3b", START + timedelta(seconds=1))
    [dropped] = carrier.progress(["c3b"], START + timedelta(hours=1))["c3b"].progress
    assert (dropped.stage, dropped.at, dropped.amd_status) == ("DISCONNECTED", START + timedelta(seconds=1),
                                                               "AMD_NOT_APPLICABLE")

    # Whoever would pick up after the ringTimeout never does: the same people, called with 60 s and
    # with 15 s of ringing.
    people = [n for n in (f"+1206555{i:04d}" for i in range(100, 400))
              if outcome_for(0, "telephony", n, 1) == "HUMAN_ANSWERED"]
    carrier.send([call(f"long-{n}", n) for n in people] + [call(f"short-{n}", n, 15) for n in people], START)
    later = START + timedelta(hours=1)
    seen = set()
    for n in people:
        [rang, picked_up, _] = carrier.progress([f"long-{n}"], later)[f"long-{n}"].progress
        short = carrier.progress([f"short-{n}"], later)[f"short-{n}"].progress
        if picked_up.at - rang.at >= timedelta(seconds=15):
            assert [p.stage for p in short] == ["RINGING", "DISCONNECTED"]
            assert (short[-1].amd_status, short[-1].at) == ("AMD_UNANSWERED", rang.at + timedelta(seconds=15))
        else:
            assert short[1] == picked_up
        seen.add(short[-1].amd_status)
    assert seen == {"HUMAN_ANSWERED", "AMD_UNANSWERED"}

    # A dial attempt whose media connection failed reports only its DisconnectReason.
    carrier.send([call("c5", number_drawing("OUTBOUND_ATTEMPT_FAILED"))], START)
    [failed] = carrier.progress(["c5"], START + timedelta(hours=1))["c5"].progress
    assert (failed.stage, failed.amd_status, failed.disconnect_reason) == ("DISCONNECTED", None,
                                                                            "OUTBOUND_ATTEMPT_FAILED")
    database.dispose()
