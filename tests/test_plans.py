"""Planning by reach class: a snapshot plans each class of reach once and enters its members in SQL,
and their contacts are made from the plans when due. Every member must get exactly the contacts
that planning the member alone gives (Planner.plan on the profile's own reach: the plain
reference), whatever the profiles and the campaign's channels, zones and windows."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reachout.domain.campaign import RUNNING, Campaign
from reachout.domain.reach import reach_class, reach_of
from reachout.engine import campaigns
from reachout.engine.planning import Planner
from reachout.store import profile_domains, segments
from reachout.store.db import open_database
from reachout.store.profiles import new_id, save_profile
from reachout.store.tables import contacts, participants
from sqlalchemy import select

REGION, ACCOUNT = "us-east-1", "123456789012"
START = datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc)  # a Monday: 09:00 in New York, 14:00 in London

EMAILS = (" Ann@Example.com ", "bob@example.org", "two@@example.com", "not an address")
PHONES = ("+12125550100", "+1 (312) 555-0101", " +44 7911 123456", "+14155550102", "+447700900123", "+18005550100",
          "(212) 555-0100",
          "+61412345678")
ADDRESSES = ({"PostalCode": "10001"}, {"PostalCode": "60601", "State": "IL"}, {"State": "TX"},
             {"PostalCode": "94103", "Country": "US"}, {"PostalCode": "SW1A 1AA", "Country": "GB"}, {"City": "Paris"})

profiles_strategy = st.lists(st.fixed_dictionaries({}, optional={
    "EmailAddress": st.sampled_from(EMAILS), "PersonalEmailAddress": st.sampled_from(EMAILS),
    "PhoneNumber": st.sampled_from(PHONES), "MobilePhoneNumber": st.sampled_from(PHONES),
    "HomePhoneNumber": st.sampled_from(PHONES), "Address": st.sampled_from(ADDRESSES),
    "ShippingAddress": st.sampled_from(ADDRESSES)}), min_size=1, max_size=12)
ZONE_CONFIGS = ({"defaultTimeZone": "America/New_York"}, {"localTimeZoneDetection": ["ZIP_CODE"]},
                {"localTimeZoneDetection": ["AREA_CODE", "ZIP_CODE"], "localTimeZoneDetectionScope": "ALL_AVAILABLE"},
                {"localTimeZoneDetection": ["AREA_CODE"], "defaultTimeZone": "Europe/London"})
WINDOWS = (None, ("T09:00", "T17:00"), ("T20:00", "T21:00"), ("T00:00", "T23:59"))
campaign_strategy = st.tuples(
    st.lists(st.sampled_from(["email", "sms", "telephony"]), min_size=1, max_size=3, unique=True),
    st.sampled_from(ZONE_CONFIGS),
    st.fixed_dictionaries({"email": st.sampled_from(WINDOWS), "sms": st.sampled_from(WINDOWS),
                           "telephony": st.sampled_from(WINDOWS)}),
    st.sampled_from([START, START + timedelta(hours=9), START + timedelta(days=5)]))


@pytest.fixture(scope="module")
def database(backend):
    database = open_database(backend)
    yield database
    database.dispose()


def campaign_of(channels: list[str], zone_config: dict, windows: dict, segment_arn: str) -> Campaign:
    campaign_id = str(uuid.uuid4())
    time_config = {"localTimeZoneConfig": zone_config}
    for channel in channels:
        if windows[channel]:
            start, end = windows[channel]
            days = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")
            hours = {d: [{"startTime": start, "endTime": end}] for d in days}
            time_config[channel] = {"openHours": {"dailyHours": hours}}
    return Campaign(id=campaign_id, arn=f"arn:aws:connect-campaigns:{REGION}:{ACCOUNT}:campaign/{campaign_id}",
                    region=REGION, name="plans", connect_instance_id="inst-plans", created_at=START, state=RUNNING,
                    channel_subtype_config={channel: {} for channel in channels},
                    source={"customerProfilesSegmentArn": segment_arn}, communication_time_config=time_config)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=profiles_strategy, setup=campaign_strategy)
def test_every_member_gets_the_contacts_planning_it_alone_gives(database, people, setup):
    channels, zone_config, windows, now = setup
    name = f"d{uuid.uuid4().hex[:10]}"
    arn = f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{name}/segment-definitions/everyone"
    campaign = campaign_of(channels, zone_config, windows, arn)
    with database.engine.connect() as conn:
        conn.rollback()
        conn.begin()
        domain = profile_domains.create_domain(conn, REGION, name, f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{name}",
                                               {}, now)
        segments.create_definition(conn, domain.id, "everyone", arn, {"SegmentGroups": {"Include": "ALL", "Groups": [{
            "Type": "ALL", "Dimensions": [{"ProfileAttributes": {"Attributes": {
                "cohort": {"DimensionType": "INCLUSIVE", "Values": ["all"]}}}}]}]}}, now)
        people = [{"ProfileId": new_id(now), "Attributes": {"cohort": "all"}, **fields} for fields in people]
        for profile in people:
            save_profile(conn, domain.id, profile, now, new=True)

        assert campaigns.snapshot(conn, campaign, now) == len(people)
        while campaigns.release(conn, now, campaign.id, 5, whenever_due=True):
            pass
        made = {(c.recipient, c.channel): c for c in conn.execute(
            select(contacts).where(contacts.c.campaign_id == campaign.id))}
        states = {profile_id: state for profile_id, state in conn.execute(
            select(participants.c.profile_id, participants.c.state).where(participants.c.campaign_id == campaign.id))}
        conn.rollback()

    reference = Planner(campaign, now)
    assert len(made) == len(people) * len(channels)
    for profile in people:
        planned = reference.plan(reach_of(profile))
        for p in planned:
            contact = made[profile["ProfileId"], p.channel]
            expected = (p.endpoint or "", list(p.zones), p.reason, "planned" if p.due_at else "dropped")
            assert (contact.endpoint, list(contact.zones), contact.reason, contact.state) == expected, (profile, p)
            if p.due_at:
                assert contact.due_at == p.due_at
        alive = any(p.due_at for p in planned)
        assert states[profile["ProfileId"]] == ("active" if alive else "dropped")


@given(first=profiles_strategy, second=profiles_strategy, setup=campaign_strategy)
@settings(max_examples=200, deadline=None)
def test_profiles_of_one_class_are_planned_alike(first, second, setup):
    """The class holds all that planning decides on: two reaches of one class get the same field,
    zones and due time on every channel, under any campaign."""
    channels, zone_config, windows, now = setup
    planner = Planner(campaign_of(channels, zone_config, windows, "arn"), now)
    by_class: dict[str, list] = {}
    for profile in first + second:
        reach = reach_of(profile)
        decided = [(p.channel, p.field, p.zones, p.due_at) for p in planner.plan(reach)]
        by_class.setdefault(reach_class(reach), []).append(decided)
    for decisions in by_class.values():
        assert all(decided == decisions[0] for decided in decisions)
