"""Amazon Connect (`connect`), the part outbound communication needs: instances, claimed phone numbers,
contact flows (a CAMPAIGN flow holds a campaign's reattempt rules) and contacts: StartOutboundVoiceContact,
StartOutboundChatContact (SMS and WhatsApp, seeds/004), CreateContact + StartOutboundEmailContact,
BatchPutContact, DescribeContact and StopContact. A started contact is handed to its channel by the
engine (engine/connect_contacts.py) with the message the call gave (engine/rendering.py); one whose
message cannot be made ends unsent, its DisconnectDetails.PotentialDisconnectIssue saying why.
DescribeContact also answers for the campaign engine's contacts (the ids in their contact events).

ClientToken: for 7 days, a token repeated with the same request returns the first answer, and with
another request is refused (IdempotencyException, or the error the operation's model lists instead).
In BatchPutContact each item has its own key (the token and its RequestIdentifier, or its position
without one): a retried batch returns the first answer for each unchanged item and fails each changed
one with IDEMPOTENCY_EXCEPTION.

Every refusal is an error the operation's model lists: unknown resources are ResourceNotFoundException,
broken rules the operation's own validation error (InvalidRequestException or InvalidParameterException):
providers/__init__.py chooses them.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable

import phonenumbers
from sqlalchemy import Row

from reachout.aws.catalog import Service
from reachout.aws.errors import AwsError
from reachout.aws.gateway import Call
from reachout.clock import Clock
from reachout.domain.connect_contact import ConnectContact
from reachout.domain.connect_outbound import (ItemRefused, batch_campaign_id, batch_customer, batch_queue_refused,
                                              batch_system_kind, check_batch_extras, check_batch_route,
                                              check_chat_contact, check_created_contact, check_email_contact,
                                              check_instance_identity, check_voice_contact, email_endpoint,
                                              queue_refused)
from reachout.domain.contact import CONNECT_CHANNEL, STOPPED_BY_API, SUBTYPE_OF, phone_number
from reachout.domain.contact_flow import content_problems
from reachout.domain.errors import Conflict, DomainError, NotFound, TokenReused
from reachout.engine import notify
from reachout.engine.connect_contacts import campaign_contact
from reachout.providers import Provider
from reachout.providers.paging import page, sequence_position
from reachout.store import campaigns as campaign_store
from reachout.store import agents, client_tokens, connect_instances, contact_flows, phone_numbers, tags
from reachout.store import connect_contacts as contacts
from reachout.store import templates as template_store
from reachout.store.db import Database

SERVICE = "connect"
SAVED_QUALIFIER = ":$SAVED"


class ConnectProvider(Provider):
    def __init__(self, db: Database, clock: Clock, service: Service):
        super().__init__(db, clock)
        self.service = service
        self.country_codes = frozenset(service.model.shape_for("PhoneNumberCountryCode").enum)

    def _once(self, conn, call: Call, work: Callable[[], dict]) -> dict:
        """`work`'s answer, or the first answer to this very request under its ClientToken."""
        token = call.params.get("ClientToken")
        if not token:
            return work()
        taken = client_tokens.take(conn, call.region, call.operation, token, client_tokens.fingerprint(call.params),
                                   self.clock.now())
        if not taken.fresh:
            if not taken.same_request:
                raise TokenReused(f"ClientToken {token} was used in the last 7 days for a different "
                                  f"{call.operation} request")
            return taken.response
        response = work()
        client_tokens.answer(conn, call.region, call.operation, token, response)
        return response

    # --- instances ------------------------------------------------------------------------------
    def create_instance(self, call: Call) -> dict:
        p = call.params
        check_instance_identity(p["IdentityManagementType"], p.get("DirectoryId"), p.get("InstanceAlias"))

        def create() -> dict:
            if "InstanceAlias" in p and connect_instances.alias_taken(conn, call.region, p["InstanceAlias"]):
                raise Conflict(f"An instance with alias {p['InstanceAlias']} already exists")
            instance_id = str(uuid.uuid4())
            instance = connect_instances.insert_instance(
                conn, id=instance_id, region=call.region,
                arn=f"arn:aws:connect:{call.region}:{call.account_id}:instance/{instance_id}",
                alias=p.get("InstanceAlias"), identity_management_type=p["IdentityManagementType"],
                directory_id=p.get("DirectoryId"), inbound_calls=p["InboundCallsEnabled"],
                outbound_calls=p["OutboundCallsEnabled"], created_at=self.clock.now())
            tags.put_tags(conn, instance.arn, p.get("Tags", {}))
            return {"Id": instance.id, "Arn": instance.arn}

        with self.db.transaction() as conn:
            return self._once(conn, call, create)

    def describe_instance(self, call: Call) -> dict:
        with self.db.read() as conn:
            instance = self._instance(conn, call, call.params["InstanceId"])
            return {"Instance": {**_instance_view(instance, call.account_id), "Tags": tags.get_tags(conn, instance.arn)
                                 or None}}

    def list_instances(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 10)
        with self.db.read() as conn:
            rows = connect_instances.list_instances(conn, call.region, sequence_position(call.params.get("NextToken")),
                                                    limit + 1)
        rows, token = page(rows, limit, lambda row: (row.created_at, str(row.seq)))
        return {"InstanceSummaryList": [_instance_view(row, call.account_id) for row in rows], "NextToken": token}

    def _instance(self, conn, call: Call, identifier: str) -> Row:
        """The instance an id or ARN names, in the call's region."""
        if identifier.startswith("arn:"):
            instance = connect_instances.find_by_arn(conn, identifier)
            if instance is not None and instance.region != call.region:
                instance = None
        else:
            instance = connect_instances.get_instance(conn, call.region, identifier)
        if instance is None:
            raise NotFound(f"Instance {identifier} not found")
        return instance

    # --- phone numbers ----------------------------------------------------------------------------
    def claim_phone_number(self, call: Call) -> dict:
        """Any valid E.164 number the caller names: Reachout has no carrier inventory to search."""
        p = call.params
        number = phone_number(p["PhoneNumber"], "PhoneNumber")
        parsed = phonenumbers.parse(number)
        country = phonenumbers.region_code_for_number(parsed)
        if country not in self.country_codes:
            raise DomainError(f"PhoneNumber {number} belongs to no country where numbers can be claimed")
        toll_free = phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.TOLL_FREE
        number_type = "TOLL_FREE" if toll_free else "DID"

        def claim() -> dict:
            instance = self._target(conn, call)
            if instance is None:
                raise DomainError("ClaimPhoneNumber needs an InstanceId or a TargetArn")
            claimed = phone_numbers.find_number(conn, call.region, number)
            if claimed is not None:
                raise Conflict(f"Phone number {number} is already claimed by instance {claimed.instance_id}")
            number_id = str(uuid.uuid4())
            arn = f"arn:aws:connect:{call.region}:{call.account_id}:phone-number/{number_id}"
            phone_numbers.insert_number(conn, id=number_id, region=call.region, arn=arn, number=number,
                                        instance_id=instance.id, country_code=country, number_type=number_type,
                                        description=p.get("PhoneNumberDescription"), created_at=self.clock.now())
            tags.put_tags(conn, arn, p.get("Tags", {}))
            return {"PhoneNumberId": number_id, "PhoneNumberArn": arn}

        with self.db.transaction() as conn:
            return self._once(conn, call, claim)

    def list_phone_numbers_v2(self, call: Call) -> dict:
        p = call.params
        limit = p.get("MaxResults", 100)
        prefix = p.get("PhoneNumberPrefix")
        with self.db.transaction() as conn:
            instance = self._target(conn, call)
            rows = phone_numbers.list_numbers(
                conn, call.region, instance.id if instance else None, sequence_position(p.get("NextToken")),
                limit + 1, country_codes=p.get("PhoneNumberCountryCodes"), types=p.get("PhoneNumberTypes"),
                prefix=None if prefix is None else "+" + prefix.lstrip("+"))
            rows, token = page(rows, limit, lambda row: (row.created_at, str(row.seq)))
            arns = {row.instance_id: connect_instances.get_instance(conn, call.region, row.instance_id).arn
                    for row in rows}
        return {"ListPhoneNumbersSummaryList": [{
            "PhoneNumberId": row.id, "PhoneNumberArn": row.arn, "PhoneNumber": row.number,
            "PhoneNumberCountryCode": row.country_code, "PhoneNumberType": row.number_type,
            "TargetArn": arns[row.instance_id], "InstanceId": row.instance_id,
            "PhoneNumberDescription": row.description} for row in rows], "NextToken": token}

    def _target(self, conn, call: Call) -> Row | None:
        """The instance a call names by InstanceId or TargetArn (instances are the only targets served)."""
        p = call.params
        if "InstanceId" in p and "TargetArn" in p:
            raise DomainError("Give an InstanceId or a TargetArn, not both")
        if "TargetArn" in p:
            instance = connect_instances.find_by_arn(conn, p["TargetArn"])
            if instance is None or instance.region != call.region:
                raise NotFound(f"Target {p['TargetArn']} not found: TargetArn is the ARN of an instance")
            return instance
        return self._instance(conn, call, p["InstanceId"]) if "InstanceId" in p else None

    def _claimed(self, conn, instance: Row, *, number: str | None = None, arn: str | None = None) -> Row:
        found = (phone_numbers.find_by_arn(conn, arn) if arn is not None
                 else phone_numbers.find_number(conn, instance.region, number))
        if found is None or found.instance_id != instance.id:
            raise NotFound(f"Phone number {arn or number} is not claimed by instance {instance.id}")
        return found

    # --- contact flows ----------------------------------------------------------------------------
    def create_contact_flow(self, call: Call) -> dict:
        """A PUBLISHED flow's content is checked for its type (SAVED content is a draft, kept as given)."""
        p = call.params
        status = p.get("Status", "PUBLISHED")
        problems = content_problems(p["Type"], p["Content"]) if status == "PUBLISHED" else []
        if problems:
            raise AwsError("InvalidContactFlowException", f"The {p['Type']} flow content is not valid: "
                           + "; ".join(problems), problems=[{"message": problem} for problem in problems])
        now = self.clock.now()
        with self.db.transaction() as conn:
            instance = self._instance(conn, call, p["InstanceId"])
            if contact_flows.name_taken(conn, instance.id, p["Name"]):
                raise Conflict(f"A flow named {p['Name']} already exists in instance {instance.id}")
            flow_id = str(uuid.uuid4())
            arn = f"{instance.arn}/contact-flow/{flow_id}"
            sha256 = hashlib.sha256(p["Content"].encode()).hexdigest()
            contact_flows.insert_flow(conn, id=flow_id, region=call.region, instance_id=instance.id, arn=arn,
                                      name=p["Name"], type=p["Type"], status=status, description=p.get("Description"),
                                      content=p["Content"], content_sha256=sha256, created_at=now, updated_at=now)
            tags.put_tags(conn, arn, p.get("Tags", {}))
        return {"ContactFlowId": flow_id, "ContactFlowArn": arn, "FlowContentSha256": sha256}

    def describe_contact_flow(self, call: Call) -> dict:
        """`id` describes the published flow; `id:$SAVED` the flow as last saved, published or not."""
        identifier = call.params["ContactFlowId"]
        saved = identifier.endswith(SAVED_QUALIFIER)
        with self.db.read() as conn:
            instance = self._instance(conn, call, call.params["InstanceId"])
            flow = self._flow(conn, instance, identifier.removesuffix(SAVED_QUALIFIER))
            if flow.status != "PUBLISHED" and not saved:
                raise AwsError("ContactFlowNotPublishedException",
                               f"Flow {flow.id} is saved but not published: describe {flow.id}{SAVED_QUALIFIER}")
            return {"ContactFlow": {
                "Arn": flow.arn, "Id": flow.id, "Name": flow.name, "Type": flow.type, "State": "ACTIVE",
                "Status": flow.status, "Description": flow.description, "Content": flow.content,
                "Tags": tags.get_tags(conn, flow.arn) or None, "FlowContentSha256": flow.content_sha256,
                "LastModifiedTime": flow.updated_at, "LastModifiedRegion": flow.region}}

    def list_contact_flows(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 100)
        with self.db.read() as conn:
            instance = self._instance(conn, call, call.params["InstanceId"])
            rows = contact_flows.list_flows(conn, instance.id, call.params.get("ContactFlowTypes"),
                                            sequence_position(call.params.get("NextToken")), limit + 1)
        rows, token = page(rows, limit, lambda row: (row.created_at, str(row.seq)))
        return {"ContactFlowSummaryList": [{
            "Id": row.id, "Arn": row.arn, "Name": row.name, "ContactFlowType": row.type,
            "ContactFlowState": "ACTIVE", "ContactFlowStatus": row.status} for row in rows], "NextToken": token}

    def _flow(self, conn, instance: Row, identifier: str) -> Row:
        """A flow of the instance by id or ARN."""
        flow = contact_flows.get_flow(conn, instance.id, identifier.rpartition("/")[2])
        if flow is None or (identifier.startswith("arn:") and identifier != flow.arn):
            raise NotFound(f"Flow {identifier} not found in instance {instance.id}")
        return flow

    def _published_flow(self, conn, instance: Row, identifier: str) -> Row:
        flow = self._flow(conn, instance, identifier)
        if flow.status != "PUBLISHED":
            raise DomainError(f"Flow {flow.id} is saved but not published: a contact can only start a published flow")
        return flow

    # --- contacts -------------------------------------------------------------------------------------
    def start_outbound_voice_contact(self, call: Call) -> dict:
        p = call.params
        destination = check_voice_contact(p)

        def start() -> dict:
            instance = self._instance(conn, call, p["InstanceId"])
            if not instance.outbound_calls:
                raise AwsError("OutboundContactNotPermittedException",
                               f"Instance {instance.id} has outbound calls disabled (OutboundCallsEnabled false)")
            flow = self._published_flow(conn, instance, p["ContactFlowId"])
            if "QueueId" in p:
                raise queue_refused(p["QueueId"], instance.id,
                                    exists=agents.queue(conn, instance.id, p["QueueId"]) is not None)
            if "SourcePhoneNumber" not in p:
                raise DomainError("Give the SourcePhoneNumber to call from (a number the instance has claimed)")
            source = self._claimed(conn, instance, number=p["SourcePhoneNumber"])
            detection = p.get("AnswerMachineDetectionConfig") or {}
            return {"ContactId": self._start(
                conn, call, instance, channel="telephony", flow_id=flow.id,
                customer={"Type": "TELEPHONE_NUMBER", "Address": destination},
                system={"Type": "TELEPHONE_NUMBER", "Address": source.number},
                campaign_id=p.get("CampaignId"), name=p.get("Name"), description=p.get("Description"),
                attributes=p.get("Attributes"),
                options={"amd": bool(detection.get("EnableAnswerMachineDetection")),
                         "await_prompt": bool(detection.get("AwaitAnswerMachinePrompt")),
                         # None: the telephony adapter's default
                         "ring_timeout_seconds": p.get("RingTimeoutInSeconds"),
                         "traffic_type": p.get("TrafficType", "GENERAL")})}

        with self.db.transaction() as conn:
            return self._once(conn, call, start)

    def start_outbound_chat_contact(self, call: Call) -> dict:
        """An outbound SMS (or WhatsApp) message: from a number the instance claimed
        (CONNECT_PHONENUMBER_ARN) to a TELEPHONE_NUMBER, the channel named by connect:Subtype."""
        p = call.params
        delivery, address = check_chat_contact(p)
        source = p["SourceEndpoint"]
        message, templated = p.get("InitialSystemMessage"), p.get("InitialTemplatedSystemMessage")

        def start() -> dict:
            instance = self._instance(conn, call, p["InstanceId"])
            flow = self._published_flow(conn, instance, p["ContactFlowId"])
            self._claimed(conn, instance, arn=source.get("Address", ""))
            if templated:
                self._check_template(conn, call, templated, "SMS")
            return {"ContactId": self._start(
                conn, call, instance, channel=delivery, flow_id=flow.id,
                customer={"Type": "TELEPHONE_NUMBER", "Address": address},
                system={"Type": "CONNECT_PHONENUMBER_ARN", "Address": source["Address"]},
                segment_attributes=p["SegmentAttributes"], attributes=p.get("Attributes"),
                options={"chat_duration_minutes": p.get("ChatDurationInMinutes", 25 * 60),
                         "participant": p.get("ParticipantDetails"), "initial_message": message,
                         "templated_message": templated})}

        with self.db.transaction() as conn:
            return self._once(conn, call, start)

    def create_contact(self, call: Call) -> dict:
        """The EMAIL contact with InitiationMethod OUTBOUND that StartOutboundEmailContact then sends."""
        p = call.params
        check_created_contact(p)

        def create() -> dict:
            instance = self._instance(conn, call, p["InstanceId"])
            contact_id = self._start(conn, call, instance, channel="email", state=contacts.CREATED,
                                     initiation_method="OUTBOUND", name=p.get("Name"),
                                     description=p.get("Description"), attributes=p.get("Attributes"),
                                     segment_attributes=p.get("SegmentAttributes"))
            return {"ContactId": contact_id, "ContactArn": f"{instance.arn}/contact/{contact_id}"}

        with self.db.transaction() as conn:
            return self._once(conn, call, create)

    def start_outbound_email_contact(self, call: Call) -> dict:
        p = call.params
        check_email_contact(p)
        destination, message, sender = p["DestinationEmailAddress"], p["EmailMessage"], p.get("FromEmailAddress")
        cc = (p.get("AdditionalRecipients") or {}).get("CcEmailAddresses", [])
        now = self.clock.now()

        def start() -> dict:
            instance = self._instance(conn, call, p["InstanceId"])
            contact = contacts.get_contact(conn, call.region, instance.id, p["ContactId"], for_update=True)
            if contact is None:
                raise NotFound(f"Contact {p['ContactId']} not found in instance {instance.id}")
            contact.check_email_startable()
            if message["MessageSourceType"] == "TEMPLATE":
                self._check_template(conn, call, message["TemplatedMessageConfig"], "EMAIL")
            contacts.update_contact(
                conn, contact.id, now=now, state=contacts.PENDING, due_at=now,
                customer_endpoint=email_endpoint(destination), system_endpoint=sender and email_endpoint(sender),
                options={**contact.options, "email": message, "cc": cc})
            return {"ContactId": contact.id}

        with self.db.transaction() as conn:
            return self._once(conn, call, start)

    @staticmethod
    def _check_template(conn, call: Call, config: dict, kind: str) -> None:
        """The TemplatedMessageConfig names an existing template (and version) of the kind the channel sends."""
        found = template_store.content_for_ids(conn, call.region, config["KnowledgeBaseId"],
                                               config["MessageTemplateId"])
        if found is None:
            raise NotFound(f"Message template {config['MessageTemplateId']} not found in knowledge base "
                           f"{config['KnowledgeBaseId']}")
        if found[0] != kind:
            raise DomainError(f"Message template {config['MessageTemplateId']} is an {found[0]} template; this "
                              f"contact sends {kind}")

    def batch_put_contact(self, call: Call) -> dict:
        """Voice contacts of a campaign, dialed by the engine. Items fail one by one with the model's
        FailureReasonCodes."""
        p = call.params
        token = p.get("ClientToken")
        now = self.clock.now()
        with self.db.transaction() as conn:
            instance = self._instance(conn, call, p["InstanceId"])
            if token:
                taken = client_tokens.take(conn, call.region, call.operation, token, client_tokens.digest(instance.id),
                                           now)
                if not taken.same_request:
                    raise TokenReused(f"ClientToken {token} was used in the last 7 days for a batch of another "
                                      "instance")
            succeeded, failed = [], []
            for index, item in enumerate(p["ContactDataRequestList"], 1):
                answer = None
                if token:
                    key = f"{token}\x00{item.get('RequestIdentifier', f'#{index}')}"
                    taken = client_tokens.take(conn, call.region, "BatchPutContact.item", key,
                                               client_tokens.fingerprint(item), now)
                    if not taken.fresh:
                        answer = taken.response if taken.same_request else {
                            "FailureReasonCode": "IDEMPOTENCY_EXCEPTION",
                            "FailureReasonMessage": "This RequestIdentifier was sent with this ClientToken before, "
                                                    "with other content"}
                if answer is None:
                    answer = self._put_contact(conn, call, instance, item)
                    if token:
                        client_tokens.answer(conn, call.region, "BatchPutContact.item", key, answer)
                outcome = {"RequestIdentifier": item.get("RequestIdentifier"), **answer}
                (succeeded if "ContactId" in answer else failed).append(outcome)
        return {"SuccessfulRequestList": succeeded, "FailedRequestList": failed}

    def _put_contact(self, conn, call: Call, instance: Row, item: dict) -> dict:
        """{ContactId} of the contact made for one item, or {FailureReasonCode, FailureReasonMessage}."""
        try:
            campaign_id = batch_campaign_id(item)
            campaign = campaign_store.get_campaign(conn, call.region, campaign_id)
            if campaign is None or campaign.connect_instance_id not in (instance.id, instance.arn):
                raise ItemRefused("MISSING_CAMPAIGN", f"Campaign {campaign_id} not found in instance {instance.id}")
            address = batch_customer(item)
            check_batch_route(item)
            if "QueueId" in item:
                raise batch_queue_refused(item["QueueId"], instance.id,
                                          exists=agents.queue(conn, instance.id, item["QueueId"]) is not None)
            system = item["SystemEndpoint"]
            try:
                number = self._claimed(conn, instance, **{batch_system_kind(system): system.get("Address", "")})
            except NotFound as error:
                raise ItemRefused("INVALID_SYSTEM_ENDPOINT", error.message) from None
            check_batch_extras(item)
        except ItemRefused as refused:
            return {"FailureReasonCode": refused.code, "FailureReasonMessage": refused.message}
        contact_id = self._start(conn, call, instance, channel="telephony", campaign_id=campaign.id,
                                 customer={"Type": "TELEPHONE_NUMBER", "Address": address},
                                 system={"Type": "TELEPHONE_NUMBER", "Address": number.number},
                                 attributes=item.get("Attributes"), options={"amd": True})
        return {"ContactId": contact_id}

    def _start(self, conn, call: Call, instance: Row, *, channel: str, state: str = contacts.PENDING,
               initiation_method: str = "API", customer: dict | None = None, system: dict | None = None,
               flow_id: str | None = None, campaign_id: str | None = None, name: str | None = None,
               description: str | None = None, segment_attributes: dict | None = None,
               attributes: dict | None = None, options: dict | None = None) -> str:
        """Records a contact started through the API; a pending one is due now."""
        params = call.params
        related = params.get("RelatedContactId")
        if related is not None and contacts.get_contact(conn, call.region, instance.id, related) is None:
            raise NotFound(f"Related contact {related} not found in instance {instance.id}")
        now = self.clock.now()
        contact_id = str(uuid.uuid4())
        contacts.record_contacts(conn, [{
            "id": contact_id, "region": call.region, "account": call.account_id, "instance_id": instance.id,
            "origin": contacts.API, "channel": CONNECT_CHANNEL[channel], "delivery": channel,
            "initiation_method": initiation_method, "state": state, "customer_endpoint": customer,
            "system_endpoint": system, "flow_id": flow_id, "campaign_id": campaign_id, "related_contact_id": related,
            "name": name, "description": description, "attributes": attributes or {},
            "segment_attributes": segment_attributes or {"connect:Subtype": {"ValueString": SUBTYPE_OF[channel]}},
            "options": options or {}, "client_token": params.get("ClientToken"), "initiated_at": now,
            "due_at": now if state == contacts.PENDING else None}])
        return contact_id

    def describe_contact(self, call: Call) -> dict:
        with self.db.read() as conn:
            contact = self._contact(conn, call)
            if contact is None:
                raise NotFound(f"Contact {call.params['ContactId']} not found in instance {call.params['InstanceId']}")
        return {"Contact": _contact_view(contact)}

    def stop_contact(self, call: Call) -> None:
        """A contact not yet handed to its channel is never sent; one in flight is ended now, and a
        call being placed or going on is hung up at the engine's next pass (its hang-up is owed:
        due now)."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            contact = self._contact(conn, call, for_update=True)
            if contact is None:
                self._instance(conn, call, call.params["InstanceId"])  # an unknown instance is not found as such
                raise AwsError("ContactNotFoundException", f"Contact {call.params['ContactId']} not found in "
                                                           f"instance {call.params['InstanceId']}")
            if contact.state == contacts.DISCONNECTED:
                raise AwsError("ContactNotFoundException", f"Contact {contact.id} is not active: it was "
                                                           f"disconnected at {contact.disconnected_at.isoformat()}")
            if contact.origin == contacts.CAMPAIGN:
                raise AwsError("InvalidRequestException", f"Contact {contact.id} belongs to campaign "
                                                          f"{contact.campaign_id}: pause or stop the campaign instead")
            reason = (call.params.get("DisconnectReason") or {}).get("Code") or STOPPED_BY_API
            contacts.update_contact(conn, contact.id, now=now, state=contacts.DISCONNECTED, disconnected_at=now,
                                    disconnect_reason=reason, due_at=now if contact.live_call else None, lease_owner=None,
                                    lease_until=None)
            notify.contact_stopped(conn, contact, reason, now)

    @staticmethod
    def _contact(conn, call: Call, *, for_update: bool = False) -> ConnectContact | None:
        """A contact started through the API, or one a campaign dispatched."""
        instance_id = call.params["InstanceId"]
        if instance_id.startswith("arn:"):
            instance_id = instance_id.rpartition("instance/")[2]
        contact = contacts.get_contact(conn, call.region, instance_id, call.params["ContactId"], for_update=for_update)
        if contact is not None:
            return contact
        dispatched = campaign_contact(conn, call.region, instance_id, call.params["ContactId"])
        return ConnectContact(**vars(dispatched)) if dispatched is not None else None


def _instance_view(instance: Row, account: str) -> dict:
    return {"Id": instance.id, "Arn": instance.arn, "IdentityManagementType": instance.identity_management_type,
            "InstanceAlias": instance.alias, "CreatedTime": instance.created_at,
            "ServiceRole": f"arn:aws:iam::{account}:role/aws-service-role/connect.amazonaws.com/"
                           f"AWSServiceRoleForAmazonConnect_{instance.id.replace('-', '')[:20]}",
            "InstanceStatus": "ACTIVE", "InboundCallsEnabled": instance.inbound_calls,
            "OutboundCallsEnabled": instance.outbound_calls,
            "InstanceAccessUrl": f"https://{instance.alias}.my.connect.aws" if instance.alias else None}


def _contact_view(contact: ConnectContact) -> dict:
    cc = (contact.options or {}).get("cc") or []
    return {
        "Arn": f"arn:aws:connect:{contact.region}:{contact.account}:instance/{contact.instance_id}"
               f"/contact/{contact.id}",
        "Id": contact.id, "InitialContactId": contact.id, "InitiationMethod": contact.initiation_method,
        "Name": contact.name, "Description": contact.description, "Channel": contact.channel,
        "InitiationTimestamp": contact.initiated_at, "ConnectedToSystemTimestamp": contact.connected_at,
        "DisconnectTimestamp": contact.disconnected_at, "LastUpdateTimestamp": contact.updated_at,
        "RelatedContactId": contact.related_contact_id, "CustomerEndpoint": contact.customer_endpoint,
        "SystemEndpoint": contact.system_endpoint,
        "Campaign": {"CampaignId": contact.campaign_id} if contact.campaign_id else None,
        "AnsweringMachineDetectionStatus": contact.amd_status, "DisconnectReason": contact.disconnect_reason,
        "SegmentAttributes": contact.segment_attributes or None, "Attributes": contact.attributes or None,
        "DisconnectDetails": {"PotentialDisconnectIssue": contact.reason} if contact.reason else None,
        "AdditionalEmailRecipients": {"CcList": [{"Address": r["EmailAddress"], "DisplayName": r.get("DisplayName")}
                                                 for r in cc]} if cc else None,
    }
