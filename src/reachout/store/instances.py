"""Outbound campaigns' record of each Connect instance: onboarding, config, limits, integrations."""
from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reachout.store.sequences import next_value
from reachout.store.tables import campaign_instances, instance_integrations


def lock_instance(conn: Connection, region: str, instance_id: str) -> dict:
    """The instance's row, created if missing and locked until the transaction ends, so that
    per-instance checks (campaign quotas) are never raced."""
    key = {"region": region, "instance_id": instance_id}
    row = conn.execute(_LOCKED, key).first()  # the instance is usually known: one statement
    if row is None:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(campaign_instances)
                     .values(region=region, connect_instance_id=instance_id)
                     .on_conflict_do_nothing())
        row = conn.execute(_LOCKED, key).first()
    return row._asdict()


_INSTANCE = select(campaign_instances).where(campaign_instances.c.region == bindparam("region"),
                                             campaign_instances.c.connect_instance_id == bindparam("instance_id"))
_LOCKED = _INSTANCE.with_for_update()


def get_instance(conn: Connection, region: str, instance_id: str) -> dict | None:
    row = conn.execute(_INSTANCE, {"region": region, "instance_id": instance_id}).first()
    return row._asdict() if row else None


def update_instance(conn: Connection, region: str, instance_id: str, **values) -> None:
    lock_instance(conn, region, instance_id)
    conn.execute(update(campaign_instances).where(*_key(region, instance_id)).values(**values))


def put_integration(conn: Connection, region: str, instance_id: str, identifier: str, summary: dict) -> None:
    """Creates the integration, or replaces its configuration in place (keeping its listing position)."""
    key = _integration_key(region, instance_id, identifier)
    if conn.execute(update(instance_integrations).where(*key).values(summary=summary)).rowcount == 0:
        conn.execute(insert(instance_integrations).values(
            region=region, connect_instance_id=instance_id, identifier=identifier, summary=summary,
            seq=next_value(conn, "instance_integrations")))


def delete_integration(conn: Connection, region: str, instance_id: str, identifier: str) -> bool:
    result = conn.execute(delete(instance_integrations).where(*_integration_key(region, instance_id, identifier)))
    return result.rowcount > 0


def list_integrations(conn: Connection, region: str, instance_id: str, after: int | None,
                      limit: int) -> list[tuple[int, dict]]:
    """(seq, summary) in creation order."""
    t = instance_integrations
    query = select(t.c.seq, t.c.summary).where(t.c.region == region, t.c.connect_instance_id == instance_id)
    if after is not None:
        query = query.where(t.c.seq > after)
    return [(row.seq, row.summary) for row in conn.execute(query.order_by(t.c.seq).limit(limit))]


def _key(region: str, instance_id: str):
    return (campaign_instances.c.region == region, campaign_instances.c.connect_instance_id == instance_id)


def _integration_key(region: str, instance_id: str, identifier: str):
    t = instance_integrations
    return (t.c.region == region, t.c.connect_instance_id == instance_id, t.c.identifier == identifier)
