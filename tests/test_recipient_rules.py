"""Endpoints and time zones of recipients, from their profiles (domain rules, no server)."""
from __future__ import annotations

import pytest

from reachout.domain.endpoint import endpoint_for
from reachout.domain.zones import recipient_zones

LOCAL = {"localTimeZoneDetection": ["ZIP_CODE", "AREA_CODE"]}


@pytest.mark.parametrize("profile, config, zones", [
    ({"Address": {"PostalCode": "10001"}}, LOCAL, ("America/New_York",)),
    ({"Address": {"PostalCode": "78701-1234"}}, LOCAL, ("America/Chicago",)),
    ({"PhoneNumber": "+13125550100"}, LOCAL, ("America/Chicago",)),
    # A New York ZIP and a Chicago number: both stay, the engine intersects their windows.
    ({"Address": {"PostalCode": "10001"}, "PhoneNumber": "+13125550100"}, LOCAL,
     ("America/Chicago", "America/New_York")),
    # A state spanning two zones is the fallback when nothing finer locates the recipient.
    ({"Address": {"State": "TX"}}, LOCAL, ("America/Chicago", "America/Denver")),
    ({"PhoneNumber": "+442079460000"}, LOCAL, ("Europe/London",)),
    # Nothing locates a toll-free number, so the default applies.
    ({"PhoneNumber": "+18005550100"}, {**LOCAL, "defaultTimeZone": "America/Phoenix"}, ("America/Phoenix",)),
    ({"PhoneNumber": "+13125550100"}, {"defaultTimeZone": "Europe/Paris"}, ("Europe/Paris",)),
])
def test_zones_follow_zip_code_then_exchange_then_state(profile, config, zones):
    found = recipient_zones(profile, config)
    assert found.names == zones and found.reason is None


def test_primary_only_reads_the_first_address_and_number_the_profile_has():
    profile = {"Address": {"PostalCode": "10001"}, "ShippingAddress": {"PostalCode": "90001"},
               "PhoneNumber": "+12125550100", "MobilePhoneNumber": "+13125550100"}
    assert recipient_zones(profile, {**LOCAL, "localTimeZoneDetectionScope": "PRIMARY_ONLY"}).names == \
        ("America/New_York",)
    assert recipient_zones(profile, {**LOCAL, "localTimeZoneDetectionScope": "ALL_AVAILABLE"}).names == \
        ("America/Chicago", "America/Los_Angeles", "America/New_York")
    # Without a PhoneNumber, the mobile number is the primary one.
    assert recipient_zones({"MobilePhoneNumber": "+13125550100"}, LOCAL).names == ("America/Chicago",)


def test_a_recipient_no_zone_can_be_inferred_for_is_dropped_with_a_reason():
    found = recipient_zones({"PhoneNumber": "+18005550100", "Address": {"PostalCode": "SW1A 1AA"}}, LOCAL)
    assert found.names == () and "no time zone" in found.reason


@pytest.mark.parametrize("channel, profile, address, field", [
    ("email", {"EmailAddress": "ann@example.com"}, "ann@example.com", "EmailAddress"),
    ("email", {"EmailAddress": "jane.doe@abc!com", "BusinessEmailAddress": "jane@corp.example.org"},
     "jane@corp.example.org", "BusinessEmailAddress"),
    ("sms", {"PhoneNumber": "+13125550100", "MobilePhoneNumber": "+447911123456"}, "+447911123456",
     "MobilePhoneNumber"),
    ("telephony", {"PhoneNumber": "+1 (312) 555-0100"}, "+13125550100", "PhoneNumber"),
])
def test_the_first_valid_endpoint_in_field_order_is_used(channel, profile, address, field):
    assert (endpoint_for(channel, profile).address, endpoint_for(channel, profile).field) == (address, field)


@pytest.mark.parametrize("channel, profile, reason", [
    ("email", {"EmailAddress": "jane.doe@abc!com"}, "invalid endpoint"),
    ("telephony", {"PhoneNumber": "555-0100"}, "invalid endpoint"),
    ("sms", {"EmailAddress": "ann@example.com"}, "no endpoint"),
])
def test_an_unusable_endpoint_drops_the_recipient_with_a_reason(channel, profile, reason):
    endpoint = endpoint_for(channel, profile)
    assert endpoint.address is None and endpoint.reason.startswith(reason)
