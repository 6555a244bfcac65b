"""Where a channel reaches a recipient: the profile field it takes the endpoint from, in a fixed
order, and whether that endpoint is usable."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from reachout.domain.profile import EMAIL_FIELDS, PHONE_FIELDS

# The order in which a channel looks for its endpoint on the profile.
ENDPOINT_FIELDS = {
    "telephony": ("PhoneNumber", "MobilePhoneNumber", "HomePhoneNumber", "BusinessPhoneNumber"),
    "sms": ("MobilePhoneNumber", "PhoneNumber", "HomePhoneNumber", "BusinessPhoneNumber"),
    "whatsApp": ("MobilePhoneNumber", "PhoneNumber"),
    "email": ("EmailAddress", "PersonalEmailAddress", "BusinessEmailAddress"),
}
# local@domain.tld: no spaces or second @, domain labels of letters, digits and inner hyphens.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}")


@dataclass(frozen=True)
class Endpoint:
    address: str | None  # E.164 number or email address; None when unusable
    field: str | None = None  # the profile field it came from
    reason: str | None = None  # why there is none


def endpoint_for(channel: str, profile: dict) -> Endpoint:
    """The first valid endpoint among the channel's fields; a reason when there is none."""
    return choose_endpoint(channel, checked_endpoints(profile))


def checked_endpoints(profile: dict) -> dict[str, list]:
    """field -> [the value as given, the usable endpoint or None], for every endpoint field the
    profile has: what choose_endpoint needs, derived once when the profile is written."""
    checked = {}
    for field in PHONE_FIELDS:
        if field in profile:
            checked[field] = [profile[field], valid_number(profile[field])]
    for field in EMAIL_FIELDS:
        if field in profile:
            checked[field] = [profile[field], valid_email(profile[field])]
    return checked


def choose_endpoint(channel: str, checked: dict[str, list]) -> Endpoint:
    fields = ENDPOINT_FIELDS[channel]
    rejected = []
    for field in fields:
        found = checked.get(field)
        if found is None:
            continue
        if found[1]:
            return Endpoint(found[1], field)
        rejected.append(f"{field} '{found[0]}'")
    if rejected:
        kind = "email address" if channel == "email" else "phone number (E.164)"
        return Endpoint(None, reason=f"invalid endpoint: {', '.join(rejected)} is not a valid {kind}")
    return Endpoint(None, reason=f"no endpoint: the profile has none of {', '.join(fields)}")


def valid_number(text: str) -> str | None:
    parsed = parsed_number(text)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) if parsed else None


@lru_cache(maxsize=8192)
def parsed_number(text: str) -> phonenumbers.PhoneNumber | None:
    """The number if it is a valid international one. Cached: planning asks for the same number twice
    (endpoint and time zone) and parsing is the costliest step."""
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def valid_email(text: str) -> str | None:
    text = text.strip()
    return text if len(text) <= 254 and _EMAIL.fullmatch(text) else None
