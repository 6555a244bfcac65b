"""`reachout ingest`: profile objects read from a Redis stream (Reachout's stand-in for a Kinesis stream,
as for rule targets) and put through PutProfileObject's path: mapping -> profile -> the domain's event
triggers -> outbound requests.

An entry holds two fields:
    object      the object as JSON text, exactly what PutProfileObject's Object would be
    objectType  the object type's name (optional when the consumer has --object-type)
e.g. `XADD orders * objectType WebOrder object '{"OrderId": "o-1", "Email": "ann@example.org"}'`.

Entries are read through a consumer group (XREADGROUP), so several consumers share a stream, each entry
going to one of them. A batch of entries is ingested in ONE transaction, which also records each entry
id (store/stream_entries.py, unique per stream and group); only after its commit are the entries
acknowledged (XACK). A consumer that
dies before its commit left nothing: its entries are still pending and are read again when it restarts
(its own) or taken over by another consumer once idle (XAUTOCLAIM). One that dies after its commit but
before the XACK gets its entries again too, finds them recorded, and only acknowledges them: an entry
fires triggers once. An entry that cannot be ingested (not UTF-8, no object, unknown object type, refused
by the mapping) is recorded with the reason and acknowledged, never retried: `reachout ingest ...
--show-rejected` lists them, and each is logged as it happens.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import redis
from sqlalchemy.exc import IntegrityError, OperationalError

from reachout.domain.errors import DomainError
from reachout.engine.shared_clock import EngineClock
from reachout.importer import ingest_chunk
from reachout.store import stream_entries
from reachout.store.db import Database
from reachout.store.profile_domains import get_domain, get_object_type
from reachout.store.profile_objects import StatisticsFollower

OBJECT_FIELD = b"object"
TYPE_FIELD = b"objectType"
log = logging.getLogger("reachout.ingest")
STATISTICS_FIRST = 1_000  # objects ingested before PostgreSQL's statistics are first refreshed, then at each doubling


@dataclass(frozen=True)
class Entry:
    id: str
    object_type: str | None
    text: str | None
    problem: str | None = None  # why it cannot be ingested, known before reading the object


@dataclass
class Handled:
    ingested: int = 0
    rejected: int = 0
    repeated: int = 0  # handled before (by a run that died before acknowledging): only acknowledged now
    ids: list[str] = field(default_factory=list)


class StreamIngest:
    def __init__(self, db: Database, clock: EngineClock, client: redis.Redis, *, stream: str, group: str, consumer: str,
                 region: str, domain: str, object_type: str | None = None, batch: int = 500,
                 claim_idle_ms: int = 30_000):
        self.db, self.clock, self.redis = db, clock, client
        self.stream, self.group, self.consumer = stream, group, consumer
        self.region, self.domain_name, self.object_type = region, domain, object_type
        self.batch, self.claim_idle_ms = batch, claim_idle_ms
        self._own_pending = True  # entries this consumer read before a restart are taken first
        self._next_claim = 0.0
        # As the importer does: a stream filling the tables faster than autovacuum analyses them left
        # the planner believing them empty, and each batch's key lookups filtered the whole domain
        # (PostgreSQL, 15,000 objects: 125 ms for a batch's lookup, 1.6 ms once analysed).
        self._statistics = StatisticsFollower(first=STATISTICS_FIRST)

    def prepare(self) -> None:
        """The consumer group (from the stream's first entry, like a Kinesis TRIM_HORIZON), and the domain."""
        with self.db.read() as conn:
            if get_domain(conn, self.region, self.domain_name) is None:
                raise DomainError(f"Domain {self.domain_name} not found in {self.region}")
        try:
            self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    # --- one step: take, handle, acknowledge ----------------------------------------------------
    def step(self, block_ms: int = 1000) -> Handled:
        handled = self.handle(self.take(block_ms))
        self.ack(handled.ids)
        return handled

    def take(self, block_ms: int = 1000) -> list[tuple[str, dict]]:
        """The next entries: this consumer's own unacknowledged ones first, then those another consumer
        has left idle past claim_idle_ms, then new ones (waiting up to block_ms for them)."""
        if self._own_pending:
            entries = self._read("0", None)
            if entries:
                return entries
            self._own_pending = False
        if time.monotonic() >= self._next_claim:
            self._next_claim = time.monotonic() + self.claim_idle_ms / 2000
            _, claimed, *gone = self.redis.xautoclaim(self.stream, self.group, self.consumer, self.claim_idle_ms,
                                                      "0-0", count=self.batch)
            if gone and gone[0]:  # pending, but trimmed from the stream meanwhile: nothing left to read
                self.redis.xack(self.stream, self.group, *gone[0])
            if claimed:
                self._own_pending = True  # more may be waiting: look again next time
                return [(_text(entry_id), fields) for entry_id, fields in claimed if fields is not None]
        return self._read(">", block_ms)

    def _read(self, after: str, block_ms: int | None) -> list[tuple[str, dict]]:
        answer = self.redis.xreadgroup(self.group, self.consumer, {self.stream: after}, count=self.batch,
                                       block=block_ms)
        entries = answer[0][1] if answer else []
        # A pending entry trimmed from the stream comes back with no fields: nothing to ingest.
        return [(_text(entry_id), fields or {}) for entry_id, fields in entries]

    def handle(self, raw: list[tuple[str, dict]]) -> Handled:
        """Ingests the entries in one transaction, recording each; returns what became of them."""
        handled = Handled(ids=[entry_id for entry_id, _ in raw])
        if not raw:
            return handled
        entries = [self._entry(entry_id, fields) for entry_id, fields in raw]
        with self.db.transaction() as conn:
            now = self.clock.now_in(conn)
            done = stream_entries.recorded(conn, self.stream, self.group, [e.id for e in entries])
            fresh = [e for e in entries if e.id not in done]
            domain = get_domain(conn, self.region, self.domain_name)
            if domain is None:
                outcomes = [{"entry_id": e.id, "object_type": e.object_type,
                             "rejected": f"Domain {self.domain_name} not found in {self.region}"} for e in fresh]
            else:
                outcomes = []
                for object_type, run in _runs(fresh):
                    outcomes += self._ingest_run(conn, domain, object_type, run, now)
            stream_entries.record(conn, self.stream, self.group, domain.id if domain else 0, outcomes, now)
        handled.repeated = len(entries) - len(outcomes)
        for outcome in outcomes:
            if outcome.get("rejected"):
                handled.rejected += 1
                log.warning("stream %s entry %s set aside: %s", self.stream, outcome["entry_id"], outcome["rejected"])
            else:
                handled.ingested += 1
        self._statistics.ingested(self.db, handled.ingested)
        return handled

    def _ingest_run(self, conn, domain, object_type: str | None, run: list[Entry], now) -> list[dict]:
        """Entries of one object type in a row, through the importer's chunk path (PutProfileObject's)."""
        problem = None
        if object_type is not None and get_object_type(conn, domain.id, object_type) is None:
            problem = f"Object type {object_type} not found in domain {domain.name}"
        good = [e for e in run if e.problem is None and problem is None]
        results, _ = ingest_chunk(conn, domain, object_type, [e.text for e in good], now) if good else ([], False)
        by_id = dict(zip((e.id for e in good), results))
        outcomes = []
        for entry in run:
            result = by_id.get(entry.id)
            if result is None or isinstance(result, DomainError):
                reason = entry.problem or problem or result.message
                outcomes.append({"entry_id": entry.id, "object_type": object_type, "rejected": reason})
            else:
                outcomes.append({"entry_id": entry.id, "object_type": object_type, "profile_id": result.profile_id,
                                 "object_key": result.unique_key})
        return outcomes

    def _entry(self, entry_id: str, fields: dict) -> Entry:
        object_type = fields.get(TYPE_FIELD)
        text = fields.get(OBJECT_FIELD)
        try:
            object_type = object_type.decode() if object_type is not None else self.object_type
            text = text.decode() if text is not None else None
        except UnicodeDecodeError as error:
            return Entry(entry_id, None, None, f"The entry is not UTF-8 text: {error}")
        if text is None:
            found = ", ".join(sorted(_text(name) for name in fields)) or "none"
            return Entry(entry_id, object_type, None,
                         f"The entry has no '{OBJECT_FIELD.decode()}' field (the object's JSON text); its fields: "
                         f"{found}")
        if object_type is None:
            return Entry(entry_id, None, text, f"The entry has no '{TYPE_FIELD.decode()}' field and the consumer "
                                               "was started without --object-type")
        return Entry(entry_id, object_type, text)

    def ack(self, ids: list[str]) -> None:
        if ids:
            self.redis.xack(self.stream, self.group, *ids)

    # --- the loop -------------------------------------------------------------------------------
    def run(self, stopping: threading.Event) -> None:
        """Until `stopping` is set; a batch in progress is finished (committed and acknowledged) first."""
        while not stopping.is_set():
            try:
                self.step()
            except IntegrityError:
                # Another consumer recorded some of these entries first (it took them over from this
                # one, or this one from it): nothing of this batch was kept; read again, they are
                # found recorded and only acknowledged.
                log.info("stream %s: entries handled meanwhile by another consumer; reading them again", self.stream)
                self._own_pending = True
            except (redis.ConnectionError, redis.TimeoutError, OperationalError) as error:
                # Nothing was acknowledged: the batch is read again (and recognised if it was committed).
                log.warning("stream %s: %s; trying again in a second", self.stream, error)
                self._own_pending = True
                stopping.wait(1)


def _runs(entries: list[Entry]) -> Iterator[tuple[str | None, list[Entry]]]:
    """Consecutive entries of the same object type: ingested together, in stream order."""
    run: list[Entry] = []
    for entry in entries:
        if run and entry.object_type != run[0].object_type:
            yield run[0].object_type, run
            run = []
        run.append(entry)
    if run:
        yield run[0].object_type, run


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
