"""Event-pattern matching: contact events per second against 1, 100, 1,000 and 10,000 rules, through the
compiled PatternIndex and through the plain reference matcher (one rule at a time) in the same run.

    .venv/bin/python benchmarks/patterns.py [--rules 1,100,1000,10000] [--events 5000] [--seconds 2]

Events are Amazon Connect contact events (the envelope and detail fields of seeds/001: eventType,
channel, instanceArn, campaign.campaignId, agentInfo, queueInfo, routingCriteria steps, tags...) for a
pool of campaigns that grows with the rule count; rules are what a Reachout user writes: the
"everything but CONTACT_DATA_UPDATED" stream, and per campaign outcome rules (exact source and
detail-type, eventType exact lists or anything-but, channel, campaignId, a prefix on the instance ARN,
a numeric range on a routing step's duration, exists on agentInfo, $or). Rates are per second of CPU
time (wall clock shown beside). The reference stops after --seconds of work and its rate is
extrapolated from the rule evaluations it finished; the table says so. Both must agree on every event
the reference finished. It asserts nothing; the target is 50,000 events/s at 1,000 rules.
"""
from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
import uuid

from reachout.events.pattern import PatternIndex
from reachout.events.reference import ReferencePattern, leaves

SEED = 20260105
ACCOUNT = "111122223333"
REGION = "us-east-1"
INSTANCES = [str(uuid.UUID(int=random.Random(i).getrandbits(128))) for i in range(6)]
EVENT_TYPES = ["INITIATED", "CONNECTED_TO_SYSTEM", "QUEUED", "CONNECTED_TO_AGENT", "DISCONNECTED",
               "CONTACT_DATA_UPDATED"]
AMD = ["HUMAN_ANSWERED", "VOICEMAIL_BEEP", "VOICEMAIL_NO_BEEP", "AMD_UNANSWERED", "SIT_TONE_BUSY", "AMD_ERROR"]
CHANNELS = ["VOICE", "VOICE", "VOICE", "CHAT", "TASK"]
ENVELOPE = {"source": ["aws.connect"], "detail-type": ["Amazon Connect Contact Event"]}


def instance_arn(instance: str) -> str:
    return f"arn:aws:connect:{REGION}:{ACCOUNT}:instance/{instance}"


def contact_event(rng: random.Random, campaigns: list[str]) -> dict:
    instance, contact = rng.choice(INSTANCES), str(uuid.UUID(int=rng.getrandbits(128)))
    arn = instance_arn(instance)
    event_type, channel = rng.choice(EVENT_TYPES), rng.choice(CHANNELS)
    detail: dict = {
        "eventType": event_type, "contactId": contact, "initialContactId": contact, "channel": channel,
        "instanceArn": arn, "initiationMethod": rng.choice(["OUTBOUND", "API", "INBOUND"]),
        "initiationTimestamp": "2026-01-05T14:00:00.000Z", "connectedToSystemTimestamp": "2026-01-05T14:00:02.000Z",
        "campaign": {"campaignId": rng.choice(campaigns)},
        "queueInfo": {"queueType": "STANDARD", "queueArn": f"{arn}/queue/{INSTANCES[0]}",
                      "enqueueTimestamp": "2026-01-05T14:00:03.000Z"},
        "tags": {"aws:connect:instanceId": instance, "aws:connect:systemEndpoint": "+12065550100"},
    }
    if event_type in ("CONNECTED_TO_AGENT", "DISCONNECTED") and rng.random() < 0.7:
        detail["agentInfo"] = {"agentArn": f"{arn}/agent/{INSTANCES[1]}",
                               "connectedToAgentTimestamp": "2026-01-05T14:00:09.000Z",
                               "hierarchyGroups": {"level1": {"arn": f"{arn}/agent-group/{INSTANCES[2]}"}}}
    if channel == "VOICE" and event_type in ("CONNECTED_TO_SYSTEM", "DISCONNECTED"):
        detail["answeringMachineDetectionStatus"] = rng.choice(AMD)
    if event_type == "DISCONNECTED":
        detail["disconnectTimestamp"] = "2026-01-05T14:03:37.000Z"
        if rng.random() < 0.2:
            detail["disconnectReason"] = rng.choice(["OUTBOUND_ATTEMPT_FAILED", "EXPIRED"])
    if event_type in ("QUEUED", "CONNECTED_TO_AGENT"):
        detail["routingCriteria"] = {"index": 0, "activationTimestamp": "2026-01-05T14:00:03.000Z", "steps": [
            {"status": rng.choice(["ACTIVE", "EXPIRED", "JOINED"]),
             "expiry": {"durationInSeconds": rng.choice([10, 30, 60, 120, 300])},
             "expression": {"attributeCondition": {"name": "Language", "value": "Spanish", "proficiencyLevel": 3.0,
                                                   "comparisonOperator": "NumberGreaterOrEqualTo"}}}
            for _ in range(rng.randint(1, 3))]}
    return {"version": "0", "id": str(uuid.UUID(int=rng.getrandbits(128))),
            "detail-type": "Amazon Connect Contact Event", "source": "aws.connect", "account": ACCOUNT,
            "time": "2026-01-05T14:03:37Z", "region": REGION, "resources": [f"{arn}/contact/{contact}", arn],
            "detail": detail}


def campaign_rule(rng: random.Random, campaign: str) -> dict:
    """One of the rules a user writes for one campaign."""
    scoped = {"campaign": {"campaignId": [campaign]}}
    kind = rng.randrange(7)
    if kind == 0:
        detail = {**scoped, "eventType": rng.sample(EVENT_TYPES[:5], rng.randint(1, 3))}
    elif kind == 1:
        detail = {**scoped, "eventType": [{"anything-but": ["CONTACT_DATA_UPDATED", rng.choice(EVENT_TYPES[:3])]}]}
    elif kind == 2:
        detail = {**scoped, "channel": ["VOICE"], "answeringMachineDetectionStatus": rng.sample(AMD, 2)}
    elif kind == 3:
        detail = {**scoped, "instanceArn": [{"prefix": instance_arn(rng.choice(INSTANCES))}],
                  "eventType": ["DISCONNECTED"]}
    elif kind == 4:
        detail = {**scoped, "routingCriteria": {"steps": {"expiry": {"durationInSeconds": [
            {"numeric": [">=", rng.choice([30, 60, 120])]}]}}}}
    elif kind == 5:
        detail = {**scoped, "eventType": ["CONNECTED_TO_AGENT", "DISCONNECTED"],
                  "agentInfo": {"agentArn": [{"exists": rng.random() < 0.7}]}}
    else:
        detail = {**scoped, "$or": [{"disconnectReason": [{"exists": True}]},
                                    {"answeringMachineDetectionStatus": ["VOICEMAIL_BEEP", "VOICEMAIL_NO_BEEP"]}]}
    return {**ENVELOPE, "detail": detail}


GLOBAL_RULES = [  # rules that see every campaign: the seed's sample, and one per instance
    {**ENVELOPE, "detail": {"eventType": [{"anything-but": ["CONTACT_DATA_UPDATED"]}]}},
    {"detail": {"instanceArn": [{"prefix": instance_arn(INSTANCES[0])}], "channel": ["VOICE"]}},
    {"source": ["aws.connect"], "detail": {"eventType": ["DISCONNECTED"], "disconnectReason": [{"exists": True}]}},
]


def rules_for(count: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """`count` rule patterns and the campaigns they mention (about six rules per campaign)."""
    campaigns = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(max(1, count // 6))]
    patterns = [json.dumps(p) for p in GLOBAL_RULES[:count]]
    while len(patterns) < count:
        patterns.append(json.dumps(campaign_rule(rng, rng.choice(campaigns))))
    return patterns, campaigns


def time_index(index: PatternIndex, events: list[dict], seconds: float) -> tuple[float, float, float]:
    """(events per CPU second, events per wall-clock second, matches per event) over whole passes
    through `events`."""
    for event in events[:200]:  # warm up: compiles the machine's nodes
        index.matching(event)
    done, found, wall, cpu = 0, 0, time.perf_counter(), time.process_time()
    while True:
        for event in events:
            found += len(index.matching(event))
        done += len(events)
        if time.process_time() - cpu >= seconds:
            return done / (time.process_time() - cpu), done / (time.perf_counter() - wall), found / done


def time_reference(patterns: list[ReferencePattern], events: list[dict], index: PatternIndex,
                   seconds: float) -> tuple[float, bool, int]:
    """(events per second, whether extrapolated, disagreements with the index). Stops after `seconds`;
    the rate then comes from the rule evaluations done (events/s = evaluations/s / rules)."""
    evaluations, disagreements, started = 0, 0, time.process_time()
    for event in events:
        event_leaves, matched = leaves(event), set()
        for rule_id, pattern in enumerate(patterns):
            if pattern.matches_leaves(event_leaves):
                matched.add(rule_id)
            evaluations += 1
            if time.process_time() - started >= seconds:
                return evaluations / (time.process_time() - started) / len(patterns), True, disagreements
        disagreements += matched != index.matching(event)
        if time.process_time() - started >= seconds:
            break
    return evaluations / (time.process_time() - started) / len(patterns), False, disagreements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", default="1,100,1000,10000", help="comma-separated rule counts")
    parser.add_argument("--events", type=int, default=5000, help="distinct events per rule count")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, {args.events} contact events per row, "
          f"{args.seconds:g} s per measurement", file=sys.stderr)
    rows = []
    for count in (int(c) for c in args.rules.split(",")):
        rng = random.Random(SEED + count)
        patterns, campaigns = rules_for(count, rng)
        events = [contact_event(rng, campaigns) for _ in range(args.events)]
        index = PatternIndex()
        started = time.perf_counter()
        for rule_id, pattern in enumerate(patterns):
            index.add(rule_id, pattern)
        index.matching(events[0])  # the first match compiles the nodes
        build = time.perf_counter() - started
        compiled, wall, per_event = time_index(index, events, args.seconds)
        reference, extrapolated, disagreements = time_reference(
            [ReferencePattern(p) for p in patterns], events, index, args.seconds)
        rows.append((count, build, compiled, wall, reference, extrapolated, per_event, disagreements))
        print(f"  {count} rules done", file=sys.stderr)

    header = ("rules", "build s", "compiled events/s", "(wall clock)", "reference events/s", "speed-up",
              "matches/event", "disagreements")
    table = [header] + [
        (f"{count:,}", f"{build:.2f}", f"{compiled:,.0f}", f"{wall:,.0f}",
         f"{reference:,.1f}" + (" *" if extrapolated else ""), f"{compiled / reference:,.0f}x", f"{per_event:.2f}",
         str(disagreements))
        for count, build, compiled, wall, reference, extrapolated, per_event, disagreements in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("| " + " | ".join(cell.rjust(width) for cell, width in zip(row, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    print("events/s are per second of this process's CPU time (wall clock beside it: on a shared machine "
          "it also counts time spent waiting for a CPU)")
    if any(row[5] for row in rows):
        print(f"* the reference was stopped after {args.seconds:g} s; its rate is extrapolated from the rule "
              "evaluations it finished (events/s = evaluations/s / rules)")
    print("disagreements: events the reference finished where its matches differ from the index's")


if __name__ == "__main__":
    main()
