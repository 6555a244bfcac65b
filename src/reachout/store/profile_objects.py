"""Profile objects <-> rows, and ingestion: the one path by which an object reaches a profile, used by
PutProfileObject and by the bulk importer alike. Also the profile search behind SearchProfiles.

Ingestion is built for volume: every lookup is a primary-key (prefix) probe — profile_keys by
(domain, key name, value), profile_objects by (domain, type, unique key) — and a profile is only
rewritten when the object changes it.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, intersect, select, union, update

from reachout.domain import ingestion
from reachout.domain.errors import NotFound
from reachout.domain.profile import apply_update, new_profile
from reachout.store import profiles as profile_store
from reachout.store.profile_domains import Domain
from reachout.store.tables import object_types, profile_domains, profile_keys, profile_objects, profiles


@dataclass(frozen=True)
class IngestResult:
    profile_id: str
    unique_key: str
    created_profile: bool


# The statements ingestion runs for every object, built once: the importer pushes millions of rows
# through them, and building a statement costs more than running a primary-key probe.
_OBJECT_TYPE = select(object_types.c.definition).where(object_types.c.domain_id == bindparam("domain_id"),
                                                       object_types.c.name == bindparam("name"))
_OBJECT_TYPE_LOCKING_DOMAIN = (_OBJECT_TYPE.join_from(object_types, profile_domains,
                                                      profile_domains.c.id == object_types.c.domain_id)
                               .with_for_update(of=profile_domains))
_OBJECT_OWNER = select(profile_objects.c.profile_id).where(
    profile_objects.c.domain_id == bindparam("domain_id"), profile_objects.c.object_type == bindparam("object_type"),
    profile_objects.c.unique_key == bindparam("unique_key"))
# (Bound names differ from the columns it sets: SQLAlchemy reserves those for the SET clause.)
_REPLACE_OBJECT = update(profile_objects).where(profile_objects.c.domain_id == bindparam("b_domain_id"),
                                                profile_objects.c.object_type == bindparam("b_object_type"),
                                                profile_objects.c.unique_key == bindparam("b_unique_key"))
_PROFILES_BY_KEY = select(profile_keys.c.profile_id).where(
    profile_keys.c.domain_id == bindparam("domain_id"), profile_keys.c.key_name == bindparam("key_name"),
    profile_keys.c.value == bindparam("value")).limit(2)
_PROFILE_BY_ID = select(profiles.c.id).where(profiles.c.domain_id == bindparam("domain_id"),
                                             profiles.c.id == bindparam("value"))
_KEY_HELD = _PROFILES_BY_KEY.where(profile_keys.c.profile_id == bindparam("profile_id"))


def load_object_type(conn: Connection, domain: Domain, name: str, *, for_ingestion: bool = False
                     ) -> ingestion.ObjectType:
    """The compiled object type. For ingestion, the domain's row is locked with it (in the same statement):
    ingestion within a domain is then serialised on PostgreSQL, as SQLite's BEGIN IMMEDIATE serialises
    every writer, so two objects bearing the same new key cannot both create a profile, nor both insert
    the same unique key."""
    query = _OBJECT_TYPE_LOCKING_DOMAIN if for_ingestion else _OBJECT_TYPE
    definition = conn.execute(query, {"domain_id": domain.id, "name": name}).scalar()
    if definition is None:
        raise NotFound(f"Object type {name} not found in domain {domain.name}")
    return ingestion.compile_object_type(name, definition)


def ingest(conn: Connection, domain: Domain, object_type_name: str, object_text: str, now: datetime) -> IngestResult:
    """Ingests one object (JSON text) of the named object type; DomainError with the reason when the
    object cannot be ingested (nothing is written then)."""
    object_type = load_object_type(conn, domain, object_type_name, for_ingestion=True)
    return _ingest(conn, domain, object_type, object_text, now)


def _ingest(conn: Connection, domain: Domain, object_type: ingestion.ObjectType, object_text: str,
           now: datetime) -> IngestResult:
    reading = ingestion.read_object(object_type, object_text)
    earlier = None
    if reading.unique_key is not None:
        earlier = conn.execute(_OBJECT_OWNER, {"domain_id": domain.id, "object_type": object_type.name,
                                               "unique_key": reading.unique_key}).scalar()
    profile_id = ingestion.find_profile(object_type, reading,
                                        lambda name, value: _profiles_with(conn, domain.id, name, value))
    # An object re-ingested under the same unique key stays with its profile unless its keys say otherwise.
    profile_id = profile_id or earlier
    created = profile_id is None
    if created:
        if not object_type.allow_profile_creation:
            raise ingestion.no_profile_found(object_type, reading)
        profile = new_profile(uuid.uuid4().hex, reading.profile_changes)
        profile_id = profile["ProfileId"]
        profile_store.save_profile(conn, domain.id, profile, now, new=True)
        profile_store.insert_many(conn, profile_keys, [
            {"domain_id": domain.id, "key_name": name, "value": value, "profile_id": profile_id}
            for name, value in ingestion.keys_to_store(reading, created_profile=True)])
    else:
        if reading.profile_changes:
            profile = profile_store.get_profile(conn, domain.id, profile_id)
            updated = apply_update(profile, reading.profile_changes)
            if updated != profile:
                profile_store.save_profile(conn, domain.id, updated, now, new=False)
        _add_keys(conn, domain.id, profile_id, ingestion.keys_to_store(reading, created_profile=False))
    unique_key = reading.unique_key or uuid.uuid4().hex
    row = {"profile_id": profile_id, "object": object_text, "created_at": now}
    if earlier is None:
        conn.execute(insert(profile_objects), {"domain_id": domain.id, "object_type": object_type.name,
                                               "unique_key": unique_key, **row})
    else:
        # Same unique key: the new object replaces the old one wholesale.
        conn.execute(_REPLACE_OBJECT, {"b_domain_id": domain.id, "b_object_type": object_type.name,
                                       "b_unique_key": unique_key, **row})
    return IngestResult(profile_id, unique_key, created)


def _add_keys(conn: Connection, domain_id: int, profile_id: str, keys: set[tuple[str, str]]) -> None:
    """Adds the keys the profile lacks, probing each by its full primary key (an object has few keys,
    a profile may have many)."""
    for name, value in keys:
        row = {"domain_id": domain_id, "key_name": name, "value": value, "profile_id": profile_id}
        if conn.execute(_KEY_HELD, row).first() is None:
            conn.execute(insert(profile_keys), row)


def _profiles_with(conn: Connection, domain_id: int, key_name: str, value: str) -> list[str]:
    """Up to two profiles having this key value (two is enough to know it is ambiguous)."""
    query = _PROFILE_BY_ID if key_name == ingestion.PROFILE_ID_KEY else _PROFILES_BY_KEY
    return list(conn.execute(query, {"domain_id": domain_id, "key_name": key_name, "value": value}).scalars())


def _object_key(domain_id: int, object_type: str, unique_key: str):
    return (profile_objects.c.domain_id == domain_id, profile_objects.c.object_type == object_type,
            profile_objects.c.unique_key == unique_key)


# --- objects --------------------------------------------------------------------------------------
def list_objects(conn: Connection, object_type: str, profile_id: str, after: str | None, limit: int | None,
                 unique_keys: list[str] | None = None) -> list:
    """The profile's objects of one type, by unique key: rows of (unique_key, object, created_at).
    Found by profile id alone (ids are unique across domains), so the profile's own index serves."""
    query = select(profile_objects.c.unique_key, profile_objects.c.object, profile_objects.c.created_at).where(
        profile_objects.c.profile_id == profile_id, profile_objects.c.object_type == object_type)
    if unique_keys is not None:
        query = query.where(profile_objects.c.unique_key.in_(unique_keys))
    if after is not None:
        query = query.where(profile_objects.c.unique_key > after)
    query = query.order_by(profile_objects.c.unique_key)
    return list(conn.execute(query if limit is None else query.limit(limit)))


def delete_object(conn: Connection, domain_id: int, object_type: str, profile_id: str, unique_key: str) -> bool:
    result = conn.execute(delete(profile_objects).where(*_object_key(domain_id, object_type, unique_key),
                                                        profile_objects.c.profile_id == profile_id))
    return result.rowcount > 0


# --- search ---------------------------------------------------------------------------------------
def search_profiles(conn: Connection, domain_id: int, conditions: list[tuple[str, list[str]]], match_all: bool,
                    after: str | None, limit: int) -> list[str]:
    """Ids of the profiles answering to all (match_all) or any of the (key name, values) conditions,
    in id order, after `after`. Driven by the key index, never by a walk through the domain's profiles."""
    branches = []
    for name, values in conditions:
        if name == ingestion.PROFILE_ID_KEY:
            column = profiles.c.id
            branch = select(column.label("id")).where(profiles.c.domain_id == domain_id, column.in_(values))
        else:
            column = profile_keys.c.profile_id
            branch = select(column.label("id")).where(profile_keys.c.domain_id == domain_id,
                                                     profile_keys.c.key_name == name, profile_keys.c.value.in_(values))
        branches.append(branch if after is None else branch.where(column > after))
    if len(branches) == 1:
        found = branches[0].distinct().subquery()
    else:
        found = (intersect(*branches) if match_all else union(*branches)).subquery()
    return list(conn.execute(select(found.c.id).order_by(found.c.id).limit(limit)).scalars())


def found_by(conn: Connection, domain_id: int, profile_ids: list[str],
             conditions: list[tuple[str, list[str]]]) -> dict[str, list[dict]]:
    """For each profile, the search keys (with the values) it was found by, in the order asked."""
    held: set[tuple[str, str, str]] = set()  # (profile id, key name, value)
    for name, values in conditions:
        if name == ingestion.PROFILE_ID_KEY:
            held |= {(profile_id, name, profile_id) for profile_id in profile_ids}
        elif profile_ids:
            # One probe per condition along the whole primary key: never a scan of a key's every value.
            held |= set(conn.execute(select(profile_keys.c.profile_id, profile_keys.c.key_name, profile_keys.c.value)
                                     .where(profile_keys.c.domain_id == domain_id, profile_keys.c.key_name == name,
                                            profile_keys.c.value.in_(values),
                                            profile_keys.c.profile_id.in_(profile_ids))).all())
    return {profile_id: [{"KeyName": name, "Values": matched} for name, values in conditions
                         if (matched := [value for value in values if (profile_id, name, value) in held])]
            for profile_id in profile_ids}


def key_in_use(conn: Connection, domain_id: int, key_name: str) -> bool:
    query = select(profile_keys.c.key_name).where(profile_keys.c.domain_id == domain_id,
                                                  profile_keys.c.key_name == key_name).limit(1)
    return conn.execute(query).first() is not None


def profile_exists(conn: Connection, domain_id: int, profile_id: str) -> bool:
    query = select(profiles.c.id).where(profiles.c.domain_id == domain_id, profiles.c.id == profile_id)
    return conn.execute(query).first() is not None
