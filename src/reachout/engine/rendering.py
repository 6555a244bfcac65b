"""Rendering: the message each contact receives, made in the transaction that reserves its dispatch,
before anything is counted against limits.

Per contact, the campaign channel's defaultOutboundConfig (wisdomTemplateArn,
connectSourceEmailAddress, sourceEmailAddressDisplayName, connectSourcePhoneNumberArn), overridden
by the outbound request's channelSubtypeParameters when the contact came from one (templateArn,
connectSource..., templateParameters). The template's content is rendered with the recipient's
profile, the request's templateParameters and the campaign (reachout.domain.template names them).

What fails for the recipient (a variable without a value, a template that cannot render with their
data) drops that contact with the reason on any channel, so that a run on the simulated carriers drops
whom a real one would. What only a delivery needs (an existing template of the channel's kind, a
sender) is required only by adapters that deliver content (Channel.needs_content): the simulated
carriers send without it, so campaigns without a real template run on them as before. Whatever else
goes wrong while making one contact's message (a bug, a template past its work limits) drops that
contact with the reason; the rest of the batch goes on.

Contacts started through the Connect APIs (`ConnectMessages`) carry their message in the request:
StartOutboundEmailContact a raw message or a TemplatedMessageConfig (rendered with its
TemplateAttributes, domain/template.connect_attributes) and the FromEmailAddress; StartOutboundChatContact
an InitialSystemMessage or InitialTemplatedSystemMessage, sent from the claimed number its
SourceEndpoint names. The same rule holds: a template that does not render ends the contact on any
channel; what only a delivery needs is required only by adapters that deliver content.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from sqlalchemy import Connection

from reachout.channels import Channel, Outgoing, described
from reachout.domain.campaign import Campaign
from reachout.domain.outbound_request import template_parameters
from reachout.domain.template import (TemplateError, connect_attributes, profile_fields, render_for_contact,
                                      render_with_attributes)
from reachout.store import outbound_requests, phone_numbers
from reachout.store.profiles import profiles_by_id
from reachout.store.templates import content_for_arn, content_for_ids

# campaign channel -> the message template channel subtype it sends
TEMPLATE_KINDS = {"email": "EMAIL", "sms": "SMS"}
# A connectSourcePhoneNumberArn whose resource id is the number itself (E.164 or a short code):
# arn:aws:sms-voice:us-east-1:111122223333:phone-number/+15550100
_NUMBER_IN_ARN = re.compile(r"phone-number/(\+[1-9]\d{6,14}|\d{3,8})")


class Renderer:
    """Renders batches of one campaign's contacts; templates are looked up once per renderer."""

    def __init__(self, conn: Connection, campaign: Campaign, channels: Mapping[str, Channel]):
        self.conn = conn
        self.campaign = campaign
        self.channels = channels
        self._templates: dict[str, tuple[str, dict] | None] = {}
        self._numbers = OriginationNumbers(conn)
        self._campaign_variables = {"id": campaign.id, "arn": campaign.arn, "name": campaign.name,
                                    "connect_instance_id": campaign.connect_instance_id}

    def render(self, contacts: list) -> tuple[dict[str, Outgoing], dict[str, str]]:
        """(contact id -> its Outgoing, contact id -> why it cannot be sent)."""
        requests = outbound_requests.get_requests(self.conn, [c.request_id for c in contacts if c.request_id])
        settings = {c.id: self._settings(c, requests.get(c.request_id) if c.request_id else None) for c in contacts}
        # The profile, only where there is something to render (recipients without a profile are
        # their endpoint: they find none and have only the request's parameters and the campaign),
        # and only as far as the templates read it.
        templates = {id(template): template for _, template, _ in settings.values() if template is not None}
        profiles = profiles_by_id(self.conn, [c.recipient for c in contacts if settings[c.id][1] is not None],
                                  _fields_read(templates.values()))
        ready, refused = {}, {}
        for contact in contacts:
            config, template, parameters = settings[contact.id]
            needs_content = getattr(self.channels.get(contact.channel), "needs_content", False)
            try:
                ready[contact.id] = self._outgoing(contact, config, template, parameters,
                                                   profiles.get(contact.recipient, {}), needs_content)
            except Unsendable as reason:
                refused[contact.id] = str(reason)
            except Exception as error:  # noqa: BLE001  # whatever one message does is its contact's alone
                refused[contact.id] = f"message not made: {described(error)}"
        return ready, refused

    def _settings(self, contact, request) -> tuple[dict, tuple[str, dict] | None, dict]:
        """(the channel's outbound config with the request's overrides, the template (channel subtype,
        version) or None, the template parameters)."""
        config = dict((self.campaign.channel_subtype_config.get(contact.channel) or {}).get("defaultOutboundConfig")
                      or {})
        given = ((request.payload.get("channelSubtypeParameters") or {}).get(contact.channel) or {}) if request else {}
        for member in ("connectSourceEmailAddress", "connectSourcePhoneNumberArn"):
            if given.get(member):
                config[member] = given[member]
        if given.get("templateArn"):
            config["wisdomTemplateArn"] = given["templateArn"]
        arn = config.get("wisdomTemplateArn")
        if arn and arn not in self._templates:
            self._templates[arn] = content_for_arn(self.conn, arn)
        # A profile request carries no templateParameters: an event trigger's gives its event's data.
        parameters = given.get("templateParameters") or (
            template_parameters(request.kind, request.payload) if request else {})
        return config, self._templates.get(arn) if arn else None, parameters

    def _outgoing(self, contact, config: dict, template: tuple[str, dict] | None, parameters: dict, profile: dict,
                  needs_content: bool) -> Outgoing:
        def outgoing(**message) -> Outgoing:
            return Outgoing(contact.id, contact.id, contact.campaign_id, contact.channel, contact.endpoint,
                            contact.attempt, **message)

        kind = TEMPLATE_KINDS.get(contact.channel)
        arn = config.get("wisdomTemplateArn")
        if template is None or kind is None:
            if needs_content:
                raise Unsendable(f"message template {arn} does not exist (or has no such version)" if arn
                                 else f"the campaign's {contact.channel} channel names no message template")
            return outgoing()
        subtype, version = template
        if subtype != kind:
            if needs_content:
                raise Unsendable(f"message template {arn} is an {subtype} template, not {kind}")
            return outgoing()
        try:
            content = render_for_contact(version["content"], profile, parameters, self._campaign_variables,
                                         defaults=version.get("defaultAttributes"))
        except TemplateError as error:
            raise Unsendable(f"message not rendered: {error.message}") from None
        if contact.channel == "email":
            sender = config.get("connectSourceEmailAddress")
            if needs_content and not sender:
                raise Unsendable("the campaign's email channel has no connectSourceEmailAddress")
            return outgoing(**_email_parts(content), sender=sender,
                            sender_name=config.get("sourceEmailAddressDisplayName") or None)
        arn = config.get("connectSourcePhoneNumberArn")
        number = self._numbers.of(arn)
        if needs_content and number is None:
            raise Unsendable(f"connectSourcePhoneNumberArn {arn} names no number Reachout knows (a number claimed "
                             "with ClaimPhoneNumber, or one given as its resource id: .../phone-number/+15550100)")
        return outgoing(text=_sms_text(content), origination_number=number)


class ConnectMessages:
    """Renders batches of contacts started through the Connect APIs (rows of connect_contacts)."""

    def __init__(self, conn: Connection, channels: Mapping[str, Channel]):
        self.conn = conn
        self.channels = channels
        self._templates: dict[tuple[str, str, str], tuple[str, dict] | None] = {}
        self._numbers = OriginationNumbers(conn)

    def render(self, contacts: list) -> tuple[dict[str, Outgoing], dict[str, str]]:
        """(contact id -> its Outgoing, contact id -> why it cannot be sent)."""
        ready, refused = {}, {}
        for contact in contacts:
            needs_content = getattr(self.channels.get(contact.delivery), "needs_content", False)
            try:
                ready[contact.id] = self._outgoing(contact, needs_content)
            except Unsendable as reason:
                refused[contact.id] = str(reason)
            except Exception as error:  # noqa: BLE001  # whatever one message does is its contact's alone
                refused[contact.id] = f"message not made: {described(error)}"
        return ready, refused

    def _outgoing(self, contact, needs_content: bool) -> Outgoing:
        base = Outgoing(contact.id, contact.id, contact.campaign_id or "", contact.delivery,
                        contact.customer_endpoint["Address"], 1)
        options = contact.options
        if contact.delivery == "email":
            message = options.get("email") or {}
            if message.get("MessageSourceType") == "TEMPLATE":
                parts = self._templated(contact, message["TemplatedMessageConfig"], "EMAIL", needs_content,
                                        (contact.system_endpoint or {}).get("Address"))
                parts = parts and _email_parts(parts)
            else:
                raw = message.get("RawMessage") or {}
                html = raw.get("ContentType", "").partition(";")[0].strip().lower() == "text/html"
                parts = {"subject": raw.get("Subject"), "text": None if html else raw.get("Body"),
                         "html": raw.get("Body") if html else None}
            sender = contact.system_endpoint or {}
            if needs_content and not sender.get("Address"):
                raise Unsendable("StartOutboundEmailContact gave no FromEmailAddress: Reachout has no default "
                                 "address of the instance to send from")
            return replace(base, **(parts or {}), sender=sender.get("Address"),
                           sender_name=sender.get("DisplayName") or None,
                           cc=tuple((r["EmailAddress"], r.get("DisplayName") or "") for r in options.get("cc") or []))
        if contact.delivery in ("sms", "whatsApp"):
            arn = (contact.system_endpoint or {}).get("Address")
            number = self._numbers.of(arn)
            text = (options.get("initial_message") or {}).get("Content")
            if options.get("templated_message"):
                content = self._templated(contact, options["templated_message"], "SMS", needs_content, number)
                text = content and _sms_text(content)
            if needs_content and not text:
                raise Unsendable("StartOutboundChatContact gave no message to send: an SMS needs an "
                                 "InitialSystemMessage or an InitialTemplatedSystemMessage")
            if needs_content and number is None:
                raise Unsendable(f"the SourceEndpoint {arn} is no longer a claimed phone number")
            return replace(base, text=text, origination_number=number)
        return base

    def _templated(self, contact, config: dict, kind: str, needs_content: bool,
                   system_address: str | None) -> dict | None:
        """The rendered content of a TemplatedMessageConfig; None when the template is gone and the
        channel can do without it."""
        key = (contact.region, config["KnowledgeBaseId"], config["MessageTemplateId"])
        if key not in self._templates:
            self._templates[key] = content_for_ids(self.conn, *key)
        template = self._templates[key]
        if template is None or template[0] != kind:
            if needs_content:
                raise Unsendable(f"message template {config['MessageTemplateId']} of knowledge base "
                                 f"{config['KnowledgeBaseId']} does not exist (or has no such version)"
                                 if template is None else
                                 f"message template {config['MessageTemplateId']} is an {template[0]} template, "
                                 f"not {kind}")
            return None
        version = template[1]
        # Attributes.System.*: the contact's name and endpoints, where it has them.
        system: dict = {"customerEndpoint": {"address": contact.customer_endpoint["Address"]}}
        if contact.name:
            system["name"] = contact.name
        if system_address:
            system["systemEndpoint"] = {"address": system_address}
        try:
            return render_with_attributes(version["content"], connect_attributes(config["TemplateAttributes"], system),
                                          defaults=version.get("defaultAttributes"))
        except TemplateError as error:  # a DomainError from connect_attributes was refused by the API already
            raise Unsendable(f"message not rendered: {error.message}") from None


def _fields_read(templates: Iterable[tuple[str, dict]]) -> set[str] | None:
    """The profile fields these templates read (None: any of them)."""
    fields: set[str] = set()
    for _, version in templates:
        try:
            read = profile_fields(version["content"])
        except TemplateError:  # content no template has (each contact it is for says so)
            read = None
        if read is None:
            return None
        fields |= read
    return fields


def system_endpoints(conn: Connection, campaigns: Mapping[str, Campaign], contacts: list) -> dict[str, dict | None]:
    """contact id -> the EndpointInfo these contacts of `campaigns` go out from (its SystemEndpoint):
    its campaign channel's source, or the one its outbound request gave (Campaign.source_endpoint)."""
    requests = outbound_requests.get_requests(conn, [c.request_id for c in contacts if c.request_id])
    defaults: dict[tuple[str, str], dict | None] = {}
    found = {}
    for contact in contacts:
        campaign = campaigns[contact.campaign_id]
        request = requests.get(contact.request_id) if contact.request_id else None
        given = ((request.payload.get("channelSubtypeParameters") or {}).get(contact.channel) if request else None)
        if given:
            found[contact.id] = campaign.source_endpoint(contact.channel, given)
        else:
            key = (campaign.id, contact.channel)
            if key not in defaults:
                defaults[key] = campaign.source_endpoint(contact.channel)
            found[contact.id] = defaults[key]
    return found


class OriginationNumbers:
    """The numbers SMS go out from, by the ARN that names them: a number claimed with
    ClaimPhoneNumber by its ARN, or an ARN whose resource id is the number itself. Looked up once."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self._found: dict[str, str | None] = {}

    def of(self, arn: str | None) -> str | None:
        if not arn:
            return None
        if arn not in self._found:
            found = _NUMBER_IN_ARN.search(arn)
            if found and arn.endswith(found.group(0)):
                self._found[arn] = found.group(1)
            else:
                claimed = phone_numbers.find_by_arn(self.conn, arn)
                self._found[arn] = claimed.number if claimed is not None else None
        return self._found[arn]


class Unsendable(Exception):
    """Why this contact's message cannot be made."""


def _email_parts(content: dict) -> dict:
    """The Outgoing fields of rendered email content."""
    email = content["email"]
    body = email.get("body", {})
    return {"subject": email.get("subject"), "text": _part(body, "plainText"), "html": _part(body, "html"),
            "headers": tuple((h["name"], h.get("value", "")) for h in email.get("headers", []) if h.get("name"))}


def _sms_text(content: dict) -> str | None:
    return _part(content["sms"].get("body", {}), "plainText")


def _part(body: dict, kind: str) -> str | None:
    return body[kind]["content"] if kind in body else None
