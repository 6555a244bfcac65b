"""Firing event triggers: each object ingested (PutProfileObject, the bulk importer) is evaluated by the
domain's triggers on its object type, in the ingestion's own transaction, at the instant the engine's
clock gave the ingestion.

Per trigger and object: its conditions (domain/event_trigger.py) -> the profile's membership of the
segment filter -> the campaigns linked by integrations (PutIntegration EventTriggerNames, Uri = the
campaign's ARN), which must be Running -> the per-profile invocation limits, counted and reserved
under a lock in this transaction -> one profile outbound request per running campaign, expiring
after EventExpiration (at most 15 minutes), which the engine then takes as any
PutProfileOutboundRequestBatch request: windows, communication limits, capacity, channel; an
expired one is recorded expired and never sent. The triggering object's fields become the request's
attributes: the message's template reads them as `Attributes.<field>`.

Every evaluation is recorded, fired or with exactly why not (store event_trigger_evaluations), and
each object's evaluations are announced on the bus together, as one "Reachout Event Trigger Evaluated"
event whose `firedEventTriggerNames` a rule's pattern can match.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from operator import attrgetter
from datetime import datetime

from sqlalchemy import Connection

from reachout.domain import event_trigger
from reachout.domain import outbound_request as requests
from reachout.domain.campaign import RUNNING
from reachout.domain.contact_event import REACHOUT_SOURCE, envelope
from reachout.domain.errors import DomainError
from reachout.json_text import read_json
from reachout.store import event_triggers as store
from reachout.store import outbound_requests, outbox, profile_domains, segments
from reachout.store.profile_domains import Domain

EVALUATED_EVENT = "Reachout Event Trigger Evaluated"


@dataclass(frozen=True)
class Ingested:
    """One object as ingested: the profile it went to, its unique key, its JSON text."""
    profile_id: str
    unique_key: str
    text: str

    @cached_property
    def object(self) -> dict:
        # Read only when a trigger watches the type: a bulk import without triggers pays nothing.
        return read_json(self.text)


def on_ingested(conn: Connection, domain: Domain, object_type: str, ingested: Sequence[Ingested],
                now: datetime) -> None:
    triggers = store.triggers_on(conn, domain.id, object_type) if ingested else []
    if not triggers:
        return
    found = profile_domains.get_object_type(conn, domain.id, object_type)
    fields = {name: spec.get("Source", "") for name, spec in ((found[0] if found else {}).get("Fields") or {}).items()}
    fields_key = tuple(sorted(fields.items()))
    # Each object's evaluations, whatever step decided them.
    made: list[list[event_trigger.Evaluation]] = [[] for _ in ingested]

    def record(trigger_name: str, index: int, fired: bool, reason: str, campaign_id: str | None = None,
               request_id: str | None = None) -> None:
        item = ingested[index]
        made[index].append(event_trigger.Evaluation(
            domain_id=domain.id, trigger_name=trigger_name, object_type=object_type, profile_id=item.profile_id,
            object_key=item.unique_key, fired=fired, reason=reason, campaign_id=campaign_id,
            request_id=request_id, at=now))

    firing: list[tuple[event_trigger.EventTrigger, list[tuple[int, str]]]] = []
    for name, definition in triggers:
        trigger = _parsed(name, definition, fields_key)
        if isinstance(trigger, DomainError):  # its object type changed under it since it was created
            for index in range(len(ingested)):
                record(name, index, False, f"the trigger no longer fits its object type: {trigger.message}")
            continue
        verdicts = event_trigger.evaluate_each(trigger, [item.object for item in ingested], fields,
                                               _verdicts_of(trigger))
        held = [item for item, verdict in zip(ingested, verdicts) if verdict.fired]
        members = _members(conn, domain, trigger, held)
        eligible = []
        for index, (item, verdict) in enumerate(zip(ingested, verdicts)):
            if not verdict.fired:
                record(name, index, False, f"conditions not met: {verdict.reason}")
            elif members is not None and item.profile_id not in members:
                record(name, index, False, f"{verdict.reason}; but profile {item.profile_id} is not in segment "
                                           f"filter {trigger.segment_filter}")
            else:
                eligible.append((index, verdict.reason))
        if eligible:
            firing.append((trigger, eligible))
    if firing:
        _fire(conn, domain, ingested, firing, now, record)
    for rows in made:
        rows.sort(key=attrgetter("trigger_name"))  # (stable: a trigger's campaigns stay in their order)
    store.record_evaluations(conn, made)
    # One event per object, all its triggers' verdicts in it: with the domain's 20 triggers an event
    # per verdict made 20 (19 of them "conditions not met"), and as many outbox rows and deliveries.
    account = domain.arn.split(":")[4]
    outbox.emit(conn, [(item.profile_id, envelope(
        EVALUATED_EVENT, REACHOUT_SOURCE, account, domain.region, now,
        [f"{domain.arn}/event-triggers/{name}" for name in dict.fromkeys(row.trigger_name for row in rows)],
        {"domainName": domain.name, "objectTypeName": object_type, "profileId": item.profile_id,
         "profileObjectUniqueKey": item.unique_key,
         "firedEventTriggerNames": list(dict.fromkeys(row.trigger_name for row in rows if row.fired)),
         "evaluations": [{"eventTriggerName": row.trigger_name, "fired": row.fired, "reason": row.reason,
                          "campaignId": row.campaign_id, "requestId": row.request_id} for row in rows]}))
        for item, rows in zip(ingested, made)], now)


def _members(conn: Connection, domain: Domain, trigger: event_trigger.EventTrigger,
             held: list[Ingested]) -> set[str] | None:
    """The profiles of `held` in the trigger's segment filter; None when it has none."""
    if trigger.segment_filter is None:
        return None
    segment = segments.get_definition(conn, domain.id, trigger.segment_filter)
    if segment is None:
        return set()  # deleted since: nobody is in it
    return segments.members_among(conn, domain.id, segment.segment_groups, {item.profile_id for item in held})


@lru_cache(maxsize=512)
def _parsed(name: str, definition: str, fields: tuple[tuple[str, str], ...]) -> event_trigger.EventTrigger | DomainError:
    """A trigger parsed once per definition and object type fields (every ingested object would parse
    every trigger on its type again), or why it no longer parses."""
    try:
        return event_trigger.parse(name, read_json(definition), dict(fields))
    except DomainError as error:
        return error


def _verdicts_of(trigger: event_trigger.EventTrigger) -> dict:
    """The trigger's verdicts by reading, kept across ingestions (a batch of a few objects would share
    few); started afresh past SHARED_VERDICTS entries."""
    shared = _shared_verdicts(trigger)
    if len(shared) > SHARED_VERDICTS:
        shared.clear()
    return shared


@lru_cache(maxsize=512)
def _shared_verdicts(trigger: event_trigger.EventTrigger) -> dict:
    return {}


SHARED_VERDICTS = 10_000


@dataclass(frozen=True)
class Linked:
    id: str
    state: str


def _fire(conn: Connection, domain: Domain, ingested: Sequence[Ingested],
          firing: list[tuple[event_trigger.EventTrigger, list[tuple[int, str]]]], now: datetime, record) -> None:
    """Each trigger with the objects (index into `ingested`, why the conditions held) that met its
    conditions and segment filter: each fires for the trigger's running campaigns, within its profile's
    limits. All the batch's triggers at once: a statement per step, not per trigger."""
    links = store.integrations_by_trigger(conn, domain.id)
    linked = _campaigns(conn, {uri for trigger, _ in firing for uri in links.get(trigger.name, [])})
    reserving = []
    for trigger, eligible in firing:
        uris = links.get(trigger.name, [])
        if not uris:
            for index, why in eligible:
                record(trigger.name, index, False, f"{why}; but no integration links trigger {trigger.name} to a "
                                                   "campaign (PutIntegration with EventTriggerNames and the "
                                                   "campaign's ARN as Uri)")
            continue
        running, not_running = [], []
        for uri in uris:
            campaign = linked[uri]
            if campaign is None:
                not_running.append((f"campaign {uri} does not exist: not sent", None))
            elif campaign.state != RUNNING:
                not_running.append((f"campaign {campaign.id} is {campaign.state}, not Running: not sent",
                                    campaign.id))
            else:
                running.append(campaign)
        for index, why in eligible:
            for because, campaign_id in not_running:
                record(trigger.name, index, False, f"{why}; but {because}", campaign_id)
        if running:
            reserving.append((trigger, eligible, running))
    if not reserving:
        return
    # Counted and reserved in this transaction, under a lock on these profiles' firings of these
    # triggers; objects of one profile in the batch count against it in their order.
    pairs = sorted({(trigger.name, ingested[index].profile_id) for trigger, eligible, _ in reserving
                    for index, _ in eligible})
    store.lock_invocations(conn, domain.id, pairs)
    earlier = store.invocations_since(conn, domain.id, pairs, min(
        event_trigger.longest_period_start(trigger, now) for trigger, _, _ in reserving))
    fired, made = [], []
    for trigger, eligible, running in reserving:
        wanted = {"expirationTime": now + trigger.expiration} if trigger.expiration else {}
        expires = requests.expiry(requests.PROFILE, wanted, now)
        for index, why in eligible:
            item = ingested[index]
            counted = earlier.setdefault((trigger.name, item.profile_id), [])
            reached = event_trigger.limit_reached(trigger, counted, now)
            if reached:
                for campaign in running:
                    record(trigger.name, index, False, f"{why}; but {reached}", campaign.id)
                continue
            counted.append(now)
            fired.append((trigger.name, item.profile_id))
            for campaign in running:
                payload = {"profileId": item.profile_id, "expirationTime": expires.isoformat(),
                           "attributes": event_attributes(item.object),
                           "eventTrigger": {"domainName": domain.name, "eventTriggerName": trigger.name,
                                            "profileObjectUniqueKey": item.unique_key}}
                request = requests.OutboundRequest(
                    id=str(uuid.uuid4()), campaign_id=campaign.id, kind=requests.PROFILE,
                    client_token=f"event-trigger:{uuid.uuid4()}", payload=payload,
                    fingerprint=requests.fingerprint(payload), expires_at=expires, status=requests.PENDING,
                    due_at=now, created_at=now)
                made.append(request)
                record(trigger.name, index, True, f"{why}; fired for campaign {campaign.id}, expiring "
                                                  f"{expires.isoformat()}", campaign.id, request.id)
    store.add_invocations(conn, domain.id, fired, now)
    outbound_requests.insert_requests(conn, made)


def _campaigns(conn: Connection, uris: set[str]) -> dict[str, Linked | None]:
    """The campaign each integration Uri names, or None."""
    ids = {uri: uri.rsplit("/", 1)[-1] for uri in uris}
    states = store.campaign_states(conn, list(ids.values()))
    found: dict[str, Linked | None] = {}
    for uri, campaign_id in ids.items():
        arn, state = states.get(campaign_id, (None, None))
        found[uri] = Linked(campaign_id, state) if arn == uri else None
    return found


def event_attributes(obj: dict) -> dict[str, str]:
    """The object's fields as a request's attributes (text): scalars as they read, nested values as JSON."""
    attributes = {}
    for name, value in obj.items():
        if value is None:
            continue
        if isinstance(value, bool):
            attributes[name] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            attributes[name] = str(value)
        else:
            attributes[name] = json.dumps(value, sort_keys=True)
    return attributes
