"""A customer profile: its standard fields, addresses and custom attributes, and how updates,
search keys and typed attribute values follow from them.

A profile is a dict in the Customer Profiles vocabulary ({"ProfileId": ..., "FirstName": ...,
"Address": {"City": ...}, "Attributes": {...}}); absent fields are absent, never empty strings.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone

from reachout.domain.key_values import EMAIL_ADDRESS, PHONE_NUMBER, normal_key_value

# Standard text fields: API name -> store column.
TEXT_FIELDS = {
    "AccountNumber": "account_number", "AdditionalInformation": "additional_information",
    "PartyType": "party_type", "BusinessName": "business_name", "FirstName": "first_name",
    "MiddleName": "middle_name", "LastName": "last_name", "BirthDate": "birth_date", "Gender": "gender",
    "PhoneNumber": "phone_number", "MobilePhoneNumber": "mobile_phone_number",
    "HomePhoneNumber": "home_phone_number", "BusinessPhoneNumber": "business_phone_number",
    "EmailAddress": "email_address", "PersonalEmailAddress": "personal_email_address",
    "BusinessEmailAddress": "business_email_address", "PartyTypeString": "party_type_string",
    "GenderString": "gender_string", "ProfileType": "profile_type",
}
# Structured fields: API name -> store column.
ADDRESS_FIELDS = {"Address": "address", "ShippingAddress": "shipping_address",
                  "MailingAddress": "mailing_address", "BillingAddress": "billing_address"}
ADDRESS_PARTS = ("Address1", "Address2", "Address3", "Address4", "City", "County", "State", "Province",
                 "Country", "PostalCode")
OTHER_FIELDS = {"Attributes": "attributes", "EngagementPreferences": "engagement_preferences"}
COLUMNS = {**TEXT_FIELDS, **ADDRESS_FIELDS, **OTHER_FIELDS}

PHONE_FIELDS = ("PhoneNumber", "MobilePhoneNumber", "HomePhoneNumber", "BusinessPhoneNumber")
EMAIL_FIELDS = ("EmailAddress", "PersonalEmailAddress", "BusinessEmailAddress")
# Search keys every domain has, derived from standard fields (custom keys come from object types).
PREDEFINED_KEYS = ("_phone", "_email", "_account", "_fullName")
# The standard fields each predefined key follows (_fullName: first, middle and last name together).
KEY_FIELDS = {"_phone": PHONE_FIELDS, "_email": EMAIL_FIELDS, "_account": ("AccountNumber",)}
# A predefined key an object gives from a field that fills none of those standard fields (a phone kept
# only on the object) is held under this suffix: the rows under the key's own name follow the profile's
# fields and are rebuilt with every write of it, and must not take the object's value with them.
# (Key names are [a-zA-Z0-9_-]+ in the API, so no key a client names can end so.)
GIVEN_SUFFIX = "#object"
# The kind of value (`reachout.domain.key_values`) of the predefined keys that have one.
PREDEFINED_KINDS = {"_phone": PHONE_NUMBER, "_email": EMAIL_ADDRESS}


def new_profile(profile_id: str, fields: dict) -> dict:
    """A profile from CreateProfile-style fields (empty values mean absent)."""
    return apply_update({"ProfileId": profile_id}, fields)


def apply_update(profile: dict, changes: dict) -> dict:
    """UpdateProfile semantics: an omitted field stays, an empty string clears it; addresses and
    attributes are updated part by part in the same way."""
    updated = dict(profile)
    for name, value in changes.items():
        if name in TEXT_FIELDS:
            _set(updated, name, value)
        elif name in ADDRESS_FIELDS or name == "Attributes":
            merged = dict(updated.get(name, {}))
            for part, part_value in value.items():
                _set(merged, part, part_value)
            _set(updated, name, merged)
        elif name == "EngagementPreferences":
            _set(updated, name, value)
    return updated


def _set(target: dict, key: str, value) -> None:
    if value in ("", None, {}, []):
        target.pop(key, None)
    else:
        target[key] = value


def search_keys(profile: dict) -> set[tuple[str, str]]:
    """The predefined search keys this profile answers to, as (key name, value); phone numbers and
    email addresses in their normal form (`normal_key_value`)."""
    keys = {("_phone", normal_key_value(PHONE_NUMBER, profile[f])) for f in PHONE_FIELDS if f in profile}
    keys |= {("_email", normal_key_value(EMAIL_ADDRESS, profile[f])) for f in EMAIL_FIELDS if f in profile}
    if "AccountNumber" in profile:
        keys.add(("_account", profile["AccountNumber"]))
    full_name = " ".join(profile[f] for f in ("FirstName", "MiddleName", "LastName") if f in profile)
    if full_name:
        keys.add(("_fullName", full_name))
    return {(name, value[:255]) for name, value in keys}


def key_names(name: str) -> tuple[str, ...]:
    """The names a key's values are held under: a predefined key's own and its object-given one."""
    return (name, name + GIVEN_SUFFIX) if name in PREDEFINED_KEYS else (name,)


_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


def as_number(value: str) -> float | None:
    """A custom attribute's value read as a number, the way segment conditions compare it."""
    text = value.strip()
    if not _NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def as_instant(value: str) -> datetime | None:
    """A date (2026-01-05) or ISO 8601 date-time read as a UTC instant; naive times are UTC."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00+05:00 is before year 1 in UTC
        return None
