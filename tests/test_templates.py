"""Message templates: Amazon Q in Connect (`qconnect`) knowledge bases, EMAIL and SMS templates,
versions, activation, rendering and tags through real boto3 against a real `reachout serve`, with
their error paths; and the pure rendering rules (`reachout.domain.template`) the engine uses for
every recipient.

Every server test works in a knowledge base of its own, so listings only see its own templates.
"""
from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reachout.domain import template as templating
from reachout.domain.template import TemplateError, check_content, preview, render, render_for_contact
from reachout.store.db import Database, database_url
from reachout.store.templates import content_for_arn
from tests.support import ACCOUNT
from tests.expect import aws_error

REGION, OTHER_REGION = "us-east-1", "us-west-2"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"




def email_content(subject: str = "Hello {{Attributes.Customer.FirstName}}",
                  html: str | None = "<p>Dear {{Attributes.Customer.FirstName}}</p>",
                  text: str | None = "Dear {{Attributes.Customer.FirstName}}") -> dict:
    body = {}
    if text is not None:
        body["plainText"] = {"content": text}
    if html is not None:
        body["html"] = {"content": html}
    return {"email": {"subject": subject, "body": body}}


def sms_content(text: str = "Hi {{Attributes.Customer.FirstName}}, your code is {{Attributes.Code}}") -> dict:
    return {"sms": {"body": {"plainText": {"content": text}}}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def qc(client):
    return client("qconnect")


@pytest.fixture
def kb(qc) -> dict:
    return qc.create_knowledge_base(name=unique("templates"), knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"]


@pytest.fixture
def kb_id(kb) -> str:
    return kb["knowledgeBaseId"]


def create_email(qc, kb_id: str, content: dict | None = None, **extra) -> dict:
    return qc.create_message_template(knowledgeBaseId=kb_id, name=extra.pop("name", unique("welcome")),
                                      channelSubtype="EMAIL", content=content or email_content(),
                                      **extra)["messageTemplate"]


# --- knowledge bases -------------------------------------------------------------------------------
def test_knowledge_base_is_created_active_and_described_back(qc):
    created = qc.create_knowledge_base(name="Message templates", knowledgeBaseType="MESSAGE_TEMPLATES",
                                       description="Campaign messages", tags={"team": "crm"})["knowledgeBase"]
    kb_id = created["knowledgeBaseId"]
    assert created["knowledgeBaseArn"] == f"arn:aws:wisdom:{REGION}:{ACCOUNT}:knowledge-base/{kb_id}"
    assert created["status"] == "ACTIVE" and created["knowledgeBaseType"] == "MESSAGE_TEMPLATES"
    assert created["tags"] == {"team": "crm"} and created["description"] == "Campaign messages"
    assert qc.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"] == created
    # An ARN identifies it as well as its id.
    assert qc.get_knowledge_base(knowledgeBaseId=created["knowledgeBaseArn"])["knowledgeBase"] == created


@pytest.mark.parametrize("kind", ["CUSTOM", "EXTERNAL", "QUICK_RESPONSES", "MANAGED"])
def test_only_message_template_knowledge_bases_are_served(qc, kind):
    with aws_error("ValidationException", "MESSAGE_TEMPLATES"):
        qc.create_knowledge_base(name="other", knowledgeBaseType=kind)


def test_source_configuration_is_refused_for_message_templates(qc):
    with aws_error("ValidationException", "sourceConfiguration"):
        qc.create_knowledge_base(name="kb", knowledgeBaseType="MESSAGE_TEMPLATES", sourceConfiguration={
            "appIntegrations": {"appIntegrationArn": f"arn:aws:app-integrations:{REGION}:{ACCOUNT}:x/y"}})


def test_repeated_client_token_returns_the_same_knowledge_base(qc):
    token = unique("token")
    first = qc.create_knowledge_base(name="kb", knowledgeBaseType="MESSAGE_TEMPLATES", clientToken=token)
    again = qc.create_knowledge_base(name="kb", knowledgeBaseType="MESSAGE_TEMPLATES", clientToken=token)
    assert again["knowledgeBase"]["knowledgeBaseId"] == first["knowledgeBase"]["knowledgeBaseId"]
    with aws_error("ConflictException", "clientToken"):
        qc.create_knowledge_base(name="another", knowledgeBaseType="MESSAGE_TEMPLATES", clientToken=token)


def test_unknown_knowledge_base_is_not_found(qc):
    with aws_error("ResourceNotFoundException"):
        qc.get_knowledge_base(knowledgeBaseId=UNKNOWN_ID)
    with aws_error("ResourceNotFoundException"):
        qc.delete_knowledge_base(knowledgeBaseId=UNKNOWN_ID)
    with aws_error("ResourceNotFoundException"):
        qc.list_message_templates(knowledgeBaseId=UNKNOWN_ID)
    with aws_error("ResourceNotFoundException"):
        create_email(qc, UNKNOWN_ID)


def test_knowledge_base_id_must_be_a_uuid_or_arn(qc):
    with aws_error("ValidationException"):
        qc.get_knowledge_base(knowledgeBaseId="not-a-uuid")


def test_knowledge_base_is_regional(client, kb_id):
    with aws_error("ResourceNotFoundException"):
        client("qconnect", region=OTHER_REGION).get_knowledge_base(knowledgeBaseId=kb_id)


def test_list_knowledge_bases_pages_through_each_once_in_creation_order(client):
    qc = client("qconnect", region="ap-southeast-4")
    mine = [qc.create_knowledge_base(name=f"kb {n}", knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"]
            ["knowledgeBaseId"] for n in range(3)]
    seen, token = [], None
    while True:
        page = qc.list_knowledge_bases(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["knowledgeBaseSummaries"]) <= 2
        seen += [summary["knowledgeBaseId"] for summary in page["knowledgeBaseSummaries"]]
        token = page.get("nextToken")
        if not token:
            break
    assert [kb for kb in seen if kb in mine] == mine and len(seen) == len(set(seen))
    with aws_error("ValidationException", "nextToken"):
        qc.list_knowledge_bases(nextToken="bm90IG91cnM=")


def test_deleted_knowledge_base_takes_its_templates_and_tags(qc, kb):
    template = create_email(qc, kb["knowledgeBaseId"], tags={"k": "v"})
    qc.delete_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])
    with aws_error("ResourceNotFoundException"):
        qc.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])
    with aws_error("ResourceNotFoundException"):
        qc.get_message_template(knowledgeBaseId=kb["knowledgeBaseId"], messageTemplateId=template["messageTemplateId"])
    for arn in (kb["knowledgeBaseArn"], template["messageTemplateArn"]):
        with aws_error("ResourceNotFoundException"):
            qc.list_tags_for_resource(resourceArn=arn)


# --- message templates -----------------------------------------------------------------------------
def test_email_template_is_created_and_read_back(qc, kb):
    created = create_email(qc, kb["knowledgeBaseId"], name="Welcome", description="First contact",
                           language="en_US", defaultAttributes={"customerProfileAttributes": {"firstName": "friend"}},
                           tags={"channel": "email"})
    template_id = created["messageTemplateId"]
    assert created["messageTemplateArn"] == (f"arn:aws:wisdom:{REGION}:{ACCOUNT}:message-template/"
                                             f"{kb['knowledgeBaseId']}/{template_id}")
    assert created["knowledgeBaseArn"] == kb["knowledgeBaseArn"] and created["channelSubtype"] == "EMAIL"
    assert created["content"] == email_content() and created["language"] == "en_US"
    assert created["attributeTypes"] == ["CUSTOMER_PROFILE"] and created["lastModifiedBy"].startswith("arn:aws:iam::")
    assert len(created["messageTemplateContentSha256"]) == 64 and created["tags"] == {"channel": "email"}
    read = qc.get_message_template(knowledgeBaseId=kb["knowledgeBaseId"], messageTemplateId=template_id)
    assert read["messageTemplate"] == created  # no qualifier means $LATEST
    for identifier in (f"{template_id}:$LATEST", created["messageTemplateArn"]):
        again = qc.get_message_template(knowledgeBaseId=kb["knowledgeBaseArn"], messageTemplateId=identifier)
        assert again["messageTemplate"] == created


def test_sms_template_is_created(qc, kb_id):
    created = qc.create_message_template(knowledgeBaseId=kb_id, name="code", channelSubtype="SMS",
                                         content=sms_content())["messageTemplate"]
    assert created["content"] == sms_content() and created["attributeTypes"] == ["CUSTOM", "CUSTOMER_PROFILE"]


@pytest.mark.parametrize("channel, content, mentions", [
    ("SMS", email_content(), "content.sms"),
    ("EMAIL", sms_content(), "content.email"),
    ("EMAIL", {"email": {"body": {"plainText": {"content": "x"}}}}, "subject"),
    ("EMAIL", {"email": {"subject": "s"}}, "body"),
    ("SMS", {"sms": {"body": {}}}, "plainText"),
    ("WHATSAPP", {"whatsApp": {"data": "{}"}}, "EMAIL and SMS"),
    ("EMAIL", email_content(subject="Hi {{ Attributes.Customer.FirstName }"), "email subject"),
    ("SMS", sms_content("{% if %}"), "SMS body"),
])
def test_template_content_must_fit_its_channel_and_compile(qc, kb_id, channel, content, mentions):
    with aws_error("ValidationException", mentions):
        qc.create_message_template(knowledgeBaseId=kb_id, name="bad", channelSubtype=channel, content=content)
    assert qc.list_message_templates(knowledgeBaseId=kb_id)["messageTemplateSummaries"] == []


def test_name_content_and_language_are_required_or_checked(qc, kb_id):
    with aws_error("ValidationException", "name"):
        qc.create_message_template(knowledgeBaseId=kb_id, channelSubtype="SMS", content=sms_content())
    with aws_error("ValidationException", "content"):
        qc.create_message_template(knowledgeBaseId=kb_id, name="n", channelSubtype="SMS")
    with aws_error("ValidationException", "Language"):
        create_email(qc, kb_id, language="xx_XX")


def test_template_name_is_unique_in_its_knowledge_base(qc, kb_id):
    create_email(qc, kb_id, name="Renewal")
    with aws_error("ConflictException", "Renewal"):
        create_email(qc, kb_id, name="Renewal")
    other_kb = qc.create_knowledge_base(name="other", knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"]
    create_email(qc, other_kb["knowledgeBaseId"], name="Renewal")


def test_repeated_client_token_returns_the_same_template(qc, kb_id):
    token = unique("token")
    first = create_email(qc, kb_id, name="once", clientToken=token)
    assert create_email(qc, kb_id, name="once", clientToken=token)["messageTemplateId"] == first["messageTemplateId"]
    with aws_error("ConflictException", "clientToken"):
        create_email(qc, kb_id, name="twice", clientToken=token)


def test_unknown_template_is_not_found(qc, kb_id):
    for call in (lambda: qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=UNKNOWN_ID),
                 lambda: qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=UNKNOWN_ID,
                                                    content=sms_content()),
                 lambda: qc.delete_message_template(knowledgeBaseId=kb_id, messageTemplateId=UNKNOWN_ID),
                 lambda: qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=UNKNOWN_ID),
                 lambda: qc.render_message_template(knowledgeBaseId=kb_id, messageTemplateId=UNKNOWN_ID,
                                                    attributes={})):
        with aws_error("ResourceNotFoundException"):
            call()


def test_template_of_another_knowledge_base_is_not_found(qc, kb_id):
    template = create_email(qc, kb_id)
    other_kb = qc.create_knowledge_base(name="other", knowledgeBaseType="MESSAGE_TEMPLATES")["knowledgeBase"]
    for identifier in (template["messageTemplateId"], template["messageTemplateArn"]):
        with aws_error("ResourceNotFoundException"):
            qc.get_message_template(knowledgeBaseId=other_kb["knowledgeBaseId"], messageTemplateId=identifier)


def test_update_changes_latest_only_and_a_refused_update_changes_nothing(qc, kb_id):
    template = create_email(qc, kb_id)
    template_id = template["messageTemplateId"]
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    new_content = email_content(subject="Last chance, {{Attributes.Customer.FirstName}}")
    updated = qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, content=new_content,
                                         language="fr_FR")["messageTemplate"]
    assert updated["content"] == new_content and updated["language"] == "fr_FR"
    assert updated["messageTemplateContentSha256"] != template["messageTemplateContentSha256"]
    version_1 = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1")["messageTemplate"]
    assert version_1["content"] == email_content() and "language" not in version_1

    with aws_error("ValidationException", "content.email"):
        qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, content=sms_content())
    with aws_error("ValidationException", "qualifier"):
        qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1", language="de_DE")
    latest = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id)["messageTemplate"]
    assert latest["content"] == new_content and latest["language"] == "fr_FR"


def test_update_metadata_renames_every_version(qc, kb_id):
    template = create_email(qc, kb_id, name="Before")
    taken = create_email(qc, kb_id, name="Taken")
    template_id = template["messageTemplateId"]
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    qc.update_message_template_metadata(knowledgeBaseId=kb_id, messageTemplateId=template_id, name="After",
                                        description="Renamed")
    version = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1")["messageTemplate"]
    assert version["name"] == "After" and version["description"] == "Renamed"
    with aws_error("ConflictException", "Taken"):
        qc.update_message_template_metadata(knowledgeBaseId=kb_id, messageTemplateId=template_id,
                                            name=taken["name"])


def test_list_message_templates_pages_in_creation_order(qc, kb_id):
    ids = [create_email(qc, kb_id, name=f"t{n}")["messageTemplateId"] for n in range(3)]
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=ids[1])
    qc.activate_message_template(knowledgeBaseId=kb_id, messageTemplateId=ids[1], versionNumber=1)
    first = qc.list_message_templates(knowledgeBaseId=kb_id, maxResults=2)
    rest = qc.list_message_templates(knowledgeBaseId=kb_id, maxResults=2, nextToken=first["nextToken"])
    summaries = first["messageTemplateSummaries"] + rest["messageTemplateSummaries"]
    assert [s["messageTemplateId"] for s in summaries] == ids and "nextToken" not in rest
    assert [s.get("activeVersionNumber") for s in summaries] == [None, 1, None]


def test_deleted_template_is_gone_with_its_versions_and_tags(qc, kb_id):
    template = create_email(qc, kb_id, tags={"k": "v"})
    template_id = template["messageTemplateId"]
    qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    qc.delete_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    for identifier in (template_id, f"{template_id}:1"):
        with aws_error("ResourceNotFoundException"):
            qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=identifier)
    with aws_error("ResourceNotFoundException"):
        qc.list_tags_for_resource(resourceArn=template["messageTemplateArn"])
    create_email(qc, kb_id, name=template["name"])  # its name is free again


# --- versions and activation -----------------------------------------------------------------------
def test_versions_freeze_latest_and_repeat_while_it_is_unchanged(qc, kb_id):
    template = create_email(qc, kb_id)
    template_id = template["messageTemplateId"]
    first = qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)["messageTemplate"]
    assert first["versionNumber"] == 1 and first["isActive"] is False
    assert first["messageTemplateArn"] == f"{template['messageTemplateArn']}:1"
    assert first["messageTemplateContentSha256"] == template["messageTemplateContentSha256"]
    again = qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id)["messageTemplate"]
    assert again["versionNumber"] == 1

    changed = qc.update_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id,
                                         content=email_content(text="Bye"))["messageTemplate"]
    with aws_error("ConflictException", "checksum"):
        qc.create_message_template_version(knowledgeBaseId=kb_id, messageTemplateId=template_id,
                                           messageTemplateContentSha256=template["messageTemplateContentSha256"])
    second = qc.create_message_template_version(
        knowledgeBaseId=kb_id, messageTemplateId=template_id,
        messageTemplateContentSha256=changed["messageTemplateContentSha256"])["messageTemplate"]
    assert second["versionNumber"] == 2 and second["content"] == email_content(text="Bye")
    listed = qc.list_message_template_versions(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    assert [(v["versionNumber"], v["isActive"], v["messageTemplateArn"]) for v in
            listed["messageTemplateVersionSummaries"]] == [(1, False, f"{template['messageTemplateArn']}:1"),
                                                           (2, False, f"{template['messageTemplateArn']}:2")]
    page = qc.list_message_template_versions(knowledgeBaseId=kb_id, messageTemplateId=template_id, maxResults=1)
    assert [v["versionNumber"] for v in page["messageTemplateVersionSummaries"]] == [1] and page["nextToken"]


def test_activation_moves_the_active_version(qc, kb_id):
    template_id = create_email(qc, kb_id)["messageTemplateId"]
    ids = dict(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    qc.create_message_template_version(**ids)
    qc.update_message_template(**ids, content=email_content(text="v2"))
    qc.create_message_template_version(**ids)
    with aws_error("ResourceNotFoundException", "active"):
        qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:$ACTIVE_VERSION")

    activated = qc.activate_message_template(**ids, versionNumber=1)
    assert activated["versionNumber"] == 1 and activated["messageTemplateId"] == template_id
    active = qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:$ACTIVE_VERSION")
    assert active["messageTemplate"]["versionNumber"] == 1 and active["messageTemplate"]["isActive"] is True
    qc.activate_message_template(**ids, versionNumber=2)  # deactivates 1
    versions = qc.list_message_template_versions(**ids)["messageTemplateVersionSummaries"]
    assert [v["isActive"] for v in versions] == [False, True]

    with aws_error("ConflictException", "not active"):
        qc.deactivate_message_template(**ids, versionNumber=1)
    assert qc.deactivate_message_template(**ids, versionNumber=2)["versionNumber"] == 2
    with aws_error("ResourceNotFoundException"):
        qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:$ACTIVE_VERSION")
    with aws_error("ResourceNotFoundException", "version 9"):
        qc.activate_message_template(**ids, versionNumber=9)
    with aws_error("ValidationException", "qualifier"):
        qc.activate_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1", versionNumber=1)


def test_a_version_is_deleted_alone_unless_active_and_its_number_is_never_reused(qc, kb_id):
    template_id = create_email(qc, kb_id)["messageTemplateId"]
    ids = dict(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    qc.create_message_template_version(**ids)
    qc.update_message_template(**ids, content=email_content(text="v2"))
    qc.create_message_template_version(**ids)
    qc.activate_message_template(**ids, versionNumber=2)
    with aws_error("ConflictException", "active"):
        qc.delete_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:2")
    qc.delete_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1")
    with aws_error("ResourceNotFoundException"):
        qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1")
    with aws_error("ResourceNotFoundException"):
        qc.delete_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:1")
    with aws_error("ValidationException"):
        qc.delete_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:$LATEST")
    qc.update_message_template(**ids, content=email_content(text="v3"))
    assert qc.create_message_template_version(**ids)["messageTemplate"]["versionNumber"] == 3
    assert qc.get_message_template(**ids)["messageTemplate"]["content"] == email_content(text="v3")


def test_unknown_qualifier_is_refused(qc, kb_id):
    template_id = create_email(qc, kb_id)["messageTemplateId"]
    with aws_error("ValidationException", "qualifier"):
        qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:NEWEST")
    with aws_error("ResourceNotFoundException"):
        qc.get_message_template(knowledgeBaseId=kb_id, messageTemplateId=f"{template_id}:4")


# --- RenderMessageTemplate -------------------------------------------------------------------------
def test_render_fills_attributes_over_defaults_and_escapes_html_only(qc, kb_id):
    content = {"email": {"subject": "{{Attributes.Customer.FirstName}} & {{Attributes.Agent.FirstName}}",
                         "body": {"html": {"content": "<p>{{Attributes.Customer.FirstName}} from "
                                                      "{{Attributes.Customer.City}}, {{Attributes.Offer}}</p>"},
                                  "plainText": {"content": "{{Attributes.Customer.Attributes.Tier}} "
                                                           "{{Attributes.System.CustomerEndpoint.Address}}"}}}}
    template_id = create_email(qc, kb_id, content, defaultAttributes={
        "customerProfileAttributes": {"firstName": "friend", "city": "Lyon"},
        "agentAttributes": {"firstName": "Sam"}})["messageTemplateId"]
    rendered = qc.render_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, attributes={
        "customerProfileAttributes": {"firstName": "<Ann>", "custom": {"Tier": "Gold"}},
        "systemAttributes": {"customerEndpoint": {"address": "ann@example.com"}},
        "customAttributes": {"Offer": "10% off"}})
    assert rendered["content"] == {"email": {
        "subject": "<Ann> & Sam",
        "body": {"html": {"content": "<p>&lt;Ann&gt; from Lyon, 10% off</p>"},
                 "plainText": {"content": "Gold ann@example.com"}}}}
    assert rendered["attributesNotInterpolated"] == []


def test_render_keeps_placeholders_it_cannot_fill_and_names_them(qc, kb_id):
    template_id = qc.create_message_template(knowledgeBaseId=kb_id, name="code", channelSubtype="SMS",
                                             content=sms_content())["messageTemplate"]["messageTemplateId"]
    rendered = qc.render_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, attributes={
        "customAttributes": {"Code": "1234"}})
    assert rendered["content"] == sms_content("Hi {{Attributes.Customer.FirstName}}, your code is 1234")
    assert rendered["attributesNotInterpolated"] == ["Attributes.Customer.FirstName"]


def test_render_uses_the_version_asked_for(qc, kb_id):
    template = create_email(qc, kb_id, email_content(text="v1 {{Attributes.Customer.FirstName}}"))
    template_id = template["messageTemplateId"]
    ids = dict(knowledgeBaseId=kb_id, messageTemplateId=template_id)
    qc.create_message_template_version(**ids)
    qc.update_message_template(**ids, content=email_content(text="v2 {{Attributes.Customer.FirstName}}"))
    attributes = {"customerProfileAttributes": {"firstName": "Ann"}}
    texts = {qualifier: qc.render_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id + qualifier,
                                                   attributes=attributes)["content"]["email"]["body"]["plainText"]
             for qualifier in ("", ":1", ":$LATEST")}
    assert texts == {"": {"content": "v2 Ann"}, ":1": {"content": "v1 Ann"}, ":$LATEST": {"content": "v2 Ann"}}


def test_render_refuses_what_the_sandbox_forbids(qc, kb_id):
    template_id = qc.create_message_template(
        knowledgeBaseId=kb_id, name="evil", channelSubtype="SMS",
        content=sms_content("{{ ''.__class__.__mro__[1].__subclasses__() }}"))["messageTemplate"]["messageTemplateId"]
    with aws_error("ValidationException", "unsafe"):
        qc.render_message_template(knowledgeBaseId=kb_id, messageTemplateId=template_id, attributes={})


# --- tags ------------------------------------------------------------------------------------------
def test_knowledge_bases_and_templates_are_tagged_and_untagged(qc, kb):
    template = create_email(qc, kb["knowledgeBaseId"])
    for arn in (kb["knowledgeBaseArn"], template["messageTemplateArn"]):
        qc.tag_resource(resourceArn=arn, tags={"env": "test", "owner": "crm"})
        qc.untag_resource(resourceArn=arn, tagKeys=["owner"])
        assert qc.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "test"}
    described = qc.get_message_template(knowledgeBaseId=kb["knowledgeBaseId"],
                                        messageTemplateId=template["messageTemplateId"])["messageTemplate"]
    assert described["tags"] == {"env": "test"}


def test_tagging_an_unknown_or_foreign_resource_is_not_found(client, qc, kb):
    unknown = f"arn:aws:wisdom:{REGION}:{ACCOUNT}:knowledge-base/{UNKNOWN_ID}"
    with aws_error("ResourceNotFoundException"):
        qc.tag_resource(resourceArn=unknown, tags={"a": "b"})
    with aws_error("ResourceNotFoundException"):
        client("qconnect", region=OTHER_REGION).list_tags_for_resource(resourceArn=kb["knowledgeBaseArn"])


# --- what the engine reads -------------------------------------------------------------------------
def test_content_for_arn_follows_the_qualifier_and_the_active_version(server, qc, kb_id, tmp_path):
    template = create_email(qc, kb_id, email_content(text="one"))
    ids = dict(knowledgeBaseId=kb_id, messageTemplateId=template["messageTemplateId"])
    arn = template["messageTemplateArn"]
    qc.create_message_template_version(**ids)
    qc.update_message_template(**ids, content=email_content(text="two"))
    database = Database(database_url(server.db, tmp_path))
    try:
        def text(qualified_arn):
            with database.transaction() as conn:
                found = content_for_arn(conn, qualified_arn)
            return found and found[1]["content"]["email"]["body"]["plainText"]["content"]

        assert text(arn) == "two"  # no active version yet: the draft
        qc.activate_message_template(**ids, versionNumber=1)
        assert [text(arn), text(arn + ":$ACTIVE_VERSION"), text(arn + ":$LATEST"), text(arn + ":1")] == \
            ["one", "one", "two", "one"]
        assert text(arn + ":7") is None and text(arn.replace(template["messageTemplateId"], UNKNOWN_ID)) is None
    finally:
        database.dispose()


# --- rendering rules (pure) ------------------------------------------------------------------------
PROFILE = {
    "ProfileId": "p-1", "FirstName": "Zoë", "LastName": "O'Brien <Jr>", "EmailAddress": "zoe@example.com",
    "Address": {"Address1": "1 Main St", "City": "Paris", "PostalCode": "75001"},
    "ShippingAddress": {"City": "Lyon"},
    "Attributes": {"Tier": "Gold", "Points": "120"},
}
CAMPAIGN = {"id": "c-1", "name": "Spring sale", "connect_instance_id": "inst-1"}


def test_render_for_contact_names_profile_fields_the_connect_way():
    content = {"email": {
        "subject": "{{Attributes.Customer.FirstName}}, {{Attributes.Campaign.Name}} is on",
        "body": {"plainText": {"content": "{{Attributes.Customer.LastName}} {{Attributes.Customer.City}} "
                                          "{{Attributes.Customer.Address.PostalCode}} "
                                          "{{Attributes.Customer.ShippingCity}} "
                                          "{{Attributes.Customer.Attributes.Tier}} {{Attributes.OrderId}} "
                                          "{{Attributes.Campaign.ConnectInstanceId}} "
                                          "{{Attributes.Customer.ProfileId}}"},
                 "html": {"content": "<p>{{Attributes.Customer.LastName}}</p>"}},
        "headers": [{"name": "X-Tier", "value": "{{Attributes.Customer.Attributes.Tier}}"}]}}
    rendered = render_for_contact(content, PROFILE, {"OrderId": "A-7"}, CAMPAIGN)
    assert rendered == {"email": {
        "subject": "Zoë, Spring sale is on",
        "body": {"plainText": {"content": "O'Brien <Jr> Paris 75001 Lyon Gold A-7 inst-1 p-1"},
                 "html": {"content": "<p>O&#39;Brien &lt;Jr&gt;</p>"}},
        "headers": [{"name": "X-Tier", "value": "Gold"}]}}


def test_profile_fields_are_those_the_template_reads():
    assert templating.profile_fields(email_content(
        subject="{{Attributes.Customer.FirstName}} {{Attributes.Campaign.Name}} {{Attributes.OrderId}}",
        html="{{Attributes.Customer.City}} {{Attributes.Customer.ShippingCity}} {{Attributes.Customer.ProfileId}}",
        text="{{Attributes.Customer.Attributes.Tier}} {{Attributes.Customer.MailingAddress.State}}")) == {
        "FirstName", "Address", "ShippingAddress", "Attributes", "MailingAddress"}
    assert templating.profile_fields(sms_content("Hello")) == set()
    for anything in ("{{Attributes.Customer}}", "{% for k in Attributes.Customer %}{{k}}{% endfor %}",
                     "{{Attributes.Customer.get('FirstName')}}", "{{Attributes.Customer.Nickname}}",
                     "{{Attributes[name]}}"):
        assert templating.profile_fields(sms_content(anything)) is None, anything


_PROFILE_VALUES = {"FirstName": "Zoë", "LastName": "O'Brien", "AccountNumber": "AC-1",
                   "Address": {"City": "Paris", "PostalCode": "75001"}, "ShippingAddress": {"City": "Lyon"},
                   "BillingAddress": {"Country": "FR"}, "Attributes": {"Tier": "Gold"}}
_CUSTOMER_READS = ["FirstName", "LastName", "AccountNumber", "MiddleName", "City", "PostalCode", "ShippingCity",
                   "BillingCountry", "MailingCity", "Address.City", "Attributes.Tier", "Attributes", "ProfileId",
                   "Nickname", "FirstName | default('-')", "MiddleName | default('-')", "get('LastName')", ""]


@settings(max_examples=200, deadline=None)
@given(present=st.sets(st.sampled_from(sorted(_PROFILE_VALUES))),
       reads=st.lists(st.sampled_from(_CUSTOMER_READS), min_size=1, max_size=4))
def test_a_profile_read_only_as_far_as_its_template_reads_renders_the_same(present, reads):
    # Reference: the whole profile. Tried: only the fields profile_fields names (None: all of them).
    content = sms_content(" ".join("{{Attributes.Customer" + ("." + read if read else "") + "}}" for read in reads))
    profile = {"ProfileId": "p-1", **{name: _PROFILE_VALUES[name] for name in present}}
    fields = templating.profile_fields(content)
    read = profile if fields is None else {name: value for name, value in profile.items()
                                           if name == "ProfileId" or name in fields}

    def outcome(of: dict):
        try:
            return render_for_contact(content, of, {}, CAMPAIGN)
        except TemplateError as error:
            return error.message

    assert outcome(read) == outcome(profile)


def test_template_parameters_cannot_shadow_the_profile_or_the_campaign():
    content = sms_content("{{Attributes.Customer.FirstName}} {{Attributes.Campaign.Name}}")
    rendered = render_for_contact(content, PROFILE, {"Customer": {"FirstName": "Eve"}, "Campaign": "x"}, CAMPAIGN)
    assert rendered == sms_content("Zoë Spring sale")


def test_missing_variable_is_an_error_naming_it_never_a_half_rendered_message():
    content = sms_content("Hi {{ Attributes.Customer.MiddleName }}")
    with pytest.raises(TemplateError, match="Attributes.Customer.MiddleName") as caught:
        render_for_contact(content, PROFILE, {}, CAMPAIGN)
    assert caught.value.variable == "Attributes.Customer.MiddleName"
    with pytest.raises(TemplateError, match="Unknown.Deep.Name"):
        render(sms_content("{{ Unknown.Deep.Name }}"), {})
    with pytest.raises(TemplateError, match="Attributes.Missing"):
        render(sms_content("{% if Attributes.Missing %}x{% endif %}"), {"Attributes": {}})


def test_defaults_and_jinja_fallbacks_fill_what_the_profile_lacks():
    content = sms_content("{{Attributes.Customer.MiddleName | default('-')}} {{Attributes.Agent.FirstName}}"
                          "{% if Attributes.Customer.Nickname is defined %} aka{% endif %}")
    rendered = render_for_contact(content, PROFILE, {}, CAMPAIGN,
                                  defaults={"agentAttributes": {"firstName": "Sam"},
                                            "customerProfileAttributes": {"firstName": "friend"}})
    assert rendered == sms_content("- Sam")
    # A default never hides what the contact has.
    assert render_for_contact(sms_content("{{Attributes.Customer.FirstName}}"), PROFILE, {}, CAMPAIGN,
                              defaults={"customerProfileAttributes": {"firstName": "friend"}}) == sms_content("Zoë")


@pytest.mark.parametrize("source", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ Attributes.Customer.__class__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ 'x' * 10000000 }}",
    "{{ 9 ** 999999 }}",
])
def test_sandbox_refuses_escapes_and_runaway_work(source):
    with pytest.raises(TemplateError):
        render(sms_content(source), {"Attributes": {"Customer": {}}})


def test_variables_are_keys_never_dict_methods():
    rendered = render(sms_content("{{Attributes.Customer.Attributes.items}} {{Attributes.Customer.Attributes.keys}}"),
                      {"Attributes": {"Customer": {"Attributes": {"items": "3 items", "keys": "2 keys"}}}})
    assert rendered == sms_content("3 items 2 keys")


def test_html_is_escaped_in_html_bodies_only():
    content = email_content(subject="{{Attributes.X}}", html="{{Attributes.X}}", text="{{Attributes.X}}")
    rendered = render(content, {"Attributes": {"X": "<b>&"}})
    assert rendered["email"]["subject"] == "<b>&"
    assert rendered["email"]["body"] == {"plainText": {"content": "<b>&"}, "html": {"content": "&lt;b&gt;&amp;"}}


def test_preview_keeps_what_it_cannot_fill():
    content = sms_content("{{Attributes.Customer.FirstName}} {{ Attributes.Code }}\n")
    rendered, missing = preview(content, {"Attributes": {"Code": 7}})
    assert rendered == sms_content("{{Attributes.Customer.FirstName}} 7\n")
    assert missing == ["Attributes.Customer.FirstName"]


def test_placeholders_skip_loop_variables_and_method_calls():
    content = sms_content("{% for tier in Attributes.Tiers %}{{ tier.Name }}{% endfor %}"
                          "{{ Attributes.Customer.FirstName.upper() }}{% set x = 1 %}{{ x }}")
    assert templating.placeholders(content) == ["Attributes.Customer.FirstName", "Attributes.Tiers"]
    assert templating.attribute_types(content) == ["CUSTOM", "CUSTOMER_PROFILE"]


def test_syntax_errors_name_the_part():
    with pytest.raises(TemplateError, match="email HTML body"):
        check_content("EMAIL", email_content(html="{% for %}"))


def test_compiled_templates_are_reused():
    templating._compile.cache_clear()
    for first_name in ("Ann", "Bob", "Cy"):
        render(sms_content("Hi {{Attributes.Customer.FirstName}}"),
               {"Attributes": {"Customer": {"FirstName": first_name}}})
    info = templating._compile.cache_info()
    assert (info.misses, info.hits) == (1, 2)
