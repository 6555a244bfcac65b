"""Real channels through the engine: `reachout serve --virtual-clock ... --smtp-url ... --smpp-url ...`
sends a v2 email + SMS campaign over a segment to an aiosmtpd relay and an smpp34 SMS centre running
in this process, each message rendered from its qconnect template for its recipient. Delivery
receipts, a refused address and a late bounce come back as dispositions; a recipient whose profile
lacks a template variable is dropped with the reason and gets nothing; a message whose receipt never
comes completes at its deadline and still counts against limits."""
from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from reachout.channels.sms import UCS2
from reachout.store.db import Database, database_url
from reachout.store.tables import contacts
from tests.peers import Peers, dsn
from tests.support import (ACCOUNT, ORIGINATION, REGION, START, Server, World, advance, channels, connect_instance,
                           event_campaign, internal, make_client, post_raw, records, rules_flow, subscribe, templates,
                           wait_for)


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
