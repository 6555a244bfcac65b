"""The agent's side of agent-assisted calls: what a person (through /_reachout/agents/) or a simulated
agent (channels/simulated_agents.py) does, as functions of the engine.

An agent goes available (or offline), sees what it is offered or connected to, accepts or discards a
preview offer, ends its call, gives the call a disposition in after-contact work (ACW) and leaves ACW.
The disposition is the contact's outcome and disposition (domain/disposition.AGENT_DISPOSITIONS), so
the campaign's reattempt rules act on it as on any outcome; leaving ACW without one completes the
contact with the call's own outcome. Every step is one transaction under the contact's row lock;
the carrier is asked outside it.
"""
from __future__ import annotations

from datetime import datetime

from reachout.domain import agent_call
from reachout.domain.contact_event import contact_event
from reachout.domain.errors import Conflict, NotFound
from reachout.engine import notify
from reachout.engine.calls import progress_since
from reachout.domain.agent import ACW, CONNECTED, DEFAULT_STATUSES, IDLE, OFFERED, OFFLINE_NAME
from reachout.domain.contact import PLANNED, SENT
from reachout.engine.dialer import ACCEPTED_LEASE, PREVIEW_LEASE, agent_arn
from reachout.engine.reattempts import _profile_domain
from reachout.store import agents as agent_store
from reachout.store import campaigns as campaign_store
from reachout.store import dialer as dialer_store
from reachout.store import outbox, work
from reachout.store.profiles import get_profiles


AVAILABLE = DEFAULT_STATUSES[0][0]  # the ROUTABLE status every instance has


class AgentDesk:
    def __init__(self, db, channel, dispatcher):
        self.db = db
        self.channel = channel
        self.dispatcher = dispatcher

    # --- status -----------------------------------------------------------------------------------
    def go_available(self, instance_id: str, user_id: str, now: datetime) -> dict:
        with self.db.transaction() as conn:
            self._agent(conn, instance_id, user_id)
            self._put_status(conn, instance_id, user_id, AVAILABLE, now)
        return self.view(instance_id, user_id, now)

    def go_offline(self, instance_id: str, user_id: str, now: datetime) -> dict:
        with self.db.transaction() as conn:
            agent = self._agent(conn, instance_id, user_id)
            if agent.activity in (CONNECTED, ACW):
                raise Conflict(f"the agent is {agent.activity}: end the call and leave after-contact work first")
            if agent.activity == OFFERED:
                self._withdraw(conn, agent)
                agent_store.set_activity(conn, instance_id, user_id, IDLE, None, now)
            self._put_status(conn, instance_id, user_id, OFFLINE_NAME, now)
        return self.view(instance_id, user_id, now)

    def view(self, instance_id: str, user_id: str, now: datetime) -> dict:
        """The agent's status and activity, and the contact it is offered or handles (with the
        recipient's profile and, in preview, the actions the campaign allows and the deadline)."""
        with self.db.transaction() as conn:
            agent = self._agent(conn, instance_id, user_id)
            seen = {"userId": user_id, "instanceId": instance_id, "status": agent.status_name,
                    "activity": agent.activity, "activitySince": _iso(agent.activity_since)}
            contact = dialer_store.contacts_by_id(conn, [agent.contact_id]).get(agent.contact_id)
            if contact is None:
                return seen
            campaign = campaign_store.get_campaign_by_id(conn, contact.campaign_id)
            settings = agent_call.dialer_settings(campaign.id, campaign.channel_subtype_config) if campaign else None
            domain_id = _profile_domain(conn, campaign) if campaign else None
            profile = get_profiles(conn, domain_id, [contact.recipient]).get(contact.recipient) if domain_id else None
            offered = {"contactId": contact.id, "campaignId": contact.campaign_id, "phoneNumber": contact.endpoint,
                       "attempt": contact.attempt, "profile": profile}
            if agent.activity == OFFERED and settings is not None and settings.mode == "preview":
                offered["agentActions"] = sorted(settings.agent_actions)
                offered["accepted"] = contact.lease_owner == ACCEPTED_LEASE + user_id
                if settings.preview_timeout is not None and agent.activity_since is not None:
                    offered["dialsAt"] = _iso(agent.activity_since + settings.preview_timeout)
            seen["contact"] = offered
            return seen

    # --- preview ----------------------------------------------------------------------------------
    def accept(self, instance_id: str, user_id: str, contact_id: str, now: datetime) -> dict:
        """The agent dials its preview contact (the dialer places the call at its next tick)."""
        with self.db.transaction() as conn:
            agent, contact = self._offer(conn, instance_id, user_id, contact_id, now)
            work.update_contact(conn, contact.id, lease_owner=ACCEPTED_LEASE + user_id)
        return self.view(instance_id, user_id, now)

    def discard(self, instance_id: str, user_id: str, contact_id: str, now: datetime) -> dict:
        """DISCARD (if the campaign's agentActions allow it): the contact is dropped with the reason."""
        with self.db.transaction() as conn:
            agent, contact = self._offer(conn, instance_id, user_id, contact_id, now)
            campaign = campaign_store.get_campaign_by_id(conn, contact.campaign_id)
            settings = agent_call.dialer_settings(campaign.id, campaign.channel_subtype_config)
            if agent_call.DISCARD not in settings.agent_actions:
                raise Conflict("the campaign's previewConfig.agentActions do not include DISCARD")
            self.dispatcher._drop(conn, campaign, [contact], now, lambda c: agent_call.DISCARDED)
            agent_store.set_activity(conn, instance_id, user_id, IDLE, None, now)
        return self.view(instance_id, user_id, now)

    # --- the call ---------------------------------------------------------------------------------
    def end_call(self, instance_id: str, user_id: str, now: datetime) -> dict:
        """The agent hangs up: after-contact work begins."""
        with self.db.transaction() as conn:
            agent = self._agent(conn, instance_id, user_id)
            if agent.activity != CONNECTED:
                raise Conflict(f"the agent is {agent.activity}, not on a call")
        self.channel.disconnect(agent.contact_id, now)
        with self.db.transaction() as conn:
            row = work.lock_contact(conn, agent.contact_id)
            if row is not None and row.state == SENT:
                work.update_contact(conn, row.id, due_at=now)  # its end is followed at once
            agent_store.set_activity(conn, instance_id, user_id, ACW, agent.contact_id, now)
        return self.view(instance_id, user_id, now)

    def set_disposition(self, instance_id: str, user_id: str, code: str, now: datetime) -> dict:
        """In ACW: the call's disposition completes its contact (reattempt rules apply to it)."""
        agent_call.check_disposition(code)
        with self.db.transaction() as conn:
            agent = self._agent(conn, instance_id, user_id)
            if agent.activity != ACW:
                raise Conflict(f"the agent is {agent.activity}: a disposition is set in after-contact work")
        if not self._complete(instance_id, agent, code, now):
            raise Conflict("the contact already has its disposition")
        return self.view(instance_id, user_id, now)

    def leave_acw(self, instance_id: str, user_id: str, now: datetime) -> dict:
        with self.db.transaction() as conn:
            agent = self._agent(conn, instance_id, user_id)
            if agent.activity != ACW:
                raise Conflict(f"the agent is {agent.activity}, not in after-contact work")
        self._complete(instance_id, agent, None, now)
        with self.db.transaction() as conn:
            agent_store.set_activity(conn, instance_id, user_id, IDLE, None, now)
        return self.view(instance_id, user_id, now)

    def finish_acw(self, instance_id: str, user_id: str, code: str, now: datetime) -> dict:
        """A disposition and the end of after-contact work, at once (what simulated agents do)."""
        self.set_disposition(instance_id, user_id, code, now)
        return self.leave_acw(instance_id, user_id, now)

    # --- helpers ----------------------------------------------------------------------------------
    def _complete(self, instance_id: str, agent, code: str | None, now: datetime) -> bool:
        """Completes the agent's contact with `code` (None: the call's own outcome); False if it was
        completed before."""
        state = self.channel.progress([agent.contact_id], now).get(agent.contact_id) if agent.contact_id else None
        with self.db.transaction() as conn:
            row = work.lock_contact(conn, agent.contact_id) if agent.contact_id else None
            if row is None or row.state != SENT:
                return False
            if row.lease_owner is not None and row.lease_until is not None and row.lease_until > now:
                # The engine is recording the call's progress right now: completing it here would
                # race that (and plan its reattempts twice).
                raise Conflict("the call's end is being recorded; try again in a moment")
            campaign = campaign_store.get_campaign_by_id(conn, row.campaign_id)
            if state is not None and row.outcome != "DISCONNECTED":  # stages not yet announced
                news = progress_since(row.outcome, state)
                notify.call_progressed(conn, campaign, row, news.new, news.answered, now)
            outcome = code or (progress_since(None, state).outcome if state is not None else None) or "FAILED"
            seen = notify.contact_view(conn, campaign, row)
            event = contact_event("CONTACT_DATA_UPDATED", contact=seen, **notify._where(campaign, now))
            event["detail"]["updatedProperties"] = ["AgentInfo.AfterContactWork", "Disposition"]
            event["detail"]["agentInfo"] = {"agentArn": agent_arn(campaign, agent.user_id),
                                            "afterContactWorkStartTimestamp": _iso(agent.activity_since),
                                            "afterContactWorkEndTimestamp": _iso(now)}
            event["detail"]["disposition"] = outcome
            outbox.emit(conn, [(row.id, event)], now)
            self.dispatcher._complete(conn, [(row, outcome)], now)
            return True

    def _agent(self, conn, instance_id: str, user_id: str):
        agent = agent_store.agent_state(conn, instance_id, user_id)
        if agent is None:
            raise NotFound(f"no user '{user_id}' in instance '{instance_id}'")
        return agent

    @staticmethod
    def _put_status(conn, instance_id: str, user_id: str, name: str, now: datetime) -> None:
        status = agent_store.status_named(conn, instance_id, name)
        if status is None:
            raise NotFound(f"instance '{instance_id}' has no agent status '{name}'")
        agent_store.set_status(conn, instance_id, user_id, status, now)

    def _offer(self, conn, instance_id: str, user_id: str, contact_id: str, now: datetime):
        agent = self._agent(conn, instance_id, user_id)
        if agent.activity != OFFERED or agent.contact_id != contact_id:
            raise Conflict(f"contact '{contact_id}' is not offered to this agent")
        contact = work.lock_contact(conn, contact_id)
        if contact is None or contact.state != PLANNED or contact.lease_owner != PREVIEW_LEASE + user_id:
            raise Conflict(f"contact '{contact_id}' is no longer waiting for this agent (accepted, dialed or gone)")
        return agent, contact

    def _withdraw(self, conn, agent) -> None:
        """An offer the agent leaves: the contact waits for the next agent."""
        contact = work.lock_contact(conn, agent.contact_id)
        if contact is not None and contact.state == PLANNED:
            work.update_contact(conn, contact.id, lease_owner=None, lease_until=None)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
