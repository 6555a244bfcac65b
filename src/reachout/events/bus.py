"""The default event bus: outbox events fanned out to the targets of the rules they match, then
delivered at least once, in order per contact, with retries and a dead-letter record.

The engine drives it (fan_out and deliver take `now`), so on a virtual clock retries and backoff
happen in campaign time, and a target that was down receives everything once it is back.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from reachout.events.pattern import PatternIndex
from reachout.events.targets import DeliveryFailed, deliver, transform
from reachout.store import event_rules, outbox
from reachout.store.db import Database

log = logging.getLogger("reachout.events")
DEFAULT_RETRIES = 185  # EventBridge's defaults: 185 retries within 24 hours
DEFAULT_MAX_AGE = timedelta(hours=24)
MAX_BACKOFF = timedelta(minutes=5)


class EventBus:
    def __init__(self, db: Database, data_dir: Path, redis_url: str, *, batch: int = 500):
        self.db = db
        self.data_dir = data_dir
        self.redis_url = redis_url
        self.batch = batch
        self._version = -1
        self._index = PatternIndex()
        self._targets: dict[str, list[dict]] = {}  # rule ARN -> its targets (specs)

    def _refresh(self, conn) -> None:
        version = event_rules.rules_version(conn)
        if version == self._version:
            return
        index, targets = PatternIndex(), {}
        rows = event_rules.all_rules_and_targets(conn)
        for row in rows:
            if row["kind"] == "rule" and row["spec"].get("State", "ENABLED") == "ENABLED" and row["spec"].get("EventPattern"):
                index.add(row["arn"], row["spec"]["EventPattern"])
        for row in rows:
            if row["kind"] == "target":
                targets.setdefault(row["spec"]["RuleArn"], []).append(row["spec"])
        self._index, self._targets, self._version = index, targets, version

    def fan_out(self, now: datetime) -> int:
        with self.db.transaction() as conn:
            self._refresh(conn)
            if not any(self._targets.values()):  # no rule has a target: nothing to match the events against
                return outbox.pass_unfanned(conn)
            rows = outbox.claim_unfanned(conn, self.batch)
            deliveries = []
            for row in rows:
                for rule_arn in sorted(self._index.matching(row.event)):
                    for target in self._targets.get(rule_arn, []):
                        deliveries.append({"target": f"{rule_arn}|{target['Id']}", "seq": row.seq, "key": row.key,
                                           "due_at": now})
            outbox.add_deliveries(conn, deliveries)
        return len(rows)

    def deliver(self, now: datetime) -> int:
        with self.db.transaction() as conn:
            self._refresh(conn)
            claimed = outbox.claim_deliveries(conn, now, self.batch)
            outbox.lease(conn, [d.id for d in claimed], now + timedelta(minutes=1))
            specs = {f"{t['RuleArn']}|{t['Id']}": t for targets in self._targets.values() for t in targets}
            lookups = {}
            for target in specs.values():
                destination = event_rules.get_by_arn(conn, target["Arn"])
                connection = event_rules.get_by_arn(conn, destination["spec"]["ConnectionArn"]) if destination else None
                lookups[target["Arn"]] = (destination and destination["spec"], connection and connection["spec"])
        # Only the first pending event of each (target, contact) is claimed: order per contact holds.
        for delivery in claimed:
            self._attempt(delivery, specs.get(delivery.target), lookups, now)
        return len(claimed)

    def _attempt(self, delivery, target: dict | None, lookups, now: datetime) -> None:
        try:
            if target is None:
                raise DeliveryFailed("the rule target was removed", retryable=False)
            destination, connection = lookups.get(target["Arn"], (None, None))
            deliver(target, transform(target, delivery.event), api_destination=destination, connection=connection,
                    data_dir=self.data_dir, redis_url=self.redis_url)
        except DeliveryFailed as failure:
            self._retry_or_bury(delivery, target or {}, str(failure), failure.retryable, now)
            return
        except Exception as error:
            # Whatever else one delivery raises is its own failure, retried per its RetryPolicy: it
            # must not end the pass, starve the other targets, nor fail a clock advance.
            if delivery.attempts == 0:  # the trace once: its retries would only repeat it
                log.warning("event %s to %s failed unexpectedly", delivery.seq, delivery.target, exc_info=True)
            self._retry_or_bury(delivery, target or {}, f"{type(error).__name__}: {error}", True, now)
            return
        self._settle(delivery.id, status=outbox.DELIVERED, attempts=delivery.attempts + 1)

    def _retry_or_bury(self, delivery, target: dict, error: str, retryable: bool, now: datetime) -> None:
        policy = target.get("RetryPolicy") or {}
        retries = policy.get("MaximumRetryAttempts", DEFAULT_RETRIES)
        max_age = timedelta(seconds=policy["MaximumEventAgeInSeconds"]) if "MaximumEventAgeInSeconds" in policy \
            else DEFAULT_MAX_AGE
        attempts = delivery.attempts + 1
        created = _event_time(delivery.event) or now
        if not retryable or attempts > retries or now - created >= max_age:
            # The dead-letter record: the delivery stays, marked dead, with why; later events for
            # the same contact may now go.
            log.warning("event %s to %s dead-lettered: %s", delivery.seq, delivery.target, error)
            self._settle(delivery.id, status=outbox.DEAD, attempts=attempts, last_error=error)
            return
        backoff = min(timedelta(seconds=2 ** min(attempts - 1, 20)), MAX_BACKOFF)
        self._settle(delivery.id, attempts=attempts, last_error=error, due_at=now + backoff)

    def _settle(self, delivery_id: int, **values) -> None:
        with self.db.transaction() as conn:
            outbox.settle(conn, delivery_id, **values)


def _event_time(event: dict) -> datetime | None:
    try:
        return datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    except (KeyError, ValueError, AttributeError):
        return None
