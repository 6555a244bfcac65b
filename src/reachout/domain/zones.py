"""A recipient's time zone(s): the campaign's default, or the recipient's own, inferred from US ZIP
codes (zipcodes), phone numbers at exchange level (phonenumbers) and, failing those, the US state (us).

Several candidate zones may remain (a ZIP code in one zone and a mobile number from another, or a
state spanning two zones); the engine then contacts only when the window is open in all of them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
import us
import zipcodes
from phonenumbers import timezone as phone_zones

from reachout.domain.endpoint import parsed_number
from reachout.domain.profile import ADDRESS_FIELDS, PHONE_FIELDS

_ZIP = re.compile(r"(\d{5})(?:-\d{4})?")
_UNKNOWN = "Etc/Unknown"


@dataclass(frozen=True)
class Zones:
    names: tuple[str, ...]  # sorted, never empty when reason is None
    reason: str | None = None  # why none could be found


def recipient_zones(profile: dict, config: dict | None) -> Zones:
    """The zones a campaign's localTimeZoneConfig assigns to this profile."""
    return zones_from(located(profile), config)


def located(profile: dict) -> dict[str, list]:
    """Where the profile's addresses and phone numbers place the recipient, in the standard order
    (Address before ShippingAddress..., PhoneNumber before MobilePhoneNumber...): per address its
    ZIP code's zones and its state's, per number its exchange's. Derived once when the profile is
    written; zones_from applies a campaign's configuration to it."""
    addresses = [profile[f] for f in ADDRESS_FIELDS if f in profile]
    return {
        "addresses": [[sorted(zip_zones(a.get("PostalCode", ""), a.get("Country", ""))),
                       sorted(state_zones(a.get("State", "")))] for a in addresses],
        "numbers": [sorted(number_zones(profile[f])) for f in PHONE_FIELDS if f in profile],
    }


def zones_from(place: dict[str, list], config: dict | None) -> Zones:
    config = config or {}
    default = config.get("defaultTimeZone")
    detection = config.get("localTimeZoneDetection") or []
    if not detection:
        return Zones((default,)) if default else Zones((), "the campaign has no time zone configured")
    # PRIMARY_ONLY reads the recipient's primary address and number: the first the profile has.
    addresses, numbers = place["addresses"], place["numbers"]
    if config.get("localTimeZoneDetectionScope") != "ALL_AVAILABLE":
        addresses, numbers = addresses[:1], numbers[:1]
    found: set[str] = set()
    if "ZIP_CODE" in detection:
        for by_zip, _ in addresses:
            found.update(by_zip)
    if "AREA_CODE" in detection:
        for by_number in numbers:
            found.update(by_number)
    if not found and "ZIP_CODE" in detection:  # the state narrows it down when nothing finer did
        for _, by_state in addresses:
            found.update(by_state)
    if found:
        return Zones(tuple(sorted(found)))
    if default:
        return Zones((default,))
    return Zones((), "no time zone could be inferred: no US ZIP code, phone area code or US state "
                     "that locates the recipient, and no defaultTimeZone")


@lru_cache(maxsize=100_000)
def zip_zones(postal_code: str, country: str = "") -> frozenset[str]:
    found = _ZIP.fullmatch(postal_code.strip())
    if not found or country.strip().upper() not in ("", "US", "USA", "UNITED STATES"):
        return frozenset()
    try:
        return frozenset(place["timezone"] for place in zipcodes.matching(found.group(1)) if place.get("timezone"))
    except (ValueError, TypeError):
        return frozenset()


def number_zones(number: str) -> frozenset[str]:
    """Zones of a phone number's exchange; none for numbers that locate nobody (toll-free, mobile
    ranges with no geography, invalid numbers)."""
    parsed = parsed_number(number)
    if parsed is None or phonenumbers.number_type(parsed) in _NOWHERE:
        return frozenset()
    zones = phone_zones.time_zones_for_number(parsed)
    return frozenset(z for z in zones if z != _UNKNOWN)


_NOWHERE = {phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PREMIUM_RATE,
            phonenumbers.PhoneNumberType.SHARED_COST, phonenumbers.PhoneNumberType.UAN,
            phonenumbers.PhoneNumberType.VOIP, phonenumbers.PhoneNumberType.PERSONAL_NUMBER}


@lru_cache(maxsize=1000)
def state_zones(state: str) -> frozenset[str]:
    found = us.states.lookup(state.strip()) if state.strip() else None
    return frozenset(found.time_zones) if found and found.time_zones else frozenset()
