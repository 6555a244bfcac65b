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
carriers send without it, so campaigns without a real template run on them as before.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from sqlalchemy import Connection

from reachout.channels import Channel, Outgoing
from reachout.domain.campaign import Campaign
from reachout.domain.template import TemplateError, render_for_contact
from reachout.store import outbound_requests
from reachout.store.profiles import profiles_by_id
from reachout.store.templates import content_for_arn

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
        self._campaign_variables = {"id": campaign.id, "arn": campaign.arn, "name": campaign.name,
                                    "connect_instance_id": campaign.connect_instance_id}

    def render(self, contacts: list) -> tuple[dict[str, Outgoing], dict[str, str]]:
        """(contact id -> its Outgoing, contact id -> why it cannot be sent)."""
        requests = outbound_requests.get_requests(self.conn, [c.request_id for c in contacts if c.request_id])
        settings = {c.id: self._settings(c, requests.get(c.request_id) if c.request_id else None) for c in contacts}
        # The profile, only where there is something to render (recipients without a profile are
        # their endpoint: they find none and have only the request's parameters and the campaign).
        profiles = profiles_by_id(self.conn, [c.recipient for c in contacts if settings[c.id][1] is not None])
        ready, refused = {}, {}
        for contact in contacts:
            config, template, parameters = settings[contact.id]
            needs_content = getattr(self.channels.get(contact.channel), "needs_content", False)
            try:
                ready[contact.id] = self._outgoing(contact, config, template, parameters,
                                                   profiles.get(contact.recipient, {}), needs_content)
            except _Unsendable as reason:
                refused[contact.id] = str(reason)
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
        return config, self._templates.get(arn) if arn else None, given.get("templateParameters") or {}

    def _outgoing(self, contact, config: dict, template: tuple[str, dict] | None, parameters: dict, profile: dict,
                  needs_content: bool) -> Outgoing:
        base = Outgoing(contact.id, contact.id, contact.campaign_id, contact.channel, contact.endpoint, contact.attempt)
        kind = TEMPLATE_KINDS.get(contact.channel)
        arn = config.get("wisdomTemplateArn")
        if template is None or kind is None:
            if needs_content:
                raise _Unsendable(f"message template {arn} does not exist (or has no such version)" if arn
                                  else f"the campaign's {contact.channel} channel names no message template")
            return base
        subtype, version = template
        if subtype != kind:
            if needs_content:
                raise _Unsendable(f"message template {arn} is an {subtype} template, not {kind}")
            return base
        try:
            content = render_for_contact(version["content"], profile, parameters, self._campaign_variables,
                                         defaults=version.get("defaultAttributes"))
        except TemplateError as error:
            raise _Unsendable(f"message not rendered: {error.message}") from None
        if contact.channel == "email":
            email = content["email"]
            body = email.get("body", {})
            sender = config.get("connectSourceEmailAddress")
            if needs_content and not sender:
                raise _Unsendable("the campaign's email channel has no connectSourceEmailAddress")
            return replace(base, subject=email.get("subject"), text=_part(body, "plainText"),
                           html=_part(body, "html"), sender=sender,
                           sender_name=config.get("sourceEmailAddressDisplayName") or None,
                           headers=tuple((h["name"], h.get("value", "")) for h in email.get("headers", [])
                                         if h.get("name")))
        number = origination_number(config.get("connectSourcePhoneNumberArn"))
        if needs_content and number is None:
            raise _Unsendable(f"connectSourcePhoneNumberArn {config.get('connectSourcePhoneNumberArn')} names no "
                              "number Reachout knows (give the number as its resource id: .../phone-number/+15550100)")
        return replace(base, text=_part(content["sms"].get("body", {}), "plainText"), origination_number=number)


def origination_number(arn: str | None) -> str | None:
    """The number an SMS goes out from, as connectSourcePhoneNumberArn names it."""
    found = _NUMBER_IN_ARN.search(arn or "")
    return found.group(1) if found and arn.endswith(found.group(0)) else None


class _Unsendable(Exception):
    """Why this contact's message cannot be made."""


def _part(body: dict, kind: str) -> str | None:
    return body[kind]["content"] if kind in body else None
