"""The admin console in a real browser: Playwright driving Debian's chromium against `reachout serve`
on a virtual clock; what the pages did is checked through boto3, as any client sees it.

Screenshots of every page at 1280 and 390 px go to REACHOUT_SCREENSHOTS (default
.reachout/screenshots), printed at the end of the session.
"""
from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from playwright import sync_api as playwright

from tests.support import ACCOUNT, make_client, start_server, unavailable

CHROMIUM = "/usr/bin/chromium"
START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)  # a Monday
REGION = "us-east-1"
USER, PASSWORD = "ops", "console-test-password"
SHOTS = Path(os.environ.get("REACHOUT_SCREENSHOTS", ".reachout/screenshots")).resolve()


@pytest.fixture(scope="module")
def console_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("console")
    running = start_server(f"sqlite:///{data / 'console.db'}", data, "--virtual-clock", START.isoformat(),
                           REACHOUT_CONSOLE_USER=USER, REACHOUT_CONSOLE_PASSWORD=PASSWORD)
    yield running
    assert running.stop() == 0, running.log.read_text()
    print(f"\nconsole screenshots in {SHOTS}")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


class Page:
    """A browser tab on the console that fails the test on any console error or page error."""

    def __init__(self, browser, server, width: int = 1280):
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.server = server
        self.errors: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def go(self, path: str):
        self.page.goto(self.server.url + path)
        return self.page

    def sign_in(self, user: str = USER, password: str = PASSWORD):
        self.go("/console/")
        self.page.get_by_label("User name").fill(user)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        return self.page

    def shoot(self, name: str) -> None:
        """This page at 1280 and at 390 px wide, full length."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        size = self.page.viewport_size
        for width in (1280, 390):
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        self.page.set_viewport_size(size)

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], f"browser console errors: {self.errors}"


@pytest.fixture
def tab(browser, console_server):
    opened = Page(browser, console_server)
    yield opened
    opened.close()


class World:
    """What a campaign needs, made through boto3: a domain with profiles and a segment, email and
    SMS templates, a Connect instance with a number."""

    def __init__(self, server):
        self.server = server
        client = lambda name: make_client(server.url, name)  # noqa: E731
        self.profiles, self.v2, self.qc, self.connect = (client("customer-profiles"), client("connectcampaignsv2"),
                                                         client("qconnect"), client("connect"))
        self.domain = f"d{uuid.uuid4().hex[:8]}"
        self.profiles.create_domain(DomainName=self.domain, DefaultExpirationDays=365)
        self.segment_name = f"seg{uuid.uuid4().hex[:6]}"
        self.segment_display = f"Spring buyers {self.segment_name}"
        self.profiles.create_segment_definition(
            DomainName=self.domain, SegmentDefinitionName=self.segment_name, DisplayName=self.segment_display,
            SegmentGroups={"Include": "ALL", "Groups": [{"Type": "ALL", "Dimensions": [{"ProfileAttributes": {
                "Attributes": {"cohort": {"DimensionType": "INCLUSIVE", "Values": ["spring"]}}}}]}]})
        self.segment_arn = (f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{self.domain}/segment-definitions/"
                            f"{self.segment_name}")
        kb = self.qc.create_knowledge_base(name=f"kb-{uuid.uuid4().hex[:6]}", knowledgeBaseType="MESSAGE_TEMPLATES")
        kb_id = kb["knowledgeBase"]["knowledgeBaseId"]
        self.email_template = self.qc.create_message_template(
            knowledgeBaseId=kb_id, name=f"spring-{uuid.uuid4().hex[:4]}", channelSubtype="EMAIL",
            content={"email": {"subject": "Spring", "body": {"plainText": {"content": "Hello"}}}},
        )["messageTemplate"]["messageTemplateArn"]
        self.instance = self.connect.create_instance(IdentityManagementType="CONNECT_MANAGED",
                                                     InstanceAlias=f"i{uuid.uuid4().hex[:8]}",
                                                     InboundCallsEnabled=False, OutboundCallsEnabled=True)["Id"]

    def people(self, count: int, cohort: str = "spring") -> list[str]:
        return [self.profiles.create_profile(
            DomainName=self.domain, FirstName=f"P{i}", EmailAddress=f"p{i}.{uuid.uuid4().hex[:6]}@example.com",
            Attributes={"cohort": cohort})["ProfileId"] for i in range(count)]

    def campaign(self, name: str, start: bool = False, **extra) -> str:
        campaign_id = self.v2.create_campaign(
            name=name, connectInstanceId=self.instance, source={"customerProfilesSegmentArn": self.segment_arn},
            channelSubtypeConfig={"email": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
                "connectSourceEmailAddress": "news@example.com", "wisdomTemplateArn": self.email_template}}},
            **extra)["id"]
        if start:
            self.v2.start_campaign(id=campaign_id)
        return campaign_id


def advance(server, seconds: int) -> None:
    request = urllib.request.Request(server.url + "/_reachout/clock/advance", method="POST",
                                     data=json.dumps({"seconds": seconds}).encode())
    urllib.request.urlopen(request, timeout=300).read()


# --- sign-in, sessions, CSRF -------------------------------------------------------------------------
def test_unauthenticated_pages_go_to_sign_in_and_wrong_passwords_are_refused(tab, console_server):
    page = tab.go("/console/campaigns?q=x")
    assert "/console/signin" in page.url
    tab.shoot("signin")
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "The user name or password is not right."
    tab.shoot("signin-refused")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/console/campaigns?q=x")  # back where it was going
    assert page.get_by_role("heading", name="Campaign management").is_visible()
    cookie = next(c for c in tab.context.cookies() if c["name"] == "reachout_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.get_by_role("button", name="Sign out").click()
    assert "/console/signin" in page.url
    tab.go("/console/campaigns")
    assert "/console/signin" in tab.page.url


def test_a_post_without_a_session_or_without_the_csrf_token_changes_nothing(tab, console_server):
    world = World(console_server)
    campaign_id = world.campaign(f"csrf-{uuid.uuid4().hex[:4]}")
    action = f"{console_server.url}/console/campaigns/{campaign_id}/actions/start"
    # No session at all: refused before anything is read.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(action, data=b"csrf=x", method="POST"))
    assert refused.value.code == 401
    # Signed in, but a form without the right token (a forged cross-site form carries none).
    tab.sign_in()
    answer = tab.context.request.post(action, form={"csrf": "forged"})
    assert answer.status == 403 and "security token" in answer.text()
    answer = tab.context.request.post(action, form={})
    assert answer.status == 403
    assert world.v2.get_campaign_state(id=campaign_id)["state"] == "Initialized"
    tab.go(f"/console/campaigns/{campaign_id}")
    tab.page.get_by_role("button", name=re.compile("^Start campaign")).click()
    assert world.v2.get_campaign_state(id=campaign_id)["state"] == "Running"


# --- the Create Campaign wizard ----------------------------------------------------------------------
def fill_row(page, group: str, n: int, **values) -> None:
    for name, value in values.items():
        field = page.locator(f"#{group}-{n}-{name}")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def test_the_wizard_publishes_a_segment_email_campaign_exactly_as_entered(tab, console_server):
    world = World(console_server)
    world.people(3)
    page = tab.sign_in()
    page.get_by_role("link", name="Create campaign").first.click()
    name = f"Spring sale {uuid.uuid4().hex[:4]}"
    page.get_by_label("Campaign name").fill(name)
    page.get_by_label("Amazon Connect instance").fill(world.instance)
    page.get_by_role("radio", name="Customer segment").check()
    page.locator("#segment").select_option(world.segment_arn)
    page.get_by_role("radio", name="Email", exact=True).check()
    page.locator("#email_template").select_option(world.email_template)
    page.get_by_label("Sender email address").fill("news@example.com")
    page.get_by_label("Sender display name").fill("Spring News")
    fill_row(page, "limit", 1, count="3", days="1")
    fill_row(page, "limit", 2, count="5", days="7")
    fill_row(page, "retry", 1, channel="email", wait="2", wait_unit="H", max_attempts="3")
    page.locator("#retry-1-dispositions").select_option(["SOFT_BOUNCE", "HARD_BOUNCE"])
    fill_row(page, "window", 1, day="WEEKDAYS", **{"from": "09:00", "to": "12:00"})
    fill_row(page, "window", 2, day="WEEKDAYS", **{"from": "13:00", "to": "17:00"})
    page.get_by_role("button", name="Add a period").click()  # a third row, by the page's own script
    fill_row(page, "window", 3, channel="email", day="SATURDAY", **{"from": "10:00", "to": "12:00"})
    fill_row(page, "exception", 1, name="Spring holiday", start="2026-04-03", end="2026-04-07")
    page.get_by_label("Standard time zone, for all recipients").check()
    page.locator("#tz").select_option("America/New_York")
    page.get_by_label("Start later").check()
    page.get_by_label("Start (UTC)").fill("2026-01-06T09:00")
    page.get_by_label("Expiry date and time (UTC)").fill("2026-03-01T00:00")
    page.get_by_role("radio", name="Repeats").check()
    page.get_by_label(re.compile("^Frequency")).select_option("P7D")
    tab.shoot("wizard")
    page.get_by_role("button", name="Review").click()

    assert page.get_by_role("heading", name="Review and publish").is_visible()
    assert page.locator(".figures li").first.inner_text().split() == ["3", "recipients"]
    tab.shoot("review")
    assert world.v2.list_campaigns(filters={"instanceIdFilter": {"value": world.instance, "operator": "Eq"}}
                                   )["campaignSummaryList"] == []  # nothing is created before Publish
    page.get_by_role("button", name="Publish").click()
    assert page.get_by_role("status").inner_text() == f"Campaign {name} published."
    tab.shoot("live")

    (summary,) = world.v2.list_campaigns(filters={"instanceIdFilter": {"value": world.instance, "operator": "Eq"}}
                                         )["campaignSummaryList"]
    campaign = world.v2.describe_campaign(id=summary["id"])["campaign"]
    weekdays = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY")
    hours = [{"startTime": "T09:00", "endTime": "T12:00"}, {"startTime": "T13:00", "endTime": "T17:00"}]
    holiday = {"restrictedPeriods": {"restrictedPeriodList": [
        {"name": "Spring holiday", "startDate": "2026-04-03", "endDate": "2026-04-07"}]}}
    assert {k: v for k, v in campaign.items() if k not in ("id", "arn", "tags", "connectCampaignFlowArn")} == {
        "name": name, "connectInstanceId": world.instance,
        "channelSubtypeConfig": {"email": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
            "connectSourceEmailAddress": "news@example.com", "sourceEmailAddressDisplayName": "Spring News",
            "wisdomTemplateArn": world.email_template}}},
        "source": {"customerProfilesSegmentArn": world.segment_arn},
        "schedule": {"startTime": datetime(2026, 1, 6, 9, tzinfo=timezone.utc),
                     "endTime": datetime(2026, 3, 1, tzinfo=timezone.utc), "refreshFrequency": "P7D"},
        "communicationLimitsOverride": {"instanceLimitsHandling": "OPT_IN", "allChannelSubtypes": {
            "communicationLimitsList": [{"maxCountPerRecipient": 3, "frequency": 1, "unit": "DAY"},
                                        {"maxCountPerRecipient": 5, "frequency": 7, "unit": "DAY"}]}},
        "communicationTimeConfig": {
            "localTimeZoneConfig": {"defaultTimeZone": "America/New_York"},
            "email": {"openHours": {"dailyHours": {**{day: hours for day in weekdays},
                                                   "SATURDAY": [{"startTime": "T10:00", "endTime": "T12:00"}]}},
                      **holiday}},
    }
    # The reattempt rules went into the CAMPAIGN flow the campaign names.
    flow_id = campaign["connectCampaignFlowArn"].rsplit("/", 1)[-1]
    flow = world.connect.describe_contact_flow(InstanceId=world.instance, ContactFlowId=flow_id)["ContactFlow"]
    assert flow["Type"] == "CAMPAIGN"
    assert json.loads(flow["Content"])["ReattemptRules"] == [
        {"Dispositions": ["HARD_BOUNCE", "SOFT_BOUNCE"], "Channel": "email", "Wait": "PT2H", "MaxAttempts": 3}]
    assert world.v2.get_campaign_state(id=summary["id"])["state"] == "Running"  # published


def test_the_wizard_shows_each_problem_next_to_its_field_in_the_apis_words_and_creates_nothing(
        tab, console_server):
    world = World(console_server)
    page = tab.sign_in()
    tab.go("/console/campaigns/new")
    page.get_by_label("Campaign name").fill("x" * 130)
    page.get_by_label("Amazon Connect instance").fill(world.instance)
    page.locator("#segment").select_option(world.segment_arn)
    page.locator("#email_template").select_option(world.email_template)
    page.get_by_label("Sender email address").fill("not an address")
    for n in (1, 2):
        fill_row(page, "limit", n, count="1", days=str(n))
    page.get_by_role("button", name="Add a limit").click()
    fill_row(page, "limit", 3, count="9", days="30")
    page.get_by_role("button", name="Review").click()

    assert "The campaign was not created." in page.get_by_role("alert").inner_text()
    assert page.locator("#name-error").inner_text() == (
        f"ValidationException: Value '{'x' * 97}...' at 'name' failed to satisfy constraint: "
        "Member must have length less than or equal to 127")
    assert page.locator("#name").get_attribute("aria-invalid") == "true"
    assert "at 'channelSubtypeConfig.email.defaultOutboundConfig.connectSourceEmailAddress' failed to satisfy " \
           "constraint: Member must satisfy regular expression pattern" in page.locator("#email_from-error").inner_text()
    assert "Member must have length less than or equal to 2" in page.locator("#limits-error").inner_text()
    assert page.locator("#limit-3-count").input_value() == "9"  # what was entered stays
    tab.shoot("wizard-errors")

    # Exceptions only with active times: the model's own requirement, next to the exception.
    page.get_by_label("Campaign name").fill("holiday only")
    page.get_by_label("Sender email address").fill("news@example.com")
    fill_row(page, "limit", 3, count="", days="")
    fill_row(page, "exception", 1, name="Closed", start="2026-04-03", end="2026-04-04")
    page.get_by_role("button", name="Review").click()
    assert "Value null at 'communicationTimeConfig.email.openHours' failed to satisfy constraint: Member must " \
           "not be null" in page.locator("#exception-1-name-error").inner_text()
    assert world.v2.list_campaigns(filters={"instanceIdFilter": {"value": world.instance, "operator": "Eq"}}
                                   )["campaignSummaryList"] == []

    # Fixed, it can be kept as a Draft instead of published.
    fill_row(page, "exception", 1, name="", start="", end="")
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Save as draft").click()
    assert page.get_by_role("status").inner_text() == "Campaign holiday only saved as a Draft."
    assert page.locator("#live-state").inner_text() == "Draft"
    assert page.get_by_role("region", name="Forecast").is_visible()  # what publishing it now would do
    (summary,) = world.v2.list_campaigns(filters={"instanceIdFilter": {"value": world.instance, "operator": "Eq"}}
                                         )["campaignSummaryList"]
    assert world.v2.get_campaign_state(id=summary["id"])["state"] == "Initialized"


# --- campaign management -----------------------------------------------------------------------------
def test_campaign_management_searches_pages_and_acts_through_the_apis_state_rules(tab, console_server):
    world = World(console_server)
    prefix = f"mgmt{uuid.uuid4().hex[:4]}"
    ids = [world.campaign(f"{prefix} {n:02d}") for n in range(27)]
    page = tab.sign_in()
    page.get_by_label("Search by name or id").fill(prefix)
    page.get_by_role("button", name="Search").click()
    assert page.locator(".count").inner_text() == "27 campaigns, page 1 of 2"
    names = page.locator("table.campaigns tbody tr td:first-child a").all_inner_texts()
    assert names == [f"{prefix} {n:02d}" for n in range(26, 1, -1)]  # newest first
    tab.shoot("campaigns")
    page.get_by_role("link", name="Next page").click()
    assert page.locator("table.campaigns tbody tr td:first-child a").all_inner_texts() == [f"{prefix} 01",
                                                                                         f"{prefix} 00"]
    row = page.locator("tr", has_text=f"{prefix} 00")
    assert row.locator(".state").inner_text() == "Draft"
    assert row.locator("td[data-label=Channel]").inner_text() == "Email"
    assert row.locator("td[data-label=Source]").inner_text() == f"Segment {world.segment_name}"

    for button, state, shown in (("Start", "Running", "Active"), ("Pause", "Paused", "Paused"),
                                 ("Resume", "Running", "Active")):
        page.get_by_role("button", name=f"{button} campaign {prefix} 00").click()
        assert page.get_by_role("status").inner_text().startswith(f"Campaign {prefix} 00 ")
        assert world.v2.get_campaign_state(id=ids[0])["state"] == state
        assert page.locator("tr", has_text=f"{prefix} 00").locator(".state").inner_text() == shown
    assert "page=2" in page.url and f"q={prefix}" in page.url  # still on the same page of the same search

    # A page that is out of date offers Pause; the API refuses it, in its own words.
    world.v2.stop_campaign(id=ids[0])
    page.get_by_role("button", name=f"Pause campaign {prefix} 00").click()
    assert page.get_by_role("alert").inner_text() == (
        f"InvalidCampaignStateException: Cannot pause campaign {ids[0]} in state Stopped")
    assert page.locator("tr", has_text=f"{prefix} 00").locator(".state").inner_text() == "Stopped"
    page.get_by_label("State").select_option("Stopped")
    page.get_by_role("button", name="Search").click()
    assert page.locator(".count").inner_text() == "1 campaign"

    # A v1 campaign is one of them: an agent assisted dialer over outbound requests.
    v1_id = make_client(console_server.url, "connectcampaigns").create_campaign(
        name=f"{prefix} v1", connectInstanceId=world.instance,
        dialerConfig={"progressiveDialerConfig": {"bandwidthAllocation": 1}},
        outboundCallConfig={"connectContactFlowId": "flow", "connectQueueId": "queue"})["id"]
    page.get_by_label("State").select_option("")
    page.get_by_label("Search by name or id").fill(f"{prefix} v1")
    page.get_by_role("button", name="Search").click()
    row = page.locator("tr", has_text=v1_id)
    assert [row.locator(f"td[data-label={label}]").inner_text() for label in ("State", "Channel", "Source")] == [
        "Draft", "Agent assisted voice", "Outbound requests"]
    page.get_by_label("Search by name or id").fill(prefix)
    page.get_by_label("State").select_option("Stopped")
    page.get_by_role("button", name="Search").click()

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete campaign {prefix} 00").click()
    assert page.get_by_role("status").inner_text() == f"Campaign {prefix} 00 deleted."
    with pytest.raises(world.v2.exceptions.ResourceNotFoundException):
        world.v2.describe_campaign(id=ids[0])


# --- the live page -----------------------------------------------------------------------------------
def test_the_live_page_follows_the_campaign_as_the_virtual_clock_moves(tab, console_server):
    world = World(console_server)
    people = world.people(4)
    world.profiles.create_profile(DomainName=world.domain, FirstName="NoMail", Attributes={"cohort": "spring"})
    campaign_id = world.campaign(f"live-{uuid.uuid4().hex[:4]}", start=True)
    page = tab.sign_in()
    tab.go(f"/console/campaigns/{campaign_id}")
    assert page.locator("#live-state").inner_text() == "Active"
    assert page.locator("#contacts-by-state").inner_text().split() == ["0", "none", "yet"]

    advance(console_server, 3600)  # the page is not reloaded: it fetches its figures itself
    expect = playwright.expect
    expect(page.locator("#dispositions")).to_contain_text("DELIVERED", timeout=20000)
    outcomes = [int(n) for n in page.locator("#dispositions li b").all_inner_texts()]
    assert sum(outcomes) == len(people)  # whatever the simulated carrier made of each
    expect(page.locator("#suppressions")).to_contain_text("1")
    assert page.locator("#events tbody tr").count() >= len(people)
    # a message's end says what became of it
    assert set(page.locator("#events td[data-label=Outcome]").all_inner_texts()) & {"DELIVERED", "HARD_BOUNCE",
                                                                                   "SOFT_BOUNCE", "UNDELIVERABLE"}
    assert page.locator("svg.chart rect.bar").count() == 1
    # the head's actions follow the state too: a completed campaign can only be deleted
    expect(page.locator("#live-state")).to_have_text("Completed")
    expect(page.locator(".head .actions button")).to_have_text(["Delete"])
    expect(page.locator(".foot time")).to_have_text(page.locator("#live-now").inner_text())  # the clock moved too
    assert page.locator(".foot time").get_attribute("datetime") == page.locator("#live-now").get_attribute("datetime")
    tab.shoot("live-running")


# --- profiles and segments ---------------------------------------------------------------------------
def test_profiles_show_their_communications_and_limits_and_segments_their_members(tab, console_server):
    world = World(console_server)
    world.people(2)
    world.people(1, cohort="autumn")
    once_a_day = {"allChannelSubtypes": {"communicationLimitsList": [
        {"maxCountPerRecipient": 1, "frequency": 1, "unit": "DAY"}]}}
    first = world.campaign(f"first-{uuid.uuid4().hex[:4]}", start=True, communicationLimitsOverride=once_a_day)
    advance(console_server, 600)
    second = world.campaign(f"second-{uuid.uuid4().hex[:4]}", start=True, communicationLimitsOverride=once_a_day)
    advance(console_server, 600)

    # Someone the first campaign reached: their communication counts against both campaigns' limits.
    with urllib.request.urlopen(f"{console_server.url}/_reachout/campaigns/{first}/contacts") as answer:
        reached = next(c["recipient"] for c in json.loads(answer.read()) if c["disposition"] == "DELIVERED")
    page = tab.sign_in()
    tab.go(f"/console/campaigns/{second}")
    assert "communication limit reached" in page.locator("#suppressions").inner_text()
    assert "×" in page.get_by_role("region", name="Communication limits hit").inner_text()

    page.get_by_role("link", name="Profiles").click()
    page.get_by_label("Domain").select_option(world.domain)
    page.get_by_label("Search by name, email, phone or id").fill(reached)
    page.get_by_role("button", name="Search").click()
    assert page.locator("#profiles tbody tr").count() == 1
    tab.shoot("profiles")
    page.locator("#profiles tbody a").click()
    communications = page.locator("#communications tbody tr")
    assert communications.count() == 1 and "DELIVERED" in communications.inner_text()
    limits = page.locator("#limits tbody tr")
    assert limits.count() == 2  # each campaign's 1 per day, both used up
    assert all("1 of 1" in row and "limit reached" in row for row in limits.all_inner_texts())
    assert "communication limit reached" in page.get_by_role("region", name="Why it was not contacted").inner_text()
    tab.shoot("profile")

    page.get_by_role("link", name="Segments").click()
    row = page.locator("#segments tbody tr", has_text=world.segment_name)
    assert row.locator("td[data-label='Members now']").inner_text() == "2"
    tab.shoot("segments")
    assert first != second


def test_the_wizard_publishes_an_sms_campaign_on_a_new_event_trigger(tab, console_server):
    world = World(console_server)
    world.profiles.put_profile_object_type(
        DomainName=world.domain, ObjectTypeName="WebOrder", Description="orders", AllowProfileCreation=True,
        Fields={"OrderId": {"Source": "_source.OrderId", "Target": "WebOrder.OrderId"},
                "Phone": {"Source": "_source.Phone", "Target": "_profile.MobilePhoneNumber"},
                "Total": {"Source": "_source.Total", "Target": "WebOrder.Total"}},
        Keys={"OrderId": [{"StandardIdentifiers": ["UNIQUE"], "FieldNames": ["OrderId"]}],
              "_phone": [{"StandardIdentifiers": ["PROFILE"], "FieldNames": ["Phone"]}]})
    kb_id = world.email_template.split("/")[-2]
    sms_template = world.qc.create_message_template(
        knowledgeBaseId=kb_id, name=f"sms-{uuid.uuid4().hex[:4]}", channelSubtype="SMS",
        content={"sms": {"body": {"plainText": {"content": "Thanks for order {{Attributes.OrderId}}"}}}},
    )["messageTemplate"]["messageTemplateArn"]
    number = world.connect.claim_phone_number(InstanceId=world.instance, PhoneNumber="+12025550187")["PhoneNumberArn"]
    trigger = f"big{uuid.uuid4().hex[:6]}"

    page = tab.sign_in()
    tab.go("/console/campaigns/new")
    name = f"Order thanks {uuid.uuid4().hex[:4]}"
    page.get_by_label("Campaign name").fill(name)
    page.get_by_label("Amazon Connect instance").fill(world.instance)
    page.get_by_role("radio", name="Customer event").check()
    page.locator("#event_domain").select_option(label=world.domain)
    page.get_by_label("Event trigger name").fill(trigger)
    page.get_by_label("Event source (object type)").select_option("WebOrder")
    page.get_by_label("The event matches when").select_option("ALL")
    fill_row(page, "cond", 1, kind="Source", attribute="_source.Total", operator="GREATER_THAN", values="100")
    page.get_by_role("button", name="Add a condition").click()
    fill_row(page, "cond", 2, kind="FieldName", attribute="OrderId", operator="BEGINS_WITH", values="o-")
    page.get_by_label("Communications per profile (optional)").fill("2")
    page.get_by_role("radio", name="SMS").check()
    page.locator("#sms_template").select_option(sms_template)
    page.locator("#sms_number").select_option(number)
    tab.shoot("wizard-event")
    page.get_by_role("button", name="Review").click()
    assert "A forecast needs a customer segment" in page.get_by_role("region", name="Forecast").inner_text()
    page.get_by_role("button", name="Publish").click()
    assert page.get_by_role("status").inner_text() == f"Campaign {name} published."

    (summary,) = world.v2.list_campaigns(filters={"instanceIdFilter": {"value": world.instance, "operator": "Eq"}}
                                         )["campaignSummaryList"]
    campaign = world.v2.describe_campaign(id=summary["id"])["campaign"]
    assert campaign["source"] == {"eventTrigger": {
        "customerProfilesDomainArn": f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{world.domain}"}}
    assert campaign["channelSubtypeConfig"] == {"sms": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
        "connectSourcePhoneNumberArn": number, "wisdomTemplateArn": sms_template}}}
    assert "schedule" not in campaign and "communicationTimeConfig" not in campaign
    made = world.profiles.get_event_trigger(DomainName=world.domain, EventTriggerName=trigger)
    assert made["ObjectTypeName"] == "WebOrder"
    assert made["EventTriggerConditions"] == [{"LogicalOperator": "ALL", "EventTriggerDimensions": [
        {"ObjectAttributes": [{"Source": "_source.Total", "ComparisonOperator": "GREATER_THAN", "Values": ["100"]}]},
        {"ObjectAttributes": [{"FieldName": "OrderId", "ComparisonOperator": "BEGINS_WITH", "Values": ["o-"]}]}]}]
    assert made["EventTriggerLimits"]["Periods"] == [{"MaxInvocationsPerProfile": 2, "Unit": "DAYS", "Value": 1}]
    linked = world.profiles.get_integration(DomainName=world.domain, Uri=campaign["arn"])
    assert linked["EventTriggerNames"] == [trigger]

    # An order over 100 fires it: the live page shows the SMS.
    world.profiles.put_profile_object(DomainName=world.domain, ObjectTypeName="WebOrder", Object=json.dumps(
        {"OrderId": "o-1", "Phone": "+12125550123", "Total": 250}))
    advance(console_server, 60)
    playwright.expect(page.locator("#contacts-by-state")).to_contain_text("completed", timeout=20000)
    tab.shoot("live-event")


def test_the_wizard_makes_automated_and_agent_assisted_voice_campaigns(tab, console_server):
    world = World(console_server)
    page = tab.sign_in()
    made = {}
    for channel, extra in (("Automated voice", {}), ("Agent assisted voice", {"dialer": "preview"})):
        tab.go("/console/campaigns/new")
        name = f"{channel} {uuid.uuid4().hex[:4]}"
        page.get_by_label("Campaign name").fill(name)
        page.get_by_label("Amazon Connect instance").fill(world.instance)
        page.locator("#segment").select_option(world.segment_arn)
        page.get_by_role("radio", name=channel).check()
        page.get_by_label("Contact flow id").fill("flow-1")
        page.get_by_label("Caller ID number").fill("+12065550100")
        page.get_by_label("Answering machine detection").check()
        page.get_by_label("Ring timeout (seconds, 15 to 60)").fill("20")
        if extra:
            page.get_by_label("Agent assisted dialer").select_option("preview")
            page.get_by_label("Bandwidth allocation (0 to 1)").fill("0.5")
            page.get_by_label("Queue id").fill("queue-1")
            page.get_by_label("Preview timeout (seconds)").fill("45")
        page.get_by_role("button", name="Review").click()
        page.get_by_role("button", name="Save as draft").click()
        assert page.get_by_role("status").inner_text() == f"Campaign {name} saved as a Draft."
        made[channel] = page.url.rsplit("/", 1)[-1].split("?")[0]
    outbound = {"connectContactFlowId": "flow-1", "connectSourcePhoneNumber": "+12065550100", "ringTimeout": 20,
                "answerMachineDetectionConfig": {"enableAnswerMachineDetection": True, "awaitAnswerMachinePrompt": False}}
    described = {k: world.v2.describe_campaign(id=v)["campaign"]["channelSubtypeConfig"] for k, v in made.items()}
    assert described == {
        "Automated voice": {"telephony": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": outbound}},
        "Agent assisted voice": {"telephony": {
            "outboundMode": {"preview": {"bandwidthAllocation": 0.5, "timeoutConfig": {"durationInSeconds": 45}}},
            "defaultOutboundConfig": outbound, "connectQueueId": "queue-1"}}}
