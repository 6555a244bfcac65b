"""Compliance regimes (reachout.domain.regime): the abandon rate against a plain recount from the
contact events, windows against a plain check of both windows, caps and blocks against a plain
scan of the instants."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reachout.domain.contact_event import contact_event
from reachout.domain.errors import DomainError
from reachout.domain.regime import (ABANDONED, FL, LIVE, MACHINE, OK, REGIME_TAG, REGIMES, UK, US, CallRecord,
                                    call_records, regime_from_tags)
from reachout.domain.window import Window
from tests.support import ANCHORS, ZONES, windows

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
AGENT = "arn:aws:connect:us-east-1:123456789012:instance/inst/agent/a1"
WHERE = {"instance_id": "inst", "account": "123456789012", "region": "us-east-1"}

# What can become of a dialled call, and the AMD status its events carry (None: never answered).
COURSES = {
    "no_answer": "AMD_UNANSWERED", "busy": "SIT_TONE_BUSY", "failed": None,
    "person_to_agent": "HUMAN_ANSWERED", "person_abandoned": "HUMAN_ANSWERED",
    "machine_detected": "VOICEMAIL_BEEP", "machine_no_beep": "VOICEMAIL_NO_BEEP",
    "machine_missed_to_agent": "HUMAN_ANSWERED",    # AMD took a machine for a person
    "person_taken_for_machine": "VOICEMAIL_NO_BEEP",  # an AMD false positive: hung up on
    "person_hangs_up_waiting": "HUMAN_ANSWERED",    # gone before any agent: abandoned all the same
}


@st.composite
def calls(draw):
    """Dialled calls: campaign, dial instant (whole milliseconds), course, AMD on or off."""
    out = []
    for i in range(draw(st.integers(0, 60))):
        out.append({"id": f"c{i}", "campaign": draw(st.sampled_from(("camp-a", "camp-b"))),
                    "at": START + timedelta(milliseconds=draw(st.integers(0, 40 * 86_400_000))),
                    "course": draw(st.sampled_from(sorted(COURSES))), "amd": draw(st.booleans()),
                    "answer": draw(st.integers(2_000, 30_000)), "wait": draw(st.integers(100, 2_000)),
                    "talk": draw(st.integers(1_000, 600_000)), "api": draw(st.booleans())})
    return out


def events_of(call: dict) -> list[dict]:
    """The call's contact events, in the shapes the engine emits (engine/notify.py `_call_events`)."""
    course, amd = call["course"], call["amd"]
    status = COURSES[course]
    contact = {"id": call["id"], "channel": "telephony", "system_endpoint": "+15550100", "dispatched_at": call["at"]}
    # `api`: events that leave the AMD status out with detection off (Connect API contacts do)
    where = {**WHERE, "campaign_id": call["campaign"], "amd": amd or not call["api"]}
    if status is None:
        return [contact_event("DISCONNECTED", contact=contact, outcome="OUTBOUND_ATTEMPT_FAILED",
                              at=call["at"], **where)]
    if not amd and status not in ("AMD_UNANSWERED", "SIT_TONE_BUSY"):
        status = "AMD_DISABLED"   # detection off: whoever answered is put through
        if course in ("machine_detected", "machine_no_beep", "person_taken_for_machine"):
            course = "person_to_agent"
    answered = call["at"] + timedelta(milliseconds=call["answer"])
    events = [contact_event("CONNECTED_TO_SYSTEM", contact=contact, amd_status=status, at=answered, **where)]
    end = answered + timedelta(milliseconds=call["wait"])
    if course in ("person_to_agent", "machine_missed_to_agent"):
        events.append(contact_event("CONNECTED_TO_AGENT", contact=contact, amd_status=status, agent_arn=AGENT,
                                    at=end, **where))
        end += timedelta(milliseconds=call["talk"])
    events.append(contact_event("DISCONNECTED", contact=contact, outcome=status, amd_status=status,
                                connected_at=answered, at=end, **where))
    return events


def recount(events: list[dict], campaign: str, since: datetime, now: datetime, fp: float) -> float:
    """The plain recount: live-answered contacts (CONNECTED_TO_SYSTEM, a person or detection off) of
    the campaign answered in (since, now]; abandoned, those that disconnected with no agent."""
    answered, status, agent, gone = {}, {}, set(), set()
    for e in events:
        d = e["detail"]
        if d.get("campaign", {}).get("campaignId") != campaign:
            continue
        if d["eventType"] == "CONNECTED_TO_SYSTEM":
            answered[d["contactId"]] = datetime.strptime(d["connectedToSystemTimestamp"],
                                                         "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        if d["eventType"] == "CONNECTED_TO_AGENT":
            agent.add(d["contactId"])
        if d["eventType"] == "DISCONNECTED":
            gone.add(d["contactId"])
            status.setdefault(d["contactId"], d.get("disposition"))
        if d.get("answeringMachineDetectionStatus"):
            status[d["contactId"]] = d["answeringMachineDetectionStatus"]
    live = {c for c, at in answered.items() if since < at <= now
            and status.get(c) in (None, "HUMAN_ANSWERED", "AMD_DISABLED")}
    if not live:
        return 0.0
    with_amd = sum(1 for c in live if status.get(c) == "HUMAN_ANSWERED")
    return (len((live & gone) - agent) + fp * with_amd) / len(live)


@settings(max_examples=150, deadline=None)
@given(calls(), st.sampled_from(sorted(REGIMES)), st.integers(0, 45 * 86_400), st.randoms(use_true_random=False))
def test_abandon_rate_equals_a_recount_of_the_contact_events(dialled, name, offset, shuffle):
    """Whatever the calls' courses, the regime's rate from the events (delivered in any order, some
    twice) equals a plain recount, per campaign, over the regime's period."""
    regime = REGIMES[name]
    events = [e for call in dialled for e in events_of(call)]
    events += shuffle.sample(events, len(events) // 3)       # at-least-once delivery
    shuffle.shuffle(events)                                   # and in any order
    now = START + timedelta(seconds=offset)
    for campaign in ("camp-a", "camp-b"):
        product = regime.abandon_rate(call_records(events, campaign), now)
        expected = recount(events, campaign, now - regime.abandon_period, now, regime.amd_false_positive)
        assert product == pytest.approx(expected, abs=1e-12)
        # and the ground truth of the courses, as the contact centre could see them
        mine = [c for c in dialled if c["campaign"] == campaign and COURSES[c["course"]] is not None
                and now - regime.abandon_period < c["at"] + timedelta(milliseconds=c["answer"]) <= now]
        live = [c for c in mine if (not c["amd"] and COURSES[c["course"]] not in ("AMD_UNANSWERED", "SIT_TONE_BUSY"))
                or COURSES[c["course"]] == "HUMAN_ANSWERED"]
        lost = [c for c in live if c["course"] in ("person_abandoned", "person_hangs_up_waiting")]
        truth = ((len(lost) + regime.amd_false_positive * sum(c["amd"] for c in live)) / len(live)) if live else 0.0
        assert product == pytest.approx(truth, abs=1e-12)


def test_uk_counts_the_false_positive_estimate_and_us_thirty_days():
    now = START + timedelta(days=40)
    records = [CallRecord(now - timedelta(hours=1), LIVE)] * 97 + [CallRecord(now - timedelta(hours=2), ABANDONED)] * 3
    records += [CallRecord(now - timedelta(hours=3), MACHINE)] * 50
    assert US.abandon_rate(records, now) == pytest.approx(0.03)
    assert US.within_limit(records, now)
    assert UK.abandon_rate(records, now) == pytest.approx(0.04)       # 3% + 1% estimate
    assert not UK.within_limit(records, now)
    old = [CallRecord(now - timedelta(days=31), ABANDONED)] * 10
    assert US.abandon_rate(records + old, now) == pytest.approx(0.03)
    assert UK.abandon_rate(records + [CallRecord(now - timedelta(hours=25), ABANDONED)], now) == pytest.approx(0.04)
    assert US.abandon_rate([], now) == 0.0


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(REGIMES)),
       records=st.lists(st.tuples(st.integers(0, 4 * 96), st.sampled_from((LIVE, ABANDONED, MACHINE)), st.booleans()),
                        max_size=40),
       start=st.integers(0, 5 * 96), span=st.integers(0, 3 * 96))
def test_worst_rate_over_any_period_is_the_highest_of_a_plain_scan(name, records, start, span):
    """Records on a quarter-hour grid: the rate can only change on it, so scanning every quarter
    hour from start to end finds the worst period."""
    regime = REGIMES[name]
    quarter = timedelta(minutes=15)
    calls = [CallRecord(START + q * quarter, outcome, amd) for q, outcome, amd in records]
    begin, end = START + start * quarter, START + (start + span) * quarter
    scan = max(regime.abandon_rate(calls, begin + k * quarter) for k in range(span + 1))
    assert regime.worst_abandon_rate(calls, begin, end) == pytest.approx(scan, abs=1e-12)


# -- windows --------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(config=st.none() | windows(), name=st.sampled_from(sorted(REGIMES)), zone=st.sampled_from(ZONES),
       anchor=st.sampled_from(ANCHORS), shift=st.integers(-20_000, 20_000))
def test_window_is_open_exactly_when_both_are(config, name, zone, anchor, shift):
    regime = REGIMES[name]
    campaign = Window.from_config(config) if config else None
    window = regime.window(campaign)
    instant = (anchor + timedelta(minutes=shift)).replace(tzinfo=timezone.utc)
    tz = ZoneInfo(zone)
    local = instant.astimezone(tz)
    minute = local.hour * 60 + local.minute
    in_regime = regime.hours is None or regime.hours[0] <= minute < regime.hours[1]
    in_campaign = campaign is None or campaign.is_open_in(instant, tz)
    if window is None:
        assert regime.hours is None and campaign is None
    else:
        assert window.is_open_in(instant, tz) == (in_regime and in_campaign)


def test_regime_hours():
    assert US.hours == (8 * 60, 21 * 60) and FL.hours == OK.hours == (8 * 60, 20 * 60) and UK.hours is None
    window = FL.window(None)
    ny = ZoneInfo("America/New_York")
    assert window.is_open_in(datetime(2026, 6, 1, 19, 59, tzinfo=ny), ny)
    assert not window.is_open_in(datetime(2026, 6, 1, 20, 0, tzinfo=ny), ny)
    assert not window.is_open_in(datetime(2026, 6, 1, 7, 59, tzinfo=ny), ny)


# -- caps and blocks --------------------------------------------------------------------------------
def allowed(regime, calls, abandons, at, amd) -> bool:
    """Plain check of one instant: the calls in the last cap period, the abandons in the block."""
    if regime.calls_per_subject is not None:
        if sum(1 for t in calls if at - regime.cap_period < t <= at) >= regime.calls_per_subject:
            return False
    if amd and regime.no_amd_after_abandon is not None:
        if any(at - regime.no_amd_after_abandon < t <= at for t in abandons):
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(REGIMES)), amd=st.booleans(),
       calls=st.lists(st.integers(0, 5 * 86_400), max_size=12), abandons=st.lists(st.integers(0, 5 * 86_400), max_size=3),
       offset=st.integers(0, 6 * 86_400))
def test_hold_defers_to_the_first_allowed_instant(name, amd, calls, abandons, offset):
    regime = REGIMES[name]
    calls = [START + timedelta(seconds=s) for s in calls]
    abandons = [START + timedelta(seconds=s) for s in abandons]
    now = START + timedelta(seconds=offset)
    calls_so_far = [t for t in calls if t <= now]       # a hold looks at the past only
    abandons_so_far = [t for t in abandons if t <= now]
    due, reason = regime.hold(calls_so_far, abandons_so_far, now, amd=amd)
    if due is None:
        assert reason is None and allowed(regime, calls_so_far, abandons_so_far, now, amd)
        return
    assert reason.startswith("deferred: the ") and due.isoformat() in reason
    assert due > now and not allowed(regime, calls_so_far, abandons_so_far, now, amd)
    assert allowed(regime, calls_so_far, abandons_so_far, due, amd)
    # no earlier instant: every candidate where a rule could free up, before due, is still blocked
    candidates = [t + regime.cap_period for t in calls_so_far] + [
        t + regime.no_amd_after_abandon for t in abandons_so_far if regime.no_amd_after_abandon]
    for t in candidates:
        if now <= t < due:
            assert not allowed(regime, calls_so_far, abandons_so_far, t, amd)
    assert not allowed(regime, calls_so_far, abandons_so_far, due - timedelta(microseconds=1), amd)


def test_florida_fourth_call_waits_for_the_first_to_age():
    first = START
    calls = [first, first + timedelta(hours=1), first + timedelta(hours=2)]
    due, reason = FL.hold(calls, [], first + timedelta(hours=3))
    assert due == first + timedelta(hours=24)
    assert reason == ("deferred: the Florida regime allows at most 3 calls per 24 h to a recipient; the next is "
                      f"allowed at {due.isoformat()}")
    assert US.hold(calls, [], first + timedelta(hours=3)) == (None, None)


def test_uk_no_amd_redial_within_72_hours_of_an_abandon():
    abandon = START
    due, reason = UK.hold([abandon], [abandon], abandon + timedelta(hours=5))
    assert due == abandon + timedelta(hours=72) and "answering machine detection" in reason
    assert UK.hold([abandon], [abandon], abandon + timedelta(hours=5), amd=False) == (None, None)
    assert UK.hold([abandon], [abandon], abandon + timedelta(hours=72)) == (None, None)


def test_regime_from_tags():
    assert regime_from_tags({}) is None
    assert regime_from_tags({REGIME_TAG: "FL", "team": "x"}) is FL
    with pytest.raises(DomainError, match="names no compliance regime"):
        regime_from_tags({REGIME_TAG: "XX"})


def test_unordered_duplicated_events_give_the_same_records():
    dialled = [{"id": f"c{i}", "campaign": "camp-a", "at": START + timedelta(minutes=i), "course": course,
                "amd": True, "answer": 5000, "wait": 500, "talk": 60000, "api": False}
               for i, course in enumerate(sorted(COURSES))]
    events = [e for call in dialled for e in events_of(call)]
    shuffled = events + events[:5]
    random.Random(7).shuffle(shuffled)
    key = lambda r: (r.at, r.outcome)  # noqa: E731
    assert sorted(call_records(events), key=key) == sorted(call_records(shuffled), key=key)
    outcomes = sorted(r.outcome for r in call_records(events))
    assert outcomes == sorted([LIVE, ABANDONED, MACHINE, MACHINE, LIVE, ABANDONED, MACHINE])
