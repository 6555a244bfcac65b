"""Where a channel reaches a recipient: the profile field it takes the endpoint from, in a fixed
order, and whether that endpoint is usable."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

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
    fields = ENDPOINT_FIELDS[channel]
    rejected = []
    for field in fields:
        if field not in profile:
            continue
        address = valid_email(profile[field]) if channel == "email" else valid_number(profile[field])
        if address:
            return Endpoint(address, field)
        rejected.append(f"{field} '{profile[field]}'")
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
