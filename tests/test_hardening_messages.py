"""Hardening of messages: one message that cannot be built never stalls a campaign or resends a batch,
header text never carries a line of the recipient's making, and templates have size and work limits.
Real peers as in test_channels_e2e: an aiosmtpd relay and an smpp34 SMS centre."""
from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from reachout.channels import Outgoing
from reachout.channels.email import EmailChannel
from reachout.channels.sms import SmsChannel
from reachout.domain.template_limits import MAX_RENDERED
from tests.peers import NOW, LocalSmsc, LocalSmtpServer, Mailbox, Peers, Reports, rendered, sms
from tests.support import Server, World, advance, make_client, records
from tests.expect import aws_error

INJECTED = "Eve\r\nBcc: attacker@example.com"
LEASE = 120  # seconds: the engine's default lease on claimed work


# --- the adapters: one message's failure is its own outcome -----------------------------------------
def test_a_message_that_cannot_be_sent_is_refused_alone_and_header_text_is_one_line(
        mailbox: Mailbox, serve: Callable[..., LocalSmtpServer], channels: Callable[..., EmailChannel]) -> None:
    relay = serve()
    channel = channels(f"smtp://127.0.0.1:{relay.port}")
    receipts = channel.send([
        rendered("c-ana", "ana@example.org"),
        rendered("c-eve", "eve@example.org", subject=f"Hello {INJECTED}", sender_name="Billing\nBcc: x@example.com"),
        rendered("c-bad", "bad\x01@example.org"),
        Outgoing("c-bare", "c-bare", "campaign-1", "email", "bo@example.org", 1),  # no content at all
    ], NOW)

    assert [r.outcome for r in receipts] == ["DELIVERED", "DELIVERED", "REJECTED", "REJECTED"]
    assert receipts[0].reason is None and receipts[1].reason is None
    assert "not an email address" in (receipts[2].reason or "")
    assert "needs rendered content" in (receipts[3].reason or "")
    # the relay may take them in either order (the channel sends over more than one connection)
    recipients = [m["rcpt_tos"] for m in mailbox.received]
    assert sorted(recipients) == [["ana@example.org"], ["eve@example.org"]]
    eve = mailbox.parsed(recipients.index(["eve@example.org"]))
    assert eve["Subject"] == "Hello Eve Bcc: attacker@example.com"
    assert eve["From"].addresses[0].display_name == "Billing Bcc: x@example.com"
    assert all("Bcc" not in mailbox.parsed(i) for i in range(2))


def test_an_sms_that_cannot_be_made_is_refused_alone(smsc: LocalSmsc) -> None:
    with SmsChannel(f"smpp://reachout:secret@127.0.0.1:{smsc.port}", Reports(), rate=1000, backoff=0.01,
                    response_timeout=5.0) as channel:
        bare = Outgoing("c-bare", "c-bare", "campaign-1", "sms", "+4915112345602", 1)  # no text
        good, refused = channel.send([bare, sms("c-1", "+4915112345601")], NOW)[::-1]
    assert refused.outcome == "REJECTED" and "needs rendered content" in (refused.reason or "")
    # handed over: its receipt comes later, or came already (the SMSC may report delivery before the
    # send returns, and then the send gives the final outcome)
    assert good.outcome in (None, "SMS_DELIVERED")
    assert [s["destination"] for s in smsc.submits] == ["4915112345601"]


# --- campaigns: a name with a line break, a recipient past the template's limits ---------------------
def email_campaign(server: Server, world: World, cohort: str, content: dict) -> str:
    qc = make_client(server.url, "qconnect")
    kb = qc.create_knowledge_base(name=f"kb-{uuid.uuid4().hex[:8]}", knowledgeBaseType="MESSAGE_TEMPLATES")
    template = qc.create_message_template(knowledgeBaseId=kb["knowledgeBase"]["knowledgeBaseId"], name="hello",
                                          channelSubtype="EMAIL", content=content)["messageTemplate"]
    return world.campaign(world.segment(cohort), {"email": {"outboundMode": {"agentless": {}}, "defaultOutboundConfig": {
        "connectSourceEmailAddress": "news@example.com", "sourceEmailAddressDisplayName": "News",
        "wisdomTemplateArn": template["messageTemplateArn"]}}})


def test_a_line_break_in_a_name_goes_cleaned_once_to_each_recipient(channel_server: Server, peers: Peers) -> None:
    world = World(channel_server)
    for first, address in (("Ana", "ana@example.org"), (INJECTED, "eve@example.org"), ("Bo", "bo@example.org")):
        world.person("crlf", FirstName=first, EmailAddress=address)
    campaign_id = email_campaign(channel_server, world, "crlf", {"email": {
        "subject": "Hello {{Attributes.Customer.FirstName}}",
        "body": {"plainText": {"content": "Dear {{Attributes.Customer.FirstName}}"}}}})

    advance(channel_server, seconds=1)  # answers 200 (a 500 raises)
    for _ in range(5):  # well past several leases: nothing is handed over again
        advance(channel_server, seconds=3 * LEASE)

    received = peers.mailbox.received
    assert sorted(m["rcpt_tos"][0] for m in received) == ["ana@example.org", "bo@example.org", "eve@example.org"]
    assert all(len(m["rcpt_tos"]) == 1 for m in received)
    subjects = {m["rcpt_tos"][0]: peers.mailbox.parsed(i)["Subject"] for i, m in enumerate(received)}
    assert subjects["eve@example.org"] == "Hello Eve Bcc: attacker@example.com"
    assert all("Bcc" not in peers.mailbox.parsed(i) for i in range(len(received)))
    assert {(c["state"], c["disposition"]) for c in records(channel_server, campaign_id, "contacts")} == \
        {("completed", "DELIVERED")}
    assert world.state(campaign_id) == "Completed"


def test_a_recipient_past_the_template_limits_is_dropped_and_the_others_get_theirs(channel_server: Server,
                                                                                   peers: Peers) -> None:
    world = World(channel_server)
    ana = world.profiles.create_profile(DomainName=world.domain, FirstName="Ana", EmailAddress="ana@example.org",
                                        Attributes={"cohort": "wide", "width": "12"})["ProfileId"]
    huge = world.profiles.create_profile(DomainName=world.domain, FirstName="Hu", EmailAddress="hu@example.org",
                                         Attributes={"cohort": "wide", "width": "20000000"})["ProfileId"]
    campaign_id = email_campaign(channel_server, world, "wide", {"email": {
        "subject": "Hello",
        "body": {"plainText": {"content": "[{{ Attributes.Customer.FirstName|center("
                                          "Attributes.Customer.Attributes.width|int) }}]"}}}})

    advance(channel_server, seconds=1)
    advance(channel_server, seconds=3 * LEASE)

    found = {c["recipient"]: c for c in records(channel_server, campaign_id, "contacts")}
    assert (found[ana]["state"], found[ana]["disposition"]) == ("completed", "DELIVERED")
    assert found[huge]["state"] == "dropped" and found[huge]["dispatched_at"] is None
    assert f"{MAX_RENDERED:,} characters" in found[huge]["reason"]
    assert [m["rcpt_tos"] for m in peers.mailbox.received] == [["ana@example.org"]]
    assert peers.mailbox.parsed().get_content() == "[    Ana     ]\r\n"


# --- qconnect: what authors are told -------------------------------------------------------------------
@pytest.fixture
def qc(client):
    return client("qconnect")


@pytest.fixture
def kb_id(qc) -> str:
    return qc.create_knowledge_base(name=f"kb-{uuid.uuid4().hex[:8]}",
                                    knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"]["knowledgeBaseId"]


def email(subject: str, text: str = "Dear {{Attributes.Customer.FirstName}}") -> dict:
    return {"email": {"subject": subject, "body": {"plainText": {"content": text}}}}


def test_a_subject_that_is_not_one_line_or_not_a_template_is_refused(qc, kb_id) -> None:
    def create(content: dict) -> None:
        qc.create_message_template(knowledgeBaseId=kb_id, name=f"t-{uuid.uuid4().hex[:6]}", channelSubtype="EMAIL",
                                   content=content)

    with aws_error("ValidationException", "email subject must be one line"):
        create(email("Hello\r\nBcc: attacker@example.com"))
    with aws_error("ValidationException", "email subject is not a valid template"):
        create(email("Hello {{ Attributes.Customer. }}"))
    with aws_error("ValidationException", "recursive loops are not allowed"):
        create(email("Hi", "{% for x in Attributes.Tree recursive %}{{ loop(x.Children) }}{% endfor %}"))

    template = qc.create_message_template(knowledgeBaseId=kb_id, name="fine", channelSubtype="EMAIL",
                                          content=email("Hello {{Attributes.Customer.FirstName}}"))["messageTemplate"]
    ids = {"knowledgeBaseId": kb_id, "messageTemplateId": template["messageTemplateId"]}
    with aws_error("ValidationException", "email subject must be one line"):
        qc.update_message_template(**ids, content=email("Hello\n{{Attributes.Customer.FirstName}}"))
    assert qc.get_message_template(**ids)["messageTemplate"]["content"]["email"]["subject"] == \
        "Hello {{Attributes.Customer.FirstName}}"
    # What a value brings in is made one line.
    rendered_ = qc.render_message_template(**ids, attributes={"customerProfileAttributes": {"firstName": INJECTED}})
    assert rendered_["content"]["email"]["subject"] == "Hello Eve Bcc: attacker@example.com"


@pytest.mark.parametrize(("text", "mentions"), [
    ("{{ 'x'|center(20000000) }}", f"{MAX_RENDERED:,} characters"),
    ("{{ '%20000000s'|format('x') }}", f"{MAX_RENDERED:,} characters"),
    ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
     f"{MAX_RENDERED:,} characters"),
    ("{% for i in range(3000) %}" + "x" * 100 + "{% endfor %}", f"{MAX_RENDERED:,} characters"),
    ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "units of work"),
    ("{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(60) }}", "units of work"),
])
def test_render_answers_a_validation_error_past_the_size_and_work_limits(qc, kb_id, text: str, mentions: str) -> None:
    template = qc.create_message_template(knowledgeBaseId=kb_id, name=f"t-{uuid.uuid4().hex[:6]}",
                                          channelSubtype="SMS", content={"sms": {"body": {"plainText": {
                                              "content": text}}}})["messageTemplate"]
    with aws_error("ValidationException", mentions):
        qc.render_message_template(knowledgeBaseId=kb_id, messageTemplateId=template["messageTemplateId"],
                                   attributes={})
