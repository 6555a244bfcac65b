"""A campaign: its configuration, its state machine, and how the v1 and v2 APIs each see it.

A campaign is stored once, in the v2 vocabulary (channelSubtypeConfig, source, schedule, ...), since
v2 can say everything v1 can: a v1 dialerConfig + outboundCallConfig is a v2 telephony channel.
Sub-configurations stay in the API's own camelCase dicts: they are the campaign's language.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from reachout.domain.errors import Conflict, DomainError, InvalidState
from reachout.domain.schedule import Schedule

INITIALIZED, RUNNING, PAUSED, STOPPED, FAILED, COMPLETED = (
    "Initialized", "Running", "Paused", "Stopped", "Failed", "Completed")
TERMINAL = frozenset({STOPPED, FAILED, COMPLETED})
ACTIVE = frozenset({INITIALIZED, RUNNING, PAUSED})  # what AWS's "active campaigns" quota counts

# action -> (states it may start from, state it leads to)
TRANSITIONS = {
    "start": ({INITIALIZED}, RUNNING),
    "pause": ({RUNNING}, PAUSED),
    "resume": ({PAUSED}, RUNNING),
    "stop": ({RUNNING, PAUSED}, STOPPED),
    "complete": ({RUNNING, PAUSED}, COMPLETED),  # PAUSED: at its endTime
    "fail": ({RUNNING}, FAILED),
}

CHANNELS = {"telephony": "TELEPHONY", "sms": "SMS", "email": "EMAIL", "whatsApp": "WHATSAPP"}
V1_DIALERS = {"progressive": "progressiveDialerConfig", "predictive": "predictiveDialerConfig",
              "agentless": "agentlessDialerConfig"}


@dataclass
class Campaign:
    id: str
    arn: str
    region: str
    name: str
    connect_instance_id: str
    created_at: datetime
    state: str = INITIALIZED
    channel_subtype_config: dict = field(default_factory=dict)
    type: str | None = None
    source: dict | None = None
    connect_campaign_flow_arn: str | None = None
    schedule: Schedule | None = None
    entry_limits_config: dict | None = None
    communication_time_config: dict | None = None
    communication_limits_override: dict | None = None

    # --- state machine -------------------------------------------------------------------------
    def transition(self, action: str) -> None:
        allowed_from, to = TRANSITIONS[action]
        if self.state not in allowed_from:
            raise InvalidState(self.state, f"Cannot {action} campaign {self.id} in state {self.state}")
        self.state = to

    def require_not_terminal(self, what: str) -> None:
        """Configuration of a finished campaign is history; AWS refuses to rewrite it."""
        if self.state in TERMINAL:
            raise InvalidState(self.state, f"Cannot update {what} of campaign {self.id} in state {self.state}")

    def require_unpublished(self, what: str, *, as_conflict: bool = False) -> None:
        """Settings the API reference of their operation reserves to Initialized campaigns ("Only
        campaigns in the Initialized state are valid for this operation"; seeds/002: they "cannot be
        changed once your campaign has been published"). `as_conflict`: the operation's model has no
        InvalidCampaignStateException, only ConflictException."""
        if self.state != INITIALIZED:
            message = (f"Cannot change {what} of campaign {self.id} in state {self.state}: only an Initialized "
                       "campaign, not yet started, may change it")
            raise Conflict(message) if as_conflict else InvalidState(self.state, message)

    # --- configuration rules -------------------------------------------------------------------
    def update_channels(self, update: dict) -> None:
        """Given channels replace those channels; the others stay (DeleteCampaignChannelSubtypeConfig
        removes one)."""
        merged = {**self.channel_subtype_config, **update}
        check_dialer_change(self.channel_subtype_config.get("telephony"), merged.get("telephony"))
        self.channel_subtype_config = merged

    def update_source(self, source: dict) -> None:
        # CreateCampaign (v2) docs: "After a campaign is created, you can't add/remove source."
        if self.source is None:
            raise DomainError(f"Campaign {self.id} was created without a source; a source cannot be added")
        if set(self.source) != set(source):
            raise DomainError(f"Campaign {self.id} cannot change its source from {next(iter(self.source))} "
                              f"to {next(iter(source))}")
        self.source = source

    def source_endpoint(self, channel: str, given: dict | None = None) -> dict | None:
        """The endpoint a contact on this channel goes out from (Connect's SystemEndpoint, an
        EndpointInfo): the channel's defaultOutboundConfig source, overridden by what its outbound
        request gave (`given`: its channelSubtypeParameters for the channel). An SMS or WhatsApp
        number is named by its ARN (the engine finds the number); None when no source is set (a
        call whose caller ID comes from its queue)."""
        config = {**((self.channel_subtype_config.get(channel) or {}).get("defaultOutboundConfig") or {}),
                  **{k: v for k, v in (given or {}).items() if v}}
        if channel == "email":
            address, kind = config.get("connectSourceEmailAddress"), "EMAIL_ADDRESS"
        elif channel == "telephony":
            address, kind = config.get("connectSourcePhoneNumber"), "TELEPHONE_NUMBER"
        else:
            address, kind = config.get("connectSourcePhoneNumberArn"), "CONNECT_PHONENUMBER_ARN"
        if not address:
            return None
        endpoint = {"Type": kind, "Address": address}
        if channel == "email" and config.get("sourceEmailAddressDisplayName"):
            endpoint["DisplayName"] = config["sourceEmailAddressDisplayName"]
        return endpoint

    @property
    def fed_by_segment(self) -> bool:
        """Only a campaign fed by a segment finishes on its own, once nothing is left of it; one fed
        by requests (event triggers, API batches) waits for more until its endTime."""
        return bool((self.source or {}).get("customerProfilesSegmentArn"))

    @property
    def channel_subtypes(self) -> list[str]:
        return [CHANNELS[c] for c in CHANNELS if c in self.channel_subtype_config]

    # --- views ---------------------------------------------------------------------------------
    def v2_view(self) -> dict:
        return _compact({
            "id": self.id, "arn": self.arn, "name": self.name,
            "connectInstanceId": self.connect_instance_id,
            "channelSubtypeConfig": self.channel_subtype_config or None,
            "type": self.type, "source": self.source,
            "connectCampaignFlowArn": self.connect_campaign_flow_arn,
            "schedule": self.schedule.view() if self.schedule else None,
            "entryLimitsConfig": self.entry_limits_config,
            "communicationTimeConfig": self.communication_time_config,
            "communicationLimitsOverride": self.communication_limits_override,
        })

    def v2_summary(self) -> dict:
        return _compact({
            "id": self.id, "arn": self.arn, "name": self.name,
            "connectInstanceId": self.connect_instance_id, "channelSubtypes": self.channel_subtypes,
            "type": self.type, "schedule": self.schedule.view() if self.schedule else None,
            "entryLimitsConfig": self.entry_limits_config,
            "connectCampaignFlowArn": self.connect_campaign_flow_arn,
        })

    def v1_summary(self) -> dict:
        return {"id": self.id, "arn": self.arn, "name": self.name, "connectInstanceId": self.connect_instance_id}

    def v1_view(self) -> dict:
        """v1 sees a campaign as a dialer over one telephony channel; a campaign that is anything
        else (SMS, email, preview dialing) has no v1 form."""
        telephony = self.channel_subtype_config.get("telephony")
        mode = next(iter(telephony["outboundMode"]), None) if telephony else None
        if telephony is None or mode not in V1_DIALERS:
            raise DomainError(f"Campaign {self.id} uses {mode or 'no telephony'} outbound mode, which the v1 "
                              "API cannot express; use connectcampaignsv2")
        dialer = {k: v for k, v in telephony["outboundMode"][mode].items() if k == "bandwidthAllocation"}
        if telephony.get("capacity") is not None:
            dialer["dialingCapacity"] = telephony["capacity"]
        default = telephony.get("defaultOutboundConfig", {})
        call_config = _compact({
            "connectContactFlowId": default.get("connectContactFlowId"),
            "connectSourcePhoneNumber": default.get("connectSourcePhoneNumber"),
            "connectQueueId": telephony.get("connectQueueId"),
            "answerMachineDetectionConfig": default.get("answerMachineDetectionConfig"),
        })
        return {**self.v1_summary(), "dialerConfig": {V1_DIALERS[mode]: dialer}, "outboundCallConfig": call_config}

    def copy(self) -> Campaign:
        return replace(self)


def telephony_from_v1(dialer_config: dict, outbound_call_config: dict) -> dict:
    """A v1 dialerConfig + outboundCallConfig as the v2 telephony channel they describe."""
    (v1_name, dialer), = dialer_config.items()
    mode = next(mode for mode, name in V1_DIALERS.items() if name == v1_name)
    telephony: dict = {
        "outboundMode": {mode: {k: v for k, v in dialer.items() if k == "bandwidthAllocation"}},
        "defaultOutboundConfig": _compact({
            "connectContactFlowId": outbound_call_config.get("connectContactFlowId"),
            "connectSourcePhoneNumber": outbound_call_config.get("connectSourcePhoneNumber"),
            "answerMachineDetectionConfig": outbound_call_config.get("answerMachineDetectionConfig"),
        }),
    }
    if "dialingCapacity" in dialer:
        telephony["capacity"] = dialer["dialingCapacity"]
    if outbound_call_config.get("connectQueueId") is not None:
        telephony["connectQueueId"] = outbound_call_config["connectQueueId"]
    return telephony


def check_dialer_change(before: dict | None, after: dict | None) -> None:
    """CreateCampaign docs: an agentless campaign keeps its dialer type, and an agent-assisted one
    (progressive, predictive, preview) cannot become agentless."""
    if not before or not after:
        return
    was, now = next(iter(before["outboundMode"])), next(iter(after["outboundMode"]))
    if (was == "agentless") != (now == "agentless"):
        raise DomainError(f"Cannot change the dialer type of a campaign from {was} to {now}")


def _compact(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}
