"""A simulated carrier for every channel: deterministic outcomes from a seed, so that tests, demos,
forecasts and benchmarks are repeatable.

It keeps its own log of what it was handed (table sim_sends), one row per idempotency key: a dispatch
handed over twice after a crash is sent once, and the log proves it.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select

from reachout.channels import Outgoing, Receipt, described
from reachout.store.bulk import insert_new
from reachout.store.db import Database
from reachout.store.tables import sim_sends

# outcome -> share, per channel; and how long until the outcome is known
OUTCOMES = {
    "email": ((("DELIVERED", 0.90), ("BOUNCED", 0.07), ("DEFERRED_EXPIRED", 0.03)), timedelta(seconds=5)),
    "sms": ((("SMS_DELIVERED", 0.92), ("SMS_UNDELIVERABLE", 0.05), ("SMS_EXPIRED", 0.03)), timedelta(seconds=10)),
    "whatsApp": ((("SMS_DELIVERED", 0.95), ("SMS_UNDELIVERABLE", 0.05)), timedelta(seconds=10)),
    # What answered, or why nothing did: the AnsweringMachineDetectionStatus codes of seeds/001, and
    # dial attempts whose media connection failed (DisconnectReason). channels/telephony.py plays
    # each out as a call; 45 s is a typical call's length.
    "telephony": ((("HUMAN_ANSWERED", 0.46), ("VOICEMAIL_BEEP", 0.14), ("VOICEMAIL_NO_BEEP", 0.05),
                   ("AMD_UNANSWERED", 0.15), ("SIT_TONE_BUSY", 0.07), ("SIT_TONE_INVALID_NUMBER", 0.04),
                   ("FAX_MACHINE_DETECTED", 0.02), ("AMD_UNRESOLVED", 0.02), ("SIT_TONE_DETECTED", 0.01),
                   ("AMD_ERROR", 0.01), ("AMD_NOT_APPLICABLE", 0.01), ("OUTBOUND_DESTINATION_ENDPOINT_ERROR", 0.01),
                   ("OUTBOUND_ATTEMPT_FAILED", 0.01)), timedelta(seconds=45)),
}


def fraction(seed: int, *parts: object) -> float:
    """A number in [0, 1) that depends only on the seed and the parts."""
    digest = hashlib.sha256("|".join(map(str, (seed, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def outcome_for(seed: int, channel: str, endpoint: str, attempt: int) -> str:
    """The same recipient, channel and attempt always get the same outcome for a given seed."""
    draw = fraction(seed, channel, endpoint, attempt)
    shares, _ = OUTCOMES[channel]
    for outcome, share in shares:
        draw -= share
        if draw < 0:
            return outcome
    return shares[-1][0]


class SimulatedChannel:
    needs_content = False  # outcomes depend on the recipient alone

    def __init__(self, db: Database, channel: str, seed: int = 0, rate: float = 1000.0):
        self.db = db
        self.channel = channel
        self.seed = seed
        self.rate = rate

    def send(self, messages: list[Outgoing], now: datetime) -> list[Receipt]:
        rows, refused = [], {}
        for index, m in enumerate(messages):
            try:
                rows.append({"idempotency_key": m.idempotency_key, "channel": m.channel, "endpoint": m.endpoint,
                             "outcome": outcome_for(self.seed, m.channel, m.endpoint, m.attempt), "sent_at": now})
            except Exception as error:  # noqa: BLE001  # e.g. a channel it has no outcomes for: this message's
                refused[index] = Receipt("REJECTED", now, f"the simulated carrier refused it: {described(error)}")
        if not rows:
            return [refused[index] for index in range(len(messages))]
        with self.db.transaction() as conn:
            insert_new(conn, sim_sends, rows)
            # A key seen before keeps its first send: its time and outcome.
            logged = {row.idempotency_key: row.sent_at for row in conn.execute(
                _LOGGED, {"keys": [r["idempotency_key"] for r in rows]})}
        sent = iter(Receipt(r["outcome"], logged[r["idempotency_key"]] + OUTCOMES[r["channel"]][1]) for r in rows)
        return [refused[index] if index in refused else next(sent) for index in range(len(messages))]

    def close(self) -> None:
        pass  # holds nothing open


_LOGGED = select(sim_sends.c.idempotency_key, sim_sends.c.sent_at).where(
    sim_sends.c.idempotency_key.in_(bindparam("keys", expanding=True)))


def simulated_channels(db: Database, seed: int = 0, rate: float = 1000.0) -> dict[str, SimulatedChannel]:
    return {channel: SimulatedChannel(db, channel, seed, rate) for channel in OUTCOMES}
