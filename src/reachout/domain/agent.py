"""Agents the Connect way: an agent's status (what the agent chose with PutUserStatus) and activity
(what the dialer has the agent doing), the legal moves between activities, and the real-time
metrics counted from them.

Status: ROUTABLE (Available) statuses take contacts; OFFLINE means logged out; CUSTOM statuses
(Break, Lunch, ...) are online but take no new contacts. A status set while the agent is on a
contact is its next status, taken up when it is IDLE again.

Activity, one contact at a time (voice):
    IDLE -> OFFERED    a contact is offered (preview) or ringing through to the agent
    IDLE -> CONNECTED  a contact is put straight through (auto-accept)
    OFFERED -> CONNECTED   accepted
    OFFERED -> IDLE        skipped, rejected or timed out
    CONNECTED -> ACW       the call ended; after-contact work
    CONNECTED -> IDLE      the call ended with no after-contact work
    ACW -> IDLE            after-contact work done
A new contact reaches only an agent whose status is routable; the contact stays the same from
OFFERED through ACW. Recording the activity the agent already has, with the same contact, changes
nothing (a retried step after a crash).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from reachout.domain.errors import DomainError, InvalidState

ROUTABLE, CUSTOM, OFFLINE = "ROUTABLE", "CUSTOM", "OFFLINE"
# The statuses Connect gives every instance: (name, type, description, display order).
DEFAULT_STATUSES = (("Available", ROUTABLE, "Agent is available to take contacts", 1),
                    ("Offline", OFFLINE, "Agent is offline", 2))
OFFLINE_NAME = DEFAULT_STATUSES[1][0]  # every new user's status

IDLE, OFFERED, CONNECTED, ACW = "IDLE", "OFFERED", "CONNECTED", "ACW"
ACTIVITIES = (IDLE, OFFERED, CONNECTED, ACW)
TRANSITIONS = {IDLE: {OFFERED, CONNECTED}, OFFERED: {CONNECTED, IDLE}, CONNECTED: {ACW, IDLE}, ACW: {IDLE}}

# The agent's side of its contact, in GetCurrentUserData's ContactState terms.
CONTACT_STATE = {OFFERED: "CONNECTING", CONNECTED: "CONNECTED", ACW: "ENDED"}


def routable(status_type: str) -> bool:
    return status_type == ROUTABLE


@dataclass(frozen=True)
class Agent:
    """A user as the dialer sees it."""
    user_id: str
    activity: str
    contact_id: str | None
    activity_since: datetime
    status_since: datetime


def check_activity_change(status_type: str, activity: str, contact_id: str | None, new_activity: str,
                          new_contact_id: str | None) -> bool:
    """Whether recording (new_activity, new_contact_id) changes anything; raises InvalidState when the
    move is not a legal one."""
    if new_activity not in ACTIVITIES:
        raise DomainError(f"Activity must be one of {', '.join(ACTIVITIES)}, not {new_activity}")
    if (new_activity == IDLE) != (new_contact_id is None):
        raise DomainError("An IDLE agent has no contact; OFFERED, CONNECTED and ACW agents have one"
                          if new_activity == IDLE else f"An agent in {new_activity} needs the contact's id")
    if (activity, contact_id) == (new_activity, new_contact_id):
        return False
    if new_activity not in TRANSITIONS[activity]:
        raise InvalidState(activity, f"An agent in {activity} cannot move to {new_activity}")
    if activity == IDLE and not routable(status_type):
        raise InvalidState(activity, f"An agent whose status is {status_type} takes no contacts")
    if activity != IDLE and new_activity != IDLE and new_contact_id != contact_id:
        raise InvalidState(activity, f"The agent is on contact {contact_id}, not {new_contact_id}")
    return True


# --- real-time metrics -------------------------------------------------------------------------
COUNT_METRICS = ("AGENTS_ONLINE", "AGENTS_AVAILABLE", "AGENTS_ON_CALL", "AGENTS_NON_PRODUCTIVE",
                 "AGENTS_AFTER_CONTACT_WORK", "AGENTS_ERROR", "AGENTS_STAFFED", "CONTACTS_IN_QUEUE",
                 "CONTACTS_SCHEDULED", "AGENTS_ON_CONTACT", "SLOTS_ACTIVE", "SLOTS_AVAILABLE")
SECONDS_METRICS = ("OLDEST_CONTACT_AGE",)


@dataclass(frozen=True)
class Seat:
    """One user's place in one queue on one channel (through its routing profile), with its state."""
    user_id: str
    routing_profile_id: str
    queue_id: str
    channel: str
    concurrency: int  # the routing profile's concurrency on this channel
    status_id: str
    status_type: str
    activity: str


@dataclass(frozen=True)
class Waiting:
    """A contact waiting in a queue."""
    queue_id: str
    channel: str
    enqueued_at: datetime


def agent_counts(seats: Iterable[Seat]) -> dict[str, int]:
    """The agent metrics over a set of seats; an agent holding several seats counts once (its slots
    count once per channel). Activities are voice contacts."""
    by_user: dict[str, list[Seat]] = {}
    for seat in seats:
        by_user.setdefault(seat.user_id, []).append(seat)
    counts = dict.fromkeys(("AGENTS_ONLINE", "AGENTS_AVAILABLE", "AGENTS_ON_CONTACT", "AGENTS_NON_PRODUCTIVE",
                            "AGENTS_AFTER_CONTACT_WORK", "AGENTS_ERROR", "AGENTS_STAFFED", "SLOTS_ACTIVE",
                            "SLOTS_AVAILABLE"), 0)
    for user_seats in by_user.values():
        first = user_seats[0]
        online = first.status_type != OFFLINE
        busy = first.activity != IDLE
        counts["AGENTS_ONLINE"] += online
        counts["AGENTS_AVAILABLE"] += routable(first.status_type) and not busy
        counts["AGENTS_ON_CONTACT"] += first.activity in (OFFERED, CONNECTED)
        counts["AGENTS_AFTER_CONTACT_WORK"] += first.activity == ACW
        counts["AGENTS_NON_PRODUCTIVE"] += first.status_type == CUSTOM and not busy
        counts["AGENTS_STAFFED"] += routable(first.status_type) or (online and busy)
        for channel, concurrency in {seat.channel: seat.concurrency for seat in user_seats}.items():
            active = int(busy and channel == "VOICE")
            counts["SLOTS_ACTIVE"] += active
            counts["SLOTS_AVAILABLE"] += max(concurrency - active, 0) if routable(first.status_type) and not busy \
                else 0
    counts["AGENTS_ON_CALL"] = counts["AGENTS_ON_CONTACT"]
    return counts


def queue_counts(waiting: Iterable[Waiting], now: datetime) -> dict[str, float]:
    """Contacts waiting, and the age in seconds of the one waiting longest. (No callbacks are ever
    scheduled.)"""
    waiting = list(waiting)
    oldest = min((w.enqueued_at for w in waiting), default=None)
    return {"CONTACTS_IN_QUEUE": len(waiting), "CONTACTS_SCHEDULED": 0,
            "OLDEST_CONTACT_AGE": 0 if oldest is None else int((now - oldest).total_seconds())}


DIMENSION_OF = {"QUEUE": "queue_id", "ROUTING_PROFILE": "routing_profile_id", "CHANNEL": "channel",
                "AGENT_STATUS": "status_id"}
METRIC_CHANNELS = ("VOICE", "CHAT", "TASK")  # the channels real-time metrics cover


@dataclass(frozen=True)
class MetricFilter:
    """GetCurrentMetricData's filters, resolved to ids; None: no filter on that dimension."""
    queues: frozenset[str] | None = None
    routing_profiles: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    statuses: frozenset[str] | None = None


def current_metrics(seats: list[Seat], waiting: list[Waiting], profile_queues: dict[str, set[str]],
                    groupings: list[str], where: MetricFilter, now: datetime) -> list[tuple[dict, dict]]:
    """(group, metrics) per group: `group` maps each grouping to its value. A group appears when
    something is in it, or when each of its values was named in a filter (a queue asked for is
    reported even when nobody is in it)."""
    def admits(value: str, allowed: frozenset[str] | None) -> bool:
        return allowed is None or value in allowed

    seats = [s for s in seats
             if admits(s.queue_id, where.queues) and admits(s.routing_profile_id, where.routing_profiles)
             and s.channel in (where.channels or METRIC_CHANNELS) and admits(s.status_id, where.statuses)]
    profile_scope = (None if where.routing_profiles is None
                     else set().union(*(profile_queues.get(p, set()) for p in where.routing_profiles)))
    waiting = [w for w in waiting if admits(w.queue_id, where.queues)
               and (profile_scope is None or w.queue_id in profile_scope)
               and w.channel in (where.channels or METRIC_CHANNELS)]
    named = {"QUEUE": where.queues, "ROUTING_PROFILE": where.routing_profiles,
             "CHANNEL": where.channels or frozenset(METRIC_CHANNELS), "AGENT_STATUS": where.statuses}
    groups: list[dict] = [{}]
    for grouping in groupings:
        field = DIMENSION_OF[grouping]
        values = set(named[grouping] or ()) | {getattr(s, field) for s in seats}
        if grouping in ("QUEUE", "CHANNEL"):
            values |= {getattr(w, field) for w in waiting}
        groups = [{**group, grouping: value} for group in groups for value in sorted(values)]
    results = []
    for group in groups:
        in_seats = [s for s in seats if all(getattr(s, DIMENSION_OF[g]) == v for g, v in group.items())]
        in_queue = [w for w in waiting
                    if all(w.queue_id == v for g, v in group.items() if g == "QUEUE")
                    and all(w.channel == v for g, v in group.items() if g == "CHANNEL")
                    and all(w.queue_id in profile_queues.get(v, ())
                            for g, v in group.items() if g == "ROUTING_PROFILE")]
        asked_for = all(v in ((where.channels if g == "CHANNEL" else named[g]) or ()) for g, v in group.items())
        if in_seats or in_queue or asked_for:
            results.append((group, {**agent_counts(in_seats), **queue_counts(in_queue, now)}))
    return results
