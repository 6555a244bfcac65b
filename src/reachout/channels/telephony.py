"""Voice: the telephony adapter protocol, and the simulated carrier that is its default adapter.

A telephony adapter is a channel whose `send` originates calls (at most once per idempotency key)
and answers at once with the instant to ask about each call again. `progress` then reports how each
call has gone so far: ringing, answered (with the answering machine detection result), connected to
an agent, disconnected (with the AnsweringMachineDetectionStatus of seeds/001, or the
DisconnectReason of a dial attempt whose media connection failed). The engine asks again at the
instant each answer names, and turns every new stage into contact events. `connect_to_agent` and
`disconnect` act on a live call; agent-assisted dialing (a later issue) is what will use them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from reachout.channels import Channel, Outgoing, Receipt, described
from reachout.channels.simulated import fraction, outcome_for
from reachout.domain.disposition import DIAL_FAILURES
from reachout.store.db import Database
from reachout.store.tables import sim_calls

# A call's stages, in the order it can reach them; DIALING is where every call starts.
DIALING, RINGING, ANSWERED, CONNECTED_TO_AGENT, DISCONNECTED = (
    "DIALING", "RINGING", "ANSWERED", "CONNECTED_TO_AGENT", "DISCONNECTED")
STAGES = (DIALING, RINGING, ANSWERED, CONNECTED_TO_AGENT, DISCONNECTED)
DEFAULT_RING_TIMEOUT = 30  # seconds; a call's ringTimeout may say 15 to 60


@dataclass(frozen=True)
class OutgoingCall(Outgoing):
    """A call to place, as the campaign's telephony defaults and the request's own parameters set it."""
    source_number: str | None = None  # connectSourcePhoneNumber
    detect_machines: bool = False  # answerMachineDetectionConfig.enableAnswerMachineDetection
    await_prompt: bool = False  # awaitAnswerMachinePrompt: a message left on voicemail waits for the beep
    ring_timeout: int = DEFAULT_RING_TIMEOUT
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CallProgress:
    stage: str  # RINGING, ANSWERED, CONNECTED_TO_AGENT or DISCONNECTED
    at: datetime
    amd_status: str | None = None  # ANSWERED; DISCONNECTED of any call that reached the network
    disconnect_reason: str | None = None  # DISCONNECTED of a dial attempt that failed
    agent_arn: str | None = None  # CONNECTED_TO_AGENT


@dataclass(frozen=True)
class CallState:
    progress: tuple[CallProgress, ...]  # every stage the call has reached, in order
    next_at: datetime | None  # when to ask again; None once it is disconnected


@runtime_checkable
class Telephony(Channel, Protocol):
    """send() originates; the Receipt's outcome is DIALING and its outcome_at when to ask progress()."""

    def progress(self, call_ids: list[str], now: datetime) -> dict[str, CallState]:
        """How each call has gone up to `now`; calls the adapter never placed are left out."""

    def connect_to_agent(self, call_id: str, agent_arn: str, now: datetime) -> bool:
        """Bridges an answered, live call to an agent; False if the call is not in that state."""

    def disconnect(self, call_id: str, now: datetime) -> bool:
        """Hangs up a live call; False if it had already ended."""


class SimulatedTelephony:
    """A carrier whose calls take a course drawn from the seed: the same number, attempt and seed
    always give the same call. What answers comes from channels/simulated.py's telephony outcomes;
    how long the phone rings and the call lasts is drawn alongside. A call rings from two seconds
    after it is placed; whoever would pick up after its ringTimeout never does (AMD_UNANSWERED);
    with answering machine detection off, an answered call is AMD_DISABLED, whoever answered.

    Its log of calls (table sim_calls) holds each call's whole course, once per call id: a call
    placed twice after a crash is placed once."""

    needs_content = False  # a call carries no message of its own: the campaign's flow speaks

    def __init__(self, db: Database, seed: int = 0, rate: float = 1000.0):
        self.db = db
        self.seed = seed
        self.rate = rate

    def close(self) -> None:
        """Nothing to release: the carrier lives in the database."""

    def send(self, messages: list[Outgoing], now: datetime) -> list[Receipt]:
        courses, refused = [], {}
        for message in messages:
            try:
                courses.append(self._course(message, now))
            except Exception as error:  # noqa: BLE001  # a call that cannot be placed: its own outcome
                refused[message.idempotency_key] = Receipt("FAILED", now,
                                                           f"the call could not be placed: {described(error)}")
        rows = {}
        if courses:
            dialect = postgresql if self.db.engine.dialect.name == "postgresql" else sqlite
            with self.db.transaction() as conn:
                conn.execute(dialect.insert(sim_calls).values(courses).on_conflict_do_nothing())
                # A call placed before keeps its first course.
                rows = {row.call_id: row for row in conn.execute(
                    select(sim_calls).where(sim_calls.c.call_id.in_([c["call_id"] for c in courses])))}
        receipts = []
        for message in messages:
            row = rows.get(message.idempotency_key)
            receipts.append(refused.get(message.idempotency_key) if row is None else
                            Receipt(DIALING, _state(row, row.originated_at).next_at or row.disconnected_at))
        return receipts

    def progress(self, call_ids: list[str], now: datetime) -> dict[str, CallState]:
        with self.db.transaction() as conn:
            rows = conn.execute(select(sim_calls).where(sim_calls.c.call_id.in_(call_ids)))
            return {row.call_id: _state(row, now) for row in rows}

    def connect_to_agent(self, call_id: str, agent_arn: str, now: datetime) -> bool:
        with self.db.transaction() as conn:
            row = _locked(conn, call_id)
            live = (row is not None and row.answered_at is not None and row.answered_at <= now < row.disconnected_at
                    and row.agent_connected_at is None)
            if live:
                # The customer now talks to someone: one to three minutes more.
                talk = timedelta(seconds=60 + int(120 * fraction(self.seed, "agent", call_id)))
                conn.execute(update(sim_calls).where(sim_calls.c.call_id == call_id).values(
                    agent_arn=agent_arn, agent_connected_at=now, disconnected_at=max(row.disconnected_at, now + talk)))
            return live

    def disconnect(self, call_id: str, now: datetime) -> bool:
        with self.db.transaction() as conn:
            row = _locked(conn, call_id)
            if row is None or row.disconnected_at <= now:
                return False
            values: dict = {"disconnected_at": now}
            if row.answered_at is None or row.answered_at > now:  # hung up before anyone answered
                values.update(answered_at=None, agent_arn=None, agent_connected_at=None)
                rang = row.ringing_at is not None and row.ringing_at <= now
                if not rang:
                    values["ringing_at"] = None
                if row.disconnect_reason is None:
                    values["status"] = "AMD_UNANSWERED" if rang else "AMD_NOT_APPLICABLE"
            elif row.agent_connected_at is not None and row.agent_connected_at > now:
                values.update(agent_arn=None, agent_connected_at=None)
            conn.execute(update(sim_calls).where(sim_calls.c.call_id == call_id).values(**values))
            return True

    def _course(self, call: Outgoing, now: datetime) -> dict:
        """The whole course of a call placed `now`."""
        detect_machines = isinstance(call, OutgoingCall) and call.detect_machines
        await_prompt = isinstance(call, OutgoingCall) and call.await_prompt
        ring_timeout = timedelta(seconds=call.ring_timeout if isinstance(call, OutgoingCall) else DEFAULT_RING_TIMEOUT)
        drawn = outcome_for(self.seed, "telephony", call.endpoint, call.attempt)

        def seconds(what: str, low: int, high: int) -> timedelta:
            draw = fraction(self.seed, what, call.endpoint, call.attempt)
            return timedelta(seconds=low + int((high - low + 1) * draw))

        row = {"call_id": call.idempotency_key, "endpoint": call.endpoint, "status": None, "disconnect_reason": None,
               "originated_at": now, "ringing_at": None, "answered_at": None, "agent_arn": None,
               "agent_connected_at": None}
        if drawn in DIAL_FAILURES:  # the dial attempt itself failed: no media at all
            return {**row, "disconnect_reason": drawn, "disconnected_at": now + timedelta(seconds=1)}
        if drawn == "AMD_NOT_APPLICABLE":  # dropped before it rang
            return {**row, "status": drawn, "disconnected_at": now + timedelta(seconds=2)}
        if drawn.startswith("SIT_TONE"):  # the network answers with a special information tone
            return {**row, "status": drawn, "disconnected_at": now + seconds("tone", 3, 6)}
        ringing = now + timedelta(seconds=2)
        pickup = seconds("pickup", 3, 28)
        if drawn == "AMD_UNANSWERED" or pickup >= ring_timeout:
            return {**row, "status": "AMD_UNANSWERED", "ringing_at": ringing, "disconnected_at": ringing + ring_timeout}
        answered = ringing + pickup
        if drawn == "FAX_MACHINE_DETECTED":
            talk = seconds("fax", 2, 4)
        elif drawn == "HUMAN_ANSWERED":
            talk = seconds("talk", 20, 60)  # the flow's message, and whatever the person does
        elif drawn.startswith("VOICEMAIL"):
            talk = seconds("message", 20, 30)
            if drawn == "VOICEMAIL_BEEP" and detect_machines and await_prompt:
                talk += seconds("greeting", 5, 15)  # the message starts after the greeting's beep
        else:
            talk = seconds("talk", 15, 40)
        return {**row, "status": drawn if detect_machines else "AMD_DISABLED", "ringing_at": ringing,
                "answered_at": answered, "disconnected_at": answered + talk}


def _locked(conn, call_id: str):
    return conn.execute(select(sim_calls).where(sim_calls.c.call_id == call_id).with_for_update()).first()


def _state(row, now: datetime) -> CallState:
    """A logged call as its adapter reports it at `now`."""
    stages = [CallProgress(RINGING, row.ringing_at)] if row.ringing_at else []
    if row.answered_at:
        stages.append(CallProgress(ANSWERED, row.answered_at, amd_status=row.status))
    if row.agent_connected_at:
        stages.append(CallProgress(CONNECTED_TO_AGENT, row.agent_connected_at, amd_status=row.status,
                                   agent_arn=row.agent_arn))
    stages.append(CallProgress(DISCONNECTED, row.disconnected_at, amd_status=row.status,
                               disconnect_reason=row.disconnect_reason))
    reached = tuple(stage for stage in stages if stage.at <= now)
    upcoming = [stage.at for stage in stages if stage.at > now]
    return CallState(reached, min(upcoming) if upcoming else None)
