"""Firing event triggers: each object ingested (PutProfileObject, the bulk importer) is evaluated by the
domain's triggers on its object type, in the ingestion's own transaction, at the instant the engine's
clock gave the ingestion.

Per trigger and object: its conditions (domain/event_trigger.py) -> the profile's membership of the
segment filter -> the campaigns linked by integrations (PutIntegration EventTriggerNames, Uri = the
campaign's ARN), which must be Running -> the per-profile invocation limits, counted and reserved
under a row lock in this transaction -> one profile outbound request per running campaign, expiring
after EventExpiration (at most 15 minutes), which the engine then takes as any
PutProfileOutboundRequestBatch request: windows, communication limits, capacity, channel; an
expired one is recorded expired and never sent. The triggering object's fields become the request's
attributes: the message's template reads them as `Attributes.<field>`.

Every evaluation is recorded, fired or with exactly why not (store event_trigger_evaluations), and
announced on the bus as "Reachout Event Trigger Evaluated".
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
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
    links: dict[str, list[str]] | None = None  # trigger -> integration Uris, read once a trigger holds
    records: list[event_trigger.Evaluation] = []
    for name, definition in triggers:
        # Each object's records, kept in the objects' order whatever step decided them.
        made: list[list[event_trigger.Evaluation]] = [[] for _ in ingested]

        # Called only within this pass of the loop, so binding `name` and `made` late is right.
        def record(index: int, fired: bool, reason: str, campaign_id: str | None = None,
                   request_id: str | None = None) -> None:
            item = ingested[index]
            made[index].append(event_trigger.Evaluation(  # noqa: B023
                domain_id=domain.id, trigger_name=name, object_type=object_type, profile_id=item.profile_id,  # noqa: B023
                object_key=item.unique_key, fired=fired, reason=reason, campaign_id=campaign_id,
                request_id=request_id, at=now))

        trigger = _parsed(name, definition, fields_key)
        if isinstance(trigger, DomainError):  # its object type changed under it since it was created
            for index in range(len(ingested)):
                record(index, False, f"the trigger no longer fits its object type: {trigger.message}")
            records += [row for rows in made for row in rows]
            continue
        verdicts = [event_trigger.evaluate(trigger, item.object, fields) for item in ingested]
        held = [item for item, verdict in zip(ingested, verdicts) if verdict.fired]
        members = _members(conn, domain, trigger, held)
        eligible = []
        for index, (item, verdict) in enumerate(zip(ingested, verdicts)):
            if not verdict.fired:
                record(index, False, f"conditions not met: {verdict.reason}")
            elif members is not None and item.profile_id not in members:
                record(index, False, f"{verdict.reason}; but profile {item.profile_id} is not in segment filter "
                                     f"{trigger.segment_filter}")
            else:
                eligible.append((index, verdict.reason))
        if eligible:
            links = store.integrations_by_trigger(conn, domain.id) if links is None else links
            _fire(conn, domain, trigger, ingested, eligible, _campaigns(conn, links.get(name, [])), now, record)
        records += [row for rows in made for row in rows]
    store.record_evaluations(conn, records)
    account = domain.arn.split(":")[4]
    outbox.emit(conn, [(row.profile_id, envelope(
        EVALUATED_EVENT, REACHOUT_SOURCE, account, domain.region, now,
        [f"{domain.arn}/event-triggers/{row.trigger_name}"],
        {"domainName": domain.name, "eventTriggerName": row.trigger_name, "objectTypeName": object_type,
         "profileId": row.profile_id, "profileObjectUniqueKey": row.object_key, "fired": row.fired,
         "reason": row.reason, "campaignId": row.campaign_id, "requestId": row.request_id}))
        for row in records], now)


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


@dataclass(frozen=True)
class Linked:
    id: str
    state: str


def _campaigns(conn: Connection, uris: list[str]) -> list[tuple[str, Linked | None]]:
    """(Uri, the campaign it names or None) of each integration naming the trigger."""
    ids = [uri.rsplit("/", 1)[-1] for uri in uris]
    states = store.campaign_states(conn, ids)
    found = []
    for uri, campaign_id in zip(uris, ids):
        arn, state = states.get(campaign_id, (None, None))
        found.append((uri, Linked(campaign_id, state) if arn == uri else None))
    return found


def _fire(conn: Connection, domain: Domain, trigger: event_trigger.EventTrigger, ingested: Sequence[Ingested],
          eligible: list[tuple[int, str]], campaigns: list, now: datetime, record) -> None:
    """The objects (index into `ingested`, why the conditions held) that met the trigger's conditions
    and segment filter: each fires for the running campaigns, within its profile's limits."""
    if not campaigns:
        for index, why in eligible:
            record(index, False, f"{why}; but no integration links trigger {trigger.name} to a campaign "
                                 "(PutIntegration with EventTriggerNames and the campaign's ARN as Uri)")
        return
    running, not_running = [], []
    for uri, campaign in campaigns:
        if campaign is None:
            not_running.append((f"campaign {uri} does not exist: not sent", None))
        elif campaign.state != RUNNING:
            not_running.append((f"campaign {campaign.id} is {campaign.state}, not Running: not sent", campaign.id))
        else:
            running.append(campaign)
    for index, why in eligible:
        for because, campaign_id in not_running:
            record(index, False, f"{why}; but {because}", campaign_id)
    if not running:
        return
    # Counted and reserved in this transaction, under a lock on these profiles' firings of this trigger;
    # objects of one profile in the batch count against it in their order.
    profile_ids = sorted({ingested[index].profile_id for index, _ in eligible})
    store.lock_invocations(conn, domain.id, trigger.name, profile_ids)
    earlier = store.invocations_since(conn, domain.id, trigger.name, profile_ids,
                                      event_trigger.longest_period_start(trigger, now))
    wanted = {"expirationTime": now + trigger.expiration} if trigger.expiration else {}
    expires = requests.expiry(requests.PROFILE, wanted, now)
    fired, made = [], []
    for index, why in eligible:
        item = ingested[index]
        counted = earlier.setdefault(item.profile_id, [])
        reached = event_trigger.limit_reached(trigger, counted, now)
        if reached:
            for campaign in running:
                record(index, False, f"{why}; but {reached}", campaign.id)
            continue
        counted.append(now)
        fired.append(item.profile_id)
        for campaign in running:
            payload = {"profileId": item.profile_id, "expirationTime": expires.isoformat(),
                       "attributes": event_attributes(item.object),
                       "eventTrigger": {"domainName": domain.name, "eventTriggerName": trigger.name,
                                        "profileObjectUniqueKey": item.unique_key}}
            request = requests.OutboundRequest(
                id=str(uuid.uuid4()), campaign_id=campaign.id, kind=requests.PROFILE,
                client_token=f"event-trigger:{uuid.uuid4()}", payload=payload,
                fingerprint=requests.fingerprint(payload), expires_at=expires, status=requests.PENDING, due_at=now,
                created_at=now)
            made.append(request)
            record(index, True, f"{why}; fired for campaign {campaign.id}, expiring {expires.isoformat()}",
                   campaign.id, request.id)
    store.add_invocations(conn, domain.id, trigger.name, fired, now)
    outbound_requests.insert_requests(conn, made)


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
