"""Customer Profiles domains and their object types."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from reachout.store.tables import (event_trigger_evaluations, event_trigger_invocations, event_triggers,
                                   object_types, profile_attributes, profile_domains, profile_integrations,
                                   profile_keys, profile_objects, profiles, segment_definitions,
                                   segment_estimates, segment_snapshots)


@dataclass
class Domain:
    id: int
    region: str
    name: str
    arn: str
    config: dict
    created_at: datetime
    updated_at: datetime


def create_domain(conn: Connection, region: str, name: str, arn: str, config: dict, now: datetime) -> Domain:
    result = conn.execute(insert(profile_domains).values(region=region, name=name, arn=arn, config=config,
                                                         created_at=now, updated_at=now))
    return Domain(result.inserted_primary_key[0], region, name, arn, config, now, now)


def get_domain(conn: Connection, region: str, name: str, *, for_update: bool = False) -> Domain | None:
    row = conn.execute(_DOMAIN_FOR_UPDATE if for_update else _DOMAIN, {"region": region, "name": name}).first()
    return Domain(**row._asdict()) if row else None


# Built once: every Customer Profiles call looks its domain up.
_DOMAIN = select(profile_domains).where(profile_domains.c.region == bindparam("region"),
                                        profile_domains.c.name == bindparam("name"))
_DOMAIN_FOR_UPDATE = _DOMAIN.with_for_update()


def find_domain_by_arn(conn: Connection, arn: str) -> Domain | None:
    row = conn.execute(select(profile_domains).where(profile_domains.c.arn == arn)).first()
    return Domain(**row._asdict()) if row else None


def update_domain(conn: Connection, domain: Domain, config: dict, now: datetime) -> None:
    conn.execute(update(profile_domains).where(profile_domains.c.id == domain.id)
                 .values(config=config, updated_at=now))


def list_domains(conn: Connection, region: str, after: tuple[datetime, str] | None, limit: int) -> list[Domain]:
    query = select(profile_domains).where(profile_domains.c.region == region)
    if after is not None:
        query = query.where(profile_domains.c.name > after[1])
    rows = conn.execute(query.order_by(profile_domains.c.name).limit(limit))
    return [Domain(**row._asdict()) for row in rows]


def stats(conn: Connection, domain: Domain) -> dict:
    """GetDomain's Stats: what the domain holds."""
    def count(table) -> int:
        return conn.execute(select(func.count()).select_from(table).where(table.c.domain_id == domain.id)).scalar_one()

    profile_count = count(profiles)
    return {"ProfileCount": profile_count, "MeteringProfileCount": profile_count,
            "ObjectCount": count(profile_objects), "TotalSize": 0}


def segment_exists(conn: Connection, domain_id: int, name: str) -> bool:
    query = select(segment_definitions.c.name).where(segment_definitions.c.domain_id == domain_id,
                                                    segment_definitions.c.name == name)
    return conn.execute(query).first() is not None


def delete_domain(conn: Connection, domain: Domain) -> None:
    """The domain and everything in it."""
    for table in (profile_attributes, profile_keys, profile_objects, profiles, object_types, segment_definitions,
                  segment_estimates, segment_snapshots, event_triggers, profile_integrations,
                  event_trigger_invocations, event_trigger_evaluations):
        conn.execute(delete(table).where(table.c.domain_id == domain.id))
    conn.execute(delete(profile_domains).where(profile_domains.c.id == domain.id))


# --- object types -------------------------------------------------------------------------------
def put_object_type(conn: Connection, domain_id: int, name: str, definition: dict, now: datetime) -> datetime:
    """Creates or replaces the object type; returns its creation time."""
    key = (object_types.c.domain_id == domain_id, object_types.c.name == name)
    created = conn.execute(select(object_types.c.created_at).where(*key)).scalar()
    if created is None:
        conn.execute(insert(object_types).values(domain_id=domain_id, name=name, definition=definition,
                                                 created_at=now, updated_at=now))
        return now
    conn.execute(update(object_types).where(*key).values(definition=definition, updated_at=now))
    return created


def get_object_type(conn: Connection, domain_id: int, name: str):
    """(definition, created_at, updated_at), or None."""
    row = conn.execute(_OBJECT_TYPE, {"domain_id": domain_id, "name": name}).first()
    return (row.definition, row.created_at, row.updated_at) if row else None


_OBJECT_TYPE = select(object_types).where(object_types.c.domain_id == bindparam("domain_id"),
                                          object_types.c.name == bindparam("name"))


def list_object_types(conn: Connection, domain_id: int, after: str | None, limit: int):
    query = select(object_types).where(object_types.c.domain_id == domain_id)
    if after is not None:
        query = query.where(object_types.c.name > after)
    rows = conn.execute(query.order_by(object_types.c.name).limit(limit))
    return [(row.name, row.definition, row.created_at, row.updated_at) for row in rows]


def delete_object_type(conn: Connection, domain_id: int, name: str) -> bool:
    """The object type and the objects ingested through it."""
    conn.execute(delete(profile_objects).where(profile_objects.c.domain_id == domain_id,
                                               profile_objects.c.object_type == name))
    result = conn.execute(delete(object_types).where(object_types.c.domain_id == domain_id,
                                                     object_types.c.name == name))
    return result.rowcount > 0
