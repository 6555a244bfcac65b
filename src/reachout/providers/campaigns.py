"""Amazon Connect Outbound Campaigns, API v1 (`connectcampaigns`) and v2 (`connectcampaignsv2`).

Both APIs act on the same campaigns; an operation both define is one method here, which answers in
the vocabulary of the API that called it.
"""
from __future__ import annotations

import uuid

from reachout.aws.errors import AwsError
from reachout.aws.gateway import Call
from reachout.clock import Clock
from reachout.domain import outbound_request as requests
from reachout.domain.campaign import ACTIVE, Campaign, check_dialer_change, telephony_from_v1
from reachout.domain.regime import regime_from_tags
from reachout.domain.errors import DomainError, InvalidState, NotFound, QuotaExceeded
from reachout.domain.quotas import Quotas
from reachout.domain.limits import check_communication_limits
from reachout.domain.schedule import Schedule, parse_positive_duration
from reachout.domain.window import WINDOW_CHANNELS, check_communication_time
from reachout.engine import campaigns as engine_campaigns
from reachout.providers import STATE_NAMES, quick_read, quick_write
from reachout.providers.paging import page, sequence_position
from reachout.store import campaigns as store
from reachout.store import instances, outbound_requests, tags
from reachout.store.db import Database

V1, V2 = "connectcampaigns", "connectcampaignsv2"
SERVICE_ROLE = "arn:aws:iam::{account}:role/aws-service-role/connect-campaigns.amazonaws.com/AWSServiceRoleForConnectCampaigns"
MAX_TAGS = 50  # AWS's limit of tags per resource


def _state(call: Call, state: str) -> str:
    return STATE_NAMES.get(call.service, {}).get(state, state)


class CampaignsProvider:
    def __init__(self, db: Database, clock: Clock, quotas: Quotas = Quotas()):
        self.db = db
        self.clock = clock
        self.quotas = quotas

    # --- campaigns -----------------------------------------------------------------------------
    @quick_write
    def create_campaign(self, call: Call) -> dict:
        p = call.params
        campaign_id = str(uuid.uuid4())
        campaign = Campaign(
            id=campaign_id, arn=f"arn:aws:connect-campaigns:{call.region}:{call.account_id}:campaign/{campaign_id}",
            region=call.region, name=p["name"], connect_instance_id=p["connectInstanceId"],
            created_at=self.clock.now())
        if call.service == V1:
            campaign.channel_subtype_config = {"telephony": telephony_from_v1(p["dialerConfig"], p["outboundCallConfig"])}
        else:
            campaign.channel_subtype_config = p.get("channelSubtypeConfig") or {}
            campaign.type = p.get("type")
            campaign.source = p.get("source")
            campaign.connect_campaign_flow_arn = p.get("connectCampaignFlowArn")
            campaign.schedule = Schedule.from_view(p["schedule"]) if "schedule" in p else None
            campaign.entry_limits_config = _entry_limits(p.get("entryLimitsConfig"))
            campaign.communication_time_config = _communication_time(p.get("communicationTimeConfig"))
            campaign.communication_limits_override = _limits_override(p.get("communicationLimitsOverride"))
        _check_tags(p.get("tags", {}))
        with self.db.transaction() as conn:
            instances.lock_instance(conn, call.region, campaign.connect_instance_id)
            self._check_quotas(conn, call.region, campaign.connect_instance_id)
            store.insert_campaign(conn, campaign)
            tags.put_tags(conn, campaign.arn, p.get("tags", {}))
        return {"id": campaign.id, "arn": campaign.arn, "tags": p.get("tags", {})}

    def _check_quotas(self, conn, region: str, instance_id: str) -> None:
        total, active = store.count_campaigns(conn, region, instance_id, ACTIVE)
        if total >= self.quotas.campaigns_per_instance:
            raise QuotaExceeded(f"Instance {instance_id} already has {total} campaigns, the quota of "
                                "campaigns per instance; delete campaigns you no longer need")
        if active >= self.quotas.active_campaigns_per_instance:
            raise QuotaExceeded(f"Instance {instance_id} already has {active} active campaigns, the quota of "
                                "active campaigns per instance; stop or delete one first")

    @quick_read
    def describe_campaign(self, call: Call) -> dict:
        with self.db.read() as conn:
            campaign = self._campaign(conn, call)
            campaign_tags = tags.get_tags(conn, campaign.arn)
        view = campaign.v1_view() if call.service == V1 else campaign.v2_view()
        return {"campaign": {**view, "tags": campaign_tags}}

    @quick_write
    def delete_campaign(self, call: Call) -> None:
        with self.db.transaction() as conn:
            campaign = self._campaign(conn, call, for_update=True)
            _delete(conn, campaign)

    @quick_read
    def list_campaigns(self, call: Call) -> dict:
        p = call.params
        instance_filter = p.get("filters", {}).get("instanceIdFilter")
        limit = p.get("maxResults", 50)
        with self.db.read() as conn:
            rows = store.list_campaigns(conn, call.region, instance_filter and instance_filter["value"],
                                        sequence_position(p.get("nextToken")), limit + 1)
        rows, token = page(rows, limit, lambda row: (row[1].created_at, str(row[0])))
        summaries = [c.v1_summary() if call.service == V1 else c.v2_summary() for _, c in rows]
        return {"campaignSummaryList": summaries, "nextToken": token}

    @quick_read
    def get_campaign_state(self, call: Call) -> dict:
        with self.db.read() as conn:
            return {"state": _state(call, self._campaign(conn, call).state)}

    @quick_read
    def get_campaign_state_batch(self, call: Call) -> dict:
        ids = call.params["campaignIds"]
        with self.db.read() as conn:
            found = store.get_campaigns(conn, call.region, ids)
        return {
            "successfulRequests": [{"campaignId": i, "state": _state(call, found[i].state)} for i in ids if i in found],
            "failedRequests": [{"campaignId": i, "failureCode": "ResourceNotFound"} for i in ids if i not in found],
        }

    @quick_write
    def start_campaign(self, call: Call) -> None:
        self._transition(call, "start")

    @quick_write
    def pause_campaign(self, call: Call) -> None:
        self._transition(call, "pause")

    @quick_write
    def resume_campaign(self, call: Call) -> None:
        self._transition(call, "resume")

    @quick_write
    def stop_campaign(self, call: Call) -> None:
        self._transition(call, "stop")

    def _transition(self, call: Call, action: str) -> None:
        self._update(call, lambda campaign: campaign.transition(action), after=action)

    # --- updates -------------------------------------------------------------------------------
    # Each update follows its operation's API reference: schedule, source, communication time and
    # limits (update and delete) and DeleteCampaignChannelSubtypeConfig are "Only campaigns in the
    # Initialized state" (`unpublished`); flow association and entry limits, whose references say
    # nothing of states but whose models list InvalidCampaignStateException, refuse finished
    # campaigns (`guard`); name, channel updates and v1 dialer and call config: any state.
    def update_campaign_name(self, call: Call) -> None:
        self._update(call, lambda c: setattr(c, "name", call.params["name"]))

    def update_campaign_dialer_config(self, call: Call) -> None:
        def apply(campaign: Campaign) -> None:
            telephony = campaign.channel_subtype_config["telephony"]
            replacement = telephony_from_v1(call.params["dialerConfig"], {})
            check_dialer_change(telephony, replacement)
            updated = {**telephony, "outboundMode": replacement["outboundMode"]}
            updated.pop("capacity", None)
            if "capacity" in replacement:
                updated["capacity"] = replacement["capacity"]
            campaign.channel_subtype_config = {**campaign.channel_subtype_config, "telephony": updated}

        self._update(call, apply, require_v1=True)

    def update_campaign_outbound_call_config(self, call: Call) -> None:
        def apply(campaign: Campaign) -> None:
            telephony = campaign.channel_subtype_config["telephony"]
            given = {k: v for k, v in call.params.items() if k != "id"}
            default = {**telephony.get("defaultOutboundConfig", {}), **given}
            campaign.channel_subtype_config = {**campaign.channel_subtype_config,
                                               "telephony": {**telephony, "defaultOutboundConfig": default}}

        self._update(call, apply, require_v1=True)

    def update_campaign_channel_subtype_config(self, call: Call) -> None:
        self._update(call, lambda c: c.update_channels(call.params["channelSubtypeConfig"]))

    def delete_campaign_channel_subtype_config(self, call: Call) -> None:
        channel = _channel_key(call.params["channelSubtype"])

        def apply(campaign: Campaign) -> None:
            campaign.channel_subtype_config = {k: v for k, v in campaign.channel_subtype_config.items() if k != channel}

        # Its model has no InvalidCampaignStateException: a published campaign is a conflict.
        self._update(call, apply, unpublished="its channels", as_conflict=True)

    def update_campaign_schedule(self, call: Call) -> None:
        schedule = Schedule.from_view(call.params["schedule"])
        self._update(call, lambda c: setattr(c, "schedule", schedule), unpublished="the schedule", after="schedule")

    def update_campaign_source(self, call: Call) -> None:
        self._update(call, lambda c: c.update_source(call.params["source"]), unpublished="the source")

    def update_campaign_flow_association(self, call: Call) -> None:
        arn = call.params["connectCampaignFlowArn"]
        self._update(call, lambda c: setattr(c, "connect_campaign_flow_arn", arn), guard="flow association")

    def update_campaign_entry_limits(self, call: Call) -> None:
        limits = _entry_limits(call.params["entryLimitsConfig"])
        self._update(call, lambda c: setattr(c, "entry_limits_config", limits), guard="entry limits")

    def delete_campaign_entry_limits(self, call: Call) -> None:
        self._update(call, lambda c: setattr(c, "entry_limits_config", None), guard="entry limits")

    def update_campaign_communication_time(self, call: Call) -> None:
        config = _communication_time(call.params["communicationTimeConfig"])
        self._update(call, lambda c: setattr(c, "communication_time_config", config),
                     unpublished="the communication time")

    def delete_campaign_communication_time(self, call: Call) -> None:
        channel = _channel_key(call.params["config"])

        def apply(campaign: Campaign) -> None:
            if campaign.communication_time_config:
                config = {k: v for k, v in campaign.communication_time_config.items() if k != channel}
                campaign.communication_time_config = config

        self._update(call, apply, unpublished="the communication time")

    def update_campaign_communication_limits(self, call: Call) -> None:
        override = _limits_override(call.params["communicationLimitsOverride"])
        self._update(call, lambda c: setattr(c, "communication_limits_override", override),
                     unpublished="the communication limits")

    def delete_campaign_communication_limits(self, call: Call) -> None:
        def apply(campaign: Campaign) -> None:
            # config is ALL_CHANNEL_SUBTYPES, the only kind of override there is.
            if campaign.communication_limits_override:
                rest = {k: v for k, v in campaign.communication_limits_override.items() if k != "allChannelSubtypes"}
                campaign.communication_limits_override = rest or None

        self._update(call, apply, unpublished="the communication limits")

    def _update(self, call: Call, apply, *, guard: str | None = None, unpublished: str | None = None,
                as_conflict: bool = False, require_v1: bool = False, after: str | None = None) -> None:
        """Read, change and write one campaign under its row lock; `guard` names what a finished
        campaign keeps, `unpublished` what only an Initialized one may change (a ConflictException
        `as_conflict`); `after` tells the engine what happened (start, resume, stop, schedule) in the
        same transaction."""
        with self.db.transaction() as conn:
            campaign = self._campaign(conn, call, for_update=True)
            if require_v1:
                campaign.v1_view()  # refuses campaigns v1 cannot express
            if guard:
                campaign.require_not_terminal(guard)
            if unpublished:
                campaign.require_unpublished(unpublished, as_conflict=as_conflict)
            previous = campaign.state
            apply(campaign)
            store.save_campaign(conn, campaign)
            if after:
                engine_campaigns.on_transition(conn, campaign, after, self.clock.now(), previous)

    def _campaign(self, conn, call: Call, *, for_update: bool = False) -> Campaign:
        campaign_id = call.params["id"]
        campaign = store.get_campaign(conn, call.region, campaign_id, for_update=for_update)
        if campaign is None:
            raise NotFound(f"Campaign {campaign_id} not found")
        return campaign

    # --- tags ----------------------------------------------------------------------------------
    @quick_write
    def tag_resource(self, call: Call) -> None:
        new_tags = call.params["tags"]
        with self.db.transaction() as conn:
            arn = self._tagged(conn, call)
            _check_tags({**tags.get_tags(conn, arn), **new_tags})
            tags.put_tags(conn, arn, new_tags)

    @quick_write
    def untag_resource(self, call: Call) -> None:
        with self.db.transaction() as conn:
            tags.remove_tags(conn, self._tagged(conn, call), call.params["tagKeys"])

    @quick_read
    def list_tags_for_resource(self, call: Call) -> dict:
        with self.db.read() as conn:
            return {"tags": tags.get_tags(conn, self._tagged(conn, call))}

    def _tagged(self, conn, call: Call) -> str:
        arn = call.params["arn"]
        campaign = store.find_by_arn(conn, arn)
        if campaign is None or campaign.region != call.region:
            raise NotFound(f"Resource {arn} not found")
        return arn

    # --- connect instance configuration ---------------------------------------------------------
    def start_instance_onboarding_job(self, call: Call) -> dict:
        instance_id, encryption = call.params["connectInstanceId"], call.params["encryptionConfig"]
        if encryption["enabled"] and not encryption.get("keyArn"):
            raise DomainError("encryptionConfig.keyArn is required when encryption is enabled")
        config = {"connectInstanceId": instance_id, "serviceLinkedRoleArn": SERVICE_ROLE.format(account=call.account_id),
                  "encryptionConfig": encryption}
        # Nothing to provision locally: the job succeeds at once.
        job = {"connectInstanceId": instance_id, "status": "SUCCEEDED"}
        with self.db.transaction() as conn:
            instances.update_instance(conn, call.region, instance_id, config=config, onboarding_job=job)
        return {"connectInstanceOnboardingJobStatus": job}

    def get_instance_onboarding_job_status(self, call: Call) -> dict:
        with self.db.read() as conn:
            return {"connectInstanceOnboardingJobStatus": _instance_part(conn, call, "onboarding_job")}

    def delete_instance_onboarding_job(self, call: Call) -> None:
        instance_id = call.params["connectInstanceId"]
        with self.db.transaction() as conn:
            job = _instance_part(conn, call, "onboarding_job")
            if job["status"] == "IN_PROGRESS":
                raise AwsError("InvalidStateException", f"The onboarding job of instance {instance_id} is in progress")
            instances.update_instance(conn, call.region, instance_id, onboarding_job=None)

    def get_connect_instance_config(self, call: Call) -> dict:
        with self.db.read() as conn:
            return {"connectInstanceConfig": _instance_part(conn, call, "config")}

    def delete_connect_instance_config(self, call: Call) -> None:
        instance_id = call.params["connectInstanceId"]
        policy = call.params.get("campaignDeletionPolicy")
        with self.db.transaction() as conn:
            _instance_part(conn, call, "config")
            campaign_ids = store.instance_campaign_ids(conn, call.region, instance_id)
            if policy == "DELETE_ALL":
                for campaign in store.get_campaigns(conn, call.region, campaign_ids).values():
                    _delete(conn, campaign)
            elif policy is None and campaign_ids:
                # Without a policy (always so in v1) campaigns are never orphaned silently.
                raise AwsError("InvalidStateException",
                               f"Instance {instance_id} still has {len(campaign_ids)} campaigns; delete them first "
                               "(or, in v2, pass campaignDeletionPolicy)")
            instances.update_instance(conn, call.region, instance_id, config=None, onboarding_job=None)

    def put_instance_communication_limits(self, call: Call) -> None:
        config = call.params["communicationLimitsConfig"]
        check_communication_limits(config.get("allChannelSubtypes"), "communicationLimitsConfig.allChannelSubtypes")
        with self.db.transaction() as conn:
            instances.update_instance(conn, call.region, call.params["connectInstanceId"], communication_limits=config)

    def get_instance_communication_limits(self, call: Call) -> dict:
        with self.db.read() as conn:
            row = instances.get_instance(conn, call.region, call.params["connectInstanceId"])
        return {"communicationLimitsConfig": (row or {}).get("communication_limits") or {}}

    # --- integrations ----------------------------------------------------------------------------
    def put_connect_instance_integration(self, call: Call) -> None:
        (kind, config), = call.params["integrationConfig"].items()
        with self.db.transaction() as conn:
            instances.put_integration(conn, call.region, call.params["connectInstanceId"], _identifier(config),
                                      {kind: config})

    def delete_connect_instance_integration(self, call: Call) -> None:
        (kind, identifier), = call.params["integrationIdentifier"].items()
        instance_id = call.params["connectInstanceId"]
        with self.db.transaction() as conn:
            if not instances.delete_integration(conn, call.region, instance_id, _identifier(identifier)):
                raise NotFound(f"No {kind} integration {_identifier(identifier)} on instance {instance_id}")

    def list_connect_instance_integrations(self, call: Call) -> dict:
        limit = call.params.get("maxResults", 50)
        with self.db.read() as conn:
            rows = instances.list_integrations(conn, call.region, call.params["connectInstanceId"],
                                               sequence_position(call.params.get("nextToken")), limit + 1)
            now = self.clock.now()
        rows, token = page(rows, limit, lambda row: (now, str(row[0])))
        return {"integrationSummaryList": [summary for _, summary in rows], "nextToken": token}

    # --- outbound requests -----------------------------------------------------------------------
    def put_dial_request_batch(self, call: Call) -> dict:
        return self._intake(call, requests.DIAL, call.params["dialRequests"], failure_for_reuse="InvalidInput")

    def put_outbound_request_batch(self, call: Call) -> dict:
        return self._intake(call, requests.OUTBOUND, call.params["outboundRequests"], failure_for_reuse="InvalidInput")

    def put_profile_outbound_request_batch(self, call: Call) -> dict:
        return self._intake(call, requests.PROFILE, call.params["profileOutboundRequests"], failure_for_reuse="Conflict")

    def _intake(self, call: Call, kind: str, items: list[dict], failure_for_reuse: str) -> dict:
        """Each item succeeds or fails on its own; a repeated clientToken returns the request it
        first created instead of creating another."""
        now = self.clock.now()
        succeeded, failed, accepted = [], [], []
        # What each item asks for, worked out before the write lock is taken, which concurrent
        # batches queue for: the lock is then held for the database's part only.
        asked = []
        for item in items:
            payload = requests.jsonable({k: v for k, v in item.items() if k != "clientToken"})
            asked.append((item, payload, requests.fingerprint(payload)))
        with self.db.transaction() as conn:
            campaign = self._campaign(conn, call, for_update=True)
            if campaign.state != "Running":
                raise InvalidState(campaign.state, f"Campaign {campaign.id} must be Running to accept requests, "
                                                   f"not {campaign.state}")
            if kind == requests.PROFILE and not (campaign.source or {}).get("eventTrigger"):
                raise DomainError(f"Campaign {campaign.id} has no event trigger source; profile outbound requests "
                                  "go to event-triggered campaigns")
            known = outbound_requests.find_by_tokens(conn, campaign.id, kind, [i["clientToken"] for i in items])
            for item, payload, print_ in asked:
                token = item["clientToken"]
                earlier = known.get(token)
                if earlier is not None:
                    if earlier.fingerprint == print_:
                        succeeded.append({"clientToken": token, "id": earlier.id})
                    else:
                        failed.append({"clientToken": token, "failureCode": failure_for_reuse})
                    continue
                if requests.problem_with(campaign, kind, item, now):
                    failed.append({"clientToken": token, "failureCode": "InvalidInput"})
                    continue
                request = requests.OutboundRequest(
                    id=str(uuid.uuid4()), campaign_id=campaign.id, kind=kind, client_token=token,
                    payload=payload, fingerprint=print_, expires_at=requests.expiry(kind, item, now),
                    status=requests.PENDING, due_at=now, created_at=now)
                known[token] = request
                accepted.append(request)
                succeeded.append({"clientToken": token, "id": request.id})
            outbound_requests.insert_requests(conn, accepted)
        return {"successfulRequests": succeeded, "failedRequests": failed}


def _delete(conn, campaign: Campaign) -> None:
    store.delete_campaign(conn, campaign.id)
    tags.remove_tags(conn, campaign.arn)
    outbound_requests.delete_campaign_requests(conn, campaign.id)


def _instance_part(conn, call: Call, column: str):
    """The instance's onboarding job or config, which must exist."""
    instance_id = call.params["connectInstanceId"]
    row = instances.get_instance(conn, call.region, instance_id)
    if not row or row[column] is None:
        what = "onboarding job" if column == "onboarding_job" else "outbound campaigns configuration"
        raise NotFound(f"No {what} found for Connect instance {instance_id}")
    return row[column]


def _entry_limits(config: dict | None) -> dict | None:
    if config is not None:
        parse_positive_duration(config["minEntryInterval"], "entryLimitsConfig.minEntryInterval", allow_zero=True)
    return config


def _communication_time(config: dict | None) -> dict | None:
    if config is not None:
        check_communication_time(config)
    return config


def _limits_override(config: dict | None) -> dict | None:
    if config is not None:
        check_communication_limits(config.get("allChannelSubtypes"), "communicationLimitsOverride.allChannelSubtypes")
    return config


def _check_tags(all_tags: dict) -> None:
    if len(all_tags) > MAX_TAGS:
        raise DomainError(f"A campaign may carry at most {MAX_TAGS} tags, not {len(all_tags)}")
    regime_from_tags(all_tags)  # a compliance regime tag must name one


def _channel_key(enum_value: str) -> str:
    """TELEPHONY -> telephony, WHATSAPP -> whatsApp: the member name of that channel's config."""
    return next(c for c in WINDOW_CHANNELS if c.upper() == enum_value)


def _identifier(config: dict) -> str:
    return config.get("domainArn") or config.get("knowledgeBaseArn") or config["functionArn"]
