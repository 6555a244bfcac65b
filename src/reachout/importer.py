"""Bulk import of profile objects from CSV or JSONL, through the same ingestion path as
PutProfileObject.

Rows are committed in chunks for speed, each row inside a savepoint of its own: a bad row is rolled
back alone, written to the rejects file with its reason, and the import goes on.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reachout.clock import Clock
from reachout.domain.errors import DomainError
from reachout.store.db import Database
from reachout.store.profile_domains import get_domain, get_object_type
from reachout.store.profile_objects import ingest

CHUNK = 500  # rows per transaction: large enough to amortise commits, small enough to lose little
MAX_REASONS = 20  # distinct reasons counted in the summary; every rejected row is in the rejects file


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0  # rows that created a profile
    updated: int = 0  # rows that found their profile and updated it
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


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
    with rejects.open("w", encoding="utf-8") as rejected:
        while chunk := [row for _, row in zip(range(CHUNK), rows)]:
            with db.transaction() as conn:
                for line, text, original in chunk:
                    summary.rows += 1
                    savepoint = conn.begin_nested()
                    try:
                        result = ingest(conn, domain, object_type, text, clock.now())
                    except DomainError as error:
                        savepoint.rollback()
                        summary.rejected += 1
                        if error.message in summary.reasons or len(summary.reasons) < MAX_REASONS:
                            summary.reasons[error.message] = summary.reasons.get(error.message, 0) + 1
                        rejected.write(json.dumps({"line": line, "reason": error.message, "row": original}) + "\n")
                        continue
                    savepoint.commit()
                    if result.created_profile:
                        summary.created += 1
                    else:
                        summary.updated += 1
            progress(len(chunk))
    return summary
