"""Customer Profiles event triggers (CreateEventTrigger & co) and integrations (PutIntegration & co):
an integration whose Uri is an event-triggered campaign's ARN and that names a trigger hands that
campaign the trigger's firings (engine/event_triggers.py)."""
from __future__ import annotations

from reachout.aws.gateway import Call
from reachout.domain import event_trigger
from reachout.domain.errors import DomainError, NotFound
from reachout.providers import Provider
from reachout.providers.paging import page, position
from reachout.providers.profiles import domain_or_404
from reachout.store import campaigns as campaign_store
from reachout.store import event_triggers as store
from reachout.store import profile_domains as domains
from reachout.store import tags
from reachout.store.profile_domains import Domain

TRIGGER_MEMBERS = ("ObjectTypeName", "Description", "EventTriggerConditions", "SegmentFilter", "EventTriggerLimits")
INTEGRATION_MEMBERS = ("ObjectTypeName", "ObjectTypeNames", "RoleArn", "EventTriggerNames", "Scope", "Tags")


class EventTriggersProvider(Provider):
    # --- event triggers -----------------------------------------------------------------------
    def create_event_trigger(self, call: Call) -> dict:
        name = call.params["EventTriggerName"]
        definition = {k: call.params[k] for k in TRIGGER_MEMBERS if k in call.params}
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call, for_update=True)  # the count below stays true until commit
            if store.get_trigger(conn, domain.id, name) is not None:
                raise DomainError(f"Event trigger {name} already exists in domain {domain.name}")
            if store.count_triggers(conn, domain.id) >= event_trigger.MAX_TRIGGERS_PER_DOMAIN:
                raise DomainError(f"Domain {domain.name} already has {event_trigger.MAX_TRIGGERS_PER_DOMAIN} event "
                                  "triggers, the most a domain may have: delete one first")
            _check(conn, domain, name, definition)
            store.create_trigger(conn, domain.id, name, definition, self.clock.now())
            tags.put_tags(conn, _trigger_arn(domain, name), call.params.get("Tags", {}))
            return _trigger_view(conn, domain, name)

    def get_event_trigger(self, call: Call) -> dict:
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            return _trigger_view(conn, domain, call.params["EventTriggerName"])

    def update_event_trigger(self, call: Call) -> dict:
        name = call.params["EventTriggerName"]
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            found = _trigger_or_404(conn, domain, name)
            definition = {**found[0], **{k: call.params[k] for k in TRIGGER_MEMBERS if k in call.params}}
            _check(conn, domain, name, definition)
            store.update_trigger(conn, domain.id, name, definition, self.clock.now())
            return _trigger_view(conn, domain, name)

    def delete_event_trigger(self, call: Call) -> dict:
        name = call.params["EventTriggerName"]
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            if not store.delete_trigger(conn, domain.id, name):
                raise NotFound(f"Event trigger {name} not found in domain {domain.name}")
            tags.remove_tags(conn, _trigger_arn(domain, name))
        return {"Message": f"Event trigger {name} was deleted"}

    def list_event_triggers(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 100)
        after = position(call.params.get("NextToken"))
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            rows = store.list_triggers(conn, domain.id, after and after[1], limit + 1)
            rows, token = page(rows, limit, lambda row: (row[2], row[0]))
            items = [{"EventTriggerName": name, "ObjectTypeName": definition["ObjectTypeName"],
                      **({"Description": definition["Description"]} if "Description" in definition else {}),
                      "CreatedAt": created, "LastUpdatedAt": updated,
                      "Tags": tags.get_tags(conn, _trigger_arn(domain, name))}
                     for name, definition, created, updated in rows]
        return {"Items": items, "NextToken": token}

    # --- integrations -------------------------------------------------------------------------
    def put_integration(self, call: Call) -> dict:
        uri = call.params.get("Uri")
        if uri is None:
            raise DomainError("Uri is required: the campaign's ARN for an event trigger integration")
        definition = {k: call.params[k] for k in INTEGRATION_MEMBERS if k in call.params}
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            _check_integration(conn, domain, uri, definition)
            store.put_integration(conn, domain.id, uri, definition, self.clock.now())
            return _integration_view(domain, uri, *store.get_integration(conn, domain.id, uri))

    def get_integration(self, call: Call) -> dict:
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            found = store.get_integration(conn, domain.id, call.params["Uri"])
            if found is None:
                raise NotFound(f"Integration {call.params['Uri']} not found in domain {domain.name}")
            return _integration_view(domain, call.params["Uri"], *found)

    def list_integrations(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 100)
        after = position(call.params.get("NextToken"))
        with self.db.read() as conn:
            domain = domain_or_404(conn, call)
            rows = store.list_integrations(conn, domain.id, after and after[1], limit + 1)
        rows, token = page(rows, limit, lambda row: (row[2], row[0]))
        return {"Items": [_integration_view(domain, *row) for row in rows], "NextToken": token}

    def delete_integration(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            domain = domain_or_404(conn, call)
            if not store.delete_integration(conn, domain.id, call.params["Uri"]):
                raise NotFound(f"Integration {call.params['Uri']} not found in domain {domain.name}")
        return {"Message": f"Integration {call.params['Uri']} was deleted"}


def object_type_fields(conn, domain: Domain, name: str) -> dict[str, str]:
    """The object type's mapped field names -> their Source. A missing type is a broken request
    (BadRequestException), not a missing resource of the call's own."""
    found = domains.get_object_type(conn, domain.id, name)
    if found is None:
        raise DomainError(f"Object type {name} not found in domain {domain.name}: create it with "
                          "PutProfileObjectType first")
    return {field: spec.get("Source", "") for field, spec in (found[0].get("Fields") or {}).items()}


def _check(conn, domain: Domain, name: str, definition: dict) -> None:
    """Refuses a trigger that could not be evaluated: see domain/event_trigger.py."""
    object_type = definition["ObjectTypeName"]
    fields = {} if object_type.startswith("_") else object_type_fields(conn, domain, object_type)
    event_trigger.parse(name, definition, fields)
    segment = definition.get("SegmentFilter")
    if segment is not None and not domains.segment_exists(conn, domain.id, segment):
        raise DomainError(f"SegmentFilter {segment} names no segment definition of domain {domain.name}")


def _check_integration(conn, domain: Domain, uri: str, definition: dict) -> None:
    names = [definition["ObjectTypeName"]] if "ObjectTypeName" in definition else []
    names += list((definition.get("ObjectTypeNames") or {}).values())
    for name in names:
        object_type_fields(conn, domain, name)
    triggers = definition.get("EventTriggerNames") or []
    if not triggers and not names:
        raise DomainError("PutIntegration needs ObjectTypeName, ObjectTypeNames or EventTriggerNames")
    for trigger in triggers:
        if store.get_trigger(conn, domain.id, trigger) is None:
            raise DomainError(f"EventTriggerNames: event trigger {trigger} not found in domain {domain.name}")
    if triggers:
        campaign = campaign_store.get_campaign_by_id(conn, uri.rsplit("/", 1)[-1]) if ":campaign/" in uri else None
        if campaign is None or campaign.arn != uri:
            raise DomainError(f"Uri {uri} names no campaign: an event trigger integration's Uri is the ARN of an "
                              "event-triggered campaign (CreateCampaign v2 with source.eventTrigger)")
        source = (campaign.source or {}).get("eventTrigger") or {}
        if source.get("customerProfilesDomainArn") != domain.arn:
            raise DomainError(f"Campaign {campaign.id} is not an event-triggered campaign of domain {domain.name} "
                              f"(its source must be eventTrigger.customerProfilesDomainArn {domain.arn})")


def _trigger_or_404(conn, domain: Domain, name: str):
    found = store.get_trigger(conn, domain.id, name)
    if found is None:
        raise NotFound(f"Event trigger {name} not found in domain {domain.name}")
    return found


def _trigger_view(conn, domain: Domain, name: str) -> dict:
    definition, created, updated = _trigger_or_404(conn, domain, name)
    return {"EventTriggerName": name, **event_trigger.api_shape(definition), "CreatedAt": created,
            "LastUpdatedAt": updated, "Tags": tags.get_tags(conn, _trigger_arn(domain, name))}


def _integration_view(domain: Domain, uri: str, definition: dict, created, updated) -> dict:
    return {"DomainName": domain.name, "Uri": uri, **definition, "CreatedAt": created, "LastUpdatedAt": updated,
            "Tags": definition.get("Tags", {}), "IsUnstructured": False}


def _trigger_arn(domain: Domain, name: str) -> str:
    return f"{domain.arn}/event-triggers/{name}"
