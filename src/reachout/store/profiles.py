"""Profiles <-> rows: the profile row, its typed attribute rows and its search keys, kept in step.

Profile ids are uuid4 hex, unique across domains, so rows belonging to one profile are found by
profile id alone (its own index) rather than through the domain-first primary keys.

Every write of a profile goes through `save_profile`, so the attribute rows that segments query and
the predefined search keys (_phone, _email, ...) can never drift from the profile itself.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from reachout.domain.profile import COLUMNS, PREDEFINED_KEYS, as_instant, as_number, search_keys
from reachout.store.tables import profile_attributes, profile_keys, profile_objects, profiles


def profile_of(row) -> dict:
    """A profiles row as a profile dict (absent fields absent)."""
    profile = {"ProfileId": row.id}
    for name, column in COLUMNS.items():
        value = getattr(row, column)
        if value not in (None, "", {}, []):
            profile[name] = value
    return profile


def save_profile(conn: Connection, domain_id: int, profile: dict, now: datetime, *, new: bool) -> None:
    """Inserts (new=True) or rewrites one profile with its attribute rows and derived search keys."""
    profile_id = profile["ProfileId"]
    values = {column: profile.get(name) for name, column in COLUMNS.items()}
    if new:
        conn.execute(insert(profiles).values(id=profile_id, domain_id=domain_id, created_at=now, updated_at=now,
                                             **values))
    else:
        conn.execute(update(profiles).where(profiles.c.id == profile_id).values(updated_at=now, **values))
        conn.execute(delete(profile_attributes).where(profile_attributes.c.profile_id == profile_id))
        conn.execute(delete(profile_keys).where(profile_keys.c.profile_id == profile_id,
                                                profile_keys.c.key_name.in_(PREDEFINED_KEYS)))
    insert_many(conn, profile_attributes, [
        {"profile_id": profile_id, "key": key, "domain_id": domain_id, "value": value,
         "number": as_number(value), "instant": as_instant(value)}
        for key, value in profile.get("Attributes", {}).items()])
    add_keys(conn, domain_id, profile_id, search_keys(profile))


def insert_many(conn: Connection, table, rows: list[dict]) -> None:
    if rows:
        conn.execute(insert(table), rows)


def get_profile(conn: Connection, domain_id: int, profile_id: str) -> dict | None:
    row = conn.execute(select(profiles).where(profiles.c.domain_id == domain_id, profiles.c.id == profile_id)).first()
    return profile_of(row) if row else None


def get_profiles(conn: Connection, domain_id: int, profile_ids: Iterable[str]) -> dict[str, dict]:
    rows = conn.execute(select(profiles).where(profiles.c.domain_id == domain_id,
                                               profiles.c.id.in_(list(profile_ids))))
    return {row.id: profile_of(row) for row in rows}


def delete_profile(conn: Connection, domain_id: int, profile_id: str) -> bool:
    """Deletes the profile with its attributes, keys and objects; False if there was none."""
    gone = conn.execute(delete(profiles).where(profiles.c.domain_id == domain_id, profiles.c.id == profile_id))
    conn.execute(delete(profile_attributes).where(profile_attributes.c.profile_id == profile_id))
    conn.execute(delete(profile_keys).where(profile_keys.c.profile_id == profile_id))
    conn.execute(delete(profile_objects).where(profile_objects.c.profile_id == profile_id))
    return gone.rowcount > 0


def add_keys(conn: Connection, domain_id: int, profile_id: str, keys: Iterable[tuple[str, str]]) -> None:
    """Adds (key name, value) search keys to a profile; keys it already has are left alone."""
    wanted = set(keys)
    if not wanted:
        return
    existing = {(row.key_name, row.value) for row in conn.execute(select(profile_keys.c.key_name, profile_keys.c.value)
                .where(profile_keys.c.profile_id == profile_id))}
    insert_many(conn, profile_keys, [{"domain_id": domain_id, "key_name": name, "value": value,
                                      "profile_id": profile_id} for name, value in wanted - existing])


def remove_keys(conn: Connection, domain_id: int, profile_id: str, key_name: str, values: list[str]) -> None:
    conn.execute(delete(profile_keys).where(profile_keys.c.profile_id == profile_id,
                                            profile_keys.c.key_name == key_name,
                                            profile_keys.c.value.in_(values)))


def profile_ids_by_key(conn: Connection, domain_id: int, key_name: str, values: Iterable[str]) -> list[str]:
    """Profiles answering to any of these values of one search key, in a stable order."""
    query = (select(profile_keys.c.profile_id).distinct()
             .where(profile_keys.c.domain_id == domain_id, profile_keys.c.key_name == key_name,
                    profile_keys.c.value.in_(list(values)))
             .order_by(profile_keys.c.profile_id))
    return list(conn.execute(query).scalars())


def keys_of(conn: Connection, domain_id: int, profile_id: str) -> dict[str, list[str]]:
    rows = conn.execute(select(profile_keys.c.key_name, profile_keys.c.value).where(
        profile_keys.c.profile_id == profile_id))
    keys: dict[str, list[str]] = {}
    for name, value in rows:
        keys.setdefault(name, []).append(value)
    return keys
