"""The Create Campaign wizard (seed 002; recipients from seed 000): name, recipients, channel,
communications per recipient, reattempt rules, communication time and exceptions, time zone,
schedule and repeats; then review (with the forecast) and Publish.

The form becomes the very CreateCampaign request a boto3 client would send (plus, for reattempt
rules, a CAMPAIGN contact flow; for a customer event, PutIntegration). Before anything is created it
goes through the same model validation and domain checks as the API, and each problem is shown next
to the field it is about, in the API's words.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import available_timezones

from starlette.responses import Response

from reachout.console.app import PREFIX, Context
from reachout.console.operations import OperationError
from reachout.domain import reattempt
from reachout.domain.campaign import Campaign
from reachout.domain.contact_flow import content_problems
from reachout.domain.disposition import DISPOSITIONS
from reachout.domain.errors import DomainError
from reachout.domain.limits import check_communication_limits
from reachout.domain.schedule import Schedule
from reachout.domain.window import check_communication_time
from reachout.engine.forecast import forecast
from reachout.providers.campaigns import V2

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
DAY_CHOICES = {"WEEKDAYS": DAYS[:5], "WEEKEND": DAYS[5:], "EVERY_DAY": DAYS, **{d: (d,) for d in DAYS}}
CHANNEL_CHOICES = {"email": "Email", "sms": "SMS", "telephony": "Voice", "whatsApp": "WhatsApp"}
MAIN_CHANNELS = {"email": "Email", "sms": "SMS", "agentless": "Automated voice", "agent": "Agent assisted voice"}
DIALERS = ("progressive", "predictive", "preview")
FREQUENCIES = {"PT1H": "Hourly", "P1D": "Daily", "P7D": "Weekly", "P30D": "Every 30 days"}
WAIT_UNITS = {"M": "minutes", "H": "hours", "D": "days"}
# Codes first (what people pick), then the channel outcomes they come from.
DISPOSITION_CODES = sorted({d.code for d in DISPOSITIONS.values()})
ROW = re.compile(r"^(limit|retry|window|exception|cond)-(\d+)-(\w+)$")
OPERATORS = ("GREATER_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL", "EQUAL", "BETWEEN",
             "NOT_BETWEEN", "INCLUSIVE", "EXCLUSIVE", "CONTAINS", "BEGINS_WITH", "ENDS_WITH", "BEFORE", "AFTER", "ON")
PERIOD_UNITS = ("HOURS", "DAYS", "WEEKS", "MONTHS")


@dataclass
class Draft:
    """A campaign as the wizard holds it: the CreateCampaign request, and where each of its members
    came from on the form (model path -> field id), so that a problem lands next to its field."""

    request: dict = field(default_factory=dict)
    flow_content: str | None = None  # the reattempt rules, as a CAMPAIGN flow's content
    triggers: list[tuple[str, str]] = field(default_factory=list)  # (domain name, trigger name) to link
    new_trigger: dict | None = None  # a CreateEventTrigger request (seed 000's conditions builder)
    start_now: bool = True
    fields: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)  # field id ('' for the form) -> problems

    def problem(self, field_id: str, message: str) -> None:
        self.errors.setdefault(field_id, []).append(message)

    def place(self, error: OperationError | DomainError | str, default: str = "") -> None:
        """Each problem next to the field whose model path it names (the longest that matches)."""
        if isinstance(error, OperationError) and error.problems:
            for path, problems in error.by_field().items():
                for problem in problems:
                    self.problem(self._field_of(path) or default, f"{error.code}: {problem}")
            return
        message = error.message if isinstance(error, (OperationError, DomainError)) else str(error)
        code = f"{error.code}: " if isinstance(error, OperationError) else ""
        named = [path for path in self.fields if path and path in message]
        self.problem(self.fields[max(named, key=len)] if named else default, code + message)

    def _field_of(self, path: str) -> str | None:
        parts = path.split(".")
        while parts:
            found = self.fields.get(".".join(parts))
            if found:
                return found
            parts.pop()
        return None


# The fields whose values make a row more than a blank one (the others have defaults).
ROW_KEYS = {"limit": ("count", "days"), "retry": ("dispositions", "wait"), "window": ("day", "from", "to"),
            "exception": ("name", "start", "end"), "cond": ("attribute", "values")}


def rows(ctx: Context, group: str) -> list[tuple[int, dict[str, list[str]]]]:
    """The form's repeating rows of `group` ('limit-1-count', ...), in row order, blank rows left out."""
    found: dict[int, dict[str, list[str]]] = {}
    for name, values in (ctx.form or {}).items():
        match = ROW.match(name)
        if match and match.group(1) == group:
            found.setdefault(int(match.group(2)), {})[match.group(3)] = values
    return [(n, row) for n, row in sorted(found.items())
            if any(v.strip() for key in ROW_KEYS[group] for v in row.get(key, []))]


def first(row: dict[str, list[str]], name: str) -> str:
    return (row.get(name) or [""])[0].strip()


def whole(text: str, field_id: str, draft: Draft, what: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        draft.problem(field_id, f"{what} must be a whole number, not '{text}'")
        return None


def instant(text: str, field_id: str, draft: Draft, what: str) -> datetime | None:
    """A datetime-local value, read as UTC (the form says so)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        draft.problem(field_id, f"{what} must be a date and time such as 2026-03-01T09:00, not '{text}'")
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def read_form(ctx: Context) -> Draft:
    """The form as a Draft: the request, and the problems that stop it from being one at all."""
    d = Draft()
    d.request["name"] = ctx.value("name")
    d.request["connectInstanceId"] = ctx.value("instance")
    d.fields.update({"name": "name", "connectInstanceId": "instance"})
    _recipients(ctx, d)
    channel = _channel(ctx, d)
    _limits(ctx, d)
    retry_channels = _retries(ctx, d, channel)
    _communication_time(ctx, d, [channel] + [c for c in retry_channels if c != channel])
    _schedule(ctx, d)
    return d


def _recipients(ctx: Context, d: Draft) -> None:
    """Recipients: a customer segment, or customer events (an existing trigger or a new one)."""
    v = ctx.value
    request = d.request
    if v("recipients", "segment") == "event":
        domain_arn = v("event_domain")
        request["source"] = {"eventTrigger": {"customerProfilesDomainArn": domain_arn}}
        d.fields["source"] = "event_domain"
        domain_name = domain_arn.rsplit("/", 1)[-1]
        d.triggers = [(domain_name, name) for name in ctx.values("event_triggers") if name]
        if not domain_arn:
            d.problem("event_domain", "Choose the Customer Profiles domain whose events start this campaign")
        if v("trigger_name"):
            d.new_trigger = new_trigger(ctx, d, domain_name)
            d.triggers.append((domain_name, v("trigger_name")))
        elif not d.triggers:
            d.problem("trigger_name", "Name a new event trigger, or choose one of the domain's triggers")
    else:
        request["source"] = {"customerProfilesSegmentArn": v("segment")}
        d.fields["source"] = "segment"
        if not v("segment"):
            d.problem("segment", "Choose the customer segment this campaign goes to")


def _channel(ctx: Context, d: Draft) -> str:
    """The channel and its settings; returns its key in channelSubtypeConfig."""
    v = ctx.value
    request = d.request
    channel = v("channel", "email")
    path = "channelSubtypeConfig"
    capacity = v("capacity")
    config: dict = {}
    if channel == "email":
        config = {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
            "connectSourceEmailAddress": v("email_from"), "wisdomTemplateArn": v("email_template")}}
        if v("email_display_name"):
            config["defaultOutboundConfig"]["sourceEmailAddressDisplayName"] = v("email_display_name")
        key = "email"
        d.fields.update({f"{path}.email.defaultOutboundConfig.connectSourceEmailAddress": "email_from",
                         f"{path}.email.defaultOutboundConfig.wisdomTemplateArn": "email_template",
                         f"{path}.email.defaultOutboundConfig.sourceEmailAddressDisplayName": "email_display_name"})
    elif channel == "sms":
        config = {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
            "connectSourcePhoneNumberArn": v("sms_number"), "wisdomTemplateArn": v("sms_template")}}
        key = "sms"
        d.fields.update({f"{path}.sms.defaultOutboundConfig.connectSourcePhoneNumberArn": "sms_number",
                         f"{path}.sms.defaultOutboundConfig.wisdomTemplateArn": "sms_template"})
    else:
        key = "telephony"
        outbound = {"connectContactFlowId": v("voice_flow")}
        if v("voice_number"):
            outbound["connectSourcePhoneNumber"] = v("voice_number")
        if v("voice_amd"):
            outbound["answerMachineDetectionConfig"] = {"enableAnswerMachineDetection": True,
                                                        "awaitAnswerMachinePrompt": bool(v("voice_await_prompt"))}
        if v("voice_ring_timeout"):
            outbound["ringTimeout"] = whole(v("voice_ring_timeout"), "voice_ring_timeout", d, "Ring timeout")
        if channel == "agentless":
            mode: dict = {"agentless": {}}
        else:
            dialer = v("dialer", "progressive") if v("dialer", "progressive") in DIALERS else "progressive"
            try:
                allocation = float(v("bandwidth", "1"))
            except ValueError:
                allocation = None
                d.problem("bandwidth", f"Bandwidth allocation must be a number from 0 to 1, not '{v('bandwidth')}'")
            mode = {dialer: {"bandwidthAllocation": allocation}}
            if dialer == "preview":
                mode[dialer]["timeoutConfig"] = {
                    "durationInSeconds": whole(v("preview_timeout", "30"), "preview_timeout", d, "Preview timeout")}
            d.fields.update({f"{path}.telephony.outboundMode.{dialer}.bandwidthAllocation": "bandwidth",
                             f"{path}.telephony.outboundMode.{dialer}.timeoutConfig": "preview_timeout"})
        config = {"outboundMode": mode, "defaultOutboundConfig": outbound}
        if v("voice_queue"):
            config["connectQueueId"] = v("voice_queue")
        d.fields.update({f"{path}.telephony.defaultOutboundConfig.connectContactFlowId": "voice_flow",
                         f"{path}.telephony.defaultOutboundConfig.connectSourcePhoneNumber": "voice_number",
                         f"{path}.telephony.defaultOutboundConfig.ringTimeout": "voice_ring_timeout",
                         f"{path}.telephony.connectQueueId": "voice_queue"})
    if capacity:
        try:
            config["capacity"] = float(capacity)
        except ValueError:
            d.problem("capacity", f"Capacity must be a number from 0.01 to 1, not '{capacity}'")
        d.fields[f"{path}.{key}.capacity"] = "capacity"
    request["channelSubtypeConfig"] = {key: config}
    d.fields[path] = "channel"
    return key


def _limits(ctx: Context, d: Draft) -> None:
    """Communications per recipient: each row one limit."""
    v = ctx.value
    request = d.request
    limits = []
    for n, row in rows(ctx, "limit"):
        index = len(limits) + 1
        count = whole(first(row, "count"), f"limit-{n}-count", d, "Communications")
        days = whole(first(row, "days"), f"limit-{n}-days", d, "Days")
        limits.append({"maxCountPerRecipient": count, "frequency": days, "unit": first(row, "unit") or "DAY"})
        base = f"communicationLimitsOverride.allChannelSubtypes.communicationLimitsList.{index}"
        d.fields.update({base: f"limit-{n}-count", f"{base}.maxCountPerRecipient": f"limit-{n}-count",
                         f"{base}.frequency": f"limit-{n}-days", f"{base}.unit": f"limit-{n}-days"})
    handling = v("instance_limits", "OPT_IN")
    if limits or handling == "OPT_OUT":
        request["communicationLimitsOverride"] = {"instanceLimitsHandling": handling}
        if limits:
            request["communicationLimitsOverride"]["allChannelSubtypes"] = {"communicationLimitsList": limits}
        d.fields["communicationLimitsOverride.allChannelSubtypes.communicationLimitsList"] = "limits"
        d.fields["communicationLimitsOverride.allChannelSubtypes"] = "limits"
        d.fields["communicationLimitsOverride"] = "limits"


def _retries(ctx: Context, d: Draft, key: str) -> list[str]:
    """Reattempt rules, as a CAMPAIGN flow's content; returns the channels they retry on."""
    rules, retry_channels = [], []
    for n, row in rows(ctx, "retry"):
        dispositions = [code for code in row.get("dispositions", []) if code]
        rule: dict = {"Dispositions": dispositions, "Channel": first(row, "channel") or key}
        amount = first(row, "wait")
        if amount:
            number = whole(amount, f"retry-{n}-wait", d, "Wait")
            unit = first(row, "wait_unit") or "H"
            rule["Wait"] = f"P{number}D" if unit == "D" else f"PT{number}{unit}"
        rule["MaxAttempts"] = whole(first(row, "max_attempts") or "2", f"retry-{n}-max_attempts", d, "Attempts")
        rules.append(rule)
        retry_channels.append(rule["Channel"])
        d.fields[f"ReattemptRules[{len(rules)}]"] = f"retry-{n}-dispositions"
    if rules:
        d.flow_content = json.dumps({"Version": reattempt.VERSION, "ReattemptRules": rules})
    return retry_channels


def _communication_time(ctx: Context, d: Draft, campaign_channels: list[str]) -> None:
    """Active times and exceptions per channel (or all the campaign's channels), and the time zone."""
    v = ctx.value
    request = d.request
    windows: dict[str, dict] = {}
    for n, row in rows(ctx, "window"):
        applies = campaign_channels if first(row, "channel") in ("", "all") else [first(row, "channel")]
        days = DAY_CHOICES.get(first(row, "day"), ())
        start, end = first(row, "from"), first(row, "to")
        for channel_key in applies:
            daily = windows.setdefault(channel_key, {"openHours": {"dailyHours": {}}})["openHours"]["dailyHours"]
            for day in days:
                daily.setdefault(day, []).append({"startTime": f"T{start}", "endTime": f"T{end}"})
                base = f"communicationTimeConfig.{channel_key}.openHours.dailyHours.{day}"
                d.fields.setdefault(base, f"window-{n}-from")
                d.fields[f"{base}.{len(daily[day])}.startTime"] = f"window-{n}-from"
                d.fields[f"{base}.{len(daily[day])}.endTime"] = f"window-{n}-to"
        if not days:
            d.problem(f"window-{n}-day", "Choose the day (or days) of the week this time is for")
    for n, row in rows(ctx, "exception"):
        applies = campaign_channels if first(row, "channel") in ("", "all") else [first(row, "channel")]
        for channel_key in applies:
            window = windows.setdefault(channel_key, {})
            periods = window.setdefault("restrictedPeriods", {"restrictedPeriodList": []})["restrictedPeriodList"]
            period = {"startDate": first(row, "start"), "endDate": first(row, "end")}
            if first(row, "name"):
                period["name"] = first(row, "name")
            periods.append(period)
            base = f"communicationTimeConfig.{channel_key}.restrictedPeriods.restrictedPeriodList.{len(periods)}"
            d.fields.update({base: f"exception-{n}-name", f"{base}.name": f"exception-{n}-name",
                             f"{base}.startDate": f"exception-{n}-start", f"{base}.endDate": f"exception-{n}-end"})
            # Exceptions only with active times (seed 002): the model's openHours is required.
            d.fields.setdefault(f"communicationTimeConfig.{channel_key}.openHours", f"exception-{n}-name")
            d.fields.setdefault(f"communicationTimeConfig.{channel_key}", f"exception-{n}-name")
    local: dict = {}
    if v("tz_mode", "standard") == "local":
        local["localTimeZoneDetection"] = [m for m in ctx.values("tz_detection") if m]
        if not local["localTimeZoneDetection"]:
            d.problem("tz_detection", "Choose how a recipient's own time zone is found (ZIP code, area code or both)")
    else:
        local["defaultTimeZone"] = v("tz")
    if windows or local.get("localTimeZoneDetection") or v("tz", "UTC") != "UTC":
        request["communicationTimeConfig"] = {"localTimeZoneConfig": local, **windows}
    d.fields.update({"communicationTimeConfig.localTimeZoneConfig.defaultTimeZone": "tz",
                     "localTimeZoneConfig.defaultTimeZone": "tz",
                     "communicationTimeConfig.localTimeZoneConfig.localTimeZoneDetection": "tz_detection",
                     "localTimeZoneConfig": "tz_mode", "communicationTimeConfig": "windows"})


def _schedule(ctx: Context, d: Draft) -> None:
    """Start now or later, expiry, and repeats."""
    v = ctx.value
    request = d.request
    d.start_now = v("start", "now") == "now"
    start = ctx.now if d.start_now else instant(v("start_at"), "start_at", d, "Start") if v("start_at") else None
    end = instant(v("end_at"), "end_at", d, "Expiry") if v("end_at") else None
    repeats = v("repeats") == "repeats"
    if not d.start_now and not v("start_at"):
        d.problem("start_at", "Choose when the campaign starts, or Start now")
    if end is not None or repeats or not d.start_now:
        schedule: dict = {"startTime": start, "endTime": end}
        if repeats:
            schedule["refreshFrequency"] = v("frequency")
        request["schedule"] = schedule
    d.fields.update({"schedule.startTime": "start_at", "schedule.endTime": "end_at",
                     "schedule.refreshFrequency": "frequency", "schedule": "end_at"})
    return d


def new_trigger(ctx: Context, d: Draft, domain_name: str) -> dict:
    """Seed 000's event trigger: the event source (object type), attribute conditions (each row one
    dimension, combined by the logical operator), and the per-profile limit."""
    v = ctx.value
    dimensions = []
    for n, row in rows(ctx, "cond"):
        attribute = {"FieldName" if first(row, "kind") == "FieldName" else "Source": first(row, "attribute"),
                     "ComparisonOperator": first(row, "operator"),
                     "Values": [value.strip() for value in first(row, "values").split(",") if value.strip()]}
        dimensions.append({"ObjectAttributes": [attribute]})
        base = f"EventTriggerConditions.1.EventTriggerDimensions.{len(dimensions)}"
        d.fields.update({base: f"cond-{n}-attribute", f"{base}.ObjectAttributes.1.Source": f"cond-{n}-attribute",
                         f"{base}.ObjectAttributes.1.FieldName": f"cond-{n}-attribute",
                         f"{base}.ObjectAttributes.1.ComparisonOperator": f"cond-{n}-operator",
                         f"{base}.ObjectAttributes.1.Values": f"cond-{n}-values"})
    trigger: dict = {"DomainName": domain_name, "EventTriggerName": v("trigger_name"),
                     "ObjectTypeName": v("event_object_type"),
                     "EventTriggerConditions": [{"EventTriggerDimensions": dimensions,
                                                 "LogicalOperator": v("event_logic", "ALL")}]}
    if v("event_segment"):
        trigger["SegmentFilter"] = v("event_segment")
    if v("event_max"):
        trigger["EventTriggerLimits"] = {"Periods": [{
            "MaxInvocationsPerProfile": whole(v("event_max"), "event_max", d, "Communications per profile"),
            "Unit": v("event_unit", "DAYS"), "Value": whole(v("event_period", "1"), "event_period", d, "Period")}]}
    d.fields.update({"EventTriggerName": "trigger_name", "ObjectTypeName": "event_object_type",
                     "EventTriggerConditions": "conditions", "EventTriggerConditions.1": "conditions",
                     "EventTriggerConditions.1.EventTriggerDimensions": "conditions", "SegmentFilter": "event_segment",
                     "EventTriggerLimits": "event_max", "DomainName": "event_domain"})
    return trigger


def check(ctx: Context, d: Draft) -> None:
    """Everything the API would refuse, found before anything is created: the model's constraints
    on each request, then the same domain rules CreateCampaign and CreateContactFlow apply."""
    operations = ctx.console.operations
    request = dict(d.request)
    if d.flow_content is not None:
        # The flow's ARN is known only once it exists: a placeholder of its form stands in for the check.
        request["connectCampaignFlowArn"] = f"arn:aws:connect:{ctx.console.region}:000000000000:instance/x/contact-flow/x"
    if d.new_trigger is not None:
        try:
            operations.check("customer-profiles", "CreateEventTrigger", d.new_trigger)
        except OperationError as error:
            d.place(error, "conditions")
    try:
        operations.check(V2, "CreateCampaign", request)
    except OperationError as error:
        d.place(error, "")
        return
    try:
        if "schedule" in request:
            Schedule.from_view(request["schedule"])
        if "communicationTimeConfig" in request:
            check_communication_time(request["communicationTimeConfig"])
        limits = (request.get("communicationLimitsOverride") or {}).get("allChannelSubtypes")
        check_communication_limits(limits, "communicationLimitsOverride.allChannelSubtypes")
    except DomainError as error:
        d.place(error, "")
    if d.flow_content is not None:
        for problem in content_problems("CAMPAIGN", d.flow_content):
            found = re.match(r"ReattemptRules\[(\d+)\]", problem)
            d.problem(d.fields.get(f"ReattemptRules[{found.group(1)}]", "retries") if found else "retries",
                      f"InvalidContactFlowException: {problem}")
        try:
            operations.call("connect", "DescribeInstance", {"InstanceId": request["connectInstanceId"]},
                            ctx.console.region)
        except OperationError as error:
            d.problem("instance", f"Reattempt rules are kept in a contact flow of this Amazon Connect instance, "
                                  f"so it must exist: {error.code}: {error.message}")


def publish(ctx: Context, d: Draft, *, start: bool) -> tuple[str | None, list[str]]:
    """Creates what the draft describes: the reattempt flow, the campaign, the trigger links; then
    starts it (Publish) unless it is kept as a Draft. Returns (campaign id, what went wrong)."""
    operations, region = ctx.console.operations, ctx.console.region
    request = dict(d.request)
    if request.get("schedule") and d.start_now:
        request["schedule"] = {**request["schedule"], "startTime": ctx.now}
    flow = trigger = None
    try:
        if d.new_trigger is not None:
            trigger = operations.call("customer-profiles", "CreateEventTrigger", d.new_trigger, region)
        if d.flow_content is not None:
            flow = operations.call("connect", "CreateContactFlow", {
                "InstanceId": request["connectInstanceId"], "Type": "CAMPAIGN", "Content": d.flow_content,
                "Name": f"{request['name'][:60]} reattempt rules {uuid.uuid4().hex[:8]}",
                "Description": f"Reattempt rules of campaign {request['name'][:200]}"}, region)
            request["connectCampaignFlowArn"] = flow["ContactFlowArn"]
        created = operations.call(V2, "CreateCampaign", request, region)
    except OperationError as error:
        # Nothing half-made is left behind.
        if flow is not None:
            _quietly(ctx, "connect", "DeleteContactFlow",
                     {"InstanceId": request["connectInstanceId"], "ContactFlowId": flow["ContactFlowId"]})
        if trigger is not None:
            _quietly(ctx, "customer-profiles", "DeleteEventTrigger",
                     {"DomainName": d.new_trigger["DomainName"], "EventTriggerName": d.new_trigger["EventTriggerName"]})
        return None, [f"{error.code}: {error.message}"]
    problems = []
    by_domain: dict[str, list[str]] = {}
    for domain, trigger in d.triggers:
        by_domain.setdefault(domain, []).append(trigger)
    for domain, names in by_domain.items():
        try:
            operations.call("customer-profiles", "PutIntegration",
                            {"DomainName": domain, "Uri": created["arn"], "EventTriggerNames": names}, region)
        except OperationError as error:
            problems.append(f"The campaign was created, but linking its event triggers failed: "
                            f"{error.code}: {error.message}")
    if start and not problems:
        try:
            operations.call(V2, "StartCampaign", {"id": created["id"]}, region)
        except OperationError as error:
            problems.append(f"The campaign was created as a Draft, but starting it failed: {error.code}: {error.message}")
    return created["id"], problems


def _quietly(ctx: Context, service: str, operation: str, params: dict) -> None:
    try:
        ctx.console.operations.call(service, operation, params, ctx.console.region)
    except OperationError:
        pass


def preview(ctx: Context, d: Draft) -> dict | None:
    """The forecast of the draft against its segment now: nothing is written."""
    source = d.request.get("source") or {}
    if "customerProfilesSegmentArn" not in source:
        return None
    schedule = Schedule.from_view(d.request["schedule"]) if d.request.get("schedule") else None
    campaign = Campaign(id="forecast", arn="forecast", region=ctx.console.region, name=d.request["name"],
                        connect_instance_id=d.request["connectInstanceId"], created_at=ctx.now,
                        channel_subtype_config=d.request["channelSubtypeConfig"], source=source, schedule=schedule,
                        communication_time_config=d.request.get("communicationTimeConfig"),
                        communication_limits_override=d.request.get("communicationLimitsOverride"))
    begin = ctx.now if d.start_now or schedule is None else schedule.start_time
    result = forecast(ctx.console.database, campaign, begin, seed=ctx.console.seed, rate=ctx.console.sim_rate)
    return result.view()


# --- options the form offers, read through the API --------------------------------------------------
def options(ctx: Context) -> dict:
    ops, region = ctx.console.operations, ctx.console.region

    def listing(service: str, operation: str, params: dict, key: str) -> list[dict]:
        try:
            return ops.call(service, operation, params, region).get(key) or []
        except OperationError:
            return []

    segments, domains, triggers, object_types = [], [], [], []
    for domain in listing("customer-profiles", "ListDomains", {"MaxResults": 100}, "Items"):
        name = domain["DomainName"]
        for item in listing("customer-profiles", "ListSegmentDefinitions", {"DomainName": name, "MaxResults": 100},
                            "Items"):
            segments.append({"arn": item["SegmentDefinitionArn"], "label": f"{item['DisplayName']} ({name})"})
        for item in listing("customer-profiles", "ListEventTriggers", {"DomainName": name, "MaxResults": 100},
                            "Items"):
            triggers.append({"domain": name, "name": item["EventTriggerName"],
                             "object_type": item.get("ObjectTypeName", "")})
        for item in listing("customer-profiles", "ListProfileObjectTypes", {"DomainName": name, "MaxResults": 100},
                            "Items"):
            object_types.append({"domain": name, "name": item["ObjectTypeName"]})
        # The domain's ARN as CreateDomain made it (no Customer Profiles output carries it).
        domain_arn = f"arn:aws:profile:{region}:{ops.account_id}:domains/{name}"
        domains.append({"name": name, "arn": domain_arn})
    templates = {"EMAIL": [], "SMS": []}
    for base in listing("qconnect", "ListKnowledgeBases", {"maxResults": 100}, "knowledgeBaseSummaries"):
        for item in listing("qconnect", "ListMessageTemplates", {"knowledgeBaseId": base["knowledgeBaseId"],
                                                                 "maxResults": 100}, "messageTemplateSummaries"):
            templates.setdefault(item.get("channelSubtype", ""), []).append(
                {"arn": item["messageTemplateArn"], "label": f"{item['name']} ({base['name']})"})
    instances = listing("connect", "ListInstances", {"MaxResults": 10}, "InstanceSummaryList")
    numbers = listing("connect", "ListPhoneNumbersV2", {"MaxResults": 100}, "ListPhoneNumbersSummaryList")
    return {"segments": segments, "domains": domains, "triggers": triggers, "object_types": object_types,
            "operators": OPERATORS, "period_units": PERIOD_UNITS, "templates": templates,
            "instances": instances, "numbers": numbers, "zones": sorted(available_timezones()),
            "days": DAY_CHOICES, "channels": CHANNEL_CHOICES, "main_channels": MAIN_CHANNELS, "dialers": DIALERS,
            "frequencies": FREQUENCIES, "wait_units": WAIT_UNITS, "dispositions": DISPOSITION_CODES}


# --- pages -------------------------------------------------------------------------------------------
def form_values(ctx: Context) -> dict[str, list[str]]:
    return {k: v for k, v in (ctx.form or {}).items() if k != "csrf" and k != "step"}


# How many rows of each group a fresh form shows (more come with "Add a row", or by reposting).
FRESH_ROWS = {"limit": 2, "retry": 1, "window": 2, "exception": 1, "cond": 1}


def form_helpers(values: dict[str, list[str]]) -> dict:
    """What the form template reads the posted values with."""

    def value(name: str, default: str = "") -> str:
        return (values.get(name) or [default])[0]

    def chosen(name: str, option: str, default: bool = False) -> bool:
        return option in values[name] if name in values else default

    def row_numbers(group: str) -> list[int]:
        numbers = sorted({int(m.group(2)) for m in map(ROW.match, values) if m and m.group(1) == group})
        return numbers or list(range(1, FRESH_ROWS[group] + 1))

    return {"value": value, "chosen": chosen, "row_numbers": row_numbers, "values": values}


def new(ctx: Context) -> Response:
    return ctx.render("wizard.html", errors={}, **form_helpers({}), **options(ctx))


def submit(ctx: Context) -> Response:
    step = ctx.value("step", "review")
    draft = read_form(ctx)
    if step != "edit" and not draft.errors:
        check(ctx, draft)
    if step == "edit" or draft.errors:
        return ctx.render("wizard.html", errors=draft.errors,
                          **form_helpers(form_values(ctx)), **options(ctx))
    if step == "review":
        try:
            outlook = preview(ctx, draft)
        except (DomainError, ValueError) as error:
            outlook = {"error": str(error)}
        return ctx.render("review.html", draft=draft, values=form_values(ctx), forecast=outlook,
                          channel=MAIN_CHANNELS.get(ctx.value("channel", "email"), ""),
                          rules=json.loads(draft.flow_content)["ReattemptRules"] if draft.flow_content else [])
    campaign_id, problems = publish(ctx, draft, start=step == "publish")
    if campaign_id is None:
        draft.problem("", problems[0])
        return ctx.render("wizard.html", errors=draft.errors, **form_helpers(form_values(ctx)),
                          **options(ctx))
    done = "published" if step == "publish" else "saved as a Draft"
    if problems:
        return ctx.redirect(f"{PREFIX}/campaigns/{campaign_id}", problem=" ".join(problems))
    return ctx.redirect(f"{PREFIX}/campaigns/{campaign_id}", flash=f"Campaign {draft.request['name']} {done}.")


ROUTES = [
    ("/campaigns/new", new, ["GET"], False),
    ("/campaigns/new", submit, ["POST"], False),
]
