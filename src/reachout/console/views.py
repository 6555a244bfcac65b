"""How campaigns are named on the console's pages: states, channels and sources as seed 002 names
them, and the few formatting filters the templates share."""
from __future__ import annotations

from datetime import datetime, timezone

from reachout.domain.campaign import Campaign

# The API's states -> the console's (seed 002: Draft, Active, Stopped, Error, Completed; plus Paused).
STATE_NAMES = {"Initialized": "Draft", "Running": "Active", "Paused": "Paused", "Stopped": "Stopped",
               "Failed": "Error", "Completed": "Completed"}
STATE_OF_NAME = {name: state for state, name in STATE_NAMES.items()}
# Which actions each state offers (the API decides: a stale page gets the API's refusal).
ACTIONS = {"Initialized": ("start",), "Running": ("pause", "stop"), "Paused": ("resume", "stop")}
ACTION_OPERATIONS = {"start": "StartCampaign", "pause": "PauseCampaign", "resume": "ResumeCampaign",
                     "stop": "StopCampaign", "delete": "DeleteCampaign"}
CHANNEL_NAMES = {"email": "Email", "sms": "SMS", "whatsApp": "WhatsApp", "telephony": "Voice"}


def channel_names(config: dict) -> list[str]:
    """'Email', 'SMS', 'Automated voice' or 'Agent assisted voice' (seed 002's channel names)."""
    names = []
    for key, value in (config or {}).items():
        if key == "telephony":
            mode = next(iter((value or {}).get("outboundMode") or {}), "")
            names.append("Automated voice" if mode == "agentless" else "Agent assisted voice")
        else:
            names.append(CHANNEL_NAMES.get(key, key))
    return names


def source_name(source: dict | None) -> str:
    if not source:
        return "Outbound requests"
    if "customerProfilesSegmentArn" in source:
        return "Segment " + source["customerProfilesSegmentArn"].rsplit("/", 1)[-1]
    if "eventTrigger" in source:
        return "Customer event (" + source["eventTrigger"].get("customerProfilesDomainArn", "").rsplit("/", 1)[-1] + ")"
    return next(iter(source))


def state_name(state: str) -> str:
    return STATE_NAMES.get(state, state)


def schedule_text(campaign: Campaign, now: datetime | None = None) -> str:
    schedule = campaign.schedule
    if schedule is None:
        if campaign.state == "Initialized":
            return "Starts when published"
        # A segment is done once its members are; events and requests keep coming until it is stopped.
        segment = "customerProfilesSegmentArn" in (campaign.source or {})
        return f"No schedule: runs until {'done' if segment else 'stopped'}"
    text = f"{when(schedule.start_time)} to {when(schedule.end_time)}"
    if now is not None and campaign.state == "Running" and schedule.start_time > now:
        text = f"Scheduled: {text}"
    if schedule.refresh_frequency:
        text += f", repeats every {duration(schedule.refresh_frequency)}"
    return text


def when(moment: datetime | str | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def duration(text: str | None) -> str:
    """P1D -> 1 day, PT2H30M -> 2 h 30 min: ISO 8601 durations as people read them."""
    if not text:
        return ""
    from reachout.domain.schedule import parse_duration
    try:
        span = parse_duration(text, "duration")
    except Exception:
        return text
    days, rest = span.days, span.seconds
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if rest // 3600:
        parts.append(f"{rest // 3600} h")
    if rest % 3600 // 60:
        parts.append(f"{rest % 3600 // 60} min")
    return " ".join(parts) or "0"


# Channel settings (defaultOutboundConfig members) as the console names them.
SETTING_NAMES = {"connectSourceEmailAddress": "Sender", "sourceEmailAddressDisplayName": "Sender display name",
                 "wisdomTemplateArn": "Template", "connectSourcePhoneNumberArn": "Origination number",
                 "connectContactFlowId": "Contact flow", "connectSourcePhoneNumber": "Caller ID",
                 "answerMachineDetectionConfig": "Answering machine detection", "ringTimeout": "Ring timeout (s)"}

GLOBALS = {"SETTING_NAMES": SETTING_NAMES, "state_name": state_name, "channel_names": channel_names, "source_name": source_name,
           "schedule_text": schedule_text, "ACTIONS": ACTIONS}
FILTERS = {"when": when, "duration": duration}
