"""Bulk import of profile objects from CSV or JSONL, through the same ingestion path as
PutProfileObject.

Rows go in chunks, one transaction each, through `ingest_many`: a chunk is decided in memory over a
few queries and written in a few bulk statements, exactly as if its rows had been put one by one. A
bad row is refused alone (nothing of it is written), goes to the rejects file with its reason, and the
import goes on. Should the database itself refuse a chunk's writes, that chunk is done again row by
row, each row in a savepoint of its own, so that only the offending row is set aside.
"""
from __future__ import annotations

import csv
import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.exc import DataError, IntegrityError

from reachout.clock import Clock
from reachout.domain.errors import DomainError
from reachout.engine.event_triggers import Ingested, on_ingested
from reachout.store.db import Database
from reachout.store.profile_domains import Domain, get_domain, get_object_type
from reachout.store.profile_objects import (IngestResult, ingest, ingest_many, prepare_bulk_ingestion,
                                           StatisticsFollower)

# Rows per transaction. Each commit writes every index page the chunk touched, and the keys of new
# profiles (emails, phone numbers) land all over their indexes: bigger chunks share those pages among
# more rows (300,000 new profiles on SQLite: 10 GB written in chunks of 5,000, 4 GB in chunks of
# 20,000). A chunk is held in memory (some 100 MB), and an interrupted import loses at most one: run
# it again, objects with a unique key are replaced, not duplicated.
CHUNK = 20_000
MAX_REASONS = 20  # distinct reasons counted in the summary; every rejected row is in the rejects file


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0  # rows that created a profile
    updated: int = 0  # rows that found their profile and updated it
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    redone_chunks: int = 0  # chunks whose writes the database refused, done again row by row


def rows_of(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line number, the row as JSON object text, the row as it appears in the file)."""
    with path.open(newline="", encoding="utf-8") as source:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(source)
            for row in reader:
                # Empty cells are absent values, not empty strings (which would clear fields).
                present = {k: v for k, v in row.items() if k is not None and v not in ("", None)}
                yield reader.line_num, json.dumps(present), ",".join(v or "" for v in row.values())
        else:
            for number, line in enumerate(source, 1):
                if line.strip():
                    yield number, line.strip(), line.rstrip("\n")


def import_objects(db: Database, clock: Clock, region: str, domain_name: str, object_type: str, path: Path,
                   rejects: Path, progress: Callable[[int], None] = lambda n: None) -> ImportSummary:
    summary = ImportSummary()
    with db.transaction() as conn:
        domain = get_domain(conn, region, domain_name)
        if domain is None:
            raise DomainError(f"Domain {domain_name} not found in {region}")
        if get_object_type(conn, domain.id, object_type) is None:
            raise DomainError(f"Object type {object_type} not found in domain {domain_name}")
    rows = rows_of(path)
    statistics = StatisticsFollower(first=CHUNK)
    with rejects.open("w", encoding="utf-8") as rejected, _rare_garbage_collection():
        while chunk := [row for _, row in zip(range(CHUNK), rows)]:
            with db.transaction() as conn:
                prepare_bulk_ingestion(conn)
                now = clock.now()
                results, redone = ingest_chunk(conn, domain, object_type, [text for _, text, _ in chunk], now)
            summary.redone_chunks += redone
            statistics.ingested(db, len(chunk))  # after chunks 1, 2, 4, 8, ...: whenever the import has doubled
            for (line, _, original), result in zip(chunk, results):
                summary.rows += 1
                if isinstance(result, DomainError):
                    summary.rejected += 1
                    if result.message in summary.reasons or len(summary.reasons) < MAX_REASONS:
                        summary.reasons[result.message] = summary.reasons.get(result.message, 0) + 1
                    rejected.write(json.dumps({"line": line, "reason": result.message, "row": original}) + "\n")
                elif result.created_profile:
                    summary.created += 1
                else:
                    summary.updated += 1
            progress(len(chunk))
    return summary


@contextmanager
def _rare_garbage_collection():
    """Python's cycle collector runs after every few hundred new containers, and its fuller passes walk
    every container alive: a chunk keeps hundreds of thousands (rows, readings, profiles), none of them
    in a cycle, which reference counting frees as usual. During an import it runs a hundred times less
    often (a tenth of the import's time otherwise)."""
    threshold = gc.get_threshold()
    gc.set_threshold(100_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def ingest_chunk(conn: Connection, domain: Domain, object_type: str, texts: list[str], now: datetime
                 ) -> tuple[list[IngestResult | DomainError], bool]:
    """PutProfileObject's path for many objects (the importer's chunks, `reachout ingest`'s batches): the
    chunk ingested in one go, then the domain's event triggers evaluate its objects, all in the caller's
    transaction. If the database refuses the chunk's writes (a value it cannot store, a key written
    meanwhile by a request that does not wait for the import), row by row instead (True)."""
    results, redone = _ingest_rows(conn, domain, object_type, texts, now)
    on_ingested(conn, domain, object_type, [Ingested(result.profile_id, result.unique_key, text)
                                            for text, result in zip(texts, results)
                                            if not isinstance(result, DomainError)], now)
    return results, redone


def _ingest_rows(conn: Connection, domain: Domain, object_type: str, texts: list[str], now: datetime
                 ) -> tuple[list[IngestResult | DomainError], bool]:
    savepoint = conn.begin_nested()
    try:
        results = ingest_many(conn, domain, object_type, texts, now)
    except (DataError, IntegrityError):
        savepoint.rollback()
    else:
        savepoint.commit()
        return results, False
    results = []
    for text in texts:
        savepoint = conn.begin_nested()
        try:
            results.append(ingest(conn, domain, object_type, text, now))
        except DomainError as error:
            savepoint.rollback()
            results.append(error)
        except (DataError, IntegrityError) as error:
            savepoint.rollback()
            results.append(DomainError(f"The database refused the row: {str(error.orig).strip()}"))
        else:
            savepoint.commit()
    return results, True
