"""Amazon Connect (`connect`) agents: queues, routing profiles (queues per channel, concurrency per
channel), users, agent statuses (every instance has Available and Offline; CUSTOM ones are made),
PutUserStatus, and the real-time views GetCurrentUserData and GetCurrentMetricData, which read each
user's status and the activity the dialer records (store/agents.py, domain/agent.py).

Resources Reachout does not serve are taken as given where the model requires them (a queue's
HoursOfOperationId, a user's SecurityProfileIds) and refused as not found where they are optional
(quick connects, email addresses, hierarchy groups). Quotas are Connect's default service quotas.
Every refusal is an error the operation's model lists (providers.refusal_codes).
"""
from __future__ import annotations

import uuid

import regex
from sqlalchemy import Row

from reachout.aws.gateway import Call
from reachout.domain.agent import (CONTACT_STATE, COUNT_METRICS, CUSTOM, IDLE, METRIC_CHANNELS,
                                   OFFLINE_NAME, SECONDS_METRICS, MetricFilter, current_metrics, routable)
from reachout.domain.endpoint import valid_email
from reachout.domain.errors import Conflict, DomainError, NotFound, QuotaExceeded
from reachout.providers.connect import ConnectProvider
from reachout.providers.paging import next_token, page, sequence_position
from reachout.store import agents, contact_flows, phone_numbers, tags

# Connect's default service quotas, per instance.
MAX_QUEUES = 50
MAX_ROUTING_PROFILES = 100
MAX_USERS = 500
MAX_AGENT_STATUSES = 50
VOICE_CONCURRENCY = 1  # an agent takes one call at a time
# CreateUser's Password pattern as the model's documentation gives it (the model wraps it in slashes).
PASSWORD = regex.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[a-zA-Z\d\S]{8,64}$")
# Username, as the model's documentation gives it.
USERNAME_LENGTH, SAML_USERNAME_LENGTH = 20, 64
SAML_USERNAME = regex.compile(r"^[a-zA-Z0-9_\-.@]+$")
AWS_METRIC = regex.compile(r"^arn:aws:connect:[a-z0-9-]+:aws:metric/([A-Z_]+)$")
SERVED_GROUPINGS = ("QUEUE", "CHANNEL", "ROUTING_PROFILE", "AGENT_STATUS")
QUEUE_METRICS = ("CONTACTS_IN_QUEUE", "CONTACTS_SCHEDULED", "OLDEST_CONTACT_AGE")


class ConnectAgentsProvider:
    """Served beside ConnectProvider, whose instances, refusals and ClientToken handling it shares."""

    def __init__(self, connect: ConnectProvider):
        self.connect = connect
        self.db = connect.db
        self.clock = connect.clock

    def _instance(self, conn, call: Call) -> Row:
        """The call's instance, with its default agent statuses made (a write on first use: so even the
        agent reads run as transactions)."""
        instance = self.connect._instance(conn, call, call.params["InstanceId"])
        agents.ensure_default_statuses(conn, instance, self.clock.now())
        return instance

    # --- queues -----------------------------------------------------------------------------------
    def create_queue(self, call: Call) -> dict:
        p = call.params
        if "QuickConnectIds" in p:
            raise NotFound(f"Quick connect {p['QuickConnectIds'][0]} not found: Reachout serves no quick connects")
        if "OutboundEmailConfig" in p or "EmailAddressesConfig" in p:
            raise NotFound("Email address not found: Reachout serves no Connect email addresses")
        now = self.clock.now()
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            caller = p.get("OutboundCallerConfig")
            if caller:
                self._check_caller(conn, instance, caller)
            agents.lock_instance(conn, instance.id)
            if agents.queue_name_taken(conn, instance.id, p["Name"]):
                raise Conflict(f"A queue named {p['Name']} already exists in instance {instance.id}")
            if agents.count_queues(conn, instance.id) >= MAX_QUEUES:
                raise QuotaExceeded(f"Instance {instance.id} has {MAX_QUEUES} queues, the most it can have")
            queue_id = str(uuid.uuid4())
            arn = f"{instance.arn}/queue/{queue_id}"
            agents.insert_queue(conn, id=queue_id, region=call.region, instance_id=instance.id, arn=arn, name=p["Name"],
                                description=p.get("Description"), hours_of_operation_id=p["HoursOfOperationId"],
                                max_contacts=p.get("MaxContacts"), status="ENABLED", outbound_caller_config=caller,
                                created_at=now, updated_at=now)
            tags.put_tags(conn, arn, p.get("Tags", {}))
        return {"QueueArn": arn, "QueueId": queue_id}

    @staticmethod
    def _check_caller(conn, instance: Row, caller: dict) -> None:
        number_id = caller.get("OutboundCallerIdNumberId")
        if number_id is not None:
            number = phone_numbers.get_number(conn, number_id)
            if number is None or number.instance_id != instance.id:
                raise NotFound(f"Phone number {number_id} is not claimed by instance {instance.id}")
        flow_id = caller.get("OutboundFlowId")
        if flow_id is not None and contact_flows.get_flow(conn, instance.id, flow_id.rpartition("/")[2]) is None:
            raise NotFound(f"Flow {flow_id} not found in instance {instance.id}")

    def describe_queue(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            queue = self._queue(conn, instance, call.params["QueueId"])
            return {"Queue": {
                "Name": queue.name, "QueueArn": queue.arn, "QueueId": queue.id, "Description": queue.description,
                "OutboundCallerConfig": queue.outbound_caller_config, "HoursOfOperationId": queue.hours_of_operation_id,
                "MaxContacts": queue.max_contacts, "Status": queue.status,
                "Tags": tags.get_tags(conn, queue.arn) or None,
                "LastModifiedTime": queue.updated_at, "LastModifiedRegion": queue.region}}

    def list_queues(self, call: Call) -> dict:
        """Every queue is STANDARD: Reachout makes no per-agent (AGENT) queues."""
        p = call.params
        limit = p.get("MaxResults", 100)
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            rows = ([] if p.get("QueueTypes") and "STANDARD" not in p["QueueTypes"]
                    else agents.list_queues(conn, instance.id, sequence_position(p.get("NextToken")), limit + 1))
        rows, token = page(rows, limit, lambda row: (row.created_at, str(row.seq)))
        return {"QueueSummaryList": [{"Id": row.id, "Arn": row.arn, "Name": row.name, "QueueType": "STANDARD",
                                      "LastModifiedTime": row.updated_at, "LastModifiedRegion": row.region}
                                     for row in rows], "NextToken": token}

    def update_queue_status(self, call: Call) -> None:
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            queue = self._queue(conn, instance, call.params["QueueId"])
            agents.set_queue_status(conn, queue.id, call.params["Status"], self.clock.now())

    @staticmethod
    def _queue(conn, instance: Row, identifier: str) -> Row:
        """A queue of the instance by id or ARN."""
        queue = agents.queue(conn, instance.id, identifier.rpartition("/")[2])
        if queue is None or (identifier.startswith("arn:") and identifier != queue.arn):
            raise NotFound(f"Queue {identifier} not found in instance {instance.id}")
        return queue

    # --- routing profiles ---------------------------------------------------------------------------
    def create_routing_profile(self, call: Call) -> dict:
        p = call.params
        concurrencies = p["MediaConcurrencies"]
        channels = [m["Channel"] for m in concurrencies]
        if not channels:
            raise DomainError("MediaConcurrencies needs the concurrency of at least one channel")
        if len(set(channels)) != len(channels):
            raise DomainError("MediaConcurrencies names a channel more than once")
        voice = next((m for m in concurrencies if m["Channel"] == "VOICE"), None)
        if voice is not None and voice["Concurrency"] != VOICE_CONCURRENCY:
            raise DomainError(f"VOICE concurrency must be {VOICE_CONCURRENCY}: an agent takes one call at a time")
        configs = ([{**c["QueueReference"], "Priority": c["Priority"], "Delay": c["Delay"], "manual": False}
                    for c in p.get("QueueConfigs", [])]
                   + [{**c["QueueReference"], "manual": True} for c in p.get("ManualAssignmentQueueConfigs", [])])
        seen = set()
        for config in configs:
            key = (config["QueueId"], config["Channel"], config["manual"])
            if key in seen:
                raise DomainError(f"Queue {config['QueueId']} is given twice for channel {config['Channel']}")
            seen.add(key)
            if config["Channel"] not in channels:
                raise DomainError(f"Queue {config['QueueId']} is given for channel {config['Channel']}, which "
                                  "MediaConcurrencies does not name")
        now = self.clock.now()
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            default_queue = self._queue(conn, instance, p["DefaultOutboundQueueId"])
            rows = [{"queue_id": self._queue(conn, instance, c["QueueId"]).id, "channel": c["Channel"],
                     "manual": c["manual"], "priority": c.get("Priority"), "delay": c.get("Delay")} for c in configs]
            agents.lock_instance(conn, instance.id)
            if agents.routing_profile_name_taken(conn, instance.id, p["Name"]):
                raise Conflict(f"A routing profile named {p['Name']} already exists in instance {instance.id}")
            if agents.count_routing_profiles(conn, instance.id) >= MAX_ROUTING_PROFILES:
                raise QuotaExceeded(f"Instance {instance.id} has {MAX_ROUTING_PROFILES} routing profiles, the most "
                                    "it can have")
            profile_id = str(uuid.uuid4())
            arn = f"{instance.arn}/routing-profile/{profile_id}"
            agents.insert_routing_profile(
                conn, rows, id=profile_id, region=call.region, instance_id=instance.id, arn=arn, name=p["Name"],
                description=p["Description"], default_outbound_queue_id=default_queue.id,
                media_concurrencies=concurrencies,
                agent_availability_timer=p.get("AgentAvailabilityTimer", "TIME_SINCE_LAST_ACTIVITY"),
                created_at=now, updated_at=now)
            tags.put_tags(conn, arn, p.get("Tags", {}))
        return {"RoutingProfileArn": arn, "RoutingProfileId": profile_id}

    def describe_routing_profile(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            profile = self._profile(conn, instance, call.params["RoutingProfileId"])
            configs = agents.profile_queues(conn, profile.id, manual=None)
            queued = sorted({c.queue_id for c in configs if not c.manual})
            manual = sorted({c.queue_id for c in configs if c.manual})
            return {"RoutingProfile": {
                "InstanceId": instance.id, "Name": profile.name, "RoutingProfileArn": profile.arn,
                "RoutingProfileId": profile.id, "Description": profile.description,
                "MediaConcurrencies": profile.media_concurrencies,
                "DefaultOutboundQueueId": profile.default_outbound_queue_id,
                "Tags": tags.get_tags(conn, profile.arn) or None, "NumberOfAssociatedQueues": len(queued),
                "NumberOfAssociatedManualAssignmentQueues": len(manual),
                "NumberOfAssociatedUsers": agents.count_profile_users(conn, profile.id),
                "AgentAvailabilityTimer": profile.agent_availability_timer, "LastModifiedTime": profile.updated_at,
                "LastModifiedRegion": profile.region, "IsDefault": False, "AssociatedQueueIds": queued,
                "AssociatedManualAssignmentQueueIds": manual}}

    def list_routing_profiles(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 100)
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            rows = agents.list_routing_profiles(conn, instance.id, sequence_position(call.params.get("NextToken")),
                                                limit + 1)
        rows, token = page(rows, limit, lambda row: (row.created_at, str(row.seq)))
        return {"RoutingProfileSummaryList": [{"Id": row.id, "Arn": row.arn, "Name": row.name,
                                               "LastModifiedTime": row.updated_at, "LastModifiedRegion": row.region}
                                              for row in rows], "NextToken": token}

    def list_routing_profile_queues(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 100)
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            profile = self._profile(conn, instance, call.params["RoutingProfileId"])
            rows = agents.profile_queues(conn, profile.id, after=sequence_position(call.params.get("NextToken")),
                                         limit=limit + 1)
        rows, token = page(rows, limit, lambda row: (profile.created_at, str(row.seq)))
        return {"RoutingProfileQueueConfigSummaryList": [{
            "QueueId": row.queue_id, "QueueArn": row.queue_arn, "QueueName": row.queue_name, "Priority": row.priority,
            "Delay": row.delay, "Channel": row.channel} for row in rows], "NextToken": token,
            "LastModifiedTime": profile.updated_at, "LastModifiedRegion": profile.region}

    @staticmethod
    def _profile(conn, instance: Row, identifier: str) -> Row:
        profile = agents.routing_profile(conn, instance.id, identifier.rpartition("/")[2])
        if profile is None or (identifier.startswith("arn:") and identifier != profile.arn):
            raise NotFound(f"Routing profile {identifier} not found in instance {instance.id}")
        return profile

    # --- users ----------------------------------------------------------------------------------------
    def create_user(self, call: Call) -> dict:
        """Identity rules as the model documents them per identity management type; the password is
        checked, never kept (Reachout has no sign-in)."""
        p = call.params
        if "HierarchyGroupId" in p:
            raise NotFound(f"Hierarchy group {p['HierarchyGroupId']} not found: Reachout serves no hierarchy groups")
        for name in ("AutoAcceptConfigs", "AfterContactWorkConfigs", "PhoneNumberConfigs",
                     "PersistentConnectionConfigs", "VoiceEnhancementConfigs"):
            channels = [config["Channel"] for config in p.get(name, [])]
            if len(set(channels)) != len(channels):
                raise DomainError(f"{name} names a channel more than once")
        phone = p.get("PhoneConfig") or {}
        if phone.get("PhoneType") == "DESK_PHONE" and not phone.get("DeskPhoneNumber"):
            raise DomainError("A DESK_PHONE PhoneConfig needs its DeskPhoneNumber")
        for config in p.get("PhoneNumberConfigs", []):
            if config["PhoneType"] == "DESK_PHONE" and not config.get("PhoneNumber"):
                raise DomainError(f"The {config['Channel']} DESK_PHONE PhoneNumberConfig needs its PhoneNumber")
        now = self.clock.now()
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            self._check_identity(instance, p)
            profile = self._profile(conn, instance, p["RoutingProfileId"])
            agents.lock_instance(conn, instance.id)
            if agents.username_taken(conn, instance.id, p["Username"]):
                raise Conflict(f"A user named {p['Username']} already exists in instance {instance.id}")
            if agents.count_users(conn, instance.id) >= MAX_USERS:
                raise QuotaExceeded(f"Instance {instance.id} has {MAX_USERS} users, the most it can have")
            user_id = str(uuid.uuid4())
            arn = f"{instance.arn}/agent/{user_id}"
            agents.insert_user(
                conn, agents.status_named(conn, instance.id, OFFLINE_NAME), id=user_id, region=call.region,
                instance_id=instance.id, arn=arn, username=p["Username"], routing_profile_id=profile.id,
                security_profile_ids=p["SecurityProfileIds"], directory_user_id=p.get("DirectoryUserId"),
                identity_info=p.get("IdentityInfo"), phone_config=p.get("PhoneConfig"),
                channel_configs={name: p[name] for name in ("AutoAcceptConfigs", "AfterContactWorkConfigs",
                                                            "PhoneNumberConfigs", "PersistentConnectionConfigs",
                                                            "VoiceEnhancementConfigs") if name in p},
                created_at=now, updated_at=now)
            tags.put_tags(conn, arn, p.get("Tags", {}))
        return {"UserId": user_id, "UserArn": arn}

    @staticmethod
    def _check_identity(instance: Row, p: dict) -> None:
        kind = instance.identity_management_type
        identity = p.get("IdentityInfo") or {}
        username = p["Username"]
        longest = SAML_USERNAME_LENGTH if kind == "SAML" else USERNAME_LENGTH
        if len(username) > longest:
            raise DomainError(f"Username of a {kind} instance has at most {longest} characters")
        if kind == "SAML" and not SAML_USERNAME.match(username):
            raise DomainError("Username of a SAML instance is made of letters, digits and _ - . @")
        if "@" in username and not valid_email(username):
            raise DomainError(f"Username {username} has an @ but is not an email address")
        if kind == "CONNECT_MANAGED":
            if "Password" not in p:
                raise DomainError("A user of a CONNECT_MANAGED instance needs a Password")
            if not PASSWORD.match(p["Password"]):
                raise DomainError("Password must be 8 to 64 characters with an upper-case letter, a lower-case "
                                  "letter and a digit")
        elif "Password" in p:
            raise DomainError(f"Password is for CONNECT_MANAGED instances, not {kind}: its directory signs users in")
        if kind in ("CONNECT_MANAGED", "SAML") and not (identity.get("FirstName") and identity.get("LastName")):
            raise DomainError(f"A user of a {kind} instance needs IdentityInfo.FirstName and IdentityInfo.LastName")
        if kind == "SAML" and ("DirectoryUserId" in p or "Email" in identity):
            raise DomainError("A user of a SAML instance has no DirectoryUserId or IdentityInfo.Email")

    def describe_user(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            user = self._user(conn, instance, call.params["UserId"])
            return {"User": {
                "Id": user.id, "Arn": user.arn, "Username": user.username, "IdentityInfo": user.identity_info,
                "PhoneConfig": user.phone_config, "DirectoryUserId": user.directory_user_id,
                "SecurityProfileIds": user.security_profile_ids, "RoutingProfileId": user.routing_profile_id,
                "Tags": tags.get_tags(conn, user.arn) or None, **user.channel_configs,
                "LastModifiedTime": user.updated_at, "LastModifiedRegion": user.region}}

    def list_users(self, call: Call) -> dict:
        limit = call.params.get("MaxResults", 100)
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            rows = agents.list_users(conn, instance.id, sequence_position(call.params.get("NextToken")), limit + 1)
        rows, token = page(rows, limit, lambda row: (row.created_at, str(row.seq)))
        return {"UserSummaryList": [{"Id": row.id, "Arn": row.arn, "Username": row.username,
                                     "LastModifiedTime": row.updated_at, "LastModifiedRegion": row.region}
                                    for row in rows], "NextToken": token}

    def delete_user(self, call: Call) -> None:
        """Not while the agent is on a contact: the dialer would lose the agent mid-call."""
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            user = self._user(conn, instance, call.params["UserId"])
            state = agents.agent_state(conn, instance.id, user.id, for_update=True)
            if state.activity != IDLE:
                raise DomainError(f"User {user.id} is on contact {state.contact_id} ({state.activity}); delete the "
                                  "user when the contact is over")
            agents.delete_user(conn, instance.id, user.id)
            tags.remove_tags(conn, user.arn)

    @staticmethod
    def _user(conn, instance: Row, identifier: str) -> Row:
        user = agents.user(conn, instance.id, identifier.rpartition("/")[2])
        if user is None or (identifier.startswith("arn:") and identifier != user.arn):
            raise NotFound(f"User {identifier} not found in instance {instance.id}")
        return user

    # --- agent statuses -------------------------------------------------------------------------------
    def create_agent_status(self, call: Call) -> dict:
        p = call.params
        now = self.clock.now()
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            agents.lock_instance(conn, instance.id)
            if agents.status_named(conn, instance.id, p["Name"]) is not None:
                raise Conflict(f"An agent status named {p['Name']} already exists in instance {instance.id}")
            if agents.count_statuses(conn, instance.id) >= MAX_AGENT_STATUSES:
                raise QuotaExceeded(f"Instance {instance.id} has {MAX_AGENT_STATUSES} agent statuses, the most it "
                                    "can have")
            status_id = str(uuid.uuid4())
            arn = f"{instance.arn}/agent-state/{status_id}"
            agents.insert_status(conn, id=status_id, region=call.region, instance_id=instance.id, arn=arn,
                                 name=p["Name"], description=p.get("Description"), type=CUSTOM, state=p["State"],
                                 display_order=p.get("DisplayOrder"), created_at=now, updated_at=now)
            tags.put_tags(conn, arn, p.get("Tags", {}))
        return {"AgentStatusARN": arn, "AgentStatusId": status_id}

    def describe_agent_status(self, call: Call) -> dict:
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            status = self._status(conn, instance, call.params["AgentStatusId"])
            return {"AgentStatus": {
                "AgentStatusARN": status.arn, "AgentStatusId": status.id, "Name": status.name,
                "Description": status.description, "Type": status.type, "DisplayOrder": status.display_order,
                "State": status.state, "Tags": tags.get_tags(conn, status.arn) or None,
                "LastModifiedTime": status.updated_at, "LastModifiedRegion": status.region}}

    def list_agent_statuses(self, call: Call) -> dict:
        p = call.params
        limit = p.get("MaxResults", 100)
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            rows = agents.list_statuses(conn, instance.id, p.get("AgentStatusTypes"),
                                        sequence_position(p.get("NextToken")), limit + 1)
        rows, token = page(rows, limit, lambda row: (row.created_at, str(row.seq)))
        return {"AgentStatusSummaryList": [{"Id": row.id, "Arn": row.arn, "Name": row.name, "Type": row.type,
                                            "LastModifiedTime": row.updated_at, "LastModifiedRegion": row.region}
                                           for row in rows], "NextToken": token}

    def put_user_status(self, call: Call) -> dict:
        """As the model says: an agent handling a contact gets it as its next status, taken up when the
        dialer has the agent IDLE again (after-contact work done); otherwise at once."""
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            user = self._user(conn, instance, call.params["UserId"])
            status = self._status(conn, instance, call.params["AgentStatusId"])
            if status.state != "ENABLED":
                raise DomainError(f"Agent status {status.name} is DISABLED: enable it before agents use it")
            agents.set_status(conn, instance.id, user.id, status, self.clock.now())
        return {}

    @staticmethod
    def _status(conn, instance: Row, identifier: str) -> Row:
        status = agents.status(conn, instance.id, identifier.rpartition("/")[2])
        if status is None or (identifier.startswith("arn:") and identifier != status.arn):
            raise NotFound(f"Agent status {identifier} not found in instance {instance.id}")
        return status

    # --- real-time data ---------------------------------------------------------------------------------
    def get_current_user_data(self, call: Call) -> dict:
        p = call.params
        filters = p["Filters"]
        if not any(filters.get(name) for name in ("Queues", "RoutingProfiles", "Agents", "UserHierarchyGroups")):
            raise DomainError("Filters needs Queues, RoutingProfiles, Agents or UserHierarchyGroups")
        if filters.get("UserHierarchyGroups"):
            raise NotFound(f"Hierarchy group {filters['UserHierarchyGroups'][0]} not found: Reachout serves no "
                           "hierarchy groups")
        limit = p.get("MaxResults", 100)
        after = sequence_position(p.get("NextToken"))
        now = self.clock.now()
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            queue_ids = {self._queue(conn, instance, q).id for q in filters.get("Queues", [])}
            profile_ids = {self._profile(conn, instance, r).id for r in filters.get("RoutingProfiles", [])}
            user_ids = {self._user(conn, instance, u).id for u in filters.get("Agents", [])}
            states = set((filters.get("ContactFilter") or {}).get("ContactStates") or [])
            by_profile = agents.queue_ids_by_profile(conn, instance.id)
            rows = [row for row in agents.user_states(conn, instance.id)
                    if (not queue_ids or queue_ids & by_profile.get(row.routing_profile_id, set()))
                    and (not profile_ids or row.routing_profile_id in profile_ids)
                    and (not user_ids or row.id in user_ids)
                    and (not states or CONTACT_STATE.get(row.activity) in states)]
            total = len(rows)
            rows = [row for row in rows if after is None or row.seq > after][:limit + 1]
            rows, token = page(rows, limit, lambda row: (now, str(row.seq)))
            profiles = {profile_id: agents.routing_profile(conn, instance.id, profile_id)
                        for profile_id in {row.routing_profile_id for row in rows}}
            status_ids = {row.status_id for row in rows} | {row.next_status_id for row in rows} - {None}
            statuses = {status_id: agents.status(conn, instance.id, status_id) for status_id in status_ids}
            queues = {queue_id: agents.queue(conn, instance.id, queue_id)
                      for queue_id in {row.contact_queue_id for row in rows} - {None}}
        return {"UserDataList": [self._user_data(row, profiles[row.routing_profile_id], statuses, queues)
                                 for row in rows], "NextToken": token, "ApproximateTotalCount": total}

    @staticmethod
    def _user_data(row: Row, profile: Row, statuses: dict[str, Row], queues: dict[str, Row]) -> dict:
        maximum = {m["Channel"]: m["Concurrency"] for m in profile.media_concurrencies}
        active = {channel: int(channel == "VOICE" and row.activity != IDLE) for channel in maximum}
        free = routable(row.status_type) and row.activity == IDLE
        queue = queues.get(row.contact_queue_id)
        contacts = [] if row.activity == IDLE else [{
            "ContactId": row.contact_id, "Channel": "VOICE", "InitiationMethod": "OUTBOUND",
            "AgentContactState": CONTACT_STATE[row.activity], "StateStartTimestamp": row.activity_since,
            "ConnectedToAgentTimestamp": row.connected_at,
            "Queue": {"Id": queue.id, "Arn": queue.arn} if queue is not None else None}]
        return {"User": {"Id": row.id, "Arn": row.arn}, "RoutingProfile": {"Id": profile.id, "Arn": profile.arn},
                "Status": {"StatusStartTimestamp": row.status_since, "StatusArn": statuses[row.status_id].arn,
                           "StatusName": row.status_name},
                "NextStatus": statuses[row.next_status_id].name if row.next_status_id else None,
                "AvailableSlotsByChannel": {c: (n - active[c]) if free else 0 for c, n in maximum.items()},
                "MaxSlotsByChannel": maximum, "ActiveSlotsByChannel": active, "Contacts": contacts}

    def get_current_metric_data(self, call: Call) -> dict:
        """Metrics per the model's documentation of CurrentMetrics and Groupings, OLDEST_CONTACT_AGE
        in milliseconds when ungrouped included. Routing step expressions, subtypes, validation test
        types and ESTIMATED_WAIT_TIME are not served (InvalidParameterException)."""
        p = call.params
        filters = p["Filters"]
        groupings = p.get("Groupings", [])
        metrics = [self._metric(metric) for metric in p["CurrentMetrics"]]
        names = [name for name, _ in metrics]
        for name in ("RoutingStepExpressions", "Subtypes", "ValidationTestTypes"):
            if filters.get(name):
                raise DomainError(f"Filters.{name} is not served: Reachout routes without routing criteria")
        if not filters.get("Queues") and not filters.get("RoutingProfiles"):
            raise DomainError("Filters needs Queues or RoutingProfiles")
        for grouping in groupings:
            if grouping not in SERVED_GROUPINGS:
                raise DomainError(f"Grouping {grouping} is not served; group by {', '.join(SERVED_GROUPINGS)}")
        if len(set(groupings)) != len(groupings):
            raise DomainError("Groupings names a grouping more than once")
        if "AGENT_STATUS" in groupings:
            if groupings[0] != "QUEUE" or not filters.get("Queues"):
                raise DomainError("Grouping by AGENT_STATUS needs QUEUE as the first grouping and a Queues filter")
            if set(names) != {"AGENTS_ONLINE"}:
                raise DomainError("Grouped by AGENT_STATUS, the only metric available is AGENTS_ONLINE")
        if "ROUTING_PROFILE" in groupings and set(names) & set(QUEUE_METRICS) and not filters.get("RoutingProfiles"):
            raise DomainError(f"Grouped by ROUTING_PROFILE, {', '.join(QUEUE_METRICS)} need a RoutingProfiles filter")
        for channel in filters.get("Channels", []):
            if channel not in METRIC_CHANNELS:
                raise DomainError(f"Channel {channel} has no real-time metrics; filter by "
                                  f"{', '.join(METRIC_CHANNELS)}")
        sort = (p.get("SortCriteria") or [{}])[0]
        if sort and sort.get("SortByMetric") not in (None, *names):
            raise DomainError(f"SortByMetric {sort['SortByMetric']} is not one of the CurrentMetrics asked for")
        limit = p.get("MaxResults", 100)
        offset = sequence_position(p.get("NextToken")) or 0
        now = self.clock.now()
        with self.db.transaction() as conn:
            instance = self._instance(conn, call)
            queues = {q.id: q for q in (self._queue(conn, instance, i) for i in filters.get("Queues", []))}
            profiles = {r.id: r for r in (self._profile(conn, instance, i) for i in filters.get("RoutingProfiles", []))}
            statuses = {s.id: s for s in (self._status(conn, instance, i) for i in filters.get("AgentStatuses", []))}
            where = MetricFilter(queues=frozenset(queues) or None, routing_profiles=frozenset(profiles) or None,
                                 channels=frozenset(filters.get("Channels", [])) or None,
                                 statuses=frozenset(statuses) or None)
            groups = current_metrics(agents.seats(conn, instance.id), agents.waiting(conn, instance.id),
                                     agents.queue_ids_by_profile(conn, instance.id), groupings, where, now)
            if sort.get("SortByMetric"):
                groups.sort(key=lambda group: group[1][sort["SortByMetric"]],
                            reverse=sort.get("SortOrder") == "DESCENDING")
            shown = groups[offset:offset + limit]
            results = [{"Dimensions": self._dimensions(conn, instance, group) if groupings else None,
                        "Collections": [{"Metric": {"Name": name, "Unit": unit},
                                         "Value": float(values[name] * (1000 if name == "OLDEST_CONTACT_AGE"
                                                                        and not groupings else 1))}
                                        for name, unit in metrics]} for group, values in shown]
        token = next_token(now, str(offset + limit)) if offset + limit < len(groups) else None
        return {"MetricResults": results, "NextToken": token, "DataSnapshotTime": now,
                "ApproximateTotalCount": len(groups)}

    @staticmethod
    def _metric(metric: dict) -> tuple[str, str]:
        """(name, unit) of a CurrentMetric, named or given by the MetricId of a built-in metric."""
        name = metric.get("Name")
        if name is None and metric.get("MetricId"):
            found = AWS_METRIC.match(metric["MetricId"])
            if found is None:
                raise DomainError(f"MetricId {metric['MetricId']} is not served: custom metrics are not served")
            name = found.group(1)
        if name is None:
            raise DomainError("Each CurrentMetric needs a Name or a MetricId")
        unit = "SECONDS" if name in SECONDS_METRICS else "COUNT" if name in COUNT_METRICS else None
        if unit is None:
            raise DomainError(f"Metric {name} is not served")
        if metric.get("Unit", unit) != unit:
            raise DomainError(f"Metric {name} is measured in {unit}, not {metric['Unit']}")
        return name, unit

    @staticmethod
    def _dimensions(conn, instance: Row, group: dict) -> dict:
        dimensions = {}
        if "QUEUE" in group:
            queue = agents.queue(conn, instance.id, group["QUEUE"])
            dimensions["Queue"] = {"Id": queue.id, "Arn": queue.arn}
        if "CHANNEL" in group:
            dimensions["Channel"] = group["CHANNEL"]
        if "ROUTING_PROFILE" in group:
            profile = agents.routing_profile(conn, instance.id, group["ROUTING_PROFILE"])
            dimensions["RoutingProfile"] = {"Id": profile.id, "Arn": profile.arn}
        if "AGENT_STATUS" in group:
            status = agents.status(conn, instance.id, group["AGENT_STATUS"])
            dimensions["AgentStatus"] = {"Arn": status.arn, "Id": status.id}
        return dimensions
