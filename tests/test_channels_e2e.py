"""Real channels through the engine: `reachout serve --virtual-clock ... --smtp-url ... --smpp-url ...`
sends a v2 email + SMS campaign over a segment to an aiosmtpd relay and an smpp34 SMS centre running
in this process, each message rendered from its qconnect template for its recipient. Delivery
receipts, a refused address and a late bounce come back as dispositions; a recipient whose profile
lacks a template variable is dropped with the reason and gets nothing; a message whose receipt never
comes completes at its deadline and still counts against limits."""
from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from reachout.store.db import Database, database_url
from reachout.store.tables import contacts
from tests.conftest import ACCOUNT, Server, make_client, postgres_schema_url, start_server
from tests.test_channel_email import LocalSmtpServer, Mailbox, dsn
from tests.test_channel_sms import UCS2, LocalSmsc
from tests.test_engine import REGION, START, World, advance, internal, records
from tests.test_reattempts import connect_instance, rules_flow

ORIGINATION = "+15550100"
SMS_ARN = f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/{ORIGINATION}"
EMAIL_TEMPLATE = {"email": {
    "subject": "{{Attributes.Customer.FirstName}}, your {{Attributes.Campaign.Name}} code",
    "body": {"plainText": {"content": "Dear {{Attributes.Customer.FirstName}} {{Attributes.Customer.LastName}},\n"
                                      "your code is {{Attributes.Customer.Attributes.code}}."},
             "html": {"content": "<p>Dear {{Attributes.Customer.FirstName}} {{Attributes.Customer.LastName}},</p>"
                                 "<p>your code is <b>{{Attributes.Customer.Attributes.code}}</b>.</p>"}},
    "headers": [{"name": "List-Unsubscribe",
                 "value": "<mailto:stop@example.com?subject={{Attributes.Customer.ProfileId}}>"}]}}
SMS_TEMPLATE = {"sms": {"body": {"plainText": {"content": "Hi {{Attributes.Customer.FirstName}}, your code is "
                                                          "{{Attributes.Customer.Attributes.code}}"}}}}


class Peers:
    """The relay and the SMS centre the server sends to."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.relay = LocalSmtpServer(self.mailbox)
        self.smsc = LocalSmsc()

    def args(self) -> list[str]:
        return ["--smtp-url", f"smtp://127.0.0.1:{self.relay.port}",
                "--smpp-url", f"smpp://reachout:secret@127.0.0.1:{self.smsc.port}"]

    def stop(self) -> None:
        self.relay.stop()
        self.smsc.stop()


@pytest.fixture
def peers() -> Iterator[Peers]:
    running = Peers()
    yield running
    running.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def channel_server(request, peers: Peers, tmp_path_factory) -> Iterator[Server]:
    """A server of the test's own on a virtual clock at START, sending through `peers`."""
    data = tmp_path_factory.mktemp("channels")
    urls = (iter([f"sqlite:///{data / 'channels.db'}"]) if request.param == "sqlite"
            else postgres_schema_url("reachout_channels"))
    url = next(urls)
    running = start_server(url, data, "--virtual-clock", START.isoformat(), *peers.args())
    yield running
    assert running.stop() == 0, running.log.read_text()
    # Every SMPP bind was closed cleanly at shutdown.
    wait_for(lambda: peers.smsc.unbinds == len(peers.smsc.binds), "the unbind")
    next(urls, None)  # drops the PostgreSQL schema


def templates(server: Server) -> tuple[str, str]:
    """(email template ARN, SMS template ARN) in a new knowledge base."""
    qc = make_client(server.url, "qconnect")
    kb = qc.create_knowledge_base(name=f"kb-{uuid.uuid4().hex[:8]}", knowledgeBaseType="MESSAGE_TEMPLATES")
    kb_id = kb["knowledgeBase"]["knowledgeBaseId"]
    arns = []
    for subtype, content in (("EMAIL", EMAIL_TEMPLATE), ("SMS", SMS_TEMPLATE)):
        arns.append(qc.create_message_template(knowledgeBaseId=kb_id, name=f"{subtype.lower()}-code",
                                               channelSubtype=subtype, content=content)
                    ["messageTemplate"]["messageTemplateArn"])
    return arns[0], arns[1]


def channels(email_template: str | None, sms_template: str | None) -> dict:
    config = {}
    if email_template:
        config["email"] = {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
            "connectSourceEmailAddress": "news@example.com", "sourceEmailAddressDisplayName": "Example News",
            "wisdomTemplateArn": email_template}}
    if sms_template:
        config["sms"] = {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
            "connectSourcePhoneNumberArn": SMS_ARN, "wisdomTemplateArn": sms_template}}
    return config


def wait_for(condition, what: str, timeout: float = 30.0):
    """Receipts come from the SMS centre in their own time: polls until they are in."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.05)


def subscribe(server: Server) -> Path:
    """Every contact and suppression event into a JSONL file (a log-group target); returns the file."""
    events = make_client(server.url, "events")
    rule = f"all-{uuid.uuid4().hex[:6]}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["aws.connect", "reachout.campaigns"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "file", "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{rule}"}])
    return server.log.parent / "events" / f"{rule}.jsonl"  # DATA_DIR/events/NAME.jsonl


def test_campaign_renders_and_sends_real_email_and_sms(channel_server: Server, peers: Peers) -> None:
    world = World(channel_server)
    events_file = subscribe(channel_server)
    # Two communications a week per recipient, across campaigns and channels.
    world.campaigns.put_instance_communication_limits(connectInstanceId=world.instance, communicationLimitsConfig={
        "allChannelSubtypes": {"communicationLimitsList": [
            {"maxCountPerRecipient": 2, "frequency": 7, "unit": "DAY"}]}})

    def person(**fields) -> str:
        code = fields.pop("code")
        return world.profiles.create_profile(DomainName=world.domain, Attributes={"cohort": "e2e", "code": code},
                                             **fields)["ProfileId"]

    ana = person(FirstName="Ana", LastName="O'Brien & Sons", EmailAddress="ana@example.org",
                 MobilePhoneNumber="+4915112345601", code="1234")
    bo = person(FirstName="Bo", LastName="Lind", EmailAddress="gone@example.org",
                MobilePhoneNumber="+4915112345602", code="2222")
    cy = person(LastName="Nameless", EmailAddress="cy@example.org", MobilePhoneNumber="+4915112345603", code="3333")
    zoe = person(FirstName="Zoë", LastName="Quiet", EmailAddress="zoe@example.org",
                 MobilePhoneNumber="+4915112345604", code="4444")
    peers.mailbox.rcpt_replies["gone@example.org"] = ["550 5.1.1 No such user"]
    peers.smsc.stat["4915112345602"] = "UNDELIV"
    peers.smsc.stat["4915112345604"] = None  # no receipt, ever
    email_template, sms_template = templates(channel_server)
    segment = world.segment("e2e")
    campaign_id = world.campaign(segment, channels(email_template, sms_template))
    name = world.campaigns.describe_campaign(id=campaign_id)["campaign"]["name"]

    advance(channel_server, seconds=1)  # snapshot, render, send; email outcomes are known at once

    def by_key() -> dict[tuple[str, str], dict]:
        return {(c["recipient"], c["channel"]): c for c in records(channel_server, campaign_id, "contacts")}

    # The SMS receipts arrive from the SMS centre on their own: recorded as they come, then applied.
    wait_for(lambda: all(by_key()[(p, "sms")]["outcome"] for p in (ana, bo)), "the delivery receipts")
    advance(channel_server, seconds=1)
    contacts_ = by_key()

    # --- what the relay received: one message per reachable recipient, rendered for them ---------
    received = {m["rcpt_tos"][0]: i for i, m in enumerate(peers.mailbox.received)}
    assert sorted(received) == ["ana@example.org", "zoe@example.org"]
    for address, profile, first, last, code in (("ana@example.org", ana, "Ana", "O'Brien & Sons", "1234"),
                                                 ("zoe@example.org", zoe, "Zoë", "Quiet", "4444")):
        message = peers.mailbox.parsed(received[address])
        assert peers.mailbox.received[received[address]]["mail_from"] == "news@example.com"
        assert message["Subject"] == f"{first}, your {name} code"
        assert message["From"].addresses[0].display_name == "Example News"
        assert message["Message-ID"] == f"<{contacts_[(profile, 'email')]['id']}@reachout>"
        # (A long header is folded onto the next line; unfolded, its value is this.)
        assert message["List-Unsubscribe"].strip() == f"<mailto:stop@example.com?subject={profile}>"
        plain, html = message.iter_parts()
        assert plain.get_content() == f"Dear {first} {last},\r\nyour code is {code}."
        escaped = last.replace("&", "&amp;").replace("'", "&#39;")  # HTML bodies are autoescaped
        assert html.get_content() == f"<p>Dear {first} {escaped},</p><p>your code is <b>{code}</b>.</p>"

    # --- what the SMS centre received -------------------------------------------------------------
    submits = {s["destination"]: s for s in peers.smsc.submits}
    assert sorted(submits) == ["4915112345601", "4915112345602", "4915112345604"]
    assert {s["source"] for s in submits.values()} == {ORIGINATION[1:]}
    assert submits["4915112345601"]["short_message"] == b"Hi Ana, your code is 1234"
    assert submits["4915112345602"]["short_message"] == b"Hi Bo, your code is 2222"
    assert submits["4915112345604"]["data_coding"] == UCS2  # ë has no GSM 7-bit code
    assert submits["4915112345604"]["short_message"].decode("utf-16-be") == "Hi Zoë, your code is 4444"

    # --- dispositions -----------------------------------------------------------------------------
    assert {k: (c["state"], c["disposition"]) for k, c in contacts_.items() if k[0] != cy} == {
        (ana, "email"): ("completed", "DELIVERED"), (ana, "sms"): ("completed", "DELIVERED"),
        (bo, "email"): ("completed", "HARD_BOUNCE"), (bo, "sms"): ("completed", "UNDELIVERABLE"),
        (zoe, "email"): ("completed", "DELIVERED"), (zoe, "sms"): ("sent", None)}
    # Cy has no FirstName: dropped on both channels with the reason, before anything was counted.
    for channel in ("email", "sms"):
        dropped = contacts_[(cy, channel)]
        assert dropped["state"] == "dropped" and dropped["dispatched_at"] is None
        assert "variable Attributes.Customer.FirstName has no value" in dropped["reason"]
    suppressed = [s for s in records(channel_server, campaign_id, "suppressions") if s["recipient"] == cy]
    assert sorted(s["channel"] for s in suppressed) == ["email", "sms"]
    assert all(s["reason"].startswith("message not rendered: Cannot render the ") for s in suppressed)

    # Zoë's receipt never comes: at its deadline (24 hours) the SMS completes, outcome unknown.
    advance(channel_server, seconds=24 * 3600)
    assert (by_key()[(zoe, "sms")]["state"], by_key()[(zoe, "sms")]["disposition"]) == ("completed", "NO_RECEIPT")
    assert world.state(campaign_id) == "Completed"

    # --- limits: unknown outcomes count, proven failures do not ----------------------------------
    # A second campaign, SMS only, the next day: Ana (two delivered) and Zoë (delivered + unknown)
    # are at the limit; Bo's bounce and undeliverable SMS were released, so Bo gets this one.
    again = world.campaign(segment, channels(None, sms_template))
    advance(channel_server, seconds=1)
    second = {c["recipient"]: c for c in records(channel_server, again, "contacts")}
    assert {p: (c["dispatched_at"] is not None, c["reason"] and c["reason"].split(":")[0])
            for p, c in second.items()} == {
        ana: (False, "communication limit reached"), zoe: (False, "communication limit reached"),
        cy: (False, "message not rendered"), bo: (True, None)}
    assert [s["destination"] for s in peers.smsc.submits].count("4915112345602") == 2

    # --- a bounce that comes back later ------------------------------------------------------------
    zoe_email = contacts_[(zoe, "email")]["id"]
    bounced = post_raw(channel_server, "/_reachout/channels/email/bounces", dsn(f"<{zoe_email}@reachout>", "failed"))
    assert bounced == {"contactId": zoe_email}
    assert by_key()[(zoe, "email")]["disposition"] == "HARD_BOUNCE"

    # --- the contact events --------------------------------------------------------------------------
    advance(channel_server, seconds=60)  # delivers what is left in the outbox
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    finished: dict[str, str] = {}
    reasons: dict[str, list[str]] = defaultdict(list)
    for event in events:
        detail = event["detail"]
        if detail.get("eventType") == "DISCONNECTED":
            finished[detail["contactId"]] = detail["disposition"]
        elif event["detail-type"] == "Reachout Recipient Suppressed":
            reasons[detail["profileId"]].append(detail["reason"])
    assert {key: finished[c["id"]] for key, c in contacts_.items() if c["id"] in finished} == {
        (ana, "email"): "DELIVERED", (ana, "sms"): "SMS_DELIVERED", (bo, "email"): "BOUNCED",
        (bo, "sms"): "SMS_UNDELIVERABLE", (zoe, "email"): "DELIVERED", (zoe, "sms"): "NO_RECEIPT"}
    assert sum("variable Attributes.Customer.FirstName has no value" in r for r in reasons[cy]) == 3


def test_a_bounced_email_is_retried_by_sms_after_the_wait(channel_server: Server, peers: Peers) -> None:
    """The campaign's CAMPAIGN flow says: a hard bounce is retried by SMS an hour later. The relay
    refuses Bo's address; an hour after the bounce, and not before, the SMS centre gets the rendered
    reattempt from the campaign's number, and its delivery receipt completes it."""
    world = World(channel_server)
    instance = connect_instance(world)
    flow = rules_flow(channel_server, instance,
                      {"Dispositions": ["HARD_BOUNCE"], "Channel": "sms", "Wait": "PT1H", "MaxAttempts": 2})
    bo = world.profiles.create_profile(DomainName=world.domain, FirstName="Bo", LastName="Lind",
                                       EmailAddress="gone@example.org", MobilePhoneNumber="+4915112345602",
                                       Attributes={"cohort": "retry", "code": "2222"})["ProfileId"]
    world.profiles.create_profile(DomainName=world.domain, FirstName="Ana", LastName="Lind",
                                  EmailAddress="ana@example.org", Attributes={"cohort": "retry", "code": "1"})
    peers.mailbox.rcpt_replies["gone@example.org"] = ["550 5.1.1 No such user"]
    email_template, sms_template = templates(channel_server)
    # Email is the campaign's channel; SMS (configured, no window) is used for reattempts: Bo has a
    # mobile number, so the first attempt goes by SMS too; Ana has none.
    config = channels(email_template, sms_template)
    campaign_id = world.campaign(world.segment("retry"), config, connectCampaignFlowArn=flow)

    def bo_sms() -> list[dict]:
        return [s for s in peers.smsc.submits if s["destination"] == "4915112345602"]

    advance(channel_server, seconds=1)  # first attempts; the refusal is known at once
    wait_for(lambda: len(bo_sms()) == 1, "the first SMS")
    bounced_at = START  # the relay refused the address while the message was handed over
    mine = [c for c in records(channel_server, campaign_id, "contacts") if c["recipient"] == bo]
    assert sorted((c["channel"], c["attempt"], c["disposition"]) for c in mine if c["channel"] == "email") == \
        [("email", 1, "HARD_BOUNCE")]
    retry = next(c for c in mine if c["attempt"] == 2)
    assert (retry["channel"], retry["state"], datetime.fromisoformat(retry["due_at"])) == \
        ("sms", "planned", bounced_at + timedelta(hours=1))

    advance(channel_server, seconds=3600 - 2)  # a second short of the wait: nothing more was sent
    assert len(bo_sms()) == 1
    advance(channel_server, seconds=2)
    wait_for(lambda: len(bo_sms()) == 2, "the reattempt")
    assert bo_sms()[1]["short_message"] == b"Hi Bo, your code is 2222"
    assert bo_sms()[1]["source"] == ORIGINATION[1:]
    wait_for(lambda: next(c for c in records(channel_server, campaign_id, "contacts")
                          if c["id"] == retry["id"])["outcome"], "the reattempt's receipt")
    advance(channel_server, seconds=1)
    done = next(c for c in records(channel_server, campaign_id, "contacts") if c["id"] == retry["id"])
    assert (done["state"], done["disposition"], datetime.fromisoformat(done["dispatched_at"])) == \
        ("completed", "DELIVERED", bounced_at + timedelta(hours=1))
    assert [m["rcpt_tos"] for m in peers.mailbox.received] == [["ana@example.org"]]


def post_raw(server: Server, path: str, body: bytes) -> dict:
    request = urllib.request.Request(server.url + path, method="POST", data=body,
                                     headers={"Content-Type": "message/rfc822"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def event_campaign(world: World, config: dict, name: str | None = None) -> str:
    """A running campaign fed by event triggers: the engine makes no contacts for it on its own, and it
    does not complete while none are left."""
    campaign_id = world.campaigns.create_campaign(
        name=name or f"c-{uuid.uuid4().hex[:6]}", connectInstanceId=world.instance, channelSubtypeConfig=config,
        source={"eventTrigger": {"customerProfilesDomainArn":
                                 f"arn:aws:profile:{REGION}:{ACCOUNT}:domains/{world.domain}"}})["id"]
    world.campaigns.start_campaign(id=campaign_id)
    advance(world.server, seconds=1)
    return campaign_id


def test_outbound_request_template_parameters_render_the_message(channel_server: Server, peers: Peers) -> None:
    """PutOutboundRequestBatch's templateParameters (and its templateArn and source address) render
    the message of the contact the intake makes from the request."""
    email_template, _ = templates(channel_server)
    qc = make_client(channel_server.url, "qconnect")
    kb_id = email_template.split("/")[-2]
    order = qc.create_message_template(
        knowledgeBaseId=kb_id, name="order", channelSubtype="EMAIL",
        content={"email": {"subject": "Order {{Attributes.orderId}}",
                           "body": {"plainText": {"content": "Your order {{Attributes.orderId}} ships "
                                                             "{{Attributes.when}}. ({{Attributes.Campaign.Name}})"}}}},
        defaultAttributes={"customAttributes": {"when": "soon"}})["messageTemplate"]["messageTemplateArn"]
    world = World(channel_server)
    campaign_id = event_campaign(world, channels(email_template, None), name="orders")
    accepted = world.campaigns.put_outbound_request_batch(id=campaign_id, outboundRequests=[{
        "clientToken": "order-a17", "expirationTime": START + timedelta(hours=1),
        "channelSubtypeParameters": {"email": {
            "destinationEmailAddress": "buyer@example.org", "connectSourceEmailAddress": "orders@example.com",
            "templateArn": order, "templateParameters": {"orderId": "A-17"}}}}])
    assert len(accepted["successfulRequests"]) == 1
    advance(channel_server, seconds=1)

    [contact] = records(channel_server, campaign_id, "contacts")
    assert (contact["state"], contact["disposition"]) == ("completed", "DELIVERED")
    [got] = peers.mailbox.received
    assert got["mail_from"] == "orders@example.com" and got["rcpt_tos"] == ["buyer@example.org"]
    message = peers.mailbox.parsed()
    assert message["Subject"] == "Order A-17"
    assert message.get_content() == "Your order A-17 ships soon. (orders)\r\n"


def test_a_dispatch_reserved_before_a_crash_is_rendered_again_and_sent_once(channel_server: Server,
                                                                            peers: Peers) -> None:
    """A worker died between reserving two dispatches (step 1) and handing them over (step 2): the rows
    it left are written here as it left them, with their leases run out. The next pass renders the
    first again and sends it, under its own Message-ID; the second's delivery receipt had already
    come, so it is not sent again."""
    email_template, sms_template = templates(channel_server)
    world = World(channel_server)
    profile = world.profiles.create_profile(DomainName=world.domain, FirstName="Ana", LastName="Lind",
                                            EmailAddress="ana@example.org",
                                            MobilePhoneNumber="+4915112345601",
                                            Attributes={"cohort": "none", "code": "1234"})["ProfileId"]
    campaign_id = event_campaign(world, channels(email_template, sms_template))
    now = datetime.fromisoformat(internal(channel_server, "GET", "/_reachout/clock")["now"])
    reserved = {channel: str(uuid.uuid4()) for channel in ("email", "sms")}
    database = Database(database_url(channel_server.db, Path(".")))
    try:
        with database.transaction() as conn:
            for channel, endpoint in (("email", "ana@example.org"), ("sms", "+4915112345601")):
                conn.execute(insert(contacts).values(
                    id=reserved[channel], campaign_id=campaign_id, participant_id=None, recipient=profile,
                    channel=channel, endpoint=endpoint, zones=[], attempt=1, state="dispatching", due_at=now,
                    lease_owner="dead-worker", lease_until=now, dispatched_at=now, created_at=now,
                    outcome="SMS_DELIVERED" if channel == "sms" else None))
    finally:
        database.dispose()

    advance(channel_server, seconds=1)

    found = {c["channel"]: c for c in records(channel_server, campaign_id, "contacts")}
    assert {ch: (c["state"], c["disposition"]) for ch, c in found.items()} == {
        "email": ("completed", "DELIVERED"), "sms": ("completed", "DELIVERED")}
    [got] = peers.mailbox.received
    message = peers.mailbox.parsed()
    assert message["Message-ID"] == f"<{reserved['email']}@reachout>" and message["Subject"] == "Ana, your "\
        f"{world.campaigns.describe_campaign(id=campaign_id)['campaign']['name']} code"
    assert peers.smsc.submits == []  # its receipt had come: it had left already


def test_real_channels_need_an_existing_template_and_a_known_number(channel_server: Server, peers: Peers) -> None:
    """What only a delivery needs: without it the real adapters are handed nothing, and the contact is
    dropped with the reason (the simulated carriers would have sent it)."""
    _, sms_template = templates(channel_server)
    world = World(channel_server)
    person = world.profiles.create_profile(DomainName=world.domain, FirstName="Ana", LastName="Lind",
                                           EmailAddress="ana@example.org", MobilePhoneNumber="+4915112345601",
                                           Attributes={"cohort": "bare", "code": "1"})["ProfileId"]
    config = channels(f"arn:aws:wisdom:{REGION}:{ACCOUNT}:message-template/{uuid.uuid4().hex}/{uuid.uuid4().hex}",
                      sms_template)
    config["sms"]["defaultOutboundConfig"]["connectSourcePhoneNumberArn"] = \
        f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/phone-0123abcd"
    campaign_id = world.campaign(world.segment("bare"), config)

    advance(channel_server, seconds=1)

    found = {c["channel"]: c for c in records(channel_server, campaign_id, "contacts")}
    assert {c["recipient"] for c in found.values()} == {person}
    assert {ch: c["state"] for ch, c in found.items()} == {"email": "dropped", "sms": "dropped"}
    missing = config["email"]["defaultOutboundConfig"]["wisdomTemplateArn"]
    assert found["email"]["reason"].startswith(f"message template {missing} does not exist")
    assert found["sms"]["reason"].startswith("connectSourcePhoneNumberArn arn:aws:sms-voice:")
    assert peers.mailbox.received == [] and peers.smsc.submits == []
    assert world.state(campaign_id) == "Completed"
