"""Profiles <-> rows: the profile row, its typed attribute rows and its search keys, kept in step.

Profile ids are 32 hex digits, unique across domains, so rows belonging to one profile are found by
profile id alone (its own index) rather than through the domain-first primary keys.

Every write of a profile goes through `save_profiles` (`save_profile` for one), so the attribute rows
that segments query and the predefined search keys (_phone, _email, ...) can never drift from the
profile itself.
"""
from __future__ import annotations

import functools
import itertools
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ARRAY, ColumnElement, Connection, Select, any_, bindparam, delete, select, update

from reachout.domain.key_values import key_forms
from reachout.domain.profile import (COLUMNS, PREDEFINED_KEYS, PREDEFINED_KINDS, as_instant, as_number, key_names,
                                     search_keys)
from reachout.domain.reach import reach_class, reach_of
from reachout.store.bulk import insert_many
from reachout.store.tables import profile_attributes, profile_keys, profile_objects, profiles


ALL_FIELDS = tuple(COLUMNS)  # a profile's fields, by their Customer Profiles names
_sequence = itertools.count()


def new_id(now: datetime) -> str:
    """A new id of 32 lowercase hex digits (the model's pattern for profile ids): the millisecond of `now`,
    a per-process sequence number, then 48 random bits. Ids made one after another sort one after
    another, so the rows of profiles created together go to the right-hand edge of every index led by
    the profile id, instead of to random pages all over it (a bulk import writes about half as many
    pages as with uuid4). The random part keeps ids of concurrent processes apart."""
    millisecond = int(now.timestamp() * 1000) & 0xFFFF_FFFF_FFFF
    return f"{millisecond:012x}{next(_sequence) & 0xFFFF_FFFF:08x}{secrets.token_hex(6)}"


def profile_of(row, fields: Iterable[str] = COLUMNS) -> dict:
    """A profiles row as a profile dict (absent fields absent), of the fields read."""
    profile = {"ProfileId": row.id}
    for name in fields:
        value = getattr(row, COLUMNS[name])
        if value not in (None, "", {}, []):
            profile[name] = value
    return profile


@functools.lru_cache(maxsize=64)
def _reading(fields: tuple[str, ...] = ALL_FIELDS) -> Select:
    """A select of these fields of profiles: not their reach (a JSON document of endpoints and zones,
    for planning) nor their bookkeeping, which no reader of a profile wants."""
    return select(profiles.c.id, *(profiles.c[COLUMNS[name]] for name in fields))


def save_profile(conn: Connection, domain_id: int, profile: dict, now: datetime, *, new: bool) -> None:
    """Inserts (new=True) or rewrites one profile with its attribute rows and derived search keys."""
    save_profiles(conn, domain_id, [profile] if new else [], [] if new else [profile], now)


def save_profiles(conn: Connection, domain_id: int, new: list[dict], changed: list[dict], now: datetime) -> None:
    """Inserts the `new` profiles and rewrites the `changed` ones, each with its attribute rows and
    derived search keys, in a handful of statements however many there are (the bulk importer writes
    hundreds at a time). The lists are held in memory: callers pass a chunk, not a whole domain."""
    insert_many(conn, profiles, [profile_row(domain_id, profile, now) for profile in new])
    if changed:
        ids = [profile["ProfileId"] for profile in changed]
        conn.execute(_REWRITE_PROFILE, [{"b_id": profile["ProfileId"], "updated_at": now, **_columns(profile)}
                                        for profile in changed])
        conn.execute(delete(profile_attributes).where(profile_attributes.c.profile_id.in_(ids)))
        conn.execute(delete(profile_keys).where(profile_keys.c.profile_id.in_(ids),
                                                profile_keys.c.key_name.in_(PREDEFINED_KEYS)))
    written = new + changed
    insert_many(conn, profile_attributes, [row for profile in written for row in attribute_rows(domain_id, profile)])
    # A new profile has no keys yet, and a rewritten one has just lost its predefined keys, the only
    # kind search_keys gives: every derived key is missing, none needs a look first.
    insert_many(conn, profile_keys, [row for profile in written for row in predefined_key_rows(domain_id, profile)])


# (The bound name differs from the column: SQLAlchemy reserves column names for the SET clause.)
_REWRITE_PROFILE = update(profiles).where(profiles.c.id == bindparam("b_id"))


def _columns(profile: dict) -> dict:
    return {**{column: profile.get(name) for name, column in COLUMNS.items()}, **reach_columns(profile)}


def reach_columns(profile: dict) -> dict:
    """The profile's reach and reach class, as stored for planning."""
    reach = reach_of(profile)
    return {"reach": reach, "reach_class": reach_class(reach)}


def profile_row(domain_id: int, profile: dict, now: datetime) -> dict:
    """The `profiles` row of a new profile."""
    return {"id": profile["ProfileId"], "domain_id": domain_id, "created_at": now, "updated_at": now,
            **_columns(profile)}


def attribute_rows(domain_id: int, profile: dict) -> list[dict]:
    """The profile's `profile_attributes` rows: each custom attribute typed once, for segments."""
    profile_id = profile["ProfileId"]
    return [{"profile_id": profile_id, "key": key, "domain_id": domain_id, "value": value,
             "number": as_number(value), "instant": as_instant(value)}
            for key, value in profile.get("Attributes", {}).items()]


def predefined_key_rows(domain_id: int, profile: dict) -> list[dict]:
    """The profile's predefined search key rows (_phone, _email, ...), derived from its fields."""
    return [{"domain_id": domain_id, "key_name": name, "value": value, "profile_id": profile["ProfileId"]}
            for name, value in search_keys(profile)]


def get_profile(conn: Connection, domain_id: int, profile_id: str) -> dict | None:
    row = conn.execute(_PROFILE, {"domain_id": domain_id, "profile_id": profile_id}).first()
    return profile_of(row) if row else None


_PROFILE = _reading().where(profiles.c.domain_id == bindparam("domain_id"), profiles.c.id == bindparam("profile_id"))


def get_profiles(conn: Connection, domain_id: int, profile_ids: Iterable[str]) -> dict[str, dict]:
    rows = conn.execute(_profiles_in_domain(conn.dialect.name), {"domain_id": domain_id, "ids": list(profile_ids)})
    return {row.id: profile_of(row) for row in rows}


@functools.lru_cache(maxsize=4)
def _profiles_in_domain(dialect: str) -> Select:
    return _reading().where(profiles.c.domain_id == bindparam("domain_id"), one_of_named(dialect, profiles.c.id, "ids"))


def profiles_by_id(conn: Connection, profile_ids: Iterable[str], fields: Iterable[str] | None = None
                   ) -> dict[str, dict]:
    """Profiles by id alone, whatever their domain (profile ids are unique across domains); of the
    given fields only (Customer Profiles names), or of all of them."""
    ids = list(set(profile_ids))
    if not ids:
        return {}
    fields = ALL_FIELDS if fields is None else tuple(sorted(fields))
    rows = conn.execute(_reading(fields).where(one_of(conn, profiles.c.id, ids)))
    return {row.id: profile_of(row, fields) for row in rows}


def one_of(conn: Connection, column: ColumnElement, values: list) -> ColumnElement[bool]:
    """`column IN (values)`, fit for thousands of values. On PostgreSQL, `= ANY` of one array
    parameter: the driver would otherwise parse a statement of thousands of placeholders every time."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def one_of_named(dialect: str, column: ColumnElement, name: str) -> ColumnElement[bool]:
    """`one_of` in a statement built once per dialect, its values given at execution as parameter `name`."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


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
    """Profiles answering to any of these values of one predefined or custom search key (phone numbers
    and email addresses of _phone and _email in any formatting), in a stable order."""
    kinds = {PREDEFINED_KINDS[key_name]} if key_name in PREDEFINED_KINDS else set()
    forms = sorted({form for value in values for form in key_forms(kinds, value)})
    query = (select(profile_keys.c.profile_id).distinct()
             .where(profile_keys.c.domain_id == domain_id, profile_keys.c.key_name.in_(key_names(key_name)),
                    profile_keys.c.value.in_(forms))
             .order_by(profile_keys.c.profile_id))
    return list(conn.execute(query).scalars())

