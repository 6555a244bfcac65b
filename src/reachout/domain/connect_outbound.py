"""What the Amazon Connect outbound contact operations accept, before any resource is looked up:
instances (CreateInstance), voice, SMS/WhatsApp and email contacts, and the items of a
BatchPutContact. Contacts started this way are agentless: their flow runs without agents, so
routing to a queue (QueueId) and preview dialing (AGENT_FIRST) are refused; campaigns reach agents
through their own dialer (domain/agent_call.py).
"""
from __future__ import annotations

from reachout.domain.contact import (attributes_problem, chat_delivery, check_attributes, check_segment_attributes,
                                     phone_number)
from reachout.domain.endpoint import valid_email
from reachout.domain.errors import DomainError, NotFound
from reachout.domain.template import connect_attributes

CHAT_TEXT_TYPES = ("text/plain", "text/markdown")  # what an SMS or WhatsApp text can be sent as
MAX_CHAT_TEXT = 1024  # ChatMessage.Content of text/plain and text/markdown, as the model's documentation says
EMAIL_BODY_TYPES = ("text/plain", "text/html")


class ItemRefused(DomainError):
    """A BatchPutContact item that fails on its own, with one of the model's FailureReasonCodes."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# --- instances ------------------------------------------------------------------------------------
def check_instance_identity(identity_type: str, directory_id: str | None, alias: str | None) -> None:
    """An EXISTING_DIRECTORY instance names its directory; the others have an alias instead."""
    existing_directory = identity_type == "EXISTING_DIRECTORY"
    if existing_directory and directory_id is None:
        raise DomainError("An EXISTING_DIRECTORY instance needs the DirectoryId of its directory")
    if not existing_directory and directory_id is not None:
        raise DomainError(f"DirectoryId applies to EXISTING_DIRECTORY instances, not {identity_type}")
    if not existing_directory and alias is None:
        raise DomainError(f"A {identity_type} instance needs an InstanceAlias")


# --- voice ----------------------------------------------------------------------------------------
def check_voice_contact(params: dict) -> str:
    """StartOutboundVoiceContact's own rules; returns the number to call."""
    destination = phone_number(params["DestinationPhoneNumber"], "DestinationPhoneNumber")
    check_attributes(params.get("Attributes"))
    if "OutboundStrategy" in params:
        raise DomainError("OutboundStrategy AGENT_FIRST (preview dialing) is served for campaigns' agent calls, not "
                          "for contacts started alone, which are agentless; leave it out")
    return destination


def queue_refused(queue_id: str, instance_id: str, *, exists: bool) -> DomainError:
    """Why a contact started alone cannot take this QueueId: the instance has no such queue, or the
    contact is agentless and never waits in one."""
    if not exists:
        return NotFound(f"Queue {queue_id} not found in instance {instance_id}")
    return DomainError(f"Queue {queue_id} routes contacts to agents, and a contact started alone is agentless: "
                       "give the number to call from instead of a QueueId")


# --- SMS and WhatsApp -----------------------------------------------------------------------------
def check_chat_contact(params: dict) -> tuple[str, str]:
    """StartOutboundChatContact's own rules: an outbound SMS (or WhatsApp) message from a number the
    instance claimed (CONNECT_PHONENUMBER_ARN) to a TELEPHONE_NUMBER, the channel named by
    connect:Subtype. Returns (channel, number to send to)."""
    source, destination = params["SourceEndpoint"], params["DestinationEndpoint"]
    if source.get("Type") != "CONNECT_PHONENUMBER_ARN":
        raise DomainError(f"SourceEndpoint must be of Type CONNECT_PHONENUMBER_ARN, not {source.get('Type')}")
    if destination.get("Type") != "TELEPHONE_NUMBER":
        raise DomainError(f"DestinationEndpoint must be of Type TELEPHONE_NUMBER, not {destination.get('Type')}")
    address = phone_number(destination.get("Address", ""), "DestinationEndpoint.Address")
    delivery = chat_delivery(params["SegmentAttributes"])
    check_segment_attributes(params["SegmentAttributes"])
    check_attributes(params.get("Attributes"))
    content_types = params.get("SupportedMessagingContentTypes")
    if content_types is not None and "text/plain" not in content_types:
        raise DomainError("SupportedMessagingContentTypes must contain text/plain")
    message, templated = params.get("InitialSystemMessage"), params.get("InitialTemplatedSystemMessage")
    if message and templated:
        raise DomainError("Give an InitialSystemMessage or an InitialTemplatedSystemMessage, not both")
    if message:
        check_chat_message(message)
    if templated:
        connect_attributes(templated["TemplateAttributes"])
    return delivery, address


def check_chat_message(message: dict) -> None:
    """An InitialSystemMessage an SMS or WhatsApp message can carry: text, within Connect's length for it."""
    if message["ContentType"] not in CHAT_TEXT_TYPES:
        raise DomainError(f"InitialSystemMessage.ContentType must be {' or '.join(CHAT_TEXT_TYPES)} for an SMS or "
                          f"WhatsApp message, not {message['ContentType']}")
    if len(message["Content"]) > MAX_CHAT_TEXT:
        raise DomainError(f"InitialSystemMessage.Content of {message['ContentType']} holds at most "
                          f"{MAX_CHAT_TEXT} characters, not {len(message['Content'])}")


# --- email ----------------------------------------------------------------------------------------
def check_created_contact(params: dict) -> None:
    """CreateContact makes the EMAIL contact with InitiationMethod OUTBOUND that
    StartOutboundEmailContact then sends, and nothing else."""
    if (params["Channel"], params["InitiationMethod"]) != ("EMAIL", "OUTBOUND"):
        raise DomainError(f"Reachout creates EMAIL contacts with InitiationMethod OUTBOUND (sent with "
                          f"StartOutboundEmailContact), not {params['Channel']} contacts initiated "
                          f"{params['InitiationMethod']}")
    for member in ("UserInfo", "InitiateAs", "PreviousContactId"):
        if member in params:
            raise DomainError(f"{member} is not served: the contacts CreateContact makes are agentless outbound "
                              "emails, with no agent and no transfer")
    check_attributes(params.get("Attributes"))
    check_segment_attributes(params.get("SegmentAttributes") or {})


def check_email_contact(params: dict) -> None:
    """StartOutboundEmailContact's own rules: valid addresses, and a message that is either a template
    (with its attributes) or a raw text or HTML body."""
    destination = params["DestinationEmailAddress"]
    if valid_email(destination["EmailAddress"]) is None:
        raise DomainError(f"DestinationEmailAddress {destination['EmailAddress']} is not a valid email address")
    message = params["EmailMessage"]
    kind = message["MessageSourceType"]
    wanted, other = ("TemplatedMessageConfig", "RawMessage") if kind == "TEMPLATE" else ("RawMessage",
                                                                                        "TemplatedMessageConfig")
    if wanted not in message or other in message:
        raise DomainError(f"An EmailMessage of MessageSourceType {kind} carries {wanted} and not {other}")
    if kind == "TEMPLATE":
        connect_attributes(message["TemplatedMessageConfig"]["TemplateAttributes"])
    else:
        content_type = message["RawMessage"]["ContentType"]
        if content_type.partition(";")[0].strip().lower() not in EMAIL_BODY_TYPES:
            raise DomainError(f"RawMessage.ContentType must be {' or '.join(EMAIL_BODY_TYPES)}, not {content_type}")
    for recipient in (params.get("AdditionalRecipients") or {}).get("CcEmailAddresses", []):
        if valid_email(recipient["EmailAddress"]) is None:
            raise DomainError(f"CcEmailAddresses: {recipient['EmailAddress']} is not a valid email address")
    sender = params.get("FromEmailAddress")
    if sender and valid_email(sender["EmailAddress"]) is None:
        raise DomainError(f"FromEmailAddress {sender['EmailAddress']} is not a valid email address")


def email_endpoint(info: dict) -> dict:
    """An EmailAddressInfo as an EndpointInfo."""
    endpoint = {"Type": "EMAIL_ADDRESS", "Address": info["EmailAddress"]}
    if "DisplayName" in info:
        endpoint["DisplayName"] = info["DisplayName"]
    return endpoint


# --- BatchPutContact items, checked in this order (the first failure is the item's) ----------------
def batch_campaign_id(item: dict) -> str:
    campaign_id = (item.get("Campaign") or {}).get("CampaignId")
    if campaign_id is None:
        raise ItemRefused("MISSING_CAMPAIGN", "Each contact request needs the Campaign it belongs to")
    return campaign_id


def batch_customer(item: dict) -> str:
    """The number an item's contact calls."""
    customer = item.get("CustomerEndpoint") or {}
    if not customer.get("Address"):
        raise ItemRefused("MISSING_CUSTOMER_ENDPOINT", "Each contact request needs a CustomerEndpoint with an Address")
    try:
        if customer.get("Type") != "TELEPHONE_NUMBER":
            raise DomainError(f"CustomerEndpoint must be of Type TELEPHONE_NUMBER, not {customer.get('Type')}")
        return phone_number(customer["Address"], "CustomerEndpoint.Address")
    except DomainError as error:
        raise ItemRefused("INVALID_CUSTOMER_ENDPOINT", error.message) from None


def check_batch_route(item: dict) -> None:
    if "QueueId" not in item and not item.get("SystemEndpoint"):
        raise ItemRefused("MISSING_QUEUE_ID_AND_SYSTEM_ENDPOINT", "Give a SystemEndpoint (or a QueueId)")


def batch_queue_refused(queue_id: str, instance_id: str, *, exists: bool) -> ItemRefused:
    """Why an item cannot take this QueueId (as queue_refused: a batch's contacts are dialed agentless)."""
    if not exists:
        return ItemRefused("INVALID_QUEUE", f"Queue {queue_id} not found in instance {instance_id}")
    return ItemRefused("INVALID_QUEUE", f"Queue {queue_id} routes contacts to agents, and a contact put in a batch "
                                        "is agentless: give a SystemEndpoint instead of a QueueId")


def batch_system_kind(system: dict) -> str:
    """How an item names the number to call from: "number" (TELEPHONE_NUMBER) or "arn" (CONNECT_PHONENUMBER_ARN)."""
    kinds = {"TELEPHONE_NUMBER": "number", "CONNECT_PHONENUMBER_ARN": "arn"}
    if system.get("Type") not in kinds:
        raise ItemRefused("INVALID_SYSTEM_ENDPOINT", "SystemEndpoint must be of Type TELEPHONE_NUMBER or "
                                                     f"CONNECT_PHONENUMBER_ARN, not {system.get('Type')}")
    return kinds[system["Type"]]


def check_batch_extras(item: dict) -> None:
    problem = attributes_problem(item.get("Attributes"))
    if problem:
        raise ItemRefused("INVALID_ATTRIBUTE_KEY", problem)
    if "OutboundStrategy" in item:
        raise ItemRefused("INVALID_OUTBOUND_STRATEGY", "AGENT_FIRST (preview dialing) is served for campaigns' agent "
                                                       "calls, not for contacts put in a batch, which are agentless")
