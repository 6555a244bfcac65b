"""EventBridge resources on the default bus (rules, targets, connections, API destinations), stored
by ARN; and a version counter that tells the bus when to rebuild its compiled rule index."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from reachout.store.sequences import next_value
from reachout.store.tables import event_resources, sequences

RULES_VERSION = "event_rules_version"


def put(conn: Connection, arn: str, region: str, kind: str, name: str, spec: dict, now: datetime) -> bool:
    """Creates or replaces; True if it was new."""
    replaced = conn.execute(update(event_resources).where(event_resources.c.arn == arn).values(spec=spec)).rowcount
    if not replaced:
        conn.execute(insert(event_resources).values(arn=arn, region=region, kind=kind, name=name, spec=spec,
                                                    created_at=now))
    if kind in ("rule", "target"):
        next_value(conn, RULES_VERSION)
    return not replaced


def get(conn: Connection, region: str, kind: str, name: str) -> dict | None:
    row = conn.execute(select(event_resources).where(event_resources.c.region == region,
                                                     event_resources.c.kind == kind,
                                                     event_resources.c.name == name)).first()
    return row._asdict() if row else None


def get_by_arn(conn: Connection, arn: str) -> dict | None:
    row = conn.execute(select(event_resources).where(event_resources.c.arn == arn)).first()
    return row._asdict() if row else None


def listing(conn: Connection, region: str, kind: str, prefix: str = "", after: str | None = None,
            limit: int | None = None) -> list[dict]:
    query = select(event_resources).where(event_resources.c.region == region, event_resources.c.kind == kind)
    if prefix:
        query = query.where(event_resources.c.name.startswith(prefix, autoescape=True))
    if after is not None:
        query = query.where(event_resources.c.name > after)
    query = query.order_by(event_resources.c.name)
    if limit is not None:
        query = query.limit(limit)
    return [row._asdict() for row in conn.execute(query)]


def remove(conn: Connection, arn: str) -> bool:
    row = get_by_arn(conn, arn)
    if row is None:
        return False
    conn.execute(delete(event_resources).where(event_resources.c.arn == arn))
    if row["kind"] in ("rule", "target"):
        next_value(conn, RULES_VERSION)
    return True


def all_rules_and_targets(conn: Connection) -> list[dict]:
    rows = conn.execute(select(event_resources).where(event_resources.c.kind.in_(["rule", "target"])))
    return [row._asdict() for row in rows]


def rules_version(conn: Connection) -> int:
    return conn.execute(select(sequences.c.value).where(sequences.c.name == RULES_VERSION)).scalar() or 0

