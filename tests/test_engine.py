"""The campaign engine end to end, on a virtual clock: boto3 sets up profiles, a segment and
campaigns; POST /_reachout/clock/advance runs days of campaign time; every contact is then checked
in the recipient's own zone(s) against the channel's window."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone


from tests.support import EMAIL, SMS, START, World, advance, hours, inside, internal, records


def test_email_and_sms_reach_us_and_uk_recipients_only_inside_their_windows(engine_server):
    world = World(engine_server)
    people = {
        world.person("spring", EmailAddress="ann@example.com", PhoneNumber="+12125550101",
                     Address={"PostalCode": "10001", "State": "NY"}): ("America/New_York",),
        world.person("spring", EmailAddress="bob@example.co.uk", MobilePhoneNumber="+447911123456"):
            ("Europe/Guernsey", "Europe/Isle_of_Man", "Europe/Jersey", "Europe/London"),
        world.person("spring", EmailAddress="cy@example.com", PhoneNumber="+13105550102",
                     Address={"PostalCode": "90001"}): ("America/Los_Angeles",),
        # A New York ZIP with a Chicago number: only the hours open in both zones.
        world.person("spring", EmailAddress="di@example.com", PhoneNumber="+13125550103",
                     Address={"PostalCode": "10001"}): ("America/Chicago", "America/New_York"),
    }
    time_config = {"localTimeZoneConfig": {"localTimeZoneDetection": ["ZIP_CODE", "AREA_CODE"]},
                   "email": hours("T09:00", "T17:00"), "sms": hours("T10:00", "T12:00")}
    campaign_id = world.campaign(world.segment("spring"), {**EMAIL, **SMS}, time_config)

    advance(engine_server, seconds=3 * 24 * 3600)

    assert world.state(campaign_id) == "Completed"
    contacts = records(engine_server, campaign_id, "contacts")
    assert {(c["recipient"], c["channel"]) for c in contacts} == {(p, ch) for p in people for ch in ("email", "sms")}
    for contact in contacts:
        assert contact["state"] == "completed", (contact["channel"], contact["reason"])
        assert tuple(contact["zones"]) == people[contact["recipient"]]
        sent = datetime.fromisoformat(contact["dispatched_at"])
        for zone in contact["zones"]:
            assert inside(time_config[contact["channel"]], sent, zone), (contact, zone)
    both_zones = next(c for c in contacts if len(c["zones"]) == 2 and c["channel"] == "sms")
    # 10:00-12:00 in Chicago and New York at once is 11:00-12:00 New York time.
    assert datetime.fromisoformat(both_zones["dispatched_at"]) == datetime(2026, 1, 5, 16, 0, tzinfo=timezone.utc)


def test_holidays_are_skipped_and_bad_endpoints_and_unknown_zones_are_explained(engine_server):
    world = World(engine_server)
    good = world.person("holiday", EmailAddress="eve@example.com", Address={"PostalCode": "60601"})
    bad_email = world.person("holiday", EmailAddress="jane.doe@abc!com", Address={"PostalCode": "60601"})
    nowhere = world.person("holiday", EmailAddress="flo@example.com")
    window = {**hours("T09:00", "T17:00"),
              "restrictedPeriods": {"restrictedPeriodList": [
                  {"name": "closed", "startDate": "2026-01-05", "endDate": "2026-01-07"}]}}
    campaign_id = world.campaign(world.segment("holiday"), EMAIL, {
        "localTimeZoneConfig": {"localTimeZoneDetection": ["ZIP_CODE"]}, "email": window})

    advance(engine_server, seconds=4 * 24 * 3600)

    contacts = {c["recipient"]: c for c in records(engine_server, campaign_id, "contacts")}
    # Monday and Tuesday are restricted (the end date is exclusive): Wednesday 09:00 in Chicago.
    assert datetime.fromisoformat(contacts[good]["dispatched_at"]) == datetime(2026, 1, 7, 15, 0, tzinfo=timezone.utc)
    reasons = {s["recipient"]: s["reason"] for s in records(engine_server, campaign_id, "suppressions")
               if s["recipient"] != good}
    assert reasons[bad_email].startswith("invalid endpoint")
    assert reasons[nowhere].startswith("no time zone")
    assert contacts[bad_email]["state"] == contacts[nowhere]["state"] == "dropped"
    assert world.state(campaign_id) == "Completed"


def test_pause_holds_dispatch_resume_continues_and_stop_ends_for_good(engine_server):
    world = World(engine_server)
    for i in range(3):
        world.person("pause", EmailAddress=f"p{i}@example.com")
    segment = world.segment("pause")
    campaign_id = world.campaign(segment, EMAIL, {"localTimeZoneConfig": {"defaultTimeZone": "America/New_York"},
                                                  "email": hours("T09:00", "T17:00", days=("FRIDAY",))})
    advance(engine_server, seconds=1)
    world.campaigns.pause_campaign(id=campaign_id)
    advance(engine_server, seconds=6 * 24 * 3600)  # past Friday's window while paused
    assert {c["state"] for c in records(engine_server, campaign_id, "contacts")} == {"planned"}
    world.campaigns.resume_campaign(id=campaign_id)
    advance(engine_server, seconds=8 * 24 * 3600)
    contacts = records(engine_server, campaign_id, "contacts")
    assert {c["state"] for c in contacts} == {"completed"}
    for contact in contacts:  # resumed outside the window, they waited for the next Friday
        assert inside(hours("T09:00", "T17:00", days=("FRIDAY",)), datetime.fromisoformat(contact["dispatched_at"]),
                      "America/New_York")

    stopped = world.campaign(segment, EMAIL, {"localTimeZoneConfig": {"defaultTimeZone": "America/New_York"},
                                              "email": hours("T09:00", "T17:00", days=("FRIDAY",))})
    advance(engine_server, seconds=1)
    world.campaigns.stop_campaign(id=stopped)
    advance(engine_server, seconds=8 * 24 * 3600)
    assert {c["state"] for c in records(engine_server, stopped, "contacts")} == {"dropped"}
    assert {s["reason"] for s in records(engine_server, stopped, "suppressions")} >= {"the campaign was stopped"}
    assert world.state(stopped) == "Stopped"


def test_a_contact_goes_to_the_endpoint_the_profile_has_when_its_window_opens(engine_server):
    """A snapshot plans each contact; the contact is made from the profile as it is when its window
    opens. A changed address is the one used; a profile deleted, or whose address was made unusable,
    meanwhile is dropped with the reason and never sent to the address it had."""
    world = World(engine_server)
    moved = world.person("later", EmailAddress="old@example.com")
    broken = world.person("later", EmailAddress="fine@example.com")
    deleted = world.person("later", EmailAddress="gone@example.com")
    tuesday = hours("T09:00", "T17:00", days=("TUESDAY",))
    campaign_id = world.campaign(world.segment("later"), EMAIL, {
        "localTimeZoneConfig": {"defaultTimeZone": "America/New_York"}, "email": tuesday})
    advance(engine_server, seconds=60)
    waiting = records(engine_server, campaign_id, "contacts")
    assert {(c["recipient"], c["endpoint"], c["state"]) for c in waiting} == {
        (moved, "old@example.com", "planned"), (broken, "fine@example.com", "planned"),
        (deleted, "gone@example.com", "planned")}
    assert {datetime.fromisoformat(c["due_at"]) for c in waiting} == {datetime(2026, 1, 6, 14, 0, tzinfo=timezone.utc)}
    deferred = {s["recipient"]: s["reason"] for s in records(engine_server, campaign_id, "suppressions")}
    assert deferred[moved] == "deferred: communication time closed until 2026-01-06T14:00:00+00:00"

    world.profiles.update_profile(DomainName=world.domain, ProfileId=moved, EmailAddress="new@example.com")
    world.profiles.update_profile(DomainName=world.domain, ProfileId=broken, EmailAddress="fine at example.com")
    world.profiles.delete_profile(DomainName=world.domain, ProfileId=deleted)
    advance(engine_server, seconds=2 * 24 * 3600)

    contacts = {c["recipient"]: c for c in records(engine_server, campaign_id, "contacts")}
    assert (contacts[moved]["endpoint"], contacts[moved]["state"]) == ("new@example.com", "completed")
    for recipient in (broken, deleted):
        assert (contacts[recipient]["state"], contacts[recipient]["dispatched_at"]) == ("dropped", None)
    reasons = {s["recipient"]: s["reason"] for s in records(engine_server, campaign_id, "suppressions")}
    assert reasons[broken] == "the profile's EmailAddress was removed or made unusable after the contact was planned"
    assert reasons[deleted] == "the profile was deleted after the contact was planned"
    assert world.state(campaign_id) == "Completed"


def test_what_was_sent_before_a_pause_or_stop_still_gets_its_outcome(engine_server):
    """Pausing holds and stopping drops only what has not left: a message handed to its channel
    completes with its outcome (the simulated email outcome is known 5 s later) either way."""
    world = World(engine_server)
    for i in range(2):
        world.person("inflight", EmailAddress=f"f{i}@example.com")
    segment = world.segment("inflight")
    paused, stopped = world.campaign(segment, EMAIL), world.campaign(segment, EMAIL)
    advance(engine_server, seconds=1)  # both dispatched; outcomes due in 5 s
    assert {c["state"] for cid in (paused, stopped) for c in records(engine_server, cid, "contacts")} == {"sent"}
    world.campaigns.pause_campaign(id=paused)
    world.campaigns.stop_campaign(id=stopped)
    advance(engine_server, seconds=10)
    for campaign_id in (paused, stopped):
        contacts = records(engine_server, campaign_id, "contacts")
        assert {c["state"] for c in contacts} == {"completed"} and all(c["disposition"] for c in contacts)
    assert (world.state(paused), world.state(stopped)) == ("Paused", "Stopped")


def test_limits_hold_across_two_campaigns_targeting_the_same_people(engine_server):
    world = World(engine_server)
    people = [world.person("limited", EmailAddress=f"l{i}@example.com") for i in range(5)]
    world.campaigns.put_instance_communication_limits(connectInstanceId=world.instance, communicationLimitsConfig={
        "allChannelSubtypes": {"communicationLimitsList": [{"maxCountPerRecipient": 1, "frequency": 1, "unit": "DAY"}]}})
    segment = world.segment("limited")
    first, second = world.campaign(segment, EMAIL), world.campaign(segment, EMAIL)

    advance(engine_server, seconds=600)

    sent = [c for cid in (first, second) for c in records(engine_server, cid, "contacts") if c["dispatched_at"]]
    # Exactly one communication per person in the day, whichever campaign got there first.
    assert sorted(c["recipient"] for c in sent) == sorted(people)
    limited = [s for cid in (first, second) for s in records(engine_server, cid, "suppressions")]
    assert len(limited) == len(people) and all("communication limit reached: 1 per 1 day" in s["reason"]
                                               for s in limited)


def test_limits_hold_across_channels_dispatched_at_once(engine_server):
    # Email and SMS of one campaign fall due together; on PostgreSQL each channel is dispatched by a
    # thread of its own, at the same time: the recipients' row locks still let one message each through.
    world = World(engine_server)
    people = [world.person("both", EmailAddress=f"b{i}@example.com", PhoneNumber=f"+1212555{i:04}")
              for i in range(40)]
    world.campaigns.put_instance_communication_limits(connectInstanceId=world.instance, communicationLimitsConfig={
        "allChannelSubtypes": {"communicationLimitsList": [{"maxCountPerRecipient": 1, "frequency": 1, "unit": "DAY"}]}})
    campaign_id = world.campaign(world.segment("both"), {**EMAIL, **SMS})

    advance(engine_server, seconds=600)

    contacts = records(engine_server, campaign_id, "contacts")
    assert len(contacts) == 2 * len(people)
    sent = sorted(c["recipient"] for c in contacts if c["dispatched_at"])
    assert sent == sorted(people)  # one message each, by whichever channel got there first
    limited = records(engine_server, campaign_id, "suppressions")
    assert sorted(s["recipient"] for s in limited) == sorted(people)
    assert all("communication limit reached: 1 per 1 day" in s["reason"] for s in limited)


def test_repeats_enter_new_members_but_not_active_ones(engine_server):
    world = World(engine_server)
    first = world.person("repeat", EmailAddress="r1@example.com")
    campaign_id = world.campaign(
        world.segment("repeat"), EMAIL,
        {"localTimeZoneConfig": {"defaultTimeZone": "UTC"}, "email": hours("T09:00", "T10:00", days=("THURSDAY",))},
        schedule={"startTime": START, "endTime": START + timedelta(days=30), "refreshFrequency": "P1D"})
    advance(engine_server, seconds=3600)
    second = world.person("repeat", EmailAddress="r2@example.com")
    advance(engine_server, seconds=26 * 3600)  # a refresh while the first is still waiting for Thursday
    entries = [c["recipient"] for c in records(engine_server, campaign_id, "contacts")]
    assert sorted(entries) == sorted([first, second])  # the first did not enter twice
    assert world.state(campaign_id) == "Running"


def test_forecast_dry_runs_a_campaign_without_touching_anything(engine_server, tmp_path):
    world = World(engine_server)
    for i in range(4):
        world.person("preview", EmailAddress=f"f{i}@example.com", Address={"PostalCode": "10001"})
    world.person("preview", EmailAddress="nobody-at-all")
    request = {"name": "preview", "connectInstanceId": world.instance, "channelSubtypeConfig": EMAIL,
               "source": {"customerProfilesSegmentArn": world.segment("preview")},
               "communicationTimeConfig": {"localTimeZoneConfig": {"localTimeZoneDetection": ["ZIP_CODE"]},
                                           "email": hours("T09:00", "T17:00")}}
    campaign_id = world.campaigns.create_campaign(**request)["id"]

    preview = internal(engine_server, "GET", f"/_reachout/campaigns/{campaign_id}/forecast")

    assert (preview["recipients"], preview["contacts"]) == (5, 4)
    assert preview["dropped"] == {"invalid endpoint": 1}
    assert preview["contactsPerLocalHour"] == {"09:00": 4}  # all at 09:00 New York time, Monday
    assert datetime.fromisoformat(preview["finish"]) >= datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc)
    # A dry run: nothing was planned, nothing reserved, the campaign has not started.
    assert records(engine_server, campaign_id, "contacts") == []
    assert world.state(campaign_id) == "Initialized"

    # The same dry run from the command line, with its plot.
    picture = tmp_path / "forecast.png"
    printed = subprocess.run([sys.executable, "-m", "reachout", "forecast", campaign_id, "--db", engine_server.db,
                              "--start", START.isoformat(), "--json", "--plot", str(picture)],
                             capture_output=True, text=True, check=True)
    assert json.loads(printed.stdout)["contactsPerLocalHour"] == {"09:00": 4}
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_entry_limits_govern_re_entry_at_each_refresh(engine_server):
    world = World(engine_server)
    person = world.person("reentry", EmailAddress="again@example.com")
    campaign_id = world.campaign(
        world.segment("reentry"), EMAIL, None,
        schedule={"startTime": START, "endTime": START + timedelta(days=10), "refreshFrequency": "P1D"},
        entryLimitsConfig={"maxEntryCount": 2, "minEntryInterval": "P2D"})

    advance(engine_server, seconds=5 * 24 * 3600)

    entered = sorted(datetime.fromisoformat(c["created_at"]) for c in records(engine_server, campaign_id, "contacts"))
    # Day 0 enters; day 1 is too soon; day 2 enters again; days 3, 4 and 5 find the maximum of 2 reached.
    assert entered == [START, START + timedelta(days=2)]
    reasons = [s["reason"] for s in records(engine_server, campaign_id, "suppressions") if s["recipient"] == person]
    assert sum("less than minEntryInterval" in r for r in reasons) == 1
    assert sum("maxEntryCount 2" in r for r in reasons) == 3
